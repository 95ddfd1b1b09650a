"""The corpus format, its checker and its counts."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.corpus import check_document, default_corpus_files, load_documents, relink_records, stats

GOLD = default_corpus_files()


@pytest.fixture(scope="module")
def documents():
    return load_documents(GOLD)


@pytest.fixture()
def small(documents):
    return copy.deepcopy(next(d for d in documents if d["doc_id"] == "gia-lai-2024-h1"))


def test_project_corpus_passes_its_own_check(documents, nlp):
    assert [d["doc_id"] for d in documents] == [
        "ba-ria-vung-tau-2023-h1", "bac-giang-2020-h1-report", "gia-lai-2024-h1",
        "quang-nam-2024-h1", "thai-nguyen-2022-h1", "vinh-phuc-2018-nong-nghiep",
    ]
    for document in documents:
        assert check_document(document, nlp) == []


def test_stats_count_labels_classes_and_splits(documents):
    counts = stats(documents)
    assert counts["documents"] == 6
    assert counts["labels"] == {"BASELINE": 134, "METRIC": 299, "UNIT": 753, "VALUE": 763}
    assert counts["classes"] == {"achievement": 294, "cause": 18, "limitation": 109, "other": 28, "task": 136}
    assert {split: c["documents"] for split, c in counts["splits"].items()} == {"train": 3, "dev": 1, "test": 2}
    assert counts["records"] == counts["labels"]["VALUE"]


def test_split_is_by_document(documents):
    assert all(d["split"] in ("train", "dev", "test") for d in documents)
    assert len({d["doc_id"] for d in documents}) == len(documents)


def _where(problems, text):
    return [p for p in problems if text in p]


def test_checker_reports_each_kind_of_broken_input(small):
    text = small["text"]
    small["entities"].append({"start": 0, "end": 5, "label": "AMOUNT"})  # unknown label, outside sentences
    value = next(e for e in small["entities"] if e["label"] == "VALUE")
    small["entities"].append({"start": value["start"], "end": value["end"] + 1, "label": "UNIT"})  # overlap
    small["entities"].append({"start": len(text) - 2, "end": len(text) + 10, "label": "VALUE"})  # past the end
    small["sentences"][3]["label"] = "progress"
    dropped = small["records"].pop(0)
    small["records"][0]["relation"] = "growth"
    problems = check_document(small)
    assert _where(problems, "AMOUNT [0:5]: label is not one of METRIC, VALUE, UNIT, BASELINE")
    assert _where(problems, "AMOUNT [0:5]: not inside one sentence")
    assert _where(problems, f"UNIT [{value['start']}:{value['end'] + 1}]: overlaps VALUE")
    assert _where(problems, "offsets outside the text")
    assert _where(problems, "sentence 3: class 'progress' is not one of")
    assert _where(problems, f"[{dropped['span'][0]}:{dropped['span'][1]}] has no record")
    assert _where(problems, "relation 'growth' is not one of")


def test_checker_reports_spans_off_token_boundaries(small, nlp):
    metric = next(e for e in small["entities"] if e["label"] == "METRIC")
    metric["end"] -= 2  # cut inside a word
    problems = check_document(small, nlp)
    assert len(problems) == 1 and "does not fall on token boundaries" in problems[0]


def test_relinking_keeps_corrected_records(small):
    small["records"][0]["relation"] = "ratio"  # a person corrected it
    again = relink_records(small)
    assert again[0]["relation"] == "ratio"
    assert relink_records(small, keep=False)[0]["relation"] != "ratio"


def _vnreport():
    beside = Path(sys.executable).parent / "vnreport"
    return str(beside)


def test_corpus_commands_default_to_the_project_corpus():
    check = subprocess.run([_vnreport(), "corpus", "check", "--no-tokens"], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "labels:  BASELINE 134, METRIC 299, UNIT 753, VALUE 763" in check.stdout
    assert check.stdout.strip().endswith("no problems")
    stats_json = subprocess.run([_vnreport(), "corpus", "stats", "--json"], capture_output=True, text=True, timeout=300)
    counts = json.loads(stats_json.stdout)
    assert set(counts) >= {"documents", "labels", "classes", "splits"}
    assert counts["splits"]["test"]["labels"]["VALUE"] == 56
    table = subprocess.run([_vnreport(), "corpus", "stats"], capture_output=True, text=True, timeout=300).stdout
    assert table.splitlines()[0].split() == ["split", "docs", "sentences", "METRIC", "VALUE", "UNIT", "BASELINE",
                                               "achievement", "limitation", "cause", "task", "other"]


def test_check_fails_on_a_broken_file(tmp_path, small):
    small["sentences"][0]["label"] = None
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(small, ensure_ascii=False) + "\n", encoding="utf-8")
    result = subprocess.run([_vnreport(), "corpus", "check", str(path), "--no-tokens"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "gia-lai-2024-h1: sentence 0: class None is not one of" in result.stdout
