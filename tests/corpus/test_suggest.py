"""What to label next: priorities, the spread over documents and sections, the
tasks with their context, from folder-mode output documents."""
import json

from pipeline.cli import main
from pipeline.config import load_toml
from pipeline.corpus.convert import from_label_studio
from pipeline.corpus.suggest import SUGGEST_PATH, sentence_reasons, sentence_task, suggest


def output_document(doc_id: str, sentences: list[tuple[str, list[str], dict]], records: list[dict]) -> dict:
    """A folder-mode output document: sentences (text, section, scores) joined by spaces."""
    text, rows, start = "", [], 0
    for index, (sentence, section, scores) in enumerate(sentences):
        rows.append({"index": index, "start": start, "end": start + len(sentence), "text": sentence, "section": section,
                     "is_footnote": False, "label": max(scores, key=scores.get), "scores": scores})
        text += sentence + " "
        start += len(sentence) + 1
    return {"doc_id": doc_id, "source": f"archive/{doc_id}.txt", "text": text, "sentences": rows, "entities": [],
            "records": records, "models": {"vnreport": "0.2.0+test"}}


SURE = {"achievement": 0.98, "limitation": 0.01, "cause": 0.0, "task": 0.01, "other": 0.0}
UNSURE = {"achievement": 0.45, "limitation": 0.40, "cause": 0.05, "task": 0.05, "other": 0.05}


def record(span, sentence, relation, metric="x", unit="%", baseline=None, parent=None):
    return {"span": span, "sentence": sentence, "relation": relation, "metric": metric, "unit": unit,
            "baseline": baseline, "parent_metric": parent, "value": 1.0}


def archive():
    first = output_document("a", [
        ("GRDP tăng 5,2%.", ["I. KINH TẾ"], SURE),
        ("Xuất khẩu giảm.", ["I. KINH TẾ"], UNSURE),
        ("Đạt 70 kế hoạch.", ["II. XÃ HỘI"], SURE),
        ("Thu ngân sách 12 tỷ.", ["II. XÃ HỘI"], SURE),
    ], [])
    first["records"] = [record([10, 13], 0, "change"),                      # complete
                        record([36, 38], 2, "attainment", unit=None),       # no baseline (no unit is not expected)
                        record([63, 65], 3, "level", metric=None)]          # no metric
    second = output_document("b", [("Tăng 3 điểm.", ["I."], UNSURE), ("Trong đó nông nghiệp tăng 1.", ["I."], SURE)], [])
    second["records"] = [record([5, 6], 0, "change", unit=None), record([39, 40], 1, "change", metric=None, parent="GRDP")]
    return [first, second]


def test_priorities_and_reasons_are_exact():
    settings = load_toml(SUGGEST_PATH)
    first, second = archive()
    rows = sentence_reasons(first, settings)
    assert [r["priority"] for r in rows] == [0.03, 0.95, 0.28, 0.53]
    assert [r["reasons"] for r in rows] == [[], ["class margin 0.05"], ["70: no baseline"], ["12: no metric"]]
    rows = sentence_reasons(second, settings)
    # no unit on a change; the part of a breakdown is not asked for a unit or baseline, only its metric
    assert rows[0]["reasons"] == ["class margin 0.05", "3: no unit"] and rows[0]["priority"] == 1.45
    assert rows[1]["reasons"] == ["1: no metric"] and rows[1]["priority"] == 0.53


def test_a_span_no_record_names_is_a_reason():
    settings = load_toml(SUGGEST_PATH)
    document = output_document("c", [("Năm 2023 tăng 5,2% so với cùng kỳ.", ["I."], SURE)], [])
    document["entities"] = [{"start": 0, "end": 8, "label": "METRIC"}, {"start": 14, "end": 17, "label": "VALUE"},
                            {"start": 17, "end": 18, "label": "UNIT"}, {"start": 26, "end": 33, "label": "BASELINE"}]
    # the linker gave the figure no metric and no baseline: "Năm 2023" and "cùng kỳ" are left over
    document["records"] = [record([14, 17], 0, "change", metric=None)]
    [row] = sentence_reasons(document, settings)
    assert row["reasons"] == ["Năm 2023: METRIC no record uses", "cùng kỳ: BASELINE no record uses", "5,2: no metric"]
    assert row["priority"] == 0.03 + 0.25 + 0.25 + 0.5


