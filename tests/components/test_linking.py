"""Records: Vietnamese numbers and the linking of VALUEs on real corpus sentences."""
import pytest

from pipeline.corpus.documents import default_corpus_files, load_documents
from pipeline.components.linking import Entity, baseline_type, link_records, parse_number, parse_value


@pytest.mark.parametrize("text, number", [
    ("1.096", 1096.0), ("9,2", 9.2), ("115.000", 115000.0), ("1.163,5", 1163.5), ("1.825.780", 1825780.0),
    ("-1,1", -1.1), ("0,61", 0.61), ("2.5", 2.5), ("06", 6.0),
])
def test_parse_number(text, number):
    assert parse_number(text) == number


def test_parse_value_fraction_and_range():
    assert parse_value("14/23") == {"value": 14.0, "denominator": 23.0, "upper": None}
    assert parse_value("7-7,5") == {"value": 7.0, "denominator": None, "upper": 7.5}


def test_baseline_types():
    assert [baseline_type(b) for b in ("cùng kỳ năm 2019", "kế hoạch năm", "dự toán giao đầu năm", "31/12/2019",
                                       "năm 2018", "bình quân cả nước", "tổng dư nợ", "cùng thời điểm năm trước", "yêu cầu")] == [
        "same_period", "plan", "budget", "period", "period", "average", "total", "same_period", "other"]


@pytest.fixture(scope="module")
def seed():
    return next(d for d in load_documents(default_corpus_files()) if d["doc_id"] == "bac-giang-2020-h1-report")


def record_of(document, value_text, occurrence=1):
    text = document["text"]
    found = [r for r in document["records"] if text[r["span"][0]:r["span"][1]] == value_text]
    record = dict(found[occurrence - 1])
    for key in ("span", "sentence", "baseline_span", "metric_span"):
        record.pop(key, None)
    return {k: v for k, v in record.items() if v is not None}


def relinked(document, value_text, occurrence=1):
    """The record the linker makes now from the gold entities of its sentence."""
    text = document["text"]
    target = [r for r in document["records"] if text[r["span"][0]:r["span"][1]] == value_text][occurrence - 1]
    sentence = document["sentences"][target["sentence"]]
    entities = [Entity(e["start"], e["end"], e["label"]) for e in document["entities"]]
    [record] = [r for r in link_records(text, (sentence["start"], sentence["end"]), entities) if r["span"] == target["span"]]
    return {k: v for k, v in record.items() if v is not None and k not in ("span", "baseline_span")}


CASES = [
    ("9,2", 1, {"metric": "Giá trị sản xuất công nghiệp", "value": 9.2, "unit": "%", "relation": "change", "direction": "up",
                "baseline": "cùng kỳ", "baseline_type": "same_period"}),
    ("115.000", 1, {"metric": "quy mô", "value": 115000.0, "unit": "tỷ đồng", "relation": "level", "qualifier": "ước",
                    "base_value": 1.15e14, "base_unit": "đồng"}),
    ("0,92", 1, {"metric": "tỷ lệ nợ xấu", "value": 0.92, "unit": "%", "relation": "share", "baseline": "tổng dư nợ",
                 "baseline_type": "total", "qualifier": "ước"}),
    ("1/3", 1, {"metric": "Lượng khách du lịch", "value": 1 / 3, "relation": "ratio", "baseline": "cùng kỳ năm 2019",
                "baseline_type": "same_period"}),
    # the thing measured stands after the figure: the gold links it (ANNOTATION.md section 1)
    ("2,3", 1, {"metric": "viện trợ phi chính phủ nước ngoài", "value": 2.3, "unit": "lần", "relation": "attainment",
                "baseline": "kế hoạch", "baseline_type": "plan"}),
    ("40/63", 1, {"metric": "Chỉ số PCI", "value": 40.0, "denominator": 63.0, "relation": "rank"}),
    ("18/23", 1, {"value": 18.0, "denominator": 23.0, "unit": "dự án", "relation": "share"}),
    # a list: each market keeps its own metric, the bracketed share too
    ("45,4", 1, {"metric": "Trung Quốc", "value": 45.4, "unit": "%", "relation": "change", "direction": "up"}),
    ("34,5", 1, {"metric": "Trung Quốc", "value": 34.5, "unit": "%", "relation": "share"}),
    ("50,8", 1, {"metric": "Hàn Quốc", "value": 50.8, "unit": "%", "relation": "change", "direction": "up"}),
    # a breakdown in brackets keeps its parent
    ("9,6", 1, {"metric": "công nghiệp", "parent_metric": "Công nghiệp - xây dựng", "value": 9.6, "unit": "%",
                "relation": "change", "direction": "up"}),
    # "trong đó": the sub-metric keeps its parent
    ("4.594", 1, {"metric": "thu nội địa", "parent_metric": "Tổng thu ngân sách nhà nước", "value": 4594.0, "unit": "tỷ đồng",
                  "relation": "level", "base_value": 4.594e12, "base_unit": "đồng"}),
    # the metric is in the previous clause; the bracketed percentage shares the baseline
    ("9,7", 1, {"metric": "nguồn vốn huy động của các tổ chức tín dụng", "value": 9.7, "unit": "%", "relation": "change",
                "direction": "up", "baseline": "31/12/2019", "baseline_type": "period", "qualifier": "ước"}),
    ("0,23", 1, {"metric": "dịch vụ", "value": 0.23, "unit": "điểm phần trăm", "relation": "change", "direction": "down"}),
    ("0,61", 1, {"metric": "nông, lâm nghiệp và thủy sản", "value": 0.61, "unit": "điểm phần trăm", "relation": "level"}),
    ("4.320", 1, {"metric": "nhập khẩu", "value": 4320.0, "unit": "triệu USD", "relation": "level", "qualifier": "gần",
                  "base_value": 4.32e9, "base_unit": "USD"}),
    ("6,4", 1, {"metric": "Tăng trưởng kinh tế", "value": 6.4, "unit": "%", "relation": "level", "baseline": "bình quân cả nước",
                "baseline_type": "average", "qualifier": "ước"}),
]


@pytest.mark.parametrize("value_text, occurrence, expected", CASES, ids=[c[0] for c in CASES])
def test_records_of_seed_sentences(seed, value_text, occurrence, expected):
    assert relinked(seed, value_text, occurrence) == expected
    assert record_of(seed, value_text, occurrence) == expected  # and the gold holds the same


def test_every_value_has_one_record(seed):
    values = sorted((e["start"], e["end"]) for e in seed["entities"] if e["label"] == "VALUE")
    assert sorted(tuple(r["span"]) for r in seed["records"]) == values
