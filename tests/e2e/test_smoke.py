"""The real app, started the way a user starts it, in a subprocess."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def offscreen_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["BRACKET_HOME"] = str(home)
    return env


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_smoke_run_streams_the_market_saves_a_screenshot_and_reports(tmp_path):
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "workstation", "--smoke", "--screenshot", str(shot),
         "--seconds", "3"],
        env=offscreen_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"ticks", "bars", "events_per_s", "loop_lag_p99_ms"}
    assert summary["ticks"] > 0 and summary["bars"] > 0
    assert summary["handler_errors"] == 0
    assert summary["frames"] > 0
    # process start to the first painted window, then to the engine being up: the window
    # is painted first (figures in bench/startup.py; no time limit here)
    assert 0 < summary["startup_ms"] <= summary["ready_ms"]
    width, height = png_size(shot)
    assert (width, height) == (1440, 860)
    assert (tmp_path / "home" / "bracket.sqlite").exists()
    assert (tmp_path / "home" / "ui.ini").exists()


def test_a_second_start_shows_the_bars_stored_by_the_first(tmp_path):
    home = tmp_path / "home"
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "workstation", "--smoke", "--seconds", "2",
             "--account", "Paper",  # the workstation's account: its market is stored
             "--report", str(tmp_path / "report.json")],
            env=offscreen_env(home), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    log = (home / "logs" / "bracket.log").read_text(encoding="utf-8")
    assert "stored bars for the charts" in log


def test_a_corrupt_database_is_reported_and_left_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    database = home / "bracket.sqlite"
    garbage = b"this is not a database, it is a shopping list\n" * 100
    database.write_bytes(garbage)
    result = subprocess.run(
        [sys.executable, "-m", "workstation", "run", "--headless", "--seconds", "5"],
        env=offscreen_env(home), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bracket.sqlite is damaged or is not a Bracket database" in result.stderr
    assert "Traceback" not in result.stderr
    assert database.read_bytes() == garbage
