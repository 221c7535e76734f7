"""The command line without Qt: headless runs, imports and settings errors, in subprocesses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.store import Store, open_store
from workstation.trade_stats import trade_stats

TIMING_KEYS = {"wall_s", "events_per_s", "ticks_per_s", "loop_lag_p50_ms", "loop_lag_p99_ms"}


def bracket(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    return subprocess.run([sys.executable, "-m", "workstation", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def headless_run(tmp_path: Path, name: str, *, options_first: bool = True
                 ) -> tuple[subprocess.CompletedProcess[str], dict]:
    """A two-minute seeded run; its options before `run`, or all after it."""
    options = ["--home", str(tmp_path / name), "--headless", "--seconds", "120", "--speed",
               "max", "--seed", "5", "--start", "2026-11-02", "--report", f"{name}.json"]
    argv = [*options, "run"] if options_first else ["run", *options]
    result = bracket(*argv, cwd=tmp_path)
    report = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    return result, report


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cli")
    first = headless_run(tmp_path, "home_a")
    second = headless_run(tmp_path, "home_b", options_first=False)
    return tmp_path, first, second


def test_a_headless_run_exits_zero_and_prints_a_json_summary_last(two_runs):
    _, (result, report), _ = two_runs

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"account_name", "ticks", "bars", "events_per_s", "loop_lag_p99_ms",
                            "orders", "fills", "trades", "net_pnl", "win_rate", "max_drawdown"}
    assert summary["ticks"] == report["ticks"] > 0
    assert summary["bars"] == report["bars"] > 0
    assert {key: summary[key] for key in ("net_pnl", "trades", "win_rate", "max_drawdown")} == \
        trade_stats(report["trades"])


def test_options_after_run_give_the_same_run_as_options_before_it(two_runs):
    tmp_path, (first, _), (second, _) = two_runs

    assert first.returncode == second.returncode == 0, second.stderr
    assert (tmp_path / "home_b" / "bracket.sqlite").is_file()
    assert (tmp_path / "home_b" / "logs" / "bracket.log").is_file()


def test_two_headless_runs_with_the_same_seed_report_the_same_except_timings(two_runs):
    _, (first, report_a), (second, report_b) = two_runs

    assert first.returncode == second.returncode == 0
    assert set(report_a) == set(report_b)
    assert set(report_a) >= TIMING_KEYS
    # each run trades a new account of its own, named after when it ran
    assert report_a["account_name"].startswith("run-")
    same_a = {key: value for key, value in report_a.items()
              if key not in TIMING_KEYS | {"account_name"}}
    same_b = {key: value for key, value in report_b.items()
              if key not in TIMING_KEYS | {"account_name"}}
    assert same_a == same_b


def test_the_report_covers_the_simulated_two_minutes_from_the_2026_11_02_open(two_runs):
    _, (_, report), _ = two_runs

    # --start 2026-11-02 is that day's US equity open, 14:30 UTC; 120 s later is 14:32.
    assert report["clock_end"] == "2026-11-02T14:32:00+00:00"
    assert report["feed"] == "sim"
    assert report["handler_errors"] == 0
    # 120 s of 5 s bars and of 1 m bars for the five default instruments.
    assert report["bars_by_timeframe"] == {"1m": 10, "5s": 120}
    assert report["bars"] == 130
    assert set(report["symbols"]) == {"NQ", "ES", "AAPL", "MSFT", "BTC/USD"}
    assert sum(entry["ticks"] for entry in report["symbols"].values()) == report["ticks"]


def test_the_report_has_trading_records_as_lists(two_runs):
    _, (_, report), _ = two_runs

    for key in ("orders", "fills", "trades", "signals", "risk_events"):
        assert isinstance(report[key], list), key


def test_a_headless_run_keeps_its_market_out_of_the_home_and_its_trades_in_its_account(
        two_runs):
    tmp_path, (_, report), _ = two_runs

    store = open_store(tmp_path / "home_a" / "bracket.sqlite")
    try:
        assert (store.bar_count(), store.tick_count()) == (0, 0)  # a market of its own
    finally:
        store.close()
    conn = sqlite3.connect(tmp_path / "home_a" / "bracket.sqlite")
    try:
        stored = conn.execute("SELECT account, fill_id FROM fills ORDER BY rowid").fetchall()
    finally:
        conn.close()
    assert stored == [(report["account_name"], f["fill_id"]) for f in report["fills"]]
    assert stored  # the demo strategy traded


def test_a_headless_run_without_seconds_or_replay_exits_2(tmp_path):
    result = bracket("--home", str(tmp_path / "home"), "run", "--headless", cwd=tmp_path)

    assert result.returncode == 2
    assert "--seconds" in result.stderr


def test_a_headless_replay_of_a_tick_file_publishes_every_row(tmp_path):
    csv = tmp_path / "ticks.csv"
    csv.write_text("ts,symbol,price,size\n"
                   "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                   "2026-11-02T14:30:01Z,ES,6000.50,2\n"
                   "2026-11-02T14:30:07Z,NQ,21000.50,3\n", encoding="utf-8")

    result = bracket("--home", str(tmp_path / "home"), "run", "--headless", "--replay",
                     str(csv), "--speed", "max", "--report", "replay.json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "replay.json").read_text(encoding="utf-8"))
    assert report["feed"] == "replay"
    assert report["ticks"] == 3
    assert report["clock_end"] == "2026-11-02T14:30:07+00:00"
    # The 14:30:00 5 s bars of NQ and ES close when time passes 14:30:05.
    assert report["bars_by_timeframe"] == {"5s": 2}


def test_importing_a_bad_csv_exits_2_with_the_problem_on_stderr(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("ts,symbol,price,size\n"
                   "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                   "2026-11-02T14:30:01Z,NQ,21000.10,1\n", encoding="utf-8")

    result = bracket("--home", str(tmp_path / "home"), "import", str(csv), cwd=tmp_path)

    assert result.returncode == 2
    assert "bad.csv line 3: price 21000.1 is not a multiple of NQ's tick size 0.25" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_importing_a_good_csv_exits_0_and_says_what_it_imported(tmp_path):
    csv = tmp_path / "good.csv"
    csv.write_text("ts,symbol,price,size\n"
                   "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                   "2026-11-02T14:30:01Z,NQ,21000.50,1\n", encoding="utf-8")
    home = tmp_path / "home"

    first = bracket("--home", str(home), "import", str(csv), cwd=tmp_path)
    second = bracket("import", str(csv), "--home", str(home), cwd=tmp_path)  # the same home

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == ("imported 2 ticks for NQ (2026-11-02 14:30:00 to "
                                    "2026-11-02 14:30:01 UTC) from good.csv")
    assert second.returncode == 2
    assert "good.csv was already imported" in second.stderr


def test_a_bad_settings_file_exits_2_naming_the_file_and_the_key(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    settings = home / "settings.toml"
    settings.write_text("[feed]\nspeed = -1\n", encoding="utf-8")

    result = bracket("--home", str(home), "run", "--headless", "--seconds", "10", "--speed",
                     "max", cwd=tmp_path)

    assert result.returncode == 2
    assert str(settings) in result.stderr
    assert "feed.speed" in result.stderr
    assert "Traceback" not in result.stderr


def test_replaying_the_store_publishes_stored_ticks_once_and_stores_no_duplicates(tmp_path):
    csv = tmp_path / "ticks.csv"
    csv.write_text("ts,symbol,price,size\n"
                   "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                   "2026-11-02T14:30:01Z,ES,6000.50,2\n"
                   "2026-11-02T14:30:07Z,NQ,21000.50,3\n", encoding="utf-8")
    home = tmp_path / "home"
    assert bracket("--home", str(home), "import", str(csv), cwd=tmp_path).returncode == 0

    result = bracket("--home", str(home), "run", "--headless", "--replay", "store",
                     "--report", "store.json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "store.json").read_text(encoding="utf-8"))
    assert (report["feed"], report["ticks"]) == ("replay", 3)
    assert report["symbols"]["NQ"] == {"ticks": 2, "last": 21000.50, "volume": 4.0}
    store = Store(home / "bracket.sqlite")
    try:
        assert store.tick_count() == 3  # the replay did not write its ticks back
    finally:
        store.close()


def test_replaying_an_empty_store_exits_2_and_says_how_to_fill_it(tmp_path):
    result = bracket("--home", str(tmp_path / "home"), "run", "--headless", "--replay", "store",
                     cwd=tmp_path)

    assert result.returncode == 2
    assert "holds no ticks to replay; import some with `bracket import FILE`" in result.stderr


def test_a_headless_run_with_strategies_reports_plugins_and_their_instances(tmp_path):
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "half_written.py").write_text(
        "from workstation.strategy import Strategy\n\nclass Half(Strategy):\n    name = \n",
        encoding="utf-8")
    result = bracket("--home", str(home), "run", "--headless", "--seconds", "900", "--seed", "5",
                     "--start", "2026-11-02", "--no-demo", "--strategy", "SMA crossover@NQ",
                     "--strategy", "Momentum signals@NQ,ES", "--report", "run.json",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert report["plugins"] == {
        "loaded": ["Donchian breakout", "Indicator vote", "Momentum signals",
                   "RSI mean reversion", "SMA crossover"],
        "errors": [{"file": "half_written.py", "line": 4, "message": "syntax error: invalid "
                                                                     "syntax"}]}
    instances = {row["id"]: row for row in report["strategies"]}
    assert set(instances) == {"sma-crossover-nq", "momentum-signals-nq-es"}
    for row in instances.values():
        assert (row["status"], row["errors"]) == ("running", 0)
    # 15 simulated minutes from the open: 15 one-minute NQ bars, and 15 of ES too
    assert instances["sma-crossover-nq"]["bars"] == 15
    assert instances["momentum-signals-nq-es"]["bars"] == 30


def test_a_headless_run_with_auto_approval_takes_signals_through_to_trades(tmp_path):
    result = bracket("--home", str(tmp_path / "home"), "run", "--headless", "--seconds", "7200",
                     "--seed", "3", "--start", "2026-11-20", "--no-demo", "--strategy",
                     "Momentum signals@NQ,ES", "--auto-approve", "--report", "run.json",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    signals = report["signals"]
    assert signals, "the momentum strategy emitted no signal"
    for record in signals:
        assert set(record) >= {"id", "symbol", "direction", "source", "state", "history",
                               "entry", "stop"}
        assert record["source"] == "momentum-signals-nq-es"
        path = [step["state"] for step in record["history"]]
        assert path[0] == "received" and path[-1] == record["state"]
        if "confirmed" in path and "awaiting_approval" in path:
            assert record["entry"] is not None and record["stop"] is not None
    closed = [r for r in signals if r["state"] == "closed"]
    assert closed, "no signal went all the way to a closed trade"
    assert [s["state"] for s in closed[0]["history"]][-4:] == [
        "awaiting_approval", "approved", "active", "closed"]
    assert len(report["trades"]) >= 1
    assert {t["source"] for t in report["trades"]} == {"momentum-signals-nq-es"}


# -- mistakes on the command line: exit 2, one line, before anything runs (issue 11.13) -----
@pytest.mark.parametrize(("spec", "problem"), [
    ("SMA crossover@XYZ", "strategy instance sma-crossover-xyz: unknown instruments XYZ"),
    ("No such strategy@NQ", "strategy instance no-such-strategy-nq: unknown strategy 'No such "
                            "strategy' (loaded: Donchian breakout, Indicator vote, Momentum "
                            "signals, RSI mean reversion, SMA crossover)"),
    ("SMA crossover@NQ:fast=1", "strategy instance sma-crossover-nq: fast: 1 is below the "
                                "minimum 2"),
    ("SMA crossover@NQ:fats=5", "strategy instance sma-crossover-nq: SMA crossover has no "
                                "parameter fats"),
])
def test_a_bad_strategy_on_the_command_line_exits_2_with_one_line(tmp_path, spec, problem):
    result = bracket("run", "--home", str(tmp_path / "home"), "--headless", "--seconds", "60",
                     "--strategy", spec, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == f"bracket: --strategy: {problem}\n"
    assert result.stdout == ""
    assert not (tmp_path / "home" / "bracket.sqlite").exists()


@pytest.mark.parametrize(("specs", "message"), [
    (["SMA crossover@NQ", "SMA crossover@NQ"],
     "--strategy: instance sma-crossover-nq is given twice"),
    (["@NQ"], "--strategy '@NQ': expected NAME, NAME@SYMBOL,SYMBOL or "
              "NAME@SYMBOL:KEY=VALUE,KEY=VALUE"),
    (["SMA crossover@NQ:fast"], "--strategy 'SMA crossover@NQ:fast': parameter 'fast': "
                                "expected KEY=VALUE"),
])
def test_a_malformed_strategy_option_exits_2_with_one_line(tmp_path, specs, message):
    options = [token for spec in specs for token in ("--strategy", spec)]

    result = bracket("run", "--home", str(tmp_path / "home"), "--headless", "--seconds", "60",
                     *options, cwd=tmp_path)

    assert (result.returncode, result.stderr) == (2, f"bracket: {message}\n")


def test_a_non_finite_strategy_parameter_on_the_command_line_exits_2(tmp_path):
    result = bracket("run", "--home", str(tmp_path / "home"), "--headless", "--seconds", "60",
                     "--strategy", "SMA crossover@NQ:stop_points=nan", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == ("bracket: --strategy 'SMA crossover@NQ:stop_points=nan': strategy "
                             "instance sma-crossover-nq: params: stop_points: nan is not a "
                             "finite number\n")


def test_a_strategy_parameter_given_on_the_command_line_is_used(tmp_path):
    result = bracket("run", "--home", str(tmp_path / "home"), "--headless", "--seconds", "60",
                     "--no-demo", "--strategy", "SMA crossover@NQ:fast=5,allow_short=false",
                     "--report", "run.json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    store = open_store(tmp_path / "home" / "bracket.sqlite")
    try:
        with store.engine.connect() as conn:
            settings = json.loads(conn.exec_driver_sql(
                "SELECT settings FROM strategy_instances").scalar_one())
    finally:
        store.close()
    assert (settings["params"]["fast"], settings["params"]["allow_short"]) == (5, False)
    assert settings["params"]["slow"] == 30  # the default


# -- a home that cannot be written (issue 11.12) ---------------------------------------------
def test_a_home_whose_log_cannot_be_opened_exits_2_with_one_line(tmp_path):
    home = tmp_path / "home"
    (home / "logs" / "bracket.log").mkdir(parents=True)  # stands in for a file it cannot open

    result = bracket("run", "--home", str(home), "--headless", "--seconds", "10", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (f"bracket: cannot write to the Bracket home {home}: Is a directory "
                             f"({home / 'logs' / 'bracket.log'}); check its permissions or "
                             "choose another with --home DIR\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_a_read_only_home_with_data_exits_2_with_one_line(tmp_path):
    home = tmp_path / "home"
    csv = tmp_path / "ticks.csv"
    csv.write_text("ts,symbol,price,size\n2026-11-02T14:30:00Z,NQ,21000.25,1\n",
                   encoding="utf-8")
    assert bracket("--home", str(home), "import", str(csv), cwd=tmp_path).returncode == 0
    folders = [home, home / "logs", home / "plugins"]
    files = [path for path in home.rglob("*") if path.is_file()]
    for path in [*files, *folders]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = bracket("run", "--home", str(home), "--headless", "--seconds", "10",
                         cwd=tmp_path)
    finally:
        for path in [*folders, *files]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    assert result.returncode == 2
    assert result.stderr.startswith(f"bracket: cannot write to the Bracket home {home}: "
                                    "Permission denied")
    assert result.stderr.count("\n") == 1
