"""Values in base units, on figures and units of the gold."""
import json

import pytest

from pipeline.components.normalise import normalise, normalise_unit

from conftest import ROOT


@pytest.mark.parametrize("value, unit, expected", [
    (12221, "tỷ đồng", {"value": 12221000000000, "unit": "VND", "kind": "money"}),
    (6.4, "nghìn tỷ đồng", {"value": 6400000000000, "unit": "VND", "kind": "money"}),
    (733.5, "triệu USD", {"value": 733500000, "unit": "USD", "kind": "money"}),
    (7.1, "triệu đồng/tháng", {"value": 7100000, "unit": "VND/tháng", "kind": "rate"}),
    (35000, "đ/kg", {"value": 35000, "unit": "VND/kg", "kind": "rate"}),
    (92.8, "nghìn ha", {"value": 92800, "unit": "ha", "kind": "area"}),
    (115050, "m2", {"value": 11.505, "unit": "ha", "kind": "area"}),
    (1.399, "nghìn tấn", {"value": 1399, "unit": "t", "kind": "mass"}),
    (49.5, "tạ/ha", {"value": 4.95, "unit": "t/ha", "kind": "rate"}),
    (14500, "lao động", {"value": 14500, "unit": "lao động", "kind": "count"}),
    (21.86, "triệu lượt khách", {"value": 21860000, "unit": "lượt khách", "kind": "count"}),
    (402, "doanh nghiệp", {"value": 402, "unit": "doanh nghiệp", "kind": "count"}),
    (7.14, "%", {"value": 7.14, "unit": "%", "kind": "percent"}),
    (0.61, "điểm phần trăm", {"value": 0.61, "unit": "pp", "kind": "percentage_point"}),
    (0.16, "điểm phầm trăm", {"value": 0.16, "unit": "pp", "kind": "percentage_point"}),
    (2.3, "lần", {"value": 2.3, "unit": "times", "kind": "times"}),
    (38.5, "giường bệnh/vạn dân", {"value": 38.5, "unit": "giường bệnh/vạn dân", "kind": "rate"}),
])
def test_values_in_base_units(value, unit, expected):
    assert normalise({"value": value, "unit": unit, "relation": "level"}) == expected


def test_ranks_ranges_and_fractions():
    assert normalise({"value": 9.0, "unit": None, "relation": "rank"}) == {"value": 9, "unit": None, "kind": "rank"}
    assert normalise({"value": 21000.0, "upper": 22000.0, "unit": "đồng/kg", "relation": "level"}) == {
        "value": 21000, "upper": 22000, "unit": "VND/kg", "kind": "rate"}
    assert normalise({"value": 14.0, "denominator": 23.0, "unit": "xã", "relation": "share"}) == {
        "value": 14, "denominator": 23, "unit": "xã", "kind": "count"}
    assert normalise({"value": None, "unit": "%", "relation": "level"}) is None
    assert normalise({"value": 98.6, "unit": None, "relation": "ratio"}) == {"value": 98.6, "unit": None, "kind": None}


def test_every_gold_unit_normalises_and_percent_is_never_a_percentage_point():
    kinds = {}
    for path in sorted((ROOT / "corpus" / "gold").glob("*.jsonl")):
        document = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        for record in document["records"]:
            normalised = normalise(record)
            assert normalised is not None, record
            kinds.setdefault(record["unit"], set()).add(normalised and normalised["kind"])
    assert kinds["%"] == {"percent"}
    assert kinds["điểm phần trăm"] == {"percentage_point"}
    assert kinds["tỷ đồng"] == {"money"} and kinds["triệu USD"] == {"money"}
    assert normalise_unit("nghìn tỷ đồng")[0] == 10 ** 12
