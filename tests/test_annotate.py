"""The whole pipeline on files: archive variants of one corpus document, and a
text far longer than spaCy's default limit."""
import warnings

import pytest

from conftest import ROOT, long_text
from make_documents import write_legacy_variant
from pipeline.annotate import annotate_documents, annotate_file
from pipeline.io.read import RawDocument
from pipeline.io.write import document_record

SOURCE = ROOT / "corpus" / "documents" / "ba-ria-vung-tau-2023-h1.txt"


def _records(path, nlp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return document_record(annotate_file(nlp, path))["records"]


@pytest.fixture(scope="module")
def unicode_records(nlp):
    return _records(SOURCE, nlp)


def test_the_unicode_file_has_the_records_to_compare(unicode_records):
    assert len(unicode_records) >= 18  # the gold has 20 figures; a retrained model may miss one or two
    first = unicode_records[0]
    assert (first["metric"], first["value"], first["unit"], first["baseline_type"]) == \
        ("Tổng sản phẩm trên địa bàn", 2.41, "%", "same_period")


@pytest.mark.parametrize("kind", ["tcvn3.txt", "vni.txt", "old-tones.txt", "tcvn3.docx", "vni.docx"])
def test_an_old_archive_copy_gives_the_same_records(tmp_path, nlp, unicode_records, kind):
    assert _records(write_legacy_variant(SOURCE.read_text(encoding="utf-8"), tmp_path, kind), nlp) == unicode_records


def test_documents_in_one_pipe_come_out_as_each_does_alone(nlp, seed_raw, seed_document, unicode_records):
    # nlp.pipe batches the sentences of several documents through the NER: the
    # batch must not change any document's result.
    small = RawDocument("small.txt", SOURCE.read_text(encoding="utf-8"), "txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = [document_record(doc) for doc in annotate_documents(nlp, [small, seed_raw], batch_size=2)]
    assert together[1] == seed_document
    assert together[0]["records"] == unicode_records


@pytest.mark.slow
def test_a_two_million_character_report_is_annotated(nlp):
    text = long_text(2_000_000)
    assert len(text) > 2 * 1_000_000  # spaCy's default max_length
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = document_record(next(annotate_documents(nlp, [RawDocument("annual-report.txt", text, "txt")])))
    assert record["text"] == text
    assert len(record["sentences"]) > 10000 and len(record["records"]) > 10000
    last = record["sentences"][-1]
    assert text[last["start"]:last["end"]] == last["text"] and last["end"] > 1_990_000
    assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"][-100:])
