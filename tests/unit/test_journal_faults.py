"""A trading event is either committed or trading stops: faults injected into a real
SQLite file under a running engine (a lock held by another program, a commit that
fails once, a batch that can never commit, text that cannot be encoded, a close while
the store is unavailable), and what the store holds afterwards.

NQ: tick 0.25, point value 20, commission 2.50 a contract a side.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.stored import rows
from tests.unit.strategy_desk import eventually
from workstation import engine as engine_module
from workstation.accounts import AccountLock
from workstation.config import DATABASE_FILE, Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.model import NS_PER_SECOND, Quote, datetime_to_ns
from workstation.orders import OrderIntent, OrderSide, OrderStatus
from workstation.store import StoreError, database, reserve
from workstation.store.journal import recovery_path, unsaved_path

T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))  # CME Globex open
S = NS_PER_SECOND
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.fixture(autouse=True)
def short_lock_waits(monkeypatch):
    """A write waits 0.2 s (not 10 s) for another program's lock before it fails."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(database, "OPEN_LOCK_TIMEOUT_S", 0.2)


def engine_on(home: Path) -> Engine:
    return Engine(Settings(), home, lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None))


def quote(engine: Engine, seconds: float, bid: float, ask: float) -> None:
    ts = T0 + int(seconds * S)
    engine.clock.advance_to(ts)
    engine.bus.publish(Quote("NQ", ts, bid, ask, 10, 10))


class Lock:
    """Another program holding the database's write lock."""

    def __init__(self, home: Path) -> None:
        self._conn = sqlite3.connect(home / DATABASE_FILE, isolation_level=None)
        self._conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._conn.execute("ROLLBACK")
        self._conn.close()


async def started(home: Path) -> Engine:
    engine = engine_on(home)
    await engine.start()
    await engine.wait_feed()
    quote(engine, 1, 20_999.75, 21_000.00)
    return engine


def test_a_lock_held_past_the_busy_timeout_blocks_entries_keeps_events_and_stores_them_once(
        tmp_path):
    async def scenario() -> dict:
        engine = await started(tmp_path)
        shown: list[object] = []
        engine.journal.listeners.append(shown.extend)
        lock = Lock(tmp_path)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1))  # P1 fills at 21000.00: F1
        await eventually(lambda: not engine.store_health.available)
        refused = engine.router.submit(OrderIntent("buy-2", "NQ", BUY, 1))
        exit_ = engine.router.submit(OrderIntent("sell-1", "NQ", SELL, 1))  # F2 at 20999.75
        await asyncio.sleep(0.5)  # several retries against the lock
        shown_while_locked = list(shown)
        waiting = engine.journal.waiting
        lock.release()
        await eventually(lambda: engine.store_health.available and engine.journal.waiting == 0)
        await engine.stop()
        return {"refused": refused, "exit": exit_, "shown_while_locked": shown_while_locked,
                "waiting": waiting, "failures": engine.journal.failures}

    seen = asyncio.run(scenario())

    assert seen["refused"].status is OrderStatus.REJECTED
    assert seen["refused"].reason.startswith("risk: store_unavailable: trading journal cannot be "
                                             "saved")
    assert seen["exit"].status is OrderStatus.FILLED  # exits still pass
    assert seen["shown_while_locked"] == []  # nothing is shown before it is stored
    assert seen["waiting"] > 0 and seen["failures"] >= 2
    assert rows(tmp_path, "SELECT fill_id, order_id, side, qty, price FROM fills ORDER BY ts, "
                          "fill_id") == [("F1", "P1", "buy", 1.0, 21_000.00),
                                         ("F2", "P2", "sell", 1.0, 20_999.75)]
    assert rows(tmp_path, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        ("P1", "filled"), ("P2", "filled")]
    assert not recovery_path(tmp_path / DATABASE_FILE).exists()


