"""Inter-annotator agreement between the gold and a second, blind annotation of
the same documents: span F1 per label, Cohen's kappa of the sentence classes,
and agreement per record field on the figures both annotated."""
from __future__ import annotations

from pipeline.corpus.documents import CLASSES, LABELS
from pipeline.corpus.evaluate import score_entities

RECORD_FIELDS = ("metric", "unit", "relation", "direction", "baseline", "baseline_type", "qualifier", "parent_metric")


def cohen_kappa(first: list[str], second: list[str]) -> float:
    total = len(first)
    if not total:
        return 0.0
    observed = sum(a == b for a, b in zip(first, second)) / total
    expected = sum((first.count(c) / total) * (second.count(c) / total) for c in CLASSES)
    return round((observed - expected) / (1 - expected), 4) if expected < 1 else 1.0


def agreement(pairs: list[tuple[dict, dict]]) -> dict:
    """Agreement over (gold, second) document pairs with the same text."""
    entity_pairs, first_classes, second_classes = [], [], []
    field_agree = {name: 0 for name in RECORD_FIELDS}
    shared_records = 0
    for gold, second in pairs:
        if gold["text"] != second["text"]:
            raise ValueError(f"{gold['doc_id']}: the two annotations are of different texts")
        entity_pairs.append((gold["entities"], second["entities"]))
        second_by_span = {(s["start"], s["end"]): s["label"] for s in second["sentences"]}
        for sentence in gold["sentences"]:
            other = second_by_span.get((sentence["start"], sentence["end"]))
            if other is not None:
                first_classes.append(sentence["label"])
                second_classes.append(other)
        second_records = {tuple(r["span"]): r for r in second["records"]}
        for record in gold["records"]:
            match = second_records.get(tuple(record["span"]))
            if match is None:
                continue
            shared_records += 1
            for name in RECORD_FIELDS:
                field_agree[name] += record.get(name) == match.get(name)
    entities = score_entities(entity_pairs)
    return {
        "documents": len(pairs),
        "entities": {label: {"f1": entities[label]["f1"], "overlap_f1": entities[label]["overlap_f1"],
                             "gold": entities[label]["support"]} for label in LABELS},
        "classes": {"sentences": len(first_classes), "kappa": cohen_kappa(first_classes, second_classes),
                    "agreement": round(sum(a == b for a, b in zip(first_classes, second_classes)) / max(1, len(first_classes)), 4),
                    "confusion": {a: {b: sum(1 for x, y in zip(first_classes, second_classes) if x == a and y == b) for b in CLASSES} for a in CLASSES}},
        "records": {"shared": shared_records,
                    "fields": {name: round(count / shared_records, 4) if shared_records else 0.0 for name, count in field_agree.items()}},
    }


def markdown(result: dict) -> str:
    lines = ["| label | span F1 (exact) | overlap F1 | gold spans |", "|---|---:|---:|---:|"]
    for label, row in result["entities"].items():
        lines.append(f"| {label} | {row['f1']:.3f} | {row['overlap_f1']:.3f} | {row['gold']} |")
    classes = result["classes"]
    lines += ["", f"Sentence classes: {classes['sentences']} sentences, agreement {classes['agreement']:.3f}, Cohen's kappa {classes['kappa']:.3f}.", "",
              "| record field | agreement |", "|---|---:|"]
    for name, share in result["records"]["fields"].items():
        lines.append(f"| {name} | {share:.3f} |")
    lines.append(f"\nRecord fields are compared on the {result['records']['shared']} figures both annotators marked as the same VALUE span.")
    return "\n".join(lines)
