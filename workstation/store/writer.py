"""The store writer: batches ticks and bars so the loop never waits on disk.

Bus handlers only append a tuple to a list. Full batches (or, on a timer, any
rows at all) go to one dedicated writer thread, so commits happen in order and
off the loop (invariant 2). A producer faster than the disk (a replay or a
simulation at max speed) awaits ``backpressure`` and so slows to the disk's pace
instead of growing memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from time import perf_counter
from typing import Any, TypeVar

from workstation.bus import EventBus
from workstation.model import Bar, Tick
from workstation.store.database import BarRow, Store, bar_row
from workstation.store.health import StoreHealth
from workstation.store.ticks import TickColumns

log = logging.getLogger(__name__)

_MAX_PENDING_BATCHES = 4
T = TypeVar("T")


class StoreWriter:
    def __init__(self, store: Store, bus: EventBus, *, flush_rows: int = 20_000,
                 flush_interval_s: float = 0.25, store_ticks: bool = True,
                 store_bars: bool = True, health: StoreHealth | None = None) -> None:
        self._store = store
        self._flush_rows = flush_rows
        self._interval = flush_interval_s
        self._ticks: dict[str, TickColumns] = {}
        self._tick_rows = 0
        self._bars: list[BarRow] = []
        self._pending: deque[Future[Any]] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._timer_task: asyncio.Task[None] | None = None
        self.rows_written = 0
        self.batches = 0
        self.write_seconds = 0.0
        self.failures = 0
        self.dropped_rows = 0  # market data not stored while the disk was full
        self._health = health
        if store_ticks:
            bus.subscribe(Tick, self.on_tick, "StoreWriter.on_tick")
        if store_bars:
            bus.subscribe(Bar, self.on_bar, "StoreWriter.on_bar")

    def on_tick(self, tick: Tick) -> None:
        columns = self._ticks.get(tick.symbol)
        if columns is None:
            columns = self._ticks[tick.symbol] = TickColumns()
        columns.ts.append(tick.ts)
        columns.price.append(tick.price)
        columns.size.append(tick.size)
        columns.side.append(tick.side)
        self._tick_rows += 1
        if self._tick_rows >= self._flush_rows:
            self.flush()

    def on_bar(self, bar: Bar) -> None:
        self._bars.append(bar_row(bar))

    def start(self) -> None:
        self._timer_task = asyncio.get_running_loop().create_task(self._flush_periodically())

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows to the writer thread (never blocks)."""
        if not self._ticks and not self._bars:
            return
        ticks, bars, rows = self._ticks, self._bars, self._tick_rows
        self._ticks, self._bars, self._tick_rows = {}, [], 0
        if self._health is not None and self._health.low_disk:
            if not self.dropped_rows:
                log.error("store writer: the disk is full; market data is not stored until "
                          "space is freed (trading events are)")
            self.dropped_rows += rows + len(bars)
            return
        self._pending.append(self._executor.submit(self._write, ticks, rows, bars))
        while self._pending and self._pending[0].done():
            self._pending.popleft()

    def _write(self, ticks: dict[str, TickColumns], tick_rows: int, bars: list[BarRow]) -> None:
        started = perf_counter()
        try:
            self._store.write(ticks.items(), bars)
        except Exception:
            self.failures += 1
            log.exception("store writer: a batch of %d ticks and %d bars was not written",
                          tick_rows, len(bars))
            raise
        self.write_seconds += perf_counter() - started
        self.rows_written += tick_rows + len(bars)
        self.batches += 1

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """Queue a write of someone else's (the journal) behind the pending batches; its
        owner handles its outcome."""
        future = self._executor.submit(function)
        self._pending.append(future)
        return future

    async def call(self, function: Callable[[], T]) -> T:
        """Run a store read on the writer thread: off the loop, and after the writes
        queued before it."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    async def backpressure(self) -> None:
        """Wait while too many batches are queued for the disk."""
        while len(self._pending) > _MAX_PENDING_BATCHES:
            oldest = self._pending.popleft()
            with contextlib.suppress(Exception):  # already logged by _write
                await asyncio.wrap_future(oldest)

    async def drain(self) -> None:
        """Write everything buffered so far and wait until it is done. A batch that failed
        was already logged (market data) or is kept and retried by its owner (the journal)."""
        self.flush()
        while self._pending:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._pending.popleft())

    async def close(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
        try:
            await self.drain()
        finally:
            self._executor.shutdown(wait=True)
