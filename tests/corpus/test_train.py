"""Retraining end to end on tiny data (slow: trains a spaCy model)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from pipeline.corpus.documents import default_corpus_files

pytestmark = pytest.mark.slow


def test_train_command_builds_models_that_beat_chance(tmp_path):
    vnreport = str(Path(sys.executable).parent / "vnreport")
    files = [p for p in default_corpus_files() if p.stem in ("quang-nam-2024-h1", "thai-nguyen-2022-h1", "gia-lai-2024-h1")]
    args = [vnreport, "train", "--out", str(tmp_path / "models"), "--epochs", "12"]
    for path in files:
        args += ["--corpus", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    meta = json.loads((tmp_path / "models" / "ner" / "meta.json").read_text(encoding="utf-8"))
    assert meta["labels"] == ["BASELINE", "METRIC", "UNIT", "VALUE"]
    assert [d["doc_id"] for d in meta["training_data"]] == ["quang-nam-2024-h1", "thai-nguyen-2022-h1"]
    assert all(len(d["sha256"]) == 64 for d in meta["training_data"])
    dev = meta["scores"]["dev"]
    # 47 sentences of training: far from the shipped model, far above chance (0)
    assert dev["VALUE"]["f1"] > 0.6 and dev["UNIT"]["f1"] > 0.5
    classifier_meta = json.loads((tmp_path / "models" / "classifier" / "meta.json").read_text(encoding="utf-8"))
    assert classifier_meta["scores"]["dev"]["accuracy"] > 0.4  # 5 classes: chance is 0.2
    # the trained models annotate a report
    from pipeline.annotate import annotate_file, load_pipeline

    annotated = annotate_file(FIXTURES / "thuong-mai.txt", models=load_pipeline(models_directory=tmp_path / "models"))
    assert any(e["label"] == "VALUE" for e in annotated.entities)
    assert all(label in ("achievement", "limitation", "cause", "task", "other") for label, _ in annotated.classes)
    evaluate = subprocess.run([vnreport, "evaluate", "--split", "dev", "--models", str(tmp_path / "models")],
                              capture_output=True, text=True, timeout=600)
    assert evaluate.returncode == 0 and "macro-F1" in evaluate.stdout and "rules F1" in evaluate.stdout
