"""The labelled corpus: one JSON object per document (JSON Lines), character
offsets on the NFC text, following corpus/ANNOTATION-GUIDE.md.

A gold document carries its own sentence boundaries and sections, so it stays
valid when the structure stage changes; ``check_document`` reports where the
current tokenizer or rules disagree with it.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from pipeline.components.linking import Entity, link_records
from pipeline.resources import shipped_path

LABELS = ("METRIC", "VALUE", "UNIT", "BASELINE")
CLASSES = ("achievement", "limitation", "cause", "task", "other")
SPLITS = ("train", "dev", "test")
RECORD_FIELDS = ("metric", "value", "unit", "relation", "direction", "baseline", "baseline_type", "qualifier", "denominator", "upper", "span")
RELATIONS = ("level", "change", "attainment", "share", "ratio", "rank")
BASELINE_TYPES = ("same_period", "plan", "budget", "period", "average", "total", "other")


def corpus_dir() -> Path:
    return shipped_path("corpus")


def default_corpus_files() -> list[Path]:
    return sorted((corpus_dir() / "gold").glob("*.jsonl"))


def load_documents(paths: Iterable[str | os.PathLike]) -> list[dict]:
    documents = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        documents.append(json.loads(line))
                    except json.JSONDecodeError as error:
                        raise ValueError(f"{path}:{number}: not a JSON object: {error}") from None
    return documents


def save_documents(documents: list[dict], path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        for document in documents:
            f.write(json.dumps(document, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_from_doc(doc, split: str = "train", origin: str = "", labelled: bool = False) -> dict:
    """A corpus document from an annotated Doc: its structure, and with
    ``labelled`` the pipeline's entities, classes and records as proposals."""
    records = []
    if labelled:
        for record in doc._.records or []:
            record = {k: v for k, v in record.items() if k not in ("section", "sentence_class")}
            records.append(record)
    return {
        "doc_id": Path(doc._.source or "<text>").stem,
        "split": split,
        "origin": origin,
        "text": doc.text,
        "headings": [{"start": h.start_char, "end": h.end_char, "level": h._.level, "kind": h.label_}
                     for h in doc.spans.get("headings", [])],
        "sentences": [
            {"start": s.start_char, "end": s.end_char, "label": s._.label if labelled else None, "section": s._.section,
             "is_footnote": s._.is_footnote, "footnote": s._.footnote}
            for s in doc.spans.get("sentences", [])
        ],
        "entities": [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents] if labelled else [],
        "records": records,
    }


def entities_of(document: dict) -> list[Entity]:
    return [Entity(e["start"], e["end"], e["label"]) for e in document["entities"]]


def relink_records(document: dict, keep: bool = True) -> list[dict]:
    """Records from the document's entities; with ``keep``, a record a person
    corrected (same span) is kept as it is."""
    text = document["text"]
    entities = entities_of(document)
    existing = {tuple(r["span"]): r for r in document.get("records", [])} if keep else {}
    records = []
    for index, sentence in enumerate(document["sentences"]):
        for record in link_records(text, (sentence["start"], sentence["end"]), entities):
            record = existing.get(tuple(record["span"]), record)
            record["sentence"] = index
            records.append(record)
    return records


def stats(documents: list[dict]) -> dict:
    """Counts of labels and classes, in all and per split."""
    def count(docs: list[dict]) -> dict:
        return {
            "documents": len(docs),
            "sentences": sum(len(d["sentences"]) for d in docs),
            "labels": dict(sorted(Counter(e["label"] for d in docs for e in d["entities"]).items())),
            "classes": dict(sorted(Counter(s["label"] for d in docs for s in d["sentences"]).items())),
            "records": sum(len(d.get("records", [])) for d in docs),
        }

    total = count(documents)
    splits = {split: count([d for d in documents if d.get("split") == split]) for split in SPLITS}
    return {
        "documents": total["documents"],
        "labels": total["labels"],
        "classes": total["classes"],
        "sentences": total["sentences"],
        "records": total["records"],
        "splits": splits,
    }


def misaligned_entities(document: dict, nlp) -> list[tuple[dict, str]]:
    """Entities whose offsets do not fall on the tokens ``nlp`` gives the text."""
    doc = nlp.make_doc(document["text"])
    problems = []
    for entity in document["entities"]:
        if doc.char_span(entity["start"], entity["end"], alignment_mode="strict") is None:
            expanded = doc.char_span(entity["start"], entity["end"], alignment_mode="expand")
            problems.append((entity, f"does not fall on token boundaries (tokens cover {expanded.text!r})"))
    return problems


