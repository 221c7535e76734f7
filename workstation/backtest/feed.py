"""The bar feed of a backtest: historical bars through the bus, in time order.

Each bar is published twice: first as a MarketBar at its open (the market data: the
paper broker fills what its range reaches, positions are marked at its close), then,
with the clock at its close, as the closed Bar that strategies and the signal engine
see. A symbol that a running strategy wants ticks of is published instead as four
trades (open, nearer extreme, farther extreme, close), which everything handles as
live ticks, followed by its closed Bar.

The loop is the hot path of a backtest: columns are read a chunk at a time as Python
lists (a million bars never exist as objects at once), and the loop yields to asyncio
between chunks, so timers, progress and cancel keep working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from workstation.backtest.data import BarData
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.feeds.base import FeedState
from workstation.model import Bar, MarketBar, Tick

CHUNK = 8_192
Progress = Callable[[int, int], None]  # (bars done, bars in all)
AfterBar = Callable[[int], None]  # the bar's close time, once strategies have seen it


class BarFeed:
    name = "backtest"

    def __init__(self, series: list[BarData], bus: EventBus, clock: SimClock, *,
                 tick_symbols: Callable[[], set[str]] = set,
                 progress: Progress | None = None, after_bar: AfterBar | None = None) -> None:
        """``tick_symbols``: asked at the start, the symbols to publish as trades."""
        self._series = series
        self._bus = bus
        self._clock = clock
        self._tick_symbols = tick_symbols
        self._progress = progress
        self._after_bar = after_bar
        self._stopping = False
        self.state = FeedState.IDLE
        self.ticks = 0
        self.quotes = 0
        self.bars = 0
        self.total = sum(len(s) for s in series)
        first = min((int(s.ts[0]) for s in series if len(s)), default=0)
        clock.advance_to(first)

    def reference_prices(self) -> dict[str, float]:
        return {s.symbol: float(s.open[0]) for s in self._series if len(s)}

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        self.state = FeedState.LIVE
        merged = _merged(self._series)
        as_ticks = self._tick_symbols()
        names = [(s.symbol, s.timeframe, s.symbol in as_ticks) for s in self._series]
        for start in range(0, self.total, CHUNK):
            if self._stopping:
                self.state = FeedState.STOPPED
                return
            self._publish([column[start:start + CHUNK].tolist() for column in merged], names)
            if self._progress is not None:
                self._progress(self.bars, self.total)
            await asyncio.sleep(0)
        self.state = FeedState.FINISHED

    def _publish(self, columns: list[list], names: list[tuple[str, str, bool]]) -> None:
        publish, advance, after = self._bus.publish, self._clock.advance_to, self._after_bar
        for which, ts, end, o, h, lo, c, v, n, f in zip(*columns, strict=True):
            symbol, timeframe, ticks = names[which]
            advance(ts)
            if ticks:
                self._trades(symbol, ts, end, o, h, lo, c, v)
            else:
                publish(MarketBar(symbol, timeframe, ts, end, o, h, lo, c, v, n, f))
            advance(end)
            publish(Bar(symbol, timeframe, ts, end, o, h, lo, c, v, n, f))
            if after is not None:
                after(end)
        self.bars += len(columns[0])

    def _trades(self, symbol: str, ts: int, end: int, o: float, h: float, lo: float,
                c: float, volume: float) -> None:
        first, second = (h, lo) if h - o <= o - lo else (lo, h)
        span = end - ts
        size = volume / 4
        for number, price in enumerate((o, first, second, c)):
            at = end - 1 if number == 3 else ts + span * number // 3
            self._clock.advance_to(at)
            self._bus.publish(Tick(symbol, at, price, size))
            self.ticks += 1


def _merged(series: list[BarData]) -> list[np.ndarray]:
    """(series index, ts, end, open, high, low, close, volume, trades, flags) of every bar,
    ordered by close time (then by series: stable)."""
    names = ("ts", "end", "open", "high", "low", "close", "volume", "trades", "flags")
    which = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(series)])
    if len(series) == 1:  # no copies of a single series' columns
        return [which, *(getattr(series[0], name) for name in names)]
    columns = [which] + [np.concatenate([getattr(s, name) for s in series]) for name in names]
    order = np.argsort(columns[2], kind="stable")
    return [column[order] for column in columns]
