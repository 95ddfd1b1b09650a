"""The indicator catalogue, the i= review key of the .ann format and the indicator linker."""
import re
import tomllib

import pytest

from conftest import ROOT, write_ann
from pipeline.cli import main
from pipeline.components.indicators import (
    MEASURES, SCOPES, catalogue_ids, indicator_scores, link_indicator, load_catalogue, load_settings, unit_kind,
)
from pipeline.corpus import authoring
from pipeline.corpus.documents import check_document, load_documents

TEST_SPLIT = ["can-tho-2022-9t", "hai-phong-2023-y-te", "bac-ninh-2024-t5", "thua-thien-hue-2022-lao-dong",
              "tong-cuc-thong-ke-2023-q4", "thai-binh-2024-ket-luan", "an-giang-2021-9t", "vinh-long-2020-nam"]


# --- catalogue ----------------------------------------------------------------

def test_catalogue_has_80_indicators_with_the_required_fields():
    catalogue = load_catalogue()
    ids = [indicator.id for indicator in catalogue]
    assert len(set(ids)) == len(ids) >= 80
    known_kinds = set(load_settings()["units"]["kinds"].values()) | {"money_per", "unitless"}
    for indicator in catalogue:
        assert indicator.name and indicator.aliases, indicator.id
        assert indicator.measure in MEASURES and indicator.scope in SCOPES, indicator.id
        assert indicator.unit_kinds and set(indicator.unit_kinds) <= known_kinds, indicator.id
        assert indicator.source, indicator.id
        # An official code is the id; every other id says it is the project's own.
        if indicator.code:
            assert re.fullmatch(r"T\d{4}", indicator.code) and indicator.id == indicator.code
        else:
            assert indicator.id.startswith("vnr:")
    by_id = {indicator.id: indicator for indicator in catalogue}
    assert by_id["T0501"].name == "Tổng sản phẩm trên địa bàn"
    assert (by_id["T0501"].measure, by_id["vnr:grdp-growth"].measure, by_id["vnr:cpi"].measure) == ("level", "growth", "index")
    assert {"tổng sản phẩm trên địa bàn", "grdp"} <= set(by_id["T0501"].aliases)
    assert "tốc độ tăng trưởng kinh tế" in by_id["vnr:grdp-growth"].aliases


