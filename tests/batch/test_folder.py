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

from pipeline.io.legacy_text import encode_tcvn3

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
    assert len(ok["sha256"]) == 64 and ok["seconds"] > 0 and set(ok["models"]) == {"vnreport"}
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


@pytest.mark.slow
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


def archive_to_interrupt(tmp_path):
    """Seven reports (six copies of one, and the seed) and a config without the
    tokenizer's line cache, so that the copies are not nearly free and a kill
    or a signal lands mid-run on a fast machine too."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / f"report-{i}.txt")
    shutil.copy(ROOT / "corpus" / "bac-giang-2020-h1-report.txt", folder / "report-9-seed.txt")
    uncached = tmp_path / "uncached.toml"
    uncached.write_text((ROOT / "pipeline" / "config" / "pipeline.toml").read_text(encoding="utf-8")
                        .replace("cache_lines = 20000", "cache_lines = 0"), encoding="utf-8")
    return folder, uncached


@pytest.mark.parametrize("workers", ["1", pytest.param("2", marks=pytest.mark.slow)])
def test_a_killed_run_resumes_without_duplicates_or_half_files(tmp_path, workers):
    # With 2, the workers outlive the killed parent for a moment: they hold
    # neither the lock on the folder nor each other's pipes, so the rerun
    # starts at once and they end.
    folder, uncached = archive_to_interrupt(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen([VNREPORT, "annotate", str(folder), "--out", str(out), "--workers", workers,
                                "--config", str(uncached)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "documents").glob("*.json")) if (out / "documents").exists() else []) < 2:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list((out / "documents").glob("*.json")))
    assert 2 <= done_before < 7
    assert (out / "manifest.jsonl.journal").exists() and not (out / "manifest.jsonl").exists()
    result = run(str(folder), "--out", str(out), "--workers", "1", "--config", str(uncached))
    assert result.returncode == 0, result.stderr
    assert f"warning: took over the lock on {out} left by a run that is no longer running (pid {process.pid} " in result.stderr
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

    from pipeline.batch.worker import _time_limit, _Timeout

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


# --- the lock on the output folder, symbolic links, interruption --------------

from pipeline.batch.folder import LOCK, OutputLock  # noqa: E402
from pipeline.cli import main  # noqa: E402


def cli(capsys, *args) -> tuple[int, str, str]:
    """The command in this process: (status, stdout, stderr)."""
    status = main(["annotate", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture()
def small_archive(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(DOCUMENTS / "gia-lai-2024-h1.txt", folder / "gia-lai.txt")
    return folder


def test_a_second_run_into_the_same_folder_says_who_holds_it_and_stops(capsys, small_archive, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):  # a first run, still going
        holder = json.loads((out / LOCK).read_text(encoding="utf-8"))
        status, stdout, err = cli(capsys, small_archive, "--out", out, "--workers", "1")
        assert status == 2
        assert err == (f"error: --out {out} is in use by another vnreport run (pid {os.getpid()} on {holder['host']}, "
                       f"started {holder['started']}); wait for it to finish or give another --out\n")
        assert sorted(p.name for p in out.iterdir()) == [LOCK]  # the second run wrote nothing
    assert not (out / LOCK).exists()  # released by its holder


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_warning(capsys, small_archive, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": pid, "host": "vm", "started": "2024-07-01T08:00:00+07:00"}), encoding="utf-8")
    status, stdout, err = cli(capsys, small_archive, "--out", out, "--workers", "1")
    assert status == 0, err
    warning = (f"took over the lock on {out} left by a run that is no longer running "
               f"(pid {pid} on vm, started 2024-07-01T08:00:00+07:00)")
    assert f"warning: {warning}\n" in err
    assert stdout.splitlines()[-2:] == ["1 warning:", f"  {warning}"]
    assert manifest(out)["gia-lai.txt"]["status"] == "ok" and not (out / LOCK).exists()


def test_symbolic_links_are_reported_not_followed(capsys, small_archive, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(FIXTURES / "thuong-mai.txt", outside / "thuong-mai.txt")
    (small_archive / "linked.txt").symlink_to(outside / "thuong-mai.txt")
    (small_archive / "linked-folder").symlink_to(outside)
    (small_archive / "broken.txt").symlink_to(tmp_path / "nowhere.txt")
    out = tmp_path / "out"
    status, stdout, err = cli(capsys, small_archive, "--out", out, "--workers", "1")
    assert status == 0, err
    entries = manifest(out)
    assert {path: e["status"] for path, e in entries.items()} == {
        "gia-lai.txt": "ok", "linked.txt": "skipped", "linked-folder": "skipped", "broken.txt": "skipped"}
    assert entries["linked.txt"]["error"] == f"{small_archive / 'linked.txt'}: symbolic link to {outside / 'thuong-mai.txt'}, not followed"
    lines = stdout.splitlines()
    assert lines[lines.index("3 warnings:") + 1:] == [
        f"  skipped {small_archive / name}: symbolic link to {target}, not followed"
        for name, target in (("broken.txt", tmp_path / "nowhere.txt"), ("linked-folder", outside),
                             ("linked.txt", outside / "thuong-mai.txt"))]


def test_workers_must_be_a_number_of_processes(tmp_path):
    from pipeline.batch.folder import run_batch

    with pytest.raises(ValueError, match="1 or more, or 0 for one per CPU core"):
        run_batch(tmp_path, tmp_path / "out", workers=-1)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum, status", [
    (signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_folder_run_stops_cleanly_and_resumes(capsys, tmp_path, signum, status):
    folder, uncached = archive_to_interrupt(tmp_path)
    out = tmp_path / "out"
    # two worker processes, in a session of their own: the signal goes to all
    # of them, as a terminal's Ctrl-C does
    process = subprocess.Popen([VNREPORT, "annotate", str(folder), "--out", str(out), "--workers", "2",
                                "--config", str(uncached)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "documents").glob("*.json")) if (out / "documents").exists() else []) < 2:
        time.sleep(0.05)
    os.killpg(process.pid, signum)
    stdout, err = process.communicate(timeout=120)
    assert process.returncode == status
    assert "Traceback" not in err  # from the workers either
    assert err.splitlines()[-1].startswith(f"interrupted by {signal.Signals(signum).name}: every document written is complete")
    done_before = len(list((out / "documents").glob("*.json")))
    assert 2 <= done_before < 7
    # as after kill -9: finished documents and their journal, nothing half-written, no lock
    assert (out / "manifest.jsonl.journal").exists() and not (out / "manifest.jsonl").exists()
    assert not list(out.rglob("*.partial")) and not (out / LOCK).exists()
    journal = [json.loads(line) for line in (out / "manifest.jsonl.journal").read_text(encoding="utf-8").splitlines()]
    assert {e["path"] for e in journal} <= {p.name[:-len(".json")] for p in (out / "documents").glob("*.json")}
    status, stdout, err = cli(capsys, folder, "--out", out, "--workers", "1", "--config", uncached)
    assert status == 0, err
    entries = manifest(out)
    assert len(entries) == 7 and all(e["status"] in ("ok", "skipped") for e in entries.values())
    assert sum(e["status"] == "skipped" for e in entries.values()) >= len(journal)
    assert not list(out.rglob(".*"))


def test_a_worker_that_dies_is_reported_and_replaced(monkeypatch):
    # multiprocessing.Pool waited for ever for the task of a worker killed
    # mid-file (out of memory, kill -9); now the file is an error and a new
    # worker goes on with the rest.
    from pipeline.batch import folder as batch

    def annotate(task):
        if task[1] == "dies.txt":
            os._exit(9)
        return batch.manifest_entry(task[1], task[2], {}), f"document of {task[1]}"

    monkeypatch.setattr(batch, "annotate_task", annotate)
    monkeypatch.setitem(batch._WORKER, "models", None)  # no models: the stub needs none
    monkeypatch.setattr(batch, "start_local_worker", lambda: batch._worker_signals())
    tasks = [(f"/in/{name}", name, "0" * 64, None) for name in ("a.txt", "dies.txt", "b.txt", "c.txt", "d.txt")]
    results = {entry["path"]: (entry, document) for entry, document in batch._run_local(tasks, 2, None, {})}
    assert set(results) == {"a.txt", "dies.txt", "b.txt", "c.txt", "d.txt"}
    died, document = results["dies.txt"]
    assert died["status"] == "error" and document is None
    assert died["error"] == "/in/dies.txt: the worker process ended (exit status 9) while annotating it"
    assert all(results[name] == (batch.manifest_entry(name, "0" * 64, {}), f"document of {name}")
               for name in ("a.txt", "b.txt", "c.txt", "d.txt"))


def test_an_archive_annotated_with_entity_scores_feeds_them_to_suggest(capsys, tmp_path):
    # a dev-split report (not trained on), where the NER doubts some spans
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(DOCUMENTS / "kien-giang-2022-q1.txt", archive / "kien-giang.txt")
    out = tmp_path / "out"
    status, _, _ = cli(capsys, archive, "--out", out, "--workers", "1", "--entity-scores")
    assert status == 0
    [document] = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "documents").rglob("*.json")]
    assert document["entities"] and all(0.0 <= e["score"] <= 1.0 for e in document["entities"])
    assert main(["corpus", "suggest", str(out), "--n", "10", "--out", str(tmp_path / "tasks.json")]) == 0
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    # a whole report holds spans the NER doubts, and they are among the reasons
    assert any(" score " in task["data"]["reasons"] for task in tasks)