def check_document(document: dict, nlp=None) -> list[str]:
    """Everything wrong with one corpus document, as messages naming where."""
    problems: list[str] = []
    name = document.get("doc_id", "?")
    for key in ("doc_id", "split", "text", "sentences", "entities", "records"):
        if key not in document:
            problems.append(f"{name}: missing field {key!r}")
    if problems:
        return problems
    text = document["text"]
    import unicodedata

    if not unicodedata.is_normalized("NFC", text):
        problems.append(f"{name}: text is not NFC-normalised")
    if document["split"] not in SPLITS:
        problems.append(f"{name}: split {document['split']!r} is not one of {', '.join(SPLITS)}")
    previous_end = -1
    for index, sentence in enumerate(document["sentences"]):
        where = f"{name}: sentence {index}"
        if not (0 <= sentence["start"] < sentence["end"] <= len(text)):
            problems.append(f"{where}: offsets [{sentence['start']}:{sentence['end']}] outside the text")
            continue
        if sentence["start"] < previous_end:
            problems.append(f"{where}: overlaps the sentence before it")
        previous_end = sentence["end"]
        if sentence.get("label") not in CLASSES:
            problems.append(f"{where}: class {sentence.get('label')!r} is not one of {', '.join(CLASSES)}")
    spans = sorted(document["entities"], key=lambda e: (e["start"], e["end"]))
    sentence_spans = [(s["start"], s["end"]) for s in document["sentences"]]
    for i, entity in enumerate(spans):
        where = f"{name}: {entity.get('label')} [{entity['start']}:{entity['end']}]"
        if entity.get("label") not in LABELS:
            problems.append(f"{where}: label is not one of {', '.join(LABELS)}")
        if not (0 <= entity["start"] < entity["end"] <= len(text)):
            problems.append(f"{where}: offsets outside the text")
            continue
        span_text = text[entity["start"]:entity["end"]]
        if span_text != span_text.strip():
            problems.append(f"{where}: span {span_text!r} starts or ends with white space")
        if i and entity["start"] < spans[i - 1]["end"]:
            problems.append(f"{where}: overlaps {spans[i - 1]['label']} [{spans[i - 1]['start']}:{spans[i - 1]['end']}]")
        if not any(s <= entity["start"] and entity["end"] <= e for s, e in sentence_spans):
            problems.append(f"{where}: not inside one sentence")
        if "text" in entity and entity["text"] != span_text:
            problems.append(f"{where}: stored text {entity['text']!r} differs from the text at its offsets {span_text!r}")
    values = {(e["start"], e["end"]) for e in spans if e.get("label") == "VALUE"}
    records = {tuple(r.get("span", ())): r for r in document["records"]}
    for start, end in sorted(values - set(records)):
        problems.append(f"{name}: VALUE {text[start:end]!r} [{start}:{end}] has no record")
    for span, record in records.items():
        where = f"{name}: record at {list(span)}"
        if span not in values:
            problems.append(f"{where}: no VALUE entity has this span")
        if record.get("relation") not in RELATIONS:
            problems.append(f"{where}: relation {record.get('relation')!r} is not one of {', '.join(RELATIONS)}")
        if record.get("baseline_type") not in BASELINE_TYPES + (None,):
            problems.append(f"{where}: baseline_type {record.get('baseline_type')!r} is unknown")
        if record.get("direction") not in ("up", "down", None):
            problems.append(f"{where}: direction {record.get('direction')!r} is not up, down or null")
        if not isinstance(record.get("value"), (int, float)):
            problems.append(f"{where}: value {record.get('value')!r} is not a number")
        if record.get("indicator") is not None:
            from pipeline.components.indicators import catalogue_ids

            if record["indicator"] not in catalogue_ids():
                problems.append(f"{where}: indicator {record['indicator']!r} is not in pipeline/config/indicators.csv")
    if nlp is not None:
        for entity, message in misaligned_entities(document, nlp):
            problems.append(f"{name}: {entity['label']} [{entity['start']}:{entity['end']}] {text[entity['start']:entity['end']]!r}: {message}")
    return problems
