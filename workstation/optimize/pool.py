"""Where trials run: in this process, in a pool of processes on every local core, or on
a Dask distributed cluster.

Every trial of an optimisation shares one ``TrialJob`` (the strategy, the data range,
the settings). A worker receives it once, through the pool's initializer (or the Dask
worker plugin), loads the bars once, and then each trial sends only its parameters and
an optional window of time: the bars are never pickled per trial. Each trial is a full
backtest on the live engine (``workstation.backtest.runner.Backtest``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from workstation.backtest.data import BarData
from workstation.backtest.run import BacktestRun, BacktestSettings
from workstation.config import ConfigError, Settings
from workstation.strategies.instances import InstanceSettings
from workstation.trades import TradeRecord

if TYPE_CHECKING:
    from workstation.optimize.challenge import ChallengeRules

log = logging.getLogger(__name__)

_BAR_FIELDS = ("ts", "end", "open", "high", "low", "close", "volume", "trades", "flags")


class ClusterProblem(ConfigError):
    """The cluster cannot be used (not installed, not reachable): says which and why."""


@dataclass(frozen=True, slots=True)
class TrialJob:
    """What every trial shares. ``instance.symbols`` is already resolved."""

    settings: Settings
    home: Path | None
    plugin_dirs: tuple[Path, ...]
    instance: InstanceSettings
    timeframe: str
    first: date
    last: date
    source: str = "sim"
    options: BacktestSettings = field(default_factory=BacktestSettings)
    noop: bool = False  # trials that do nothing: the pool's own overhead (bench)
    challenge: ChallengeRules | None = None  # adds the trial's pass_probability to its metrics
    challenge_paths: int = 2_000
    challenge_seed: int = 0


@dataclass(frozen=True, slots=True)
class TrialTask:
    """One trial: parameters, and optionally only the bars opening in [start, end) ns."""

    number: int
    params: dict[str, Any]
    window: tuple[int, int] | None = None
    keep_run: bool = False  # return the whole run (trades, daily equity), not only metrics


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    number: int
    params: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None = None
    run: BacktestRun | None = None


# -- the worker side (module state: one job per worker process) ------------------------------
_JOB: TrialJob | None = None
_SERIES: list[BarData] = []
_PROBLEM: str | None = None  # why this worker has no bars


def load_job(job: TrialJob, quiet: bool = True) -> None:
    """Keep the job and its bars in this process (a pool's initializer)."""
    global _JOB, _SERIES, _PROBLEM
    if quiet:  # a trial's rejected orders would flood the console
        logging.getLogger().setLevel(logging.ERROR)
    _JOB, _SERIES, _PROBLEM = job, [], None
    if job.noop:
        return
    try:
        _SERIES = load_series(job)
    except ConfigError as exc:  # every trial of this worker reports it (a pool would break)
        _PROBLEM = str(exc)


def _pool_worker(job: TrialJob) -> None:
    """A pool process: Ctrl+C is the parent's to handle (it cancels what is queued and
    waits for the running trials), not a traceback from every worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load_job(job)


def load_series(job: TrialJob) -> list[BarData]:
    """The job's bars (DataProblem saying what is missing where)."""
    from workstation.backtest.runner import Backtest, BacktestSpec

    spec = BacktestSpec(job.instance, job.timeframe, job.first, job.last, job.source,
                        job.options)
    return Backtest(job.settings, job.home, spec,
                    plugin_dirs=list(job.plugin_dirs)).load(job.instance.symbols)


def loaded_series() -> list[BarData]:
    return _SERIES


def window_series(series: list[BarData], window: tuple[int, int] | None) -> list[BarData]:
    """The bars that open inside ``window`` (all of them for None)."""
    if window is None:
        return series
    sliced = []
    for data in series:
        keep = (data.ts >= window[0]) & (data.ts < window[1])
        sliced.append(BarData(data.symbol, data.timeframe,
                              *(np.ascontiguousarray(getattr(data, f)[keep])
                                for f in _BAR_FIELDS)))
    return sliced


def run_task(task: TrialTask) -> TrialOutcome:
    """One trial in this worker; a problem is the outcome's error, never an exception."""
    from workstation.backtest.runner import Backtest, BacktestSpec

    job = _JOB
    if job is None:
        return TrialOutcome(task.number, task.params, None, "worker has no job loaded")
    if job.noop:
        return TrialOutcome(task.number, task.params, {})
    if _PROBLEM is not None:
        return TrialOutcome(task.number, task.params, None, _PROBLEM)
    series = window_series(_SERIES, task.window)
    if not all(len(s) for s in series):
        return TrialOutcome(task.number, task.params, None, "no bars in the window")
    instance = job.instance.model_copy(update={"params": {**job.instance.params,
                                                          **task.params}})
    spec = BacktestSpec(instance, job.timeframe, job.first, job.last, job.source, job.options)
    try:
        run = asyncio.run(Backtest(job.settings, job.home, spec, series=series,
                                   plugin_dirs=list(job.plugin_dirs)).run())
    except ConfigError as exc:
        return TrialOutcome(task.number, task.params, None, str(exc))
    except Exception as exc:
        log.exception("trial %d failed", task.number)
        return TrialOutcome(task.number, task.params, None, f"{type(exc).__name__}: {exc}")
    stopped = [p for p in run.problems if p.startswith(f"{instance.instance_id} ")]
    if stopped:  # the strategy raised or hung and was disabled: its figures mean nothing
        return TrialOutcome(task.number, task.params, run.metrics, stopped[0])
    metrics = run.metrics
    if job.challenge is not None:
        metrics = {**metrics, "pass_probability": pass_probability(run.trades, job)}
    return TrialOutcome(task.number, task.params, metrics, None,
                        run if task.keep_run else None)


def pass_probability(trades: tuple[TradeRecord, ...], job: TrialJob) -> float:
    """The job's challenge odds on a trial's trades (0 without trades: nothing can pass)."""
    from workstation.optimize.challenge import simulate, trade_days

    assert job.challenge is not None
    days = trade_days(trades)
    if not days:
        return 0.0
    return simulate(days, job.challenge, paths=job.challenge_paths,
                    seed=job.challenge_seed).pass_probability


# -- the runners --------------------------------------------------------------------------
class Runner(Protocol):
    workers: int

    def map(self, tasks: Iterable[TrialTask]) -> Iterator[TrialOutcome]:
        """Run every task; outcomes as they finish (any order)."""

    def close(self) -> None: ...


class SerialRunner:
    """Trials one after another in this process (tests, tiny searches, walk-forward's
    out-of-sample runs)."""

    workers = 1

    def __init__(self, job: TrialJob) -> None:
        load_job(job, quiet=False)
        if _PROBLEM is not None:
            raise ConfigError(_PROBLEM)

    def map(self, tasks: Iterable[TrialTask]) -> Iterator[TrialOutcome]:
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        """Nothing to release."""


class LocalPool:
    """A process per core, each loading the job once. Processes are spawned (not forked)
    so a caller with threads (the GUI, a Dask client) is safe."""

    def __init__(self, job: TrialJob, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_worker, initargs=(job,))
        self._pending: set[Future] = set()

    def map(self, tasks: Iterable[TrialTask]) -> Iterator[TrialOutcome]:
        """At most a few trials queued per worker, so cancel stops soon."""
        queue = iter(tasks)
        limit = self.workers * 4
        while True:
            for task in queue:
                self._pending.add(self._executor.submit(run_task, task))
                if len(self._pending) >= limit:
                    break
            if not self._pending:
                return
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_runner(job: TrialJob, *, workers: int | None = None,
                cluster: str | None = None) -> Runner:
    """The cluster when an address is given, else the local pool (``workers=0``: this
    process)."""
    if workers == 0:
        return SerialRunner(job)
    if not job.noop:
        load_series(job)  # bad data: one clear message here, not one per trial
    if cluster:
        from workstation.optimize.cluster import DaskRunner

        return DaskRunner(job, cluster)
    return LocalPool(job, workers)
