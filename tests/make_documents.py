"""Build .docx and .pdf versions of a Word .txt export for the reader tests.

Independent of the pipeline on purpose: the body's citation breaks become real
footnote references, the trailing footnote lines become the footnotes.
"""
from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

CONTINUATION = re.compile(r"^[ \t]*(?:[.,;:…]|[a-zđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ])")
LETTERED = re.compile(r"^\s*[a-z][.)]\s")


def split_export(text: str) -> tuple[list[list[str]], list[str]]:
    """Paragraphs as lists of pieces (a footnote mark between pieces) and footnotes."""
    lines = text.split("\n")
    first_note = next(i for i, line in enumerate(lines) if line.lstrip().startswith("\ufffd"))
    notes = []
    for line in lines[first_note:]:
        if line.strip():
            notes.append(re.sub(r"^\s*(\ufffd|\d+(?=[A-ZĐ]))\s*", "", line).rstrip())
    paragraphs: list[list[str] | None] = []
    for line in lines[:first_note]:
        if not line.strip():
            paragraphs.append(None)
            continue
        if paragraphs and paragraphs[-1] is not None and CONTINUATION.match(line) and not LETTERED.match(line):
            paragraphs[-1][-1] = paragraphs[-1][-1].rstrip()
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    return [p if p is not None else [""] for p in paragraphs], notes


def write_docx(text: str, path: Path) -> Path:
    """A .docx whose footnotes are real Word footnotes (footnotes.xml)."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    paragraphs, notes = split_export(text)
    document = docx.Document()
    note_id = 0
    for pieces in paragraphs:
        paragraph = document.add_paragraph()
        for i, piece in enumerate(pieces):
            if i > 0:
                note_id += 1
                run = paragraph.add_run()
                reference = parse_xml(f'<w:footnoteReference {nsdecls("w")} w:id="{note_id}"/>')
                run._r.append(reference)
            paragraph.add_run(piece)
    body = "".join(
        f'<w:footnote w:id="{i}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve">{escape(note)}</w:t></w:r></w:p></w:footnote>'
        for i, note in enumerate(notes, start=1)
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {nsdecls("w")}>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
        f"{body}</w:footnotes>"
    )
    part = Part(
        PackURI("/word/footnotes.xml"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
        xml.encode("utf-8"),
        document.part.package,
    )
    document.part.relate_to(part, RELATIONSHIP_TYPE.FOOTNOTES)
    assert qn("w:footnoteReference")
    document.save(path)
    return path


def _font() -> str:
    import os

    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


def write_pdf(text: str, path: Path, scanned: bool = False, password: str | None = None) -> Path:
    """A PDF with superscript footnote marks and the footnotes as endnotes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(TTFont("DejaVu", _font()))
    style = ParagraphStyle("body", fontName="DejaVu", fontSize=10, leading=13, spaceAfter=9)
    document = SimpleDocTemplate(str(path), pagesize=A4, encrypt=password)
    if scanned:
        from reportlab.platypus.flowables import HRFlowable

        document.build([HRFlowable(width="80%", thickness=30), Spacer(1, 200), HRFlowable(width="60%", thickness=40)])
        return path
    paragraphs, notes = split_export(text)
    story, note_id = [], 0
    for pieces in paragraphs:
        if not "".join(pieces).strip():
            continue
        markup = ""
        for i, piece in enumerate(pieces):
            if i > 0:
                note_id += 1
                markup += f"<super>{note_id}</super>"
            markup += escape(piece.strip() if i == 0 else piece.rstrip() or " ")
        story.append(KeepTogether([Paragraph(markup, style)]))
    for i, note in enumerate(notes, start=1):
        story.append(KeepTogether([Paragraph(f"<super>{i}</super> {escape(note)}", style)]))
    document.build(story)
    return path


def write_legacy_docx(text: str, path: Path, encoding: str, font: str | None = None) -> Path:
    """A .docx typed the pre-Unicode way: every paragraph in TCVN3 or VNI codes.

    The Normal style names the legacy font (``font`` overrides it, to test
    detection without font information); for TCVN3, toned capitals have no code
    of their own and go in runs of the capitals-only ".VnTimeH" font, as a
    typist of the time set them.
    """
    import docx

    from pipeline.io.legacy_text import encode_tcvn3, encode_vni

    document = docx.Document()
    document.styles["Normal"].font.name = font or {"tcvn3": ".VnTime", "vni": "VNI-Times"}[encoding]
    for line in text.split("\n"):
        paragraph = document.add_paragraph()
        if encoding == "vni":
            paragraph.add_run(encode_vni(line))
            continue
        for capitals, piece in _capital_pieces(line):
            run = paragraph.add_run(encode_tcvn3(piece))
            if capitals and font is None:
                run.font.name = ".VnTimeH"
    document.save(path)
    return path


def _capital_pieces(line: str) -> list[tuple[bool, str]]:
    """Split a line where toned capitals (no TCVN3 code) start and stop."""
    pieces: list[tuple[bool, str]] = []
    for char in line:
        capital = char.isupper() and not char.isascii() and char not in "ĂÂĐÊÔƠƯ"
        if pieces and pieces[-1][0] == capital:
            pieces[-1] = (capital, pieces[-1][1] + char)
        else:
            pieces.append((capital, char))
    return pieces


OLD_STYLE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "òe": "oè", "óe": "oé", "ỏe": "oẻ",
             "õe": "oẽ", "ọe": "oẹ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ"}


def old_tone_placement(text: str) -> str:
    """Write "hóa", "thủy" the old way ("hoá", "thuỷ"), except after q."""
    pattern = "|".join(OLD_STYLE)
    return re.sub(rf"(?<![qQ])({pattern})(?!\w)", lambda m: OLD_STYLE[m.group()], text)


def write_legacy_variant(text: str, folder: Path, kind: str) -> Path:
    """``text`` saved the way an old archive holds it; ``kind`` names the way."""
    from pipeline.io.legacy_text import encode_tcvn3, encode_vni

    path = folder / ("report.docx" if kind.endswith(".docx") else "report.txt")
    if kind == "tcvn3.txt":
        path.write_bytes(encode_tcvn3(text).encode("cp1252"))
    elif kind == "vni.txt":
        path.write_bytes(encode_vni(text).encode("cp1252"))
    elif kind == "tcvn3-in-utf8.txt":  # codes copied out of a .VnTime document
        path.write_text(encode_tcvn3(text), encoding="utf-8")
    elif kind == "old-tones.txt":
        path.write_text(old_tone_placement(text), encoding="utf-8")
    elif kind == "tcvn3.docx":
        write_legacy_docx(text, path, "tcvn3")
    elif kind == "vni.docx":
        write_legacy_docx(text, path, "vni")
    elif kind == "tcvn3-unnamed-font.docx":
        write_legacy_docx(text, path, "tcvn3", font="Times New Roman")
    else:
        raise ValueError(kind)
    return path
