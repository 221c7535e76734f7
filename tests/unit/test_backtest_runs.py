"""Backtest runs in the store: written whole, read back exactly, numbers never reused."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.backtest.run import BacktestRun, BacktestSettings
from workstation.backtest.runs import delete_run, list_runs, load_run, save_run
from workstation.store import StoreError, open_store
from workstation.trades import TradeRecord


def a_run(net: float = 250.0) -> BacktestRun:
    trade = TradeRecord("T1", "NQ", "long", 1.0, 20000.0, 20012.5, 19990.0, None,
                        1_000, 2_000, 15.0, -2.5, 1.5, -0.25, 1.25, 250.0, 5.0, "manual",
                        None, "sma")
    return BacktestRun(
        strategy="SMA crossover", strategy_version="1.0", file_hash="ab" * 32,
        params={"fast": 10, "slow": 30}, symbols=("NQ",), timeframe="1m", start_ns=1_000,
        end_ns=9_000, source="sim", settings=BacktestSettings(slippage_ticks=1),
        metrics={"net_profit": net, "sharpe": None}, trades=(trade,),
        curve_ts=np.array([1_000, 5_000, 9_000]), curve_equity=np.array([1e5, 100_250.0, 1e5]),
        daily=(("2026-11-02", 100_245.0),), bars=3, wall_s=0.5, problems=("a warning",),
        created_ts=42)


def test_a_stored_run_reads_back_exactly(tmp_path):
    store = open_store(tmp_path / "bracket.sqlite")
    try:
        run_id = save_run(store, a_run())
        loaded = load_run(store, run_id)
    finally:
        store.close()

    assert loaded.run_id == run_id == 1
    assert loaded.trades == a_run().trades
    assert loaded.settings == BacktestSettings(slippage_ticks=1)
    assert loaded.params == {"fast": 10, "slow": 30}
    assert loaded.metrics == {"net_profit": 250.0, "sharpe": None}
    assert loaded.curve_ts.tolist() == [1_000, 5_000, 9_000]
    assert loaded.curve_equity.tolist() == [100_000.0, 100_250.0, 100_000.0]
    assert loaded.daily == (("2026-11-02", 100_245.0),)
    assert loaded.problems == ("a warning",)


def test_runs_are_listed_newest_first_and_a_deleted_number_is_not_reused(tmp_path):
    store = open_store(tmp_path / "bracket.sqlite")
    try:
        first, second = save_run(store, a_run(1.0)), save_run(store, a_run(2.0))
        delete_run(store, second)
        third = save_run(store, a_run(3.0))
        summaries = list_runs(store)
        with pytest.raises(StoreError, match="no backtest run 2"):
            load_run(store, second)
    finally:
        store.close()

    assert (first, second, third) == (1, 2, 3)
    assert [(s.run_id, s.metrics["net_profit"]) for s in summaries] == [(3, 3.0), (1, 1.0)]
    assert summaries[0].title == "SMA crossover 1.0 · NQ 1m"
