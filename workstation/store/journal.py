"""The trading journal: orders, transitions, fills and trades, committed to
SQLite before anyone is shown them (invariant 4), and read back after a restart.

Engine components get OrderUpdate/Fill/Trade events synchronously on the bus,
so simulated runs stay deterministic; the journal collects the same events,
commits them in one transaction per loop turn on the store's writer thread, and
only then hands them to its listeners (the UI bridge). A crash between a fill
and its commit loses nothing anyone has seen.

A trading event is either committed or trading stops. Batches wait in one ordered
queue and are never dropped: a commit that fails for a reason that can pass (a lock
held by another program, a full disk) is retried with backoff while ``StoreHealth``
says so and the risk gate refuses new entries; a batch that can never commit (a
duplicate id) is stored row by row, the rows that still fail are written to an
``.unsaved.jsonl`` file beside the database, and the kill switch stops trading. At
close, batches still waiting go to a ``.recovery.jsonl`` file that the next start
replays before anything else.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, text

from workstation.accounts import DEFAULT_ACCOUNT
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
from workstation.risk.safe_mode import SafeModeChanged
from workstation.signals.events import AlertRefused, SignalChanged
from workstation.signals.lifecycle import (
    SignalRecord,
    SignalState,
    record_from_json,
    record_to_json,
)
from workstation.store.database import Store, StoreError
from workstation.store.health import StoreHealth, StoreHealthChanged
from workstation.store.reserve import DiskReserve
from workstation.store.writer import StoreWriter
from workstation.text import storable
from workstation.trades import ActiveTrade, TradeChanged, TradeClosed, TradeRecord

log = logging.getLogger(__name__)

Listener = Callable[[list[object]], None]
OrderSource = Callable[[str], Order | None]
TradeSource = Callable[[str], ActiveTrade | None]
Rows = dict[str, list[tuple[Any, ...]]]
T = TypeVar("T")
TABLES = ("orders", "events", "fills", "trades", "risk", "signals", "signal_events", "alerts",
          "risk_state")
RECENT_ROWS = 500  # finished orders and trades shown again after a restart
RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
CLOSE_TIMEOUT_S = 5.0


def recovery_path(database: Path) -> Path:
    """Batches that were still waiting when the app closed; replayed at the next start."""
    return database.with_name(database.name + ".recovery.jsonl")


def unsaved_path(database: Path) -> Path:
    """Rows that could never be stored (kept for a person to look at, never replayed)."""
    return database.with_name(database.name + ".unsaved.jsonl")


@dataclass(slots=True)
class Restored:
    """What a restart found in the store for one account."""

    epoch: int = 1
    starting_cash: float | None = None
    fills: list[Fill] = field(default_factory=list)
    working: list[Order] = field(default_factory=list)
    done: list[Order] = field(default_factory=list)  # every epoch's: client ids stay unique
    trades: list[ActiveTrade] = field(default_factory=list)
    recent_done: list[Order] = field(default_factory=list)  # this epoch's, for the Orders panel
    closed_trades: list[TradeClosed] = field(default_factory=list)  # this epoch's, oldest first
    risk_state: dict[str, Any] | None = None  # kill switch and the rules' running numbers
    risk_history: list[object] = field(default_factory=list)  # the latest compliance events
    signals: list[SignalRecord] = field(default_factory=list)  # open ones (not yet closed)
    last_signal: int = 0  # the highest id number ever used: ids keep counting up
    last_trade: int = 0
    last_fill: int = 0

    def summary(self) -> str:
        return (f"{len(self.working)} working order(s), {len(self.fills)} fill(s) rebuilding "
                f"positions, {len(self.trades)} active trade(s)")


@dataclass(slots=True)
class _Batch:
    events: list[object]
    rows: Rows


class Journal:
    def __init__(self, bus: EventBus, store: Store | None, writer: StoreWriter | None,
                 orders: OrderSource, trades: TradeSource, epoch: int = 1,
                 risk_state: Callable[[], dict[str, Any]] | None = None,
                 account: str = DEFAULT_ACCOUNT, health: StoreHealth | None = None,
                 now_ns: Callable[[], int] = time.time_ns) -> None:
        self._risk_state = risk_state
        self._store = store
        self._writer = writer
        self._orders = orders
        self._trades = trades
        self._bus = bus
        self._now_ns = now_ns
        self.account = account
        self.epoch = epoch
        self.health = health if health is not None else StoreHealth()
        self.listeners: list[Listener] = []
        self.on_fatal: Callable[[str], None] | None = None  # stops trading (the kill switch)
        self.reserve: DiskReserve | None = None  # freed when the disk is full
        self._events: list[object] = []
        self._queue: deque[_Batch] = deque()
        self._in_flight = 0  # batches of the queue's head in the commit under way
        self._retry: asyncio.TimerHandle | None = None
        self._attempt = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._idle = asyncio.Event()  # nothing queued
        self._idle.set()
        self._landed = asyncio.Event()  # no commit under way
        self._landed.set()
        self._closing = False
        self.close_timeout_s = CLOSE_TIMEOUT_S
        self.commits = 0
        self.failures = 0
        for kind in (OrderUpdate, Fill, TradeChanged, TradeClosed, AccountReset,
                     RiskLevelChanged, KillSwitchChanged, OrderBlocked, SignalChanged,
                     AlertRefused, SafeModeChanged):
            bus.subscribe(kind, self._record, f"Journal.{kind.__name__}")

    @property
    def waiting(self) -> int:
        """Trading events not yet stored."""
        return len(self._events) + sum(len(batch.events) for batch in self._queue)

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
        """Queue what happened this loop turn for commit; it is shown once stored.
        ``save_state``: write the risk state even with no event to carry it (a clean stop)."""
        self._scheduled = False
        if self._loop is None:  # a stop before start() finished
            self._loop = asyncio.get_running_loop()
        events, self._events = self._events, []
        if not events and not (save_state and self._risk_state is not None):
            return
        if self._store is None or self._writer is None:
            self._deliver(events)
            return
        self._queue.append(_Batch(events, self._rows(events)))
        self._idle.clear()
        self._pump()

    # -- the ordered commit queue ---------------------------------------------------------
    def _pump(self) -> None:
        """Commit every queued batch in one transaction, unless a commit or a retry is
        already under way (batches are stored strictly in order)."""
        if self._in_flight or self._retry is not None or not self._queue or self._closing:
            return
        assert self._writer is not None and self._loop is not None
        batches = list(self._queue)
        rows = merge_rows(batch.rows for batch in batches)
        self._in_flight = len(batches)
        self._landed.clear()
        loop = self._loop
        future = self._writer.submit(lambda: self._write(rows))
        future.add_done_callback(
            lambda done: loop.call_soon_threadsafe(self._committed, done))

    def _committed(self, done: Future[None]) -> None:
        count, self._in_flight = self._in_flight, 0
        self._landed.set()
        error = done.exception()
        if error is None:
            self._attempt = 0
            self.commits += 1
            self._done(count)
            if self.health.committed():
                log.warning("journal: the store is writable again; every waiting trading "
                            "event is stored")
                self._publish_health()
            self._pump()
            return
        self.failures += 1
        if is_disk_full(error) and self.reserve is not None and self.reserve.release():
            log.critical("journal: the disk is full; the space reserve was freed to store the "
                         "waiting trading events; new entries are blocked until space is freed")
            self.disk_full("the disk is full")
            self._pump()
        elif is_transient(error):
            self._wait_and_retry(error)
        else:
            self._salvage(count, error)

    def _done(self, count: int) -> None:
        events: list[object] = []
        for _ in range(count):
            events.extend(self._queue.popleft().events)
        self._deliver(events)
        if not self._queue:
            self._idle.set()

    def _wait_and_retry(self, error: BaseException) -> None:
        assert self._loop is not None
        if self._closing:
            return
        delay = RETRY_DELAYS_S[min(self._attempt, len(RETRY_DELAYS_S) - 1)]
        self._attempt += 1
        reason = _short(error)
        if self.health.failed(reason, self.waiting):
            log.critical("journal: trading events cannot be stored (%s); new entries are "
                         "blocked until they are, retrying", reason)
            self._publish_health()
        else:
            log.error("journal: commit attempt %d failed (%s); %d event(s) waiting, retry in "
                      "%.2f s", self._attempt, reason, self.waiting, delay)
        self._retry = self._loop.call_later(delay, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self._pump()

    def _salvage(self, count: int, error: BaseException) -> None:
        """A batch that can never commit as a whole: store what can be stored row by row,
        keep the rest in the unsaved file, and stop trading."""
        assert self._writer is not None and self._loop is not None
        rows = merge_rows(self._queue[i].rows for i in range(count))
        loop = self._loop
        self._in_flight = count
        self._landed.clear()
        future = self._writer.submit(lambda: self._write_row_by_row(rows))
        future.add_done_callback(
            lambda done: loop.call_soon_threadsafe(self._salvaged, done, error))

    def _salvaged(self, done: Future[list[tuple[str, list[Any], str]]],
                  error: BaseException) -> None:
        count, self._in_flight = self._in_flight, 0
        self._landed.set()
        failure = done.exception()
        if failure is not None:  # the store itself went away meanwhile: keep waiting
            self._wait_and_retry(failure)
            return
        bad = done.result()
        assert self._store is not None
        target = unsaved_path(self._store.path)
        try:
            _append_lines(target, [{"account": self.account, "table": table, "row": row,
                                    "error": message} for table, row, message in bad])
            kept = f"kept in {target.name}"
        except OSError as exc:
            kept = f"and could not be written to {target.name} either ({exc.strerror})"
        reason = (f"journal: {len(bad)} row(s) could not be stored ({_short(error)}), {kept}; "
                  "trading stopped")
        log.critical("%s", reason)
        self._done(count)
        if self.on_fatal is not None:
            self.on_fatal(reason)
        self._pump()

    def disk_full(self, reason: str) -> None:
        if self.health.disk_full(reason):
            self._publish_health()

    def space_back(self) -> None:
        """Called when the space reserve could be made again: the disk has room."""
        if self.health.disk_ok():
            log.warning("journal: the disk has room again; new entries are allowed")
            self._publish_health()

    def _publish_health(self) -> None:
        health = self.health
        self._bus.publish(StoreHealthChanged(self._now_ns(), health.available, health.reason,
                                             health.queued))

    def _deliver(self, events: list[object]) -> None:
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:
                log.exception("journal listener %r failed", listener)

    async def drain(self) -> None:
        """Queue what is buffered and wait until every queued batch is stored."""
        self.flush(save_state=True)
        await self._idle.wait()
        if self._writer is not None:
            await self._writer.drain()

    async def close(self) -> None:
        """Store what is waiting, retrying for up to ``close_timeout_s``; what still cannot
        be stored goes to the recovery file, replayed at the next start."""
        self.flush(save_state=True)
        try:
            await asyncio.wait_for(self._idle.wait(), self.close_timeout_s)
            return
        except TimeoutError:
            pass
        self._closing = True  # no new attempt; let the one under way land first
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        await self._landed.wait()
        if self._queue:
            self._write_recovery()

    def _write_recovery(self) -> None:
        assert self._store is not None
        target = recovery_path(self._store.path)
        batches = list(self._queue)
        lines = [{"account": self.account, "rows": batch.rows} for batch in batches]
        waiting = sum(len(batch.events) for batch in batches)
        try:
            _append_lines(target, lines)
        except OSError as exc:
            log.critical("journal: %d trading event(s) could not be stored and the recovery "
                         "file %s could not be written (%s): they are lost", waiting, target,
                         exc.strerror)
            return
        self._queue.clear()
        self._idle.set()
        log.critical("journal: %d trading event(s) could not be stored before closing; kept "
                     "in %s and stored at the next start", waiting, target.name)

    # -- rows ----------------------------------------------------------------------------
    def _rows(self, events: list[object]) -> Rows:
        rows: Rows = {table: [] for table in TABLES}
        account = self.account
        order_ids: dict[str, None] = {}
        trade_ids: dict[str, None] = {}
        for event in events:
            if isinstance(event, OrderUpdate):
                if event.order_id:
                    order_ids[event.order_id] = None
                    rows["events"].append((account, event.order_id, event.status,
                                           event.filled_qty, event.reason, event.ts))
            elif isinstance(event, Fill):
                rows["fills"].append((account, event.fill_id, event.order_id,
                                      event.client_order_id, event.symbol, event.side,
                                      event.qty, event.price, event.commission, event.ts,
                                      event.source, self.epoch))
            elif isinstance(event, TradeChanged):
                trade_ids[event.trade.trade_id] = None
            elif isinstance(event, RiskLevelChanged | KillSwitchChanged | OrderBlocked
                            | SafeModeChanged):
                rule = getattr(event, "rule", "") or getattr(event, "scope", "")
                rows["risk"].append((account, event.ts, type(event).__name__, rule,
                                     json.dumps(asdict(event))))
            elif isinstance(event, SignalChanged):
                record = event.record
                rows["signals"].append((account, record.id, record.signal.symbol, record.state,
                                        record.history[-1].ts, record_to_json(record)))
                rows["signal_events"].extend((account, record.id, step.state, step.ts,
                                              step.reason) for step in event.new)
            elif isinstance(event, AlertRefused):
                rows["alerts"].append((account, event.ts, event.remote, event.status,
                                       event.message, event.body))
            elif isinstance(event, TradeClosed):
                trade_ids.pop(event.record.trade_id, None)
                record = event.record
                rows["trades"].append((account, record.trade_id, record.symbol, "closed",
                                       record.exit_ts, self.epoch,
                                       json.dumps(record.as_dict()),
                                       json.dumps(event.samples)))
        if self._risk_state is not None:
            rows["risk_state"].append((account, json.dumps(self._risk_state())))
        for order_id in order_ids:
            order = self._orders(order_id)
            if order is not None:
                rows["orders"].append((account, order.order_id, order.intent.client_order_id,
                                       order.symbol, order.status, order.updated_ts, self.epoch,
                                       json.dumps(order_to_dict(order))))
        for trade_id in trade_ids:
            trade = self._trades(trade_id)
            if trade is not None:
                data = asdict(trade)
                samples = data.pop("samples")
                rows["trades"].append((account, trade.trade_id, trade.symbol, "active",
                                       trade.entry_ts, self.epoch, json.dumps(data),
                                       json.dumps(samples)))
        return {table: [_storable_row(row) for row in table_rows]
                for table, table_rows in rows.items()}

    def _write(self, rows: Rows) -> None:
        assert self._store is not None
        with self._store.transaction() as conn:
            write_rows(conn, rows)

    def _write_row_by_row(self, rows: Rows) -> list[tuple[str, list[Any], str]]:
        """Each row in its own transaction; the rows that fail, with why."""
        assert self._store is not None
        bad: list[tuple[str, list[Any], str]] = []
        for table, table_rows in rows.items():
            for row in table_rows:
                single: Rows = {name: [] for name in TABLES}
                single[table].append(row)
                try:
                    with self._store.transaction() as conn:
                        write_rows(conn, single)
                except (StoreError, ValueError, TypeError, OverflowError) as exc:
                    if is_transient(exc):
                        raise
                    bad.append((table, list(row), _short(exc)))
        return bad

    # -- account and restore ---------------------------------------------------------------
    def open_account(self, starting_cash: float, now_ns: int) -> None:
        """Start a new epoch of this account (its first run or a reset)."""
        if self._store is None:
            return
        with self._store.transaction() as conn:
            self.epoch = open_epoch(conn, self.account, starting_cash, now_ns)


def open_epoch(conn: Connection, account: str, starting_cash: float, now_ns: int) -> int:
    """A new epoch of ``account`` (created if new): earlier working orders are canceled and
    active trades abandoned; their history stays."""
    conn.execute(text("INSERT OR IGNORE INTO accounts (name, kind, created_ts) "
                      "VALUES (:a, 'paper', :t)"), {"a": account, "t": now_ns})
    last = conn.execute(text("SELECT MAX(epoch) FROM account_epochs WHERE account = :a"),
                        {"a": account}).scalar()
    epoch = (last or 0) + 1
    conn.execute(text("INSERT INTO account_epochs (account, epoch, starting_cash, started_ts) "
                      "VALUES (:a, :e, :c, :t)"),
                 {"a": account, "e": epoch, "c": starting_cash, "t": now_ns})
    conn.execute(text("UPDATE orders SET status = 'canceled' WHERE account = :a AND status IN "
                      "('new', 'accepted', 'partially_filled')"), {"a": account})
    conn.execute(text("UPDATE trades SET status = 'abandoned' WHERE account = :a "
                      "AND status = 'active'"), {"a": account})
    return epoch


def is_transient(error: BaseException) -> bool:
    """A failure that can pass by itself (a lock, a full disk, an I/O error): retry it.
    Anything else (a duplicate id, text that cannot be encoded) never will."""
    seen: BaseException | None = error
    while seen is not None:
        orig = getattr(seen, "orig", None)
        for candidate in (seen, orig):
            if isinstance(candidate, _NEVER_PASSES):
                return False
            if isinstance(candidate, sqlite3.DatabaseError):  # locked, full, I/O, damaged
                return True
        seen = seen.__cause__
    return False


_NEVER_PASSES = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.DataError,
                 sqlite3.InterfaceError)


def is_disk_full(error: BaseException) -> bool:
    """SQLite's "database or disk is full", or an OS error saying so."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        for candidate in (seen, getattr(seen, "orig", None)):
            if isinstance(candidate, sqlite3.OperationalError) and "full" in str(candidate):
                return True
        seen = seen.__cause__
    return False


