"""Converters: Label Studio, doccano, markup and correction lines both ways; DocBin."""
import copy
import json

import pytest

from pipeline.corpus.convert import (
    AlignmentWarning, UnlabelledTaskWarning, apply_edits, apply_markup, from_doccano, from_label_studio,
    import_documents, sentence_markup, to_docbin, to_doccano, to_label_studio, to_markup,
)
from pipeline.corpus.documents import CLASSES, LABELS, default_corpus_files, load_documents
from conftest import ROOT


@pytest.fixture(scope="module")
def documents():
    return {d["doc_id"]: d for d in load_documents(default_corpus_files())}


def test_label_studio_round_trip_is_identical(documents):
    for document in documents.values():
        task = json.loads(json.dumps(to_label_studio(document), ensure_ascii=False))  # as the file holds it
        assert from_label_studio(task) == document


@pytest.mark.parametrize("name", ["label-studio-config.xml", "label-studio-sentence-config.xml"])
def test_label_studio_interfaces_are_xml_with_the_corpus_labels(name):
    from xml.etree import ElementTree

    # parsing fails on what Label Studio refuses, such as "--" inside a comment
    root = ElementTree.parse(ROOT / "corpus" / name).getroot()
    labels = {tag.get("name"): [label.get("value") for label in tag.iter("Label")] for tag in root.iter("Labels")}
    assert labels == {"label": list(LABELS), "class": list(CLASSES)}
    assert [(tag.get("name"), tag.get("value")) for tag in root.iter("Text")][-2 if "sentence" in name else -1] == ("text", "$text")


def test_label_studio_edit_comes_back_with_a_new_record(documents):
    document = documents["gia-lai-2024-h1"]
    task = to_label_studio(document)
    results = task["annotations"][0]["result"]
    text = document["text"]
    start = text.index("15.360")
    results.append({"from_name": "label", "to_name": "text", "type": "labels",
                    "value": {"start": start - 6, "end": start - 1, "text": "là", "labels": ["BASELINE"]}})
    # a person removes a VALUE span and relabels a sentence
    value = next(r for r in results if r["value"]["labels"] == ["VALUE"] and r["value"]["text"] == "15.360")
    results.remove(value)
    sentence = next(r for r in results if r["from_name"] == "class" and r["value"]["text"].startswith("Nắng hạn"))
    sentence["value"]["labels"] = ["cause"]
    imported = from_label_studio(task)
    assert [s["label"] for s in imported["sentences"]][11] == "cause"
    assert not any(r["span"] == [start, start + 6] for r in imported["records"])
    assert len(imported["records"]) == len(document["records"]) - 1


def test_proposed_records_come_back_with_the_spans_of_their_links(documents):
    gold = documents["gia-lai-2024-h1"]
    task = json.loads(json.dumps(to_label_studio(gold), ensure_ascii=False))  # as the file holds it
    # as the pipeline proposes them: a record names its METRIC and BASELINE by text
    for record in task["data"]["meta"]["records"]:
        record.pop("metric_span", None)
        record.pop("baseline_span", None)
    assert from_label_studio(task)["records"] == gold["records"]


def test_a_record_whose_metric_was_relabelled_is_linked_again(documents):
    gold = documents["gia-lai-2024-h1"]
    text = gold["text"]
    start = text.index("Kim ngạch xuất khẩu của tỉnh")
    task = json.loads(json.dumps(to_label_studio(gold), ensure_ascii=False))
    metric = next(r for r in task["annotations"][0]["result"] if r["value"]["start"] == start)
    metric["value"]["end"] = start + len("Kim ngạch xuất khẩu của tỉnh")
    records = [r for r in from_label_studio(task)["records"] if r["sentence"] == 5]
    assert [(text[slice(*r["span"])], r["metric"], r["metric_span"]) for r in records] == [
        (value, "Kim ngạch xuất khẩu của tỉnh", [start, metric["value"]["end"]]) for value in ("525", "70", "16,98")]
    assert [(r["unit"], r["baseline"]) for r in records] == [("triệu USD", None), ("%", "kế hoạch năm"), ("%", "cùng kỳ")]


