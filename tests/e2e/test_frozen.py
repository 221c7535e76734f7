"""The packaged app (PyInstaller, `tools/build_bundle.py`) does what the source does.

Runs only when `dist/Bracket/bracket` exists (CI builds it first); each run is compared
with the same command run from source, so a module, data file or library the bundle lost
shows up as a difference. The frozen runs get an empty time-zone path, as on a machine
without system time-zone data: the bundled `tzdata` must serve.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.test_alpaca_session import PLUGIN as BUY_ONCE
from tests.fake_alpaca import FakeAlpaca, trade_msg

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
need in the packaged app: keyring with its backends (the Secret Service one needs
secretstorage, which needs cryptography), alpaca-py, websockets, aiohttp."""

import aiohttp
import keyring
import keyring.backends.SecretService
import secretstorage
import websockets
from alpaca.trading.client import TradingClient

from workstation.strategy import Bar, Strategy

IMPORTED = (aiohttp.__name__, keyring.__name__, secretstorage.__name__, websockets.__name__,
            TradingClient.__name__)


class FrozenProbe(Strategy):
    name = "Frozen probe"
    version = "1.0"
    symbols = ("NQ",)
    timeframes = ("1m",)

    def on_bar(self, bar: Bar) -> None:
        self.log.info("bar %s %s", bar.symbol, bar.close)
'''


QT_PROBE = '''\
"""What Qt asks of its ICU data (the bundle carries a trimmed copy): collation, decoding a
named encoding, time-zone names and case mapping, written to icu-<frozen|source>.json."""

import functools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import (QBuffer, QByteArray, QCollator, QIODevice, QLocale, QTimeZone,
                            QXmlStreamReader)

from workstation.strategy import Bar, Strategy

WORDS = ["zebra", "Ärger", "apple", "Öl", "über", "ångström", "ch", "cz", "hotel", "\\u0131slak",
         "Istanbul", "file10", "file2", "中文", "日本", "한국", "правда", "ข้าว", "ø", "æ", "ł"]
TEXTS = {"windows-1252": "café €", "ISO-8859-2": "Łódź", "KOI8-R": "привет",
         "windows-1251": "привет", "Shift_JIS": "日本語", "EUC-JP": "日本語",
         "ISO-2022-JP": "日本語", "GBK": "中文简体", "gb18030": "中文𠀀", "Big5": "中文繁體",
         "EUC-KR": "한국어", "windows-874": "สวัสดี", "IBM850": "Größe"}
PYTHON_NAMES = {"windows-874": "cp874", "IBM850": "cp850"}


