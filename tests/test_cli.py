"""The installed ``vnreport`` command, run as a user would."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES

# The command installed beside the running interpreter (the test venv), else on PATH.
_BESIDE = Path(sys.executable).parent / "vnreport"
VNREPORT = str(_BESIDE) if _BESIDE.exists() else shutil.which("vnreport")


def run(*args, cwd=None):
    assert VNREPORT, "vnreport is not installed: pip install .[test]"
    return subprocess.run([VNREPORT, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("command", [[], ["annotate"]])
def test_help_on_every_command(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: vnreport" in result.stdout


def test_annotate_writes_json_lines_and_goes_on_past_a_bad_file(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    out = tmp_path / "out" / "docs.jsonl"
    result = run("annotate", str(FIXTURES / "thuong-mai.txt"), str(bad), "--out", str(out), "--tokens")
    assert result.returncode == 1  # one file failed
    assert f"error: {bad}: empty file" in result.stderr
    assert "wrote 1 document(s)" in result.stdout and "1 failed" in result.stdout
    [document] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert document["doc_id"] == "thuong-mai"
    assert [h["title"] for h in document["headings"]] == ["4. Dịch vụ", "4.1. Hoạt động thương mại"]
    assert len(document["sentences"]) == 16
    first = document["sentences"][0]
    assert document["text"][first["start"]:first["end"]] == first["text"]
    assert first["section"] == ["4. Dịch vụ", "4.1. Hoạt động thương mại"]
    assert [s["is_footnote"] for s in document["sentences"]].count(True) == 3
    assert document["footnotes"][0]["cited_in"] == 2
    tokens = document["tokens"]
    assert all(document["text"][t["start"]:t["end"]] == t["text"] for t in tokens)
    exports = next(i for i, t in enumerate(tokens) if t["text"] == "4.385")
    assert [t["text"] for t in tokens[exports:exports + 3]] == ["4.385", "triệu", "USD"]
    assert (tokens[exports]["tag"], tokens[exports]["pos"]) == ("M", "NUM")
    assert not list(out.parent.glob("*.partial"))  # written atomically
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.slow
def test_annotate_with_no_file_runs_the_bundled_sample(tmp_path):
    result = run("annotate", "--out", "sample.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "59 headings, 485 sentences (60 in 49 footnotes)" in result.stdout
    [document] = [json.loads(line) for line in (tmp_path / "sample.jsonl").read_text(encoding="utf-8").splitlines()]
    assert document["doc_id"] == "bac-giang-2020-h1-report"
    assert len(document["footnotes"]) == 49
