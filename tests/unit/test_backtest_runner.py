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
