"""Active trades: MFE/MAE in price, money and R, break-even, and how each ended.

A trade runs from the fill that opens a position to the fill that flattens it.
R is the distance from the entry to the initial stop (the bracket's stop-loss,
else the first protective stop placed while the trade is open). On every tick
the tracker updates excursions; when MFE reaches the break-even trigger (+1R
by default) it moves the protective stop to the entry through the router.
The excursion history is kept decimated (a point per 0.1R of movement) so it
stays small enough to store and chart.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.model import NS_PER_SECOND, Instrument, Tick
from workstation.orders import Fill, OrderType, OrderUpdate
from workstation.portfolio import Portfolio

if TYPE_CHECKING:  # the router imports the gate, which reads trades' events
    from workstation.risk.router import OrderRouter

log = logging.getLogger(__name__)

SAMPLE_STEP_R = 0.1
SAMPLE_STEP_TICKS = 4  # without an R, a point per 4 ticks of movement
MAX_SAMPLES = 1_000
_EPS = 1e-9


class ExitReason(StrEnum):
    STOP = "stop"
    BREAK_EVEN = "break_even"
    TARGET = "target"
    MANUAL = "manual"


@dataclass(slots=True)
class ActiveTrade:
    trade_id: str
    symbol: str
    direction: int  # +1 long, -1 short
    qty: float
    entry: float
    entry_ts: int
    point_value: float
    tick_size: float
    source: str = "manual"
    initial_stop: float | None = None
    stop: float | None = None
    target: float | None = None
    stop_order_id: str | None = None
    target_order_id: str | None = None
    max_qty: float = 0.0
    last_price: float = 0.0
    mfe_points: float = 0.0
    mae_points: float = 0.0
    break_even_ts: int | None = None
    realized_pnl: float = 0.0
    commission: float = 0.0
    exit_qty: float = 0.0
    exit_value: float = 0.0
    samples: list[tuple[int, float, float, float]] = field(default_factory=list)
    version: int = 0

    @property
    def side(self) -> str:
        return "long" if self.direction > 0 else "short"

    @property
    def r_points(self) -> float | None:
        if self.initial_stop is None:
            return None
        distance = abs(self.entry - self.initial_stop)
        return distance if distance > _EPS else None

    @property
    def current_points(self) -> float:
        return (self.last_price - self.entry) * self.direction if self.last_price else 0.0

    def in_r(self, points: float) -> float | None:
        r = self.r_points
        return points / r if r else None

    @property
    def unrealized_pnl(self) -> float:
        return self.current_points * self.point_value * self.qty

    @property
    def ticks_to_stop(self) -> float | None:
        if self.stop is None or not self.last_price:
            return None
        return round((self.last_price - self.stop) * self.direction / self.tick_size, 6)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A finished trade, as reports and the store keep it."""

    trade_id: str
    symbol: str
    side: str
    qty: float
    entry: float
    exit: float
    stop: float | None
    target: float | None
    entry_ts: int
    exit_ts: int
    mfe_points: float
    mae_points: float
    mfe_r: float | None
    mae_r: float | None
    r_multiple: float | None
    realized_pnl: float
    commission: float
    exit_reason: str
    break_even_ts: int | None
    source: str

    @property
    def duration_s(self) -> float:
        return (self.exit_ts - self.entry_ts) / NS_PER_SECOND

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class TradeChanged:
    """An active trade opened, moved its stop, or made a new excursion sample."""

    trade: ActiveTrade


@dataclass(frozen=True, slots=True)
class TradeClosed:
    record: TradeRecord
    samples: tuple[tuple[int, float, float, float], ...]