def test_skipped_and_unlabelled_label_studio_tasks_are_left_out(documents, tmp_path, capsys):
    labelled, skipped, unopened = (to_label_studio(documents[doc_id]) for doc_id in
                                   ("gia-lai-2024-h1", "quang-nam-2024-h1", "vinh-phuc-2018-nong-nghiep"))
    # as Label Studio exports them: the Skip button leaves a cancelled annotation
    # with no result; a task nobody opened keeps only the predictions
    skipped["annotations"] = [{"result": [], "was_cancelled": True}]
    unopened["predictions"] = unopened.pop("annotations")
    unopened["annotations"] = []
    # a labelled task skipped later by a second annotator keeps the first one's labels
    labelled["annotations"] = labelled["annotations"] + [{"result": [], "was_cancelled": True}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([labelled, skipped, unopened], ensure_ascii=False), encoding="utf-8")
    with pytest.warns(UnlabelledTaskWarning, match=r"left out 2 task\(s\) that nobody submitted \(skipped or not labelled\): "
                      "quang-nam-2024-h1, vinh-phuc-2018-nong-nghiep"):
        assert import_documents(export, "label-studio", []) == [documents["gia-lai-2024-h1"]]
    with pytest.raises(ValueError, match="quang-nam-2024-h1: no submitted annotation"):
        from_label_studio(skipped)
    from pipeline.cli import main

    assert main(["corpus", "import", str(export), "--format", "label-studio", "--out", str(tmp_path / "new.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "left out 2 task(s) that nobody submitted" in out and "imported 1 document(s)" in out
    assert [d["doc_id"] for d in load_documents([tmp_path / "new.jsonl"])] == ["gia-lai-2024-h1"]
    export.write_text(json.dumps([skipped], ensure_ascii=False), encoding="utf-8")
    assert main(["corpus", "import", str(export), "--format", "label-studio", "--out", str(tmp_path / "none.jsonl")]) == 1
    assert "imported 0 document(s)" in capsys.readouterr().out


def test_doccano_round_trip_is_identical(documents):
    document = documents["quang-nam-2024-h1"]
    lines = [json.loads(json.dumps(line, ensure_ascii=False)) for line in to_doccano(document)]
    assert lines[2]["label"][:2] == [[0, 26, "METRIC"], [64, 67, "VALUE"]]
    assert from_doccano(lines, document) == document


def test_markup_round_trip_and_exact_line(documents):
    document = documents["gia-lai-2024-h1"]
    assert sentence_markup(document, 5) == (
        "[M Kim ngạch xuất khẩu] của tỉnh ước đạt [V 525] [U triệu USD], đạt [V 70][U %] [B kế hoạch năm], "
        "tăng [V 16,98][U %] so với [B cùng kỳ]."
    )
    assert apply_markup(document, to_markup(document)) == document


def test_markup_with_other_text_is_refused(documents):
    document = documents["gia-lai-2024-h1"]
    line = to_markup(document).splitlines()[5].replace("525", "526")
    with pytest.raises(ValueError, match="sentence 5"):
        apply_markup(document, line)


def test_correction_lines(documents):
    document = documents["gia-lai-2024-h1"]
    edited = apply_edits(document, "5 | limitation | -M Kim ngạch xuất khẩu | +M Kim ngạch xuất khẩu của tỉnh | -B cùng kỳ")
    assert edited["sentences"][5]["label"] == "limitation"
    assert sentence_markup(edited, 5).startswith("[M Kim ngạch xuất khẩu của tỉnh] ước đạt")
    assert sentence_markup(edited, 5).endswith("so với cùng kỳ.")
    with pytest.raises(ValueError, match="overlaps VALUE '525'"):
        apply_edits(document, "5 | +M đạt 525")
    with pytest.raises(ValueError, match="no U span 'tấn' to remove"):
        apply_edits(document, "5 | -U tấn")


def test_docbin_is_on_underthesea_tokens_and_reports_misaligned_spans(documents, tokenizer_nlp):
    document = copy.deepcopy(documents["gia-lai-2024-h1"])
    docbin = to_docbin([document], tokenizer_nlp)
    [doc] = list(docbin.get_docs(tokenizer_nlp.vocab))
    assert len(doc.ents) == len(document["entities"])
    assert [(e.text, e.label_) for e in doc.ents[:3]] == [("Tổng sản phẩm trên địa bàn", "METRIC"), ("3,02", "VALUE"), ("%", "UNIT")]
    metric = next(e for e in document["entities"] if e["label"] == "METRIC")
    metric["end"] -= 2
    with pytest.warns(AlignmentWarning, match="widened to tokens 'Tổng sản phẩm trên địa bàn'"):
        to_docbin([document], tokenizer_nlp)


def test_export_import_commands(tmp_path, documents, capsys):
    from pipeline.cli import main

    gold = [p for p in default_corpus_files() if p.stem == "vinh-phuc-2018-nong-nghiep"][0]
    tasks, back = tmp_path / "ls.json", tmp_path / "back.jsonl"
    assert main(["corpus", "export", str(gold), "--format", "label-studio", "--out", str(tasks)]) == 0
    assert main(["corpus", "import", str(tasks), "--format", "label-studio", "--out", str(back)]) == 0, capsys.readouterr().out
    assert load_documents([back]) == [documents["vinh-phuc-2018-nong-nghiep"]]
    doccano = tmp_path / "d.jsonl"
    assert main(["corpus", "export", str(gold), "--format", "doccano", "--out", str(doccano)]) == 0
    assert main(["corpus", "import", str(doccano), "--format", "doccano", "--template", str(gold), "--out", str(back)]) == 0
    assert load_documents([back]) == [documents["vinh-phuc-2018-nong-nghiep"]]
