"""Optimisation throughput: a grid of SMA crossover trials, each a full backtest on the
live engine, on one worker process and on every core.

The bars: ``--bars`` (default 100,000) 1-minute NQ bars of the simulated market, loaded
once per worker by the pool's initializer; each trial sends only its parameters and the
window that trims the generated sessions to exactly ``--bars`` bars. The grid: fast
5..24 by 1 x slow 30..75 by 5 (200 trials; ``--trials`` takes the first N). Each pool is
timed from its creation (spawning its processes and loading the bars included) to its
last result; the workers' CPU time over that wall time says how many cores they really
got (on a shared machine, fewer than asked: the speed-up is bounded by it). Overhead:
trials that do nothing, on every core, after a warm-up:
``overhead_ms`` is the time each such trial costs a worker (wall x workers / trials).

Floor (issue 15): speed-up at least 0.85 x the cores, overhead under 20 ms a trial. The
last line is JSON with trials_per_s_1, trials_per_s_all, workers, speedup, overhead_ms.
Run: python bench/optimize.py [--bars 100000] [--trials 200] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import date, timedelta

from workstation.backtest.data import sim_bars
from workstation.backtest.run import BacktestSettings
from workstation.config import Settings
from workstation.optimize.grid import build_grid
from workstation.optimize.objective import Constraints
from workstation.optimize.pool import LocalPool, TrialTask
from workstation.optimize.search import grid_search
from workstation.optimize.study import prepare_job
from workstation.risk.wiring import PERMISSIVE
from workstation.strategies.instances import InstanceSettings

FIRST = date(2023, 1, 2)
CASH = 10_000_000.0


def job_for(bars: int):
    settings = Settings(risk=PERMISSIVE)
    days = int(bars / 1380 * 7 / 5 * 1.05) + 10
    last = FIRST + timedelta(days=days)
    item = next(i for i in settings.instruments if i.symbol == "NQ")
    data = sim_bars(item.instrument(), item.sim, "1m", FIRST, last, seed=7)
    if len(data) < bars:
        raise SystemExit(f"generated {len(data)} bars, wanted {bars}")
    window = (int(data.ts[0]), int(data.ts[bars - 1]) + 1)
    instance = InstanceSettings(instance_id="sma", strategy="SMA crossover", symbols=("NQ",))
    job, declared = prepare_job(settings, None, instance, "1m", FIRST, last, "sim",
                                BacktestSettings(starting_cash=CASH, commission=0.0))
    return job, declared, window


def timed_grid(job, grid, window, workers: int, trials: int) -> tuple[float, float, object]:
    """Wall seconds, the cores the workers got (their CPU time over the wall time: below
    ``workers`` when other processes share the machine), and the result."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    with LocalPool(job, workers) as pool:
        result = grid_search(_Limited(pool, trials), grid, "net_profit", Constraints(),
                             window=window)
    wall = time.perf_counter() - started
    return wall, (_children_cpu() - cpu_before) / wall, result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Limited:
    """The pool, running only the first ``trials`` tasks of the grid."""

    def __init__(self, pool: LocalPool, trials: int) -> None:
        self.pool, self.trials, self.workers = pool, trials, pool.workers

    def map(self, tasks):
        return self.pool.map(list(tasks)[: self.trials])

    def close(self) -> None:
        self.pool.close()


def overhead_ms(job, workers: int, trials: int = 2_000) -> float:
    from dataclasses import replace

    with LocalPool(replace(job, noop=True), workers) as pool:
        list(pool.map(TrialTask(n, {}) for n in range(workers * 4)))  # spawned and warm
        started = time.perf_counter()
        list(pool.map(TrialTask(n, {}) for n in range(trials)))
        wall = time.perf_counter() - started
    return wall * workers / trials * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    job, declared, window = job_for(args.bars)
    grid = build_grid(declared, {"fast": "5:24:1", "slow": "30:75:5"})
    trials = min(args.trials, grid.size)
    one_s, one_cores, one = timed_grid(job, grid, window, 1, trials)
    all_s, all_cores, every = timed_grid(job, grid, window, args.workers, trials)
    same = [(t.number, t.score) for t in one.trials] == [(t.number, t.score)
                                                          for t in every.trials]
    per_1, per_all = trials / one_s, trials / all_s
    overhead = overhead_ms(job, args.workers)
    print(f"{trials} trials on {args.bars:,} bars: 1 worker {one_s:.1f} s "
          f"({per_1:.2f} trials/s), {args.workers} workers {all_s:.1f} s "
          f"({per_all:.2f} trials/s), speed-up {per_all / per_1:.2f}x; pool overhead "
          f"{overhead:.2f} ms a trial; same results: {same}; cores the workers got: "
          f"{one_cores:.2f} and {all_cores:.2f}; load average {os.getloadavg()[0]:.1f}")
    print(json.dumps({"bars": args.bars, "trials": trials, "workers": args.workers,
                      "trials_per_s_1": round(per_1, 3), "trials_per_s_all": round(per_all, 3),
                      "speedup": round(per_all / per_1, 3), "overhead_ms": round(overhead, 3),
                      "same_results": same, "cpu_count": os.cpu_count(),
                      "cores_used_1": round(one_cores, 2), "cores_used_all": round(all_cores, 2)}))


if __name__ == "__main__":
    main()
