"""Converters between the corpus format and the formats people label in.

- spaCy ``DocBin`` for training, on the underthesea tokens; a span that does
  not fall on token boundaries is reported, never dropped silently.
- Label Studio's JSON export and doccano's JSONL, both ways.
- An inline markup of one sentence per line ("[V 9,2][U %]"), for reviewing
  and correcting a document in a text editor.
"""
from __future__ import annotations

import copy
import re
import warnings

from pipeline.corpus.documents import CLASSES, LABELS, relink_records

MARKUP_CODES = {"METRIC": "M", "VALUE": "V", "UNIT": "U", "BASELINE": "B"}
CODE_LABELS = {code: label for label, code in MARKUP_CODES.items()}
_NEWLINE = "⏎"  # a line break inside a sentence (Word's citation breaks)


class AlignmentWarning(UserWarning):
    """A labelled span does not fall on token boundaries."""


class UnlabelledTaskWarning(UserWarning):
    """Label Studio tasks with no submitted annotation were left out of an import."""


# --- records of a relabelled document ----------------------------------------

# What a record names by its text, and the label of the entity that carries it.
_NAMED = (("metric", "METRIC"), ("parent_metric", "METRIC"), ("unit", "UNIT"), ("baseline", "BASELINE"))


def imported_records(document: dict) -> list[dict]:
    """The records of a document whose spans a person has just labelled.

    The record of a VALUE still labelled is kept (``relink_records``) unless it
    names a METRIC, UNIT or BASELINE that is no longer labelled in its sentence
    (or a METRIC or BASELINE span that is no longer one): then the person
    changed what the figure is about, and the record is linked again from the
    labels, instead of contradicting them. A record that names its METRIC or
    BASELINE by text only (the pipeline's proposals and the links made here
    carry no span) gets the span of that entity in its sentence: the METRIC
    nearest before the VALUE, else the first after it; the BASELINE first after
    the VALUE, else the nearest before. Rebuilt so from their texts, 3 of the
    5236 METRIC and BASELINE links of the train and dev gold land on another
    entity of the same text. Without a span, training the linker reads the
    record as linked to none of its sentence's METRICs.
    """
    text = document["text"]
    labelled = {(e["start"], e["end"], e["label"]) for e in document["entities"]}
    fresh = {tuple(r["span"]): r for r in relink_records(document, keep=False)}
    records = []
    for record in relink_records(document):
        sentence = document["sentences"][record["sentence"]]
        inside = [e for e in document["entities"] if sentence["start"] <= e["start"] and e["end"] <= sentence["end"]]

        def still_labelled(field: str, label: str) -> bool:
            span = record.get(f"{field}_span")
            if span:
                return (span[0], span[1], label) in labelled
            return any(e["label"] == label and text[e["start"]:e["end"]] == record[field] for e in inside)

        if not all(record.get(field) is None or still_labelled(field, label) for field, label in _NAMED):
            record = fresh[tuple(record["span"])]
        records.append(_with_link_spans(record, inside, text))
    return records


def _with_link_spans(record: dict, inside: list[dict], text: str) -> dict:
    record = dict(record)
    value_start, value_end = record["span"]
    for field, label in (("metric", "METRIC"), ("baseline", "BASELINE")):
        if record.get(field) is None or record.get(f"{field}_span"):
            continue
        candidates = [e for e in inside if e["label"] == label and text[e["start"]:e["end"]] == record[field]]
        before = [e for e in candidates if e["end"] <= value_start]
        after = [e for e in candidates if e["start"] >= value_end]
        # a baseline follows its figure ("tăng 5% so với cùng kỳ"), a metric precedes it
        order = (before[::-1] + after) if label == "METRIC" else (after + before[::-1])
        if order:
            record[f"{field}_span"] = [order[0]["start"], order[0]["end"]]
    return record


# --- spaCy ------------------------------------------------------------------

def to_docbin(documents: list[dict], nlp, attach_sentences: bool = True):
    """A DocBin of the documents; misaligned spans are widened to whole tokens
    and reported with an AlignmentWarning."""
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=False)
    for document in documents:
        doc = nlp.make_doc(document["text"])
        spans = []
        for entity in sorted(document["entities"], key=lambda e: e["start"]):
            span = doc.char_span(entity["start"], entity["end"], label=entity["label"], alignment_mode="strict")
            if span is None:
                span = doc.char_span(entity["start"], entity["end"], label=entity["label"], alignment_mode="expand")
                warnings.warn(
                    f"{document['doc_id']}: {entity['label']} [{entity['start']}:{entity['end']}] "
                    f"{document['text'][entity['start']:entity['end']]!r} widened to tokens {span.text!r}",
                    AlignmentWarning,
                    stacklevel=2,
                )
            if spans and span.start < spans[-1].end:
                warnings.warn(f"{document['doc_id']}: {span.label_} {span.text!r} overlaps a span once widened; left out of this DocBin", AlignmentWarning, stacklevel=2)
                continue
            spans.append(span)
        doc.ents = spans
        docbin.add(doc)
    return docbin


