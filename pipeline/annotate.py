"""The whole pipeline on one document: read -> structure -> segment -> (models) -> record.

Plain functions, importable from Python; the CLI only parses arguments and
calls them.
"""
from __future__ import annotations

import os
import time
import warnings
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc

from pipeline.config import load_config
from pipeline.io.read import RawDocument, read_document
from pipeline.components.structure import Structure, analyse
from pipeline.components.sentence_classes import predict, sentence_contexts
from pipeline.components.entities import sentence_entities
from pipeline.models import Models, load_models
from pipeline.components.records import Entity, within_spans
from pipeline.components.tokenizer import UndertheseaTokenizer, line_problem
from pipeline.io.write import document_record


class StructureAlignmentWarning(UserWarning):
    """A sentence or heading boundary fell inside a token."""


@dataclass
class Annotated:
    raw: RawDocument
    structure: Structure
    doc: Doc
    seconds: float
    entities: list[dict] = field(default_factory=list)
    classes: list[tuple[str | None, dict]] = field(default_factory=list)  # (label, scores) per sentence
    records: list[dict] = field(default_factory=list)
    models: dict = field(default_factory=dict)  # versions of the models used

    def record(self, with_tokens: bool = False) -> dict:
        return document_record(self, with_tokens=with_tokens)


