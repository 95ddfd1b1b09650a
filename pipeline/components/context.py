"""Figures in context, the last component: what the report says about itself
(``Doc._.metadata``: document type, issuer, province, number, place and date,
reporting period) and, on each record, the period its figure refers to, the
period a same-period or period comparison is against, its value in a base unit,
and the indicator of the catalogue it gives with a score.

Plain functions of the text and the records (metadata.py, periods.py,
normalise.py, indicators.py), so the dataset command applies the same to
outputs and gold documents that do not carry them yet.
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.indicators import link_indicator
from pipeline.components.linking import within_spans
from pipeline.components.metadata import document_metadata
from pipeline.components.normalise import normalise
from pipeline.components.periods import baseline_period, record_period


def sentence_text(document: dict, index: int) -> str:
    sentence = document["sentences"][index]
    return sentence.get("text") if sentence.get("text") is not None else document["text"][sentence["start"]:sentence["end"]]


def scoped_records(document: dict, metadata: dict | None = None, with_indicators: bool = False) -> list[dict]:
    """The document's records, each with its ``period`` (and ``baseline_period`` for a
    comparison with a period) and ``normalised`` value, and with ``with_indicators``
    its ``indicator`` and ``indicator_score``; the records are copied."""
    metadata = metadata if metadata is not None else (document.get("metadata") or document_metadata(document["text"]))
    text = document["text"]
    baselines = [e for e in document.get("entities", []) if e["label"] == "BASELINE"]
    # each sentence's BASELINEs, found once (not every baseline tested for every figure)
    baselines_of = within_spans([(s["start"], s["end"]) for s in document["sentences"]], baselines,
                                start=lambda e: e["start"], end=lambda e: e["end"])
    scoped = []
    for record in document.get("records", []):
        record = dict(record)
        sentence = document["sentences"][record["sentence"]]
        start = sentence["start"]
        excluded = [(e["start"] - start, e["end"] - start) for e in baselines_of[record["sentence"]]]
        period = record_period(text[start:sentence["end"]], record["span"][0] - start, record["span"][1] - start,
                               metadata.get("period"), sentence.get("section") or [], excluded=excluded)
        record["period"] = period
        compared = baseline_period(record, period)
        if compared is not None:
            record["baseline_period"] = compared
        record["normalised"] = normalise(record)
        if with_indicators:
            record["indicator"], record["indicator_score"] = link_indicator(record, text[start:sentence["end"]])
        scoped.append(record)
    return scoped



def record_indicator(record: dict, sentence: str, link) -> tuple[str | None, float | None]:
    """The indicator of a record: the one the pipeline gave it (with its
    score), the gold's (a reviewed corpus record: ``indicator`` present, None
    for a figure reviewed as no indicator), else the linker's."""
    if "indicator_score" in record:
        return record.get("indicator"), record["indicator_score"]
    if "indicator" in record:
        return record["indicator"], 1.0 if record["indicator"] is not None else None
    if link is None:
        return None, None
    code, score = link(record, sentence)
    return code, score



class Context:
    def __call__(self, doc: Doc) -> Doc:
        metadata = document_metadata(doc.text)
        document = {
            "text": doc.text,
            "sentences": [{"start": s.start_char, "end": s.end_char, "section": s._.section}
                          for s in doc.spans.get("sentences", [])],
            "entities": [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents],
            "records": doc._.records or [],
        }
        doc._.metadata = metadata
        doc._.records = scoped_records(document, metadata, with_indicators=True)
        return doc


@Language.factory("vnreport_context_v1", assigns=["doc._.metadata", "doc._.records"], requires=["doc._.records"])
def make_context(nlp: Language, name: str) -> Context:
    return Context()
