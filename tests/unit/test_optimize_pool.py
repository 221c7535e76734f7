"""Trials in a real process pool and on a real Dask LocalCluster give the same results
as in this process; a trial carries only its parameters."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from workstation.backtest.data import DataProblem
from workstation.config import Settings
from workstation.optimize.grid import build_grid
from workstation.optimize.objective import Constraints
from workstation.optimize.pool import (
    ClusterProblem,
    LocalPool,
    SerialRunner,
    TrialTask,
    open_runner,
)
from workstation.optimize.search import grid_search
from workstation.optimize.study import prepare_job
from workstation.strategies.instances import InstanceSettings


@pytest.fixture(scope="module")
def job_and_grid():
    instance = InstanceSettings(instance_id="p", strategy="SMA crossover", symbols=("NQ",))
    job, declared = prepare_job(Settings(), None, instance, "5m", date(2026, 11, 2),
                                date(2026, 11, 3))
    return job, build_grid(declared, {"fast": "5,10", "slow": "10,20"}, ["fast<slow"])


@pytest.fixture(scope="module")
def in_process(job_and_grid):
    job, grid = job_and_grid
    return grid_search(SerialRunner(job), grid, "net_profit", Constraints())


def table(result):
    return [(t.number, t.status, t.score, t.metrics, t.reason) for t in result.trials]


def test_a_trial_sends_its_parameters_not_the_bars(job_and_grid):
    job, _ = job_and_grid
    assert len(pickle.dumps(TrialTask(0, {"fast": 5, "slow": 20}))) < 300
    assert len(pickle.dumps(job)) < 20_000  # settings and paths; the bars load in the worker


def test_the_process_pool_gives_the_same_trials_as_this_process(job_and_grid, in_process):
    job, grid = job_and_grid
    with LocalPool(job, workers=2) as pool:
        pooled = grid_search(pool, grid, "net_profit", Constraints())

    assert table(pooled) == table(in_process)
    assert [t.status for t in in_process.trials] == ["ok", "ok", "skipped", "ok"]
    assert all(t.metrics["trades"] > 0 for t in in_process.trials if t.status == "ok")


def test_missing_data_is_refused_before_any_worker_starts(job_and_grid, tmp_path):
    job, _ = job_and_grid
    from dataclasses import replace

    with pytest.raises(DataProblem, match="no store to read bars from"):
        open_runner(replace(job, home=tmp_path, source="store"), workers=2)


def test_the_dask_cluster_gives_the_same_trials_as_this_process(job_and_grid, in_process):
    distributed = pytest.importorskip("distributed")
    from workstation.optimize.cluster import DaskRunner

    job, grid = job_and_grid
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        runner = DaskRunner(job, cluster.scheduler_address)
        try:
            clustered = grid_search(runner, grid, "net_profit", Constraints())
        finally:
            runner.close()

    assert runner.workers == 2
    assert table(clustered) == table(in_process)


def test_an_unreachable_cluster_is_one_clear_message(job_and_grid):
    pytest.importorskip("distributed")
    from workstation.optimize.cluster import DaskRunner

    job, _ = job_and_grid
    with pytest.raises(ClusterProblem, match=r"^--cluster tcp://127\.0\.0\.1:9: cannot reach "
                                             r"the Dask scheduler"):
        DaskRunner(job, "tcp://127.0.0.1:9", timeout_s=1)


def test_a_trial_can_score_its_challenge_pass_probability(job_and_grid):
    from dataclasses import replace

    from workstation.optimize.challenge import preset_rules, simulate, trade_days

    job, _ = job_and_grid
    rules = preset_rules("topstep", 50_000, max_days=10)
    chosen = replace(job, challenge=rules, challenge_paths=500, challenge_seed=4)
    runner = SerialRunner(chosen)
    outcome = next(runner.map([TrialTask(0, {"fast": 5, "slow": 20}, keep_run=True)]))
    assert outcome.run is not None
    expected = simulate(trade_days(outcome.run.trades), rules, paths=500, seed=4)

    assert outcome.metrics["pass_probability"] == expected.pass_probability
    SerialRunner(job)  # leave this process's worker state as the other tests expect


def test_a_trial_whose_strategy_raises_is_an_error_with_the_reason_and_the_search_goes_on(
        tmp_path):
    (tmp_path / "fragile.py").write_text(
        "from workstation.strategy import Param, Strategy\n\n\n"
        "class Fragile(Strategy):\n"
        "    name = 'Fragile'\n"
        "    symbols = ('NQ',)\n"
        "    limit = Param(1, min=0, max=5, step=1)\n\n"
        "    def on_bar(self, bar):\n"
        "        if self.limit == 0:\n"
        "            raise ValueError('limit 0')\n", encoding="utf-8")
    instance = InstanceSettings(instance_id="f", strategy="Fragile", symbols=("NQ",))
    job, declared = prepare_job(Settings(), None, instance, "5m", date(2026, 11, 2),
                                date(2026, 11, 2), plugin_dirs=[tmp_path])
    result = grid_search(SerialRunner(job), build_grid(declared, {"limit": "0,1"}),
                         "net_profit", Constraints())

    assert [t.status for t in result.trials] == ["error", "ok"]
    assert result.trials[0].reason.startswith("f error: ") and "limit 0" in \
        result.trials[0].reason
    assert result.best is not None and result.best.params["limit"] == 1