def decoded(label: str, text: str) -> str:
    """What Qt's XML reader makes of ``text`` declared in ``label`` (through ICU)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(f\'<?xml version="1.0" encoding="{label}"?><t>\'.encode()
                              + text.encode(PYTHON_NAMES.get(label, label)) + b"</t>"))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QXmlStreamReader(buffer)
    found = []
    while not reader.atEnd():
        if reader.readNext() == QXmlStreamReader.TokenType.Characters:
            found.append(reader.text())
    return "".join(found) or reader.errorString()


def probe() -> dict:
    result = {}
    for name in ("en_US", "sv_SE", "de_DE", "tr_TR", "cs_CZ", "ja_JP", "zh_CN", "zh_TW",
                 "ko_KR", "th_TH", "da_DK", "pl_PL"):
        collator = QCollator(QLocale(name))
        collator.setNumericMode(True)
        result[f"sorted {name}"] = sorted(WORDS, key=functools.cmp_to_key(collator.compare))
    for label, text in TEXTS.items():
        result[f"decoded {label}"] = decoded(label, text)
    zone = QTimeZone(b"America/New_York")
    for name in ("en_US", "de_DE", "ja_JP", "ar_EG"):
        result[f"zone {name}"] = [
            zone.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName,
                             QLocale(name)),
            zone.displayName(QTimeZone.TimeType.DaylightTime, QTimeZone.NameType.ShortName,
                             QLocale(name))]
    for name, text in (("tr_TR", "istanbul"), ("de_DE", "straße"), ("el_GR", "άδεια")):
        result[f"case {name}"] = [QLocale(name).toUpper(text), QLocale(name).toLower(text)]
    return result


WHO = "frozen" if getattr(sys, "frozen", False) else "source"
Path(f"icu-{WHO}.json").write_text(json.dumps(probe(), ensure_ascii=False, indent=1),
                                   encoding="utf-8")


class QtProbe(Strategy):
    name = "Qt probe"
    version = "1.0"
    symbols = ("NQ",)
    timeframes = ("1m",)

    def on_bar(self, bar: Bar) -> None:
        pass
'''


def command(frozen: bool, cwd: Path) -> tuple[list[str], dict[str, str]]:
    """How to start Bracket frozen or from source, and its environment."""
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not frozen:
        return [sys.executable, "-m", "workstation"], env
    empty = cwd / "no-zoneinfo"
    empty.mkdir(exist_ok=True)
    env["PYTHONTZPATH"] = str(empty)  # no system time-zone data: tzdata must serve
    return [str(FROZEN)], env


def bracket(frozen: bool, home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    start, env = command(frozen, cwd)
    return subprocess.run([*start, "--home", str(home), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def wait_for(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)  # another process's work: nothing to wait on but polling


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


def test_a_frozen_optimize_runs_its_worker_processes_and_finds_what_the_source_finds(tmp_path):
    """The Optimize dock runs the packaged executable with ``optimize``: its worker processes
    and multiprocessing's resource tracker are copies of that executable."""
    results = {}
    for frozen in (False, True):
        name = "frozen" if frozen else "source"
        result = bracket(frozen, tmp_path / name, "optimize", "--strategy", "SMA crossover@NQ",
                         "--from", "2026-11-02", "--to", "2026-11-03", "--param", "fast=5,10",
                         "--param", "slow=20,30", "--search", "grid", "--workers", "2",
                         "--progress", "none", "--json", f"{name}.json", "--no-save",
                         cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        results[name] = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        del results[name]["wall_s"]

    assert results["frozen"] == results["source"]
    assert [t["status"] for t in results["frozen"]["trials"]] == ["ok"] * 4

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


def test_qt_in_the_bundle_collates_decodes_and_names_time_zones_like_the_source(tmp_path):
    """The bundle's ICU data is trimmed to what Qt's calls can read (build_app.spec): sorting
    in every locale, web encodings, English time-zone names and case mapping must match the
    source's full ICU. Left out on purpose: a DOS code page (IBM850) and time-zone names in
    other languages (Bracket never asks Qt for them), which come out in English or as an
    offset from GMT instead."""
    (tmp_path / "source" / "plugins").mkdir(parents=True)
    (tmp_path / "source" / "plugins" / "qt_probe.py").write_text(QT_PROBE, encoding="utf-8")
    dropped = BUNDLE / "plugins" / "qt_probe.py"
    dropped.write_text(QT_PROBE, encoding="utf-8")
    try:
        headless(True, tmp_path, "frozen", "--strategy", "Qt probe@NQ")
    finally:
        dropped.unlink()
    headless(False, tmp_path, "source", "--strategy", "Qt probe@NQ")
    frozen = json.loads((tmp_path / "icu-frozen.json").read_text(encoding="utf-8"))
    source = json.loads((tmp_path / "icu-source.json").read_text(encoding="utf-8"))

    assert source["decoded IBM850"] == "Größe"
    assert frozen.pop("decoded IBM850") != "Größe"
    del source["decoded IBM850"]
    english = source["zone en_US"]
    assert english == ["Eastern Standard Time", "EDT"]
    for name in ("de_DE", "ja_JP", "ar_EG"):  # English or "GMT-5" (the process's locale)
        assert source.pop(f"zone {name}") != english
        assert all(zone and zone.isascii() for zone in frozen.pop(f"zone {name}"))
    assert frozen == source
    assert source["sorted sv_SE"][10:16] == ["zebra", "ångström", "æ", "Ärger", "ø", "Öl"]
    assert source["sorted en_US"][:4] == ["æ", "ångström", "apple", "Ärger"]
    assert source["sorted en_US"][5:8] == ["cz", "file2", "file10"]
    assert source["case tr_TR"][0] == "İSTANBUL"


def test_an_alpaca_session_in_the_bundle_streams_orders_and_stops_cleanly(tmp_path):
    """alpaca-py (REST), websockets (the data and trade streams) and the keys from the
    environment, in the packaged app, against a fake Alpaca on 127.0.0.1."""
    home = tmp_path / "home"
    home.mkdir()
    dropped = BUNDLE / "plugins" / "frozen_buy_once.py"
    dropped.write_text(BUY_ONCE, encoding="utf-8")
    start, env = command(True, tmp_path)
    report = tmp_path / "alpaca.json"
    try:
        with FakeAlpaca() as fake:
            (home / "settings.toml").write_text(
                "[risk.portfolio]\nsessions_only = false\nno_entry_minutes_before_close = 0"
                f"\n\n[alpaca]\n{fake.settings_toml()}", encoding="utf-8")
            env.update(APCA_API_KEY_ID=fake.key, APCA_API_SECRET_KEY=fake.secret)
            run = subprocess.Popen(
                [*start, "--home", str(home), "run", "--headless", "--market", "alpaca",
                 "--account", "Alpaca", "--strategy", "Buy once", "--seconds", "120",
                 "--report", str(report)],
                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            try:
                wait_for(lambda: fake.subscriptions() >= {"AAPL"}, "the feed subscribed")
                wait_for(lambda: fake.trade_stream_clients() == 1, "the trade stream opened")
                fake.push([trade_msg("AAPL", 200.5, 1, datetime.now(UTC), 1)])
                wait_for(lambda: fake.requests.count(("POST", "/v2/orders")) == 1,
                         "the strategy's order reached Alpaca")
            finally:
                run.send_signal(signal.SIGTERM)
                out, err = run.communicate(timeout=60)
    finally:
        dropped.unlink()

    assert run.returncode == 0, err
    assert "Traceback" not in err
    result = json.loads(report.read_text(encoding="utf-8"))
    (order,) = result["orders"]
    assert (order["symbol"], order["qty"], order["limit_price"]) == ("AAPL", 10.0, 200.0)
    assert result["alpaca"]["safe_mode"]["active"] is False
    assert fake.secret not in out + err