def load_pipeline(config: dict | None = None, models_directory=None) -> Models:
    """The tokenizer and the trained models in models/ (those that exist), loaded once.

    ``config``'s tokenizer settings replace the packaged ones the model loads
    with. One short sentence goes through the pipeline here, so that what
    underthesea and spaCy load on first use is loaded now: before a batch forks
    its workers, not once in each of them.
    """
    models = load_models(models_directory)
    if config is not None and isinstance(models.nlp.tokenizer, UndertheseaTokenizer):
        models.nlp.tokenizer.configure(config["tokenizer"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models.nlp("Năm 2020, tổng sản phẩm trên địa bàn tăng 6,5% so với cùng kỳ.")
    return models


def attach_structure(doc: Doc, structure: Structure) -> list[str]:
    """Sentence starts, heading and footnote spans on the Doc; returns problems.

    The structure's character offsets stay the truth: a boundary inside a
    token is widened to the token and reported, never dropped.
    """
    problems: list[str] = []
    units = [(s.start, s.end) for s in structure.sentences] + [(h.start, h.end) for h in structure.headings]
    starts = set()
    for start, end in units:
        span = doc.char_span(start, end, alignment_mode="strict")
        if span is None:
            span = doc.char_span(start, end, alignment_mode="expand")
            problems.append(f"boundary of text [{start}:{end}] falls inside a token; widened to [{span.start_char}:{span.end_char}]")
        if span is not None and len(span):
            starts.add(span.start)
    # One array write: assigning token.is_sent_start one by one re-checks the
    # whole Doc each time and costs seconds on a report.
    sent_starts = numpy.full((len(doc), 1), -1, dtype="int64")
    for i in starts | {0}:
        sent_starts[i, 0] = 1
    if len(doc):
        doc.from_array([SENT_START], sent_starts.view("uint64"))
    doc.spans["headings"] = [doc.char_span(h.start, h.end, label=h.kind, alignment_mode="expand") for h in structure.headings]
    doc.spans["footnotes"] = [doc.char_span(f.start, f.end, label="FOOTNOTE", alignment_mode="expand") for f in structure.footnotes]
    doc.user_data["structure"] = structure
    for problem in problems:
        warnings.warn(problem, StructureAlignmentWarning, stacklevel=2)
    return problems


def section_bounds(text: str, sentence_starts: list[int], limit: int) -> tuple[list[tuple[int, int]], list[str]]:
    """Consecutive spans covering ``text``, none longer than ``limit``, and problems.

    Each cut is at the last line start within reach, else at the last sentence
    start (a paragraph longer than a section), else after the last white space;
    only a run of ``limit`` characters with no space at all is cut where it
    stands, with a warning.
    """
    starts = sorted(sentence_starts)
    bounds: list[tuple[int, int]] = []
    problems: list[str] = []
    start, length = 0, len(text)
    while length - start > limit:
        reach = start + limit
        cut = text.rfind("\n", start, reach) + 1
        if cut <= start:
            index = bisect_right(starts, reach) - 1
            cut = starts[index] if index >= 0 and starts[index] > start else 0
        if cut <= start:
            space = next((i for i in range(reach - 1, start, -1) if text[i].isspace()), None)
            cut = space + 1 if space is not None else 0
        if cut <= start:
            cut = reach
            problems.append(f"{limit} characters from offset {start} hold no line break, sentence end or space; "
                            f"tokenised in two sections cut at offset {cut}")
        bounds.append((start, cut))
        start = cut
    bounds.append((start, length))
    return bounds, problems


def make_doc(nlp, text: str, structure: Structure, section_chars: int) -> tuple[Doc, list[str]]:
    """The tokenised Doc of ``text`` and the tokenizer's problems.

    A text longer than ``section_chars`` or spaCy's ``nlp.max_length`` is
    tokenised in sections cut at line ends (else sentence ends, see
    ``section_bounds``) and the sections joined into one Doc over the whole
    text: offsets are those of the text. The tokenizer works line by line, so
    sections cut at line ends give the very tokens the whole text would.
    """
    limit = max(1, min(section_chars, nlp.max_length))
    if len(text) <= limit:
        doc = nlp.make_doc(text)
        return doc, list(doc.user_data.get("tokenizer_warnings", []))
    bounds, problems = section_bounds(text, [s.start for s in structure.sentences], limit)
    docs = []
    for start, end in bounds:
        section = nlp.make_doc(text[start:end])
        located = section.user_data.get("tokenizer_problems")
        if located is None:  # another tokenizer: its messages as they are
            problems.extend(section.user_data.get("tokenizer_warnings", []))
        else:
            problems.extend(line_problem(start + offset, problem) for offset, problem in located)
        section.user_data.clear()  # Doc.from_docs warns about any user data it cannot merge
        docs.append(section)
    doc = Doc.from_docs(docs, ensure_whitespace=False)
    if doc.text != text:  # pragma: no cover - the bounds cover the text exactly
        raise RuntimeError("the tokenised sections do not join back into the text")
    return doc, problems


def annotate_document(raw: RawDocument, models: Models | None = None, config: dict | None = None) -> Annotated:
    """Structure, tokens, entities, sentence classes and records of one document."""
    config = config or load_config()
    models = models or load_pipeline(config)
    nlp = models.nlp
    started = time.perf_counter()
    structure = analyse(raw, config)
    doc, problems = make_doc(nlp, raw.text, structure, config["tokenizer"]["section_chars"])
    structure.warnings.extend(problems)
    structure.warnings.extend(attach_structure(doc, structure))
    spans = [(s.start, s.end) for s in structure.sentences]
    entities = sentence_entities(nlp, doc, spans)
    doc.ents = [span for span in (doc.char_span(e["start"], e["end"], label=e["label"], alignment_mode="expand") for e in entities)
                if span is not None]
    sentences = [{"start": s.start, "end": s.end, "section": s.section, "is_footnote": s.is_footnote} for s in structure.sentences]
    objects = [Entity(e["start"], e["end"], e["label"]) for e in entities]
    # Records before classes: the directions of a sentence's figures are a feature of its class.
    records = []
    for index, sentence_records in enumerate(models.link_sentences(raw.text, spans, within_spans(spans, objects))):
        for record in sentence_records:
            record.pop("baseline_span", None)
            record.update(sentence=index, section=structure.sentences[index].section)
            records.append(record)
    classes = (predict(models.classifier, sentence_contexts(raw.text, sentences, entities, records)) if models.classifier
               else [(None, {}) for _ in sentences])
    for record in records:
        record["sentence_class"] = classes[record["sentence"]][0]
    return Annotated(raw=raw, structure=structure, doc=doc, seconds=time.perf_counter() - started,
                     entities=entities, classes=classes, records=records, models=dict(models.versions))


def annotate_file(path: str | os.PathLike, models: Models | None = None, config: dict | None = None,
                  data: bytes | None = None) -> Annotated:
    """Read and annotate one file (or its ``data``); raises ReadError naming the file."""
    config = config or load_config()
    return annotate_document(read_document(Path(path), config, data), models=models, config=config)
