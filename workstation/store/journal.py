"""The trading journal: orders, transitions, fills and trades, committed to
SQLite before anyone is shown them (invariant 4), and read back after a restart.

Engine components get OrderUpdate/Fill/Trade events synchronously on the bus,
so simulated runs stay deterministic; the journal collects the same events,
commits them in one transaction per loop turn on the store's writer thread, and
only then hands them to its listeners (the UI bridge). A crash between a fill
and its commit loses nothing anyone has seen.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from workstation.bus import EventBus
from workstation.orders import (
    Bracket,
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
from workstation.portfolio import AccountReset
from workstation.risk.events import KillSwitchChanged, OrderBlocked, RiskLevelChanged
from workstation.signals.events import AlertRefused, SignalChanged
from workstation.signals.lifecycle import (
    SignalRecord,
    SignalState,
    record_from_json,
    record_to_json,
)
from workstation.store.database import Store
from workstation.store.writer import StoreWriter
from workstation.trades import ActiveTrade, TradeChanged, TradeClosed

log = logging.getLogger(__name__)

Listener = Callable[[list[object]], None]
OrderSource = Callable[[str], Order | None]
TradeSource = Callable[[str], ActiveTrade | None]


@dataclass(slots=True)
class Restored:
    """What a restart found in the store."""

    epoch: int = 1
    starting_cash: float | None = None
    fills: list[Fill] = field(default_factory=list)
    working: list[Order] = field(default_factory=list)
    done: list[Order] = field(default_factory=list)  # every epoch's: client ids stay unique
    trades: list[ActiveTrade] = field(default_factory=list)
    risk_state: dict[str, Any] | None = None  # kill switch and the rules' running numbers
    risk_history: list[object] = field(default_factory=list)  # the latest compliance events
    signals: list[SignalRecord] = field(default_factory=list)  # open ones (not yet closed)
    signal_count: int = 0
    trade_count: int = 0  # all epochs: ids keep counting up
    fill_count: int = 0

    def summary(self) -> str:
        return (f"{len(self.working)} working order(s), {len(self.fills)} fill(s) rebuilding "
                f"positions, {len(self.trades)} active trade(s)")


class Journal:
    def __init__(self, bus: EventBus, store: Store | None, writer: StoreWriter | None,
                 orders: OrderSource, trades: TradeSource, epoch: int = 1,
                 risk_state: Callable[[], dict[str, Any]] | None = None) -> None:
        self._risk_state = risk_state
        self._store = store
        self._writer = writer
        self._orders = orders
        self._trades = trades
        self.epoch = epoch
        self.listeners: list[Listener] = []
        self._events: list[object] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self.commits = 0
        self.failures = 0
        for kind in (OrderUpdate, Fill, TradeChanged, TradeClosed, AccountReset,
                     RiskLevelChanged, KillSwitchChanged, OrderBlocked, SignalChanged,
                     AlertRefused):
            bus.subscribe(kind, self._record, f"Journal.{kind.__name__}")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._events:
            self._schedule()

    def _record(self, event: object) -> None:
        self._events.append(event)
        if self._loop is not None and not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        assert self._loop is not None
        self._scheduled = True
        self._loop.call_soon(self.flush)

    def flush(self, *, save_state: bool = False) -> None:
        """Commit what happened this loop turn, then show it. ``save_state``: write the
        risk state even with no event to carry it (a clean stop)."""
        self._scheduled = False
        events, self._events = self._events, []
        if not events and not (save_state and self._risk_state is not None):
            return
        if self._store is None or self._writer is None:
            self._deliver(events)
            return
        rows = self._rows(events)
        future = self._writer.submit(lambda: self._write(rows))
        loop = self._loop
        assert loop is not None
        future.add_done_callback(
            lambda done: loop.call_soon_threadsafe(self._committed, events, done))

    def _committed(self, events: list[object], done: Future[None]) -> None:
        error = done.exception()
        if error is not None:
            self.failures += 1
            log.error("journal: %d trading event(s) could NOT be saved: %s", len(events), error)
        else:
            self.commits += 1
        self._deliver(events)

    def _deliver(self, events: list[object]) -> None:
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:
                log.exception("journal listener %r failed", listener)

    async def drain(self) -> None:
        self.flush(save_state=True)
        if self._writer is not None:
            await self._writer.drain()

    # -- rows ----------------------------------------------------------------------------
    def _rows(self, events: list[object]) -> dict[str, list[tuple[Any, ...]]]:
        rows: dict[str, list[tuple[Any, ...]]] = {
            "orders": [], "events": [], "fills": [], "trades": [], "risk": [],
            "risk_state": [], "signals": [], "signal_events": [], "alerts": []}
        order_ids: dict[str, None] = {}
        trade_ids: dict[str, None] = {}
        for event in events:
            if isinstance(event, OrderUpdate):
                if event.order_id:
                    order_ids[event.order_id] = None
                    rows["events"].append((event.order_id, event.status, event.filled_qty,
                                           event.reason, event.ts))
            elif isinstance(event, Fill):
                rows["fills"].append((event.fill_id, event.order_id, event.client_order_id,
                                      event.symbol, event.side, event.qty, event.price,
                                      event.commission, event.ts, event.source, self.epoch))
            elif isinstance(event, TradeChanged):
                trade_ids[event.trade.trade_id] = None
            elif isinstance(event, RiskLevelChanged | KillSwitchChanged | OrderBlocked):
                rule = getattr(event, "rule", "") or getattr(event, "scope", "")
                rows["risk"].append((event.ts, type(event).__name__, rule,
                                     json.dumps(asdict(event))))
            elif isinstance(event, SignalChanged):
                record = event.record
                rows["signals"].append((record.id, record.signal.symbol, record.state,
                                        record.history[-1].ts, record_to_json(record)))
                rows["signal_events"].extend((record.id, step.state, step.ts, step.reason)
                                             for step in event.new)
            elif isinstance(event, AlertRefused):
                rows["alerts"].append((event.ts, event.remote, event.status, event.message,
                                       event.body))
            elif isinstance(event, TradeClosed):
                trade_ids.pop(event.record.trade_id, None)
                record = event.record
                rows["trades"].append((record.trade_id, record.symbol, "closed",
                                       record.exit_ts, self.epoch,
                                       json.dumps(record.as_dict()),
                                       json.dumps(event.samples)))
        if self._risk_state is not None:
            rows["risk_state"].append((json.dumps(self._risk_state()),))
        for order_id in order_ids:
            order = self._orders(order_id)
            if order is not None:
                rows["orders"].append((order.order_id, order.intent.client_order_id,
                                       order.symbol, order.status, order.updated_ts, self.epoch,
                                       json.dumps(order_to_dict(order))))
        for trade_id in trade_ids:
            trade = self._trades(trade_id)
            if trade is not None:
                data = asdict(trade)
                samples = data.pop("samples")
                rows["trades"].append((trade.trade_id, trade.symbol, "active", trade.entry_ts,
                                       self.epoch, json.dumps(data), json.dumps(samples)))
        return rows

    def _write(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        assert self._store is not None
        with self._store.transaction() as conn:
            _write_rows(conn, rows)

    # -- account and restore ---------------------------------------------------------------
    def open_account(self, starting_cash: float, now_ns: int) -> None:
        """Start a new account epoch (first run or an account reset)."""
        if self._store is None:
            return
        with self._store.transaction() as conn:
            last = conn.execute(text("SELECT MAX(epoch) FROM account")).scalar()
            self.epoch = (last or 0) + 1
            conn.execute(text("INSERT INTO account (epoch, starting_cash, started_ts) "
                              "VALUES (:e, :c, :t)"), {"e": self.epoch, "c": starting_cash,
                                                       "t": now_ns})
            conn.execute(text("UPDATE orders SET status = 'canceled' WHERE status IN "
                              "('new', 'accepted', 'partially_filled')"))
            conn.execute(text("UPDATE trades SET status = 'abandoned' WHERE status = 'active'"))


def restore(store: Store) -> Restored:
    """Read the current account epoch back: fills, working orders, active trades."""
    found = Restored()
    with store.transaction() as conn:
        found.signals, found.signal_count = _open_signals(conn)
        row = conn.execute(text("SELECT epoch, starting_cash FROM account "
                                "ORDER BY epoch DESC LIMIT 1")).first()
        if row is None:
            state = conn.execute(text("SELECT data FROM risk_state WHERE id = 1")).scalar()
            found.risk_state = json.loads(state) if state else None
            found.risk_history = _risk_history(conn)
            return found
        found.epoch, found.starting_cash = int(row[0]), float(row[1])
        for r in conn.execute(text("SELECT fill_id, order_id, client_order_id, symbol, side, qty, "
                                   "price, commission, ts, source FROM fills WHERE epoch = :e "
                                   "ORDER BY ts, rowid"), {"e": found.epoch}):
            found.fills.append(Fill(r[0], r[1], r[2], r[3], OrderSide(r[4]), r[5], r[6], r[7],
                                    r[8], r[9]))
        for status, data in conn.execute(text("SELECT status, data FROM orders")):
            order = order_from_dict(json.loads(data))
            (found.working if OrderStatus(status).working else found.done).append(order)
        found.working.sort(key=lambda o: int(o.order_id.lstrip("P")))
        for data, samples in conn.execute(text("SELECT data, samples FROM trades WHERE "
                                               "status = 'active' AND epoch = :e"),
                                          {"e": found.epoch}):
            fields = json.loads(data)
            fields["samples"] = [tuple(s) for s in json.loads(samples)]
            found.trades.append(ActiveTrade(**fields))
        found.trade_count = int(conn.execute(text("SELECT COUNT(*) FROM trades")).scalar() or 0)
        found.fill_count = int(conn.execute(text("SELECT COUNT(*) FROM fills")).scalar() or 0)
        state = conn.execute(text("SELECT data FROM risk_state WHERE id = 1")).scalar()
        found.risk_state = json.loads(state) if state else None
        found.risk_history = _risk_history(conn)
    return found


def _open_signals(conn: Connection) -> tuple[list[SignalRecord], int]:
    """Signals not finished yet, oldest first, and how many signals there ever were (ids
    keep counting up). A row that no longer reads is reported and left in place."""
    open_states = [s.value for s in SignalState if not s.terminal]
    records = []
    rows = conn.execute(text("SELECT signal_id, data FROM signals WHERE state IN "
                             f"({', '.join(repr(s) for s in open_states)}) ORDER BY rowid"))
    for signal_id, data in rows:
        try:
            records.append(record_from_json(data))
        except ValueError as exc:
            log.error("stored signal %s cannot be read: %s", signal_id, exc)
    count = int(conn.execute(text("SELECT COUNT(*) FROM signals")).scalar() or 0)
    return records, count


RISK_HISTORY_ROWS = 500
_RISK_EVENTS = {kind.__name__: kind for kind in (RiskLevelChanged, KillSwitchChanged,
                                                 OrderBlocked)}


def _risk_history(conn: Connection) -> list[object]:
    """The latest compliance events, oldest first, as the event objects they were."""
    rows = conn.execute(text("SELECT kind, data FROM risk_events ORDER BY id DESC LIMIT :n"),
                        {"n": RISK_HISTORY_ROWS}).all()
    return [_RISK_EVENTS[kind](**json.loads(data)) for kind, data in reversed(rows)
            if kind in _RISK_EVENTS]


def _write_rows(conn: Connection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    if rows["orders"]:
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO orders (order_id, client_order_id, symbol, status, "
            "updated_ts, epoch, data) VALUES (?, ?, ?, ?, ?, ?, ?)", rows["orders"])
    if rows["events"]:
        conn.exec_driver_sql(
            "INSERT INTO order_events (order_id, status, filled_qty, reason, ts) "
            "VALUES (?, ?, ?, ?, ?)", rows["events"])
    if rows["fills"]:
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO fills (fill_id, order_id, client_order_id, symbol, side, qty, "
            "price, commission, ts, source, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows["fills"])
    if rows["trades"]:
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO trades (trade_id, symbol, status, updated_ts, epoch, data, "
            "samples) VALUES (?, ?, ?, ?, ?, ?, ?)", rows["trades"])
    if rows["risk"]:
        conn.exec_driver_sql("INSERT INTO risk_events (ts, kind, rule, data) VALUES (?, ?, ?, ?)",
                             rows["risk"])
    if rows["signals"]:
        conn.exec_driver_sql("INSERT OR REPLACE INTO signals (signal_id, symbol, state, "
                             "updated_ts, data) VALUES (?, ?, ?, ?, ?)", rows["signals"])
    if rows["signal_events"]:
        conn.exec_driver_sql("INSERT INTO signal_events (signal_id, state, ts, reason) "
                             "VALUES (?, ?, ?, ?)", rows["signal_events"])
    if rows["alerts"]:
        conn.exec_driver_sql("INSERT INTO refused_alerts (ts, remote, status, message, body) "
                             "VALUES (?, ?, ?, ?, ?)", rows["alerts"])
    if rows["risk_state"]:
        conn.exec_driver_sql("INSERT OR REPLACE INTO risk_state (id, data) VALUES (1, ?)",
                             rows["risk_state"][-1:])


def order_to_dict(order: Order) -> dict[str, Any]:
    return asdict(order)


def order_from_dict(data: dict[str, Any]) -> Order:
    intent = dict(data.pop("intent"))
    bracket = intent.pop("bracket")
    intent.update(side=OrderSide(intent["side"]), type=OrderType(intent["type"]),
                  tif=TimeInForce(intent["tif"]), trail_unit=TrailUnit(intent["trail_unit"]),
                  bracket=Bracket(**bracket) if bracket else None)
    data["status"] = OrderStatus(data["status"])
    return Order(intent=OrderIntent(**intent), **data)
