"""Headings, sections, sentences and footnotes of the seed and of a fixture."""
from pipeline.config import load_toml
from pipeline.io.read import RawDocument, read_document
from pipeline.components.structure import STRUCTURE_SETTINGS, analyse, split_sentences

from conftest import FIXTURES, completes_within, long_text, sentence_texts


def test_seed_counts(seed_structure):
    assert len(seed_structure.headings) == 59
    assert [h.level for h in seed_structure.headings].count(0) == 1  # "BÁO CÁO"
    body = [s for s in seed_structure.sentences if not s.is_footnote]
    notes = [s for s in seed_structure.sentences if s.is_footnote]
    assert (len(body), len(notes)) == (425, 60)


def test_heading_levels_and_kinds(seed_structure):
    titles = {h.title: (h.kind, h.level) for h in seed_structure.headings}
    assert titles["BÁO CÁO"] == ("header", 0)
    assert titles["Phần thứ nhất"] == ("part", 1)
    assert titles["A. KẾT QUẢ ĐẠT ĐƯỢC"] == ("letter", 2)
    assert titles["I. LĨNH VỰC KINH TẾ, ĐẦU TƯ VÀ TÀI NGUYÊN MÔI TRƯỜNG"] == ("roman", 3)
    assert titles["2.1. Sản xuất công nghiệp"] == ("number2", 5)
    assert titles["a. Cải thiện môi trường đầu tư"] == ("lower_letter", 6)
    # Under "Phần thứ hai" the roman numerals come right below the part.
    assert titles["II. NHIỆM VỤ VÀ GIẢI PHÁP CHỦ YẾU 6 THÁNG CUỐI NĂM 2020"] == ("roman", 2)


def _sentence(raw, structure, opening):
    return next(s for s in structure.sentences if raw.text[s.start:s.end].startswith(opening))


def test_section_paths(seed_raw, seed_structure):
    export = _sentence(seed_raw, seed_structure, "Giá trị xuất khẩu của các doanh nghiệp")
    assert export.section == [
        "Phần thứ nhất", "A. KẾT QUẢ ĐẠT ĐƯỢC", "I. LĨNH VỰC KINH TẾ, ĐẦU TƯ VÀ TÀI NGUYÊN MÔI TRƯỜNG",
        "4. Dịch vụ", "4.1. Hoạt động thương mại",
    ]
    fdi = _sentence(seed_raw, seed_structure, "Tính đến 31/5/2020, toàn tỉnh đã cấp mới")
    assert fdi.section[-2:] == [
        "6.2. Cải thiện môi trường đầu tư, thu hút đầu tư và phát triển doanh nghiệp", "b. Kết quả thu hút đầu tư",
    ]
    task = _sentence(seed_raw, seed_structure, "Nắm chắc tiến độ thu ngân sách")
    assert task.section[:2] == ["Phần thứ hai", "II. NHIỆM VỤ VÀ GIẢI PHÁP CHỦ YẾU 6 THÁNG CUỐI NĂM 2020"]
    title = seed_structure.sentences[0]
    assert seed_raw.text[title.start:title.end].startswith("Tình hình thực hiện kế hoạch")
    assert seed_raw.text[title.start:title.end].endswith("6 tháng cuối năm 2020")  # the title's two lines are one sentence
    assert title.section == []


def test_citation_break_is_not_a_sentence_end(seed_raw, seed_structure):
    growth = _sentence(seed_raw, seed_structure, "Tăng trưởng kinh tế dù thấp hơn cùng kỳ nhiều năm trước")
    text = seed_raw.text[growth.start:growth.end]
    assert "\n, song vẫn ở mức cao so với bình quân cả nước, ước đạt 6,4%" in text
    assert text.endswith("thuế sản phẩm tăng 6,45%.")
    assert growth.cites == [0]


def test_all_49_footnotes_found_and_linked(seed_raw, seed_structure):
    notes = seed_structure.footnotes
    assert len(notes) == 49
    assert [n.mark for n in notes].count("\ufffd") == 48
    lost = notes[46]
    assert lost.mark == "10" and seed_raw.text[lost.start:].startswith("Nợ XDCB tại thời điểm 31/5/2020")
    assert all(n.cited_at is not None and n.cited_in is not None for n in notes)
    # The first footnote (growth of earlier years) is cited after "nhiều năm trước".
    assert seed_raw.text[notes[0].cited_at - 9:notes[0].cited_at] == "năm trước"
    assert seed_raw.text[notes[0].start:].startswith("6 tháng năm 2015 tăng 8,3%")
    # "tăng 32 cuộc" went on in lower case after the mark of footnote 38.
    assert seed_raw.text[notes[38].cited_at - 13:notes[38].cited_at] == "chuyên ngành,"
    assert seed_raw.text[notes[38].start:].startswith("Riêng sở Nội vụ đã tiến hành 64 cuộc")
    assert seed_raw.text[notes[39].cited_at - 9:notes[39].cited_at] == ", cá nhân"
    assert sum(len(s.cites) for s in seed_structure.sentences) == 49


