"""Stage 2: headings, sections, sentences and footnotes of a report.

Works on character offsets of ``RawDocument.text`` only, so it runs before
tokenisation and its spans hold whatever tokenizer follows.

Word's .txt export leaves two traces this stage undoes: footnotes are moved to
the end of the file (lines opening with a replacement character), and where a
footnote mark stood the body has a line break, so the line after it starts with
"," "." ";" or a lower-case word. Such a break is not a paragraph or sentence end.
"""
from __future__ import annotations

import re
import warnings
from bisect import bisect_left
from dataclasses import dataclass, field

import json
from pathlib import Path

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.extensions import add_warnings
from pipeline.config import DEFAULT_CONFIG_PATH, load_toml
from pipeline.io.read import Footnote, RawDocument

STRUCTURE_SETTINGS = DEFAULT_CONFIG_PATH.parent / "structure.toml"

LOWER = "a-zđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
UPPER = LOWER.upper()

ROMAN = r"(?:XV|XIV|XIII|XII|XI|X|IX|VIII|VII|VI|V|IV|III|II|I)"
# Kind of heading -> pattern on the stripped paragraph. Order matters: roman
# numerals are tried before single capital letters so "I." is a roman heading.
HEADING_KINDS = (
    ("roman", re.compile(rf"^{ROMAN}[.)]\s+\S")),
    ("letter", re.compile(rf"^[A-HJ-UWYZĐ][.)]\s+[{UPPER}0-9\"“(]")),
    ("number", re.compile(rf"^\d{{1,2}}(?:\.\d{{1,2}})*(?:\.\s*|\)\s*|\s+)(?=[{UPPER}\"“(])")),
    ("lower_letter", re.compile(rf"^[a-hj-uwyzđ][.)]\s+[{UPPER}\"“(]")),
)
_NUMBER_LABEL = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)")

# A sentence ends at . ! ? … or "..." (with closing quotes or brackets after it)
# followed by white space and something that can open a sentence.
_SENTENCE_END = re.compile(rf"(?:\.\.\.|…|[.!?])[\"”’)\]]*(?=\s+[{UPPER}0-9\"“'(\-–•+])")
# Word's export sometimes glues sentences: "vận tải.Số doanh nghiệp", "Park…Giá trị".
_GLUED_END = re.compile(rf"(?<=[{LOWER}]{{2}})[.…](?=[{UPPER}][{LOWER}])")
# Where the export's citation break left the next line starting mid-sentence.
_CONTINUATION = re.compile(rf"^[ \t]*(?:[.,;:)…]|[{LOWER}])")
# An enumeration label at the start of a paragraph ("1.", "2.1.", "II.", "a.")
# is not a sentence of its own.
_LEADING_LABEL = re.compile(rf"(?:\d{{1,2}}(?:\.\d{{1,2}})*|{ROMAN}|[A-Za-zĐđ])")
_LOST_MARK = re.compile(rf"^\s*(\d{{1,3}})(?=[{UPPER}])")


@dataclass
class Heading:
    start: int
    end: int
    level: int
    title: str
    kind: str


@dataclass
class Sentence:
    start: int
    end: int
    section: list[str]
    is_footnote: bool = False
    footnote: int | None = None  # index of the footnote this sentence belongs to
    cites: list[int] = field(default_factory=list)  # footnotes cited from inside it


@dataclass
class FootnoteLink:
    index: int
    start: int
    end: int
    mark: str
    cited_at: int | None
    cited_in: int | None = None  # index of the sentence that cites it


@dataclass
class Structure:
    headings: list[Heading]
    sentences: list[Sentence]
    footnotes: list[FootnoteLink]
    warnings: list[str] = field(default_factory=list)