def test_catalogue_is_shipped_as_package_data():
    with open(ROOT / "pyproject.toml", "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["pipeline"]
    assert "config/*.csv" in package_data and "config/*.toml" in package_data


def test_units_are_sorted_into_kinds():
    assert [unit_kind(u) for u in ("tỷ đồng", "triệu USD", "tạ/ha", "triệu đồng/người/năm", "nghìn tấn", "%",
                                   "điểm phần trăm", "con gia cầm", "giường bệnh/vạn dân", None)] == [
        "money", "money_usd", "yield", "money_per", "mass", "percent", "pp", "animals", "per_10k", None]


# --- linker, on metric strings of train documents -------------------------------

@pytest.mark.parametrize("record, expected", [
    # nghe-an-2023-nam: the seed's GRDP growth, its level, its structure and its sectors.
    ({"metric": "Tổng sản phẩm trên địa bàn", "unit": "%", "relation": "change"}, ("vnr:grdp-growth", 1.0)),
    ({"metric": "Quy mô nền kinh tế", "unit": "tỷ đồng", "relation": "level"}, ("T0501", 1.0)),
    ({"metric": "GRDP bình quân đầu người", "unit": "triệu đồng/người/năm", "relation": "level"}, ("vnr:grdp-per-capita", 1.0)),
    ({"metric": "GRDP bình quân đầu người", "unit": "triệu đồng", "relation": "change"}, (None, 0.0)),
    ({"metric": "Tổng sản phẩm trên địa bàn", "unit": "điểm phần trăm", "relation": "change"}, (None, 0.0)),
    ({"metric": "nông, lâm nghiệp và thủy sản", "unit": "%", "relation": "share", "parent_metric": "cơ cấu kinh tế"},
     ("vnr:grdp-structure", 0.85)),
    ({"metric": "nông, lâm nghiệp và thủy sản", "unit": "%", "relation": "change"}, (None, 0.0)),
    ({"metric": "Chỉ số sản xuất công nghiệp", "unit": "%", "relation": "change"}, ("vnr:iip", 1.0)),
    ({"metric": "Tổng thu ngân sách nhà nước", "unit": "tỷ đồng", "relation": "level"}, ("vnr:budget-revenue", 1.0)),
    ({"metric": "Tổng thu ngân sách nhà nước", "unit": "%", "relation": "attainment"}, (None, 0.0)),
    ({"metric": "thu nội địa", "unit": "tỷ đồng", "relation": "level", "parent_metric": "Tổng thu ngân sách nhà nước"}, (None, 0.0)),
    ({"metric": "trâu", "unit": "con", "relation": "level"}, ("vnr:livestock", 0.85)),
    ({"metric": "sản lượng lương thực có hạt", "unit": "triệu tấn", "relation": "level"}, ("vnr:crop-output", 1.0)),
    ({"metric": "năng suất lúa", "unit": "tạ/ha", "relation": "level"}, ("vnr:crop-yield", 1.0)),
    ({"metric": "lúa chất lượng cao", "unit": "ha", "relation": "level"}, (None, 0.0)),
    ({"metric": "tỷ lệ lao động qua đào tạo có bằng cấp, chứng chỉ", "unit": "%", "relation": "level"}, ("vnr:trained-labour", 1.0)),
    ({"metric": "tỷ lệ lao động qua đào tạo", "unit": "%", "relation": "level"}, (None, 0.0)),
    # hai-duong-2023-t6: products, trade, prices.
    ({"metric": "Ô tô các loại", "unit": "chiếc", "relation": "level"}, ("vnr:industrial-products", 1.0)),
    ({"metric": "Kim ngạch xuất khẩu hàng hóa", "unit": "triệu USD", "relation": "level"}, ("vnr:exports", 1.0)),
    ({"metric": "Doanh thu bán lẻ hàng hóa", "unit": "tỷ đồng", "relation": "level"}, (None, 0.0)),
    ({"metric": "Chỉ số giá tiêu dùng", "unit": "%", "relation": "change"}, ("vnr:cpi", 1.0)),
    ({"metric": "tăng trưởng kinh tế Việt Nam", "unit": "%", "relation": "level"}, ("vnr:grdp-growth", 1.0)),
])
def test_codes_of_train_metrics(record, expected):
    code, score = link_indicator(record)
    assert (code, round(score, 4)) == expected


def test_a_figure_without_metric_takes_the_indicator_named_after_it():
    # nghe-an-2023-nam, section on enterprises.
    sentence = ("Toàn tỉnh có 1.780 doanh nghiệp thành lập mới với tổng vốn đăng ký 14.620 tỷ đồng, tăng 5,3% "
                "so với cùng kỳ; giải ngân vốn đầu tư công đến ngày 20/12/2023 đạt 82,4% kế hoạch vốn Thủ tướng Chính phủ giao.")
    assert link_indicator({"metric": None, "value": 1780, "unit": "doanh nghiệp", "relation": "level"}, sentence) == ("vnr:new-enterprises", 0.7)
    assert link_indicator({"metric": "giải ngân vốn đầu tư công", "value": 82.4, "unit": "%", "relation": "attainment"}, sentence) == (None, 0.0)


def test_fires_count_but_forest_fires_and_burnt_forest_do_not():
    # hai-duong-2023-t6, section on public order.
    fires = ("- Trong tháng xảy ra 5 vụ cháy, thiệt hại ước tính 2,4 tỷ đồng; tính chung 6 tháng xảy ra 23 vụ cháy, nổ, "
             "tăng 5 vụ so với cùng kỳ, chủ yếu tại các cơ sở sản xuất, kho hàng trong khu công nghiệp.")
    assert link_indicator({"metric": "cháy", "value": 5, "unit": "vụ", "relation": "level"}, fires) == ("vnr:fires", 1.0)
    assert link_indicator({"metric": None, "value": 2.4, "unit": "tỷ đồng", "relation": "level"}, fires) == ("vnr:fires", 0.7)
    assert link_indicator({"metric": "cháy, nổ", "value": 5, "unit": "vụ", "relation": "change"}, fires) == (None, 0.0)
    forest = ("- Trong kỳ xảy ra 02 vụ cháy rừng tại phường Hoàng Tân và xã Hoàng Hoa Thám, thành phố Chí Linh, "
              "diện tích rừng bị thiệt hại 1,8 ha, tăng so với cùng kỳ năm trước.")
    assert link_indicator({"metric": "cháy rừng", "value": 2, "unit": "vụ", "relation": "level"}, forest)[0] is None
    assert link_indicator({"metric": "diện tích rừng bị thiệt hại", "value": 1.8, "unit": "ha", "relation": "level"}, forest)[0] is None


# --- the i= key of the .ann format ----------------------------------------------

def test_indicator_codes_survive_a_round_trip_through_the_format(tmp_path):
    path = write_ann(tmp_path, "I. KINH TẾ\n"
                     "{a}[M1:Tổng sản phẩm trên địa bàn] ước tăng [V:7,14|m=1 r=change d=up i=vnr:grdp-growth][U:%], "
                     "quy mô đạt [V:193.800|m=1 r=level i=T0501] [U:tỷ đồng], thấp hơn [V:2,09|m=1 r=change d=down i=none] "
                     "[U:điểm phần trăm]; [M2:dịch vụ] tăng [V:8,7|m=2 r=change d=up][U:%].\n")
    document, problems = authoring.load(path)
    assert problems == []
    growth, level, difference, unreviewed = document["records"]
    assert (growth["indicator"], level["indicator"], difference["indicator"]) == ("vnr:grdp-growth", "T0501", None)
    # No i= key: not reviewed, so no indicator field at all.
    assert "indicator" not in unreviewed
    assert check_document(document) == []
    text = authoring.to_ann(document)
    assert "|m=1 r=change d=up i=vnr:grdp-growth]" in text and " i=none]" in text and "r=level i=T0501]" in text
    again = tmp_path / "again.ann"
    again.write_text(text, encoding="utf-8")
    rebuilt, problems = authoring.load(again)
    assert problems == []
    assert [r.get("indicator", "absent") for r in rebuilt["records"]] == ["vnr:grdp-growth", "T0501", None, "absent"]


def test_a_code_not_in_the_catalogue_is_a_problem(tmp_path):
    path = write_ann(tmp_path, "{a}[M1:Tổng sản phẩm trên địa bàn] tăng [V:7,14|m=1 r=change d=up i=T9999][U:%].\n")
    _, problems = authoring.load(path)
    assert len(problems) == 1 and "i='T9999' is not in pipeline/config/indicators.csv" in problems[0]
    document, _ = authoring.load(write_ann(tmp_path, "{a}[M1:GRDP] tăng [V:7,14|m=1 r=change d=up i=T0501][U:%].\n"))
    document["records"][0]["indicator"] = "vnr:no-such-indicator"
    assert check_document(document) == ["cut: record at [10, 14]: indicator 'vnr:no-such-indicator' is not in pipeline/config/indicators.csv"]


# --- scores over the gold ---------------------------------------------------------

def test_every_value_of_the_test_split_is_reviewed_and_the_linker_is_precise_there():
    documents = load_documents(sorted((ROOT / "corpus" / "gold").glob("*.jsonl")))
    test = [d for d in documents if d["split"] == "test"]
    assert sorted(d["doc_id"] for d in test) == sorted(TEST_SPLIT)
    assert all("indicator" in r for d in test for r in d["records"])
    assert all(r["indicator"] in catalogue_ids() for d in test for r in d["records"] if r["indicator"])
    scores = indicator_scores(documents, ["test"])["test"]
    assert scores["reviewed"] == 941 and scores["gold_coded"] == 290
    assert scores["precision"] >= 0.90
    assert scores["coverage"] >= 0.85


def test_indicators_command_prints_the_scores_of_a_split(capsys):
    assert main(["corpus", "indicators", "--split", "dev"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["split", "reviewed", "gold-coded", "predicted"]
    row = out[1].split()
    assert row[:3] == ["dev", "487", "143"]
    precision, coverage = float(row[8]), float(row[9])
    assert precision >= 0.90 and coverage >= 0.85


@pytest.mark.parametrize("form, sentence, spans", [
    ("1.120", "có 1.120 doanh nghiệp", [(3, 8)]),
    ("12", "tăng 12% (năm 2012 là 112)", [(5, 7)]),        # never inside 2012 or 112
    ("5", "giảm -05 điểm, 5,5 lần và 5", [(5, 8), (26, 27)]),  # the sign and leading zeros belong to it; 5,5 is another number
    ("3,2", "3,2; 13,2; 3,25", [(0, 3)]),
])
def test_a_number_is_found_standing_alone(form, sentence, spans):
    from pipeline.components.indicators import _number_matches

    assert _number_matches(form, sentence) == spans


def test_number_search_gives_the_spans_of_the_pattern_it_replaces():
    # _number_matches replaced a pattern compiled for every number; on strings
    # made of numbers, signs, zeros and separators it must give exactly that
    # pattern's matches.
    import random

    from pipeline.components.indicators import _NUMBER_END, _number_matches, _vn_number

    rng = random.Random(13)
    pieces = list("0123456789.,-/ a(") + ["0", "00", "-0"]
    for _ in range(20_000):
        form = rng.choice(_vn_number(rng.choice([0, 5, 10, 0.5, 1.5, 105, 1120, 15.05, 2000])))
        if rng.random() < 0.2:
            form += "/" + rng.choice(_vn_number(rng.choice([5, 10])))
        sentence = "".join(rng.choice([form, "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))])
                           for _ in range(rng.randint(1, 6)))
        pattern = re.compile(r"(?<![\d.,])-?0*" + re.escape(form) + _NUMBER_END)
        assert _number_matches(form, sentence) == [m.span() for m in pattern.finditer(sentence)], (form, sentence)


def test_only_aliases_that_cannot_score_are_skipped():
    # The linker compares a metric with the aliases found through two lookups;
    # every alias left out must be one the full comparison gives nothing.
    from pipeline.components.indicators import _aliases_sharing, _index

    index = _index()
    from pipeline.corpus.documents import default_corpus_files

    metrics = {r["metric"] for d in load_documents(default_corpus_files()) if d["split"] == "train"
               for r in d["records"] if r.get("metric")}
    assert len(metrics) > 500
    for metric in metrics:
        key = index.norm.key(metric)
        content = index.norm.content(key)
        found = {id(a) for a in _aliases_sharing(index, key, content)}
        for alias in index.aliases:
            if id(alias) in found:
                continue
            n = len(alias.key)
            inside = 0 < n < len(key) and any(key[i:i + n] == alias.key for i in range(len(key) - n + 1))
            assert not inside and not (content & alias.content), (metric, alias.key)