def test_a_commit_that_fails_once_is_retried_and_the_account_comes_back_whole(tmp_path):
    async def first_run() -> None:
        engine = await started(tmp_path)
        lock = Lock(tmp_path)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 2))  # F1: 2 at 21000.00
        await eventually(lambda: engine.journal.failures >= 1)
        lock.release()
        await eventually(lambda: engine.journal.waiting == 0)
        await engine.stop()

    async def second_run() -> tuple[float, float, float]:
        engine = engine_on(tmp_path)
        await engine.start()
        position = engine.portfolio.positions["NQ"]
        account = (position.qty, position.avg_price, engine.portfolio.cash)
        await engine.stop()
        return account

    asyncio.run(first_run())
    qty, avg, cash = asyncio.run(second_run())

    assert (qty, avg) == (2, 21_000.00)
    assert cash == 99_995.00  # 100,000 - 2 contracts x 2.50 commission
    assert rows(tmp_path, "SELECT COUNT(*) FROM fills") == [(1,)]


def test_events_still_unstored_at_close_go_to_the_recovery_file_and_the_next_start_stores_them(
        tmp_path):
    async def first_run() -> tuple[bool, int]:
        engine = await started(tmp_path)
        engine.journal.close_timeout_s = 0.5
        lock = Lock(tmp_path)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1))  # F1 at 21000.00
        await eventually(lambda: not engine.store_health.available)
        await engine.stop()
        lock.release()
        return recovery_path(tmp_path / DATABASE_FILE).exists(), len(rows(
            tmp_path, "SELECT * FROM fills"))

    async def second_run() -> tuple[float, float]:
        engine = engine_on(tmp_path)
        await engine.start()
        position = engine.portfolio.positions["NQ"]
        held = (position.qty, position.avg_price)
        await engine.stop()
        return held

    kept, stored_before = asyncio.run(first_run())
    held = asyncio.run(second_run())

    assert kept and stored_before == 0
    assert held == (1, 21_000.00)
    assert rows(tmp_path, "SELECT fill_id, price FROM fills") == [("F1", 21_000.00)]
    assert rows(tmp_path, "SELECT order_id, status FROM orders") == [("P1", "filled")]
    assert not recovery_path(tmp_path / DATABASE_FILE).exists()
    assert len(rows(tmp_path, "SELECT * FROM recovered_files")) == 1


def test_a_fill_id_already_stored_is_an_error_that_stops_trading_and_loses_no_other_row(
        tmp_path):
    """Another writer put a fill F1 into the file after the start: the engine's own F1
    cannot be stored. Its order and the other rows are; the fill is kept in the unsaved
    file, and the kill switch stops new entries with the reason."""

    async def scenario() -> tuple[bool, str, OrderStatus]:
        engine = await started(tmp_path)
        conn = sqlite3.connect(tmp_path / DATABASE_FILE)
        conn.execute("INSERT INTO fills VALUES ('Paper', 'F1', 'X1', 'x-1', 'ES', 'buy', 1, "
                     "6000, 2.5, 1, 'elsewhere', 1)")
        conn.commit()
        conn.close()
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1))  # the engine's F1
        await eventually(lambda: engine.kill_switch.active)
        after = engine.router.submit(OrderIntent("buy-2", "NQ", BUY, 1))
        await engine.stop()
        return engine.kill_switch.active, engine.kill_switch.reason, after.status

    active, reason, after = asyncio.run(scenario())

    assert active and after is OrderStatus.REJECTED
    assert "1 row(s) could not be stored" in reason and "trading stopped" in reason
    assert rows(tmp_path, "SELECT fill_id, source FROM fills") == [("F1", "elsewhere")]
    assert rows(tmp_path, "SELECT order_id, status FROM orders") == [("P1", "filled")]
    unsaved = [json.loads(line) for line in
               unsaved_path(tmp_path / DATABASE_FILE).read_text().splitlines()]
    assert [(u["table"], u["row"][1], u["row"][7]) for u in unsaved] == [("fills", "F1",
                                                                          21_000.00)]


