"""``bracket backtest`` in a subprocess: determinism, the stored run, exports, progress
lines, and one-line refusals with exit code 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.backtest.runs import list_runs, load_run
from workstation.store import open_store

DAYS = ["--from", "2026-11-02", "--to", "2026-11-03"]


def bracket(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    return subprocess.run([sys.executable, "-m", "workstation", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same backtest twice in one home: JSON progress, every export."""
    tmp_path = tmp_path_factory.mktemp("backtest")
    results = []
    for name in ("a", "b"):
        results.append(bracket(
            "backtest", "--home", str(tmp_path / "home"), "--strategy",
            "SMA crossover@NQ:stop_points=30", *DAYS, "--data", "sim", "--progress", "json",
            "--report", f"{name}.json", "--html", f"{name}.html", "--trades", f"{name}.csv",
            cwd=tmp_path))
    return tmp_path, results


def test_the_same_backtest_twice_gives_the_same_trades_and_figures(two_runs):
    tmp_path, results = two_runs
    assert [r.returncode for r in results] == [0, 0], results[0].stderr

    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert first["trades"] == second["trades"] and len(first["trades"]) > 10
    assert first["metrics"] == second["metrics"]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_run_is_kept_in_the_store_with_what_was_tested(two_runs):
    tmp_path, _ = two_runs
    store = open_store(tmp_path / "home" / "bracket.sqlite")
    try:
        summaries = list_runs(store)
        run = load_run(store, 2)
    finally:
        store.close()

    assert [s.run_id for s in summaries] == [2, 1]
    assert run.strategy == "SMA crossover" and run.symbols == ("NQ",)
    assert run.params["stop_points"] == 30.0 and run.timeframe == "1m" and run.source == "sim"
    assert len(run.file_hash) == 64
    report = json.loads((tmp_path / "b.json").read_text())
    assert len(run.trades) == len(report["trades"])
    assert run.metrics["net_profit"] == report["metrics"]["net_profit"]


def test_progress_is_json_lines_ending_with_the_run_number(two_runs):
    _, results = two_runs
    lines = [json.loads(line) for line in results[1].stdout.strip().splitlines()]

    progress = [line["progress"] for line in lines[:-1]]
    assert progress and progress[-1]["bars"] == progress[-1]["total"] > 0
    assert [p["bars"] for p in progress] == sorted(p["bars"] for p in progress)
    assert lines[-1]["run_id"] == 2
    assert lines[-1]["summary"].startswith("run 2: SMA crossover 1.0 · NQ 1m sim: ")


def test_the_trades_csv_has_a_row_per_trade_with_its_net_result(two_runs):
    tmp_path, _ = two_runs
    report = json.loads((tmp_path / "a.json").read_text())
    with (tmp_path / "a.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert [row["trade_id"] for row in rows] == [t["trade_id"] for t in report["trades"]]


@pytest.mark.parametrize(("args", "message"), [
    (["--strategy", "No such strategy@NQ", *DAYS], "unknown strategy"),
    (["--strategy", "SMA crossover@NQ:fast=0", *DAYS], "fast"),
    (["--strategy", "SMA crossover@NQ", "--from", "2026-11-05", "--to", "2026-11-02"],
     "empty date range"),
    (["--strategy", "SMA crossover@NQ", *DAYS, "--data", "store"], "no store"),
    (["--strategy", "SMA crossover@NQ", *DAYS, "--data", "nowhere.csv"], "nowhere.csv"),
    (["--strategy", "SMA crossover@ZZZ", *DAYS], "ZZZ"),
    (["--strategy", "SMA crossover@NQ", *DAYS, "--break-even-r", "-1"], "--break-even-r -1"),
])
def test_a_bad_argument_is_one_line_and_exit_code_2(tmp_path, args, message):
    result = bracket("backtest", "--home", str(tmp_path / "home"), "--progress", "none",
                     *args, cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bracket: ") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_a_run_the_store_cannot_keep_still_writes_its_files_and_says_why(tmp_path):
    home = tmp_path / "home"
    (home / "bracket.sqlite").mkdir(parents=True)  # not a database file

    result = bracket("backtest", "--home", str(home), "--strategy", "SMA crossover@NQ", *DAYS,
                     "--progress", "none", "--report", "kept.json", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("bracket: ") and "bracket.sqlite" in result.stderr
    assert json.loads((tmp_path / "kept.json").read_text())["trades"]
