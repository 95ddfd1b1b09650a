"""The comparison of two pipelines: per-document counts, headline scores, the
bootstrap over documents, on small synthetic predictions with exact numbers."""
import numpy
import pytest

from pipeline.corpus.compare import (
    _percentile, bootstrap, compare_predictions, document_counts, format_comparison, headline_scores, worse_beyond_noise,
)


def document(doc_id: str, values: int, labels: list[str]) -> dict:
    """``values`` VALUE entities of 3 characters, one sentence per class label,
    and a record (unit %) per VALUE."""
    text = " ".join(f"{i:03d}" for i in range(values)) or "x"
    entities = [{"start": 4 * i, "end": 4 * i + 3, "label": "VALUE"} for i in range(values)]
    records = [{"span": [e["start"], e["end"]], "value": i, "unit": "%", "direction": None, "baseline_type": None,
                "metric": None} for i, e in enumerate(entities)]
    sentences = [{"start": 0, "end": len(text), "label": label} for label in labels]
    return {"doc_id": doc_id, "text": text, "entities": entities, "sentences": sentences, "records": records}


def prediction(gold: dict, keep_values: int, labels: list[str]) -> dict:
    return {"entities": gold["entities"][:keep_values], "labels": labels, "records": gold["records"][:keep_values]}


def test_counts_and_headline_scores_are_exact():
    gold = document("a", 4, ["achievement", "limitation", "task", "task"])
    predicted = prediction(gold, 3, ["achievement", "achievement", "task", "cause"])
    predicted["entities"] = predicted["entities"] + [{"start": 12, "end": 15, "label": "UNIT"}]
    counts = document_counts(gold, predicted)
    assert counts["VALUE"] == (3, 3, 4) and counts["UNIT"] == (0, 1, 0) and counts["METRIC"] == (0, 0, 0)
    assert counts["class:achievement"] == (1, 2, 1) and counts["class:limitation"] == (0, 0, 1)
    assert counts["class:task"] == (1, 1, 2) and counts["class:cause"] == (0, 1, 0)
    assert counts["records"] == (3, 3, 4)
    scores = headline_scores([counts])
    assert scores["VALUE"] == pytest.approx(6 / 7) and scores["records"] == pytest.approx(6 / 7)
    assert scores["UNIT"] == 0.0
    # achievement 2/3, limitation 0, cause 0, task 2/3
    assert scores["classes_macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 4)


def test_a_difference_on_every_document_is_beyond_noise():
    documents = [document(f"d{i}", 2, ["achievement"]) for i in range(5)]
    a = [document_counts(d, prediction(d, 1, ["achievement"])) for d in documents]
    b = [document_counts(d, prediction(d, 2, ["achievement"])) for d in documents]
    result = bootstrap(a, b, resamples=200, seed=1)
    # every draw: A finds 1 of 2 figures per document (F1 2/3), B all (F1 1)
    assert result["VALUE"] == {"a": 0.6667, "b": 1.0, "difference": 0.3333, "low": 0.3333, "high": 0.3333, "verdict": "better"}
    assert result["classes_macro_f1"]["difference"] == 0.0 and result["classes_macro_f1"]["verdict"] == "within noise"
    reverse = bootstrap(b, a, resamples=200, seed=1)
    assert reverse["records"]["verdict"] == "worse" and reverse["records"]["high"] == -0.3333


def test_a_difference_from_one_document_is_within_noise():
    # B is better on one document of four and worse on another: the draws
    # that leave one of them out disagree on the sign
    documents = [document(f"d{i}", 4, ["task"]) for i in range(4)]
    a = [document_counts(d, prediction(d, keep, ["task"])) for d, keep in zip(documents, (2, 4, 4, 4))]
    b = [document_counts(d, prediction(d, keep, ["task"])) for d, keep in zip(documents, (4, 3, 4, 4))]
    result = bootstrap(a, b, resamples=1000, seed=13)
    # all documents: A 14 of 16 found (F1 28/30), B 15 of 16 (F1 30/31)
    assert result["VALUE"]["a"] == round(28 / 30, 4) and result["VALUE"]["b"] == round(30 / 31, 4)
    assert result["VALUE"]["low"] < 0 < result["VALUE"]["high"] and result["VALUE"]["verdict"] == "within noise"
    # the same seed gives the same interval
    assert bootstrap(a, b, resamples=1000, seed=13) == result


def test_percentile_is_numpy_linear():
    values = [0.3, -0.1, 0.25, 0.0, 0.7, 0.1, -0.4]
    for share in (0.025, 0.5, 0.975):
        assert _percentile(values, share) == pytest.approx(float(numpy.percentile(values, share * 100)))


def test_compare_predictions_report_and_guard():
    documents = [document(f"d{i}", 3, ["achievement", "limitation"]) for i in range(3)]
    a = [prediction(d, 3, ["achievement", "limitation"]) for d in documents]
    b = [prediction(d, 1, ["achievement", "achievement"]) for d in documents]
    comparison = compare_predictions(documents, a, b, resamples=100)
    assert comparison["a"]["entities"]["VALUE"]["f1"] == 1.0 and comparison["b"]["entities"]["VALUE"]["f1"] == 0.5
    assert worse_beyond_noise(comparison) == ["VALUE", "classes_macro_f1", "records"]
    report = format_comparison(comparison, "current", "new")
    assert "VALUE               1.000  0.500  -0.500  [-0.500, -0.500]  worse" in report
    with pytest.raises(ValueError, match="no documents"):
        bootstrap([], [])