def test_footnote_sentences_take_the_section_of_their_citation(seed_raw, seed_structure):
    note = next(s for s in seed_structure.sentences if s.is_footnote and s.footnote == 21)
    assert seed_raw.text[note.start:note.end].startswith("Chỉ số PCI năm 2019 của tỉnh đạt 64,47 điểm")
    citing = seed_structure.sentences[seed_structure.footnotes[21].cited_in]
    assert note.section == citing.section


def test_fixture_section_links_its_three_footnotes():
    raw = read_document(FIXTURES / "thuong-mai.txt")
    structure = analyse(raw)
    assert structure.warnings == []
    assert [(h.title, h.level) for h in structure.headings] == [("4. Dịch vụ", 1), ("4.1. Hoạt động thương mại", 2)]
    assert len(structure.sentences) == 16
    assert [(f.cited_in, raw.text[f.start:f.start + 25]) for f in structure.footnotes] == [
        (2, "Trong đó xăng dầu giảm 23"),
        (11, "Các mặt hàng xuất khẩu ch"),
        (12, "Các mặt hàng nhập khẩu ch"),
    ]
    assert [s.footnote for s in structure.sentences if s.is_footnote] == [0, 1, 2]


def test_sentence_splitter_cases():
    def split(text):
        return [text[a:b] for a, b in split_sentences(text, 0, len(text), frozenset({"TP"}))]

    assert split("Tăng 9,2%. Giảm 1.096 tỷ đồng.") == ["Tăng 9,2%.", "Giảm 1.096 tỷ đồng."]
    assert split("được tăng cường... Trong thời điểm") == ["được tăng cường...", "Trong thời điểm"]
    assert split("dịch tả lợn châu Phi... diễn biến") == ["dịch tả lợn châu Phi... diễn biến"]
    assert split("vận tải.Số doanh nghiệp") == ["vận tải.", "Số doanh nghiệp"]
    assert split("Saigontel Central Park…Giá trị sản xuất tăng") == ["Saigontel Central Park…", "Giá trị sản xuất tăng"]
    assert split("đà tăng trưởng âm của quý I. Tổng sản phẩm") == ["đà tăng trưởng âm của quý I.", "Tổng sản phẩm"]
    assert split("ông Nguyễn V. An phát biểu") == ["ông Nguyễn V. An phát biểu"]
    assert split("tại TP. Hồ Chí Minh") == ["tại TP. Hồ Chí Minh"]
    assert split("2.1. Sản xuất công nghiệp") == ["2.1. Sản xuất công nghiệp"]


def test_plain_string_and_header_lines():
    text = (
        "UBND TỈNH BẮC NINH\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nSố: 120/BC-UBND\n"
        "Bắc Ninh, ngày 10 tháng 7 năm 2021\nBÁO CÁO\nKết quả 6 tháng đầu năm 2021\nI. KẾT QUẢ\n"
        "UBND tỉnh đã chỉ đạo quyết liệt. Doanh thu tăng 5%."
    )
    raw = RawDocument("<t>", text, "txt")
    structure = analyse(raw)
    assert [(h.kind, h.level) for h in structure.headings] == [("header", 0)] * 6 + [("roman", 1)]
    assert sentence_texts(raw, structure) == ["Kết quả 6 tháng đầu năm 2021", "UBND tỉnh đã chỉ đạo quyết liệt.", "Doanh thu tăng 5%."]
    assert structure.sentences[2].section == ["I. KẾT QUẢ"]


def test_a_5_mb_line_without_a_break_is_split_in_linear_time():
    # Used to cost the square of the line: 400k characters took 11 s and 5 MB
    # never finished. Now a few tenths of a second; 60 s is only a guard.
    abbreviations = frozenset(load_toml(STRUCTURE_SETTINGS)["abbreviations"])
    line = long_text(4_200_000, separator=" ")
    assert len(line.encode("utf-8")) > 5_000_000 and "\n" not in line
    with completes_within(60):
        spans = split_sentences(line, 0, len(line), abbreviations)
        structure = analyse(RawDocument("<line>", line, "txt"))
    assert len(spans) > 10000
    assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:]))
    # the same cuts as on a short piece of the line (its last sentence may be cut short there)
    head = split_sentences(line, 0, 20000, abbreviations)
    assert spans[:len(head) - 1] == head[:-1]
    assert [(s.start, s.end) for s in structure.sentences] == spans


def test_footnote_block_search_is_linear_in_the_lines():
    # Thousands of body lines opening with the footnote mark (fewer than half of
    # the lines) before the real footnote block: each used to re-count the rest.
    body = "\n".join(f"\ufffd Dòng {i} có dấu. Doanh thu tăng {i}%.\nCông nghiệp tăng.\nNông nghiệp giảm." for i in range(20000))
    body += "\nDịch vụ tăng." * 20
    notes = "\n".join(f"\ufffdGhi chú {i}." for i in range(5))
    with completes_within(60):
        structure = analyse(RawDocument("<t>", body + "\n" + notes, "txt"))
    assert len(structure.footnotes) == 5
    assert structure.footnotes[0].start == len(body) + 2
