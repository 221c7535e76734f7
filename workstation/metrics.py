"""Loop lag and rates: how responsive the engine is, for the status bar and bench.

Wall time is used here on purpose: this measures the machine, and nothing
measured feeds back into engine decisions, so determinism (invariant 6) holds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import numpy as np


class LoopLagMonitor:
    """Schedules a wake-up every ``interval_s`` and records how late it ran."""

    def __init__(self, interval_s: float = 0.05, keep: int = 200_000) -> None:
        self._interval = interval_s
        self._all: deque[float] = deque(maxlen=keep)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            expected = time.perf_counter() + self._interval
            await asyncio.sleep(self._interval)
            lag_ms = max(0.0, (time.perf_counter() - expected) * 1_000.0)
            self._all.append(lag_ms)

    def recent_ms(self) -> float:
        return self._all[-1] if self._all else 0.0

    def percentile_ms(self, q: float) -> float:
        """Percentile of every sample kept (the whole run, up to ``keep`` samples)."""
        return float(np.percentile(self._all, q)) if self._all else 0.0

    @property
    def samples(self) -> int:
        return len(self._all)

    def samples_since(self, first: int) -> list[float]:
        """Lag samples (ms) from sample number ``first`` on."""
        return list(self._all)[first:]


class RateMeter:
    """Events per second from a monotonically growing counter."""

    def __init__(self) -> None:
        self._last_count = 0
        self._last_time = time.monotonic()
        self.rate = 0.0

    def update(self, count: int) -> float:
        now = time.monotonic()
        elapsed = now - self._last_time
        if elapsed >= 0.5:
            self.rate = (count - self._last_count) / elapsed
            self._last_count, self._last_time = count, now
        return self.rate
