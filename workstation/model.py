"""Domain values shared by every part of the engine.

Market events (Tick, Quote, Bar, PartialBar) are NamedTuples: immutable, with no
per-instance ``__dict__``, and about three times cheaper to create than a frozen
dataclass, which matters at hundreds of thousands of ticks per second.
Timestamps are integer nanoseconds since the Unix epoch, UTC (invariant 5).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import NamedTuple

NS_PER_SECOND = 1_000_000_000


class AssetClass(StrEnum):
    FUTURE = "future"
    EQUITY = "equity"
    CRYPTO = "crypto"


class Side(IntEnum):
    """Aggressor side of a trade: a buy lifts the ask, a sell hits the bid."""

    SELL = -1
    UNKNOWN = 0
    BUY = 1


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    tick_size: float
    point_value: float
    lot_size: float
    asset_class: AssetClass
    currency: str
    schedule: str
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("tick_size", "point_value", "lot_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"instrument {self.symbol}: {name} must be > 0")

    @property
    def price_decimals(self) -> int:
        """Decimals needed to show any price on this instrument's tick grid."""
        return decimals_of(self.tick_size)

    @property
    def size_decimals(self) -> int:
        return decimals_of(self.lot_size)

    def round_price(self, price: float) -> float:
        """Nearest price on the tick grid (invariant 7)."""
        return round(round(price / self.tick_size) * self.tick_size, self.price_decimals)

    def round_size(self, size: float) -> float:
        return round(round(size / self.lot_size) * self.lot_size, self.size_decimals)

    def on_tick_grid(self, price: float) -> bool:
        steps = price / self.tick_size
        return math.isclose(steps, round(steps), rel_tol=0.0, abs_tol=1e-6)


@functools.cache
def decimals_of(step: float) -> int:
    """Number of decimals in a step such as 0.25 (2) or 0.0001 (4); cached, as prices
    are rounded with it on every order and fill."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


class Tick(NamedTuple):
    """One trade print."""

    symbol: str
    ts: int
    price: float
    size: float
    side: int = Side.UNKNOWN


class Quote(NamedTuple):
    """Top of book."""

    symbol: str
    ts: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


class BarFlag(IntEnum):
    NONE = 0
    SESSION_FIRST = 1
    SESSION_LAST = 2  # cut at the session close, may be shorter than its timeframe


class Bar(NamedTuple):
    """A closed bar. ``ts`` is the bar's open time; ``end`` its nominal close time."""

    symbol: str
    timeframe: str
    ts: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int
    flags: int = BarFlag.NONE


class MarketBar(Bar):
    """Market data as a bar: the market traded through this range between ``ts`` and
    ``end``. What ticks are to live trading, these are to a bar backtest: the paper broker
    fills resting orders along the bar's intrabar path, the trade tracker marks excursions
    from its high and low. Strategies receive the closed ``Bar`` published after it."""

    __slots__ = ()


class Direction(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Direction.LONG else -1

    @property
    def opposite(self) -> Direction:
        return Direction.SHORT if self is Direction.LONG else Direction.LONG


@dataclass(frozen=True, slots=True)
class Signal:
    """A trade idea (from a strategy, a person or an alert) for the confirmation
    engine, which validates it, waits for the market to confirm it and builds the
    setup a trader approves. ``bar`` is the signal bar; ``price`` what the idea
    was priced at (the staleness check compares it with the market)."""

    symbol: str
    direction: Direction
    ts: int
    source: str
    price: float | None = None
    bar: Bar | None = None
    notes: str = ""


class PartialBar(NamedTuple):
    """The live, still-forming bar, published (throttled) for display."""

    bar: Bar


def ns_to_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC)


def datetime_to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: engine times must carry a time zone")
    return int(moment.timestamp() * 1_000_000) * 1_000