def _lines(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _last_words(text: str, end: int, stop: int, count: int = 2) -> list[str]:
    """The last ``count`` white-space separated words of text[stop:end], last one last.

    Scans back from ``end`` only as far as those words reach, so asking at every
    full stop of a chunk costs the length of the chunk once, not once per stop.
    """
    words: list[str] = []
    position = end
    while len(words) < count:
        while position > stop and text[position - 1].isspace():
            position -= 1
        if position <= stop:
            break
        word_end = position
        while position > stop and not text[position - 1].isspace():
            position -= 1
        words.append(text[position:word_end])
    return words[::-1]


def split_sentences(text: str, start: int, end: int, abbreviations: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], trimmed of white space.

    Linear in the length of the span: the regexes run once over it, and each
    full stop looks back only at the word or two before it (a 5 MB paragraph
    with no line break must not cost the square of its length).
    """
    lead = start
    while lead < end and text[lead].isspace():
        lead += 1
    cuts = []
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group().startswith(".") and not match.group().startswith("..."):
            # A paragraph's enumeration label ("1.", "II.") is not a sentence.
            if _LEADING_LABEL.fullmatch(text, lead, match.start()):
                continue
            words = _last_words(text, match.start(), start)
            # An initial ("Nguyễn V. An") is one capital after a capitalised word;
            # "quý I." ends a sentence.
            initial = len(words) >= 2 and re.fullmatch(rf"[{UPPER}]", words[-1]) and words[-2][:1].isupper()
            if words and (words[-1] in abbreviations or initial):
                continue
        cuts.append(match.end())
    # (its look-behind would see before ``start``: only letters inside the span count)
    cuts.extend(m.end() for m in _GLUED_END.finditer(text, start, end) if m.start() >= start + 2)
    spans, previous = [], start
    for cut in sorted(set(cuts)) + [end]:
        s, e = _strip_span(text, previous, cut)
        if e > s:
            spans.append((s, e))
        previous = cut
    return spans


def _heading_kind(paragraph: str, max_chars: int, part: re.Pattern) -> tuple[str, str] | None:
    """(kind, label) of a heading paragraph, or None for prose. ``part``: the
    pattern of a part heading ("PHẦN THỨ NHẤT"), tried first."""
    if len(paragraph) > max_chars:
        return None
    for kind, pattern in (("part", part), *HEADING_KINDS):
        if pattern.match(paragraph):
            if kind == "number":
                label = _NUMBER_LABEL.match(paragraph).group(1)
                return f"number{label.count('.') + 1}", label
            return kind, ""
    return None


def _find_footnote_zone(text: str, lines: list[tuple[int, int]], marks: tuple[str, ...]) -> int | None:
    """Index of the first line of the trailing footnote block, if any: the first
    marked line from which on at least half the non-blank lines are marked.

    Counted from the end in one pass (a report with thousands of marked lines
    must not re-count the rest of the file at each of them).
    """
    marked = [text[s:e].lstrip().startswith(marks) for s, e in lines]
    nonblank = [bool(text[s:e].strip()) for s, e in lines]
    rest_lines = rest_marked = 0  # non-blank and marked lines from i to the end
    zone = None
    for i in range(len(lines) - 1, -1, -1):
        rest_lines += nonblank[i]
        rest_marked += marked[i] and nonblank[i]
        if marked[i] and rest_marked >= 0.5 * rest_lines:
            zone = i  # keep going: the first such line wins
    return zone


def analyse(document: RawDocument | str, settings: dict | None = None) -> Structure:
    """Headings, sentences with section paths, and footnotes linked to citations
    (``settings``: those of structure.toml)."""
    settings = settings or load_toml(STRUCTURE_SETTINGS)
    if isinstance(document, str):
        document = RawDocument(source="<text>", text=document, format="txt")
    text = document.text
    lines = _lines(text)
    warnings = list(document.warnings)
    abbreviations = frozenset(settings["abbreviations"])
    header_patterns = [re.compile(p) for p in settings["header_patterns"]]
    authority_patterns = [re.compile(p) for p in settings["authority_patterns"]]
    part_heading = re.compile(settings["part_heading"], re.IGNORECASE)

    def is_header(paragraph: str) -> bool:
        return any(p.search(paragraph) for p in header_patterns) or (
            paragraph == paragraph.upper() and any(p.search(paragraph) for p in authority_patterns)
        )


    # 1. Footnotes: declared by the format, or the export's trailing block.
    footnote_spans: list[tuple[int, int, str, int | None]] = []
    export_conventions = document.footnotes is None
    if export_conventions:
        zone = _find_footnote_zone(text, lines, tuple(settings["footnote_marks"]))
        body_lines = lines if zone is None else lines[:zone]
        for s, e in [] if zone is None else lines[zone:]:
            line = text[s:e]
            if not line.strip():
                continue
            stripped = line.lstrip()
            mark_start = s + len(line) - len(stripped)
            mark = next((m for m in settings["footnote_marks"] if stripped.startswith(m)), "")
            if not mark:
                lost = _LOST_MARK.match(stripped)
                if lost:
                    mark = lost.group(1)
                    warnings.append(f"footnote at offset {mark_start} has no export mark; took its leading {mark!r} as the mark")
                else:
                    warnings.append(f"line at offset {mark_start} in the footnote block has no mark; kept as a footnote")
            fs, fe = _strip_span(text, mark_start + len(mark), e)
            footnote_spans.append((fs, fe, mark, None))
    else:
        first = min((f.start for f in document.footnotes), default=len(text))
        body_lines = [(s, e) for s, e in lines if e <= first]
        footnote_spans = [(f.start, f.end, f.mark, f.cited_at) for f in document.footnotes]

    # 2. Paragraphs of the body: lines joined across citation breaks.
    paragraphs: list[list[int]] = []  # [start, end]
    citation_breaks: list[int] = []
    for s, e in body_lines:
        line = text[s:e]
        if not line.strip():
            paragraphs.append(None)  # a blank line closes the paragraph
            continue
        previous = paragraphs[-1] if paragraphs else None
        last = next((p for p in reversed(paragraphs) if p is not None), None)
        lettered_heading = HEADING_KINDS[-1][1].match(line.strip())
        if (export_conventions and previous is not None and _CONTINUATION.match(line)
                and not lettered_heading):
            citation_breaks.append(_strip_span(text, previous[0], previous[1])[1])
            previous[1] = e
        elif (last is not None and not lettered_heading
              and text[last[0]:last[1]].rstrip().endswith((";", ","))
              and re.match(rf"^[ \t]*[{LOWER}]", line)):
            # A title or list wrapped over a blank line: the clause goes on.
            last[1] = e
            if previous is None:
                paragraphs.pop()
        else:
            paragraphs.append([s, e])
    paragraphs = [p for p in paragraphs if p is not None]

    # 3. Headings and sentences, with the section stack.
    headings: list[Heading] = []
    sentences: list[Sentence] = []
    stack: list[tuple[str, str]] = []  # (kind, title)
    for index, (s, e) in enumerate(paragraphs):
        s, e = _strip_span(text, s, e)
        paragraph = text[s:e]
        spans = split_sentences(text, s, e, abbreviations)
        single = len(spans) == 1 and "\n" not in paragraph
        if index < settings["header_lines"] and is_header(paragraph):
            headings.append(Heading(s, e, 0, paragraph, "header"))
            continue
        kind = _heading_kind(paragraph, settings["max_heading_chars"], part_heading) if single else None
        if kind is not None:
            kinds = [k for k, _ in stack]
            if kind[0] in kinds:
                del stack[kinds.index(kind[0]):]
            stack.append((kind[0], paragraph))
            headings.append(Heading(s, e, len(stack), paragraph, kind[0]))
            continue
        path = [title for _, title in stack]
        sentences.extend(Sentence(a, b, list(path)) for a, b in spans)

    # 4. Footnotes: each is one or more sentences, linked to where it is cited.
    if export_conventions:
        if len(citation_breaks) != len(footnote_spans):
            warnings.append(
                f"{len(citation_breaks)} citation breaks in the body but {len(footnote_spans)} footnotes; "
                "linked in order as far as both go"
            )
        footnote_spans = [
            (fs, fe, mark, citation_breaks[i] if i < len(citation_breaks) else None)
            for i, (fs, fe, mark, _) in enumerate(footnote_spans)
        ]
    footnotes: list[FootnoteLink] = []
    body_sentences = list(sentences)
    # Body sentences are in text order and do not overlap: found by bisection.
    body_starts = [snt.start for snt in body_sentences]
    body_ends = [snt.end for snt in body_sentences]
    for i, (fs, fe, mark, cited_at) in enumerate(footnote_spans):
        link = FootnoteLink(i, fs, fe, mark, cited_at)
        citing = None
        if cited_at is not None:
            # The first sentence that holds the citation ...
            j = bisect_left(body_ends, cited_at)
            if j < len(body_sentences) and body_starts[j] <= cited_at:
                citing = j
            else:  # ... else, cited from a heading or between sentences: the next sentence
                j = bisect_left(body_starts, cited_at)
                citing = j if j < len(body_sentences) else None
        link.cited_in = citing
        if citing is not None:
            body_sentences[citing].cites.append(i)
        section = body_sentences[citing].section if citing is not None else []
        for a, b in split_sentences(text, fs, fe, abbreviations):
            sentences.append(Sentence(a, b, list(section), is_footnote=True, footnote=i))
        footnotes.append(link)
    return Structure(headings=headings, sentences=sentences, footnotes=footnotes, warnings=warnings)


class StructureAlignmentWarning(UserWarning):
    """A sentence or heading boundary fell inside a token."""


def _span(doc: Doc, start: int, end: int, label: str, problems: list[str]):
    """The tokens of [start:end]; a boundary inside a token is widened to the
    token and reported, never dropped."""
    span = doc.char_span(start, end, label=label, alignment_mode="strict")
    if span is None:
        span = doc.char_span(start, end, label=label, alignment_mode="expand")
        if span is not None:
            problems.append(f"boundary of text [{start}:{end}] falls inside a token; "
                            f"widened to [{span.start_char}:{span.end_char}]")
    return span


def attach_structure(doc: Doc, structure: Structure) -> None:
    """Sentence starts, and the sentences, headings and footnotes as span groups
    with their attributes (``Span._.section``, ``._.level``, ``._.mark`` ...)."""
    problems: list[str] = []
    sentences, headings, footnotes = [], [], []
    for sentence in structure.sentences:
        span = _span(doc, sentence.start, sentence.end, "SENTENCE", problems)
        if span is None or not len(span):
            raise ValueError(f"sentence [{sentence.start}:{sentence.end}] holds no token")
        span._.section = list(sentence.section)
        span._.is_footnote = sentence.is_footnote
        span._.footnote = sentence.footnote
        span._.cites = list(sentence.cites)
        sentences.append(span)
    for heading in structure.headings:
        span = _span(doc, heading.start, heading.end, heading.kind, problems)
        if span is not None and len(span):
            span._.level = heading.level
            headings.append(span)
    for footnote in structure.footnotes:
        span = _span(doc, footnote.start, footnote.end, "FOOTNOTE", problems)
        if span is not None:
            span._.mark, span._.cited_at, span._.cited_in = footnote.mark, footnote.cited_at, footnote.cited_in
            footnotes.append(span)
    # One array write: assigning token.is_sent_start one by one re-checks the
    # whole Doc each time and costs seconds on a report.
    if len(doc):
        sent_starts = numpy.full((len(doc), 1), -1, dtype="int64")
        for span in sentences + headings:
            sent_starts[span.start, 0] = 1
        sent_starts[0, 0] = 1
        doc.from_array([SENT_START], sent_starts.view("uint64"))
    doc.spans["sentences"] = sentences
    doc.spans["headings"] = headings
    doc.spans["footnotes"] = footnotes
    add_warnings(doc, structure.warnings + problems)
    for problem in problems:
        warnings.warn(problem, StructureAlignmentWarning, stacklevel=2)


def given_structure(sentences: list) -> Structure:
    """The structure of a text whose sentences are given: (start, end, section, is_footnote)."""
    return Structure(headings=[], footnotes=[], sentences=[
        Sentence(start, end, list(section or []), bool(is_footnote)) for start, end, section, is_footnote in sentences])


class StructureComponent:
    """Headings, sections, sentences and footnotes of a report (see ``analyse``).

    A Doc whose sentences are given (``doc._.given_sentences``, a labelled
    corpus document) keeps them, so that predictions line up with the gold.
    """

    def __init__(self, settings: dict | None = None):
        self.settings = settings or load_toml(STRUCTURE_SETTINGS)

    def __call__(self, doc: Doc) -> Doc:
        if doc._.given_sentences is not None:
            structure = given_structure(doc._.given_sentences)
        else:
            declared = doc._.declared_footnotes
            raw = RawDocument(source=doc._.source or "<text>", text=doc.text, format=doc._.format or "txt",
                              footnotes=None if declared is None else [Footnote(*f) for f in declared])
            structure = analyse(raw, self.settings)
        attach_structure(doc, structure)
        return doc

    def to_disk(self, path, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "settings.json").write_text(json.dumps(self.settings, ensure_ascii=False, indent=2), encoding="utf-8")

    def from_disk(self, path, exclude=()) -> "StructureComponent":
        self.settings = json.loads((Path(path) / "settings.json").read_text(encoding="utf-8"))
        return self


@Language.factory("vnreport_structure_v1", assigns=["token.is_sent_start", "doc.spans"])
def make_structure(nlp: Language, name: str) -> StructureComponent:
    return StructureComponent()
