"""Document metadata: every corpus document against the values read from its header by hand."""
import json
from pathlib import Path

import pytest

from pipeline.components.metadata import document_metadata, find_province, provinces
from pipeline.io.read import read_document

from conftest import ROOT
CASES = [json.loads(line) for line in (ROOT / "tests" / "cases" / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
FIELDS = ("document_type", "number", "issuer", "issuer_parent", "scope", "place", "date")


def _path(doc_id: str) -> Path:
    seed = ROOT / "corpus" / f"{doc_id}.txt"
    return seed if seed.exists() else ROOT / "corpus" / "documents" / f"{doc_id}.txt"


def test_every_corpus_document_has_an_expected_case():
    documents = {p.stem for p in (ROOT / "corpus" / "documents").glob("*.txt")} | {"bac-giang-2020-h1-report"}
    assert {case["doc_id"] for case in CASES} == documents


@pytest.mark.parametrize("case", CASES, ids=[c["doc_id"] for c in CASES])
def test_metadata_of_each_corpus_document(case):
    metadata = document_metadata(read_document(_path(case["doc_id"])).text)
    assert {field: metadata[field] for field in FIELDS} == {field: case[field] for field in FIELDS}
    province = metadata["province"]
    if case["province"] is None:
        assert province is None
    else:
        assert {k: province[k] for k in ("name", "code", "current_name", "current_code")} == case["province"]
    assert {k: metadata["period"][k] for k in ("start", "end", "text")} == case["period"]


def test_province_table_holds_the_63_and_the_34():
    rows = provinces()
    assert len(rows) == 63 and len({p.old_code for p in rows}) == 63
    assert len({p.new_code for p in rows}) == 34
    assert len({p.new_name for p in rows}) == 34


def test_a_name_both_lists_have_means_the_old_province_before_july_2025_and_the_new_one_after():
    from datetime import date

    assert find_province("Bắc Ninh", date(2024, 5, 29)) == {"name": "Bắc Ninh", "code": "27", "current_name": "Bắc Ninh", "current_code": "24"}
    assert find_province("bắc ninh", date(2025, 8, 1)) == {"name": None, "code": None, "current_name": "Bắc Ninh", "current_code": "24"}
    assert find_province("Thừa Thiên Huế") == {"name": "Thừa Thiên Huế", "code": "46", "current_name": "Huế", "current_code": "46"}
    assert find_province("Atlantis") is None


def test_a_header_in_two_columns_on_one_line_and_a_blank_number():
    text = ("UBND TỈNH NGHỆ AN\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSỞ Y TẾ\tĐộc lập - Tự do - Hạnh phúc\n"
            "Số:     /BC-SYT\tNghệ An, ngày 3 tháng 7 năm 2024\nBÁO CÁO\nCông tác y tế quý II/2024\nI. KẾT QUẢ\n")
    metadata = document_metadata(text)
    assert metadata["issuer"] == "Sở Y tế tỉnh Nghệ An" and metadata["issuer_parent"] == "UBND tỉnh Nghệ An"
    assert metadata["number"] is None and metadata["symbol"] == "BC-SYT"
    assert (metadata["place"], metadata["date"]) == ("Nghệ An", "2024-07-03")
    assert (metadata["period"]["start"], metadata["period"]["end"], metadata["period"]["text"]) == ("2024-04-01", "2024-06-30", "quý II/2024")


def test_nothing_is_guessed_from_a_text_without_a_header():
    metadata = document_metadata("Sản lượng lúa tăng 2% so với cùng kỳ.\nChăn nuôi ổn định.\n")
    assert metadata == {"document_type": None, "title": None, "number": None, "symbol": None, "issuer": None,
                        "issuer_parent": None, "scope": None, "province": None, "place": None, "date": None, "period": None}
