"""Trials on a Dask distributed cluster (the optional ``cluster`` extra).

The same ``TrialJob`` and ``run_task`` as the local pool: a worker plugin loads the job
and its bars once per worker, then each task carries only its parameters. Start a
scheduler and workers with ``dask scheduler`` and ``dask worker tcp://HOST:8786
--nthreads 1`` (one thread a worker: a trial is CPU-bound Python) on machines where
Bracket is installed with the same plugins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from workstation.optimize.pool import (
    ClusterProblem,
    TrialJob,
    TrialOutcome,
    TrialTask,
    load_job,
    run_task,
)

CONNECT_TIMEOUT_S = 10
PLUGIN_NAME = "bracket-trial-job"

try:
    from distributed import Client, WorkerPlugin, as_completed
except ImportError:  # the extra is not installed: DaskRunner says so when asked for
    Client = WorkerPlugin = as_completed = None  # type: ignore[assignment,misc]


def _require() -> None:
    if Client is None:
        raise ClusterProblem('--cluster needs Dask: pip install "bracket-workstation[cluster]"')


class _LoadJob(WorkerPlugin if WorkerPlugin is not None else object):  # type: ignore[misc]
    """Loads the job and its bars once on each worker, including workers that join later."""

    def __init__(self, job: TrialJob) -> None:
        self.job = job

    def setup(self, worker: Any) -> None:
        load_job(self.job)


class DaskRunner:
    def __init__(self, job: TrialJob, address: str, *,
                 timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        _require()
        try:
            self.client = Client(address, timeout=timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ClusterProblem(f"--cluster {address}: cannot reach the Dask scheduler "
                                 f"({type(exc).__name__}: {exc})") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self.client.register_plugin(_LoadJob(job), name=PLUGIN_NAME)
        self._futures: list[Any] = []

    def map(self, tasks: Iterable[TrialTask]) -> Iterator[TrialOutcome]:
        self._futures = self.client.map(run_task, list(tasks), pure=False)
        for future in as_completed(self._futures):
            yield future.result()
        self._futures = []

    def close(self) -> None:
        if self._futures:
            self.client.cancel(self._futures)
        self.client.close()
