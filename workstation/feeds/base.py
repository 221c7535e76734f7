"""What every market data feed shares: a state the status bar can show, and the
throttle hook through which a fast producer waits for a slower consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

Backpressure = Callable[[], Awaitable[None]]


class FeedState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"  # connected, but silent while the market is open
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    MARKET_CLOSED = "market closed"
    FINISHED = "finished"
    STOPPED = "stopped"
    ERROR = "error"


class DataFeed(Protocol):
    name: str
    state: FeedState
    ticks: int
    quotes: int

    async def run(self) -> None:
        """Publish events until finished or stopped."""

    def reference_prices(self) -> dict[str, float]:
        """Previous-close prices the feed knows (the watchlist's change column)."""

    def stop(self) -> None: ...


async def no_backpressure() -> None:
    return None
