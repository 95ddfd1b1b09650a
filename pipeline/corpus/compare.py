"""Two pipelines on the same labelled documents, and whether their difference
is beyond noise.

The test split is a handful of documents, and sentences, figures and entities
of one document are not independent (one writer, one layout), so the unit of
resampling is the document: a bootstrap draws the test documents with
replacement, scores both pipelines on each draw from per-document counts, and
reads the 95% interval of B - A for each headline score. A difference whose
interval excludes 0 is beyond noise; the guard of ``vnreport train`` refuses to
install a new pipeline when one headline score is worse so.
"""
from __future__ import annotations

from pipeline.components.sentence_classes import MAIN_CLASSES
from pipeline.corpus.documents import LABELS
from pipeline.corpus.evaluate import _record_key_matches

HEADLINE = (*LABELS, "classes_macro_f1", "records")
RESAMPLES = 1000
SEED = 13


def document_counts(document: dict, prediction: dict) -> dict[str, tuple[int, int, int]]:
    """(true positives, predicted, gold) of one document for every headline
    part: each entity label (strict match), each main class, the records."""
    counts = {}
    for label in LABELS:
        gold = {(e["start"], e["end"]) for e in document["entities"] if e["label"] == label}
        predicted = [(e["start"], e["end"]) for e in prediction["entities"] if e["label"] == label]
        counts[label] = (sum(span in gold for span in predicted), len(predicted), len(gold))
    gold_labels = [s["label"] for s in document["sentences"]]
    for label in MAIN_CLASSES:
        counts[f"class:{label}"] = (sum(g == p == label for g, p in zip(gold_labels, prediction["labels"])),
                                    sum(p == label for p in prediction["labels"]), sum(g == label for g in gold_labels))
    by_span = {tuple(r["span"]): r for r in document["records"]}
    matched = 0
    for record in prediction["records"]:
        gold_record = by_span.get(tuple(record["span"]))
        matched += bool(gold_record and _record_key_matches(gold_record, record))
    counts["records"] = (matched, len(prediction["records"]), len(document["records"]))
    return counts


def _f1(true_positive: int, predicted: int, gold: int) -> float:
    # the same definition as evaluate._prf, unrounded
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def headline_scores(counts: list[dict[str, tuple[int, int, int]]]) -> dict[str, float]:
    """The headline scores of a set of documents from their counts (summed,
    as evaluate.py scores a split: micro over documents)."""
    def total(part: str) -> tuple[int, int, int]:
        return tuple(sum(c[part][i] for c in counts) for i in range(3))

    scores = {label: _f1(*total(label)) for label in LABELS}
    scores["classes_macro_f1"] = sum(_f1(*total(f"class:{c}")) for c in MAIN_CLASSES) / len(MAIN_CLASSES)
    scores["records"] = _f1(*total("records"))
    return scores


def _percentile(values: list[float], share: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap(counts_a: list[dict], counts_b: list[dict], resamples: int = RESAMPLES, seed: int = SEED,
              level: float = 0.95) -> dict[str, dict]:
    """For each headline score: A, B, B - A on all the documents, and the
    ``level`` interval of B - A over ``resamples`` draws of the documents with
    replacement (the same draw for both). ``verdict``: "better" or "worse"
    when the interval excludes 0, else "within noise"."""
    import random

    if len(counts_a) != len(counts_b):
        raise ValueError("the two pipelines were scored on different numbers of documents")
    if not counts_a:
        raise ValueError("no documents to compare on")
    a, b = headline_scores(counts_a), headline_scores(counts_b)
    generator = random.Random(seed)
    size = len(counts_a)
    differences: dict[str, list[float]] = {name: [] for name in HEADLINE}
    for _ in range(resamples):
        draw = [generator.randrange(size) for _ in range(size)]
        sample_a = headline_scores([counts_a[i] for i in draw])
        sample_b = headline_scores([counts_b[i] for i in draw])
        for name in HEADLINE:
            differences[name].append(sample_b[name] - sample_a[name])
    tail = (1 - level) / 2
    result = {}
    for name in HEADLINE:
        low, high = _percentile(differences[name], tail), _percentile(differences[name], 1 - tail)
        verdict = "better" if low > 0 else "worse" if high < 0 else "within noise"
        result[name] = {"a": round(a[name], 4), "b": round(b[name], 4), "difference": round(b[name] - a[name], 4),
                        "low": round(low, 4), "high": round(high, 4), "verdict": verdict}
    return result


def compare_predictions(documents: list[dict], predictions_a: list[dict], predictions_b: list[dict],
                        resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Scores of both pipelines (evaluate.score_predictions) and the bootstrap of B - A."""
    from pipeline.corpus.evaluate import score_predictions

    return {
        "a": score_predictions(documents, predictions_a),
        "b": score_predictions(documents, predictions_b),
        "bootstrap": bootstrap([document_counts(d, p) for d, p in zip(documents, predictions_a)],
                               [document_counts(d, p) for d, p in zip(documents, predictions_b)], resamples, seed),
        "resamples": resamples, "seed": seed,
    }


def compare_pipelines(documents: list[dict], nlp_a, nlp_b, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    from pipeline.corpus.evaluate import predict_documents

    return compare_predictions(documents, predict_documents(documents, nlp_a), predict_documents(documents, nlp_b),
                               resamples, seed)


def worse_beyond_noise(comparison: dict) -> list[str]:
    """The headline scores on which B is worse than A beyond noise."""
    return [name for name, row in comparison["bootstrap"].items() if row["verdict"] == "worse"]


def format_comparison(comparison: dict, name_a: str = "A", name_b: str = "B") -> str:
    from pipeline.corpus.documents import CLASSES

    a, b = comparison["a"], comparison["b"]
    lines = [f"A = {name_a}", f"B = {name_b}", f"{a['documents']} documents, {a['sentences']} sentences", ""]
    lines.append(f"{'entity':12} {'A F1':>6} {'B F1':>6}  support")
    for label in LABELS:
        lines.append(f"{label:12} {a['entities'][label]['f1']:6.3f} {b['entities'][label]['f1']:6.3f}  {a['entities'][label]['support']}")
    lines.append(f"{'class':12} {'A F1':>6} {'B F1':>6}  support")
    for label in CLASSES:
        lines.append(f"{label:12} {a['classes']['per_class'][label]['f1']:6.3f} {b['classes']['per_class'][label]['f1']:6.3f}  "
                     f"{a['classes']['per_class'][label]['support']}")
    lines.append("")
    lines.append(f"bootstrap over documents ({comparison['resamples']} resamples, seed {comparison['seed']}), "
                 "95% interval of B - A:")
    lines.append(f"{'score':18} {'A':>6} {'B':>6} {'B - A':>7}  {'interval':>17}  verdict")
    for name, row in comparison["bootstrap"].items():
        lines.append(f"{name:18} {row['a']:6.3f} {row['b']:6.3f} {row['difference']:+7.3f}  "
                     f"[{row['low']:+.3f}, {row['high']:+.3f}]  {row['verdict']}")
    return "\n".join(lines)
