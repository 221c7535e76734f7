"""The command line on the Alpaca market: `bracket history` stores bars from Alpaca (no
doubles on a second run), and missing keys or a live account are refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fake_alpaca import FakeAlpaca
from workstation.store import open_store


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


def bracket(home, *args, keys: FakeAlpaca | None = None,
            secret: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BRACKET_HOME", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # no desktop session
    if keys is not None:
        env.update(APCA_API_KEY_ID=keys.key, APCA_API_SECRET_KEY=secret or keys.secret)
    return subprocess.run([sys.executable, "-m", "workstation", "--home", str(home), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_history_stores_alpacas_bars_once_however_often_it_runs(fake, tmp_path):
    fake.bars["AAPL"] = [
        {"t": f"2026-11-02T14:3{i}:00Z", "o": 100 + i, "h": 101 + i, "l": 99 + i,
         "c": 100.5 + i, "v": 1_000 * (i + 1), "n": 10 + i, "vw": 100 + i} for i in range(5)]
    (tmp_path / "settings.toml").write_text(f"[alpaca]\n{fake.settings_toml()}",
                                            encoding="utf-8")
    args = ("history", "--symbol", "AAPL", "--timeframe", "1m", "--from", "2026-11-02",
            "--to", "2026-11-03")
    first = bracket(tmp_path, *args, keys=fake)
    again = bracket(tmp_path, *args, keys=fake)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ("AAPL 1m: 5 bars stored (2026-11-02 00:00 to 2026-11-03 00:00 "
                            "UTC)\n")
    assert again.returncode == 0
    store = open_store(tmp_path / "bracket.sqlite")
    bars = store.load_bars("AAPL", "1m")
    store.close()
    assert len(bars) == 5
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume,
            bars[0].trades) == (100.0, 101.0, 99.0, 100.5, 1_000.0, 10)
    assert bars[1].ts - bars[0].ts == 60 * 10**9


def test_without_keys_or_keyring_the_run_says_how_to_fix_it(fake, tmp_path):
    (tmp_path / "settings.toml").write_text(f"[alpaca]\n{fake.settings_toml()}",
                                            encoding="utf-8")
    result = bracket(tmp_path, "run", "--headless", "--market", "alpaca", "--seconds", "1")
    assert result.returncode == 2
    assert result.stderr.startswith("bracket: no usable OS keyring on this machine")
    assert "APCA_API_KEY_ID and APCA_API_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_headless_run_refuses_live_money(fake, tmp_path):
    (tmp_path / "settings.toml").write_text(f"[alpaca]\npaper = false\n{fake.settings_toml()}",
                                            encoding="utf-8")
    result = bracket(tmp_path, "run", "--headless", "--market", "alpaca", "--seconds", "1",
                     keys=fake)
    assert result.returncode == 2
    assert result.stderr == ("bracket: alpaca.paper = false is live money: it needs the "
                             "workstation's typed confirmation; headless runs trade paper "
                             "accounts only\n")


def test_history_refuses_a_timeframe_alpaca_does_not_have(fake, tmp_path):
    result = bracket(tmp_path, "history", "--symbol", "AAPL", "--timeframe", "5s", "--from",
                     "2026-11-02", keys=fake)
    assert result.returncode == 2
    assert result.stderr == ("bracket: --timeframe: Alpaca has no 5s bars; use minutes "
                             "(1m-59m), hours (1h-23h) or 1d\n")


def test_refused_keys_end_a_headless_run_with_the_reason(fake, tmp_path):
    (tmp_path / "settings.toml").write_text(f"[alpaca]\n{fake.settings_toml()}",
                                            encoding="utf-8")
    wrong = "not-the-secret-1234"
    result = bracket(tmp_path, "run", "--headless", "--market", "alpaca", "--seconds", "60",
                     keys=fake, secret=wrong)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "bracket: the Alpaca feed stopped: error: failed: Alpaca refused the connection "
        "(auth failed); check the keys in File > Connections")
    assert wrong not in result.stderr
