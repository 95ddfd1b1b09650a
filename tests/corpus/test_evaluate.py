"""Scoring predictions against the gold, in all and per form and construction."""
import copy

import pytest

from pipeline.corpus.documents import default_corpus_files, load_documents
from pipeline.corpus.evaluate import breakdown, score_predictions


@pytest.fixture(scope="module")
def documents():
    wanted = {"thai-nguyen-2022-h1", "vinh-phuc-2018-nong-nghiep", "quang-nam-2024-h1"}
    return [d for d in load_documents(default_corpus_files()) if d["doc_id"] in wanted]


def as_prediction(document):
    return {"entities": copy.deepcopy(document["entities"]), "labels": [s["label"] for s in document["sentences"]],
            "records": copy.deepcopy(document["records"])}


def test_the_gold_scores_one_everywhere(documents):
    predictions = [as_prediction(d) for d in documents]
    result = score_predictions(documents, predictions)
    assert result["records"]["f1"] == 1.0 and result["classes"]["macro_f1_main"] == 1.0
    assert all(scores["f1"] == 1.0 for scores in result["entities"].values())
    parts = breakdown(documents, predictions)
    assert set(parts["forms"]) == {"stats-office", "sector", "pc-report"}
    assert parts["forms"]["sector"]["documents"] == 1
    assert all(scores["f1"] == 1.0 for scores in parts["constructions"].values())
    assert "figure_before_thing" in parts["constructions"] and "contribution" in parts["constructions"]


def test_a_wrong_direction_counts_against_its_form_and_construction(documents):
    predictions = [as_prediction(d) for d in documents]
    vinh_phuc = next(i for i, d in enumerate(documents) if d["doc_id"] == "vinh-phuc-2018-nong-nghiep")
    text = documents[vinh_phuc]["text"]
    # "18.987 con trâu, giảm 3,84%": the figure placed before what it counts, then its change
    record = next(r for r in predictions[vinh_phuc]["records"] if text[r["span"][0]:r["span"][1]] == "3,84")
    record["direction"] = "up"
    parts = breakdown(documents, predictions)
    assert parts["forms"]["sector"]["records"]["f1"] == pytest.approx(35 / 36, abs=1e-4)
    assert parts["forms"]["pc-report"]["records"]["f1"] == 1.0
    assert parts["constructions"]["figure_before_thing"]["f1"] < 1.0


def test_entity_scores_say_how_often_entities_are_right_at_each_level(capsys):
    import json

    from conftest import ROOT
    from pipeline.cli import main

    # a dev document (never trained on), where the NER makes mistakes to be told apart
    gold = str(ROOT / "corpus" / "gold" / "kien-giang-2022-q1.jsonl")
    assert main(["evaluate", gold, "--split", "all", "--entity-scores", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    [document] = load_documents([gold])
    assert result["entities"] == sum(row["entities"] for row in result["bins"]) > 0.8 * len(document["entities"])
    assert [(row["from"], row["to"]) for row in result["bins"]] == [(0.0, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.0)]
    # the score ranks right entities above wrong ones, and the top bin is the most often right
    assert result["auc"] > 0.8
    assert result["bins"][-1]["right"] > max(row["right"] for row in result["bins"][:-1] if row["right"] is not None)
    # the rule baseline has no entity scores to judge
    assert main(["evaluate", gold, "--split", "all", "--entity-scores", "--models", "rules"]) == 2
    assert "rule baseline gives no entity scores" in capsys.readouterr().err
