"""How often the gold corpus holds each construction of real reports.

A corpus that only says "X tăng Y% so với cùng kỳ" cannot teach or measure
bracketed changes, contributions to growth, tables or numbers inside names, so
each construction is counted (occurrences, and documents holding it) against
the minimum in ``config/constructions.toml``. Where the gold labels define a
construction (a rank, a fraction, a metric after its figure), the labels count
it; elsewhere a pattern on the sentence text does.
"""
from __future__ import annotations

import re
from collections import defaultdict

from pipeline.config import DEFAULT_CONFIG_PATH, load_toml

CONSTRUCTIONS_PATH = DEFAULT_CONFIG_PATH.parent / "constructions.toml"


def sentence_hits(document: dict, settings: dict, nlp=None) -> dict[str, list[int]]:
    """Construction name -> indices of the sentences holding it (a sentence may
    count more than once where the construction repeats in it)."""
    text = document["text"]
    sentences = document["sentences"]
    hits: dict[str, list[int]] = defaultdict(list)

    def sentence_of(offset: int) -> int:
        for index, sentence in enumerate(sentences):
            if sentence["start"] <= offset < sentence["end"]:
                return index
        return -1

    patterns = {name: re.compile(spec["pattern"], re.MULTILINE) for name, spec in settings.items()
                if isinstance(spec, dict) and "pattern" in spec}
    for index, sentence in enumerate(sentences):
        sentence_text = text[sentence["start"]:sentence["end"]]
        for name, pattern in patterns.items():
            if name in ("list_item", "table_row", "headline_growth"):
                if pattern.search(sentence_text):
                    hits[name].append(index)
            else:
                hits[name].extend(index for _ in pattern.finditer(sentence_text))
        if sentence.get("is_footnote"):
            hits["footnote"].append(index)

    records = document.get("records", [])
    for record in records:
        index = record.get("sentence", sentence_of(record["span"][0]))
        value_text = text[record["span"][0]:record["span"][1]]
        if record.get("relation") == "rank":
            hits["rank"].append(index)
        if re.fullmatch(r"\d[\d.,]*/\d[\d.,]*", value_text):
            hits["fraction"].append(index)
        if record.get("upper") is not None:
            hits["range"].append(index)
        if isinstance(record.get("value"), (int, float)) and record["value"] < 0:
            hits["negative_value"].append(index)
        if record.get("unit") and "/" in record["unit"]:
            hits["compound_unit"].append(index)
        metric_span = record.get("metric_span")
        if metric_span and metric_span[0] >= record["span"][1]:
            hits["figure_before_thing"].append(index)

    compared = {tuple(r["baseline_span"]) for r in records if r.get("baseline_span")}
    for entity in document["entities"]:
        if entity["label"] == "BASELINE" and (entity["start"], entity["end"]) not in compared:
            hits["comparison_without_figure"].append(sentence_of(entity["start"]))

    not_names = [re.compile(p, re.MULTILINE) for p in settings["number_in_name"]["not_names"]["patterns"]]
    covered = [(e["start"], e["end"]) for e in document["entities"] if e["label"] in ("VALUE", "UNIT")]
    for index, sentence in enumerate(sentences):
        start, end = sentence["start"], sentence["end"]
        sentence_text = text[start:end]
        excluded = [(start + m.start(), start + m.end()) for p in not_names for m in p.finditer(sentence_text)]
        for match in re.finditer(r"\d+", sentence_text):
            at = start + match.start()
            if any(s <= at < e for s, e in covered) or any(s <= at < e for s, e in excluded):
                continue
            hits["number_in_name"].append(index)

    if nlp is not None:
        minimum = settings["long_sentence"]["minimum_tokens"]
        doc = nlp.make_doc(text)
        counts = [0] * len(sentences)
        starts = [s["start"] for s in sentences]
        import bisect

        for token in doc:
            if token.is_space:
                continue
            index = bisect.bisect_right(starts, token.idx) - 1
            if index >= 0 and token.idx < sentences[index]["end"]:
                counts[index] += 1
        hits["long_sentence"] = [i for i, count in enumerate(counts) if count >= minimum]
    return hits


def count_constructions(documents: list[dict], nlp=None, settings: dict | None = None) -> list[dict]:
    """One row per construction: occurrences, documents, minimum, met."""
    settings = settings or load_toml(CONSTRUCTIONS_PATH)
    totals: dict[str, int] = defaultdict(int)
    holders: dict[str, set[str]] = defaultdict(set)
    for document in documents:
        for name, indices in sentence_hits(document, settings, nlp).items():
            if indices:
                totals[name] += len(indices)
                holders[name].add(document["doc_id"])
    rows = []
    for name, spec in settings.items():
        if not isinstance(spec, dict) or "minimum" not in spec:
            continue
        if name == "long_sentence" and nlp is None:
            continue
        occurrences, in_documents = totals.get(name, 0), len(holders.get(name, ()))
        met = occurrences >= spec["minimum"] and in_documents >= spec.get("minimum_documents", 0)
        rows.append({"construction": name, "description": spec["description"], "occurrences": occurrences,
                     "documents": in_documents, "minimum": spec["minimum"],
                     "minimum_documents": spec.get("minimum_documents"), "met": met})
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = ["| construction | occurrences | documents | minimum | met |", "|---|---:|---:|---:|---|"]
    for row in rows:
        minimum = str(row["minimum"]) + (f" in {row['minimum_documents']} docs" if row["minimum_documents"] else "")
        lines.append(f"| {row['description']} | {row['occurrences']} | {row['documents']} | {minimum} | {'yes' if row['met'] else 'NO'} |")
    return "\n".join(lines)
