"""The paper-trading simulator: Bracket's default broker.

Fills follow the market the feed publishes, on the engine's clock:
- market orders (and triggered stops) take the ask when buying and the bid when
  selling (last trade +/- half the typical spread, in whole ticks against the
  trader, when no quote is known), plus
  slippage; a stop gapped through fills at that worse market, not at its price;
- a resting limit fills at its price only when a trade goes through it (or
  touches it, if configured); a limit that is marketable when it arrives takes
  the touch instead (price improvement);
- stops trigger on trades or on quotes (configurable); trailing stops ratchet
  from the best trade price since they went live;
- latency delays when an order reaches the market, so it meets the market as
  it is after the delay; partial fills (optional) are capped by displayed size;
- bracket entries create their stop-loss and take-profit as an OCO pair when
  they fill, priced from the entry's average fill when the bracket is anchored
  (and re-priced when a later partial fill moves that average); legs still
  working when the position goes flat are canceled.
- on bars (a bar backtest publishes MarketBar events instead of ticks): between bars
  the market is closed, so a market order placed at a bar's close fills at the next
  bar's open (or at that close, if configured). Within a bar the price is taken to
  move open -> nearer extreme -> farther extreme -> close, in straight lines; a stop or
  limit fills at its price when the path crosses it, a stop gapped through at the open
  fills at the open (the worse price). A bar no working order can reach is skipped in
  a few comparisons: that is what keeps a bar backtest fast.
All randomness (slippage, latency) comes from one seeded generator, so the same
feed and seed give the same fills (invariant 6).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from workstation.brokers.base import BrokerError
from workstation.bus import EventBus
from workstation.clock import Clock, SimClock
from workstation.config import FillModel, Settings
from workstation.model import Instrument, MarketBar, Quote, Tick
from workstation.orders import (
    Fill,
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
    TrailUnit,
)
from workstation.portfolio import AccountView, Portfolio, PositionView
from workstation.sessions import get_schedule

_EPS = 1e-9
_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


@dataclass(slots=True)
class _Touch:
    bid: float = 0.0
    ask: float = 0.0
    bid_size: float = 0.0
    ask_size: float = 0.0
    last: float = 0.0
    sized: bool = False  # the last quote showed sizes: fills are capped by what is left
    between_bars: bool = False  # bar data: no market until the next bar opens
    at_open: bool = False  # bar data: the path is at the bar's opening print


class PaperBroker:
    name = "paper"

    def __init__(self, instruments: dict[str, Instrument], settings: Settings, bus: EventBus,
                 clock: Clock, portfolio: Portfolio) -> None:
        self._instruments = instruments
        self._models = {s: settings.paper.fill_model(s) for s in instruments}
        self._commission = {s: settings.commission(i) for s, i in instruments.items()}
        self._bus = bus
        self._clock = clock
        self.portfolio = portfolio
        self._rng = random.Random(settings.paper.seed)
        self._touch: dict[str, _Touch] = {s: _Touch() for s in instruments}
        self._orders: dict[str, Order] = {}
        self._by_client: dict[str, str] = {}
        self._done_before_restart: dict[str, Order] = {}
        self._working: dict[str, list[Order]] = {s: [] for s in instruments}
        self._resting: set[str] = set()
        self._order_seq = itertools.count(1)
        self._fill_seq = itertools.count(1)
        bus.subscribe(Quote, self.on_quote, "PaperBroker.on_quote")
        bus.subscribe(Tick, self.on_tick, "PaperBroker.on_tick")
        bus.subscribe(MarketBar, self.on_market_bar, "PaperBroker.on_market_bar")

    # -- commands ---------------------------------------------------------------------
    def submit(self, intent: OrderIntent) -> OrderUpdate:
        """Accept or reject at once; idempotent on ``client_order_id``."""
        known = self._by_client.get(intent.client_order_id)
        if known is not None:
            order = self._orders.get(known) or self._done_before_restart[known]
            return order.snapshot()
        return self._accept(intent, check_buying_power=True).snapshot()

    def cancel(self, order_id: str, reason: str = "canceled by user") -> OrderUpdate:
        order = self._working_order(order_id)
        self._close(order, OrderStatus.CANCELED, reason)
        return order.snapshot()

    def replace(self, order_id: str, *, qty: float | None = None,
                limit_price: float | None = None,
                stop_price: float | None = None) -> OrderUpdate:
        order = self._working_order(order_id)
        inst = self._instruments[order.symbol]
        changes = []
        if qty is not None:
            if qty < order.filled_qty - _EPS or inst.round_size(qty) != qty or qty <= 0:
                raise BrokerError(f"order {order_id}: quantity {qty:g} must be on the lot grid "
                                  f"and at least the {order.filled_qty:g} already filled")
            changes.append(f"qty {order.qty:g} -> {qty:g}")
            order.qty = qty
        for name, value in (("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None:
                if value <= 0:
                    raise BrokerError(f"order {order_id}: {name} {value:g} must be positive")
                rounded = inst.round_price(value)
                changes.append(f"{name.split('_')[0]} {getattr(order, name)} -> {rounded}")
                setattr(order, name, rounded)
        order.reason = "modified: " + ", ".join(changes)
        order.updated_ts = self._clock.now_ns()
        self._bus.publish(order.snapshot())
        if order.remaining <= _EPS:
            self._close(order, OrderStatus.FILLED, "filled")
        else:
            self._evaluate(order, None)
        return order.snapshot()

    def open_orders(self) -> list[OrderUpdate]:
        return [o.snapshot() for orders in self._working.values() for o in orders]

    def order(self, order_id: str) -> OrderUpdate | None:
        order = self._orders.get(order_id)
        return order.snapshot() if order else None

    def live_order(self, order_id: str) -> Order | None:
        """The broker's own record (for the journal, which stores every field)."""
        return self._orders.get(order_id)

    def order_count(self) -> int:
        """Orders accepted or rejected so far (without a snapshot of each)."""
        return len(self._orders)

    def all_orders(self) -> list[OrderUpdate]:
        return [order.snapshot() for order in self._orders.values()]

    def positions(self) -> list[PositionView]:
        return self.portfolio.position_views()

    def account(self) -> AccountView:
        return self.portfolio.account()

    def restore(self, orders: list[Order]) -> None:
        """Working orders read back from the store after a restart."""
        for order in orders:
            self._orders[order.order_id] = order
            self._by_client[order.intent.client_order_id] = order.order_id
            self._working[order.symbol].append(order)
            number = int(order.order_id.lstrip("P") or 0)
            self._order_seq = itertools.count(max(number + 1, next(self._order_seq)))
            if order.intent.tif is TimeInForce.DAY:
                self._schedule_expiry(order)

    def remember_done(self, orders: list[Order], last_fill: int) -> None:
        """Done orders from before a restart: resubmitting one returns it, as before."""
        for order in orders:
            order_id = order.order_id
            self._done_before_restart[order_id] = order
            self._by_client.setdefault(order.intent.client_order_id, order_id)
            number = int(order_id.lstrip("P") or 0)
            self._order_seq = itertools.count(max(number + 1, next(self._order_seq)))
        self._fill_seq = itertools.count(last_fill + 1)

    # -- market events ----------------------------------------------------------------
    def on_quote(self, quote: Quote) -> None:
        touch = self._touch.get(quote.symbol)
        if touch is None:
            return
        touch.bid, touch.ask = quote.bid, quote.ask
        touch.bid_size, touch.ask_size = quote.bid_size, quote.ask_size
        touch.sized = quote.bid_size > 0 or quote.ask_size > 0
        working = self._working[quote.symbol]
        if working:
            for order in list(working):
                self._evaluate(order, None)

    def on_tick(self, tick: Tick) -> None:
        touch = self._touch.get(tick.symbol)
        if touch is None:
            return
        touch.last = tick.price
        self.portfolio.mark(tick.symbol, tick.price, tick.ts)
        working = self._working[tick.symbol]
        if working:
            for order in list(working):
                self._evaluate(order, tick)

    def on_market_bar(self, bar: MarketBar) -> None:
        """Fill what the bar's range reached, along its intrabar path, then mark at its
        close; until the next bar the market is closed (``bar_market_fill`` next_open)."""
        touch = self._touch.get(bar.symbol)
        if touch is None:
            return
        touch.between_bars = False
        working = self._working[bar.symbol]
        if working and _reachable(working, bar.low, bar.high):
            self._walk(bar, touch, working)
        touch.last = bar.close
        touch.between_bars = self._models[bar.symbol].bar_market_fill == "next_open"
        self.portfolio.mark(bar.symbol, bar.close, bar.end)

    def _walk(self, bar: MarketBar, touch: _Touch, working: list[Order]) -> None:
        """Open -> nearer extreme -> farther extreme -> close; every order price the path
        crosses is a stop on the way (orders placed on the way are found too)."""
        first, second = ((bar.high, bar.low) if bar.high - bar.open <= bar.open - bar.low
                         else (bar.low, bar.high))
        span = bar.end - bar.ts
        point = self._path_point
        touch.at_open = True  # a limit the bar opens through fills at the open, not its price
        try:
            point(bar, touch, working, bar.open, bar.ts)
        finally:
            touch.at_open = False
        start = bar.open
        for number, end in enumerate((first, second, bar.close), 1):
            ts_from, ts_to = bar.ts + span * (number - 1) // 3, bar.ts + span * number // 3
            if number == 3:
                ts_to = bar.end - 1
            price = start
            while working:
                level = _next_level(working, price, end)
                if level is None:
                    break
                share = (level - start) / (end - start)
                point(bar, touch, working, level, ts_from + int((ts_to - ts_from) * share))
                price = level
            if end != price:
                point(bar, touch, working, end, ts_to)
            start = end

    def _path_point(self, bar: MarketBar, touch: _Touch, working: list[Order], price: float,
                    ts: int) -> None:
        if isinstance(self._clock, SimClock):  # bar data drives simulated time
            self._clock.advance_to(ts)
        touch.last = price
        trade = Tick(bar.symbol, ts, price, math.inf)
        for order in list(working):
            self._evaluate(order, trade)

    # -- acceptance -------------------------------------------------------------------
    def _accept(self, intent: OrderIntent, *, check_buying_power: bool) -> Order:
        now = self._clock.now_ns()
        order = Order(f"P{next(self._order_seq)}", intent, qty=intent.qty,
                      limit_price=intent.limit_price, stop_price=intent.stop_price,
                      created_ts=now, updated_ts=now)
        self._orders[order.order_id] = order
        self._by_client[intent.client_order_id] = order.order_id
        problem = self._problem(order, check_buying_power)
        if problem:
            order.transition(OrderStatus.REJECTED, now, problem)
            self._bus.publish(order.snapshot())
            return order
        order.transition(OrderStatus.ACCEPTED, now, "accepted")
        order.active_from = now + self._latency_ns(order.symbol)
        self._working[order.symbol].append(order)
        self._bus.publish(order.snapshot())
        if intent.tif is TimeInForce.DAY:
            self._schedule_expiry(order)
        if order.active_from > now:
            self._clock.call_at(order.active_from, lambda: self._activate(order))
        else:
            self._activate(order)
        return order

    def _problem(self, order: Order, check_buying_power: bool) -> str:
        """Why an order cannot be accepted, or "" (prices are rounded to the tick here)."""
        intent = order.intent
        inst = self._instruments.get(intent.symbol)
        if inst is None:
            return f"unknown symbol {intent.symbol!r}"
        if intent.qty <= 0 or inst.round_size(intent.qty) != intent.qty:
            return (f"quantity {intent.qty:g} must be a positive multiple of {inst.symbol}'s "
                    f"lot size {inst.lot_size:g}")
        needs = {OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",),
                 OrderType.STOP_LIMIT: ("stop_price", "limit_price")}.get(intent.type, ())
        for name in needs:
            value = getattr(order, name)
            if value is None or value <= 0:
                return f"a {intent.type} order needs a positive {name.replace('_', ' ')}"
            setattr(order, name, inst.round_price(value))
        if intent.type is OrderType.TRAILING_STOP and not (intent.trail and intent.trail > 0):
            return "a trailing stop needs a positive trail"
        touch = self._touch[intent.symbol]
        reference = self._reference_price(order, touch)
        if reference <= 0:
            return f"no market data for {intent.symbol} yet"
        if intent.bracket is not None:
            problem = _bracket_problem(intent, reference, inst)
            if problem:
                return problem
        if check_buying_power:
            needed = (self.portfolio.required_for(intent.symbol, intent.side, intent.qty,
                                                  reference)
                      + intent.qty * self._commission[intent.symbol])
            available = self.portfolio.buying_power()
            if needed > available + _EPS:
                return (f"insufficient buying power: {intent.describe()} needs "
                        f"{needed:,.2f}, available {available:,.2f}")
        return ""

    def _reference_price(self, order: Order, touch: _Touch) -> float:
        if order.limit_price is not None:
            return order.limit_price
        if order.stop_price is not None:
            return order.stop_price
        market = touch.ask if order.side is OrderSide.BUY else touch.bid
        return market or touch.last

    def _latency_ns(self, symbol: str) -> int:
        model = self._models[symbol]
        if model.latency == "random":
            ms = self._rng.uniform(model.latency_ms, model.latency_max_ms)
        else:
            ms = model.latency_ms
        return int(ms * 1_000_000)

    def _schedule_expiry(self, order: Order) -> None:
        """At the close of the session the order was placed in: a restored order keeps it
        (a restart's clock may still be at 0, or days later)."""
        inst = self._instruments[order.symbol]
        close = get_schedule(inst.schedule).next_session(order.created_ts).close_ns
        self._clock.call_at(close, lambda: self._expire(order))

    def _expire(self, order: Order) -> None:
        if order.status.working:
            self._close(order, OrderStatus.EXPIRED, "DAY order expired at the session close")

    def _activate(self, order: Order) -> None:
        if not order.status.working:
            return
        if order.intent.type is OrderType.TRAILING_STOP:
            touch = self._touch[order.symbol]
            order.trail_anchor = touch.last or (touch.bid + touch.ask) / 2
            self._ratchet(order, order.trail_anchor)
        self._evaluate(order, None)
        if order.intent.tif is TimeInForce.IOC and order.status.working:
            self._close(order, OrderStatus.CANCELED, "IOC: unfilled remainder canceled")

    # -- matching -----------------------------------------------------------------------
    def _evaluate(self, order: Order, trade: Tick | None) -> None:
        if order.active_from > self._clock.now_ns() or not order.status.working:
            return
        kind = order.intent.type
        if kind is OrderType.TRAILING_STOP and trade is not None and not order.triggered:
            self._ratchet(order, trade.price)
        if kind in _STOP_TYPES and not order.triggered:
            if not self._stop_hit(order, trade):
                return
            order.triggered = True
        if kind is OrderType.LIMIT or kind is OrderType.STOP_LIMIT:
            self._match_limit(order, trade)
        else:
            self._match_market(order)

    def _stop_hit(self, order: Order, trade: Tick | None) -> bool:
        touch = self._touch[order.symbol]
        if touch.between_bars:
            return False
        buy = order.side is OrderSide.BUY
        if self._models[order.symbol].stop_trigger == "trade":
            price = trade.price if trade is not None else touch.last
        else:
            price = touch.ask if buy else touch.bid
        if price <= 0 or order.stop_price is None:
            return False
        return price >= order.stop_price if buy else price <= order.stop_price

    def _ratchet(self, order: Order, price: float) -> None:
        """Trailing stops follow the best price, never back."""
        inst = self._instruments[order.symbol]
        buy = order.side is OrderSide.BUY
        anchor = order.trail_anchor if order.trail_anchor is not None else price
        anchor = min(anchor, price) if buy else max(anchor, price)
        order.trail_anchor = anchor
        trail = order.intent.trail or 0.0
        unit = order.intent.trail_unit
        offset = (trail * inst.tick_size if unit is TrailUnit.TICKS
                  else anchor * trail / 100 if unit is TrailUnit.PERCENT else trail)
        stop = inst.round_price(anchor + offset if buy else anchor - offset)
        current = order.stop_price
        if current is None or (stop < current if buy else stop > current):
            order.stop_price = stop
            # published like any modification: the journal keeps it, the tracker follows it
            order.reason = (f"trailed: stop {current} -> {stop}" if current is not None
                            else f"trailing stop at {stop}")
            order.updated_ts = self._clock.now_ns()
            self._bus.publish(order.snapshot())

    def _match_market(self, order: Order) -> None:
        touch = self._touch[order.symbol]
        inst = self._instruments[order.symbol]
        model = self._models[order.symbol]
        buy = order.side is OrderSide.BUY
        price = touch.ask if buy else touch.bid
        available = touch.ask_size if buy else touch.bid_size
        capped = touch.sized
        if touch.between_bars:
            return  # bar data: the next bar's open fills it
        if price <= 0:
            # half the typical spread in whole ticks, rounded against the trader: half of
            # a one-tick spread is off the grid, and rounding it to nearest would favour
            # buyers or sellers depending on the price
            half_spread = math.ceil(model.typical_spread_ticks / 2) * inst.tick_size
            price = touch.last + half_spread if buy else touch.last - half_spread
            capped = False  # no quote, no displayed size
        if price <= 0:
            return
        qty = order.remaining
        if model.partial_fills and capped:
            qty = min(qty, available)  # nothing left shown: nothing fills until the next quote
        slip = self._slippage_ticks(model) * inst.tick_size + price * model.slippage_bps / 1e4
        self._execute(order, qty, price + slip if buy else price - slip)

    def _match_limit(self, order: Order, trade: Tick | None) -> None:
        touch = self._touch[order.symbol]
        model = self._models[order.symbol]
        buy = order.side is OrderSide.BUY
        limit = order.limit_price
        assert limit is not None
        if order.order_id not in self._resting:
            market = touch.ask if buy else touch.bid
            if market > 0 and (market <= limit if buy else market >= limit):
                size = touch.ask_size if buy else touch.bid_size
                qty = min(order.remaining, size) if model.partial_fills and touch.sized \
                    else order.remaining
                self._execute(order, qty, market)
                return
            self._resting.add(order.order_id)
            return
        if trade is None:
            return
        through = trade.price < limit if buy else trade.price > limit
        if through or (model.limit_fill_on_touch and trade.price == limit):
            qty = min(order.remaining, trade.size) if model.partial_fills else order.remaining
            # a bar that opens beyond the limit traded there first: the order is filled at
            # that better price (a marketable limit at the market's)
            self._execute(order, qty, trade.price if through and touch.at_open else limit)

    def _slippage_ticks(self, model: FillModel) -> int:
        if model.slippage == "fixed":
            return model.slippage_ticks
        if model.slippage == "random":
            return self._rng.randint(0, model.slippage_ticks)
        return 0

    # -- fills --------------------------------------------------------------------------
    def _execute(self, order: Order, qty: float, price: float) -> None:
        inst = self._instruments[order.symbol]
        qty = inst.round_size(qty)
        if qty <= 0:
            return
        price = inst.round_price(price)
        now = self._clock.now_ns()
        fill = Fill(f"F{next(self._fill_seq)}", order.order_id, order.intent.client_order_id,
                    order.symbol, order.side, qty, price, qty * self._commission[order.symbol],
                    now, order.intent.source)
        total = order.filled_qty + qty
        previous_avg = order.avg_fill_price
        order.avg_fill_price = (order.avg_fill_price * order.filled_qty + price * qty) / total
        order.filled_qty = inst.round_size(total)
        touch = self._touch[order.symbol]
        if order.side is OrderSide.BUY:
            touch.ask_size = max(0.0, touch.ask_size - qty)
        else:
            touch.bid_size = max(0.0, touch.bid_size - qty)
        self.portfolio.apply_fill(fill)
        # plugins hear of the fill only once its order is settled and its legs are placed,
        # whoever called (a tick, a click, or a latency timer outside any publish)
        with self._bus.deferring():
            self._bus.publish(fill)
            if not order.status.working:  # a handler of this fill canceled the rest (kill)
                self._after_fill(order, previous_avg)
                return
            if order.remaining <= _EPS:
                self._close(order, OrderStatus.FILLED, "filled")
            else:
                order.transition(OrderStatus.PARTIALLY_FILLED, now, "partially filled")
                self._bus.publish(order.snapshot())
            self._after_fill(order, previous_avg)

    def _close(self, order: Order, status: OrderStatus, reason: str) -> None:
        order.transition(status, self._clock.now_ns(), reason)
        working = self._working[order.symbol]
        if order in working:
            working.remove(order)
        self._resting.discard(order.order_id)
        self._bus.publish(order.snapshot())

    def _after_fill(self, order: Order, previous_avg: float) -> None:
        intent = order.intent
        signed = self.portfolio.position(order.symbol)
        if intent.bracket is not None:
            self._size_bracket_legs(order, signed)
            if intent.bracket.anchored and order.children:
                self._reanchor_legs(order, previous_avg)
        if intent.oco_group:
            self._settle_oco(order)
        position = abs(signed)
        for leg in list(self._working[order.symbol]):
            if leg.intent.parent_id is None or not leg.status.working:
                continue
            if position == 0:
                self._close(leg, OrderStatus.CANCELED, "position is flat: bracket leg canceled")
            elif leg.side.sign * signed > 0:
                # a leg that would add to the position protected the side a flip closed
                self._close(leg, OrderStatus.CANCELED,
                            "position reversed: the closed side's bracket leg canceled")
            elif leg.remaining > position + _EPS and leg.intent.parent_id != intent.client_order_id:
                # the position shrank by another order: a leg never exits more than is held
                self.replace(leg.order_id, qty=leg.filled_qty + position)

    def _size_bracket_legs(self, entry: Order, signed_position: float) -> None:
        """Legs exit what the entry left on its side: all of its fills, or, when it
        reversed a position, only the part beyond flat."""
        held = abs(signed_position) if signed_position * entry.side.sign > 0 else 0.0
        qty = min(entry.filled_qty, held)
        if entry.children:
            for child_id in entry.children:
                child = self._orders[child_id]
                if child.status.working and child.qty != qty and qty > _EPS:
                    self.replace(child_id, qty=qty)
            return
        if qty <= _EPS:
            return
        intent = entry.intent
        bracket = intent.bracket
        assert bracket is not None
        inst = self._instruments[entry.symbol]
        stop_loss, take_profit = bracket.at_fill(entry.side, entry.avg_fill_price,
                                                 inst.round_price)
        cid = intent.client_order_id
        legs = []
        if stop_loss is not None:
            legs.append(OrderIntent(f"{cid}-SL", entry.symbol, entry.side.opposite,
                                    qty, OrderType.STOP,
                                    stop_price=stop_loss, tif=TimeInForce.GTC,
                                    oco_group=f"{cid}-OCO", parent_id=cid,
                                    source=intent.source, signal_id=intent.signal_id))
        if take_profit is not None:
            legs.append(OrderIntent(f"{cid}-TP", entry.symbol, entry.side.opposite,
                                    qty, OrderType.LIMIT,
                                    limit_price=take_profit, tif=TimeInForce.GTC,
                                    oco_group=f"{cid}-OCO", parent_id=cid,
                                    source=intent.source, signal_id=intent.signal_id))
        for leg in legs:
            entry.children.append(self._accept(leg, check_buying_power=False).order_id)

    def _reanchor_legs(self, entry: Order, previous_avg: float) -> None:
        """A later partial fill moved the entry's average: legs still where the old
        average put them follow it (a leg the trader or break-even moved stays)."""
        bracket = entry.intent.bracket
        assert bracket is not None
        if previous_avg <= 0 or abs(entry.avg_fill_price - previous_avg) <= _EPS:
            return
        round_price = self._instruments[entry.symbol].round_price
        old = bracket.at_fill(entry.side, previous_avg, round_price)
        new = bracket.at_fill(entry.side, entry.avg_fill_price, round_price)
        for child_id in entry.children:
            child = self._orders[child_id]
            if not child.status.working or child.filled_qty > 0:
                continue
            if child.intent.type is OrderType.STOP and child.stop_price == old[0] != new[0]:
                self.replace(child_id, stop_price=new[0])
            elif (child.intent.type is OrderType.LIMIT
                  and child.limit_price == old[1] != new[1]):
                self.replace(child_id, limit_price=new[1])

    def _settle_oco(self, order: Order) -> None:
        for sibling in list(self._working[order.symbol]):
            if sibling is order or sibling.intent.oco_group != order.intent.oco_group:
                continue
            if order.status is OrderStatus.FILLED:
                self._close(sibling, OrderStatus.CANCELED,
                            f"OCO: {order.intent.client_order_id} filled")
            else:
                self.replace(sibling.order_id, qty=sibling.filled_qty + order.remaining)

    def _working_order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise BrokerError(f"no order {order_id!r}")
        if not order.status.working:
            raise BrokerError(f"order {order_id} ({order.intent.client_order_id}) is already "
                              f"{order.status}")
        return order


