"""The Dask engine of batch annotation: the same tasks as the local engine,
run on a Dask cluster.

Workers get each file's bytes with its task and send the document back, so a
cluster needs no view of the input or output folders; the client writes every
output, exactly as the local engine does. A worker loads the models once, when
it joins (a worker plugin), from its own installation of vnreport.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

from pipeline.batch.worker import annotate_task, manifest_entry, start_worker
from pipeline.language import model_versions
from pipeline.io.read import ReadError, check_size

try:
    from distributed import Client, LocalCluster, as_completed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as error:  # an optional dependency: pip install 'vnreport[dask]'
    raise ImportError(
        f"the dask engine needs dask.distributed ({error}); install it with: pip install 'vnreport[dask]'"
    ) from None


class LoadModels(WorkerPlugin):
    """Loads the pipeline in every worker process as it starts."""

    name = "vnreport-models"

    def __init__(self, models_directory: str | None, config: dict):
        self.models_directory = models_directory
        self.config = config

    def setup(self, worker) -> None:
        start_worker(self.models_directory, self.config)


def _with_bytes(task: tuple, config: dict) -> tuple:
    path = Path(task[0])
    check_size(path, path.stat().st_size, config["read"])
    return (*task[:3], path.read_bytes())


def _failed(task: tuple, message: str, models: dict) -> tuple[dict, None]:
    return manifest_entry(task[1], task[2], models, "error", message), None


def run_on_dask(tasks: list, workers: int, scheduler: str | None, models_directory, config: dict, summary=None,
                started: float | None = None) -> Iterator[tuple[dict, str | None]]:
    """(entry, document) per task, as they finish.

    With no ``scheduler`` address, starts a local cluster of ``workers``
    single-threaded processes. At most two tasks per worker are in flight, so
    an archive of any size never sits in memory at once.
    """
    started = started or time.perf_counter()
    versions = model_versions(models_directory)
    # The scheduler's and nannies' start/stop messages would bury the progress lines.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        client.register_plugin(LoadModels(str(models_directory) if models_directory else None, config))
        cluster_workers = len(client.scheduler_info()["workers"])
        in_flight = 2 * max(1, cluster_workers)
        if summary is not None:
            summary.startup_seconds = time.perf_counter() - started
            summary.ran_on = f"Dask at {client.scheduler.address}, {cluster_workers} worker(s)"
        running = as_completed()
        task_of = {}

        def submit(task: tuple) -> tuple[dict, None] | None:
            """Send a task with its bytes; a file the client cannot read is an error entry."""
            try:
                with_bytes = _with_bytes(task, config)
            except ReadError as error:
                return _failed(task, str(error), versions)
            except OSError as error:
                return _failed(task, f"{task[0]}: cannot read: {error.strerror or error}", versions)
            future = client.submit(annotate_task, with_bytes, pure=False)
            task_of[future.key] = task
            running.add(future)
            return None

        def collect() -> tuple[dict, str | None]:
            future = next(running)
            task = task_of.pop(future.key)
            try:
                return future.result()
            except Exception as error:  # the worker died (killed, out of memory): report and go on
                return _failed(task, f"{task[0]}: the Dask worker failed: {type(error).__name__}: {error}", versions)
            finally:
                future.release()

        for task in tasks:
            while running.count() >= in_flight:
                yield collect()
            failed = submit(task)
            if failed is not None:
                yield failed
        while running.count():
            yield collect()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