def merge_rows(batches: Iterable[Rows]) -> Rows:
    """One transaction's rows for several batches, in their order (a later snapshot of an
    order or trade replaces an earlier one, as it would have batch by batch)."""
    merged: Rows = {table: [] for table in TABLES}
    for rows in batches:
        for table, table_rows in rows.items():
            merged[table].extend(table_rows)
    merged["risk_state"] = merged["risk_state"][-1:]
    return merged


def _storable_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(storable(value) if isinstance(value, str) else value for value in row)


def _short(error: BaseException) -> str:
    text_ = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text_[:300]


def _append_lines(path: Path, records: list[dict[str, Any]]) -> None:
    """Append JSON lines and make them durable before returning."""
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def replay_recovery(store: Store, now_ns: int) -> int:
    """Store the batches a previous run could not, before anything else reads the store.
    Returns how many batches were replayed. A file already replayed (its hash is recorded
    in the same transaction) is only removed."""
    path = recovery_path(store.path)
    if not path.exists():
        return 0
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    try:
        batches = [json.loads(line) for line in content.decode("utf-8").splitlines() if line]
    except (UnicodeDecodeError, ValueError) as exc:
        raise StoreError(f"{path} cannot be read ({exc}); it was left in place. Move it "
                         "aside to start without it.") from exc
    with store.transaction() as conn:
        seen = conn.execute(text("SELECT 1 FROM recovered_files WHERE sha256 = :s"),
                            {"s": digest}).first()
        if seen is None:
            for batch in batches:
                write_rows(conn, {table: [tuple(row) for row in rows]
                                  for table, rows in batch["rows"].items()})
            conn.execute(text("INSERT INTO recovered_files (sha256, file_name, replayed_ts) "
                              "VALUES (:s, :f, :t)"), {"s": digest, "f": path.name, "t": now_ns})
    path.unlink()
    if seen is None:
        log.warning("journal: stored %d batch(es) of trading events kept in %s by the last "
                    "run", len(batches), path.name)
    return 0 if seen is not None else len(batches)


