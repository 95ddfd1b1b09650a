"""Batch annotation of a folder tree: every input accounted for, resumable.

OUTDIR/documents/<relative path>.json holds one document each (written under a
temporary name and renamed); OUTDIR/manifest.jsonl holds one line per input
file: path, sha256, status (ok, error, skipped), error, seconds, models. While a
run goes, the manifest is journalled line by line (manifest.jsonl.journal) and
compacted at the end, so a run killed at any point leaves finished documents and
their lines, and a rerun goes on from there.

Workers (local processes, or Dask workers: see dask.py) only annotate and
return each document; this process writes every output, so both engines write
the same files.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pipeline.config import load_config
from pipeline.io.read import SUPPORTED_SUFFIXES
from pipeline.batch.worker import _WORKER, annotate_task, limit_threads, load_worker_models, manifest_entry, start_worker
from pipeline.io.write import replacing

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = "manifest.jsonl"
ENGINES = ("local", "dask")

# What a forked worker must not keep open (objects with a close() method): the
# lock on the output folder, and the parent's ends of the workers' pipes, its
# own included. A worker holding them would, once the parent was killed, keep
# the folder locked and itself or another worker waiting for ever for a task.
_CLOSE_IN_WORKERS: set = set()


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
    # What the run itself could not do cleanly (symbolic links skipped, a stale
    # lock taken over); a document's own warnings are in its "warnings" field.
    warnings: list[str] = field(default_factory=list)


_IMPORTED = time.perf_counter()


def seconds_since_process_start() -> float:
    """Wall time since this process started (from /proc on Linux; elsewhere,
    since this module was imported)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", encoding="ascii") as uptime:
            return max(0.0, float(uptime.read().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return time.perf_counter() - _IMPORTED


def find_inputs(root: Path) -> tuple[list[Path], list[Path]]:
    """Every file below ``root`` and every symbolic link, in a stable order
    (hidden files and folders left out).

    Links are not followed, to a file or a folder: they can lead out of the
    archive, into a loop, or to a file annotated twice. The caller reports them.
    """
    files, links = [], []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink():
            links.append(path)
        elif path.is_file():
            files.append(path)
    return files, links


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # pragma: no cover - it was a link a moment ago
        return "?"


# --- the lock on an output folder -------------------------------------------

LOCK = ".vnreport.lock"


class OutputLocked(Exception):
    """Another run is writing into the same output folder."""


def _lock_holder(text: str) -> dict:
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "a run that has not yet said who it is"
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"


class OutputLock:
    """An exclusive lock on an output folder: ``OUT/.vnreport.lock``.

    The lock itself is an ``flock`` on that file, which the system releases
    whenever its holder ends, even by ``kill -9``; the file says who holds it
    (pid, host, start time) for the message a second run prints. A file left
    by a run that died is taken over, with a warning naming that run. The file
    is removed when the run ends. Where ``flock`` does not exist (Windows) the
    file alone is the lock, and one left by a dead run must be deleted by hand.
    """

    def __init__(self, out_dir: Path):
        self.path = out_dir / LOCK
        self.fd: int | None = None
        self.warning: str | None = None

    def acquire(self) -> "OutputLock":
        import datetime
        import socket

        while True:
            if fcntl is None:
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    holder = _lock_holder(self.path.read_text(encoding="utf-8", errors="replace"))
                    raise OutputLocked(f"{self.path.parent} is in use by another vnreport run ({_describe(holder)}); "
                                       f"if that run is over, delete {self.path}") from None
                break
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
                os.close(fd)
                raise OutputLocked(f"{self.path.parent} is in use by another vnreport run ({_describe(holder)}); "
                                   "wait for it to finish or give another --out") from None
            # Its holder may have removed the file between our open and our lock:
            # then the lock is on a file nobody else will see; start again.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                previous = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                if previous.strip():
                    self.warning = (f"took over the lock on {self.path.parent} left by a run that is no longer "
                                    f"running ({_describe(_lock_holder(previous))})")
                break
            os.close(fd)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(me) + "\n").encode("utf-8"))
        os.fsync(fd)
        self.fd = fd
        _CLOSE_IN_WORKERS.add(self)
        return self

    def close(self) -> None:
        """In a forked worker: drop the inherited descriptor, the lock stays the parent's."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still holding it: no one locks a file about to go
        _CLOSE_IN_WORKERS.discard(self)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


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


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _worker_signals() -> None:
    """In a worker process: Ctrl-C (sent to the whole process group) is for the
    parent, which stops the workers; SIGTERM ends a worker at once, without
    the parent's handler and its traceback. The parent blocks both while it
    forks (see ``_start_worker``); unblocked here, once the worker's own
    handlers are set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def start_local_worker() -> None:
    """A forked worker process (it shares the parent's loaded models)."""
    _worker_signals()
    limit_threads()


