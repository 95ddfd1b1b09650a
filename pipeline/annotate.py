"""The whole pipeline on one document: read -> structure -> segment -> (models) -> record.

Plain functions, importable from Python; the CLI only parses arguments and
calls them.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from . import __version__
from .config import load_config
from .read import RawDocument, read_document
from .structure import Structure, analyse
from .segment import blank_pipeline
from .write import document_record


class StructureAlignmentWarning(UserWarning):
    """A sentence or heading boundary fell inside a token."""


@dataclass
class Annotated:
    raw: RawDocument
    structure: Structure
    doc: Doc
    seconds: float

    def record(self, with_tokens: bool = False) -> dict:
        return document_record(self, with_tokens=with_tokens)


def load_pipeline(config: dict | None = None) -> Language:
    """The spaCy pipeline: underthesea tokenizer, then the trained components."""
    return blank_pipeline()


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


def annotate_document(raw: RawDocument, nlp: Language | None = None, config: dict | None = None) -> Annotated:
    config = config or load_config()
    nlp = nlp or load_pipeline(config)
    started = time.perf_counter()
    structure = analyse(raw, config)
    doc = nlp.make_doc(raw.text)
    structure.warnings.extend(doc.user_data.get("tokenizer_warnings", []))
    structure.warnings.extend(attach_structure(doc, structure))
    doc = nlp(doc)
    return Annotated(raw=raw, structure=structure, doc=doc, seconds=time.perf_counter() - started)


def annotate_file(path: str | os.PathLike, nlp: Language | None = None, config: dict | None = None) -> Annotated:
    """Read and annotate one file; raises ReadError naming the file."""
    config = config or load_config()
    return annotate_document(read_document(Path(path), config), nlp=nlp, config=config)


def pipeline_version() -> str:
    return __version__
