"""vnreport dataset: from a folder-mode output (and from the gold) to one table of figures."""
import json
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main

from conftest import ROOT
DOCUMENTS = ROOT / "corpus" / "documents"


def test_dataset_of_the_gold_in_process(tmp_path, capsys):
    gold = [str(ROOT / "corpus" / "gold" / f"{doc_id}.jsonl") for doc_id in ("nam-dinh-2025-t3", "vinh-phuc-2018-nong-nghiep")]
    out, database, findings = tmp_path / "records.parquet", tmp_path / "records.duckdb", tmp_path / "findings.json"
    assert main(["dataset", *gold, "--out", str(out), "--duckdb", str(database), "--consistency", str(findings)]) == 0
    printed = capsys.readouterr().out
    assert "2 documents, 226 records" in printed
    assert "consistency: 1 findings (share_sum 0, part_exceeds_total 0, growth_contradiction 1, conflicting_values 0)" in printed
    assert "nam-dinh-2025-t3 #5" in printed
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 226
    row = next(r for r in rows if r["doc_id"] == "nam-dinh-2025-t3" and r["value_text"] == "27.700")
    assert (row["issuer"], row["province"], row["province_code"], row["current_province"], row["current_province_code"]) == (
        "Cục Thống kê tỉnh Nam Định", "Nam Định", "36", "Ninh Bình", "37")
    assert str(row["issued"]) == "2025-03-29" and row["number"] == "128/BC-TK" and row["document_type"] == "báo cáo"
    assert (str(row["period_start"]), str(row["period_end"]), row["period_text"]) == ("2025-01-01", "2025-03-31", "quý I/2025")
    assert (row["normalised_value"], row["normalised_unit"], row["normalised_kind"]) == (27700e9, "VND", "money")
    assert row["sentence"] == 5 and row["sentence_text"].startswith("Quy mô GRDP theo giá hiện hành quý I/2025")
    rate = next(r for r in rows if r["doc_id"] == "nam-dinh-2025-t3" and r["value_text"] == "14,10")
    assert (str(rate["baseline_period_start"]), str(rate["baseline_period_end"])) == ("2024-01-01", "2024-03-31")
    herd = next(r for r in rows if r["value_text"] == "116.763")
    assert (str(herd["period_start"]), herd["period_text"]) == ("2018-04-01", "Tại thời điểm 1/4/2018")
    assert json.loads(findings.read_text(encoding="utf-8"))[0]["check"] == "growth_contradiction"

    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM records").fetchone() == (226,)
        assert connection.execute("SELECT check_name FROM findings").fetchall() == [("growth_contradiction",)]


def test_a_missing_input_is_refused(tmp_path, capsys):
    assert main(["dataset", str(tmp_path / "nothing"), "--out", str(tmp_path / "r.parquet")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "r.parquet").exists()


def test_a_linker_is_plugged_in(tmp_path):
    from pipeline.dataset.build import build_dataset

    def link(record: dict, sentence: str | None = None):
        return ("GRDP_SCALE", 0.8) if (record.get("metric") or "").lower() == "quy mô grdp" else (None, 0.0)

    summary = build_dataset([ROOT / "corpus" / "gold" / "nam-dinh-2025-t3.jsonl"], tmp_path / "r.parquet", link=link)
    rows = pq.read_table(tmp_path / "r.parquet").to_pylist()
    linked = [r for r in rows if r["indicator"] == "GRDP_SCALE"]
    assert summary.with_indicator == len(linked) == 3
    assert [r["value_text"] for r in linked] == ["27.700", "14,10", "3.909"] and linked[0]["indicator_score"] == 0.8


def test_dataset_of_a_folder_mode_output(tmp_path, capsys):
    """Annotate two small corpus documents with the models (folder mode), then the dataset."""
    archive = tmp_path / "archive"
    archive.mkdir()
    for doc_id in ("gia-lai-2024-h1", "vinh-phuc-2018-nong-nghiep"):
        shutil.copy(DOCUMENTS / f"{doc_id}.txt", archive / f"{doc_id}.txt")
    out = tmp_path / "out"
    assert main(["annotate", str(archive), "--out", str(out), "--workers", "1"]) == 0
    annotated = json.loads((out / "documents" / "gia-lai-2024-h1.txt.json").read_text(encoding="utf-8"))
    assert annotated["metadata"]["issuer"] == "Cục Thống kê tỉnh Gia Lai"
    assert all("period" in r and "normalised" in r for r in annotated["records"])
    capsys.readouterr()
    assert main(["dataset", str(out), "--out", str(tmp_path / "records.parquet")]) == 0
    assert "2 documents" in capsys.readouterr().out
    rows = pq.read_table(tmp_path / "records.parquet").to_pylist()
    assert {r["doc_id"] for r in rows} == {"gia-lai-2024-h1", "vinh-phuc-2018-nong-nghiep"}
    grdp = next(r for r in rows if r["doc_id"] == "gia-lai-2024-h1" and r["value_text"] == "3,02")
    assert (str(grdp["period_start"]), str(grdp["period_end"])) == ("2024-01-01", "2024-06-30")
    assert (grdp["normalised_value"], grdp["normalised_unit"]) == (3.02, "%")
    assert grdp["sentence_text"].startswith("Tổng sản phẩm trên địa bàn tỉnh (GRDP) 6 tháng đầu năm 2024")
    assert grdp["sentence_class"] in {"achievement", "limitation", "cause", "task", "other"}
    assert grdp["current_province"] == "Gia Lai" and grdp["province_code"] == "64"


@pytest.mark.slow
def test_the_indicator_notebook_runs():
    """Annotates the corpus, builds the dataset, charts one indicator and lists the findings."""
    import re

    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "indicator-across-documents.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "41 reports to annotate" in text
    records = re.search(r"41 documents, (\d+) records", text)
    assert records and int(records.group(1)) > 5000  # about one per VALUE of the gold's 5,698
    assert "growth rates in" in text and "consistency findings" in text
    assert "nam-dinh-2025-t3 #5" in text
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 1