def start_spawned_worker(models_directory, config: dict) -> None:
    _worker_signals()
    start_worker(models_directory, config)


def write_document(out_dir: Path, relative: str, document: str) -> None:
    """Under a temporary name, then renamed: a killed run never leaves half a document."""
    with replacing(output_path(out_dir, relative)) as tmp:
        tmp.write_text(document, encoding="utf-8")


def _worker_loop(connection, initializer, initargs) -> None:
    """A worker process: annotate each task the parent sends, until told to stop."""
    for inherited in list(_CLOSE_IN_WORKERS):
        inherited.close()
    _CLOSE_IN_WORKERS.clear()
    initializer(*initargs)
    while True:
        try:
            task = connection.recv()
            if task is None:
                return
            connection.send(annotate_task(task))
        except (EOFError, OSError):  # the parent is gone (killed): so is the work
            return


def _start_worker(context, initializer, initargs):
    """One worker process and the parent's end of its pipe.

    A signal arriving while the worker is being forked would run the parent's
    handler in the child: blocked until the child has set its own."""
    blocking = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if blocking else None
    try:
        parent_end, child_end = context.Pipe()
        _CLOSE_IN_WORKERS.add(parent_end)  # before the fork: the worker closes its copy
        process = context.Process(target=_worker_loop, args=(child_end, initializer, initargs), daemon=True)
        process.start()
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    child_end.close()
    return process, parent_end


def _close_worker(process, connection, kill: bool = False) -> None:
    if kill:
        process.kill()
    _CLOSE_IN_WORKERS.discard(connection)
    connection.close()
    process.join()


def _run_local(tasks: list, workers: int, models_directory, config: dict) -> Iterator[tuple[dict, str | None]]:
    """Runs in this process, or forks workers that share the models this
    process has already loaded.

    Each worker has a pipe of its own and one task at a time, rather than
    multiprocessing.Pool's shared queue: a worker that dies (out of memory,
    killed, or by a SIGTERM sent to the whole process group) can hold no lock
    the others or this process wait for. Its file is reported as an error and
    a new worker takes its place; stopping the run kills the workers.
    """
    from multiprocessing.connection import wait

    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            yield annotate_task(task)
        return
    if sys.platform == "win32":  # no fork: every process loads the models itself
        context, initializer, initargs = (multiprocessing.get_context("spawn"), start_spawned_worker,
                                          (models_directory, config))
    else:
        # Loaded by run_batch before forking: the workers share the parent's
        # models instead of each spending seconds loading its own copy.
        context, initializer, initargs = multiprocessing.get_context("fork"), start_local_worker, ()
    pending = iter(tasks)
    running: dict = {}  # the parent's end of a worker's pipe -> (process, its task)
    try:
        def start(task) -> None:
            process, connection = _start_worker(context, initializer, initargs)
            connection.send(task)
            running[connection] = (process, task)

        for task in pending:
            start(task)
            if len(running) >= workers:
                break
        while running:
            for connection in wait(list(running)):
                process, task = running[connection]
                try:
                    result = connection.recv()
                except (EOFError, OSError):  # the worker died on this file
                    del running[connection]
                    _close_worker(process, connection)
                    how = (f"killed by {signal.Signals(-process.exitcode).name}" if process.exitcode and process.exitcode < 0
                           else f"exit status {process.exitcode}")
                    entry = manifest_entry(task[1], task[2], _WORKER.get("versions", {}),
                                           "error", f"{task[0]}: the worker process ended ({how}) while annotating it")
                    yield entry, None
                    following = next(pending, None)
                    if following is not None:
                        start(following)
                    continue
                yield result  # the worker stays in ``running`` meanwhile: stopped too if the run stops here
                following = next(pending, None)
                if following is None:
                    del running[connection]
                    connection.send(None)  # no more work: the worker ends
                    _close_worker(process, connection)
                else:
                    connection.send(following)
                    running[connection] = (process, following)
    finally:
        # Finished, failed or interrupted: no worker outlives the run.
        for connection, (process, _) in running.items():
            _close_worker(process, connection, kill=True)


