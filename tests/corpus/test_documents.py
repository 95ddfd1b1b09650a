"""The corpus format, its checker and its counts."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

from pipeline.corpus.documents import check_document, default_corpus_files, load_documents, relink_records, stats

GOLD = default_corpus_files()
# The corpus before v2: the seed and five short written reports.
OLD_DOCUMENTS = {"bac-giang-2020-h1-report", "ba-ria-vung-tau-2023-h1", "gia-lai-2024-h1", "quang-nam-2024-h1",
                 "thai-nguyen-2022-h1", "vinh-phuc-2018-nong-nghiep"}


@pytest.fixture(scope="module")
def documents():
    return load_documents(GOLD)


@pytest.fixture()
def small(documents):
    return copy.deepcopy(next(d for d in documents if d["doc_id"] == "gia-lai-2024-h1"))


def test_project_corpus_passes_its_own_check(documents, tokenizer_nlp):
    assert len(documents) >= 30
    for document in documents:
        assert check_document(document, tokenizer_nlp) == []


def test_every_gold_document_is_built_from_its_reviewed_ann_file(documents):
    """The .ann files are the reviewed source; the gold must not drift from them."""
    from pipeline.corpus.authoring import load

    review = ROOT / "corpus" / "review"
    for document in documents:
        rebuilt, problems = load(review / f"{document['doc_id']}.ann")
        assert problems == [], problems[:3]
        assert rebuilt == document, document["doc_id"]


def test_corpus_holds_what_generalisation_needs(documents):
    counts = stats(documents)
    assert counts["labels"]["VALUE"] >= 2500
    assert counts["records"] == counts["labels"]["VALUE"]
    classes = counts["classes"]
    assert classes["limitation"] >= 250 and classes["cause"] >= 120 and classes["task"] >= 250 and classes["other"] >= 80
    test, dev = counts["splits"]["test"], counts["splits"]["dev"]
    assert test["documents"] >= 7 and test["sentences"] >= 350
    assert dev["documents"] >= 4 and dev["sentences"] >= 200
    seed = next(d for d in documents if d["doc_id"] == "bac-giang-2020-h1-report")
    assert seed["split"] == "train"
    forms = {split: {d.get("form") for d in documents if d["split"] == split} for split in ("train", "test")}
    assert forms["test"] >= {"pc-report", "stats-office", "sector", "directive", "national"}
    written = [d for d in documents if d["source"].startswith("corpus/documents/") and d["doc_id"] not in OLD_DOCUMENTS]
    assert len(written) >= 24 and sum(len(d["text"]) for d in written) >= 120_000
    assert min(len(d["text"]) for d in written) >= 3000


def test_constructions_of_real_reports_are_covered(documents, tokenizer_nlp):
    from pipeline.corpus.constructions import count_constructions

    missing = [row for row in count_constructions(documents, tokenizer_nlp) if not row["met"]]
    assert missing == []


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


def test_checker_reports_spans_off_token_boundaries(small, tokenizer_nlp):
    metric = next(e for e in small["entities"] if e["label"] == "METRIC")
    metric["end"] -= 2  # cut inside a word
    problems = check_document(small, tokenizer_nlp)
    assert len(problems) == 1 and "does not fall on token boundaries" in problems[0]


def test_relinking_keeps_corrected_records(small):
    small["records"][0]["relation"] = "ratio"  # a person corrected it
    again = relink_records(small)
    assert again[0]["relation"] == "ratio"
    assert relink_records(small, keep=False)[0]["relation"] != "ratio"


def _vnreport():
    beside = Path(sys.executable).parent / "vnreport"
    return str(beside)


def test_corpus_commands_default_to_the_project_corpus(capsys):
    from pipeline.cli import main

    assert main(["corpus", "check", "--no-tokens"]) == 0
    check = capsys.readouterr().out
    assert check.splitlines()[1].startswith("labels:  BASELINE ")
    assert check.strip().endswith("no problems")
    assert main(["corpus", "stats", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert list(counts) == ["documents", "labels", "classes", "sentences", "records", "splits"]
    assert list(counts["splits"]) == ["train", "dev", "test"]
    assert all(list(split) == ["documents", "sentences", "labels", "classes", "records"] for split in counts["splits"].values())
    assert sum(split["documents"] for split in counts["splits"].values()) == counts["documents"]
    assert main(["corpus", "stats"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["split", "docs", "sentences", "METRIC", "VALUE", "UNIT", "BASELINE",
                                               "achievement", "limitation", "cause", "task", "other"]


def test_check_fails_on_a_broken_file(tmp_path, small):
    small["sentences"][0]["label"] = None
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(small, ensure_ascii=False) + "\n", encoding="utf-8")
    result = subprocess.run([_vnreport(), "corpus", "check", str(path), "--no-tokens"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "gia-lai-2024-h1: sentence 0: class None is not one of" in result.stdout
