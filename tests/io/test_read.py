"""Readers: encodings, .docx and .pdf made from the seed, and bad input."""
import codecs
import re
import unicodedata

import pytest

from make_documents import write_docx, write_legacy_variant, write_pdf
from pipeline.config import load_config
from pipeline.io.read import ReadError, read_document
from pipeline.components.structure import analyse

from conftest import FIXTURES, ROOT

SNIPPET = (FIXTURES / "thuong-mai.txt").read_text(encoding="utf-8")
# Windows-1258 has no replacement character: the encoding cases use "*" for the footnote marks.
PLAIN = SNIPPET.replace("\ufffd", "*")


def to_cp1258(text: str) -> bytes:
    """Windows-1258 spells most toned letters as base letter + combining tone."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in "\u0300\u0301\u0303\u0309\u0323"))
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            out += (base + tones).encode("cp1258")
    return out


@pytest.mark.parametrize(
    "encoded, encoding",
    [
        (codecs.BOM_UTF8 + PLAIN.encode("utf-8"), "utf-8-sig"),
        (PLAIN.encode("utf-8"), "utf-8"),
        (PLAIN.encode("utf-16"), "utf-16"),
        (PLAIN.encode("utf-16-le"), "utf-16-le"),
        (to_cp1258(PLAIN), "cp1258"),
    ],
    ids=["utf-8-bom", "utf-8", "utf-16-bom", "utf-16-le", "windows-1258"],
)
def test_text_encodings_give_the_same_nfc_text(tmp_path, encoded, encoding):
    path = tmp_path / "report.txt"
    path.write_bytes(encoded)
    document = read_document(path)
    assert document.encoding == encoding
    assert document.text == unicodedata.normalize("NFC", PLAIN)


def test_seed_text_is_nfc_with_one_more_char_per_decomposed_mark(seed_path, seed_raw):
    source = seed_path.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", seed_raw.text)
    assert len(source) - len(seed_raw.text) == 123  # combining marks folded into their letters


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "holds no text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        ("russian.txt", "Отчёт о социально-экономическом положении области".encode("koi8-r"), "unsupported text encoding"),
        ("report.rtf", b"{\\rtf1 abc}", "unsupported file type .rtf"),
        ("truncated.docx", b"PK\x03\x04\x14\x00\x06\x00", "not a valid .docx"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "not a valid PDF"),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=re.escape(message)) as error:
        read_document(path)
    assert str(error.value).startswith(str(path))


def test_size_limit_and_missing_file(tmp_path):
    config = load_config()
    config["read"]["max_bytes"] = 100
    path = tmp_path / "big.txt"
    path.write_text("Doanh thu tăng. " * 20, encoding="utf-8")
    with pytest.raises(ReadError, match="above the limit of 100 bytes"):
        read_document(path, config)
    with pytest.raises(ReadError, match="no such file"):
        read_document(tmp_path / "missing.txt")


def test_scanned_and_encrypted_pdf(tmp_path):
    with pytest.raises(ReadError, match="no text layer"):
        read_document(write_pdf("", tmp_path / "scan.pdf", scanned=True))
    with pytest.raises(ReadError, match="encrypted PDF"):
        read_document(write_pdf(SNIPPET, tmp_path / "locked.pdf", password="mật khẩu"))


def _comparable(text: str) -> str:
    """A sentence without the layout the formats differ in (citation breaks, spaces)."""
    text = re.sub(r"\s+", " ", text)
    return re.sub(r" (?=[.,;:…)])", "", text).strip()


def _sentences(document):
    structure = analyse(document)
    return structure, [_comparable(document.text[s.start:s.end]) for s in structure.sentences]


@pytest.mark.parametrize("fmt, write", [("docx", write_docx), ("pdf", write_pdf)])
def test_seed_saved_as_docx_or_pdf_gives_the_same_sentences_and_footnotes(tmp_path, seed_path, seed_raw, seed_structure, fmt, write):
    document = read_document(write(seed_path.read_text(encoding="utf-8"), tmp_path / f"seed.{fmt}"))
    assert document.format == fmt and document.warnings == []
    structure, sentences = _sentences(document)
    assert sentences == [_comparable(seed_raw.text[s.start:s.end]) for s in seed_structure.sentences]
    assert [h.title for h in structure.headings] == [h.title for h in seed_structure.headings]
    assert [f.cited_in for f in structure.footnotes] == [f.cited_in for f in seed_structure.footnotes]
    assert len(structure.footnotes) == 49


def test_docx_tables_are_read_as_rows(tmp_path):
    import docx

    word = docx.Document()
    word.add_paragraph("Bảng 1. Kết quả")
    table = word.add_table(rows=2, cols=2)
    for r, row in enumerate([["Chỉ tiêu", "Tăng (%)"], ["Công nghiệp", "9,6"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    word.save(tmp_path / "table.docx")
    assert read_document(tmp_path / "table.docx").text == "Bảng 1. Kết quả\nChỉ tiêu\tTăng (%)\nCông nghiệp\t9,6"


LEGACY_SOURCE = ROOT / "corpus" / "documents" / "ba-ria-vung-tau-2023-h1.txt"


LEGACY_KINDS = {
    "tcvn3.txt": ("tcvn3", "converted from the legacy TCVN3 encoding"),
    "vni.txt": ("vni", "converted from the legacy VNI encoding"),
    "tcvn3-in-utf8.txt": ("utf-8", "converted lines written in the legacy TCVN3 encoding"),
    "old-tones.txt": ("utf-8", None),
    "tcvn3.docx": ("tcvn3", "converted from legacy encodings: 90 runs of TCVN3"),
    "vni.docx": ("vni", "converted from legacy encodings: 34 runs of VNI"),
    "tcvn3-unnamed-font.docx": ("tcvn3", "converted from legacy encodings: 90 runs of TCVN3"),
}


@pytest.mark.parametrize("kind", LEGACY_KINDS)
def test_legacy_encodings_and_old_tone_placement_read_as_the_unicode_file(tmp_path, kind):
    document = read_document(write_legacy_variant(LEGACY_SOURCE.read_text(encoding="utf-8"), tmp_path, kind))
    encoding, warning = LEGACY_KINDS[kind]
    assert document.text == read_document(LEGACY_SOURCE).text.rstrip("\n" if kind.endswith(".docx") else "")
    assert document.encoding == encoding
    assert document.warnings == ([warning] if warning else [])


# --- limits that bound what a file costs, checked before the work -------------

def _small_docx(path):
    import docx

    word = docx.Document()
    word.add_paragraph("Doanh thu tăng 9,2% so với cùng kỳ.")
    word.save(path)
    return path


def _never(*args, **kwargs):
    raise AssertionError("the limit must be checked before this work starts")


def test_a_docx_that_unzips_too_big_is_refused_before_unzipping(tmp_path, monkeypatch):
    # A small file whose archive inflates past read.max_docx_unzipped_bytes
    # (100 MiB by default): a "zip bomb" once took 311 s and 8.9 GB.
    import zipfile

    path = _small_docx(tmp_path / "bomb.docx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("word/media/padding.bin", "w") as member:
        block = bytes(1 << 20)
        for _ in range(110):
            member.write(block)
    assert path.stat().st_size < 1_000_000
    monkeypatch.setattr("docx.Document", _never)
    with pytest.raises(ReadError) as error:
        read_document(path)
    assert ".docx unzips to 116169594 bytes" in str(error.value)
    assert "above the limit of 104857600 bytes (read.max_docx_unzipped_bytes)" in str(error.value)


def test_a_docx_lying_about_its_sizes_cannot_inflate_past_them(tmp_path):
    # The check reads the sizes the archive declares; Python's zip reader never
    # returns more than that for a member, so a forged size ends in an error.
    import struct
    import zipfile

    source = _small_docx(tmp_path / "source.docx")
    path = tmp_path / "forged.docx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as forged:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "word/document.xml":
                data += b"<!--" + b" " * 20_000_000 + b"-->"  # still valid XML, 20 MB of it
            forged.writestr(item.filename, data)
    data = bytearray(path.read_bytes())
    name = b"word/document.xml"
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo("word/document.xml").header_offset
    struct.pack_into("<I", data, local + 22, 1000)  # declared uncompressed size in the local header ...
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 1000)  # ... and in the central directory
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert sum(item.file_size for item in archive.infolist()) < 1_000_000  # under every limit
    with pytest.raises(ReadError, match="not a valid .docx"):
        read_document(path)


def test_a_docx_with_too_many_files_is_refused(tmp_path, monkeypatch):
    import zipfile

    path = _small_docx(tmp_path / "many.docx")
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(1000):
            archive.writestr(f"customXml/item{i}.xml", "<a/>")
    monkeypatch.setattr("docx.Document", _never)
    with pytest.raises(ReadError, match=re.escape("files, above the limit of 1000 files (read.max_docx_members)")):
        read_document(path)


def test_a_pdf_with_too_many_pages_is_refused_before_any_page_is_laid_out(tmp_path, monkeypatch):
    from reportlab.pdfgen import canvas

    path = tmp_path / "long.pdf"
    pdf = canvas.Canvas(str(path))
    for page in range(6):
        pdf.drawString(72, 720, f"Trang {page + 1}: doanh thu tang.")
        pdf.showPage()
    pdf.save()
    config = load_config()
    config["read"]["max_pdf_pages"] = 5
    monkeypatch.setattr("pdfminer.high_level.extract_pages", _never)
    with pytest.raises(ReadError, match=re.escape("PDF has more than 5 pages, above the limit of 5 pages (read.max_pdf_pages)")):
        read_document(path, config)


@pytest.mark.parametrize("fmt", ["txt", "docx"])
def test_a_text_above_the_character_limit_is_refused(tmp_path, fmt):
    config = load_config()
    config["read"]["max_chars"] = 1000
    text = "Doanh thu tăng 9,2% so với cùng kỳ. " * 40  # 1,440 characters
    if fmt == "txt":
        path = tmp_path / "long.txt"
        path.write_text(text, encoding="utf-8")
    else:
        import docx

        word = docx.Document()
        word.add_paragraph(text)
        path = tmp_path / "long.docx"
        word.save(path)
    with pytest.raises(ReadError, match=re.escape("characters, above the limit of 1000 characters (read.max_chars)")):
        read_document(path, config)
    config["read"]["max_chars"] = 2000
    assert read_document(path, config).text.strip() == text.strip()


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-kr", "gb18030", "koi8-r"])
def test_text_in_another_language_s_encoding_is_not_called_binary(tmp_path, encoding):
    texts = {"shift_jis": "令和5年度の経済社会報告書。地域の総生産は前年比で増加した。",
             "euc-kr": "2023년 경제 사회 보고서. 지역 총생산은 증가했다.",
             "gb18030": "2023年经济社会报告。地区生产总值比上年增长。",
             "koi8-r": "Отчёт о социально-экономическом положении области"}
    path = tmp_path / "report.txt"
    path.write_bytes(texts[encoding].encode(encoding))
    with pytest.raises(ReadError) as error:
        read_document(path)
    message = str(error.value)
    assert "not Vietnamese text in a known encoding" in message and "binary" not in message