class _Progress:
    """A progress bar on a terminal, plain log lines elsewhere."""

    def __init__(self, total: int, stream):
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
              models_directory=None, config_path=None, progress_stream=None, engine: str = "local",
              scheduler: str | None = None, entity_scores: bool = False) -> BatchSummary:
    """Annotate every file below ``root`` into ``out_dir``.

    ``engine`` "local" runs ``workers`` processes on this machine (0 or None:
    one per CPU core); "dask" runs on the Dask cluster at ``scheduler``, or on
    a local one of ``workers`` processes when no address is given. Both write
    the same outputs.

    Raises OutputLocked when another run holds ``out_dir``. An interruption
    (KeyboardInterrupt or any exception) leaves ``out_dir`` as ``kill -9``
    would: finished documents and their journal lines, nothing half-written,
    and a rerun goes on from there.
    """
    # Timed from the process start: starting Python, importing the libraries
    # and hashing the inputs are part of the one-off cost a run pays before its
    # first document.
    started = time.perf_counter() - seconds_since_process_start()
    from pipeline.language import model_versions

    progress_stream = progress_stream or sys.stderr  # looked up now: whatever stderr is at the time of the run

    root, out_dir = Path(root), Path(out_dir)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be 1 or more, or 0 for one per CPU core; got {workers}")
    if engine == "dask":
        from pipeline.batch.dask import run_on_dask  # fails here, before any output, if dask is not installed
    config = load_config(config_path)  # a bad config fails here, before any output
    if entity_scores:
        config["annotate"]["entity_scores"] = True
    workers = workers or os.cpu_count() or 1
    out_dir.mkdir(parents=True, exist_ok=True)
    with OutputLock(out_dir) as lock:
        summary = BatchSummary()
        if lock.warning:
            summary.warnings.append(lock.warning)
            print(f"warning: {lock.warning}", file=progress_stream, flush=True)
        _run_batch_locked(root, out_dir, workers, force, models_directory, config, progress_stream, engine,
                          scheduler, started, summary, model_versions(models_directory))
    return summary


def _run_batch_locked(root: Path, out_dir: Path, workers: int, force: bool, models_directory, config: dict,
                      progress_stream, engine: str, scheduler: str | None, started: float, summary: BatchSummary,
                      current_models: dict) -> None:
    done = read_manifest(out_dir)
    entries: dict[str, dict] = {}
    tasks = []
    files, links = find_inputs(root)
    for link in links:
        relative = link.relative_to(root).as_posix()
        message = f"{link}: symbolic link to {_link_target(link)}, not followed"
        entries[relative] = manifest_entry(relative, None, current_models, "skipped", message)
        summary.warnings.append(f"skipped {message}")
    for path in files:
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
    summary.skipped = sum(e["status"] == "skipped" for e in entries.values())
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
            from pipeline.batch.dask import run_on_dask

            results = run_on_dask(tasks, workers, scheduler, models_directory, config, summary, started)
        else:
            if tasks:
                load_worker_models(models_directory, config)
            summary.startup_seconds = time.perf_counter() - started
            summary.ran_on = f"{min(workers, max(len(tasks), 1))} local process(es)"
            results = _run_local(tasks, workers, models_directory, config)
        try:
            for entry, document in results:
                record(entry, document)
        finally:
            results.close()  # now, not when garbage collected: stops the workers or the cluster
    finally:
        # Interrupted or not: the journal holds every finished document's line.
        progress.close()
        journal.close()
    summary.seconds = time.perf_counter() - started
    # Compact: one line per input file, in path order, then drop the journal.
    with replacing(out_dir / MANIFEST) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for relative in sorted(entries):
            f.write(json.dumps(entries[relative], ensure_ascii=False) + "\n")
    (out_dir / (MANIFEST + ".journal")).unlink(missing_ok=True)
