"""Invariant 4 end to end: kill -9 the engine while it trades, start it again, and
it restores working orders, positions and active trades from SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def committed_state(database: Path) -> tuple[int, int, list[str]]:
    """(active trades, working orders, working order ids) as committed, or zeros."""
    if not database.exists():
        return 0, 0, []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            trades = conn.execute("SELECT COUNT(*) FROM trades WHERE status = 'active'")
            working = conn.execute("SELECT order_id FROM orders WHERE status IN "
                                   "('accepted', 'partially_filled') ORDER BY order_id")
            ids = [row[0] for row in working]
            return trades.fetchone()[0], len(ids), ids
    except sqlite3.Error:
        return 0, 0, []  # not migrated yet


def test_killed_while_trading_it_restores_orders_positions_and_trades(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "BRACKET_HOME"}
    trading = subprocess.Popen(
        [sys.executable, "-m", "workstation", "--home", str(home), "run", "--headless",
         "--seconds", "100000", "--speed", "200", "--start", "2026-11-02", "--demo",
         "--account", "Desk"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        state = (0, 0, [])
        while time.monotonic() < deadline:
            state = committed_state(home / "bracket.sqlite")
            if state[0] >= 1 and state[1] >= 2:  # a trade with its stop and target working
                break
            time.sleep(0.05)  # polling another process's file: nothing to wait on
        assert state[0] >= 1, "the demo strategy never opened a trade"
    finally:
        trading.send_signal(signal.SIGKILL)
        trading.wait(timeout=30)
    _, _, working_ids = committed_state(home / "bracket.sqlite")
    with sqlite3.connect(home / "bracket.sqlite") as conn:
        position = conn.execute(
            "SELECT SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills "
            "WHERE symbol = 'NQ'").fetchone()[0]
    assert position in (1.0, -1.0)

    restarted = subprocess.run(
        [sys.executable, "-m", "workstation", "--home", str(home), "run", "--headless",
         "--seconds", "0", "--no-demo", "--account", "Desk",  # the market continues
         "--report", str(tmp_path / "after.json")],
        env=env, capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    log = (home / "logs" / "bracket.log").read_text(encoding="utf-8")
    assert f"{len(working_ids)} working order(s)" in log
    assert "1 active trade(s)" in log
    report = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))
    restored = {o["order_id"] for o in report["orders"] if o["status"] == "accepted"}
    assert restored == set(working_ids)
    assert report["account"]["margin_used"] == 25_000.0  # one NQ contract still open
