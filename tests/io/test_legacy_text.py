"""Legacy encodings and tone placement, on corpus documents converted to them."""
import pytest

from make_documents import old_tone_placement
from pipeline.io.legacy_text import (convert_legacy, decode_tcvn3, decode_vni, encode_tcvn3, encode_vni,
                                  is_vietnamese_syllable, modern_tone_placement)

from conftest import ROOT

DOCUMENT = (ROOT / "corpus" / "documents" / "ba-ria-vung-tau-2023-h1.txt").read_text(encoding="utf-8")


def test_codes_of_both_tables():
    # Codes as a .VnTime / VNI-Times user typed them, checked against the published tables.
    assert encode_tcvn3("Báo cáo tình hình kinh tế - xã hội") == "B¸o c¸o t×nh h×nh kinh tÕ - x· héi"
    assert encode_vni("Báo cáo tình hình kinh tế - xã hội") == "Baùo caùo tình hình kinh teá - xaõ hoäi"
    assert encode_vni("Đắk Lắk, ĐẮK LẮK, tượng, thủy, ỵ") == "Ñaék Laék, ÑAÉK LAÉK, töôïng, thuûy, î"
    assert decode_tcvn3("§¬n vÞ") == "Đơn vị"
    assert decode_vni("Ñôn vò") == "Đơn vị"


@pytest.mark.parametrize("encode, name", [(encode_tcvn3, "tcvn3"), (encode_vni, "vni")])
def test_a_corpus_document_converts_back_exactly(encode, name):
    converted, detected = convert_legacy(encode(DOCUMENT))
    assert detected == name
    assert converted == DOCUMENT


def test_tcvn3_headings_in_capitals_get_their_toned_capitals_back():
    # "KẾT QUẢ" typed in .VnTimeH is stored as lower-case codes; a line of plain capitals is a heading.
    assert decode_tcvn3(encode_tcvn3("KẾT QUẢ THỰC HIỆN 6 THÁNG")) == "KẾT QUẢ THỰC HIỆN 6 THÁNG"
    # Without font information a capitalised toned word in running text cannot be told apart.
    assert decode_tcvn3(encode_tcvn3("Ủy ban")) == "ủy ban"


def test_unicode_text_and_other_latin1_text_are_left_alone():
    assert convert_legacy(DOCUMENT) == (DOCUMENT, None)
    assert convert_legacy("Cà Mau, Bà Rịa, Cá tra") == ("Cà Mau, Bà Rịa, Cá tra", None)
    french = "Le rapport économique de la région a été présenté à côté des données"
    assert convert_legacy(french) == (french, None)


def test_a_legacy_table_pasted_into_a_unicode_report_converts_only_its_lines():
    text = "Bảng 1. Sản lượng\n" + encode_tcvn3("Lúa đông xuân\t57.610 tấn\nNgô\t12.345 tấn") + "\nNguồn: Cục Thống kê"
    assert convert_legacy(text) == ("Bảng 1. Sản lượng\nLúa đông xuân\t57.610 tấn\nNgô\t12.345 tấn\nNguồn: Cục Thống kê", "tcvn3")


def test_syllables():
    assert all(map(is_vietnamese_syllable, ["nghiệp", "khuya", "Trường", "quý", "gì", "đồng"]))
    assert not any(map(is_vietnamese_syllable, ["h×nh", "bánhg", "ắá", "économique"]))


def test_old_tone_placement_becomes_modern_and_keeps_the_length():
    old = old_tone_placement(DOCUMENT)
    assert "thuỷ sản" in old and "hoá" in old
    assert modern_tone_placement(old) == DOCUMENT
    assert modern_tone_placement("Khánh Hoà, THUỶ LỢI, sức khoẻ, quý, Quỷ, hoàn thành, toà, nguỵ") == \
        "Khánh Hòa, THỦY LỢI, sức khỏe, quý, Quỷ, hoàn thành, tòa, ngụy"
