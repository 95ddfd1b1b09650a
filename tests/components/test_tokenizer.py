"""The underthesea tokenizer: exact offsets, numbers cut from units, one pass."""
import json
import re
import unicodedata
import warnings

import pytest

from conftest import ROOT, completes_within, long_text
from pipeline.components.tokenizer import (NUMBER, Token, UndertheseaTokenizer, align, detach_syllables, line_sections,
                                           recut_numbers)
from pipeline.language import tokenizer_pipeline

CASES = [json.loads(line) for line in (ROOT / "tests" / "cases" / "segment.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:30] for c in CASES])
def test_tokens_match_case_file(tokenizer_nlp, case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no alignment problem on these
        doc = tokenizer_nlp.make_doc(case["text"])
    assert [t.text for t in doc if not t.is_space] == case["tokens"]
    tags = {t.text: t.tag_ for t in doc}
    assert all(tags[number] == "M" for number in case["numbers"])
    assert doc.text == case["text"]


def test_glued_unit_is_its_own_token_tagged_as_unit(tokenizer_nlp):
    doc = tokenizer_nlp.make_doc("Diện tích vải 28.126ha, đóng góp 3,2 điểm")
    assert [(t.text, t.tag_, t.idx) for t in doc if t.text in ("28.126", "ha", "3,2")] == [
        ("28.126", "M", 14), ("ha", "Nu", 20), ("3,2", "M", 33),
    ]
    assert [t.text for t in doc][-2:] == ["3,2", "điểm"]
    assert doc[2].pos_ == "NUM"


def test_offsets_slice_back_to_every_token_of_the_seed(seed_raw, seed_doc):
    text = seed_raw.text
    doc = seed_doc
    assert doc.text == text
    assert all(text[t.idx:t.idx + len(t.text)] == t.text for t in doc)
    assert len([t for t in doc if not t.is_space]) > 14000
    # The seed aligns completely: nothing was left to "unknown" tokens.
    assert not any("underthesea word" in w for w in doc._.warnings)


def test_nfd_words_of_the_seed_are_matched_after_normalisation(seed_path, seed_raw, seed_doc):
    source = seed_path.read_text(encoding="utf-8")
    phrase = "các mặt hàng như lương thực, thực phẩm"
    # The export holds this phrase (partly) decomposed: only NFC makes it match.
    assert phrase not in source and phrase in unicodedata.normalize("NFC", source)
    text = seed_raw.text
    start = text.index(phrase)
    tokens = [t.text for t in seed_doc if start <= t.idx < start + len(phrase)]
    assert tokens == ["các", "mặt hàng", "như", "lương thực", ",", "thực phẩm"]


def test_each_line_is_segmented_once(monkeypatch):
    """pos_tag segments as it tags: one underthesea pass per line, no second
    word_tokenize for the words."""
    import underthesea

    real = underthesea.word_tokenize
    segmented = []

    def counting(text, *args, **kwargs):
        segmented.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(underthesea, "word_tokenize", counting)
    tokenizer = UndertheseaTokenizer(tokenizer_pipeline().vocab, tokenizer_pipeline().tokenizer.settings)
    doc = tokenizer("Dòng một tăng 9,2%.\n\nDòng hai giảm 1,1%.")
    assert segmented == ["Dòng một tăng 9,2%.", "Dòng hai giảm 1,1%."]
    assert [t.text for t in doc if t.is_space] == ["\n\n"]
    assert [t.tag_ for t in doc if t.text in ("9,2", "1,1")] == ["M", "M"]


def test_unalignable_word_is_kept_and_reported():
    tokens, problems = align("abc xyz", ["abc", "qqq"], "X", ["N", "N"])
    assert [(t.start, t.end, t.tag) for t in tokens] == [(0, 3, "N"), (4, 7, "X")]
    assert problems == [
        "underthesea word 'qqq' not found in the text after offset 4",
        "no underthesea word for 'xyz' at offset 4",
    ]


def test_tokenizer_warns_instead_of_dropping_text(tokenizer_nlp, monkeypatch):
    tokenizer = UndertheseaTokenizer(tokenizer_nlp.vocab, tokenizer_nlp.tokenizer.settings)
    tokenizer._pos_tag = lambda line: [("hoàn toàn khác", "N")]
    with pytest.warns(UserWarning, match="no underthesea word for 'Vải'"):
        doc = tokenizer("Vải thiều")
    assert [t.text for t in doc] == ["Vải", "thiều"]
    assert [t.tag_ for t in doc] == ["X", "X"]


def test_number_pattern_leaves_names_with_digits_whole():
    found = [m.group() for m in NUMBER.finditer("Covid-19, K44, m2, lớp 12, 2016-2020, (-1,1%), 1.096")]
    assert found == ["12", "2016-2020", "1,1", "1.096"]


def test_the_linear_pos_tagger_gives_underthesea_pos_tag_output(seed_raw):
    from underthesea import pos_tag

    from pipeline.components.tokenizer import PosTagger

    tagger = PosTagger()
    assert tagger._crf is not None  # the fast path, not the fallback
    documents = [seed_raw.text] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus" / "documents").glob("*.txt"))]
    lines = [line for text in documents for line in text.split("\n") if line.strip()]
    # every fourth line of the written reports, and the ten longest paragraphs of all,
    # where the cost was quadratic (underthesea's pos_tag itself makes this test slow)
    lines = lines[len(seed_raw.text.split("\n")) // 2::4] + sorted(lines, key=len)[-10:]
    assert [tagger(line) for line in lines] == [pos_tag(line) for line in lines]
    assert tagger("Kim ngạch xuất khẩu đạt 4.385 triệu USD") == [
        ("Kim ngạch", "N"), ("xuất khẩu", "V"), ("đạt", "V"), ("4.385", "M"), ("triệu", "M"), ("USD", "Nu")]


def test_number_cuts_on_a_long_line_are_linear():
    # Each token used to test every number of its line: a line of a million
    # characters (a report with no line break) cost the square of its length.
    line = long_text(1_000_000, separator=" ")
    tokens = [Token(m.start(), m.end(), "N") for m in re.finditer(r"\S+", line)]
    settings = tokenizer_pipeline().tokenizer.settings
    with completes_within(60):
        cut = recut_numbers(line, tokens, "M", "Nu")
        detach_syllables(line, cut, settings["detach"], "M")
    numbers = [t for t in cut if t.tag == "M"]
    assert [line[t.start:t.end] for t in numbers] == [m.group() for m in NUMBER.finditer(line)]


def test_a_line_longer_than_a_section_is_tagged_in_pieces_cut_at_sentence_ends(tokenizer_nlp):
    # underthesea's memory grows with the length of a line: one of millions of
    # characters is tagged in pieces, cut after a sentence end where there is one.
    line = "Doanh thu tăng 5%. Chi phí giảm 3%. Lợi nhuận tăng 10%."
    assert line_sections(line, 25) == [(0, 19, None), (19, 36, None), (36, len(line), None)]
    tokenizer = UndertheseaTokenizer(tokenizer_nlp.vocab, {**tokenizer_nlp.tokenizer.settings, "section_chars": 25})
    doc = tokenizer(line)
    assert doc.text == line
    assert [t.text for t in doc] == [t.text for t in tokenizer_nlp.make_doc(line)]


def test_a_run_without_sentence_end_or_space_is_cut_where_it_stands_with_a_message():
    text = "x" * 50 + " " + "y" * 30 + " " + "z" * 130
    sections = line_sections(text, 60)
    assert [(start, end) for start, end, _ in sections] == [(0, 51), (51, 82), (82, 142), (142, 202), (202, 212)]
    problems = [p for _, _, p in sections if p]
    assert len(problems) == 2 and "from offset 82 hold no sentence end or space" in problems[0]
