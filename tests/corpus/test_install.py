"""The guard of a retrain: a new pipeline replaces the installed one only when
it is not worse beyond noise on the test split."""
import datetime
import json

import pytest

from pipeline.corpus.documents import default_corpus_files, load_documents
from pipeline.corpus.install import decide, install, versioned_folder
from pipeline.language import default_model_path

TWO_TEST_DOCUMENTS = ("thai-binh-2024-ket-luan", "tong-cuc-thong-ke-2023-q4")


@pytest.fixture(scope="module")
def test_documents():
    return [d for d in load_documents(default_corpus_files()) if d["doc_id"] in TWO_TEST_DOCUMENTS]


def test_versioned_folder_is_beside_the_installed_one(tmp_path):
    when = datetime.datetime(2025, 3, 4, 5, 6, 7)
    assert versioned_folder(tmp_path / "models" / "vnreport", when) == tmp_path / "models" / "vnreport-20250304-050607"


def test_the_guard_refuses_the_rule_baseline_in_place_of_the_trained_pipeline(test_documents):
    decision = decide("rules", default_model_path(), test_documents, resamples=200)
    assert not decision.install
    assert {"METRIC", "records", "classes_macro_f1"} <= set(decision.worse)
    assert decision.reason.startswith("worse beyond noise on METRIC")
    assert decision.comparison["bootstrap"]["METRIC"]["difference"] < -0.3
    forced = decide("rules", default_model_path(), test_documents, force=True, resamples=200)
    assert forced.install and "--force-install" in forced.reason


def test_the_same_pipeline_is_installed_and_replaces_the_folder_whole(tmp_path, test_documents):
    current = tmp_path / "vnreport"
    current.mkdir()
    (current / "stale.txt").write_text("from the old pipeline", encoding="utf-8")
    decision = decide(default_model_path(), default_model_path(), test_documents, resamples=50)
    assert decision.install and decision.worse == []
    assert all(row["difference"] == 0.0 and row["verdict"] == "within noise" for row in decision.comparison["bootstrap"].values())
    install(default_model_path(), current)
    assert not (current / "stale.txt").exists()
    assert json.loads((current / "meta.json").read_text()) == json.loads((default_model_path() / "meta.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vnreport"]  # no .tmp or .old left


def test_nothing_to_compare_on_is_not_installed_unless_forced(tmp_path):
    assert decide(default_model_path(), default_model_path(), []).install is False
    assert decide(default_model_path(), default_model_path(), [], force=True).install is True
    assert decide(default_model_path(), tmp_path / "none", []).install is True  # nothing installed yet