def test_a_low_entity_score_is_a_reason():
    # outputs of `annotate --entity-scores`: a span the NER doubts
    settings = load_toml(SUGGEST_PATH)
    document = output_document("d", [("GRDP tăng 5,2%.", ["I."], SURE)], [record([10, 13], 0, "change", metric="GRDP")])
    document["entities"] = [{"start": 0, "end": 4, "label": "METRIC", "score": 0.4},
                            {"start": 10, "end": 13, "label": "VALUE", "score": 1.0},
                            {"start": 13, "end": 14, "label": "UNIT", "score": 0.995}]
    [row] = sentence_reasons(document, settings)
    assert row["reasons"] == ["GRDP: METRIC score 0.40"]
    assert row["priority"] == round(0.03 + 1.0 * (1 - 0.4), 4)


def test_documents_and_sections_in_turn_with_a_cap():
    settings = load_toml(SUGGEST_PATH)
    chosen = suggest(archive(), 10, settings)
    # b first (its best sentence is the best of all), then a's best, in turn;
    # in a, after the "I." section's best, the "II." section's best
    assert [(d["doc_id"], r["sentence"]) for d, r in chosen] == [("b", 0), ("a", 1), ("b", 1), ("a", 3), ("a", 2)]
    settings["pick"]["per_document"] = 1
    assert [(d["doc_id"], r["sentence"]) for d, r in suggest(archive(), 10, settings)] == [("b", 0), ("a", 1)]
    assert len(suggest(archive(), 2, load_toml(SUGGEST_PATH))) == 2


def test_a_task_has_its_context_and_comes_back_as_a_one_sentence_document():
    first = archive()[0]
    first["entities"] = [{"start": 63, "end": 65, "label": "VALUE"}]
    row = sentence_reasons(first, load_toml(SUGGEST_PATH))[3]
    task = sentence_task(first, row)
    assert task["data"]["text"] == "Thu ngân sách 12 tỷ." and task["data"]["before"] == "Đạt 70 kế hoạch."
    assert task["data"]["after"] == "" and task["data"]["reasons"] == "12: no metric"
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "vnreport-0.2.0+test"
    assert prediction["result"][0]["value"] == {"start": 14, "end": 16, "text": "12", "labels": ["VALUE"]}
    assert prediction["result"][1]["score"] == 0.98
    # a person accepts the prediction and adds the metric
    task["annotations"] = [{"result": prediction["result"] + [{"from_name": "label", "to_name": "text", "type": "labels",
                                                                 "value": {"start": 0, "end": 13, "labels": ["METRIC"]}}]}]
    document = from_label_studio(json.loads(json.dumps(task)))
    assert document["doc_id"] == "a#3" and document["text"] == "Thu ngân sách 12 tỷ."
    assert [s["label"] for s in document["sentences"]] == ["achievement"]
    assert [(r["metric"], r["value"]) for r in document["records"]] == [("Thu ngân sách", 12)]


def test_suggest_command_reads_a_folder_output(tmp_path, capsys):
    out = tmp_path / "OUT"
    for document in archive():
        path = out / "documents" / "sub" / f"{document['doc_id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert main(["corpus", "suggest", str(out), "--n", "3", "--out", str(tmp_path / "tasks.json")]) == 0
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == ["b#0", "a#1", "b#1"]
    assert "wrote 3 sentence task(s) from 2 document(s)" in capsys.readouterr().out
    assert main(["corpus", "suggest", str(tmp_path), "--out", str(tmp_path / "t.json")]) == 2