class TradeTracker:
    def __init__(self, instruments: dict[str, Instrument], portfolio: Portfolio,
                 router: OrderRouter, bus: EventBus, clock: Clock,
                 break_even_r: float | None = 1.0) -> None:
        self._instruments = instruments
        self._portfolio = portfolio
        self._router = router
        self._bus = bus
        self._clock = clock
        self.break_even_r = break_even_r
        self._active: dict[str, ActiveTrade] = {}
        self._orders: dict[str, OrderUpdate] = {}
        self.closed: deque[TradeRecord] = deque(maxlen=5_000)
        self._ids = itertools.count(1)
        bus.subscribe(OrderUpdate, self.on_order, "TradeTracker.on_order")
        bus.subscribe(Fill, self.on_fill, "TradeTracker.on_fill")
        bus.subscribe(Tick, self.on_tick, "TradeTracker.on_tick")

    def active(self) -> list[ActiveTrade]:
        return list(self._active.values())

    def trade_for(self, symbol: str) -> ActiveTrade | None:
        return self._active.get(symbol)

    def trade_by_id(self, trade_id: str) -> ActiveTrade | None:
        return next((t for t in self._active.values() if t.trade_id == trade_id), None)

    def clear(self) -> None:
        """Forget active trades (an account reset); closed ones stay in history."""
        self._active.clear()

    def restore(self, trades: list[ActiveTrade], next_id: int) -> None:
        for trade in trades:
            self._active[trade.symbol] = trade
        self._ids = itertools.count(next_id)

    # -- events --------------------------------------------------------------------------
    def on_order(self, update: OrderUpdate) -> None:
        if update.status.terminal:
            self._orders.pop(update.order_id, None)
        else:
            self._orders[update.order_id] = update
        trade = self._active.get(update.symbol)
        if trade is not None:
            self._note_protection(trade, update)

    def _note_protection(self, trade: ActiveTrade, update: OrderUpdate) -> None:
        """Protective orders are those on the exit side: stops set the stop, limits the target."""
        exit_side = update.side.sign == -trade.direction
        if not exit_side:
            return
        if update.type in (OrderType.STOP, OrderType.TRAILING_STOP, OrderType.STOP_LIMIT):
            if update.status.terminal:
                if trade.stop_order_id == update.order_id:
                    trade.stop_order_id = None
                return
            if trade.stop_order_id in (None, update.order_id):
                trade.stop_order_id = update.order_id
                trade.stop = update.stop_price
                if trade.initial_stop is None:
                    trade.initial_stop = update.stop_price
                self._changed(trade)
        elif update.type is OrderType.LIMIT:
            if update.status.terminal:
                if trade.target_order_id == update.order_id:
                    trade.target_order_id = None
                return
            if trade.target_order_id in (None, update.order_id):
                trade.target_order_id = update.order_id
                trade.target = update.limit_price
                self._changed(trade)

    def on_fill(self, fill: Fill) -> None:
        position = self._portfolio.position(fill.symbol)
        trade = self._active.get(fill.symbol)
        signed = fill.signed_qty
        if trade is None:
            if position != 0:
                self._open(fill, position)
            return
        trade.commission += fill.commission
        if signed * trade.direction > 0:  # adding to the trade
            trade.qty = abs(position)
            trade.max_qty = max(trade.max_qty, trade.qty)
            trade.entry = self._portfolio.positions[fill.symbol].avg_price
            self._changed(trade)
            return
        closing = min(fill.qty, trade.qty)
        trade.exit_qty += closing
        trade.exit_value += closing * fill.price
        trade.realized_pnl += (closing * (fill.price - trade.entry) * trade.direction
                               * trade.point_value)
        trade.last_price = fill.price
        # an exit is a price the trade saw: the tick that triggered it reaches the broker
        # before this tracker, and a stop fills at the bid or ask beyond it
        points = (fill.price - trade.entry) * trade.direction
        trade.mfe_points = max(trade.mfe_points, points)
        trade.mae_points = min(trade.mae_points, points)
        if position == 0 or position * trade.direction < 0:
            self._close(trade, fill)
            if position != 0:  # flipped: the remainder opens a new trade
                self._open(fill, position)
        else:
            trade.qty = abs(position)
            self._changed(trade)

    def on_tick(self, tick: Tick) -> None:
        trade = self._active.get(tick.symbol)
        if trade is None:
            return
        trade.last_price = tick.price
        points = (tick.price - trade.entry) * trade.direction
        extreme = points > trade.mfe_points or points < trade.mae_points
        if points > trade.mfe_points:
            trade.mfe_points = points
            self._maybe_break_even(trade)
        elif points < trade.mae_points:
            trade.mae_points = points
        trade.version += 1
        last = trade.samples[-1][1] if trade.samples else 0.0
        step = (trade.r_points * SAMPLE_STEP_R if trade.r_points
                else trade.tick_size * SAMPLE_STEP_TICKS)
        if abs(points - last) >= step - _EPS:
            self._sample(trade, tick.ts, points)
        elif extreme:
            self._changed(trade)  # a new MFE or MAE between samples: the journal keeps it

    # -- internals -------------------------------------------------------------------------
    def _open(self, fill: Fill, position: float) -> None:
        inst = self._instruments[fill.symbol]
        direction = 1 if position > 0 else -1
        trade = ActiveTrade(f"T{next(self._ids)}", fill.symbol, direction, abs(position),
                            fill.price, fill.ts, inst.point_value, inst.tick_size, fill.source,
                            max_qty=abs(position), last_price=fill.price,
                            commission=fill.commission)
        intent = self._orders.get(fill.order_id)
        bracket = intent.intent.bracket if intent is not None else None
        if bracket is not None:
            trade.initial_stop = trade.stop = bracket.stop_loss
            trade.target = bracket.take_profit
        self._active[fill.symbol] = trade
        for update in list(self._orders.values()):
            if update.symbol == fill.symbol:
                self._note_protection(trade, update)
        self._sample(trade, fill.ts, 0.0)
        log.info("trade %s opened: %s %g %s at %s", trade.trade_id, trade.side, trade.qty,
                 trade.symbol, fill.price)

    def _maybe_break_even(self, trade: ActiveTrade) -> None:
        r = trade.r_points
        if (self.break_even_r is None or r is None or trade.break_even_ts is not None
                or trade.stop_order_id is None
                or trade.mfe_points < self.break_even_r * r - _EPS):
            return
        entry = self._instruments[trade.symbol].round_price(trade.entry)
        self._router.replace(trade.stop_order_id, stop_price=entry)
        trade.stop = entry
        trade.break_even_ts = self._clock.now_ns()
        log.info("trade %s: stop moved to break-even %s at +%.2fR", trade.trade_id, entry,
                 trade.mfe_points / r)
        self._changed(trade)

    def _sample(self, trade: ActiveTrade, ts: int, points: float) -> None:
        trade.samples.append((ts, points, trade.mfe_points, trade.mae_points))
        if len(trade.samples) > MAX_SAMPLES:
            trade.samples[:] = trade.samples[::2]  # keep the shape, halve the points
        self._changed(trade)

    def _changed(self, trade: ActiveTrade) -> None:
        trade.version += 1
        self._bus.publish(TradeChanged(trade))

    def _close(self, trade: ActiveTrade, fill: Fill) -> None:
        del self._active[trade.symbol]
        exit_price = trade.exit_value / trade.exit_qty if trade.exit_qty else fill.price
        order = self._orders.get(fill.order_id)
        reason = self._exit_reason(trade, fill, order)
        r = trade.r_points
        record = TradeRecord(
            trade.trade_id, trade.symbol, trade.side, trade.max_qty, trade.entry,
            self._instruments[trade.symbol].round_price(exit_price), trade.initial_stop,
            trade.target, trade.entry_ts, fill.ts, trade.mfe_points, trade.mae_points,
            _ratio(trade.mfe_points, r), _ratio(trade.mae_points, r),
            _ratio((exit_price - trade.entry) * trade.direction, r), trade.realized_pnl,
            trade.commission, reason, trade.break_even_ts, trade.source)
        trade.samples.append((fill.ts, (exit_price - trade.entry) * trade.direction,
                              trade.mfe_points, trade.mae_points))
        self.closed.append(record)
        log.info("trade %s closed (%s): %s R, P&L %.2f, commission %.2f", trade.trade_id,
                 reason, "n/a" if record.r_multiple is None else f"{record.r_multiple:+.2f}",
                 trade.realized_pnl, trade.commission)
        self._bus.publish(TradeClosed(record, tuple(trade.samples)))

    def _exit_reason(self, trade: ActiveTrade, fill: Fill, order: OrderUpdate | None) -> str:
        if fill.order_id == trade.stop_order_id or (
                order is not None and order.type in (OrderType.STOP, OrderType.TRAILING_STOP)
                and order.intent.parent_id is not None):
            return ExitReason.BREAK_EVEN if trade.break_even_ts is not None else ExitReason.STOP
        if fill.order_id == trade.target_order_id or (
                order is not None and order.type is OrderType.LIMIT
                and order.intent.parent_id is not None):  # any bracket's take-profit
            return ExitReason.TARGET
        return ExitReason.MANUAL


def _ratio(points: float, r: float | None) -> float | None:
    return round(points / r, 6) if r else None
