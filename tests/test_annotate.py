"""The whole pipeline on archive variants of one corpus document."""
import warnings

import pytest

from make_documents import write_legacy_variant
from pipeline.annotate import annotate_file

from conftest import ROOT

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
