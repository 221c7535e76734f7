"""Alpaca as a Broker (paper by default), through alpaca-py's TradingClient and
TradingStream.

Commands return at once, as the Broker protocol asks: ``submit`` publishes the order as
NEW and sends it from the REST thread (``RestRunner``: one thread, timeouts, 200 a
minute, 429 retried from the loop). Every later change (accepted, fills, cancel,
reject) arrives on Alpaca's trade-update stream and is published as OrderUpdate and
Fill events, which the journal commits before anyone is shown them, as with the paper
broker.

A submission is idempotent on its client order id: after a timeout or a "duplicate"
answer the order is looked up by that id before anything is sent again, so a retry
never makes a second order. Bracket's client ids are sent with a namespace prefix (one
per Bracket home and account), so two homes on one Alpaca account never mistake each
other's orders for their own.

Supported: market, limit, stop, stop-limit and trailing-stop orders (DAY, GTC, IOC), and
bracket entries (Alpaca's ``bracket`` order class; anchored legs are placed at the
estimate the order was made with, not re-priced from the fill). Refused, with a
reason: stand-alone OCO groups, and trailing stops or brackets on crypto.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from workstation.alpaca.credentials import Credentials
from workstation.alpaca.rest import RestError, RestRunner, RestTimeout, bounded
from workstation.alpaca.settings import AlpacaSettings
from workstation.brokers.base import BrokerError
from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.feeds.base import FeedState
from workstation.feeds.resilient import (
    FatalConnectionError,
    Resilience,
    ResilientConnection,
)
from workstation.model import AssetClass, Instrument, Tick, datetime_to_ns
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

log = logging.getLogger(__name__)

DUPLICATE = 422
NOT_FOUND = 404
_EPS = 1e-9
_WORKING_REMOTE = {"new", "accepted", "pending_new", "accepted_for_bidding", "held",
                   "partially_filled", "pending_replace", "pending_cancel", "calculated"}


@dataclass(slots=True)
class RemoteOrder:
    """What Bracket knows of an order at Alpaca."""

    order: Order
    remote_cid: str
    remote_id: str = ""
    executions: set[str] = field(default_factory=set)
    replacing: int = 0


class AlpacaBroker:
    name = "alpaca"

    def __init__(self, credentials: Credentials, settings: AlpacaSettings,
                 instruments: dict[str, Instrument], bus: EventBus, clock: Clock,
                 portfolio: Portfolio, *, namespace: str = "bk",
                 resilience: Resilience | None = None,
                 runner: RestRunner | None = None) -> None:
        self._instruments = instruments
        self._bus = bus
        self._clock = clock
        self.portfolio = portfolio
        self.namespace = namespace
        self.client = bounded(TradingClient(credentials.key_id, credentials.secret,
                                            paper=settings.paper, raw_data=True,
                                            url_override=settings.trading_url()),
                              settings.rest_timeout_s)
        self.rest = runner or RestRunner("alpaca trading", settings.rest_timeout_s,
                                         settings.requests_per_minute)
        self._orders: dict[str, RemoteOrder] = {}  # by Bracket's order id
        self._by_client: dict[str, str] = {}  # Bracket's client id -> order id
        self._by_remote_cid: dict[str, str] = {}
        self._by_remote_id: dict[str, str] = {}
        self._done_before_restart: dict[str, Order] = {}
        self._fill_seq = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()  # REST commands under way
        self._updates_task: asyncio.Task[None] | None = None
        self.foreign: list[dict[str, Any]] = []  # trade updates for orders not Bracket's
        self.updates = TradeUpdates(self, credentials, settings, bus, clock,
                                    resilience or Resilience(stale_after_s=None))
        bus.subscribe(Tick, self._on_tick, "AlpacaBroker.on_tick")

    # -- commands (return at once) -----------------------------------------------------
    def submit(self, intent: OrderIntent) -> OrderUpdate:
        known = self._by_client.get(intent.client_order_id)
        if known is not None:
            return self._known(known).snapshot()
        now = self._clock.now_ns()
        order = Order(f"A-{intent.client_order_id}", intent, qty=intent.qty,
                      limit_price=intent.limit_price, stop_price=intent.stop_price,
                      created_ts=now, updated_ts=now)
        remote = RemoteOrder(order, f"{self.namespace}-{intent.client_order_id}")
        self._register(remote)
        problem = self._problem(intent)
        if problem:
            order.transition(OrderStatus.REJECTED, now, problem)
            self._bus.publish(order.snapshot())
            return order.snapshot()
        order.reason = "sent to Alpaca"
        self._bus.publish(order.snapshot())
        self._spawn(self._send(remote))
        return order.snapshot()

    def cancel(self, order_id: str, reason: str = "canceled by user") -> OrderUpdate:
        remote = self._working(order_id)
        self._spawn(self._cancel(remote, reason))
        return remote.order.snapshot()

    def replace(self, order_id: str, *, qty: float | None = None,
                limit_price: float | None = None,
                stop_price: float | None = None) -> OrderUpdate:
        remote = self._working(order_id)
        inst = self._instruments[remote.order.symbol]
        if qty is not None and (qty <= 0 or qty < remote.order.filled_qty - _EPS
                                or inst.round_size(qty) != qty):
            raise BrokerError(f"order {order_id}: quantity {qty:g} must be on the lot grid and "
                              f"at least the {remote.order.filled_qty:g} already filled")
        for name, value in (("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None and value <= 0:
                raise BrokerError(f"order {order_id}: {name} {value:g} must be positive")
        self._spawn(self._replace(remote, qty,
                                  None if limit_price is None else inst.round_price(limit_price),
                                  None if stop_price is None else inst.round_price(stop_price)))
        return remote.order.snapshot()

    def open_orders(self) -> list[OrderUpdate]:
        return [r.order.snapshot() for r in self._orders.values()
                if not r.order.status.terminal]

    def all_orders(self) -> list[OrderUpdate]:
        return [r.order.snapshot() for r in self._orders.values()]

    def order(self, order_id: str) -> OrderUpdate | None:
        remote = self._orders.get(order_id)
        return remote.order.snapshot() if remote else None

    def live_order(self, order_id: str) -> Order | None:
        remote = self._orders.get(order_id)
        return remote.order if remote else None

    def positions(self) -> list[PositionView]:
        return self.portfolio.position_views()

    def account(self) -> AccountView:
        return self.portfolio.account()

    def restore(self, orders: list[Order]) -> None:
        """Working orders from the store; their Alpaca ids are found by reconciliation."""
        for order in orders:
            self._register(RemoteOrder(order, f"{self.namespace}-{order.intent.client_order_id}"))

    def remember_done(self, orders: list[Order], last_fill: int) -> None:
        for order in orders:
            self._done_before_restart[order.order_id] = order
            self._by_client.setdefault(order.intent.client_order_id, order.order_id)
        self._fill_seq = itertools.count(last_fill + 1)

    async def start(self) -> None:
        """Connect the trade-update stream (it reconnects by itself)."""
        self._updates_task = asyncio.get_running_loop().create_task(self.updates.run())

    async def close(self) -> None:
        self.updates.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._updates_task is not None:
            await asyncio.gather(self._updates_task, return_exceptions=True)
        self.rest.close()

    async def settled(self) -> None:
        """Wait until every command sent so far has its answer (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- for reconciliation --------------------------------------------------------------
    def working(self) -> list[RemoteOrder]:
        return [r for r in self._orders.values() if not r.order.status.terminal]

    def owns(self, raw: dict[str, Any]) -> bool:
        """An order Bracket placed (from this home and account)."""
        return self._find(raw) is not None

    def adopt(self, remote: RemoteOrder, raw: dict[str, Any]) -> None:
        """Bring a local order to what Alpaca says of it (missed fills are booked)."""
        self._apply(remote, raw)

    def relink(self, remote: RemoteOrder, raw: dict[str, Any]) -> None:
        """A bracket leg restored from the journal, found at Alpaca under its own ids."""
        remote.remote_cid = str(raw.get("client_order_id"))
        remote.remote_id = str(raw["id"])
        self._by_remote_cid[remote.remote_cid] = remote.order.order_id
        self._by_remote_id[remote.remote_id] = remote.order.order_id

    def forget(self, remote: RemoteOrder, reason: str) -> None:
        """A working order Alpaca has never heard of: it is not working."""
        self._reject(remote.order, reason)

    # -- REST work -----------------------------------------------------------------------
    async def _send(self, remote: RemoteOrder) -> None:
        order = remote.order
        request = self._request(remote)
        try:
            raw = await self.rest.call(lambda: self.client.submit_order(request),
                                       f"submit {order.intent.describe()}")
        except RestTimeout as exc:
            log.warning("%s; looking it up by client id before sending again", exc)
            raw = await self._after_timeout(remote, request)
        except RestError as exc:
            if exc.status == DUPLICATE and "client_order_id" in str(exc):
                raw = await self._lookup(remote)
            else:
                self._reject(order, f"Alpaca refused the order: {exc}")
                return
        if raw is None:
            return
        self._apply(remote, raw)

    async def _after_timeout(self, remote: RemoteOrder, request: Any) -> dict[str, Any] | None:
        """Was the order made? Look it up by client id; only if Alpaca has never heard of
        it is it sent again (with the same client id, so even that cannot double it)."""
        try:
            found = await self._lookup(remote, quiet=True)
        except (RestTimeout, RestError) as exc:
            self._reject(remote.order, f"Alpaca did not answer and the order could not be "
                         f"looked up ({exc}); check the account before trading on")
            return None
        if found is not None:
            return found
        try:
            return await self.rest.call(lambda: self.client.submit_order(request),
                                        f"submit {remote.order.intent.describe()} (again)")
        except (RestTimeout, RestError) as exc:
            if isinstance(exc, RestError) and exc.status == DUPLICATE:
                return await self._lookup(remote)
            self._reject(remote.order, f"Alpaca did not take the order: {exc}")
            return None

    async def _lookup(self, remote: RemoteOrder, quiet: bool = False) -> dict[str, Any] | None:
        try:
            raw = await self.rest.call(
                lambda: self.client.get_order_by_client_id(remote.remote_cid),
                f"look up order {remote.remote_cid}")
        except RestError as exc:
            if exc.status == NOT_FOUND and quiet:
                return None
            raise
        if not _same_order(raw, remote.order.intent):
            self._reject(remote.order, f"client order id {remote.remote_cid} is already used "
                         "at Alpaca by a different order")
            return None
        return raw

    async def _cancel(self, remote: RemoteOrder, reason: str) -> None:
        if not remote.remote_id:
            await self.settled_order(remote)
        if remote.order.status.terminal or not remote.remote_id:
            return
        remote.order.reason = reason
        try:
            await self.rest.call(lambda: self.client.cancel_order_by_id(remote.remote_id),
                                 f"cancel {remote.order.order_id}")
        except (RestTimeout, RestError) as exc:
            log.warning("%s", exc)
            self._note(remote.order, f"cancel not confirmed: {exc}")

    async def _replace(self, remote: RemoteOrder, qty: float | None, limit: float | None,
                       stop: float | None) -> None:
        if not remote.remote_id:
            await self.settled_order(remote)
        order = remote.order
        if order.status.terminal or not remote.remote_id:
            return
        remote.replacing += 1
        new_cid = f"{remote.remote_cid}-r{remote.replacing}"
        self._by_remote_cid[new_cid] = order.order_id  # its events may beat the answer
        request = ReplaceOrderRequest(qty=None if qty is None else int(qty),
                                      limit_price=limit, stop_price=stop,
                                      client_order_id=new_cid)
        try:
            raw = await self.rest.call(
                lambda: self.client.replace_order_by_id(remote.remote_id, request),
                f"modify {order.order_id}")
        except (RestTimeout, RestError) as exc:
            log.warning("%s", exc)
            self._note(order, f"modify refused: {exc}")
            return
        changes = []
        for name, value in (("qty", qty), ("limit_price", limit), ("stop_price", stop)):
            if value is not None:
                changes.append(f"{name.split('_')[0]} {getattr(order, name)} -> {value}")
                setattr(order, name, value)
        remote.remote_id = str(raw["id"])
        self._by_remote_id[remote.remote_id] = order.order_id
        self._note(order, "modified: " + ", ".join(changes))

    async def settled_order(self, remote: RemoteOrder) -> None:
        """Wait (briefly) until a just-sent order has its Alpaca id."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rest.timeout_s * 3
        while not remote.remote_id and not remote.order.status.terminal:
            if loop.time() > deadline:
                return
            await asyncio.sleep(0.01)

    # -- applying what Alpaca says -----------------------------------------------------
    def _apply(self, remote: RemoteOrder, raw: dict[str, Any]) -> None:
        """An order as Alpaca returned it from REST (submit, lookup)."""
        remote.remote_id = str(raw["id"])
        self._by_remote_id[remote.remote_id] = remote.order.order_id
        self._legs(remote, raw.get("legs") or [])
        self._status(remote, str(raw.get("status", "")), raw)

    def _legs(self, parent: RemoteOrder, legs: list[dict[str, Any]]) -> None:
        """Alpaca's bracket legs become Bracket's child orders (-SL, -TP)."""
        entry = parent.order
        intent = entry.intent
        for leg in legs:
            leg_id = str(leg["id"])
            if leg_id in self._by_remote_id:
                continue
            kind = OrderType.STOP if leg.get("stop_price") else OrderType.LIMIT
            suffix = "SL" if kind is OrderType.STOP else "TP"
            cid = f"{intent.client_order_id}-{suffix}"
            leg_intent = OrderIntent(
                cid, entry.symbol, entry.side.opposite, float(leg.get("qty") or entry.qty),
                kind, limit_price=_price(leg.get("limit_price")),
                stop_price=_price(leg.get("stop_price")), tif=TimeInForce.GTC,
                oco_group=f"{intent.client_order_id}-OCO", parent_id=intent.client_order_id,
                source=intent.source, signal_id=intent.signal_id)
            now = self._clock.now_ns()
            order = Order(f"A-{cid}", leg_intent, qty=leg_intent.qty,
                          limit_price=leg_intent.limit_price,
                          stop_price=leg_intent.stop_price, created_ts=now, updated_ts=now)
            child = RemoteOrder(order, str(leg.get("client_order_id") or cid), leg_id)
            self._register(child)
            self._by_remote_id[leg_id] = order.order_id
            entry.children.append(order.order_id)
            order.transition(OrderStatus.ACCEPTED, now, "bracket leg at Alpaca")
            self._bus.publish(order.snapshot())

    def _status(self, remote: RemoteOrder, status: str, raw: dict[str, Any]) -> None:
        order = remote.order
        now = self._clock.now_ns()
        if status in _WORKING_REMOTE:
            if order.status is OrderStatus.NEW:
                order.transition(OrderStatus.ACCEPTED, now, "accepted by Alpaca")
                self._bus.publish(order.snapshot())
            filled = float(raw.get("filled_qty") or 0)
            if filled > order.filled_qty + _EPS and status == "partially_filled":
                self._fill_to(remote, filled, _price(raw.get("filled_avg_price")) or 0.0,
                              None, now)
            return
        if status == "filled":
            self._fill_to(remote, float(raw.get("filled_qty") or order.qty),
                          _price(raw.get("filled_avg_price")) or 0.0, None, now)
        elif status in ("canceled", "expired", "done_for_day", "rejected"):
            self._end(remote, status, raw)

    def _end(self, remote: RemoteOrder, status: str, raw: dict[str, Any]) -> None:
        order = remote.order
        if order.status.terminal:
            return
        now = self._clock.now_ns()
        reason = str(raw.get("reject_reason") or raw.get("reason") or "")
        if status == "rejected":
            target = OrderStatus.REJECTED if order.status is OrderStatus.NEW \
                else OrderStatus.CANCELED
            text = f"rejected by Alpaca{': ' + reason if reason else ''}"
        elif status == "canceled":
            target, text = OrderStatus.CANCELED, order.reason if order.reason.startswith(
                "cancel") else "canceled at Alpaca"
        else:
            target, text = OrderStatus.EXPIRED, f"{status.replace('_', ' ')} at Alpaca"
        if order.status is OrderStatus.NEW and target is not OrderStatus.REJECTED:
            order.transition(OrderStatus.ACCEPTED, now, "accepted by Alpaca")
            self._bus.publish(order.snapshot())
        order.transition(target, now, text)
        self._bus.publish(order.snapshot())

    def _fill_to(self, remote: RemoteOrder, total: float, avg: float, execution: str | None,
                 ts: int, price: float | None = None) -> None:
        """Book what Alpaca has filled beyond what Bracket knew, as one fill."""
        order = remote.order
        inst = self._instruments[order.symbol]
        qty = inst.round_size(total - order.filled_qty)
        if qty <= _EPS or order.status.terminal:
            return
        if price is None:  # from an order snapshot: the new part's price from the averages
            price = (avg * total - order.avg_fill_price * order.filled_qty) / qty
        price = inst.round_price(price)
        if order.status is OrderStatus.NEW:
            order.transition(OrderStatus.ACCEPTED, ts, "accepted by Alpaca")
            self._bus.publish(order.snapshot())
        fill = Fill(execution or f"F{next(self._fill_seq)}", order.order_id,
                    order.intent.client_order_id, order.symbol, order.side, qty, price, 0.0,
                    ts, order.intent.source)
        order.avg_fill_price = (order.avg_fill_price * order.filled_qty + price * qty) / total
        order.filled_qty = inst.round_size(total)
        self.portfolio.apply_fill(fill)
        with self._bus.deferring():
            self._bus.publish(fill)
            if order.remaining <= _EPS:
                order.transition(OrderStatus.FILLED, ts, "filled at Alpaca")
            else:
                order.transition(OrderStatus.PARTIALLY_FILLED, ts, "partially filled at Alpaca")
            self._bus.publish(order.snapshot())

    def on_trade_update(self, data: dict[str, Any]) -> None:
        """One event of the trade-update stream."""
        raw = data.get("order") or {}
        event = str(data.get("event", ""))
        remote = self._find(raw)
        if remote is None:
            self.foreign.append(data)
            log.warning("trade update %s for an order Bracket did not place (%s %s %s)",
                        event, raw.get("side"), raw.get("qty"), raw.get("symbol"))
            return
        if event == "replaced" or (remote.remote_id and str(raw.get("id")) != remote.remote_id
                                   and event not in ("fill", "partial_fill")):
            return  # the order this one replaced, or an old copy
        if not remote.remote_id:
            remote.remote_id = str(raw["id"])
            self._by_remote_id[remote.remote_id] = remote.order.order_id
        self._legs(remote, raw.get("legs") or [])
        ts = _ts(data.get("timestamp")) or self._clock.now_ns()
        if event in ("fill", "partial_fill"):
            execution = str(data.get("execution_id") or "")
            if execution and execution in remote.executions:
                return
            if execution:
                remote.executions.add(execution)
            qty = float(data.get("qty") or 0)
            price = _price(data.get("price"))
            if qty > 0 and price is not None:
                self._fill_to(remote, remote.order.filled_qty + qty, 0.0, execution or None,
                              ts, price)
            return
        if event in ("new", "accepted", "pending_new", "held"):
            self._status(remote, "new", raw)
        elif event in ("canceled", "expired", "done_for_day", "rejected"):
            self._end(remote, event, raw)

    # -- helpers -----------------------------------------------------------------------
    def _find(self, raw: dict[str, Any]) -> RemoteOrder | None:
        order_id = self._by_remote_id.get(str(raw.get("id"))) or self._by_remote_cid.get(
            str(raw.get("client_order_id")))
        return self._orders.get(order_id) if order_id else None

    def _register(self, remote: RemoteOrder) -> None:
        order = remote.order
        self._orders[order.order_id] = remote
        self._by_client[order.intent.client_order_id] = order.order_id
        self._by_remote_cid[remote.remote_cid] = order.order_id

    def _known(self, order_id: str) -> Order:
        remote = self._orders.get(order_id)
        return remote.order if remote else self._done_before_restart[order_id]

    def _working(self, order_id: str) -> RemoteOrder:
        remote = self._orders.get(order_id)
        if remote is None:
            raise BrokerError(f"no order {order_id!r}")
        if remote.order.status.terminal:
            raise BrokerError(f"order {order_id} ({remote.order.intent.client_order_id}) is "
                              f"already {remote.order.status}")
        return remote

    def _reject(self, order: Order, reason: str) -> None:
        log.warning("order %s: %s", order.order_id, reason)
        if order.status.terminal:
            return
        now = self._clock.now_ns()
        if order.status is OrderStatus.NEW:
            order.transition(OrderStatus.REJECTED, now, reason)
        else:
            order.transition(OrderStatus.CANCELED, now, reason)
        self._bus.publish(order.snapshot())

    def _note(self, order: Order, reason: str) -> None:
        order.reason = reason
        order.updated_ts = self._clock.now_ns()
        self._bus.publish(order.snapshot())

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("alpaca broker: %s", task.exception())

    def _on_tick(self, tick: Tick) -> None:
        self.portfolio.mark(tick.symbol, tick.price, tick.ts)

    def _problem(self, intent: OrderIntent) -> str:
        inst = self._instruments.get(intent.symbol)
        if inst is None:
            return f"unknown symbol {intent.symbol!r}"
        if intent.qty <= 0 or inst.round_size(intent.qty) != intent.qty:
            return (f"quantity {intent.qty:g} must be a positive multiple of {inst.symbol}'s "
                    f"lot size {inst.lot_size:g}")
        if inst.asset_class not in (AssetClass.EQUITY, AssetClass.CRYPTO):
            return f"Alpaca does not trade {inst.asset_class} instruments such as {inst.symbol}"
        if intent.oco_group and intent.parent_id is None:
            return ("Alpaca takes OCO exits only as a bracket order's legs; stand-alone OCO "
                    "groups are not supported")
        crypto = inst.asset_class is AssetClass.CRYPTO
        if crypto and (intent.bracket is not None or intent.type is OrderType.TRAILING_STOP):
            return f"Alpaca has no {'bracket' if intent.bracket else 'trailing stop'} orders " \
                   "for crypto"
        needs = {OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",),
                 OrderType.STOP_LIMIT: ("stop_price", "limit_price")}.get(intent.type, ())
        for name in needs:
            value = getattr(intent, name)
            if value is None or value <= 0:
                return f"a {intent.type} order needs a positive {name.replace('_', ' ')}"
        if intent.type is OrderType.TRAILING_STOP and not (intent.trail and intent.trail > 0):
            return "a trailing stop needs a positive trail"
        bracket = intent.bracket
        if bracket is not None and (bracket.take_profit is None or bracket.stop_loss is None):
            return "Alpaca bracket orders need both a stop-loss and a take-profit"
        return ""

    def _request(self, remote: RemoteOrder) -> Any:
        intent = remote.order.intent
        inst = self._instruments[intent.symbol]
        tif = {TimeInForce.DAY: AlpacaTif.DAY, TimeInForce.GTC: AlpacaTif.GTC,
               TimeInForce.IOC: AlpacaTif.IOC}[intent.tif]
        common: dict[str, Any] = {
            "symbol": intent.symbol, "qty": intent.qty,
            "side": AlpacaSide.BUY if intent.side is OrderSide.BUY else AlpacaSide.SELL,
            "time_in_force": tif, "client_order_id": remote.remote_cid}
        bracket = intent.bracket
        if bracket is not None:
            common["order_class"] = OrderClass.BRACKET
            common["take_profit"] = TakeProfitRequest(
                limit_price=inst.round_price(bracket.take_profit or 0))
            common["stop_loss"] = StopLossRequest(
                stop_price=inst.round_price(bracket.stop_loss or 0))
        price = inst.round_price
        if intent.type is OrderType.LIMIT:
            return LimitOrderRequest(limit_price=price(intent.limit_price or 0), **common)
        if intent.type is OrderType.STOP:
            return StopOrderRequest(stop_price=price(intent.stop_price or 0), **common)
        if intent.type is OrderType.STOP_LIMIT:
            return StopLimitOrderRequest(stop_price=price(intent.stop_price or 0),
                                         limit_price=price(intent.limit_price or 0), **common)
        if intent.type is OrderType.TRAILING_STOP:
            trail = intent.trail or 0.0
            if intent.trail_unit is TrailUnit.PERCENT:
                return TrailingStopOrderRequest(trail_percent=trail, **common)
            amount = trail * inst.tick_size if intent.trail_unit is TrailUnit.TICKS else trail
            return TrailingStopOrderRequest(trail_price=price(amount), **common)
        return MarketOrderRequest(**common)


class TradeUpdates(ResilientConnection):
    """Alpaca's trade-update stream (JSON), kept alive; events go to the broker."""

    def __init__(self, broker: AlpacaBroker, credentials: Credentials,
                 settings: AlpacaSettings, bus: EventBus, clock: Clock,
                 params: Resilience) -> None:
        super().__init__("alpaca trading", bus, clock, params)
        self._broker = broker
        self._credentials = credentials
        self._settings = settings
        self._stream: Any = None
        self._aborted = False
        self.on_resumed: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def _session(self) -> None:
        stream = TradingStream(self._credentials.key_id, self._credentials.secret,
                               paper=self._settings.paper, raw_data=True,
                               url_override=self._settings.trade_stream_url())
        self._stream = stream
        self._aborted = False
        stream.subscribe_trade_updates(self._on_message)  # not running yet: no blocking
        try:
            try:
                await stream._start_ws()  # connect, authenticate, listen (the SDK's code)
            except ValueError as exc:
                raise FatalConnectionError(f"Alpaca refused the trading connection ({exc}); "
                                           "check the keys in File > Connections") from None
            if self._aborted:
                return
            stream._loop = asyncio.get_running_loop()
            stream._running = True
            self._live()
            await stream._consume()
        finally:
            self._stream = None
            await stream.close()

    async def _abort(self) -> None:
        self._aborted = True
        if self._stream is not None:
            await self._stream.close()

    async def _resumed(self) -> None:
        if self.on_resumed is not None:
            await self.on_resumed()

    async def _on_message(self, message: dict[str, Any]) -> None:
        self.heard += 1
        try:
            self._broker.on_trade_update(message.get("data") or {})
        except Exception:  # one bad event must not drop the connection
            log.exception("a trade update could not be applied: %s", str(message)[:500])

    @property
    def live(self) -> bool:
        return self.state is FeedState.LIVE


def _price(value: object) -> float | None:
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]


def _ts(value: object) -> int | None:
    if not value:
        return None
    try:
        return datetime_to_ns(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _same_order(raw: dict[str, Any], intent: OrderIntent) -> bool:
    """The order found under a client id is the one asked for (not an old namesake)."""
    try:
        return (str(raw.get("symbol")) == intent.symbol and str(raw.get("side")) == intent.side
                and abs(float(raw.get("qty") or 0) - intent.qty) < _EPS)
    except (TypeError, ValueError):
        return False
