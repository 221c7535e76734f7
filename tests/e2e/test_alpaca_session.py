"""An Alpaca session end to end: the real app in a subprocess, on the Alpaca market of a
fake Alpaca on 127.0.0.1. It is killed (-9) while an order is half filled, the order
fills while it is down, and the restart books that fill, says so and enters safe mode.
Afterwards the secret is nowhere in the Bracket home: not in the database, the log or
the settings."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fake_alpaca import FakeAlpaca, trade_msg

pytestmark = pytest.mark.e2e

PLUGIN = '''
from workstation.strategy import Strategy


class BuyOnce(Strategy):
    """Buys 10 AAPL at 200 (a limit) on the first trade it sees, once ever."""

    name = "Buy once"
    symbols = ("AAPL",)
    wants_ticks = True

    def on_tick(self, tick):
        if not self.state.get("sent"):
            self.state["sent"] = True
            self.buy("AAPL", 10, limit=200.0)
'''


def committed_fills(database: Path) -> float:
    if not database.exists():
        return 0.0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COALESCE(SUM(qty), 0) FROM fills").fetchone()[0]
    except sqlite3.Error:
        return 0.0


def wait_for(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)  # another process's work: nothing to wait on but polling


def test_killed_mid_fill_it_reconciles_on_restart_and_leaves_no_secret_behind(tmp_path):
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "buy_once.py").write_text(PLUGIN, encoding="utf-8")
    with FakeAlpaca() as fake:
        (home / "settings.toml").write_text(
            "[risk.portfolio]\nsessions_only = false\nno_entry_minutes_before_close = 0\n\n"
            f"[alpaca]\n{fake.settings_toml()}", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "BRACKET_HOME"}
        env.update(APCA_API_KEY_ID=fake.key, APCA_API_SECRET_KEY=fake.secret)
        command = [sys.executable, "-m", "workstation", "--home", str(home), "run",
                   "--headless", "--market", "alpaca", "--account", "Alpaca"]
        first = subprocess.Popen([*command, "--strategy", "Buy once"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: fake.subscriptions() >= {"AAPL"}, "the feed subscribed")
            fake.push([trade_msg("AAPL", 200.5, 1, datetime.now(UTC), 1)])
            wait_for(lambda: fake.requests.count(("POST", "/v2/orders")) == 1,
                     "the strategy's order reached Alpaca")
            order = next(iter(fake.orders.values()))
            fake.fill(order["id"], 4, 200.0)
            wait_for(lambda: committed_fills(home / "bracket.sqlite") == 4.0,
                     "the first fill was committed")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        fake.fill(order["id"], 6, 199.5)  # while Bracket is down

        second = subprocess.run([*command, "--seconds", "2", "--report",
                                 str(tmp_path / "after.json")],
                                env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    report = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))
    reconciled = report["alpaca"]["reconciliations"][0]
    assert reconciled["differences"] == [
        "order A-buy-once-1 (buy 10 AAPL limit 200 day) filled 6 at Alpaca while Bracket "
        "was not watching; now filled"]
    assert report["alpaca"]["safe_mode"]["active"] is True
    (entry,) = report["orders"]
    assert (entry["status"], entry["filled_qty"], entry["avg_fill_price"]) == (
        "filled", 10.0, 199.7)
    log = (home / "logs" / "bracket.log").read_text(encoding="utf-8")
    assert "1 working order(s), 1 fill(s) rebuilding positions" in log
    assert "SAFE MODE" in log

    secret = fake.secret.encode()
    holding = [path for path in home.rglob("*") if path.is_file()
               and secret in path.read_bytes()]
    assert holding == []
    assert fake.secret not in second.stderr + second.stdout
