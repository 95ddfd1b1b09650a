"""Model-in-the-loop pre-annotation, and the whole relabelling loop on tiny data
(slow: trains three small pipelines)."""
import copy
import json
import random

import pytest

from pipeline.cli import main
from pipeline.corpus.convert import to_label_studio
from pipeline.corpus.documents import default_corpus_files, load_documents, save_documents
from pipeline.corpus.preannotate import pre_annotate_files, to_label_studio_predictions
from conftest import ROOT

REPORT = ROOT / "corpus" / "documents" / "thai-nguyen-2022-h1.txt"


@pytest.fixture(scope="module")
def proposed(nlp):
    documents, errors = pre_annotate_files(nlp, [REPORT])
    assert errors == []
    return documents[0]


def gold(doc_id: str) -> dict:
    return next(d for d in load_documents(default_corpus_files()) if d["doc_id"] == doc_id)


def test_proposals_of_the_trained_pipeline_carry_class_probabilities(proposed, nlp):
    assert proposed["proposed_by"] == f"vnreport-{nlp.meta['version']}+{nlp.meta['date']}"
    first = proposed["sentences"][0]
    assert proposed["text"][first["start"]:first["end"]] == "Tình hình kinh tế - xã hội 6 tháng đầu năm 2022"
    assert first["label"] == "other" and first["scores"]["other"] == max(first["scores"].values())
    assert abs(sum(first["scores"].values()) - 1) < 0.01
    grdp = next(r for r in proposed["records"] if r["metric"] == "tổng sản phẩm trên địa bàn")
    assert (grdp["value"], grdp["unit"], grdp["direction"]) == (7.08, "%", "up")
    # a gold "indicator" means reviewed: proposals carry none
    assert not any("indicator" in r or "period" in r for r in proposed["records"])


def test_entities_and_record_links_carry_their_probability(proposed):
    text, entities = proposed["text"], proposed["entities"]
    # the step-by-step replay made every entity of the greedy parse (one it
    # missed would score 0): a product of probabilities is never 0 otherwise
    assert all(0.0 < e["score"] <= 1.0 for e in entities)
    # the GRDP growth and its unit, plain figures: the parser had no doubt
    value = next(i for i, e in enumerate(entities) if text[e["start"]:e["end"]] == "7,08")
    assert [e["label"] for e in entities[value:value + 2]] == ["VALUE", "UNIT"]
    assert min(e["score"] for e in entities[value:value + 2]) > 0.99
    # a ranking, not all ones: some spans of a whole report are doubtful
    assert min(e["score"] for e in entities) < 0.99
    grdp = next(r for r in proposed["records"] if r["metric"] == "tổng sản phẩm trên địa bàn")
    assert grdp["link_score"] >= 0.5  # a chosen metric is one the linker gave at least the threshold
    assert all(0.0 <= r["link_score"] <= 1.0 for r in proposed["records"])


def test_the_annotation_path_gives_no_link_scores(nlp):
    doc = nlp("Tổng sản phẩm trên địa bàn 6 tháng đầu năm 2022 tăng 7,08% so với cùng kỳ.")
    assert doc._.records and not any("link_score" in r for r in doc._.records)


def test_label_studio_tasks_hold_the_proposals_as_a_prediction(proposed):
    task = to_label_studio_predictions(proposed)
    assert "annotations" not in task
    [prediction] = task["predictions"]
    assert prediction["model_version"] == proposed["proposed_by"]
    classes = [r for r in prediction["result"] if r["from_name"] == "class"]
    entities = [r for r in prediction["result"] if r["from_name"] == "label"]
    assert len(classes) == len(proposed["sentences"]) and len(entities) == len(proposed["entities"])
    assert [r["score"] for r in classes] == [s["scores"][s["label"]] for s in proposed["sentences"]]
    assert [r["score"] for r in entities] == [e["score"] for e in proposed["entities"]]
    assert prediction["score"] == min(r["score"] for r in classes)
    assert "scores" not in task["data"]["meta"]["sentences"][0] and "proposed_by" not in task["data"]["meta"]


