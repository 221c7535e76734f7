"""Orders: what a trader asks for (OrderIntent), what the broker keeps (Order),
and what it reports (OrderUpdate, Fill). One state machine for every order type.

An OrderIntent is the only way to ask for an order; it reaches a broker only
through the OrderRouter, which runs the risk gate first (invariant 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class TrailUnit(StrEnum):
    AMOUNT = "amount"
    TICKS = "ticks"
    PERCENT = "percent"


class OrderStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def working(self) -> bool:
        return self in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                       OrderStatus.EXPIRED})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.ACCEPTED, OrderStatus.REJECTED}),
    OrderStatus.ACCEPTED: frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
                                     OrderStatus.CANCELED, OrderStatus.EXPIRED}),
    OrderStatus.PARTIALLY_FILLED: frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
                                             OrderStatus.CANCELED, OrderStatus.EXPIRED}),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """An order was asked to move to a state its current state cannot reach."""


@dataclass(frozen=True, slots=True)
class Bracket:
    """Exits attached to an entry; they become an OCO pair once it fills.

    A leg is either an absolute price, or anchored to the entry's average fill so
    that a slipped fill does not change the risk the trader chose: ``stop_offset``
    and ``target_offset`` are distances in price points from the fill, and
    ``target_r`` puts the target at that multiple of the fill-to-stop distance (a
    signal setup's structural stop stays where it is; its targets follow the fill).
    With an anchored leg, ``stop_loss`` / ``take_profit`` hold the estimate from the
    market when the order was made: the risk gate judges the order by them.
    """

    stop_loss: float | None = None
    take_profit: float | None = None
    stop_offset: float | None = None
    target_offset: float | None = None
    target_r: float | None = None

    @property
    def anchored(self) -> bool:
        """Some leg is priced from the fill rather than given as a price."""
        return (self.stop_offset is not None or self.target_offset is not None
                or self.target_r is not None)

    def at_fill(self, side: OrderSide, fill_price: float,
                round_price: Callable[[float], float]) -> tuple[float | None, float | None]:
        """(stop-loss, take-profit) for an entry on ``side`` filled at ``fill_price`` on
        average, on the tick grid: anchored legs from the fill, the others as given."""
        sign = side.sign
        stop = self.stop_loss
        if self.stop_offset is not None:
            stop = round_price(fill_price - sign * self.stop_offset)
        target = self.take_profit
        if self.target_offset is not None:
            target = round_price(fill_price + sign * self.target_offset)
        elif self.target_r is not None and stop is not None:
            target = round_price(fill_price + sign * self.target_r * abs(fill_price - stop))
        return stop, target


@dataclass(frozen=True, slots=True)
class OrderIntent:
    client_order_id: str
    symbol: str
    side: OrderSide
    qty: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    trail: float | None = None
    trail_unit: TrailUnit = TrailUnit.TICKS
    tif: TimeInForce = TimeInForce.DAY
    bracket: Bracket | None = None
    oco_group: str | None = None
    parent_id: str | None = None  # bracket legs name their entry's client_order_id
    source: str = "manual"
    # the signal whose setup this order carries: its entries (one bracket per target)
    # are one trade, and its legs say so too
    signal_id: str | None = None

    def describe(self) -> str:
        """``buy 1 NQ limit 20,884.25 day``: the prices name the type (once), in full."""
        price = ""
        if self.stop_price is not None:
            price += f" stop {self.stop_price:,.10g}"
        if self.limit_price is not None:
            price += f" limit {self.limit_price:,.10g}"
        if self.trail is not None:
            price += f" trailing stop {self.trail:,.10g} {self.trail_unit}"
        return f"{self.side} {self.qty:g} {self.symbol}{price or ' ' + self.type} {self.tif}"


@dataclass(slots=True)
class Order:
    """The broker's live record of one order. Mutated only by its broker."""

    order_id: str
    intent: OrderIntent
    status: OrderStatus = OrderStatus.NEW
    qty: float = 0.0
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    limit_price: float | None = None
    stop_price: float | None = None
    triggered: bool = False
    trail_anchor: float | None = None  # best price seen since activation (trailing stops)
    active_from: int = 0  # latency: the order reaches the market at this clock time
    reason: str = ""
    created_ts: int = 0
    updated_ts: int = 0
    children: list[str] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return self.intent.symbol

    @property
    def side(self) -> OrderSide:
        return self.intent.side

    @property
    def remaining(self) -> float:
        return self.qty - self.filled_qty

    def transition(self, status: OrderStatus, ts: int, reason: str = "") -> None:
        if status not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"order {self.order_id} ({self.intent.client_order_id}): "
                f"{self.status} -> {status} is not allowed"
            )
        self.status = status
        self.updated_ts = ts
        if reason:
            self.reason = reason

    def snapshot(self) -> OrderUpdate:
        return OrderUpdate(self.order_id, self.intent.client_order_id, self.symbol, self.side,
                           self.intent.type, self.status, self.qty, self.filled_qty,
                           self.avg_fill_price, self.limit_price, self.stop_price, self.reason,
                           self.updated_ts, self.intent)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order's state after a transition, fill or modification."""

    order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    qty: float
    filled_qty: float
    avg_fill_price: float
    limit_price: float | None
    stop_price: float | None
    reason: str
    ts: int
    intent: OrderIntent

    @property
    def remaining(self) -> float:
        return self.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    qty: float
    price: float
    commission: float
    ts: int
    source: str = "manual"

    @property
    def signed_qty(self) -> float:
        return self.qty * self.side.sign

