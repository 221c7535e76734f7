"""The packaged app (PyInstaller, `tools/build_bundle.py`) does what the source does.

Runs only when `dist/Bracket/bracket` exists (CI builds it first); each run is compared
with the same command run from source, so a module, data file or library the bundle lost
shows up as a difference. The frozen runs get an empty time-zone path, as on a machine
without system time-zone data: the bundled `tzdata` must serve.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "Bracket"
FROZEN = BUNDLE / ("bracket.exe" if sys.platform == "win32" else "bracket")
TIMING_KEYS = {"wall_s", "events_per_s", "ticks_per_s", "loop_lag_p50_ms", "loop_lag_p99_ms"}
RUN = ["--headless", "--seconds", "300", "--speed", "max", "--seed", "7", "--start",
       "2026-11-02"]

if not FROZEN.is_file():
    pytest.skip("no bundle at dist/Bracket (build it with `python tools/build_bundle.py`)",
                allow_module_level=True)

PROBE = '''\
"""A user's strategy file that also imports what the Alpaca broker and the alert endpoint
need in the packaged app: keyring with its backends, alpaca-py, aiohttp."""

import aiohttp
import keyring
import keyring.backends.SecretService
from alpaca.trading.client import TradingClient

from workstation.strategy import Bar, Strategy

IMPORTED = (aiohttp.__name__, keyring.__name__, TradingClient.__name__)


class FrozenProbe(Strategy):
    name = "Frozen probe"
    version = "1.0"
    symbols = ("NQ",)
    timeframes = ("1m",)

    def on_bar(self, bar: Bar) -> None:
        self.log.info("bar %s %s", bar.symbol, bar.close)
'''


def bracket(frozen: bool, home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if frozen:
        empty = cwd / "no-zoneinfo"
        empty.mkdir(exist_ok=True)
        env["PYTHONTZPATH"] = str(empty)  # no system time-zone data: tzdata must serve
        command = [str(FROZEN)]
    else:
        command = [sys.executable, "-m", "workstation"]
    return subprocess.run([*command, "--home", str(home), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def comparable(report: dict) -> dict:
    return {key: value for key, value in report.items()
            if key not in TIMING_KEYS | {"account_name"}}


def headless(frozen: bool, tmp_path: Path, name: str, *extra: str) -> dict:
    report = tmp_path / f"{name}.json"
    result = bracket(frozen, tmp_path / name, "run", *RUN, *extra, "--report", str(report),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(report.read_text(encoding="utf-8"))


def test_the_frozen_smoke_run_streams_saves_a_screenshot_and_exits_zero(tmp_path):
    shot = tmp_path / "shot.png"

    result = bracket(True, tmp_path / "home", "--smoke", "--screenshot", str(shot),
                     "--seconds", "3", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["handler_errors"] == 0
    assert summary["ticks"] > 0 and summary["bars"] > 0 and summary["frames"] > 0
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1440, 860)


def test_a_frozen_headless_run_reports_exactly_what_the_source_run_reports(tmp_path):
    source = headless(False, tmp_path, "source")
    frozen = headless(True, tmp_path, "frozen")

    assert frozen["account_name"].startswith("run-")
    assert frozen["ticks"] == source["ticks"] > 0
    assert comparable(frozen) == comparable(source)


def test_a_frozen_backtest_gives_the_source_backtests_trades_and_html_report(tmp_path):
    """The Backtest dock runs the packaged executable with ``backtest``: metrics (pandas),
    the report and the run store must all be in the bundle."""
    reports = {}
    for frozen in (False, True):
        name = "frozen" if frozen else "source"
        result = bracket(frozen, tmp_path / name, "backtest", "--strategy", "SMA crossover@NQ",
                         "--from", "2026-11-02", "--to", "2026-11-02", "--progress", "none",
                         "--report", f"{name}.json", "--html", f"{name}.html", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("run 1: SMA crossover 1.0 · NQ 1m sim: ")
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))

    assert reports["frozen"]["trades"] == reports["source"]["trades"] != []
    assert reports["frozen"]["metrics"] == reports["source"]["metrics"]
    assert "<svg" in (tmp_path / "frozen.html").read_text(encoding="utf-8")


def test_a_strategy_file_dropped_beside_the_executable_loads_and_runs(tmp_path):
    """The frozen app finds it in plugins/ beside the executable; the source run gets the
    same file in its home's plugins/ folder; both runs must agree."""
    home_plugins = tmp_path / "source" / "plugins"
    home_plugins.mkdir(parents=True)
    (home_plugins / "frozen_probe.py").write_text(PROBE, encoding="utf-8")
    dropped = BUNDLE / "plugins" / "frozen_probe.py"
    dropped.write_text(PROBE, encoding="utf-8")
    try:
        frozen = headless(True, tmp_path, "frozen", "--strategy", "Frozen probe@NQ")
    finally:
        dropped.unlink()
    source = headless(False, tmp_path, "source", "--strategy", "Frozen probe@NQ")

    assert frozen["plugins"]["errors"] == []
    assert "Frozen probe" in frozen["plugins"]["loaded"]
    [probe] = [s for s in frozen["strategies"] if s["strategy"] == "Frozen probe"]
    assert (probe["id"], probe["status"], probe["errors"]) == ("frozen-probe-nq", "running", 0)
    assert probe["bars"] == 5
    assert comparable(frozen) == comparable(source)


def test_the_frozen_app_imports_a_csv_and_a_parquet_file_like_the_source(tmp_path):
    parquet = tmp_path / "ticks.parquet"
    pd.DataFrame({"ts": pd.to_datetime(["2026-11-03T14:30:00Z", "2026-11-03T14:30:01Z"],
                                       utc=True),
                  "symbol": ["NQ", "NQ"], "price": [21_000.25, 21_000.5],
                  "size": [1.0, 2.0]}).to_parquet(parquet)
    csv = ROOT / "resources" / "sample_nq_ticks.csv"
    outputs = {}
    for frozen in (False, True):
        home = tmp_path / f"home-{frozen}"
        outputs[frozen] = [bracket(frozen, home, "import", str(path), cwd=tmp_path)
                           for path in (csv, parquet)]

    for result in outputs[True]:
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert [r.stdout for r in outputs[True]] == [r.stdout for r in outputs[False]]
    assert outputs[True][1].stdout == ("imported 2 ticks for NQ (2026-11-03 14:30:00 to "
                                       "2026-11-03 14:30:01 UTC) from ticks.parquet\n")


def test_the_bundle_carries_no_gtk_kerberos_or_glib_from_the_build_host():
    """Only the GTK theme plugin and libcups pulled these in; the desktop's own GLib and
    D-Bus serve Qt. What the bundle still needs from the system is in the README."""
    leaked = ("libgtk-3", "libgdk-3", "libkrb5", "libgssapi_krb5", "libglib-2.0", "libdbus-1",
              "libcairo", "libpango")
    found = sorted(path.name for path in BUNDLE.rglob("*.so*") if path.name.startswith(leaked))

    assert found == []
    assert not (BUNDLE / "_internal" / "pyarrow").exists()
    assert (BUNDLE / "_internal" / "tzdata" / "zoneinfo" / "America" / "New_York").is_file()