# --- Label Studio -----------------------------------------------------------

def to_label_studio(document: dict) -> dict:
    """One Label Studio task with its annotation (labels "label" and "class")."""
    results = []
    text = document["text"]
    for i, entity in enumerate(document["entities"]):
        results.append({
            "id": f"e{i}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": entity["start"], "end": entity["end"], "text": text[entity["start"]:entity["end"]], "labels": [entity["label"]]},
        })
    for i, sentence in enumerate(document["sentences"]):
        results.append({
            "id": f"s{i}",
            "from_name": "class",
            "to_name": "text",
            "type": "labels",
            "value": {"start": sentence["start"], "end": sentence["end"], "text": text[sentence["start"]:sentence["end"]], "labels": [sentence["label"]]},
        })
    meta = {k: v for k, v in document.items() if k not in ("text", "entities")}
    return {"data": {"text": text, "doc_id": document["doc_id"], "meta": meta}, "annotations": [{"result": results}]}


def submitted_annotation(task: dict) -> dict | None:
    """The annotation a Label Studio task was labelled with: the last one
    submitted. A task the annotator skipped is exported with an annotation
    marked ``was_cancelled`` and no result, and one nobody opened has only the
    predictions; neither is labelled (None), and importing either as a document
    would make "no figures" and the model's classes gold."""
    annotations = task.get("annotations") or task.get("completions") or []
    submitted = [a for a in annotations if not a.get("was_cancelled")]
    return submitted[-1] if submitted else None


def from_label_studio(task: dict, template: dict | None = None) -> dict:
    """A corpus document from a Label Studio task. Sentence spans labelled with a
    class keep their class; records as ``imported_records`` makes them."""
    data = task["data"]
    annotation = submitted_annotation(task)
    if annotation is None:
        raise ValueError(f"{data.get('doc_id', 'task')}: no submitted annotation (skipped, or not labelled)")
    document = copy.deepcopy(template or data.get("meta") or {})
    document["text"] = data["text"]
    document.setdefault("doc_id", data.get("doc_id", "document"))
    document.setdefault("split", "train")
    entities, classes = [], {}
    for result in annotation["result"]:
        value = result["value"]
        label = value["labels"][0]
        if label in LABELS:
            entities.append({"start": value["start"], "end": value["end"], "label": label})
        elif label in CLASSES:
            classes[(value["start"], value["end"])] = label
    document["entities"] = sorted(entities, key=lambda e: e["start"])
    if "sentences" in document:
        for sentence in document["sentences"]:
            sentence["label"] = classes.get((sentence["start"], sentence["end"]), sentence.get("label"))
    else:
        document["sentences"] = [
            {"start": s, "end": e, "label": label, "section": [], "is_footnote": False, "footnote": None}
            for (s, e), label in sorted(classes.items())
        ]
    document["records"] = imported_records(document)
    return document


# --- doccano ----------------------------------------------------------------

def to_doccano(document: dict) -> list[dict]:
    """doccano sequence-labelling JSONL: one line per sentence, spans relative
    to it, the sentence class in ``cats``."""
    lines = []
    text = document["text"]
    for i, sentence in enumerate(document["sentences"]):
        start, end = sentence["start"], sentence["end"]
        labels = [[e["start"] - start, e["end"] - start, e["label"]] for e in document["entities"] if start <= e["start"] and e["end"] <= end]
        lines.append({"text": text[start:end], "label": labels, "cats": [sentence["label"]] if sentence["label"] else [], "doc_id": document["doc_id"], "sentence": i, "offset": start})
    return lines


def from_doccano(lines: list[dict], template: dict) -> dict:
    """Back into the document the lines were exported from (``template``)."""
    document = copy.deepcopy(template)
    text = document["text"]
    entities = []
    for line in lines:
        sentence = document["sentences"][line["sentence"]]
        offset = sentence["start"]
        if text[offset:sentence["end"]] != line["text"]:
            raise ValueError(f"{document['doc_id']}: sentence {line['sentence']} text differs from the exported one")
        for start, end, label in line.get("label", line.get("entities", [])):
            entities.append({"start": offset + start, "end": offset + end, "label": label})
        cats = line.get("cats") or []
        sentence["label"] = cats[0] if cats else None
    document["entities"] = sorted(entities, key=lambda e: e["start"])
    document["records"] = imported_records(document)
    return document


# --- inline markup ----------------------------------------------------------

