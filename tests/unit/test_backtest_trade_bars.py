"""A finished run's trade drawn on the bars it traded: found again, and refused when the
bars are no longer the ones tested.

The plugin buys at the close of the 100th bar and sells at the close of the 110th: both
market orders fill at the next bar's open, so the trade enters at bar 100's open and
exits at bar 110's (0-based). With 5 bars either side, its chart is bars 95 to 115.
"""

from __future__ import annotations

import asyncio
import dataclasses
import textwrap
from datetime import date

import numpy as np

from workstation.backtest.data import sim_bars
from workstation.backtest.run import BacktestSettings
from workstation.backtest.runner import Backtest, BacktestSpec
from workstation.backtest.trade_bars import bars_for_trade
from workstation.config import Settings
from workstation.strategies.instances import InstanceSettings

DAY = date(2026, 11, 3)

PLUGIN = textwrap.dedent('''
    from workstation.strategy import Strategy


    class InAndOut(Strategy):
        name = "In and out"
        symbols = ("NQ",)

        def on_start(self):
            self.seen = 0

        def on_bar(self, bar):
            self.seen += 1
            if self.seen == 100:
                self.buy("NQ", 1)
            elif self.seen == 110:
                self.sell("NQ", 1)
''')


def run_on(tmp_path, source: str):
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "in_and_out.py").write_text(PLUGIN, encoding="utf-8")
    spec = BacktestSpec(InstanceSettings(instance_id="x", strategy="In and out",
                                         symbols=("NQ",)), "1m", DAY, DAY, source,
                        BacktestSettings(commission=0.0))
    return asyncio.run(Backtest(Settings(), None, spec,
                                plugin_dirs=[tmp_path / "plugins"]).run())


def nq_sim_bars():
    settings = Settings()
    item = next(i for i in settings.instruments if i.symbol == "NQ")
    return sim_bars(item.instrument(), item.sim, "1m", DAY, DAY, seed=7)


def test_a_sim_runs_trade_is_drawn_on_the_regenerated_bars_it_traded(tmp_path):
    data = nq_sim_bars()
    run = run_on(tmp_path, "sim")
    trade = run.trades[0]

    found = bars_for_trade(run, trade, Settings(), pad=5)

    assert [bar.ts for bar in found.bars] == data.ts[95:116].tolist()
    assert found.bars[5].ts == trade.entry_ts and found.bars[5].open == trade.entry
    assert found.bars[15].ts == trade.exit_ts and found.bars[15].open == trade.exit
    assert "bars of the run (sim)" in found.note


def test_a_file_edited_after_the_run_is_refused_with_the_reason(tmp_path):
    data = nq_sim_bars()
    path = tmp_path / "nq.csv"
    times = np.datetime_as_string(data.ts.view("datetime64[ns]"), unit="s")
    rows = ["timestamp,open,high,low,close,volume"] + [
        f"{ts}Z,{o},{h},{lo},{c},{v}" for ts, o, h, lo, c, v in zip(
            times.tolist(), data.open.tolist(), data.high.tolist(), data.low.tolist(),
            data.close.tolist(), data.volume.tolist(), strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = run_on(tmp_path, str(path))
    trade = run.trades[0]
    assert len(bars_for_trade(run, trade, Settings(), pad=5).bars) == 21

    rows[50] = rows[50].rsplit(",", 2)[0] + f",{data.close[48] + 0.25},1"  # one close moved
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    found = bars_for_trade(run, trade, Settings(), pad=5)

    assert found.bars == []
    assert "no longer the ones tested" in found.note and "NQ" in found.note


def test_a_run_kept_before_bars_could_be_found_again_says_so(tmp_path):
    run = run_on(tmp_path, "sim")
    old = dataclasses.replace(run, extra={k: v for k, v in run.extra.items() if k != "data"})

    found = bars_for_trade(old, run.trades[0], Settings())

    assert found.bars == [] and "keeps no way to find its bars again" in found.note