def restore(store: Store, account: str = DEFAULT_ACCOUNT) -> Restored:
    """Read an account's current epoch back: fills, working orders, active trades."""
    found = Restored()
    params = {"a": account}
    with store.transaction() as conn:
        found.signals, found.last_signal = _open_signals(conn, account)
        state = conn.execute(text("SELECT data FROM risk_state WHERE account = :a"),
                             params).scalar()
        found.risk_state = _read(store, account, "risk state", "", lambda: json.loads(state)
                                 ) if state else None
        found.risk_history = _risk_history(conn, account)
        row = conn.execute(text("SELECT epoch, starting_cash FROM account_epochs "
                                "WHERE account = :a ORDER BY epoch DESC LIMIT 1"), params).first()
        if row is None:
            return found
        found.epoch, found.starting_cash = int(row[0]), float(row[1])
        current = {"a": account, "e": found.epoch}
        for r in conn.execute(text("SELECT fill_id, order_id, client_order_id, symbol, side, qty, "
                                   "price, commission, ts, source FROM fills WHERE account = :a "
                                   "AND epoch = :e ORDER BY ts, rowid"), current):
            found.fills.append(_read(store, account, "fill", str(r[0]), lambda r=r: Fill(
                r[0], r[1], r[2], r[3], OrderSide(r[4]), r[5], r[6], r[7], r[8], r[9])))
        for order_id, status, epoch, data in conn.execute(text(
                "SELECT order_id, status, epoch, data FROM orders WHERE account = :a"), params):
            order = _read(store, account, "order", order_id,
                          lambda data=data: order_from_dict(json.loads(data)))
            (found.working if OrderStatus(status).working else found.done).append(order)
            if epoch == found.epoch and not OrderStatus(status).working:
                found.recent_done.append(order)
        found.working.sort(key=lambda o: _number(o.order_id))
        found.done.sort(key=lambda o: _number(o.order_id))
        found.recent_done.sort(key=lambda o: _number(o.order_id))
        del found.recent_done[:-RECENT_ROWS]
        for trade_id, status, data, samples in conn.execute(
                text("SELECT trade_id, status, data, samples FROM trades WHERE account = :a "
                     "AND epoch = :e AND status IN ('active', 'closed') "
                     "ORDER BY updated_ts, rowid"), current):
            if status == "closed":
                closed = _closed_trade(data, samples)
                if closed is not None:
                    found.closed_trades.append(closed)
                continue
            found.trades.append(_read(store, account, "active trade", trade_id,
                                      lambda d=data, s=samples: _active_trade(d, s)))
        del found.closed_trades[:-RECENT_ROWS]
        found.last_trade = _last_number(conn, "trades", "trade_id", 1, account)
        found.last_fill = _last_number(conn, "fills", "fill_id", 1, account)
    return found


