"""Active trades: MFE/MAE in price, money and R, break-even, and how each ended.

One trade per entry: an entry that carries its own stop (a bracket with a
stop-loss) opens a trade of its own, with its own R, excursions, break-even and
exit reason, while the portfolio still nets the position per symbol. A signal's
entries (one bracket per target) are one trade. An entry without a stop that
adds to a position joins the latest trade on that side (from flat it opens one).
An exit fill goes first to the trade whose bracket leg it is, then to the other
trades on the symbol, oldest first; when an exit that is not a trade's own
closes it, its bracket legs are canceled, and when it only reduces it, they
shrink to what the trade still holds. A fill beyond flat opens a trade on the
other side.

R is the distance from the trade's average entry to its initial stop (the
bracket's stop-loss, priced from the fill when anchored, else the first
protective stop placed while the trade is open). On every tick the tracker
updates excursions; when MFE reaches the break-even trigger (+1R by default) it
moves the trade's protective stops to its entry through the router. The
excursion history is kept decimated (a point per 0.1R of movement) so it stays
small enough to store and chart.
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
from workstation.model import NS_PER_SECOND, Instrument, MarketBar, Tick
from workstation.orders import (
    Fill,
    OrderIntent,
    OrderSide,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
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
    signal_id: str | None = None  # the signal whose setup it trades
    entry_ids: list[str] = field(default_factory=list)  # client ids of its entry orders
    leg_ids: list[str] = field(default_factory=list)  # order ids of its bracket legs

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
    signal_id: str | None = None

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


_STOP_TYPES = (OrderType.STOP, OrderType.TRAILING_STOP, OrderType.STOP_LIMIT)


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
        self._active: dict[str, ActiveTrade] = {}  # trade id -> trade, oldest first
        self._by_symbol: dict[str, list[ActiveTrade]] = {}  # oldest first
        self._orders: dict[str, OrderUpdate] = {}
        self._closing: dict[str, str] = {}  # client id of a close_trade order -> trade id
        self.closed: deque[TradeRecord] = deque(maxlen=5_000)
        # excursion samples and TradeChanged on every new sample or extreme: what the
        # Trades panel and the journal show; a backtest, which shows neither, turns them off
        self.excursions = True
        self._ids = itertools.count(1)
        bus.subscribe(OrderUpdate, self.on_order, "TradeTracker.on_order")
        bus.subscribe(Fill, self.on_fill, "TradeTracker.on_fill")
        bus.subscribe(Tick, self.on_tick, "TradeTracker.on_tick")
        bus.subscribe(MarketBar, self.on_market_bar, "TradeTracker.on_market_bar")

    def active(self) -> list[ActiveTrade]:
        return list(self._active.values())

    def trades_for(self, symbol: str) -> list[ActiveTrade]:
        """The symbol's active trades, oldest first."""
        return list(self._by_symbol.get(symbol, ()))

    def trade_for(self, symbol: str) -> ActiveTrade | None:
        """The symbol's latest active trade (several may be open on one position)."""
        trades = self._by_symbol.get(symbol)
        return trades[-1] if trades else None

    def trade_for_entry(self, client_order_id: str) -> ActiveTrade | None:
        """The trade an entry order's fills went to."""
        return next((t for t in self._active.values() if client_order_id in t.entry_ids),
                    None)

    def trade_by_id(self, trade_id: str) -> ActiveTrade | None:
        return self._active.get(trade_id)

    def close_trade(self, trade_id: str, client_order_id: str,
                    source: str = "manual") -> OrderUpdate:
        """Close one trade, not the whole position: cancel its bracket legs and sell (or
        buy back) what it holds at market; the fill is that trade's exit. ValueError when
        there is no such active trade."""
        trade = self._active.get(trade_id)
        if trade is None:
            raise ValueError(f"no active trade {trade_id!r}")
        self._cancel_legs(trade, f"trade {trade_id} closed by the trader")
        side = OrderSide.SELL if trade.direction > 0 else OrderSide.BUY
        self._closing[client_order_id] = trade_id
        return self._router.submit(OrderIntent(client_order_id, trade.symbol, side, trade.qty,
                                               OrderType.MARKET, tif=TimeInForce.IOC,
                                               source=source))

    def clear(self) -> None:
        """Forget active trades (an account reset); closed ones stay in history."""
        self._active.clear()
        self._by_symbol.clear()

    def restore(self, trades: list[ActiveTrade], next_id: int) -> None:
        for trade in trades:
            self._add(trade)
        self._ids = itertools.count(next_id)

    # -- events --------------------------------------------------------------------------
    def on_order(self, update: OrderUpdate) -> None:
        if update.status.terminal:
            self._orders.pop(update.order_id, None)
        else:
            self._orders[update.order_id] = update
        self._protect(update)

    def _protect(self, update: OrderUpdate) -> None:
        """Note an exit-side order on the trade it protects: its own bracket leg, else
        the newest trade on the symbol with that slot (stop or target) free."""
        trades = self._by_symbol.get(update.symbol)
        if not trades or update.side.sign != -trades[0].direction:
            return
        owner = self._owner(update.order_id, trades)
        parent = update.intent.parent_id
        if owner is None and parent is not None:
            owner = next((t for t in trades if parent in t.entry_ids), None)
            if owner is not None:
                owner.leg_ids.append(update.order_id)
        if owner is None:
            if update.status.terminal:
                return
            slot = "stop_order_id" if update.type in _STOP_TYPES else "target_order_id"
            owner = next((t for t in reversed(trades) if getattr(t, slot) is None), None)
        if owner is not None:
            self._note_protection(owner, update)

    @staticmethod
    def _owner(order_id: str, trades: list[ActiveTrade]) -> ActiveTrade | None:
        return next((t for t in trades if order_id in (t.stop_order_id, t.target_order_id)
                     or order_id in t.leg_ids), None)

    def _note_protection(self, trade: ActiveTrade, update: OrderUpdate) -> None:
        """Protective orders are those on the exit side: stops set the stop, limits the target."""
        if update.type in _STOP_TYPES:
            if update.status.terminal:
                if trade.stop_order_id == update.order_id:
                    trade.stop_order_id = None
                    self._rebind(trade)
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
                    self._rebind(trade)
                return
            if trade.target_order_id in (None, update.order_id):
                trade.target_order_id = update.order_id
                trade.target = update.limit_price
                self._changed(trade)

    def _rebind(self, trade: ActiveTrade) -> None:
        """A leg is done: another working leg of the trade's own (a signal's next
        bracket) takes its place in the stop or target column."""
        for order_id in trade.leg_ids:
            update = self._orders.get(order_id)
            if update is not None:
                self._note_protection(trade, update)

    def on_fill(self, fill: Fill) -> None:
        trades = self._by_symbol.get(fill.symbol, [])
        order = self._orders.get(fill.order_id)  # as it was before this fill
        if trades and fill.side.sign == -trades[0].direction:
            self._exit(fill, order, trades)
        else:
            self._entry(fill, order, trades)

    def _entry(self, fill: Fill, order: OrderUpdate | None, trades: list[ActiveTrade]) -> None:
        intent = order.intent if order is not None else None
        trade = self._entry_trade(fill, intent, trades)
        if trade is None:
            position = self._portfolio.position(fill.symbol)
            if position == 0:
                return
            if trades:
                self._open(fill, order, fill.qty, fill.commission, fill.side.sign)
            else:  # from flat the trade is the whole position (some may predate the tracker)
                self._open(fill, order, abs(position), fill.commission,
                           1 if position > 0 else -1)
            return
        trade.commission += fill.commission
        total = trade.qty + fill.qty
        trade.entry = (trade.entry * trade.qty + fill.price * fill.qty) / total
        trade.qty = total
        trade.max_qty = max(trade.max_qty, trade.qty)
        if fill.client_order_id not in trade.entry_ids:
            trade.entry_ids.append(fill.client_order_id)
        bracket = intent.bracket if intent is not None else None
        if (bracket is not None and bracket.anchored and trade.break_even_ts is None
                and trade.entry_ids[0] == fill.client_order_id):
            # the entry's average moved: so did the legs the broker priced from it
            stop, target = bracket.at_fill(fill.side, _average(order, fill),
                                           self._instruments[fill.symbol].round_price)
            trade.initial_stop = stop if stop is not None else trade.initial_stop
            if trade.stop_order_id is None:
                trade.stop = trade.initial_stop
            if trade.target_order_id is None and target is not None:
                trade.target = target
        self._changed(trade)

    def _entry_trade(self, fill: Fill, intent: OrderIntent | None,
                     trades: list[ActiveTrade]) -> ActiveTrade | None:
        """The trade an entry fill adds to; None: it opens one."""
        for trade in trades:
            if fill.client_order_id in trade.entry_ids:
                return trade
        bracket = intent.bracket if intent is not None else None
        if bracket is not None and (bracket.stop_loss is not None
                                    or bracket.stop_offset is not None):
            signal_id = intent.signal_id if intent is not None else None
            if signal_id is None:
                return None
            return next((t for t in trades if t.signal_id == signal_id), None)
        return trades[-1] if trades else None

    def _exit(self, fill: Fill, order: OrderUpdate | None, trades: list[ActiveTrade]) -> None:
        """Share an exit out: its own trade first, then the others, oldest first."""
        owner = self._owner(fill.order_id, trades)
        closing = self._closing.get(fill.client_order_id)
        if owner is None and closing is not None:
            owner = self._active.get(closing)
        if owner is None and order is not None and order.intent.parent_id is not None:
            owner = next((t for t in trades if order.intent.parent_id in t.entry_ids), None)
        ordered = ([owner] if owner is not None else []) + [t for t in trades if t is not owner]
        left = fill.qty
        for trade in ordered:
            if left <= _EPS:
                break
            take = min(left, trade.qty)
            left -= take
            self._reduce(trade, fill, take)
            if trade.qty <= _EPS:
                self._close(trade, fill, order)
                if trade is not owner:
                    self._cancel_legs(trade, f"trade {trade.trade_id} closed by "
                                             f"{fill.client_order_id}")
            else:
                if trade is not owner:
                    self._shrink_legs(trade)
                self._changed(trade)
        position = self._portfolio.position(fill.symbol)
        if position == 0:  # flat: nothing is left of any trade, whatever the books said
            for trade in list(self._by_symbol.get(fill.symbol, ())):
                self._close(trade, fill, order)
        elif left > _EPS:  # flipped: the rest opens a trade on the other side
            self._open(fill, order, left, fill.commission * left / fill.qty, fill.side.sign)

    def _reduce(self, trade: ActiveTrade, fill: Fill, qty: float) -> None:
        trade.commission += fill.commission * qty / fill.qty
        trade.qty = self._instruments[trade.symbol].round_size(trade.qty - qty)
        trade.exit_qty += qty
        trade.exit_value += qty * fill.price
        trade.realized_pnl += qty * (fill.price - trade.entry) * trade.direction \
            * trade.point_value
        trade.last_price = fill.price
        # an exit is a price the trade saw: the tick that triggered it reaches the broker
        # before this tracker, and a stop fills at the bid or ask beyond it
        points = (fill.price - trade.entry) * trade.direction
        trade.mfe_points = max(trade.mfe_points, points)
        trade.mae_points = min(trade.mae_points, points)

    def _own_working_legs(self, trade: ActiveTrade) -> list[OrderUpdate]:
        ids = {*trade.leg_ids, trade.stop_order_id, trade.target_order_id}
        return [o for o in self._router.working_orders() if o.order_id in ids]

    def _cancel_legs(self, trade: ActiveTrade, reason: str) -> None:
        """Another order closed the trade: its bracket would exit what it no longer holds."""
        for leg in self._own_working_legs(trade):
            self._router.cancel(leg.order_id, reason)

    def _shrink_legs(self, trade: ActiveTrade) -> None:
        """Another order reduced the trade: its legs exit no more than it still holds."""
        for leg in self._own_working_legs(trade):
            if leg.remaining > trade.qty + _EPS:
                self._router.replace(leg.order_id, qty=leg.filled_qty + trade.qty)

    def on_tick(self, tick: Tick) -> None:
        trades = self._by_symbol.get(tick.symbol)
        if not trades:
            return
        for trade in list(trades):
            self._mark(trade, tick.price, tick.ts)

    def on_market_bar(self, bar: MarketBar) -> None:
        """A bar backtest's market data: a trade's excursions reach the bar's extremes (only
        its close for a trade opened inside the bar: the range may predate the entry)."""
        trades = self._by_symbol.get(bar.symbol)
        if not trades:
            return
        end = bar.end
        for trade in list(trades):
            if trade.entry_ts <= bar.ts:
                best, worst = ((bar.high, bar.low) if trade.direction > 0
                               else (bar.low, bar.high))
                if (best - trade.entry) * trade.direction > trade.mfe_points:
                    self._mark(trade, best, end)
                if (worst - trade.entry) * trade.direction < trade.mae_points:
                    self._mark(trade, worst, end)
            self._mark(trade, bar.close, end)

    def _mark(self, trade: ActiveTrade, price: float, ts: int) -> None:
        trade.last_price = price
        points = (price - trade.entry) * trade.direction
        extreme = points > trade.mfe_points or points < trade.mae_points
        if points > trade.mfe_points:
            trade.mfe_points = points
            self._maybe_break_even(trade)
        elif points < trade.mae_points:
            trade.mae_points = points
        trade.version += 1
        if not self.excursions:
            return
        last = trade.samples[-1][1] if trade.samples else 0.0
        step = (trade.r_points * SAMPLE_STEP_R if trade.r_points
                else trade.tick_size * SAMPLE_STEP_TICKS)
        if abs(points - last) >= step - _EPS:
            self._sample(trade, ts, points)
        elif extreme:
            self._changed(trade)  # a new MFE or MAE between samples: the journal keeps it

    # -- internals -------------------------------------------------------------------------
    def _add(self, trade: ActiveTrade) -> None:
        self._active[trade.trade_id] = trade
        self._by_symbol.setdefault(trade.symbol, []).append(trade)

    def _open(self, fill: Fill, order: OrderUpdate | None, qty: float, commission: float,
              direction: int) -> None:
        inst = self._instruments[fill.symbol]
        intent = order.intent if order is not None else None
        trade = ActiveTrade(f"T{next(self._ids)}", fill.symbol, direction, qty,
                            fill.price, fill.ts, inst.point_value, inst.tick_size, fill.source,
                            max_qty=qty, last_price=fill.price, commission=commission,
                            signal_id=intent.signal_id if intent is not None else None,
                            entry_ids=[fill.client_order_id])
        bracket = intent.bracket if intent is not None else None
        if bracket is not None:
            stop, target = bracket.at_fill(fill.side, _average(order, fill), inst.round_price)
            trade.initial_stop = trade.stop = stop
            trade.target = target
        self._add(trade)
        for update in list(self._orders.values()):
            if update.symbol == fill.symbol:
                self._protect(update)
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
        others = [order_id for order_id in trade.leg_ids if order_id != trade.stop_order_id
                  and (update := self._orders.get(order_id)) is not None
                  and update.type in _STOP_TYPES]
        for order_id in (trade.stop_order_id, *others):  # every bracket of a signal's trade
            self._router.replace(order_id, stop_price=entry)
        trade.stop = entry
        trade.break_even_ts = self._clock.now_ns()
        log.info("trade %s: stop moved to break-even %s at +%.2fR", trade.trade_id, entry,
                 trade.mfe_points / r)
        self._changed(trade)

    def _sample(self, trade: ActiveTrade, ts: int, points: float) -> None:
        if not self.excursions:
            return
        trade.samples.append((ts, points, trade.mfe_points, trade.mae_points))
        if len(trade.samples) > MAX_SAMPLES:
            trade.samples[:] = trade.samples[::2]  # keep the shape, halve the points
        self._changed(trade)

    def _changed(self, trade: ActiveTrade) -> None:
        trade.version += 1
        self._bus.publish(TradeChanged(trade))

    def _close(self, trade: ActiveTrade, fill: Fill, order: OrderUpdate | None) -> None:
        del self._active[trade.trade_id]
        self._closing = {c: t for c, t in self._closing.items() if t != trade.trade_id}
        self._by_symbol[trade.symbol].remove(trade)
        exit_price = trade.exit_value / trade.exit_qty if trade.exit_qty else fill.price
        reason = self._exit_reason(trade, fill, order)
        r = trade.r_points
        record = TradeRecord(
            trade.trade_id, trade.symbol, trade.side, trade.max_qty, trade.entry,
            self._instruments[trade.symbol].round_price(exit_price), trade.initial_stop,
            trade.target, trade.entry_ts, fill.ts, trade.mfe_points, trade.mae_points,
            _ratio(trade.mfe_points, r), _ratio(trade.mae_points, r),
            _ratio((exit_price - trade.entry) * trade.direction, r), trade.realized_pnl,
            trade.commission, reason, trade.break_even_ts, trade.source, trade.signal_id)
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


def _average(order: OrderUpdate | None, fill: Fill) -> float:
    """The entry order's average fill price including ``fill`` (``order`` is its state
    before the fill): what the broker prices anchored bracket legs from."""
    if order is None or order.filled_qty <= 0:
        return fill.price
    total = order.filled_qty + fill.qty
    return (order.avg_fill_price * order.filled_qty + fill.price * fill.qty) / total


def _ratio(points: float, r: float | None) -> float | None:
    return round(points / r, 6) if r else None