def _reachable(working: list[Order], low: float, high: float) -> bool:
    """Whether a bar from ``low`` to ``high`` can fill or move any of these orders."""
    for order in working:
        kind = order.intent.type
        if kind is OrderType.MARKET or kind is OrderType.TRAILING_STOP or order.triggered:
            return True
        limit = kind is OrderType.LIMIT
        price = order.limit_price if limit else order.stop_price
        if price is None:
            return True
        # a buy stop or a sell limit needs the price up to it; a sell stop or a buy limit,
        # down to it (a bar that opens beyond it has gapped through it)
        upward = (order.side is OrderSide.BUY) is not limit
        if (high >= price) if upward else (low <= price):
            return True
    return False


def _next_level(working: list[Order], price: float, end: float) -> float | None:
    """The nearest order price strictly between ``price`` and ``end`` on the way there."""
    rising = end > price
    best = None
    for order in working:
        kind = order.intent.type
        level = (order.limit_price if kind is OrderType.LIMIT or order.triggered
                 else order.stop_price)
        if level is None or not ((price < level < end) if rising else (end < level < price)):
            continue
        if best is None or (level < best if rising else level > best):
            best = level
    return best


def _bracket_problem(intent: OrderIntent, reference: float, inst: Instrument) -> str:
    """A leg on the wrong side of the entry (anchored legs as they would be priced
    from a fill at the reference)."""
    bracket = intent.bracket
    assert bracket is not None
    buy = intent.side is OrderSide.BUY
    for name in ("stop_offset", "target_offset", "target_r"):
        value = getattr(bracket, name)
        if value is not None and not value > 0:
            return f"bracket {name.replace('_', ' ')} {value:g} must be positive"
    stop, target = bracket.at_fill(intent.side, reference, inst.round_price)
    where = f"the entry ({reference:,.{inst.price_decimals}f})"
    if stop is not None and (stop >= reference if buy else stop <= reference):
        return (f"bracket stop-loss {stop:g} must be {'below' if buy else 'above'} {where} "
                f"for a {intent.side}")
    if target is not None and (target <= reference if buy else target >= reference):
        return (f"bracket take-profit {target:g} must be {'above' if buy else 'below'} {where} "
                f"for a {intent.side}")
    return ""