def _read(store: Store, account: str, what: str, ident: str, parse: Callable[[], T]) -> T:
    """A stored row the account's state is rebuilt from, or a clear refusal: trading on an
    account rebuilt without one of its orders or fills would be wrong."""
    try:
        return parse()
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            f"{store.path}: the stored {what} {ident} of account {account} cannot be read "
            f"({type(exc).__name__}: {str(exc)[:120]}); the account cannot be restored safely "
            "and nothing was changed. Run `bracket check`, restore a backup (*.bak-v*), or "
            "trade another account (--account NAME).") from exc


def _active_trade(data: str, samples: str) -> ActiveTrade:
    fields = json.loads(data)
    fields["samples"] = [tuple(sample) for sample in json.loads(samples)]
    return ActiveTrade(**fields)


def _closed_trade(data: str, samples: str) -> TradeClosed | None:
    """A stored finished trade as the event that closed it (for the Trades panel)."""
    try:
        fields = json.loads(data)
        record = TradeRecord(**{name: fields[name] for name in TradeRecord.__slots__
                                if name in fields})
        shape = tuple(tuple(sample) for sample in json.loads(samples))
    except (ValueError, TypeError) as exc:  # history only: shown without it, and said
        log.error("a stored finished trade cannot be shown: %s", exc)
        return None
    return TradeClosed(record, shape)


