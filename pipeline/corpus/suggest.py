"""What to label next: the sentences of an annotated archive (folder mode's
OUT/documents/**/*.json) on which the pipeline is least sure or visibly
incomplete, spread across documents and sections, as Label Studio tasks.

A sentence is worth labelling when its class is uncertain (a small margin
between the two most probable classes), when an entity's score is low (in the
output of ``annotate --entity-scores``), when a METRIC, UNIT or BASELINE span
is left out of every record (the spans and the links disagree), or when a
figure's record lacks what its relation needs (no metric; no unit or no
baseline where pipeline/config/suggest.toml says one is expected). Weights, expectations and
the cap per document are in that file.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.components.linking import within_spans
from pipeline.config import DEFAULT_CONFIG_PATH, load_toml

SUGGEST_PATH = DEFAULT_CONFIG_PATH.parent / "suggest.toml"


def read_output_documents(out_dir: str | Path) -> list[dict]:
    """The documents of a folder-mode output, in path order."""
    folder = Path(out_dir) / "documents"
    if not folder.is_dir():
        raise FileNotFoundError(f"{out_dir}: no documents/ folder (the --out of `vnreport annotate FOLDER --out OUT`)")
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.rglob("*.json"))]


def margin(scores: dict[str, float]) -> float | None:
    if len(scores) < 2:
        return None
    first, second = sorted(scores.values(), reverse=True)[:2]
    return first - second


def sentence_reasons(document: dict, settings: dict) -> list[dict]:
    """Per sentence of one output document: its priority and why."""
    weights, expect = settings["weights"], settings["expect"]
    by_sentence: dict[int, list[dict]] = {}
    for record in document.get("records", []):
        by_sentence.setdefault(record.get("sentence"), []).append(record)
    # each sentence's entities, found once (not every entity tested against every sentence)
    entities_of = within_spans([(s["start"], s["end"]) for s in document["sentences"]], document.get("entities", []),
                               start=lambda e: e["start"], end=lambda e: e["end"])
    rows = []
    for index, sentence in enumerate(document["sentences"]):
        reasons, priority = [], 0.0
        sentence_margin = margin(sentence.get("scores") or {})
        if sentence_margin is not None:
            priority += weights["uncertain_class"] * (1 - sentence_margin)
            if sentence_margin < settings["class"]["uncertain_margin"]:
                reasons.append(f"class margin {sentence_margin:.2f}")
        for entity in entities_of[index]:
            score = entity.get("score")
            if score is not None and score < settings["entity"]["uncertain_score"]:
                priority += weights["uncertain_entity"] * (1 - score)
                reasons.append(f"{document['text'][entity['start']:entity['end']]}: {entity['label']} score {score:.2f}")
        for entity in unlinked_entities(document["text"], entities_of[index], by_sentence.get(index, [])):
            priority += weights["unlinked_entity"]
            reasons.append(f"{document['text'][entity['start']:entity['end']]}: {entity['label']} no record uses")
        for record in by_sentence.get(index, []):
            figure = document["text"][record["span"][0]:record["span"][1]]
            if record.get("parent_metric") is not None:
                # a part of a breakdown takes its total's unit and baseline
                if record.get("metric") is None:
                    priority += weights["record_without_metric"]
                    reasons.append(f"{figure}: no metric")
                continue
            if record.get("metric") is None:
                priority += weights["record_without_metric"]
                reasons.append(f"{figure}: no metric")
            if record.get("unit") is None and record.get("relation") in expect["unit"]:
                priority += weights["record_without_unit"]
                reasons.append(f"{figure}: no unit")
            if record.get("baseline") is None and record.get("relation") in expect["baseline"]:
                priority += weights["record_without_baseline"]
                reasons.append(f"{figure}: no baseline")
        rows.append({"sentence": index, "priority": round(priority, 4), "reasons": reasons,
                     "margin": None if sentence_margin is None else round(sentence_margin, 4),
                     "section": tuple(sentence.get("section") or ())})
    return rows


def unlinked_entities(text: str, entities: list[dict], records: list[dict]) -> list[dict]:
    """The METRIC, UNIT and BASELINE spans of a sentence (``entities``) that
    none of its records names: a span the linker could not place is often a
    wrong span (a time phrase taken as METRIC, a word after a figure taken as
    UNIT) or a figure missed next to it."""
    named = {"METRIC": {r.get("metric") for r in records} | {r.get("parent_metric") for r in records},
             "UNIT": {r.get("unit") for r in records},
             "BASELINE": {r.get("baseline") for r in records}}
    return [e for e in entities if e["label"] in named and text[e["start"]:e["end"]] not in named[e["label"]]]


def _spread(rows: list[dict]) -> list[dict]:
    """A document's candidates, best first, taking each section's best in
    turn (round-robin over sections) so one section does not fill the cap."""
    by_section: dict[tuple, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (-r["priority"], r["sentence"])):
        by_section.setdefault(row["section"][:1], []).append(row)
    queues = sorted(by_section.values(), key=lambda q: (-q[0]["priority"], q[0]["sentence"]))
    ordered = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def suggest(documents: list[dict], count: int, settings: dict | None = None) -> list[tuple[dict, dict]]:
    """Up to ``count`` (document, row) pairs: every document's best sentences
    in turn (round-robin over documents, most promising document first), at
    most ``pick.per_document`` from one."""
    settings = settings or load_toml(SUGGEST_PATH)
    pick = settings["pick"]
    queues = []
    for document in documents:
        rows = [r for r in sentence_reasons(document, settings) if r["priority"] >= pick["min_priority"]]
        if rows:
            queues.append((document, _spread(rows)[:pick["per_document"]]))
    queues.sort(key=lambda q: (-q[1][0]["priority"], q[0]["doc_id"]))
    chosen = []
    while len(chosen) < count and any(rows for _, rows in queues):
        for document, rows in queues:
            if rows and len(chosen) < count:
                chosen.append((document, rows.pop(0)))
    return chosen


def sentence_task(document: dict, row: dict) -> dict:
    """A Label Studio task of one sentence, with the sentences before and after
    it as context and the pipeline's labels as a prediction (offsets relative
    to the sentence, so the task imports back as a one-sentence document)."""
    sentences = document["sentences"]
    index = row["sentence"]
    sentence = sentences[index]
    start, end = sentence["start"], sentence["end"]
    text = document["text"][start:end]
    results = []
    for i, entity in enumerate(e for e in document["entities"] if start <= e["start"] and e["end"] <= end):
        results.append({"id": f"e{i}", "from_name": "label", "to_name": "text", "type": "labels",
                        "value": {"start": entity["start"] - start, "end": entity["end"] - start,
                                  "text": document["text"][entity["start"]:entity["end"]], "labels": [entity["label"]]}})
    class_result = {"id": "s0", "from_name": "class", "to_name": "text", "type": "labels",
                    "value": {"start": 0, "end": len(text), "text": text, "labels": [sentence["label"]]}}
    if sentence.get("scores") and sentence["label"] in sentence["scores"]:
        class_result["score"] = sentence["scores"][sentence["label"]]
    results.append(class_result)
    doc_id = f"{document['doc_id']}#{index}"
    prediction = {"model_version": "+".join(f"{k}-{v}" for k, v in sorted((document.get("models") or {}).items())) or "vnreport",
                  "score": round(1 - min(row["priority"], 1.0), 4), "result": results}
    return {
        "data": {
            "text": text, "doc_id": doc_id,
            "before": sentences[index - 1]["text"] if index > 0 else "",
            "after": sentences[index + 1]["text"] if index + 1 < len(sentences) else "",
            "source": document.get("source"), "sentence": index, "section": " > ".join(sentence.get("section") or []),
            "reasons": "; ".join(row["reasons"]), "priority": row["priority"], "margin": row["margin"],
            "meta": {"doc_id": doc_id, "split": "train", "origin": document.get("source") or "",
                     "sentences": [{"start": 0, "end": len(text), "label": sentence["label"],
                                    "section": sentence.get("section") or [], "is_footnote": bool(sentence.get("is_footnote")),
                                    "footnote": None}]},
        },
        "predictions": [prediction],
    }


def write_suggestions(out_dir: str | Path, count: int, out: str | Path, settings: dict | None = None) -> list[dict]:
    tasks = [sentence_task(document, row) for document, row in suggest(read_output_documents(out_dir), count, settings)]
    from pipeline.io.write import replacing

    with replacing(out) as tmp:
        tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return tasks
