"""Folder mode: every file in the manifest, bad files reported, reruns skip, kills resume."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.legacy_text import encode_tcvn3

from conftest import FIXTURES, ROOT

VNREPORT = str(Path(sys.executable).parent / "vnreport")
DOCUMENTS = ROOT / "corpus" / "documents"


def run(*args, **kwargs):
    return subprocess.run([VNREPORT, "annotate", *args], capture_output=True, text=True, timeout=900, **kwargs)


def manifest(out: Path) -> dict:
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert len({e["path"] for e in entries}) == len(entries)  # one line per input file
    return {e["path"]: e for e in entries}


@pytest.fixture()
def archive(tmp_path):
    folder = tmp_path / "archive"
    (folder / "2024").mkdir(parents=True)
    shutil.copy(FIXTURES / "thuong-mai.txt", folder / "thuong-mai.txt")
    shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / "2024" / "gia-lai.txt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "truncated.docx").write_bytes(b"PK\x03\x04\x14\x00")
    (folder / "russian.txt").write_bytes("Отчёт о положении области".encode("koi8-r"))
    (folder / "notes.md").write_text("not a report", encoding="utf-8")
    # an old archive's file, typed in the TCVN3 (.VnTime) encoding
    old = encode_tcvn3((DOCUMENTS / "vinh-phuc-2018-nong-nghiep.txt").read_text(encoding="utf-8"))
    (folder / "2018").mkdir()
    (folder / "2018" / "vinh-phuc.txt").write_bytes(old.encode("cp1252"))
    return folder


def test_folder_with_good_and_bad_files_gives_a_complete_manifest(archive, tmp_path):
    out = tmp_path / "out"
    result = run(str(archive), "--out", str(out), "--workers", "2")
    assert result.returncode == 1  # some files failed
    entries = manifest(out)
    assert {path: e["status"] for path, e in entries.items()} == {
        "2024/gia-lai.txt": "ok", "2018/vinh-phuc.txt": "ok", "thuong-mai.txt": "ok", "empty.txt": "error", "binary.txt": "error",
        "truncated.docx": "error", "russian.txt": "error", "notes.md": "skipped",
    }
    assert entries["empty.txt"]["error"].endswith("empty.txt: empty file")
    assert "binary data" in entries["binary.txt"]["error"]
    assert "not a valid .docx" in entries["truncated.docx"]["error"]
    assert "unsupported text encoding" in entries["russian.txt"]["error"]
    ok = entries["thuong-mai.txt"]
    assert len(ok["sha256"]) == 64 and ok["seconds"] > 0 and set(ok["models"]) == {"ner", "classifier", "linker"}
    document = json.loads((out / "documents" / "thuong-mai.txt.json").read_text(encoding="utf-8"))
    assert len(document["sentences"]) == 16
    old = json.loads((out / "documents" / "2018" / "vinh-phuc.txt.json").read_text(encoding="utf-8"))
    assert old["encoding"] == "tcvn3" and old["text"].startswith("SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN TỈNH VĨNH PHÚC")
    assert not list(out.rglob("*.partial")) and not (out / "manifest.jsonl.journal").exists()

    # a rerun skips what is done; a changed file is redone; --force redoes all
    again = run(str(archive), "--out", str(out), "--workers", "2")
    assert "0 annotated" in again.stdout
    assert manifest(out)["thuong-mai.txt"]["status"] == "skipped"
    (archive / "2024" / "gia-lai.txt").write_text((DOCUMENTS / "vinh-phuc-2018-nong-nghiep.txt").read_text(encoding="utf-8"), encoding="utf-8")
    changed = run(str(archive), "--out", str(out), "--workers", "1")
    assert "1 annotated" in changed.stdout and manifest(out)["2024/gia-lai.txt"]["status"] == "ok"
    forced = run(str(archive), "--out", str(out), "--force", "--workers", "1")
    assert "3 annotated" in forced.stdout


def test_one_and_two_workers_write_the_same_documents(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("gia-lai-2024-h1", "thai-nguyen-2022-h1", "ba-ria-vung-tau-2023-h1"):
        shutil.copy(DOCUMENTS / f"{name}.txt", folder / f"{name}.txt")
    run(str(folder), "--out", str(tmp_path / "one"), "--workers", "1")
    run(str(folder), "--out", str(tmp_path / "two"), "--workers", "2")
    for path in sorted((tmp_path / "one" / "documents").iterdir()):
        one = json.loads(path.read_text(encoding="utf-8"))
        two = json.loads((tmp_path / "two" / "documents" / path.name).read_text(encoding="utf-8"))
        one.pop("source"), two.pop("source")
        assert one == two


def test_a_killed_run_resumes_without_duplicates_or_half_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / f"report-{i}.txt")
    shutil.copy(ROOT / "corpus" / "bac-giang-2020-h1-report.txt", folder / "report-9-seed.txt")
    out = tmp_path / "out"
    process = subprocess.Popen([VNREPORT, "annotate", str(folder), "--out", str(out), "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "documents").glob("*.json")) if (out / "documents").exists() else []) < 2:
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list((out / "documents").glob("*.json")))
    assert 2 <= done_before < 7
    assert (out / "manifest.jsonl.journal").exists() and not (out / "manifest.jsonl").exists()
    result = run(str(folder), "--out", str(out), "--workers", "1")
    assert result.returncode == 0
    entries = manifest(out)
    assert len(entries) == 7 and all(e["status"] in ("ok", "skipped") for e in entries.values())
    assert sum(e["status"] == "skipped" for e in entries.values()) >= done_before
    assert len(list((out / "documents").glob("*.json"))) == 7
    assert not list(out.rglob("*.partial")) and not list(out.rglob(".*"))


def test_a_file_over_the_time_limit_is_an_error_and_the_batch_goes_on(tmp_path):
    config = (ROOT / "pipeline" / "config" / "pipeline.toml").read_text(encoding="utf-8").replace("max_seconds = 600", "max_seconds = 1")
    (tmp_path / "fast.toml").write_text(config, encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ROOT / "corpus" / "bac-giang-2020-h1-report.txt", folder / "seed.txt")  # about 15 s
    shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / "small.txt")
    result = run(str(folder), "--out", str(tmp_path / "out"), "--workers", "1", "--config", str(tmp_path / "fast.toml"))
    entries = manifest(tmp_path / "out")
    assert entries["seed.txt"]["status"] == "error"
    assert entries["seed.txt"]["error"].endswith("took longer than 1 s (batch.max_seconds)")
    assert entries["small.txt"]["status"] == "ok"
    assert result.returncode == 1


def test_the_time_limit_stops_a_thread_that_is_not_the_main_one():
    # Dask runs tasks in worker threads, where SIGALRM cannot reach.
    import threading

    from pipeline.batch import _time_limit, _Timeout

    outcome = []

    def busy():
        started = time.perf_counter()
        try:
            with _time_limit(1):
                while time.perf_counter() - started < 30:
                    pass
        except _Timeout:
            outcome.append(round(time.perf_counter() - started))

    thread = threading.Thread(target=busy)
    thread.start()
    thread.join(60)
    assert outcome == [1]


def _comparable_outputs(out: Path) -> tuple[dict, dict]:
    entries = {path: {k: v for k, v in e.items() if k != "seconds"} for path, e in manifest(out).items()}
    documents = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted((out / "documents").rglob("*.json"))}
    return entries, documents


@pytest.mark.slow
def test_the_dask_engine_writes_what_the_local_engine_writes(archive, tmp_path):
    local = run(str(archive), "--out", str(tmp_path / "local"), "--workers", "1")
    dask = run(str(archive), "--out", str(tmp_path / "dask"), "--engine", "dask", "--workers", "2")
    assert dask.returncode == local.returncode == 1, dask.stderr[-2000:]
    assert _comparable_outputs(tmp_path / "dask") == _comparable_outputs(tmp_path / "local")
    assert "4 errors" in dask.stdout and ", 2 worker(s); see" in dask.stdout and "Dask at tcp://" in dask.stdout
    assert "on 1 local process(es)" in local.stdout


@pytest.mark.slow
def test_a_running_dask_scheduler_is_used_by_address(tmp_path):
    from distributed import LocalCluster

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / "gia-lai.txt")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        result = run(str(folder), "--out", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address)
        # that cluster did the work: its workers got the models plugin and ran the task
        assert "vnreport-models" in cluster.scheduler.worker_plugins
        assert "annotate_task" in cluster.scheduler.task_prefixes
        assert f"on Dask at {cluster.scheduler_address}, 1 worker(s)" in result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert manifest(tmp_path / "out")["gia-lai.txt"]["status"] == "ok"
    local = run(str(folder), "--out", str(tmp_path / "local"), "--workers", "1")
    assert local.returncode == 0
    assert _comparable_outputs(tmp_path / "out") == _comparable_outputs(tmp_path / "local")


def test_the_dask_engine_without_dask_says_how_to_install_it(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "thuong-mai.txt", folder / "thuong-mai.txt")
    script = ("import sys; sys.modules['distributed'] = None\n"  # as if dask were not installed
              "from pipeline.cli import main\n"
              f"sys.exit(main(['annotate', {str(folder)!r}, '--out', {str(tmp_path / 'out')!r}, '--engine', 'dask']))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "pip install 'vnreport[dask]'" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