def _number(identifier: str) -> int:
    """The number of an id such as P12."""
    digits = re.search(r"\d+$", identifier)
    return int(digits.group()) if digits else 0


def _last_number(conn: Connection, table: str, column: str, prefix: int, account: str) -> int:
    """The highest number an id of ``table`` ever carried in this account (ids like F12 are
    never reused, even when rows were lost or removed)."""
    value = conn.execute(text(f"SELECT MAX(CAST(SUBSTR({column}, {prefix + 1}) AS INTEGER)) "
                              f"FROM {table} WHERE account = :a"), {"a": account}).scalar()
    return int(value or 0)


def _open_signals(conn: Connection, account: str) -> tuple[list[SignalRecord], int]:
    """Signals not finished yet, oldest first, and the highest signal number ever used
    (ids keep counting up). A row that no longer reads is reported and left in place."""
    open_states = [s.value for s in SignalState if not s.terminal]
    records = []
    rows = conn.execute(text("SELECT signal_id, data FROM signals WHERE account = :a AND state "
                             f"IN ({', '.join(repr(s) for s in open_states)}) ORDER BY rowid"),
                        {"a": account})
    for signal_id, data in rows:
        try:
            records.append(record_from_json(data))
        except ValueError as exc:
            log.error("stored signal %s cannot be read: %s", signal_id, exc)
    last = _last_number(conn, "signals", "signal_id", len("sig-"), account)
    return records, last