def sentence_markup(document: dict, index: int) -> str:
    sentence = document["sentences"][index]
    text = document["text"]
    start, end = sentence["start"], sentence["end"]
    pieces, cursor = [], start
    for entity in sorted(document["entities"], key=lambda e: e["start"]):
        if start <= entity["start"] and entity["end"] <= end:
            pieces.append(text[cursor:entity["start"]])
            pieces.append(f"[{MARKUP_CODES[entity['label']]} {text[entity['start']:entity['end']]}]")
            cursor = entity["end"]
    pieces.append(text[cursor:end])
    return "".join(pieces).replace("\n", _NEWLINE)


def to_markup(document: dict) -> str:
    """One line per sentence: index, class, then the sentence with [M ...] [V ...]
    [U ...] [B ...] around the labelled spans."""
    return "\n".join(
        f"{i}\t{sentence['label']}\t{sentence_markup(document, i)}" for i, sentence in enumerate(document["sentences"])
    ) + "\n"


_MARK = re.compile(r"\[([MVUB]) ([^\[\]]+)\]")


def parse_markup_line(line: str) -> tuple[int, str, str, list[tuple[int, int, str]]]:
    """(index, class, plain sentence, spans relative to the sentence)."""
    index, label, marked = line.rstrip("\n").split("\t", 2)
    plain, spans, cursor = [], [], 0
    length = 0
    for match in _MARK.finditer(marked):
        before = marked[cursor:match.start()]
        plain.append(before)
        length += len(before)
        inner = match.group(2)
        spans.append((length, length + len(inner), CODE_LABELS[match.group(1)]))
        plain.append(inner)
        length += len(inner)
        cursor = match.end()
    plain.append(marked[cursor:])
    return int(index), label, "".join(plain).replace(_NEWLINE, "\n"), spans


