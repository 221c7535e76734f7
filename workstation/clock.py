"""Clocks: one interface for live trading, replay and backtests.

Engine code asks the clock for the time and for timers, never the wall clock,
so the same code runs live (LiveClock) and on simulated time (SimClock), where
time moves only when a feed advances it: that is what makes runs repeatable.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

TimerCallback = Callable[[], None]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def call_at(self, ts_ns: int, callback: TimerCallback) -> TimerHandle: ...


class _LiveTimer:
    """An asyncio timer that re-arms itself if the loop wakes it before ``ts_ns``
    (asyncio may run a callback up to one clock tick early, and the wall clock
    can be stepped), so a timer never sees a time before its own."""

    __slots__ = ("_callback", "_handle", "_loop", "_ts")

    def __init__(self, loop: asyncio.AbstractEventLoop, ts_ns: int,
                 callback: TimerCallback) -> None:
        self._loop = loop
        self._ts = ts_ns
        self._callback = callback
        self._handle = self._arm()

    def _arm(self) -> asyncio.TimerHandle:
        delay = max(0.0, (self._ts - time.time_ns()) / 1e9)
        return self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        if time.time_ns() < self._ts:
            self._handle = self._arm()
        else:
            self._callback()

    def cancel(self) -> None:
        self._handle.cancel()


class LiveClock:
    """Wall-clock UTC time; timers run on the asyncio loop, never early."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def now_ns(self) -> int:
        return time.time_ns()

    def call_at(self, ts_ns: int, callback: TimerCallback) -> TimerHandle:
        return _LiveTimer(self._loop or asyncio.get_running_loop(), ts_ns, callback)


class _SimTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: TimerCallback) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class SimClock:
    """Simulated time, advanced by whoever drives it (a feed or a backtest).

    ``advance_to`` fires every timer due at or before the new time, in time order,
    with ``now_ns`` set to each timer's due time while it runs.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._timers: list[tuple[int, int, _SimTimer]] = []
        self._order = itertools.count()
        self.next_due = _NEVER

    def now_ns(self) -> int:
        return self._now

    def call_at(self, ts_ns: int, callback: TimerCallback) -> TimerHandle:
        timer = _SimTimer(callback)
        heapq.heappush(self._timers, (ts_ns, next(self._order), timer))
        if ts_ns < self.next_due:
            self.next_due = ts_ns
        return timer

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns >= self.next_due:
            self._fire_due(ts_ns)
        if ts_ns > self._now:
            self._now = ts_ns

    def _fire_due(self, ts_ns: int) -> None:
        timers = self._timers
        while timers and timers[0][0] <= ts_ns:
            due, _, timer = heapq.heappop(timers)
            if timer.cancelled:
                continue
            if due > self._now:
                self._now = due
            timer.callback()
        self.next_due = timers[0][0] if timers else _NEVER


_NEVER = 2**63 - 1
