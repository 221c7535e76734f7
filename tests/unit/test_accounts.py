"""Named paper accounts in one home: each keeps its own orders, fills, positions and ids;
one running Bracket per account; headless runs trade an account of their own, so a
seeded run gives the same records on a used home and never touches the trader's."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workstation.accounts import AccountError, check_account_name, fresh_account_name
from workstation.config import DATABASE_FILE, Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.model import NS_PER_SECOND, Quote, datetime_to_ns
from workstation.orders import OrderIntent, OrderSide
from workstation.store import open_store
from workstation.store.accounts import list_accounts

T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
S = NS_PER_SECOND
TIMING_KEYS = {"wall_s", "events_per_s", "ticks_per_s", "loop_lag_p50_ms", "loop_lag_p99_ms"}


def engine_on(home: Path, account: str) -> Engine:
    return Engine(Settings(), home, lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None),
                  account=account)


async def trade(home: Path, account: str, side: OrderSide, qty: float) -> list[str]:
    engine = engine_on(home, account)
    await engine.start()
    engine.clock.advance_to(T0 + S)
    engine.bus.publish(Quote("NQ", T0 + S, 20_999.75, 21_000.00, 10, 10))
    update = engine.router.submit(OrderIntent(f"{account}-1", "NQ", side, qty))
    await engine.stop()
    return [update.order_id]


async def position(home: Path, account: str) -> float:
    engine = engine_on(home, account)
    await engine.start()
    held = engine.portfolio.position("NQ")
    await engine.stop()
    return held


def test_two_accounts_in_one_home_keep_their_own_positions_and_ids(tmp_path):
    paper = asyncio.run(trade(tmp_path, "Paper", OrderSide.BUY, 2))
    swing = asyncio.run(trade(tmp_path, "Swing", OrderSide.SELL, 1))

    assert paper == swing == ["P1"]  # ids are unique within an account
    assert asyncio.run(position(tmp_path, "Paper")) == 2
    assert asyncio.run(position(tmp_path, "Swing")) == -1
    conn = sqlite3.connect(tmp_path / DATABASE_FILE)
    try:
        assert conn.execute("SELECT account, fill_id, side, qty FROM fills ORDER BY account"
                            ).fetchall() == [("Paper", "F1", "buy", 2.0),
                                             ("Swing", "F1", "sell", 1.0)]
    finally:
        conn.close()


def test_the_account_list_shows_each_accounts_current_figures(tmp_path):
    asyncio.run(trade(tmp_path, "Paper", OrderSide.BUY, 2))
    asyncio.run(trade(tmp_path, "Swing", OrderSide.SELL, 1))

    store = open_store(tmp_path / DATABASE_FILE)
    try:
        accounts = list_accounts(store)
    finally:
        store.close()

    assert [(a.name, a.epochs, a.starting_cash, a.fills, a.commission) for a in accounts] == [
        ("Paper", 1, 100_000.0, 1, 5.00),  # 2 contracts x 2.50
        ("Swing", 1, 100_000.0, 1, 2.50)]


def test_a_second_engine_on_the_same_account_is_refused_but_another_account_may_run(tmp_path):
    async def scenario() -> None:
        first = engine_on(tmp_path, "Paper")
        await first.start()
        try:
            with pytest.raises(AccountError, match="'Paper' is in use by another Bracket"):
                engine_on(tmp_path, "Paper")
            other = engine_on(tmp_path, "Swing")
            await other.start()
            await other.stop()
        finally:
            await first.stop()
        again = engine_on(tmp_path, "Paper")  # released at stop
        await again.start()
        await again.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("name", ["", "   ", "-x", "a/b", "x" * 41, "tab\there", "bad\ud800"])
def test_an_unusable_account_name_is_refused_with_what_a_name_may_hold(name):
    with pytest.raises(AccountError, match="account"):
        check_account_name(name)


def test_account_names_are_trimmed_and_fresh_names_say_what_and_when():
    assert check_account_name("  Sim 101 ") == "Sim 101"
    name = fresh_account_name("run", datetime(2026, 12, 3, 10, 15, tzinfo=UTC))
    assert name.startswith("run-20261203-101500-")
    assert check_account_name(name) == name


# -- the command line ---------------------------------------------------------------------------
def bracket(home: Path, *args: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    report = home.parent / f"report-{len(list(home.parent.glob('report-*')))}.json"
    done = subprocess.run([sys.executable, "-m", "workstation", "--home", str(home), "run",
                           "--headless", "--speed", "max", "--report", str(report), *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text(encoding="utf-8"))


def paper_rows(home: Path) -> list[tuple]:
    conn = sqlite3.connect(home / DATABASE_FILE)
    try:
        return conn.execute("SELECT fill_id, ts, price FROM fills WHERE account = 'Paper' "
                            "ORDER BY rowid").fetchall()
    finally:
        conn.close()


def test_seeded_headless_runs_on_a_used_home_repeat_exactly_and_leave_the_paper_account_alone(
        tmp_path):
    home = tmp_path / "home"
    trader = bracket(home, "--account", "Paper", "--seconds", "900", "--start", "2026-11-02")
    paper_before = paper_rows(home)
    first = bracket(home, "--seconds", "600", "--seed", "7", "--start", "2026-11-02")
    second = bracket(home, "--seconds", "600", "--seed", "7", "--start", "2026-11-02")

    assert trader["account_name"] == "Paper" and paper_before  # the demo traded Paper
    assert first["account_name"].startswith("run-") and second["account_name"].startswith("run-")
    same = [{k: v for k, v in report.items() if k not in TIMING_KEYS | {"account_name"}}
            for report in (first, second)]
    assert same[0] == same[1]
    assert first["fills"][0]["fill_id"] == "F1"  # ids of its own account
    assert first["account"]["starting_cash"] == 100_000.0  # not the trader's P&L
    assert paper_rows(home) == paper_before


def test_a_named_account_continues_its_home_market_from_run_to_run(tmp_path):
    home = tmp_path / "home"
    first = bracket(home, "--account", "Paper", "--seconds", "300", "--start", "2026-11-02")
    second = bracket(home, "--account", "Paper", "--seconds", "300")

    assert first["clock_end"] == "2026-11-02T14:35:00+00:00"
    assert second["clock_end"] == "2026-11-02T14:40:00+00:00"


def test_a_stored_instance_comes_back_paused_unless_the_command_line_asks_for_it_again(
        tmp_path):
    home = tmp_path / "home"
    bracket(home, "--account", "Desk", "--seconds", "300", "--start", "2026-11-02", "--no-demo",
            "--strategy", "SMA crossover@NQ")
    restored = bracket(home, "--account", "Desk", "--seconds", "300", "--no-demo")
    asked = bracket(home, "--account", "Desk", "--seconds", "300", "--no-demo",
                    "--strategy", "SMA crossover@NQ")

    def status(report: dict) -> str:
        (instance,) = [s for s in report["strategies"] if s["id"] == "sma-crossover-nq"]
        return instance["status"]

    assert status(restored) == "paused"  # a restart never starts trading by itself
    assert status(asked) == "running"
