"""A backtest run in process: cancel, a strategy that raises or hangs, and what it reports."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import date

import pytest

from workstation.backtest.run import BacktestSettings
from workstation.backtest.runner import Backtest, BacktestCanceled, BacktestSpec, downsample
from workstation.config import Settings
from workstation.strategies.instances import InstanceSettings

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 13)  # ten Globex sessions
BARS = 10 * 23 * 60

PLUGINS = textwrap.dedent('''
    import time

    from workstation.strategy import Strategy


    class Raises(Strategy):
        name = "Raises"
        symbols = ("NQ",)

        def on_bar(self, bar):
            raise ValueError("no good")


    class Hangs(Strategy):
        name = "Hangs"
        symbols = ("NQ",)

        def on_bar(self, bar):
            if self.state.get("bars", 0) == 3:
                while True:
                    time.sleep(0.01)
            self.state["bars"] = self.state.get("bars", 0) + 1
''')


def backtest(tmp_path, strategy: str, **settings_update: object) -> Backtest:
    (tmp_path / "plugins.py").write_text(PLUGINS, encoding="utf-8")
    settings = Settings()
    if settings_update:
        settings = settings.model_copy(update={"strategies": settings.strategies.model_copy(
            update=settings_update)})
    spec = BacktestSpec(InstanceSettings(instance_id="x", strategy=strategy, symbols=("NQ",)),
                        "1m", FIRST, LAST, "sim", BacktestSettings())
    return Backtest(settings, None, spec, plugin_dirs=[tmp_path])


def test_a_strategy_that_keeps_raising_is_disabled_and_the_run_ends_with_the_reason(tmp_path):
    run = asyncio.run(backtest(tmp_path, "Raises").run())

    assert run.trades == ()
    assert run.bars < BARS  # stopped early: the only instance was out
    assert any("x error" in p and "no good" in p for p in run.problems), run.problems


def test_a_strategy_that_hangs_is_interrupted_and_the_run_ends(tmp_path):
    run = asyncio.run(backtest(tmp_path, "Hangs", hard_limit_s=0.3).run())

    assert any("did not return" in p for p in run.problems), run.problems
    assert run.bars < BARS


def test_a_canceled_run_raises_and_returns_nothing(tmp_path):
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done >= 1_000:
            runner.cancel()

    spec = BacktestSpec(InstanceSettings(instance_id="s", strategy="SMA crossover",
                                         symbols=("NQ",)), "1m", FIRST, LAST, "sim")
    runner = Backtest(Settings(), None, spec, progress=progress)

    with pytest.raises(BacktestCanceled):
        asyncio.run(runner.run())
    assert seen and seen[-1] < BARS


def test_a_downsampled_curve_keeps_every_low_and_high_and_both_ends():
    import numpy as np

    ts = np.arange(1_000, dtype=np.int64)
    values = np.full(1_000, 100.0)
    values[437], values[611] = 40.0, 180.0

    kept_ts, kept = downsample(ts, values, 10)

    assert len(kept) <= 10
    assert kept_ts[0] == 0 and kept_ts[-1] == 999
    assert 40.0 in kept and 180.0 in kept


BREAK_EVEN_PLUGIN = textwrap.dedent('''
    from workstation.strategy import Strategy


    class LongOnce(Strategy):
        name = "Long once"
        symbols = ("NQ",)

        def on_bar(self, bar):
            if not self.state.get("done"):
                self.state["done"] = True
                self.buy("NQ", 1, stop_loss=bar.close - 10)
''')

# NQ 1m bars in the session of 3 November: the entry fills at bar 1's open (21,000), R is
# 10 points; bar 1 reaches 21,012 (+1.2R); bar 2 falls from 21,011 to 20,985.
BREAK_EVEN_BARS = ("timestamp,open,high,low,close,volume\n"
                   "2026-11-03T14:30:00Z,21000,21000,21000,21000,5\n"
                   "2026-11-03T14:31:00Z,21000,21012,21000,21011,5\n"
                   "2026-11-03T14:32:00Z,21011,21011,20985,20986,5\n"
                   "2026-11-03T14:33:00Z,20986,20987,20985,20986,5\n")


@pytest.mark.parametrize(("break_even_r", "exit_price", "kept_value"),
                         [(1.0, 21_000.00, 1.0), (0.0, 20_990.00, 0.0), (None, 21_000.00, 1.0)])
def test_break_even_moves_the_stop_to_the_entry_at_its_r_and_the_run_records_it(
        tmp_path, break_even_r, exit_price, kept_value):
    """At 1R (the paper account's default, used when none is given) the stop is at the
    entry when bar 2 falls: out at 21,000; with 0 (never) the stop stays at 20,990."""
    (tmp_path / "long_once.py").write_text(BREAK_EVEN_PLUGIN, encoding="utf-8")
    (tmp_path / "nq.csv").write_text(BREAK_EVEN_BARS, encoding="utf-8")
    spec = BacktestSpec(InstanceSettings(instance_id="b", strategy="Long once",
                                         symbols=("NQ",)), "1m", FIRST, date(2026, 11, 3),
                        str(tmp_path / "nq.csv"),
                        BacktestSettings(commission=0.0, break_even_r=break_even_r))

    run = asyncio.run(Backtest(Settings(), None, spec, plugin_dirs=[tmp_path]).run())

    assert [(t.entry, t.exit) for t in run.trades] == [(21_000.00, exit_price)]
    assert run.settings.break_even_r == kept_value