RISK_HISTORY_ROWS = 500
_RISK_EVENTS = {kind.__name__: kind for kind in (RiskLevelChanged, KillSwitchChanged,
                                                 OrderBlocked)}


def _risk_history(conn: Connection, account: str) -> list[object]:
    """The latest compliance events, oldest first, as the event objects they were."""
    rows = conn.execute(text("SELECT kind, data FROM risk_events WHERE account = :a "
                             "ORDER BY id DESC LIMIT :n"),
                        {"a": account, "n": RISK_HISTORY_ROWS}).all()
    return [_RISK_EVENTS[kind](**json.loads(data)) for kind, data in reversed(rows)
            if kind in _RISK_EVENTS]


_INSERTS = {
    "orders": "INSERT OR REPLACE INTO orders (account, order_id, client_order_id, symbol, "
              "status, updated_ts, epoch, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO order_events (account, order_id, status, filled_qty, reason, ts) "
              "VALUES (?, ?, ?, ?, ?, ?)",
    "fills": "INSERT INTO fills (account, fill_id, order_id, client_order_id, symbol, side, "
             "qty, price, commission, ts, source, epoch) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "trades": "INSERT OR REPLACE INTO trades (account, trade_id, symbol, status, updated_ts, "
              "epoch, data, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "risk": "INSERT INTO risk_events (account, ts, kind, rule, data) VALUES (?, ?, ?, ?, ?)",
    "signals": "INSERT OR REPLACE INTO signals (account, signal_id, symbol, state, updated_ts, "
               "data) VALUES (?, ?, ?, ?, ?, ?)",
    "signal_events": "INSERT INTO signal_events (account, signal_id, state, ts, reason) "
                     "VALUES (?, ?, ?, ?, ?)",
    "alerts": "INSERT INTO refused_alerts (account, ts, remote, status, message, body) "
              "VALUES (?, ?, ?, ?, ?, ?)",
    "risk_state": "INSERT OR REPLACE INTO risk_state (account, data) VALUES (?, ?)",
}


def write_rows(conn: Connection, rows: Rows) -> None:
    """Insert one batch. Fills are plain inserts: a fill id stored twice is an error (it
    would mean an id was reused), never a silent skip. Only the last risk state counts."""
    for table, sql in _INSERTS.items():
        batch = rows.get(table)
        if batch:
            conn.exec_driver_sql(sql, batch[-1:] if table == "risk_state" else batch)


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
