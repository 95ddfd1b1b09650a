"""Time expressions and each figure's period, on sentences of the training documents."""
import json

import pytest

from pipeline.components.periods import baseline_period, find_time_expressions, record_period, title_period

from conftest import ROOT
YEAR_2023 = {"start": "2023-01-01", "end": "2023-12-31", "text": "năm 2023"}


def _period(sentence: str, figure: str, document: dict, sections=(), occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = sentence.index(figure, start + 1)
    return record_period(sentence, start, start + len(figure), document, list(sections))


@pytest.mark.parametrize("title, expected", [
    ("Tình hình kinh tế - xã hội tháng 9 và 9 tháng năm 2021", ("2021-01-01", "2021-09-30", "tháng 9 và 9 tháng năm 2021")),
    ("Tình hình kinh tế - xã hội quý III và 9 tháng năm 2023", ("2023-01-01", "2023-09-30", "quý III và 9 tháng năm 2023")),
    ("Tình hình kinh tế - xã hội tháng Mười và 10 tháng năm 2024", ("2024-01-01", "2024-10-31", "tháng Mười và 10 tháng năm 2024")),
    ("Tổng kết năm học 2022-2023 và phương hướng, nhiệm vụ trọng tâm năm học 2023-2024", ("2022-09-01", "2023-08-31", "năm học 2022-2023")),
    ("Tình hình thực hiện kế hoạch phát triển kinh tế - xã hội 6 tháng đầu năm; nhiệm vụ, giải pháp trọng tâm 6 tháng cuối năm 2019",
     ("2019-01-01", "2019-06-30", "6 tháng đầu năm")),
    ("Báo cáo kết quả quý I/2024", ("2024-01-01", "2024-03-31", "quý I/2024")),
    ("Chương trình giai đoạn 2021-2025", ("2021-01-01", "2025-12-31", "giai đoạn 2021-2025")),
    ("Chín tháng đầu năm 2024, kinh tế thế giới phục hồi chậm", ("2024-01-01", "2024-09-30", "Chín tháng đầu năm 2024")),
])
def test_title_periods(title, expected):
    period = title_period(title)
    assert (period["start"], period["end"], period["text"]) == expected


def test_fractions_and_document_dates_are_not_periods():
    # "14/23 xã" is a fraction, and a decree's date dates no figure
    assert find_time_expressions("dự kiến có 14/23 xã về đích") == []
    sentence = "Nghị quyết số 39-NQ/TW ngày 18/7/2023 của Bộ Chính trị, nhờ đó ước cả năm có 25/28 chỉ tiêu chủ yếu đạt"
    period = _period(sentence, "25/28", YEAR_2023)
    assert period == {"start": "2023-01-01", "end": "2023-12-31", "text": "cả năm", "source": "sentence"}


def test_quarters_in_brackets_take_their_quarter_and_the_figure_after_them_the_clause_time():
    # tay-ninh-2019-6t
    sentence = ("Với sự nỗ lực của cả hệ thống chính trị và cộng đồng doanh nghiệp, tổng sản phẩm trên địa bàn (GRDP, giá so sánh "
                "2010) 6 tháng đầu năm ước tăng 7,56% so với cùng kỳ (quý I tăng 7,12%, quý II tăng 7,98%), tuy thấp hơn 0,44 "
                "điểm phần trăm so với cùng kỳ")
    document = {"start": "2019-01-01", "end": "2019-06-30", "text": "6 tháng đầu năm"}
    assert _period(sentence, "7,56", document) == {"start": "2019-01-01", "end": "2019-06-30", "text": "6 tháng đầu năm", "source": "sentence"}
    assert _period(sentence, "7,12", document) == {"start": "2019-01-01", "end": "2019-03-31", "text": "quý I", "source": "sentence"}
    assert _period(sentence, "7,98", document) == {"start": "2019-04-01", "end": "2019-06-30", "text": "quý II", "source": "sentence"}
    # "quý II" sits in a bracket closed before 0,44: the clause's own time governs it
    assert _period(sentence, "0,44", document)["text"] == "6 tháng đầu năm"


def test_a_time_after_the_figure_linked_by_o():
    # nghe-an-2023-nam
    sentence = ("Tổng sản phẩm trên địa bàn (GRDP) năm 2023 ước tăng 7,14% so với năm 2022 (7,63% ở quý I, 4,94% ở quý II, "
                "6,51% ở quý III và ước 9,12% ở quý IV)")
    assert _period(sentence, "7,14", YEAR_2023)["text"] == "năm 2023"
    assert _period(sentence, "4,94", YEAR_2023) == {"start": "2023-04-01", "end": "2023-06-30", "text": "quý II", "source": "sentence"}
    assert _period(sentence, "9,12", YEAR_2023) == {"start": "2023-10-01", "end": "2023-12-31", "text": "quý IV", "source": "sentence"}


def test_up_to_a_date_and_at_a_date():
    # bac-giang-2020-h1-report, vinh-phuc-2018-nong-nghiep
    half = {"start": "2020-01-01", "end": "2020-06-30", "text": "6 tháng đầu năm"}
    sentence = "Ước tính đến 30/6/2020, dân số toàn tỉnh là 1.825.780 người, tăng 31.817 người so cùng kỳ"
    assert _period(sentence, "1.825.780", half) == {"start": None, "end": "2020-06-30", "text": "tính đến 30/6/2020", "source": "sentence"}
    sentence = "Tại thời điểm 1/4/2018, toàn tỉnh có 18.987 con trâu, giảm 3,84% so với cùng thời điểm năm trước; 116.763 con bò, tăng 3,2%"
    document = {"start": "2018-01-01", "end": "2018-06-30", "text": "6 tháng đầu năm 2018"}
    # the sentence opens with its time: it governs every clause, the one after ";" too
    assert _period(sentence, "116.763", document) == {"start": "2018-04-01", "end": "2018-04-01", "text": "Tại thời điểm 1/4/2018", "source": "sentence"}


def test_the_compared_time_is_not_the_figures_time():
    # bac-giang-2020-h1-report: "năm 2019" after "so với" is the baseline
    half = {"start": "2020-01-01", "end": "2020-06-30", "text": "6 tháng đầu năm"}
    sentence = "Thu ngân sách tăng 5,2% so với cùng kỳ năm 2019, đạt 52,3% dự toán"
    assert _period(sentence, "52,3", half) == {**half, "source": "document"}
    # "Chỉ số PCI năm 2019": the figure's own year
    sentence = "Chỉ số PCI năm 2019 dù tăng 1,46 điểm so với năm 2018 song lại giảm 2 bậc"
    assert _period(sentence, "1,46", half) == {"start": "2019-01-01", "end": "2019-12-31", "text": "năm 2019", "source": "sentence"}


def test_a_section_heading_gives_the_period_of_the_tasks_under_it():
    # ha-giang-2023-nong-nghiep: the tasks for next year
    sentence = "- Phát triển chăn nuôi trâu, bò hàng hóa, phấn đấu tổng đàn trâu, bò ổn định ở mức trên 270 nghìn con"
    period = _period(sentence, "270", YEAR_2023, sections=["II. PHƯƠNG HƯỚNG, NHIỆM VỤ NĂM 2024"])
    assert period == {"start": "2024-01-01", "end": "2024-12-31", "text": "NĂM 2024", "source": "section"}


def test_a_month_without_a_year_takes_the_school_year_it_falls_in():
    school_year = {"start": "2022-09-01", "end": "2023-08-31", "text": "năm học 2022-2023"}
    assert _period("Trong tháng 9, toàn thành phố có 120 trường khai giảng", "120", school_year)["start"] == "2022-09-01"
    assert _period("Trong tháng 5, có 95 trường tổng kết", "95", school_year)["end"] == "2023-05-31"


def test_baseline_periods():
    quarter = {"start": "2019-04-01", "end": "2019-06-30", "text": "quý II"}
    assert baseline_period({"baseline_type": "same_period", "baseline": "cùng kỳ"}, quarter) == {
        "start": "2018-04-01", "end": "2018-06-30", "text": "cùng kỳ"}
    half = {"start": "2020-01-01", "end": "2020-06-30", "text": "6 tháng đầu năm"}
    assert baseline_period({"baseline_type": "same_period", "baseline": "cùng kỳ năm 2018"}, half) == {
        "start": "2018-01-01", "end": "2018-06-30", "text": "cùng kỳ năm 2018"}
    march = {"start": "2025-03-01", "end": "2025-03-31", "text": "tháng 3"}
    assert baseline_period({"baseline_type": "period", "baseline": "tháng trước"}, march) == {
        "start": "2025-02-01", "end": "2025-02-28", "text": "tháng trước"}
    assert baseline_period({"baseline_type": "period", "baseline": "31/12/2019"}, half) == {
        "start": "2019-12-31", "end": "2019-12-31", "text": "31/12/2019"}
    assert baseline_period({"baseline_type": "period", "baseline": "năm 2022"}, YEAR_2023)["start"] == "2022-01-01"
    assert baseline_period({"baseline_type": "plan", "baseline": "kế hoạch"}, YEAR_2023) is None


def test_records_of_the_gold_whose_sentence_names_another_time():
    """On a whole training document: the quarter figures of the headline GRDP sentence get their quarters."""
    from pipeline.components.metadata import document_metadata

    document = json.loads((ROOT / "corpus" / "gold" / "dong-thap-2023-q3.jsonl").read_text(encoding="utf-8").splitlines()[0])
    metadata = document_metadata(document["text"])
    by_value = {}
    for record in document["records"]:
        sentence = document["sentences"][record["sentence"]]
        text = document["text"][sentence["start"]:sentence["end"]]
        period = record_period(text, record["span"][0] - sentence["start"], record["span"][1] - sentence["start"],
                               metadata["period"], sentence["section"])
        by_value.setdefault(document["text"][record["span"][0]:record["span"][1]], period)
    assert by_value["5,54"]["text"] == "9 tháng năm 2023"
    assert (by_value["4,67"]["start"], by_value["4,67"]["end"]) == ("2023-01-01", "2023-03-31")
    assert (by_value["5,36"]["start"], by_value["5,36"]["end"]) == ("2023-04-01", "2023-06-30")


def test_time_expressions_are_kept_per_text_but_each_caller_gets_its_own_list():
    from pipeline.components.periods import find_time_expressions

    first = find_time_expressions("Tính chung 6 tháng đầu năm 2024, thu ngân sách tăng 5%")
    assert [(e.kind, e.year, e.first_month, e.last_month) for e in first] == [("months", 2024, 1, 6)]
    first.clear()
    assert len(find_time_expressions("Tính chung 6 tháng đầu năm 2024, thu ngân sách tăng 5%")) == 1
