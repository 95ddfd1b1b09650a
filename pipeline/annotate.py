"""From files to annotated Docs: read each file, make its Doc with what the
reader found (source, format, declared footnotes, warnings), and run the
pipeline over them with ``nlp.pipe``. Every caller (the command line, folder
mode, its workers, Dask, evaluation, pre-annotation) goes through here.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.config import load_config
from pipeline.io.read import RawDocument, read_document
from pipeline.language import versions_of


def make_doc(nlp: Language, raw: RawDocument) -> Doc:
    """The tokenised Doc of a read document, carrying what the reader knows."""
    doc = nlp.make_doc(raw.text)
    doc._.source, doc._.format, doc._.encoding = raw.source, raw.format, raw.encoding
    if raw.footnotes is not None:
        doc._.declared_footnotes = [(f.start, f.end, f.cited_at, f.mark) for f in raw.footnotes]
    doc._.warnings = [*raw.warnings, *(doc._.warnings or [])]
    return doc


def annotate_documents(nlp: Language, raws: Iterable[RawDocument], batch_size: int | None = None) -> Iterator[Doc]:
    """Each read document through the whole pipeline, in order."""
    versions = versions_of(nlp)
    docs = (make_doc(nlp, raw) for raw in raws)
    for doc in nlp.pipe(docs, batch_size=batch_size):
        doc._.models = versions
        yield doc


def annotate_text(nlp: Language, text: str, source: str = "<text>") -> Doc:
    return next(annotate_documents(nlp, [RawDocument(source=source, text=text, format="txt")]))


def annotate_file(nlp: Language, path: str | os.PathLike, settings: dict | None = None, data: bytes | None = None) -> Doc:
    """Read and annotate one file (or its ``data``); raises ReadError naming the
    file. ``settings``: those of pipeline.toml (the [read] limits)."""
    settings = settings or load_config()
    raw = read_document(Path(path), settings, data)
    doc = next(annotate_documents(nlp, [raw]))
    if settings["annotate"]["entity_scores"]:
        score_entities(nlp, doc)
    return doc


def entity_scorer(nlp: Language):
    """The component that can score ``nlp``'s entities (a trained NER), or
    None (the rule baseline has nothing to score with)."""
    from pipeline.components.entities import SentenceNER

    component = nlp.get_pipe("entities") if "entities" in nlp.pipe_names else None
    return component if isinstance(component, SentenceNER) and component.ner is not None else None


def score_entities(nlp: Language, doc: Doc) -> bool:
    """Set ``doc._.entity_scores``, the NER's probability for each entity
    (``SentenceNER.entity_scores``); False when there is no trained NER."""
    scorer = entity_scorer(nlp)
    if scorer is None:
        return False
    doc._.entity_scores = scorer.entity_scores([doc])[0]
    return True


def warm_up(nlp: Language) -> None:
    """One short sentence through the pipeline, so that what underthesea and
    spaCy load on first use is loaded now: before a batch forks its workers,
    not once in each of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annotate_text(nlp, "Năm 2020, tổng sản phẩm trên địa bàn tăng 6,5% so với cùng kỳ.")
