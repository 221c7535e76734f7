"""Walk-forward windows by hand, and a real walk-forward on a week of simulated bars whose
stitched out-of-sample result is the sum of its windows' runs."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date

import pytest

from workstation.backtest.data import DataProblem
from workstation.backtest.runner import Backtest, BacktestSpec
from workstation.config import Settings
from workstation.optimize.grid import build_grid
from workstation.optimize.objective import Constraints
from workstation.optimize.pool import SerialRunner, loaded_series, window_series
from workstation.optimize.study import prepare_job
from workstation.optimize.walkforward import Window, plan_windows, run_walkforward
from workstation.strategies.instances import InstanceSettings


def spans(windows: list[Window]) -> list[tuple[int, int, int]]:
    return [(w.is_start, w.is_end, w.oos_end) for w in windows]


def test_rolling_windows_keep_their_length_and_step_by_the_out_of_sample_length():
    # ten days, 4 in, 2 out: IS 0-3 OOS 4-5, IS 2-5 OOS 6-7, IS 4-7 OOS 8-9
    assert spans(plan_windows(10, 4, 2)) == [(0, 4, 6), (2, 6, 8), (4, 8, 10)]


def test_anchored_windows_all_start_on_the_first_day():
    assert spans(plan_windows(10, 4, 2, anchored=True)) == [(0, 4, 6), (0, 6, 8), (0, 8, 10)]


def test_a_step_longer_than_the_out_of_sample_leaves_gaps_and_only_whole_windows_count():
    # 3 in, 2 out, step 3: OOS 3-4, 6-7, 9-10 in eleven days; in ten the third runs past the end
    assert spans(plan_windows(11, 3, 2, step=3)) == [(0, 3, 5), (3, 6, 8), (6, 9, 11)]
    assert spans(plan_windows(10, 3, 2, step=3)) == [(0, 3, 5), (3, 6, 8)]


def test_a_window_longer_than_the_data_is_refused():
    with pytest.raises(DataProblem, match=r"window of 8 \+ 3 trading days is longer than "
                                          r"the data \(10 trading days\)"):
        plan_windows(10, 8, 3)
    with pytest.raises(DataProblem, match="out-of-sample days 0: must be at least 1"):
        plan_windows(10, 3, 0)


@pytest.fixture(scope="module")
def walk():
    settings = Settings()
    instance = InstanceSettings(instance_id="wf", strategy="SMA crossover", symbols=("NQ",))
    # Globex sessions Mon 2 .. Mon 9 November 2026: six trading days
    job, declared = prepare_job(settings, None, instance, "5m", date(2026, 11, 2),
                                date(2026, 11, 9))
    grid = build_grid(declared, {"fast": "5,10", "slow": "20"})
    runner = SerialRunner(job)
    result = run_walkforward(runner, job, grid, "net_profit", Constraints(), in_days=2,
                             out_days=1)
    return settings, job, result


def test_each_window_covers_the_trading_days_worked_out_by_hand(walk):
    _, _, result = walk
    assert [(w.is_first, w.is_last, w.oos_first, w.oos_last) for w in result.windows] == [
        (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 4)),
        (date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 5)),
        (date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 6)),
        (date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 9), date(2026, 11, 9))]
    assert all(len(w.search.trials) == 2 for w in result.windows)


def test_the_stitched_out_of_sample_equity_is_the_sum_of_the_windows_runs(walk):
    _, job, result = walk
    runs = [w.oos for w in result.windows]
    assert all(r is not None for r in runs)
    nets = [r.metrics["final_equity"] - job.options.starting_cash for r in runs]
    curve = result.daily_equity

    assert [day for day, _ in curve] == ["2026-11-04", "2026-11-05", "2026-11-06",
                                         "2026-11-09"]
    assert curve[-1][1] - job.options.starting_cash == pytest.approx(sum(nets), abs=1e-6)
    assert result.oos_net_profit == pytest.approx(sum(nets), abs=1e-6)
    assert len(result.trades) == sum(len(r.trades) for r in runs) > 0
    document = result.as_dict()
    assert document["daily"]["equity"][-1] == pytest.approx(curve[-1][1])
    assert len(document["trades"]) == len(result.trades)


def test_each_out_of_sample_run_is_the_chosen_parameters_backtested_on_that_window_alone(walk):
    settings, job, result = walk
    window = result.windows[2]
    sessions = [s for s in _sessions(job) if s.day == window.oos_first]
    bars = window_series(loaded_series(), (sessions[0].open_ns, sessions[0].close_ns))
    instance = job.instance.model_copy(update={"params": window.params})
    spec = BacktestSpec(instance, "5m", job.first, job.last)
    direct = asyncio.run(Backtest(settings, None, spec, series=bars).run())

    assert window.oos is not None
    assert window.oos.metrics == direct.metrics
    assert [t.exit_ts for t in window.oos.trades] == [t.exit_ts for t in direct.trades]


def test_efficiency_and_stability_follow_their_documented_formulas(walk):
    _, job, result = walk
    cash = job.options.starting_cash
    is_values = [w.search.best.metrics["net_profit"] / cash * 252
                 / w.search.best.metrics["trading_days"] for w in result.windows]
    oos_days = sum(w.oos.metrics["trading_days"] for w in result.windows)
    oos = result.oos_net_profit / cash * 252 / oos_days
    is_mean = sum(is_values) / len(is_values)

    assert result.oos_annualised() == pytest.approx(oos)
    assert result.is_annualised() == pytest.approx(is_mean)
    assert result.efficiency() == (pytest.approx(oos / is_mean) if is_mean > 0 else None)
    chosen = [w.params["fast"] for w in result.windows]
    changes = [abs(b - a) for a, b in itertools.pairwise(chosen)]
    assert result.stability()["fast"] == {
        "mean_change": pytest.approx(sum(changes) / 3),
        "relative_change": pytest.approx(sum(changes) / 3 / 5)}
    assert result.stability()["slow"] == {"mean_change": 0.0, "relative_change": 0.0}


def _sessions(job):
    from workstation.backtest.data import sessions_between

    return sessions_between(job.settings.instrument_map()["NQ"].schedule, job.first, job.last)
