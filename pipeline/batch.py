"""Batch annotation of a folder tree: every input accounted for, resumable.

OUTDIR/documents/<relative path>.json holds one document each (written under a
temporary name and renamed); OUTDIR/manifest.jsonl holds one line per input
file: path, sha256, status (ok, error, skipped), error, seconds, models. While a
run goes, the manifest is journalled line by line (manifest.jsonl.journal) and
compacted at the end, so a run killed at any point leaves finished documents and
their lines, and a rerun goes on from there.

Workers (local processes, or Dask workers: see cluster.py) only annotate and
return each document; this process writes every output, so both engines write
the same files.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .config import load_config
from .read import SUPPORTED_SUFFIXES

MANIFEST = "manifest.jsonl"
ENGINES = ("local", "dask")


@dataclass
class BatchSummary:
    ok: int = 0
    error: int = 0
    skipped: int = 0
    sentences: int = 0
    seconds: float = 0.0
    # Of ``seconds``, the time before the first document can start: imports,
    # hashing the inputs, loading the models or starting the cluster; paid once
    # per run, whatever the size of the archive.
    startup_seconds: float = 0.0
    # Where the documents were annotated ("2 local processes", "Dask at ...").
    ran_on: str = ""


def find_inputs(root: Path) -> list[Path]:
    """Every file below ``root`` (hidden files and folders left out), in a stable order."""
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files.append(path)
    return files


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_path(out_dir: Path, relative: str) -> Path:
    return out_dir / "documents" / (relative + ".json")


def read_manifest(out_dir: Path) -> dict[str, dict]:
    """The last entry per path, from the compacted manifest and any journal a
    killed run left (a half-written last line is ignored)."""
    entries: dict[str, dict] = {}
    for name in (MANIFEST, MANIFEST + ".journal"):
        path = out_dir / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            entries[entry["path"]] = entry
    return entries


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


@contextmanager
def _time_limit(seconds: int):
    """Raise _Timeout in this thread after ``seconds``.

    The main thread of a process uses SIGALRM; a thread of a Dask worker cannot
    receive signals, so a timer thread raises the exception in it instead. Both
    take effect between Python bytecodes, so a file stuck inside one long C
    call is stopped when that call returns.
    """
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        return
    target = threading.get_ident()
    lock = threading.Lock()
    finished = False

    def expire() -> None:
        with lock:
            if not finished:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(_Timeout))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            finished = True
        timer.cancel()


_WORKER: dict = {}


def limit_threads() -> None:
    """N worker processes on N cores: a multi-threaded BLAS in each would make
    them fight over the same cores."""
    from threadpoolctl import threadpool_limits

    _WORKER["threads"] = threadpool_limits(1)


def load_worker_models(models_directory, config: dict) -> None:
    """Load the models a worker process annotates with, once per process."""
    from .annotate import load_pipeline

    _WORKER["config"] = config
    _WORKER["models"] = load_pipeline(config, models_directory)


def start_worker(models_directory, config: dict) -> None:
    """A worker process that loads its own models (spawned, or a Dask worker)."""
    limit_threads()
    load_worker_models(models_directory, config)


def manifest_entry(relative: str, sha256: str | None, models: dict, status: str = "ok", error: str | None = None) -> dict:
    """One line of the manifest: what became of one input file."""
    return {"path": relative, "sha256": sha256, "status": status, "error": error, "seconds": 0.0,
            "models": models, "sentences": 0}


def annotate_task(task: tuple[str, str, str, bytes | None]) -> tuple[dict, str | None]:
    """Annotate one file in a worker: (its manifest entry, its document as JSON, or None).

    ``task`` is (path, relative path, sha256, the file's bytes or None to read
    it from ``path``). Nothing raises out of here: a file that fails is an entry
    with status error.

    The worker serialises the document: a string crosses to the writing
    process far cheaper than a nested dict, and that process is the one that
    must keep up with all the workers.
    """
    import warnings

    from .annotate import annotate_file
    from .read import ReadError

    path, relative, sha256, data = task
    config, models = _WORKER["config"], _WORKER["models"]
    limit = config["batch"]["max_seconds"]
    started = time.perf_counter()
    entry = manifest_entry(relative, sha256, models.versions)
    document = None
    try:
        with _time_limit(limit), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = annotate_file(path, models=models, config=config, data=data).record()
        entry["sentences"] = len(document["sentences"])
        document = json.dumps(document, ensure_ascii=False)
    except _Timeout:
        entry.update(status="error", error=f"{path}: took longer than {limit} s (batch.max_seconds)")
    except ReadError as error:
        entry.update(status="error", error=str(error))
    except Exception as error:  # a stage that fails on one file must not stop the batch
        entry.update(status="error", error=f"{path}: {type(error).__name__}: {error}")
    entry["seconds"] = round(time.perf_counter() - started, 3)
    return entry, document


def write_document(out_dir: Path, relative: str, document: str) -> None:
    """Under a temporary name, then renamed: a killed run never leaves half a document."""
    target = output_path(out_dir, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    tmp.write_text(document, encoding="utf-8")
    os.replace(tmp, target)


def _run_local(tasks: list, workers: int, models_directory, config: dict) -> Iterator[tuple[dict, str | None]]:
    """Runs in this process, or forks workers that share the models this
    process has already loaded."""
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            yield annotate_task(task)
        return
    if sys.platform == "win32":  # no fork: every process loads the models itself
        context, initializer, initargs = multiprocessing.get_context("spawn"), start_worker, (models_directory, config)
    else:
        # Loaded by run_batch before forking: the workers share the parent's
        # models instead of each spending seconds loading its own copy.
        context, initializer, initargs = multiprocessing.get_context("fork"), limit_threads, ()
    with context.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        yield from pool.imap_unordered(annotate_task, tasks)


class _Progress:
    """A progress bar on a terminal, plain log lines elsewhere."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.sentences, self.stream = total, 0, 0, stream
        self.started = time.perf_counter()
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", file=stream)

    def update(self, entry: dict) -> None:
        self.done += 1
        self.sentences += entry.get("sentences", 0)
        elapsed = time.perf_counter() - self.started
        rate = self.sentences / elapsed if elapsed else 0.0
        if self.bar is not None:
            self.bar.set_postfix(sentences_per_s=f"{rate:.0f}")
            self.bar.update(1)
        else:
            eta = elapsed / self.done * (self.total - self.done)
            message = f" ({entry['error']})" if entry["error"] else ""
            print(f"[{self.done}/{self.total}] {entry['path']}: {entry['status']}{message}; "
                  f"{rate:.0f} sentences/s, ETA {eta:.0f} s", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_batch(root: str | os.PathLike, out_dir: str | os.PathLike, workers: int | None = None, force: bool = False,
              models_directory=None, config_path=None, progress_stream=sys.stderr, engine: str = "local",
              scheduler: str | None = None) -> BatchSummary:
    """Annotate every file below ``root`` into ``out_dir``.

    ``engine`` "local" runs ``workers`` processes on this machine; "dask" runs
    on the Dask cluster at ``scheduler``, or on a local one of ``workers``
    processes when no address is given. Both write the same outputs.
    """
    # Timed from the start: importing the libraries and hashing the inputs are
    # part of the one-off cost a run pays before its first document.
    started = time.perf_counter()
    from .models import model_versions

    root, out_dir = Path(root), Path(out_dir)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "dask":
        from .cluster import run_on_dask  # fails here, before any output, if dask is not installed
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    config = load_config(config_path)
    current_models = model_versions(models_directory)
    done = read_manifest(out_dir)
    entries: dict[str, dict] = {}
    tasks = []
    for path in find_inputs(root):
        relative = path.relative_to(root).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            entries[relative] = manifest_entry(relative, None, current_models, "skipped",
                                               f"{path}: not a {', '.join(SUPPORTED_SUFFIXES)} file")
            continue
        sha256 = file_sha256(path)
        previous = done.get(relative)
        if (not force and previous and previous["status"] in ("ok", "skipped") and previous.get("sha256") == sha256
                and previous.get("models") == current_models and output_path(out_dir, relative).exists()):
            entries[relative] = {**previous, "status": "skipped", "error": None, "seconds": 0.0}
            continue
        tasks.append((path.stat().st_size, (str(path), relative, sha256, None)))
    # Largest first: a long report started last would keep one worker busy
    # while the others have finished.
    tasks = [task for _, task in sorted(tasks, key=lambda sized: -sized[0])]
    summary = BatchSummary(skipped=sum(e["status"] == "skipped" for e in entries.values()))
    progress = _Progress(len(tasks), progress_stream)
    journal = open(out_dir / (MANIFEST + ".journal"), "a", encoding="utf-8")

    def record(entry: dict, document: str | None) -> None:
        # The document first, then its manifest line: a line marked ok always has its document.
        if document is not None:
            write_document(out_dir, entry["path"], document)
        journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
        journal.flush()
        os.fsync(journal.fileno())
        entries[entry["path"]] = entry
        setattr(summary, entry["status"], getattr(summary, entry["status"]) + 1)
        summary.sentences += entry.get("sentences", 0)
        progress.update(entry)

    try:
        if engine == "dask":
            results = run_on_dask(tasks, workers, scheduler, models_directory, config, summary, started)
        else:
            if tasks:
                load_worker_models(models_directory, config)
            summary.startup_seconds = time.perf_counter() - started
            summary.ran_on = f"{min(workers, max(len(tasks), 1))} local process(es)"
            results = _run_local(tasks, workers, models_directory, config)
        for entry, document in results:
            record(entry, document)
    finally:
        progress.close()
        journal.close()
    summary.seconds = time.perf_counter() - started
    # Compact: one line per input file, in path order, then drop the journal.
    manifest = out_dir / MANIFEST
    tmp = out_dir / (MANIFEST + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        for relative in sorted(entries):
            f.write(json.dumps(entries[relative], ensure_ascii=False) + "\n")
    os.replace(tmp, manifest)
    (out_dir / (MANIFEST + ".journal")).unlink(missing_ok=True)
    return summary
