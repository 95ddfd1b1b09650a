"""What a worker does, the same in a local worker process and on a Dask
worker: load the pipeline once, then annotate one file per task under a time
limit, returning its manifest entry and its document as JSON."""
from __future__ import annotations

import ctypes
import json
import signal
import threading
import time
from contextlib import contextmanager


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
    """Load the pipeline a worker process annotates with, once per process."""
    import pipeline
    from pipeline.annotate import warm_up
    from pipeline.language import versions_of

    _WORKER["config"] = config
    _WORKER["nlp"] = pipeline.load(models_directory)
    _WORKER["versions"] = versions_of(_WORKER["nlp"])
    warm_up(_WORKER["nlp"])


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

    from pipeline.annotate import annotate_file
    from pipeline.io.read import ReadError
    from pipeline.io.write import document_record

    path, relative, sha256, data = task
    config, nlp = _WORKER["config"], _WORKER["nlp"]
    limit = config["batch"]["max_seconds"]
    started = time.perf_counter()
    entry = manifest_entry(relative, sha256, _WORKER["versions"])
    document = None
    try:
        with _time_limit(limit), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = document_record(annotate_file(nlp, path, config, data))
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


