"""``bracket optimize``, ``walkforward`` and ``challenge`` in a subprocess: their JSON and
CSV, a challenge on a walk-forward's out-of-sample trades, and one-line refusals (exit 2)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STRATEGY = ["--strategy", "SMA crossover@NQ", "--timeframe", "5m"]
GRID = ["--param", "fast=5,10", "--param", "slow=10,20", "--require", "fast<slow"]


def bracket(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    return subprocess.run([sys.executable, "-m", "workstation", *args, "--home",
                           str(cwd / "home")], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("optimize")
    optimize = bracket("optimize", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
                       *GRID, "--workers", "0", "--progress", "none", "--json", "opt.json",
                       "--csv", "opt.csv", cwd=tmp_path)
    walk = bracket("walkforward", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-06",
                   "--param", "fast=5,10", "--param", "slow=20", "--in-days", "2",
                   "--out-days", "1", "--workers", "0", "--progress", "none",
                   "--json", "wf.json", "--csv", "wf.csv", cwd=tmp_path)
    challenge = bracket("challenge", "--preset", "topstep", "--account", "50000",
                        "--trades-json", "wf.json", "--paths", "2000", "--max-days", "20",
                        "--json", "ch.json", "--csv", "ch.csv", cwd=tmp_path)
    return tmp_path, optimize, walk, challenge


def test_optimize_writes_every_trial_with_skipped_ones_and_their_reason(runs):
    tmp_path, optimize, _, _ = runs
    assert optimize.returncode == 0, optimize.stderr
    document = json.loads((tmp_path / "opt.json").read_text())
    rows = list(csv.DictReader((tmp_path / "opt.csv").open()))

    assert [(t["params"]["fast"], t["params"]["slow"], t["status"]) for t in
            document["trials"]] == [(5, 10, "ok"), (5, 20, "ok"), (10, 10, "skipped"),
                                    (10, 20, "ok")]
    assert document["trials"][2]["reason"] == "fast<slow does not hold"
    assert document["best"]["score"] == max(t["score"] for t in document["trials"]
                                            if t["score"] is not None)
    assert (document["search"], document["first"], document["data"]) == (
        "grid", "2026-11-02", "sim")
    assert [r["status"] for r in rows] == ["ok", "ok", "skipped", "ok"]
    assert optimize.stdout.startswith(f"best trial {document['best']['number']}: fast=")


def test_walkforward_writes_its_windows_and_stitched_out_of_sample(runs):
    tmp_path, _, walk, _ = runs
    assert walk.returncode == 0, walk.stderr
    document = json.loads((tmp_path / "wf.json").read_text())
    rows = list(csv.DictReader((tmp_path / "wf.csv").open()))

    assert [w["out_of_sample"] for w in document["windows"]] == [
        ["2026-11-04", "2026-11-04"], ["2026-11-05", "2026-11-05"],
        ["2026-11-06", "2026-11-06"]]
    assert [r["oos_first"] for r in rows] == ["2026-11-04", "2026-11-05", "2026-11-06"]
    assert document["daily"]["equity"][-1] - 100_000 == pytest.approx(
        sum(w["oos_metrics"]["net_profit"] for w in document["windows"]))
    assert "walk-forward efficiency" in walk.stdout


def test_challenge_runs_on_a_walkforwards_out_of_sample_trades(runs):
    tmp_path, _, _, challenge = runs
    assert challenge.returncode == 0, challenge.stderr
    document = json.loads((tmp_path / "ch.json").read_text())
    trades = len(json.loads((tmp_path / "wf.json").read_text())["trades"])

    assert (document["trades"], document["history_days"], document["paths"]) == (trades, 3,
                                                                                   2000)
    assert document["rules"]["max_loss"] == 2_000.0 and document["rules"]["trailing"] == "eod"
    total = sum(document[f"{k}_probability"] for k in ("pass", "fail_daily", "fail_max",
                                                        "timeout"))
    assert total == pytest.approx(1.0)
    assert len((tmp_path / "ch.csv").read_text().splitlines()) == 21
    assert challenge.stdout.startswith("topstep 50,000 on ")


@pytest.mark.parametrize(("args", "message"), [
    (["optimize", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
      "--param", "speed=1:3"], "no parameter 'speed'"),
    (["optimize", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
      "--param", "fast=9:3"], "parameter fast: empty range 9..3"),
    (["walkforward", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
      "--param", "fast", "--in-days", "5", "--out-days", "1"],
     "walk-forward window of 5 + 1 trading days is longer than the data (2 trading days)"),
    (["optimize", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
      "--param", "fast", "--objective", "pass_probability"],
     "--objective pass_probability needs --preset"),
    (["challenge", "--preset", "ftmo"], "give the trades with one of --run ID"),
])
def test_a_bad_argument_is_one_line_and_exit_code_2(tmp_path, args, message):
    result = bracket(*args, "--workers", "0", cwd=tmp_path) if args[0] != "challenge" \
        else bracket(*args, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bracket: ") and message in lines[0], \
        result.stderr


def test_challenge_reads_a_stored_backtests_trades(tmp_path):
    backtest = bracket("backtest", *STRATEGY, "--from", "2026-11-02", "--to", "2026-11-03",
                       "--progress", "none", "--report", "bt.json", cwd=tmp_path)
    assert backtest.returncode == 0, backtest.stderr
    stored = bracket("challenge", "--preset", "ftmo", "--run", "1", "--paths", "1000",
                     "--json", "run.json", cwd=tmp_path)
    from_file = bracket("challenge", "--preset", "ftmo", "--trades-json", "bt.json",
                        "--paths", "1000", "--json", "file.json", cwd=tmp_path)
    missing = bracket("challenge", "--preset", "ftmo", "--run", "7", cwd=tmp_path)

    assert stored.returncode == from_file.returncode == 0, stored.stderr + from_file.stderr
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("run.json",
                                                                           "file.json"))
    assert first["source"] == "backtest run 1"
    assert first["trades"] == second["trades"] == len(json.loads(
        (tmp_path / "bt.json").read_text())["trades"])
    assert first["pass_probability"] == second["pass_probability"]
    assert missing.returncode == 2 and missing.stderr.strip() == \
        "bracket: no backtest run 7 in bracket.sqlite"
