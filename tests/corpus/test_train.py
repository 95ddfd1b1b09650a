"""Retraining end to end on tiny data: project.yml's workflow run by `vnreport
train` (slow: trains a spaCy model)."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import pipeline
from conftest import FIXTURES
from pipeline.annotate import annotate_file
from pipeline.cli import main
from pipeline.corpus.documents import default_corpus_files
from pipeline.corpus.train import STEPS, convert, share_of_training, training_documents
from pipeline.io.write import document_record

TINY = ("quang-nam-2024-h1", "thai-nguyen-2022-h1", "gia-lai-2024-h1")


def tiny_corpus() -> list[Path]:
    return [p for p in default_corpus_files() if p.stem in TINY]


def test_convert_writes_the_ner_config_with_the_pipeline_tokenizer_and_data_hashes(tmp_path):
    from thinc.api import Config

    from pipeline.language import PIPELINE_CONFIG

    data = convert(tmp_path, tiny_corpus(), epochs=3, seed=7)
    assert [d["doc_id"] for d in data["train_data"]] == ["quang-nam-2024-h1", "thai-nguyen-2022-h1"]
    assert [d["doc_id"] for d in data["dev_data"]] == ["gia-lai-2024-h1"] and data["test_data"] == []
    assert all(len(d["sha256"]) == 64 for d in data["train_data"])
    ner = Config().from_disk(tmp_path / "ner.cfg", interpolate=False)
    assert ner["nlp"]["tokenizer"] == Config().from_disk(PIPELINE_CONFIG, interpolate=False)["nlp"]["tokenizer"]
    assert ner["training"]["max_epochs"] == 3 and ner["system"]["seed"] == 7
    assert (tmp_path / "train.spacy").stat().st_size > 0 and (tmp_path / "documents.jsonl").exists()


def test_a_share_of_training_keeps_the_seed_report_and_the_other_splits():
    documents = training_documents()
    quarter = share_of_training(documents, 0.25)
    train = [d["doc_id"] for d in quarter if d["split"] == "train"]
    assert "bac-giang-2020-h1-report" in train and len(train) == 1 + round(0.25 * 27)
    assert [d for d in quarter if d["split"] != "train"] == [d for d in documents if d["split"] != "train"]


@pytest.mark.slow
def test_train_runs_the_workflow_and_builds_a_pipeline_that_beats_chance(tmp_path, capfd):
    args = ["train", "--out", str(tmp_path / "vnreport"), "--training", str(tmp_path / "training"), "--epochs", "12",
            "--no-install"]
    for path in tiny_corpus():
        args += ["--corpus", str(path)]
    assert main(args) == 0
    out = capfd.readouterr().out
    assert all(f"-m pipeline.corpus.train {step} " in out for step in STEPS)  # each step ran, in its own process
    meta = json.loads((tmp_path / "vnreport" / "meta.json").read_text(encoding="utf-8"))
    assert [d["doc_id"] for d in meta["training_data"]] == ["quang-nam-2024-h1", "thai-nguyen-2022-h1"]
    dev = meta["scores"]["dev"]
    # 47 sentences of training: far from the shipped model, far above chance (0)
    assert dev["entities"]["VALUE"]["f1"] > 0.6 and dev["entities"]["UNIT"]["f1"] > 0.5
    assert dev["classes"]["accuracy"] > 0.4  # 5 classes: chance is 0.2
    # every step kept its files
    training = tmp_path / "training"
    for kept in ("corpus/train.spacy", "corpus/data.json", "ner/model-best", "linker/model.joblib",
                 "classifier/model.joblib", "evaluation.json"):
        assert (training / kept).exists(), kept
    # a rerun with nothing changed skips every step
    assert main(args) == 0
    again = capfd.readouterr().out
    assert again.count("Skipping") == len(STEPS)
    # the trained pipeline annotates a report
    nlp = pipeline.load(tmp_path / "vnreport")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = document_record(annotate_file(nlp, FIXTURES / "thuong-mai.txt"))
    assert any(e["label"] == "VALUE" for e in document["entities"])
    assert all(s["label"] in ("achievement", "limitation", "cause", "task", "other") for s in document["sentences"])
    vnreport = str(Path(sys.executable).parent / "vnreport")
    evaluate = subprocess.run([vnreport, "evaluate", "--split", "dev", "--models", str(tmp_path / "vnreport")],
                              capture_output=True, text=True, timeout=600)
    assert evaluate.returncode == 0 and "macro-F1" in evaluate.stdout and "rules F1" in evaluate.stdout