def test_text_with_a_lone_surrogate_is_stored_replaced_and_the_batch_commits(tmp_path):
    async def scenario() -> None:
        engine = await started(tmp_path)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1, source="alert \ud800"))
        engine.router.submit(OrderIntent("buy-2", "ES", BUY, 1))  # same batch, rejected: no quote
        await eventually(lambda: engine.journal.commits >= 1 and engine.journal.waiting == 0)
        await engine.stop()

    asyncio.run(scenario())

    assert rows(tmp_path, "SELECT fill_id, source FROM fills") == [("F1", "alert \ufffd")]
    assert rows(tmp_path, "SELECT COUNT(*) FROM order_events") == [(2,)]  # P1 accepted, filled


def test_ids_continue_after_the_highest_stored_even_when_a_row_is_missing(tmp_path):
    """F2 was lost; counting rows would hand out F3 again and collide."""

    async def run(sides: list[OrderSide]) -> None:
        engine = await started(tmp_path)
        for n, side in enumerate(sides):
            quote(engine, 10 + 5 * n, 20_999.75, 21_000.00)  # past the duplicate guard
            engine.router.submit(OrderIntent(f"{side}-{n}", "NQ", side, 1))
        await engine.stop()

    asyncio.run(run([BUY, SELL, BUY]))  # F1, F2, F3
    conn = sqlite3.connect(tmp_path / DATABASE_FILE)
    conn.execute("DELETE FROM fills WHERE fill_id = 'F2'")
    conn.commit()
    conn.close()
    asyncio.run(run([SELL]))

    assert rows(tmp_path, "SELECT fill_id FROM fills ORDER BY rowid") == [("F1",), ("F3",),
                                                                          ("F4",)]


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A real 4 MB filesystem (tmpfs) for the home, or a skip where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    monkeypatch.setattr(reserve, "RESERVE_BYTES", 512 * 1024)
    monkeypatch.setattr(engine_module, "RESERVE_RETRY_S", 0.1)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def fill_the_disk(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\1" * 65_536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_spends_the_space_reserve_on_the_waiting_fills_and_blocks_entries(small_disk):
    async def scenario() -> dict:
        engine = await started(small_disk)
        filler = fill_the_disk(small_disk)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1))  # F1 at 21000.00
        await eventually(lambda: engine.journal.waiting == 0)
        blocked = (engine.store_health.low_disk, engine.store_health.available)
        refused = engine.router.submit(OrderIntent("buy-2", "NQ", BUY, 1))
        exit_ = engine.router.submit(OrderIntent("sell-1", "NQ", SELL, 1))  # F2 at 20999.75
        await eventually(lambda: engine.journal.waiting == 0)
        filler.unlink()  # the trader frees space
        await eventually(lambda: engine.store_health.available)
        await engine.stop()
        return {"blocked": blocked, "refused": refused.reason, "exit": exit_.status}

    seen = asyncio.run(scenario())

    assert seen["blocked"] == (True, False)
    assert seen["refused"].startswith("risk: store_unavailable: disk full")
    assert seen["exit"] is OrderStatus.FILLED
    assert rows(small_disk, "SELECT fill_id, price FROM fills ORDER BY rowid") == [
        ("F1", 21_000.00), ("F2", 20_999.75)]


def test_a_damaged_order_row_refuses_the_restore_naming_it_and_changes_nothing(tmp_path):
    async def first_run() -> None:
        engine = await started(tmp_path)
        engine.router.submit(OrderIntent("buy-1", "NQ", BUY, 1))
        await engine.stop()

    asyncio.run(first_run())
    conn = sqlite3.connect(tmp_path / DATABASE_FILE)
    conn.execute("UPDATE orders SET data = '{\"intent\": {\"client_order_id\": ' "
                 "WHERE order_id = 'P1'")
    conn.commit()
    conn.close()
    before = (tmp_path / DATABASE_FILE).read_bytes()

    async def second_run() -> None:
        engine = engine_on(tmp_path)
        try:
            await engine.start()
        finally:
            await engine.stop()

    with pytest.raises(StoreError, match=r"the stored order P1 of account Paper cannot be "
                                         r"read .*nothing was changed"):
        asyncio.run(second_run())
    lock = AccountLock(tmp_path, "Paper")  # the failed start let go of the account
    lock.acquire()
    lock.release()
    assert (tmp_path / DATABASE_FILE).read_bytes() == before
