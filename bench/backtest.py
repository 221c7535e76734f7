"""Backtest throughput: the SMA crossover example through the full engine path.

One million synthetic 1-minute NQ bars (the simulated market's history generator,
seeded) go through the real backtest: the bar feed, the strategy host and the guard,
the plugin (SMA 10/30 cross, long and short, 1 contract, a 20-point protective stop),
the risk gate, the paper broker (fills along each bar's intrabar path), the portfolio,
the trade tracker and the risk monitor. Figures: bars/s through the feed loop (the
backtest's own time, without loading the data or computing the report), the whole run
including the report, and peak RSS. When backtesting.py is installed, it runs the
same rules on the same bars in the same process, and the ratio is printed.

Floor (issue 14): at least 200,000 bars/s and at least 2x backtesting.py; peak RSS
under 400 MB. The last line printed is JSON with bars_per_s and peak_rss_mb, plus
backtesting_py_bars_per_s and ratio when backtesting.py is installed.
With --decompose it also runs the control plugin in bench/plugins (the same averages
and crossings, no orders) on the same bars: its time is the bar path's, and the
difference, divided by the trades, is what one trade costs (orders, fills, the bracket,
the tracker, the risk monitor), so a speed goal can be judged per bar and per trade.
Run: python bench/backtest.py [--bars 1000000] [--no-oracle] [--profile] [--decompose]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import resource
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

from workstation.backtest.data import BarData, sim_bars
from workstation.backtest.run import BacktestSettings
from workstation.backtest.runner import Backtest, BacktestSpec
from workstation.config import Settings
from workstation.risk.wiring import PERMISSIVE
from workstation.strategies.instances import InstanceSettings

FIRST = date(2023, 1, 2)
CASH = 10_000_000.0  # enough that neither engine ever runs out of buying power
CONTROL_PLUGINS = Path(__file__).parent / "plugins"


def synthetic_bars(count: int) -> BarData:
    """``count`` 1-minute NQ bars from the simulated market, from FIRST on."""
    settings = Settings()
    item = next(i for i in settings.instruments if i.symbol == "NQ")
    assert item.sim is not None
    days = int(count / 1380 * 7 / 5 * 1.05) + 10  # 23-hour sessions, five a week, holidays
    data = sim_bars(item.instrument(), item.sim, "1m", FIRST, FIRST + timedelta(days=days),
                    seed=7)
    if len(data) < count:
        raise SystemExit(f"generated {len(data)} bars, wanted {count}")
    return BarData(data.symbol, data.timeframe, *(getattr(data, name)[:count] for name in
                   ("ts", "end", "open", "high", "low", "close", "volume", "trades",
                    "flags")))


def run_bracket(data: BarData, profile: bool, strategy: str = "SMA crossover",
                plugin_dirs: list[Path] | None = None) -> dict[str, float]:
    instance = InstanceSettings(instance_id="sma", strategy=strategy, symbols=("NQ",))
    spec = BacktestSpec(instance, "1m", FIRST, FIRST, "sim",
                        BacktestSettings(starting_cash=CASH, commission=0.0))
    # the same rules as backtesting.py's: no account-level risk rules
    backtest = Backtest(Settings(risk=PERMISSIVE), None, spec, series=[data],
                        plugin_dirs=plugin_dirs)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = asyncio.run(backtest.run())
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)
    total = time.perf_counter() - started
    feed_s = backtest.feed_seconds
    return {"bars": result.bars, "trades": len(result.trades),
            "net_profit": result.metrics["net_profit"], "feed_s": round(feed_s, 2),
            "total_s": round(total, 2), "bars_per_s": round(result.bars / feed_s),
            "bars_per_s_with_report": round(result.bars / total)}


def run_backtesting_py(data: BarData) -> dict[str, float]:
    os.environ.setdefault("TQDM_DISABLE", "1")  # its progress bar would garble the output
    import numpy as np
    import pandas as pd
    from backtesting import Backtest as Oracle
    from backtesting import Strategy
    from backtesting.lib import crossover

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 30)

        def next(self) -> None:
            close = self.data.Close[-1]
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy(size=1, sl=close - 20)
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell(size=1, sl=close + 20)

    frame = pd.DataFrame({"Open": data.open, "High": data.high, "Low": data.low,
                          "Close": data.close, "Volume": data.volume},
                         index=pd.to_datetime(data.ts, utc=True).tz_localize(None))
    oracle = Oracle(frame, SmaCross, cash=CASH)
    started = time.perf_counter()
    with warnings.catch_warnings():  # "some trades remain open": one does, on both sides
        warnings.simplefilter("ignore")
        stats = oracle.run()
    elapsed = time.perf_counter() - started
    return {"backtesting_py_s": round(elapsed, 2),
            "backtesting_py_bars_per_s": round(len(frame) / elapsed),
            "backtesting_py_trades": int(stats["# Trades"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--no-oracle", action="store_true", help="skip backtesting.py")
    parser.add_argument("--profile", action="store_true", help="print the top 20 by own time")
    parser.add_argument("--decompose", action="store_true",
                        help="also run the no-orders control: cost per bar and per trade")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # rejections and trades would be logged one by one
    data = synthetic_bars(args.bars)
    figures: dict[str, float] = run_bracket(data, args.profile)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"Bracket: {figures['bars']:,} bars in {figures['feed_s']} s: "
          f"{figures['bars_per_s']:,} bars/s ({figures['bars_per_s_with_report']:,} with "
          f"the report), {figures['trades']:,} trades, peak RSS {figures['peak_rss_mb']} MB")
    if args.decompose:
        control = run_bracket(data, False, "SMA crossover (watching)", [CONTROL_PLUGINS])
        bar_us = control["feed_s"] / control["bars"] * 1e6
        trade_us = (figures["feed_s"] - control["feed_s"]) / max(figures["trades"], 1) * 1e6
        figures.update({"control_bars_per_s": control["bars_per_s"],
                        "us_per_bar_without_trades": round(bar_us, 2),
                        "us_per_trade": round(trade_us, 1)})
        print(f"Control (same averages, no orders): {control['bars_per_s']:,} bars/s, "
              f"{bar_us:.2f} us a bar; each of the {figures['trades']:,} trades adds "
              f"{trade_us:.0f} us")
    if not args.no_oracle:
        try:
            oracle = run_backtesting_py(data)
        except ImportError:
            print("backtesting.py is not installed: no comparison")
        else:
            figures.update(oracle)
            figures["ratio"] = round(figures["bars_per_s"] / oracle["backtesting_py_bars_per_s"],
                                     2)
            print(f"backtesting.py: {oracle['backtesting_py_bars_per_s']:,} bars/s "
                  f"({oracle['backtesting_py_trades']:,} trades); ratio {figures['ratio']}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
