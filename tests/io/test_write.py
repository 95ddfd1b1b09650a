"""Outputs: JSON Lines against the schema, the records table, the review page in a browser."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, ROOT

SCHEMA = json.loads((ROOT / "pipeline" / "schema" / "document.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    vnreport = str(Path(sys.executable).parent / "vnreport")
    subprocess.run([vnreport, "annotate", str(FIXTURES / "thuong-mai.txt"), "--out", str(out / "docs.jsonl"), "--tokens",
                    "--csv", str(out / "records.csv"), "--parquet", str(out / "records.parquet"), "--html", str(out / "html")],
                   check=True, capture_output=True, timeout=600)
    return out


def test_every_output_document_matches_the_schema(outputs, seed_document):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    documents = [json.loads(line) for line in (outputs / "docs.jsonl").read_text(encoding="utf-8").splitlines()]
    documents.append(seed_document)
    for document in documents:
        assert list(validator.iter_errors(document)) == []
    broken = dict(documents[0], records=[dict(documents[0]["records"][0], relation="growth")])
    assert [e.message for e in validator.iter_errors(broken)] == [
        "'growth' is not one of ['level', 'change', 'attainment', 'share', 'ratio', 'rank']"]


def test_records_table_csv_and_parquet(outputs):
    import pyarrow.parquet as pq

    documents = [json.loads(line) for line in (outputs / "docs.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(outputs / "records.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(documents[0]["records"])
    exports = next(r for r in rows if r["value_text"] == "4.385")
    assert (exports["metric"], exports["value"], exports["unit"], exports["relation"], exports["base_value"]) == (
        "Giá trị xuất khẩu", "4385.0", "triệu USD", "level", "4385000000.0")
    assert exports["section"] == "4. Dịch vụ / 4.1. Hoạt động thương mại"
    table = pq.read_table(outputs / "records.parquet").to_pylist()
    assert len(table) == len(rows)
    growth = next(r for r in table if r["value_text"] == "48,3")
    assert (growth["value"], growth["relation"], growth["direction"], growth["baseline_type"]) == (48.3, "change", "up", "same_period")


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def test_review_page_shows_entities_classes_and_records_in_a_browser(outputs, tmp_path):
    page = outputs / "html" / "thuong-mai.html"
    dom = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    document = json.loads((outputs / "docs.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert "<h2 class=\"heading\">4. Dịch vụ</h2>" in dom
    # every sentence with its class, every entity with its label, every record as a row
    assert dom.count("class=\"sentence") == len(document["sentences"])
    for sentence in document["sentences"]:
        assert f"data-class=\"{sentence['label']}\"" in dom
    assert dom.count("<mark") == len(document["entities"])
    assert "4.385" in dom and "triệu USD" in dom
    table = dom[dom.index("class=\"records\""):]
    assert table.count("<tr>") == len(document["records"]) + 1
    assert "<script" not in dom


# --- outputs are as before the run or complete; checked before any work -------

from pipeline.io.write import AtomicJsonLines, OutputError, check_output_file, check_output_folder, replacing  # noqa: E402


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_json_lines_replace_the_file_only_when_complete(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("a previous run's output\n", encoding="utf-8")
    before = _files(tmp_path)
    with pytest.raises(KeyboardInterrupt):  # interrupted after one document of several
        with AtomicJsonLines(out) as lines:
            lines.write({"doc_id": "first"})
            raise KeyboardInterrupt
    assert _files(tmp_path) == before and not lines.written
    with AtomicJsonLines(out) as lines:
        pass  # no document written (every file failed)
    assert _files(tmp_path) == before and not lines.written
    with AtomicJsonLines(out) as lines:
        lines.write({"doc_id": "first"})
        lines.write({"doc_id": "second"})
    assert lines.written and [json.loads(line)["doc_id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["first", "second"]
    assert _files(tmp_path).keys() == {"out.jsonl"}


def test_json_lines_create_nothing_until_the_first_document(tmp_path):
    out = tmp_path / "new" / "folder" / "out.jsonl"
    with AtomicJsonLines(out):
        assert not (tmp_path / "new").exists()
    assert not (tmp_path / "new").exists()
    with pytest.raises(RuntimeError):
        with AtomicJsonLines(out) as lines:
            lines.write({"doc_id": "first"})
            raise RuntimeError("a later stage failed hard")
    assert not (tmp_path / "new").exists()  # the folders it made for the output are gone too


def test_replacing_leaves_the_file_as_it_was_when_writing_stops(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("old table\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        with replacing(path) as tmp:
            tmp.write_text("half a new tab", encoding="utf-8")
            raise KeyboardInterrupt
    assert _files(tmp_path) == {"records.csv": b"old table\n"}


def test_output_paths_are_checked_before_any_work(tmp_path, unwritable_folder):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    check_output_file(tmp_path / "not" / "yet" / "out.jsonl", "--out")  # folders are made when writing
    check_output_folder(tmp_path / "not" / "yet", "--html")
    assert not (tmp_path / "not").exists()
    cases = [
        (check_output_file, tmp_path / "a-folder", "is a folder; give the name of a file to write"),
        (check_output_file, tmp_path / "a-file" / "out.jsonl", f"{tmp_path / 'a-file'} is a file, not a folder"),
        (check_output_file, unwritable_folder / "out.jsonl", f"cannot write in {unwritable_folder}: "),
        (check_output_folder, tmp_path / "a-file", "is a file; give a folder to write into"),
        (check_output_folder, unwritable_folder / "pages", f"cannot write in {unwritable_folder}: "),
    ]
    for check, path, reason in cases:
        with pytest.raises(OutputError) as error:
            check(path, "--out")
        assert str(error.value).startswith(f"--out {path}: {reason}")
    assert sorted(p.name for p in unwritable_folder.iterdir()) == ["existing.jsonl"]


def test_entity_scores_are_written_when_asked_for_and_match_the_schema(tmp_path):
    from pipeline.cli import main

    out = tmp_path / "scored.jsonl"
    assert main(["annotate", str(FIXTURES / "thuong-mai.txt"), "--out", str(out), "--entity-scores"]) == 0
    [document] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert document["entities"] and all(0.0 <= e["score"] <= 1.0 for e in document["entities"])
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document)) == []
    plain = tmp_path / "plain.jsonl"
    assert main(["annotate", str(FIXTURES / "thuong-mai.txt"), "--out", str(plain)]) == 0
    [unscored] = [json.loads(line) for line in plain.read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in e.items() if k != "score"} for e in document["entities"]] == unscored["entities"]
    assert not any("score" in e for e in unscored["entities"])
