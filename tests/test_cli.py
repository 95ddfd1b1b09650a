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


# --- mistakes and bad luck: one line `error: ...`, nothing written ------------

import signal  # noqa: E402

from pipeline.cli import main  # noqa: E402

from conftest import ROOT  # noqa: E402

SMALL = ROOT / "corpus" / "documents" / "gia-lai-2024-h1.txt"


@pytest.fixture()
def cli(capsys):
    """The command in this process: (status, stdout, stderr)."""
    def call(*args) -> tuple[int, str, str]:
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit:  # argparse: --help, usage errors
            status = exit.code
        out, err = capsys.readouterr()
        return status, out, err
    return call


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def test_help_says_what_workers_0_means(cli):
    status, out, _ = cli("annotate", "--help")
    assert status == 0
    assert "0 (the default) means one per CPU core" in " ".join(out.split())


def _error_cases(tmp_path: Path, unwritable: Path) -> dict:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "previous.jsonl").write_text("a previous run's output\n", encoding="utf-8")
    (tmp_path / "not-toml.toml").write_text("[read\nmax_bytes = 1\n", encoding="utf-8")
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "report.txt").write_bytes(SMALL.read_bytes())
    out = tmp_path / "out.jsonl"
    return {  # arguments, and what the one error line must name
        "unwritable --out folder": ([SMALL, "--out", unwritable / "existing.jsonl"], f"--out {unwritable / 'existing.jsonl'}: cannot write in {unwritable}"),
        "--out an existing folder": ([SMALL, "--out", tmp_path / "a-folder"], f"--out {tmp_path / 'a-folder'}: is a folder"),
        "--out inside a file": ([SMALL, "--out", tmp_path / "previous.jsonl" / "out.jsonl"], f"{tmp_path / 'previous.jsonl'} is a file, not a folder"),
        "--html unwritable": ([SMALL, "--out", out, "--html", unwritable / "pages"], f"--html {unwritable / 'pages'}: cannot write in {unwritable}"),
        "--csv unwritable": ([SMALL, "--out", out, "--csv", unwritable / "records.csv"], f"--csv {unwritable / 'records.csv'}: cannot write"),
        "folder mode, --out an existing file": ([archive, "--out", tmp_path / "previous.jsonl"], f"--out {tmp_path / 'previous.jsonl'}: is a file; give a folder"),
        "folder mode, unwritable --out": ([archive, "--out", unwritable / "out"], f"--out {unwritable / 'out'}: cannot write in {unwritable}"),
        "--workers -1": ([archive, "--out", tmp_path / "out", "--workers", "-1"], "argument --workers: -1 is not a number of processes"),
        "--config missing": ([SMALL, "--out", out, "--config", tmp_path / "missing.toml"], f"--config {tmp_path / 'missing.toml'}: no such file"),
        "--config not TOML": ([SMALL, "--out", out, "--config", tmp_path / "not-toml.toml"], f"--config {tmp_path / 'not-toml.toml'}: not valid TOML"),
        "folder mode, --config not TOML": ([archive, "--out", tmp_path / "out", "--config", tmp_path / "not-toml.toml"], "--config"),
    }


CASES = ["unwritable --out folder", "--out an existing folder", "--out inside a file", "--html unwritable", "--csv unwritable",
         "folder mode, --out an existing file", "folder mode, unwritable --out", "--workers -1", "--config missing",
         "--config not TOML", "folder mode, --config not TOML"]


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_is_one_error_line_and_nothing_is_written(cli, tmp_path, unwritable_folder, case):
    args, named = _error_cases(tmp_path, unwritable_folder)[case]
    before, before_unwritable = _snapshot(tmp_path), _snapshot(unwritable_folder)
    status, out, err = cli("annotate", *args)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and named in err, err
    assert "Traceback" not in err + out
    assert _snapshot(tmp_path) == before and _snapshot(unwritable_folder) == before_unwritable  # nothing created or emptied


@pytest.mark.parametrize("existing", [False, True])
def test_a_run_in_which_every_file_fails_creates_or_empties_no_output(cli, tmp_path, existing):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    if existing:
        (tmp_path / "out.jsonl").write_text("a previous run's output\n", encoding="utf-8")
    before = _snapshot(tmp_path)
    status, out, err = cli("annotate", tmp_path / "empty.txt", tmp_path / "image.txt", "--out", tmp_path / "out.jsonl",
                           "--csv", tmp_path / "records.csv", "--html", tmp_path / "pages")
    assert status == 1
    assert err.splitlines() == [f"error: {tmp_path / 'empty.txt'}: empty file",
                                f"error: {tmp_path / 'image.txt'}: binary data, not a text file"]
    assert "wrote nothing: every file failed" in out
    assert _snapshot(tmp_path) == before


def test_warnings_are_listed_after_the_summary(cli, tmp_path):
    report = tmp_path / "report.txt"
    # a footnote at the end with no citation break in the body: one warning
    report.write_text(SMALL.read_text(encoding="utf-8") + "\n\ufffdSố liệu sơ bộ.\n", encoding="utf-8")
    status, out, err = cli("annotate", report, "--out", tmp_path / "out.jsonl")
    assert status == 0, err
    lines = out.splitlines()
    assert ", 1 warning, " in lines[0]
    summary = next(i for i, line in enumerate(lines) if line.startswith("wrote 1 document(s)"))
    assert lines[summary + 1:] == [
        "1 warning:", f"  {report}: 0 citation breaks in the body but 1 footnotes; linked in order as far as both go"]


def _run_until_first_document(args: list, first: Path) -> subprocess.Popen:
    """The command started in a session of its own (as from a terminal) and
    left running until it has printed the first document's line."""
    process = subprocess.Popen([VNREPORT, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        if line.startswith(str(first)):
            return process
    raise AssertionError(f"the run ended before its first document: {process.communicate()}")


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_leaves_every_output_as_it_was(tmp_path, signum, status):
    # Ctrl-C once replaced a good out.jsonl with one document, after a traceback.
    for name, content in (("out.jsonl", "a previous run's output\n"), ("records.csv", "a previous table\n")):
        (tmp_path / name).write_text(content, encoding="utf-8")
    before = _snapshot(tmp_path)
    seed = ROOT / "corpus" / "bac-giang-2020-h1-report.txt"  # about 10 s: the signal comes in the middle of it
    process = _run_until_first_document(["annotate", SMALL, seed, SMALL, "--out", tmp_path / "out.jsonl", "--csv",
                                         tmp_path / "records.csv"], SMALL)
    os.killpg(process.pid, signum)  # to the whole process group, as a terminal's Ctrl-C
    _, err = process.communicate(timeout=120)
    assert process.returncode == status
    assert "Traceback" not in err
    assert err.splitlines() == [f"interrupted by {signal.Signals(signum).name}: {tmp_path / 'out.jsonl'}, "
                                f"{tmp_path / 'records.csv'} left as before this run"]
    assert _snapshot(tmp_path) == before  # no partial file either
