"""The SMA crossover example's per-bar work without its orders: the bench's control run.

Same averages, same crossing test, counted instead of traded. Run through the same
backtest, the difference from the example is what the trades cost (orders, fills,
brackets, the tracker, the risk monitor), and what this costs is the bar path alone.
"""

from __future__ import annotations

from workstation.indicators import SMA
from workstation.strategy import Bar, Param, Strategy


class SmaWatching(Strategy):
    name = "SMA crossover (watching)"
    version = "1.0"
    description = "The SMA crossover's averages and crossings, without orders."
    symbols = ("NQ",)
    timeframes = ("1m",)
    warmup = 201

    fast = Param(10, min=2, max=100, step=1, doc="fast SMA length (bars)")
    slow = Param(30, min=3, max=200, step=5, doc="slow SMA length (bars)")

    def on_start(self) -> None:
        self.averages: dict[tuple[str, str], tuple[SMA, SMA]] = {}
        self.sides: dict[tuple[str, str], int] = {}
        self.crossings = 0

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        averages = self.averages.get(key)
        if averages is None:
            averages = self.averages[key] = (SMA(self.fast), SMA(self.slow))
        fast, slow = averages[0].update(bar.close), averages[1].update(bar.close)
        if not averages[1].ready:
            return
        side = (fast > slow) - (fast < slow)
        before = self.sides.get(key)
        self.sides[key] = side
        if before is not None and before != side and side != 0 and not self.warming_up:
            self.crossings += 1
