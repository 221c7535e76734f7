"""Replay stored or file data through the bus: 1x, 10x, 100x or max, with pause
and single-step. Ticks replay as Tick events (bars are then built live, as in
trading); bar files replay as closed Bar events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.bars import Timeframe
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.feeds.base import Backpressure, FeedState, no_backpressure
from workstation.model import NS_PER_SECOND, Bar, Instrument, Tick

if TYPE_CHECKING:  # the importer (pandas) and the store load when a replay reads them
    from workstation.store import Store

ReplayEvent = Tick | Bar
SPEEDS: tuple[float | None, ...] = (1.0, 10.0, 100.0, None)  # None: as fast as possible
_MAX_WAIT_S = 0.05
_MAX_BURST = 2_048


def ticks_from_store(store: Store, symbols: Iterable[str], start_ns: int | None = None,
                     end_ns: int | None = None) -> Iterator[list[ReplayEvent]]:
    for rows in store.iter_ticks(list(symbols), start_ns, end_ns):
        yield [Tick(*row) for row in rows]


def events_from_file(path: Path, instruments: dict[str, Instrument], *, symbol: str | None = None,
                     timeframe: str | None = None, tz: str | None = None
                     ) -> Iterator[list[ReplayEvent]]:
    from workstation.importer import read_market_file

    data = read_market_file(path, instruments, symbol=symbol, timeframe=timeframe, tz=tz)
    frame = data.frame.sort_values("ts", kind="stable")
    if data.kind == "ticks":
        rows = zip(frame["symbol"], frame["ts"].tolist(), frame["price"].tolist(),
                   frame["size"].tolist(), frame["side"].tolist(), strict=True)
        yield [Tick(*row) for row in rows]
        return
    length = Timeframe.parse(data.timeframe or "1m").nominal_ns
    yield [Bar(r.symbol, data.timeframe or "", int(r.ts), int(r.ts) + length, r.open, r.high,
               r.low, r.close, r.volume, int(r.trades)) for r in frame.itertuples(index=False)]


class ReplayFeed:
    name = "replay"

    def __init__(self, source: Iterable[list[ReplayEvent]], bus: EventBus, clock: SimClock, *,
                 speed: float | None = 1.0, backpressure: Backpressure = no_backpressure) -> None:
        self._source = source
        self._bus = bus
        self._clock = clock
        self._speed = speed
        self._backpressure = backpressure
        self._paused = False
        self._steps = 0
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._anchor_wall = 0.0
        self._anchor_sim: int | None = None
        self.state = FeedState.IDLE
        self.ticks = 0
        self.quotes = 0
        self.bars = 0

    def reference_prices(self) -> dict[str, float]:
        return {}  # a replay's first trade of each symbol is its reference

    # -- controls -----------------------------------------------------------------
    @property
    def speed(self) -> float | None:
        return self._speed

    def set_speed(self, speed: float | None) -> None:
        self._speed = speed
        self._anchor_sim = None  # re-anchor pacing at the next event

    def pause(self) -> None:
        self._paused = True
        self.state = FeedState.PAUSED

    def resume(self) -> None:
        self._paused = False
        self._anchor_sim = None
        self.state = FeedState.LIVE
        self._wakeup.set()

    def step(self, events: int = 1) -> None:
        """While paused, publish the next ``events`` events."""
        self._steps += events
        self._wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    # -- the loop -----------------------------------------------------------------
    async def run(self) -> None:
        self.state = FeedState.PAUSED if self._paused else FeedState.LIVE
        burst = 0
        for batch in self._source:
            for event in batch:
                await self._wait_turn()
                if self._stopping:
                    self.state = FeedState.STOPPED
                    return
                await self._pace(event.ts)
                self._clock.advance_to(event.ts)
                self._bus.publish(event)
                if type(event) is Tick:
                    self.ticks += 1
                else:
                    self.bars += 1
                burst += 1
                if burst >= _MAX_BURST:
                    burst = 0
                    await asyncio.sleep(0)
                    await self._backpressure()
        self.state = FeedState.FINISHED

    async def _wait_turn(self) -> None:
        while self._paused and not self._stopping:
            if self._steps > 0:
                self._steps -= 1
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _pace(self, ts: int) -> None:
        if self._speed is None or self._paused:
            return
        if self._anchor_sim is None:
            self._anchor_sim, self._anchor_wall = ts, time.monotonic()
            return
        while not self._stopping:
            due = self._anchor_wall + (ts - self._anchor_sim) / NS_PER_SECOND / self._speed
            wait = due - time.monotonic()
            if wait <= 0 or self._anchor_sim is None:
                return
            await asyncio.sleep(min(wait, _MAX_WAIT_S))
