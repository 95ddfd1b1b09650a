"""The whole pipeline: archive variants of one corpus document, and texts longer than spaCy takes at once."""
import warnings

import pytest

from make_documents import write_legacy_variant
from pipeline.annotate import annotate_document, annotate_file, section_bounds
from pipeline.config import load_config
from pipeline.io.read import RawDocument

from conftest import ROOT, corpus_paragraphs, long_text

SOURCE = ROOT / "corpus" / "documents" / "ba-ria-vung-tau-2023-h1.txt"


def _records(path, models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = annotate_file(path, models=models).record()
    return document["records"]


@pytest.fixture(scope="module")
def unicode_records(models):
    return _records(SOURCE, models)


def test_the_unicode_file_has_the_records_to_compare(unicode_records):
    assert len(unicode_records) == 20
    first = unicode_records[0]
    assert (first["metric"], first["value"], first["unit"], first["baseline_type"]) == \
        ("Tổng sản phẩm trên địa bàn", 2.41, "%", "same_period")


@pytest.mark.parametrize("kind", ["tcvn3.txt", "vni.txt", "old-tones.txt", "tcvn3.docx", "vni.docx"])
def test_an_old_archive_copy_gives_the_same_records(tmp_path, models, unicode_records, kind):
    assert _records(write_legacy_variant(SOURCE.read_text(encoding="utf-8"), tmp_path, kind), models) == unicode_records


def _annotated(raw, models, config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return annotate_document(raw, models=models, config=config)


def _without_timing(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "seconds"}


def test_a_text_longer_than_spacy_max_length_is_annotated_in_sections(models, seed_raw):
    # spaCy refuses a text longer than nlp.max_length (E088); a long report is
    # tokenised in sections cut at line ends, joined into one Doc with the
    # text's own offsets. The tokenizer works line by line, so the result is
    # the one the whole text gives.
    config = load_config()
    whole = _annotated(seed_raw, models, config).record(with_tokens=True)
    limit = models.nlp.max_length
    models.nlp.max_length = 5000  # the seed is 85,000 characters: 17 sections or more
    try:
        annotated = _annotated(seed_raw, models, config)
    finally:
        models.nlp.max_length = limit
    assert annotated.doc.text == seed_raw.text
    assert annotated.record(with_tokens=True) == whole


def test_a_paragraph_longer_than_a_section_is_cut_at_sentence_starts(models):
    paragraphs = corpus_paragraphs()[:40]
    text = "Báo cáo tình hình kinh tế\n" + " ".join(paragraphs)  # one long line
    raw = RawDocument("<long line>", text, "txt")
    whole = _annotated(raw, models, load_config())
    config = load_config()
    config["tokenizer"]["section_chars"] = 2000
    annotated = _annotated(raw, models, config)
    assert annotated.doc.text == text
    assert all(text[t.idx:t.idx + len(t.text)] == t.text for t in annotated.doc)
    # no sentence boundary fell inside a token that the whole line did not have:
    # every cut was at a sentence start
    assert annotated.structure.warnings == whole.structure.warnings
    starts = {s.start for s in annotated.structure.sentences}
    bounds, problems = section_bounds(text, sorted(starts), 2000)
    assert len(bounds) > 5 and problems == []
    assert all(end - start <= 2000 for start, end in bounds) and bounds[-1][1] == len(text)
    assert all(start in starts or text[start - 1] == "\n" for start, _ in bounds[1:])


def test_section_bounds_cut_at_a_space_then_anywhere_as_a_last_resort():
    text = "x" * 50 + " " + "y" * 30 + " " + "z" * 130
    bounds, problems = section_bounds(text, [], 60)
    assert bounds == [(0, 51), (51, 82), (82, 142), (142, 202), (202, 212)]
    assert len(problems) == 2 and "from offset 82 hold no line break, sentence end or space" in problems[0]


@pytest.mark.slow
def test_a_two_million_character_report_is_annotated(models):
    text = long_text(2_000_000)
    raw = RawDocument("annual-report.txt", text, "txt")
    assert len(text) > 2 * models.nlp.max_length
    annotated = _annotated(raw, models, load_config())
    record = annotated.record()
    assert record["text"] == text and annotated.doc.text == text
    assert len(record["sentences"]) > 10000 and len(record["records"]) > 10000
    last = record["sentences"][-1]
    assert text[last["start"]:last["end"]] == last["text"] and last["end"] > 1_990_000
    assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"][-100:])