def test_pre_annotate_command_writes_three_formats(tmp_path, capsys):
    assert main(["corpus", "pre-annotate", str(REPORT), "--format", "label-studio", "--out", str(tmp_path / "t.json")]) == 0
    [task] = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert task["predictions"][0]["model_version"].startswith("vnreport-0.2.0+")
    assert main(["corpus", "pre-annotate", str(REPORT), "--rules", "--format", "doccano", "--out", str(tmp_path / "d.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["text"] == "Tình hình kinh tế - xã hội 6 tháng đầu năm 2022" and lines[0]["doc_id"] == "thai-nguyen-2022-h1"
    assert main(["corpus", "pre-annotate", str(REPORT), "--rules", "--out", str(tmp_path / "c.jsonl")]) == 0
    [document] = load_documents([tmp_path / "c.jsonl"])
    assert document["proposed_by"] == "vnreport_rules-0.2.0" and document["sentences"][0]["scores"] == {}
    assert "proposed by vnreport_rules-0.2.0" in capsys.readouterr().out


def corrected_export(proposal_task: dict, gold_document: dict) -> dict:
    """What Label Studio exports once a person has corrected the prediction
    into the gold: the task with an annotation."""
    assert proposal_task["data"]["text"] == gold_document["text"]
    task = copy.deepcopy(proposal_task)
    task["data"]["meta"] = to_label_studio(gold_document)["data"]["meta"]
    task["annotations"] = to_label_studio(gold_document)["annotations"]
    return task


def shuffled_labels(documents: list[dict], seed: int = 5) -> list[dict]:
    """Training documents whose sentence classes and entity labels are shuffled
    among themselves: a pipeline trained on them must be refused."""
    generator = random.Random(seed)
    documents = copy.deepcopy(documents)
    for document in documents:
        if document["split"] != "train":
            continue
        classes = [s["label"] for s in document["sentences"]]
        labels = [e["label"] for e in document["entities"]]
        generator.shuffle(classes)
        generator.shuffle(labels)
        for sentence, label in zip(document["sentences"], classes):
            sentence["label"] = label
        for entity, label in zip(document["entities"], labels):
            entity["label"] = label
    return documents


LOOP_CORPUS = ("quang-nam-2024-h1", "thai-nguyen-2022-cong-thuong", "gia-lai-2024-h1", "tong-cuc-thong-ke-2023-q4",
               "thai-binh-2024-ket-luan", "hai-phong-2023-y-te")


@pytest.mark.slow
def test_the_relabelling_loop_on_tiny_data(tmp_path, nlp, capfd):
    corpus = [p for p in default_corpus_files() if p.stem in LOOP_CORPUS]
    assert sorted(d["split"] for d in load_documents(corpus)) == ["dev", "test", "test", "test", "train", "train"]
    # 1. pre-annotate a report with the shipped pipeline, correct it into its gold, import
    assert main(["corpus", "pre-annotate", str(REPORT), "--format", "label-studio", "--out", str(tmp_path / "tasks.json")]) == 0
    [task] = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    export = tmp_path / "export.json"
    export.write_text(json.dumps([corrected_export(task, gold("thai-nguyen-2022-h1"))], ensure_ascii=False), encoding="utf-8")
    assert main(["corpus", "import", str(export), "--format", "label-studio", "--out", str(tmp_path / "extra.jsonl")]) == 0
    [imported] = load_documents([tmp_path / "extra.jsonl"])
    assert imported["entities"] == gold("thai-nguyen-2022-h1")["entities"]
    # 2. the installed pipeline: trained on the tiny corpus alone
    common = ["--epochs", "8"] + [a for path in corpus for a in ("--corpus", str(path))]
    current = tmp_path / "current"
    assert main(["train", "--out", str(current), "--training", str(tmp_path / "t0"), "--no-install", *common]) == 0
    meta = json.loads((current / "meta.json").read_text(encoding="utf-8"))
    capfd.readouterr()
    # 3. retrain with the imported report: compared with the installed one and judged
    status = main(["train", "--extra", str(tmp_path / "extra.jsonl"), "--out", str(tmp_path / "new"), "--current", str(current),
                   "--training", str(tmp_path / "t1"), "--resamples", "300", *common])
    out = capfd.readouterr().out
    assert "bootstrap over documents (300 resamples, seed 13), 95% interval of B - A" in out
    if status == 0:
        assert f"installed {tmp_path / 'new'} as {current}" in out
        assert json.loads((current / "meta.json").read_text(encoding="utf-8"))["date"] == \
            json.loads((tmp_path / "new" / "meta.json").read_text(encoding="utf-8"))["date"]
    else:
        assert "not installed: worse beyond noise on" in out
    installed = json.loads((current / "meta.json").read_text(encoding="utf-8"))
    # 4. a pipeline trained on shuffled labels is refused and the installed one kept
    shuffled = tmp_path / "shuffled.jsonl"
    save_documents(shuffled_labels(load_documents(corpus)), shuffled)
    status = main(["train", "--corpus", str(shuffled), "--out", str(tmp_path / "bad"), "--current", str(current),
                   "--training", str(tmp_path / "t2"), "--epochs", "8", "--resamples", "300"])
    out = capfd.readouterr().out
    assert status == 1 and "not installed: worse beyond noise on" in out and "METRIC" in out.split("not installed:")[1]
    assert json.loads((current / "meta.json").read_text(encoding="utf-8")) == installed
    assert (tmp_path / "bad" / "meta.json").exists()  # kept in its folder
    assert meta["training_data"][0]["doc_id"] in {"quang-nam-2024-h1", "thai-nguyen-2022-cong-thuong"}