def apply_markup(document: dict, markup: str) -> dict:
    """Replace the labels of the sentences given in ``markup`` (other sentences
    keep theirs). The text of each line must be the sentence's text."""
    document = copy.deepcopy(document)
    text = document["text"]
    changed: dict[int, tuple[str, list[tuple[int, int, str]]]] = {}
    for number, line in enumerate(markup.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        index, label, plain, spans = parse_markup_line(line)
        sentence = document["sentences"][index]
        if text[sentence["start"]:sentence["end"]] != plain:
            raise ValueError(f"markup line {number} (sentence {index}): its text differs from the sentence's")
        changed[index] = (label, spans)
    entities = [e for e in document["entities"] if not any(
        document["sentences"][i]["start"] <= e["start"] < document["sentences"][i]["end"] for i in changed)]
    for index, (label, spans) in changed.items():
        sentence = document["sentences"][index]
        sentence["label"] = label
        entities.extend({"start": sentence["start"] + s, "end": sentence["start"] + e, "label": lab} for s, e, lab in spans)
    document["entities"] = sorted(entities, key=lambda e: e["start"])
    return document


# --- correction lines ---------------------------------------------------------

_EDIT = re.compile(r"^([+-])([MVUB*])\s+(.+?)(?:@(\d+))?$")


def _find(sentence_text: str, needle: str, occurrence: int) -> int:
    position = -1
    for _ in range(occurrence):
        position = sentence_text.find(needle, position + 1)
        if position < 0:
            raise ValueError(f"{needle!r} (occurrence {occurrence}) is not in the sentence")
    return position


def apply_edits(document: dict, edits: str) -> dict:
    """Apply correction lines to a document.

    One line per sentence: ``INDEX | [CLASS] | EDIT | EDIT ...`` where an EDIT
    is ``+M text`` (label the n-th occurrence, ``text@n``, of ``text`` in the
    sentence), ``-M text`` (remove the METRIC with exactly that text; ``-*``
    any label). Removals are applied before additions; overlaps are refused.
    """
    document = copy.deepcopy(document)
    text = document["text"]
    entities = list(document["entities"])
    for number, line in enumerate(edits.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        index = int(parts[0])
        sentence = document["sentences"][index]
        start, end = sentence["start"], sentence["end"]
        sentence_text = text[start:end]
        operations = parts[1:]
        if operations and operations[0] in CLASSES:
            sentence["label"] = operations.pop(0)
        additions = []
        for operation in operations:
            match = _EDIT.match(operation)
            if not match:
                raise ValueError(f"edit line {number}: cannot read {operation!r}")
            sign, code, needle, occurrence = match.groups()
            if sign == "-":
                before = len(entities)
                at = start + _find(sentence_text, needle, int(occurrence)) if occurrence else None
                entities = [
                    e for e in entities
                    if not (start <= e["start"] < end and text[e["start"]:e["end"]] == needle
                            and (at is None or e["start"] == at)
                            and (code == "*" or e["label"] == CODE_LABELS[code]))
                ]
                if len(entities) == before:
                    raise ValueError(f"edit line {number} (sentence {index}): no {code} span {needle!r} to remove")
            else:
                try:
                    offset = start + _find(sentence_text, needle, int(occurrence or 1))
                except ValueError as error:
                    raise ValueError(f"edit line {number} (sentence {index}): {error}") from None
                additions.append({"start": offset, "end": offset + len(needle), "label": CODE_LABELS[code]})
        for addition in additions:
            if addition in entities:
                continue  # already labelled so: re-applying a correction changes nothing
            clash = [e for e in entities if e["start"] < addition["end"] and addition["start"] < e["end"]]
            if clash:
                raise ValueError(
                    f"edit line {number} (sentence {index}): {addition['label']} {text[addition['start']:addition['end']]!r} "
                    f"overlaps {clash[0]['label']} {text[clash[0]['start']:clash[0]['end']]!r}"
                )
            entities.append(addition)
    document["entities"] = sorted(entities, key=lambda e: e["start"])
    return document


# --- files ------------------------------------------------------------------

def export_documents(documents: list[dict], fmt: str, out, nlp=None) -> int:
    """Write documents in one of the exchange formats; returns how many."""
    import json
    from pathlib import Path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "label-studio":
        tasks = [to_label_studio(d) for d in documents]
        out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "doccano":
        with open(out, "w", encoding="utf-8") as f:
            for document in documents:
                for line in to_doccano(document):
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
    elif fmt == "markup":
        out.write_text("".join(f"# {d['doc_id']}\n" + to_markup(d) for d in documents), encoding="utf-8")
    elif fmt == "docbin":
        to_docbin(documents, nlp).to_disk(out)
    elif fmt == "ann":
        # One file per document into the folder ``out``: the form in which the
        # record links are reviewed and the project's gold is kept.
        from pipeline.corpus.authoring import to_ann

        out.mkdir(parents=True, exist_ok=True)
        for document in documents:
            (out / f"{document['doc_id']}.ann").write_text(to_ann(document), encoding="utf-8")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return len(documents)


def import_documents(path, fmt: str, templates: list[dict]) -> list[dict]:
    """Corpus documents from a file in an exchange format."""
    import json
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8")
    by_id = {t["doc_id"]: t for t in templates}
    if fmt == "label-studio":
        tasks = json.loads(text)
        tasks = tasks if isinstance(tasks, list) else [tasks]
        left_out = [task["data"].get("doc_id", f"task {task.get('id', index)}") for index, task in enumerate(tasks)
                    if submitted_annotation(task) is None]
        if left_out:
            warnings.warn(f"left out {len(left_out)} task(s) that nobody submitted (skipped or not labelled): "
                          f"{', '.join(left_out)}", UnlabelledTaskWarning, stacklevel=2)
        return [from_label_studio(task, by_id.get(task["data"].get("doc_id"))) for task in tasks
                if submitted_annotation(task) is not None]
    if not templates:
        raise ValueError(f"{fmt} data carries no document text: give --template, the corpus file it was exported from")
    if fmt == "doccano":
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        grouped: dict[str, list[dict]] = {}
        for line in lines:
            grouped.setdefault(line.get("doc_id", templates[0]["doc_id"]), []).append(line)
        return [from_doccano(group, by_id[doc_id]) for doc_id, group in grouped.items()]
    if fmt in ("markup", "edits"):
        sections: dict[str, list[str]] = {}
        current = templates[0]["doc_id"]
        for line in text.splitlines():
            if line.startswith("# ") and line[2:].strip() in by_id:
                current = line[2:].strip()
                continue
            sections.setdefault(current, []).append(line)
        documents = []
        for doc_id, template in by_id.items():
            body = "\n".join(sections.get(doc_id, []))
            document = apply_markup(template, body) if fmt == "markup" else apply_edits(template, body)
            document["records"] = imported_records(document)
            documents.append(document)
        return documents
    raise ValueError(f"unknown format {fmt!r}")


def to_sentence_docbin(documents: list[dict], nlp):
    """Training data for the NER: one Doc per sentence, the way it is run."""
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=False)
    for document in documents:
        text = document["text"]
        for sentence in document["sentences"]:
            start, end = sentence["start"], sentence["end"]
            doc = nlp.make_doc(text[start:end])
            spans = []
            for entity in document["entities"]:
                if start <= entity["start"] and entity["end"] <= end:
                    span = doc.char_span(entity["start"] - start, entity["end"] - start, label=entity["label"], alignment_mode="expand")
                    if span is not None and not (spans and span.start < spans[-1].end):
                        spans.append(span)
            doc.ents = spans
            docbin.add(doc)
    return docbin
