"""Stage 1: read a report file into NFC-normalised text.

Every offset the project reports refers to ``RawDocument.text``. Formats that
mark footnotes themselves (.docx, .pdf) return them explicitly; a .txt export
keeps Word's conventions and the structure stage recognises them.
"""
from __future__ import annotations

import codecs
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import load_config
from pipeline.io.legacy_text import DECODERS, convert_legacy, decode_tcvn3, modern_tone_placement, restore_heading_capitals
from pipeline.io.legacy_text import may_be_legacy as may_be_legacy_line

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf")


class ReadError(Exception):
    """A file that cannot be read as a report. The message names the file."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Footnote:
    """A footnote whose place in the text the file format itself records."""

    start: int
    end: int
    cited_at: int | None  # offset in the body where its reference mark stood
    mark: str = ""


@dataclass
class RawDocument:
    source: str
    text: str
    format: str
    encoding: str | None = None
    # None: the format does not mark footnotes (the structure stage looks for
    # the Word-export conventions); a list: the footnotes the file declared.
    footnotes: list[Footnote] | None = None
    warnings: list[str] = field(default_factory=list)


def normalise_text(text: str) -> str:
    """NFC and plain line ends: the text all offsets refer to.

    NFC keeps the number of characters of a precomposed word, so a word typed in
    NFD (as some of the seed is) becomes the same string as its NFC spelling.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def read_document(path: str | os.PathLike, config: dict | None = None, data: bytes | None = None) -> RawDocument:
    """Read one .txt, .docx or .pdf file; raise ReadError naming the file.

    ``data``: the file's bytes, already read elsewhere (a cluster worker gets a
    file's bytes, not access to its folder); ``path`` then only names it.
    """
    settings = (config or load_config())["read"]
    path = Path(path)
    if data is None:
        if not path.exists():
            raise ReadError(path, "no such file")
        if path.is_dir():
            raise ReadError(path, "is a folder, not a file")
    check_size(path, path.stat().st_size if data is None else len(data), settings)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError(path, f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    if data is None:
        # Read whole (it is below the size limit), so that a file read here and
        # bytes sent to a cluster worker go through the same code and errors.
        data = path.read_bytes()
    if suffix == ".txt":
        document = _read_txt(path, settings, data)
    elif suffix == ".docx":
        document = _read_docx(path, settings, io.BytesIO(data))
    else:
        document = _read_pdf(path, settings, io.BytesIO(data))
    if not document.text.strip():
        raise ReadError(path, "the file holds no text")
    check_chars(path, len(document.text), settings)
    if settings["tone_placement"] == "modern":
        document.text = modern_tone_placement(document.text)  # same length: footnote offsets hold
    return document


def check_size(path: Path, size: int, settings: dict) -> None:
    """Refuse empty files, and huge ones before reading a byte of them."""
    if size == 0:
        raise ReadError(path, "empty file")
    if size > settings["max_bytes"]:
        raise ReadError(
            path, f"file is {size} bytes, above the limit of {settings['max_bytes']} bytes (read.max_bytes)"
        )


def check_chars(path: Path, length: int, settings: dict) -> None:
    """Refuse a text too long to annotate in bounded time and memory, before any annotating."""
    if length > settings["max_chars"]:
        raise ReadError(
            path, f"text is {length} characters, above the limit of {settings['max_chars']} characters (read.max_chars)"
        )


# --- .txt -----------------------------------------------------------------

_VIETNAMESE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b"}


def _is_vietnamese_letter(char: str) -> bool:
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    return (base.isascii() and base.isalpha() or base in "đĐ") and all(m in _VIETNAMESE_MARKS for m in marks)


def letter_share(text: str) -> float:
    """Share of letters that belong to the Vietnamese (or plain Latin) alphabet."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(map(_is_vietnamese_letter, letters)) / len(letters)


def _has_control_bytes(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v" for c in text)


def _read_txt(path: Path, settings: dict, data: bytes) -> RawDocument:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _txt_document(path, data.decode(encoding), encoding, settings)
            except UnicodeDecodeError as error:
                raise ReadError(path, f"starts with a {encoding} byte-order mark but does not decode as {encoding}: {error.reason} at byte {error.start}") from None
    zero_share = data.count(0) / len(data)
    for encoding in settings["text_encodings"]:
        if encoding == "utf-16":
            # UTF-16 without a BOM: about every other byte of Vietnamese text is 0 or a
            # small Vietnamese block number; without zeros it is not UTF-16.
            if zero_share < 0.2:
                continue
            for variant in ("utf-16-le", "utf-16-be"):
                try:
                    text = data.decode(variant)
                except UnicodeDecodeError:
                    continue
                if not _has_control_bytes(text) and letter_share(text) >= settings["min_letter_share"]:
                    return _txt_document(path, text, variant, settings)
            continue
        if zero_share > 0:
            continue  # NUL bytes: only UTF-16 may hold them; anything else is binary
        if encoding == "legacy":
            # TCVN3 and VNI bytes are the Windows-1252 characters their fonts
            # drew; neither uses the five bytes Windows-1252 leaves undefined.
            if not settings["legacy_encodings"]:
                continue
            text = data.decode("cp1252", errors="replace")
            converted, detected = convert_legacy(
                normalise_text(text), settings["legacy_min_share"], encodings=settings["legacy_encodings"])
            if detected:
                return RawDocument(source=str(path), text=normalise_text(converted), format="txt", encoding=detected,
                                   warnings=[f"converted from the legacy {detected.upper()} encoding"])
            continue
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8":
            candidate = normalise_text(text)
            if _has_control_bytes(candidate) or letter_share(candidate) < settings["min_letter_share"]:
                continue
        return _txt_document(path, text, encoding, settings)
    if zero_share > 0 or _BINARY_BYTES.search(data, 0, 4096):
        raise ReadError(path, "binary data, not a text file")
    # Text, but in none of the encodings tried: Shift-JIS, KOI8-R, GB2312 ...
    # (bytes 0x80-0x9F are letters there, not the control codes they are in Latin-1).
    raise ReadError(
        path,
        "unsupported text encoding: not Vietnamese text in a known encoding (UTF-8, UTF-16, TCVN3, VNI or "
        f"Windows-1258; tried {', '.join(settings['text_encodings'])}); it may be text in another language's "
        "encoding such as Shift-JIS or KOI8-R. If it is Vietnamese, convert the file to UTF-8",
    )


# Control codes no text file holds (tab, line ends, form feed, the DOS end-of-file
# mark and ISO-2022's escape excepted): a file with them is binary.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f\x7f]")


def _txt_document(path: Path, text: str, encoding: str, settings: dict) -> RawDocument:
    text = normalise_text(text.lstrip("\ufeff"))
    warnings = []
    if settings["legacy_encodings"]:
        # Legacy codes saved as Unicode characters: text copied out of a .VnTime
        # document into a UTF-8 file.
        text, detected = convert_legacy(text, settings["legacy_min_share"], encodings=settings["legacy_encodings"])
        if detected:
            text = normalise_text(text)
            warnings.append(f"converted lines written in the legacy {detected.upper()} encoding")
    return RawDocument(source=str(path), text=text, format="txt", encoding=encoding, warnings=warnings)


# --- .docx ----------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class _RunFonts:
    """The font each text run is set in, to find runs typed in a legacy font.

    A run names its font itself or inherits it from its character style, its
    paragraph style (and the styles those are based on) or the document
    defaults; themes only hold Unicode fonts, so they are not followed.
    """

    def __init__(self, styles_xml: bytes | None, legacy_fonts: dict[str, list[str]]):
        self.legacy_fonts = legacy_fonts
        self.style_font: dict[str, str | None] = {}
        self.based_on: dict[str, str] = {}
        self.default_font: str | None = None
        self.default_paragraph_style: str | None = None
        # Text-level detection when no run names a legacy font (set by the reader).
        self.fallback: str | None = None
        self.converted_runs: dict[str, int] = {}
        if styles_xml is None:
            return
        from lxml import etree

        root = etree.fromstring(styles_xml)
        defaults = root.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr/{_W}rFonts")
        self.default_font = self._font_of(defaults)
        for style in root.iter(f"{_W}style"):
            style_id = style.get(f"{_W}styleId")
            if style.get(f"{_W}type") == "paragraph" and style.get(f"{_W}default") in ("1", "true", "on"):
                # A paragraph without a w:pStyle is in this style ("Normal").
                self.default_paragraph_style = style_id
            self.style_font[style_id] = self._font_of(style.find(f"{_W}rPr/{_W}rFonts"))
            based = style.find(f"{_W}basedOn")
            if based is not None:
                self.based_on[style_id] = based.get(f"{_W}val")

    @staticmethod
    def _font_of(fonts) -> str | None:
        if fonts is None:
            return None
        return fonts.get(f"{_W}ascii") or fonts.get(f"{_W}hAnsi")

    def _style(self, style_id: str | None) -> str | None:
        seen = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            if self.style_font.get(style_id):
                return self.style_font[style_id]
            style_id = self.based_on.get(style_id)
        return None

    def font(self, run, paragraph_style: str | None) -> str | None:
        properties = run.find(f"{_W}rPr") if run is not None else None
        if properties is not None:
            own = self._font_of(properties.find(f"{_W}rFonts"))
            if own:
                return own
            run_style = properties.find(f"{_W}rStyle")
            if run_style is not None and (styled := self._style(run_style.get(f"{_W}val"))):
                return styled
        return self._style(paragraph_style or self.default_paragraph_style) or self.default_font

    def encoding(self, font: str | None) -> tuple[str | None, bool]:
        """(legacy encoding of the font, whether it draws capitals only)."""
        if not font:
            return None, False
        for encoding, prefixes in self.legacy_fonts.items():
            if any(font.lower().startswith(prefix.lower()) for prefix in prefixes):
                # TCVN3's capitals-only fonts are its lower-case fonts with an
                # "H" appended (.VnTime / .VnTimeH).
                return encoding, encoding == "tcvn3" and font.endswith("H")
        return None, False

    def convert(self, text: str, run, paragraph_style: str | None, paragraph_may_be_legacy: bool) -> str:
        encoding, capitals = self.encoding(self.font(run, paragraph_style))
        if encoding is None and self.fallback and paragraph_may_be_legacy:
            encoding = self.fallback
        if encoding is None or not text:
            return text
        self.converted_runs[encoding] = self.converted_runs.get(encoding, 0) + 1
        if encoding == "tcvn3":
            return decode_tcvn3(text, capitals=capitals)
        return DECODERS[encoding](text)


def _paragraph_text(paragraph, references: list[tuple[int, str]], offset: int, fonts: _RunFonts | None = None) -> str:
    """Text of a w:p; footnote references are recorded as (offset, footnote id)."""
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    style_id = style.get(f"{_W}val") if style is not None else None
    may_be_legacy = False
    if fonts is not None and fonts.fallback:
        may_be_legacy = may_be_legacy_line("".join(t.text or "" for t in paragraph.iter(f"{_W}t")))
    parts: list[str] = []
    length = 0
    for element in paragraph.iter():
        tag = element.tag
        if tag == f"{_W}t":
            piece = element.text or ""
            if fonts is not None:
                piece = fonts.convert(piece, element.getparent(), style_id, may_be_legacy)
        elif tag == f"{_W}tab":
            piece = "\t"
        elif tag in (f"{_W}br", f"{_W}cr"):
            piece = "\n"
        elif tag == f"{_W}footnoteReference":
            references.append((offset + length, element.get(f"{_W}id")))
            continue
        else:
            continue
        parts.append(piece)
        length += len(piece)
    text = "".join(parts)
    if may_be_legacy and fonts.fallback == "tcvn3":
        # No font told which runs were in capitals-only fonts; same length.
        text = restore_heading_capitals(text)
    return text


def _block_texts(body, references: list[tuple[int, str]], fonts: _RunFonts) -> list[str]:
    """Paragraph and table-row lines of the body in document order."""
    lines: list[str] = []
    offset = 0

    def add(line: str) -> None:
        nonlocal offset
        lines.append(line)
        offset += len(line) + 1

    for block in body.iterchildren():
        if block.tag == f"{_W}p":
            add(_paragraph_text(block, references, offset, fonts))
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = []
                row_offset = offset
                for cell in row.iter(f"{_W}tc"):
                    cell_text = " ".join(
                        _paragraph_text(p, references, row_offset + sum(len(c) + 1 for c in cells), fonts)
                        for p in cell.iter(f"{_W}p")
                    )
                    cells.append(cell_text)
                add("\t".join(cells))
    return lines


def check_docx_archive(path: Path, source, settings: dict) -> None:
    """Refuse a .docx whose zip archive holds too many files or unzips too big,
    from the archive's directory alone, before a byte is decompressed.

    The sizes are those the archive declares; Python's zip reader never
    returns more than the declared size of a member (a member that inflates
    beyond it fails its CRC), so a lying archive cannot get past this either.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ReadError(path, f"not a valid .docx file (corrupt or truncated): {error}") from None
    finally:
        source.seek(0)
    if len(members) > settings["max_docx_members"]:
        raise ReadError(path, f".docx archive holds {len(members)} files, above the limit of "
                              f"{settings['max_docx_members']} files (read.max_docx_members)")
    unzipped = sum(member.file_size for member in members)
    if unzipped > settings["max_docx_unzipped_bytes"]:
        raise ReadError(path, f".docx unzips to {unzipped} bytes, above the limit of "
                              f"{settings['max_docx_unzipped_bytes']} bytes (read.max_docx_unzipped_bytes)")


def _read_docx(path: Path, settings: dict, source) -> RawDocument:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as error:  # pragma: no cover - dependency of the package
        raise ReadError(path, f"python-docx is needed to read .docx: {error}") from None
    check_docx_archive(path, source, settings)
    try:
        word = docx.Document(source)
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as error:
        raise ReadError(path, f"not a valid .docx file (corrupt or truncated): {error}") from None
    except Exception as error:  # lxml and zip errors of many kinds
        raise ReadError(path, f"not a valid .docx file: {type(error).__name__}: {error}") from None
    parts = {str(part.partname): part.blob for part in word.part.package.iter_parts()
             if str(part.partname) in ("/word/footnotes.xml", "/word/styles.xml")}
    enabled_fonts = {name: fonts for name, fonts in settings["legacy_fonts"].items() if name in settings["legacy_encodings"]}
    fonts = _RunFonts(parts.get("/word/styles.xml"), enabled_fonts)
    notes_xml = parts.get("/word/footnotes.xml")

    def extract() -> tuple[str, list[tuple[int, str]], dict[str, str]]:
        references: list[tuple[int, str]] = []
        body = "\n".join(_block_texts(word.element.body, references, fonts))
        footnote_texts: dict[str, str] = {}
        if notes_xml is not None:
            from lxml import etree

            for note in etree.fromstring(notes_xml).iter(f"{_W}footnote"):
                if note.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                    continue
                unused: list = []
                paragraphs = [_paragraph_text(p, unused, 0, fonts) for p in note.iter(f"{_W}p")]
                footnote_texts[note.get(f"{_W}id")] = " ".join(p for p in paragraphs if p.strip()).strip()
        return body, references, footnote_texts

    body, references, footnote_texts = extract()
    if not fonts.converted_runs and settings["legacy_encodings"]:
        # No run names a legacy font, yet its codes may still be there (a
        # document re-saved with its fonts replaced): decide on the text.
        _, detected = convert_legacy("\n".join([body, *footnote_texts.values()]), settings["legacy_min_share"],
                                     encodings=settings["legacy_encodings"])
        if detected:
            fonts.fallback = detected
            body, references, footnote_texts = extract()
    document = _with_footnotes(path, body, references, footnote_texts, "docx")
    if fonts.converted_runs:
        document.encoding = "+".join(sorted(fonts.converted_runs))
        document.warnings.append(
            "converted from legacy encodings: "
            + ", ".join(f"{count} runs of {name.upper()}" for name, count in sorted(fonts.converted_runs.items()))
        )
    return document


def _with_footnotes(path: Path, body: str, references: list[tuple[int, str]], footnote_texts: dict[str, str], fmt: str) -> RawDocument:
    """Body, then the cited footnotes one per line, in the order they are cited."""
    # Offsets were counted on the raw text; NFC may shorten it, so map them.
    references = [(len(normalise_text(body[:offset])), note_id) for offset, note_id in references]
    text = normalise_text(body).rstrip("\n")
    body_end = len(text)
    footnotes: list[Footnote] = []
    warnings: list[str] = []
    if references:
        text += "\n\n"
    seen: set[str] = set()
    for cited_at, note_id in references:
        if note_id in seen:
            continue
        seen.add(note_id)
        note = footnote_texts.get(note_id)
        if note is None:
            warnings.append(f"footnote reference {note_id} at offset {cited_at} has no footnote text")
            continue
        note = normalise_text(note)
        start = len(text)
        text += note + "\n"
        footnotes.append(Footnote(start=start, end=start + len(note), cited_at=min(cited_at, body_end), mark=note_id))
    for note_id in footnote_texts:
        if note_id not in seen:
            warnings.append(f"footnote {note_id} is never cited in the body")
    return RawDocument(source=str(path), text=text, format=fmt, footnotes=footnotes, warnings=warnings)


# --- .pdf -----------------------------------------------------------------


def _count_pdf_pages(source, stop: int) -> int:
    """Pages of a PDF, counted in its page tree (no page is laid out), up to ``stop``."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    count = 0
    for _ in PDFPage.create_pages(PDFDocument(PDFParser(source))):
        count += 1
        if count >= stop:
            break
    return count

_SENTENCE_FINAL = (".", "!", "?", ":", ";", "…")


def _read_pdf(path: Path, settings: dict, source) -> RawDocument:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextBox, LTTextLine

    limit = settings["max_pdf_pages"]
    try:
        count = _count_pdf_pages(source, limit + 1)
        if count > limit:
            raise ReadError(path, f"PDF has more than {limit} pages, above the limit of {limit} pages (read.max_pdf_pages)")
        source.seek(0)
        pages = list(extract_pages(source, laparams=LAParams(), maxpages=limit))
    except ReadError:
        raise
    except Exception as error:
        name = type(error).__name__
        if "Password" in name or "Encrypt" in name:
            raise ReadError(path, f"encrypted PDF, cannot read its text without the password ({name})") from None
        raise ReadError(path, f"not a valid PDF file (corrupt or truncated): {name}: {error}") from None
    if not pages:
        raise ReadError(path, "PDF has no pages")

    # Lines of every page, top to bottom; every char keeps its size and rise
    # so that the small raised digits of footnote marks can be told from text.
    pages_lines: list[list[tuple[float, list[tuple[str, float, float]]]]] = []
    sizes: list[float] = []
    for page in pages:
        page_lines = []
        for item in page:
            if not isinstance(item, LTTextBox):
                continue
            for line in item:
                if not isinstance(line, LTTextLine):
                    continue
                glyphs = [c for c in line if isinstance(c, LTChar)]
                baseline = sorted(c.y0 for c in glyphs)[len(glyphs) // 2] if glyphs else line.y0
                # (text, size, rise above the line's baseline); virtual spaces have no size
                chars = [
                    (c.get_text(), c.size, c.y0 - baseline) if isinstance(c, LTChar) else (c.get_text(), 0.0, 0.0)
                    for c in line
                ]
                sizes.extend(size for _, size, _ in chars if size)
                page_lines.append((baseline, chars))
        page_lines.sort(key=lambda entry: -entry[0])
        pages_lines.append(page_lines)
    # pdfminer's text boxes can hold two paragraphs (a heading and the next);
    # a gap between baselines clearly above the usual line pitch starts a new one.
    pitches = sorted(
        a[0] - b[0] for lines in pages_lines for a, b in zip(lines, lines[1:]) if a[0] - b[0] > 0
    )
    pitch = pitches[len(pitches) // 2] if pitches else 0.0
    boxes: list[list[list[tuple[str, float, float]]]] = []
    page_starts: set[int] = set()  # indexes of boxes that open a page
    for lines in pages_lines:
        previous = None
        for baseline, chars in lines:
            if previous is None or previous - baseline > 1.3 * pitch:
                if previous is None:
                    page_starts.add(len(boxes))
                boxes.append([])
            boxes[-1].append(chars)
            previous = baseline
    char_count = sum(1 for box in boxes for line in box for ch, _, _ in line if not ch.isspace())
    if char_count < settings["min_pdf_chars_per_page"] * len(pages):
        raise ReadError(path, f"PDF has no text layer ({char_count} characters on {len(pages)} pages): a scanned document needs OCR first")
    sizes.sort()
    body_size = sizes[len(sizes) // 2]
    # A footnote mark: digits smaller than the text and raised above its baseline.
    small, raised = 0.9 * body_size, 0.15 * body_size

    paragraphs: list[tuple[str, list[tuple[int, str]], str | None, bool]] = []
    for box_index, box in enumerate(boxes):
        text = ""
        marks: list[tuple[int, str]] = []
        leading_mark = None
        for line_chars in box:
            line_text, line_marks = "", []
            pending = ""
            for ch, size, rise in line_chars:
                if size and size < small and rise > raised and ch.isdigit():
                    pending += ch
                    continue
                if pending:
                    line_marks.append((len(line_text), pending))
                    pending = ""
                line_text += ch
            if pending:
                line_marks.append((len(line_text), pending))
            line_text = line_text.rstrip("\n")
            stripped = line_text.rstrip()
            if text:
                text += " "
            base = len(text)
            text += stripped
            marks.extend((base + min(pos, len(stripped)), mark) for pos, mark in line_marks)
        text = text.strip()
        if marks and marks[0][0] == 0:
            leading_mark = marks.pop(0)[1]
            text = text.lstrip()
        if re.fullmatch(r"\d{1,4}", text) and not marks:
            continue  # a page number
        paragraphs.append((text, marks, leading_mark, box_index in page_starts))

    # A paragraph broken by a page ends without final punctuation and the
    # next page goes on in lower case: join them back.
    merged: list[tuple[str, list[tuple[int, str]], str | None]] = []
    for text, marks, leading, opens_page in paragraphs:
        if (opens_page and merged and leading is None and merged[-1][2] is None and text[:1].islower()
                and not merged[-1][0].endswith(_SENTENCE_FINAL)):
            prev_text, prev_marks, _ = merged[-1]
            shift = len(prev_text) + 1
            merged[-1] = (prev_text + " " + text, prev_marks + [(p + shift, m) for p, m in marks], None)
        else:
            merged.append((text, marks, leading))

    body_lines: list[str] = []
    references: list[tuple[int, str]] = []
    footnote_texts: dict[str, str] = {}
    offset = 0
    for text, marks, leading in merged:
        if leading is not None:
            footnote_texts[leading] = text
            continue
        references.extend((offset + pos, mark) for pos, mark in marks)
        body_lines.append(text)
        offset += len(text) + 1
    return _with_footnotes(path, "\n".join(body_lines), references, footnote_texts, "pdf")
