"""Optimisations, walk-forwards and challenge runs in the store: read back exactly, numbers
never reused, kept by the commands by default, and nothing kept by a run that is refused,
fails or is killed; a store newer than this Bracket is refused and left untouched."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from workstation.config import Settings
from workstation.optimize.challenge import ChallengeRules, simulate
from workstation.optimize.grid import build_grid
from workstation.optimize.objective import Constraints
from workstation.optimize.pool import SerialRunner, load_series
from workstation.optimize.runs import (
    ChallengeRun,
    Optimization,
    delete_challenge,
    delete_optimization,
    list_challenges,
    list_optimizations,
    load_challenge,
    load_optimization,
    save_challenge,
    save_optimization,
)
from workstation.optimize.search import Trial
from workstation.optimize.study import prepare_job
from workstation.optimize.walkforward import run_walkforward
from workstation.store import StoreError, open_store
from workstation.store.schema import SCHEMA_VERSION
from workstation.strategies.instances import InstanceSettings
from workstation.trades import TradeRecord

STRATEGY = ["--strategy", "SMA crossover@NQ", "--timeframe", "5m", "--from", "2026-11-02",
            "--to", "2026-11-03"]
GRID = ["--param", "fast=5,10", "--param", "slow=10,20", "--require", "fast<slow"]


def an_optimization(kind: str = "optimize") -> Optimization:
    trials = (Trial(0, {"fast": 5, "slow": 10}, "ok", 12.5, {"net_profit": 12.5, "trades": 3}),
              Trial(1, {"fast": 10, "slow": 10}, "skipped", None, None,
                    "fast<slow does not hold"),
              Trial(2, {"fast": 5, "slow": 20}, "excluded", None, {"net_profit": -1.0},
                    "1 trades, fewer than 2"))
    return Optimization(
        kind=kind, created_ts=42, strategy="SMA crossover", strategy_version="1.0",
        file_hash="ab" * 32, symbols=("NQ",), timeframe="5m", first_day="2026-11-02",
        last_day="2026-11-03", source="sim",
        inputs={"params": ["fast=5,10"], "search": "grid", "search_seed": 0,
                "settings": {"starting_cash": 100_000.0, "seed": 7}},
        summary={"best": {"number": 0, "score": 12.5}},
        result={"windows": [{"index": 0}]} if kind == "walkforward" else {},
        trials={0: trials, 1: trials[:1]} if kind == "walkforward" else {0: trials},
        wall_s=1.5, workers=2)


def a_challenge() -> ChallengeRun:
    rules = ChallengeRules(account_size=10_000.0, profit_target=200.0, daily_loss=150.0,
                           max_loss=300.0, max_days=3, name="tiny")
    days = ((100.0, -20.0), (-160.0,), (250.0,))
    return ChallengeRun(7, {"kind": "backtest", "id": 3, "label": "backtest run 3"}, 4, days,
                        simulate([list(d) for d in days], rules, paths=500, seed=5,
                                 samples=4), 0.25)


@pytest.fixture
def store(tmp_path):
    opened = open_store(tmp_path / "bracket.sqlite")
    yield opened
    opened.close()


def test_a_stored_optimization_reads_back_equal_with_every_trial(store):
    run_id = save_optimization(store, an_optimization())
    assert load_optimization(store, run_id) == \
        an_optimization().__class__(**{**_fields(an_optimization()), "run_id": run_id})


def test_a_stored_walkforward_keeps_each_windows_trials_apart(store):
    run_id = save_optimization(store, an_optimization("walkforward"))
    loaded = load_optimization(store, run_id)
    assert {w: len(t) for w, t in loaded.trials.items()} == {0: 3, 1: 1}
    assert loaded.result == {"windows": [{"index": 0}]}
    assert [s.kind for s in list_optimizations(store, "walkforward")] == ["walkforward"]
    assert list_optimizations(store, "optimize") == []


def test_a_deleted_optimizations_number_is_never_reused_and_its_trials_go_with_it(store):
    first = save_optimization(store, an_optimization())
    second = save_optimization(store, an_optimization())
    delete_optimization(store, second)
    third = save_optimization(store, an_optimization())
    assert (first, second, third) == (1, 2, 3)
    assert [s.run_id for s in list_optimizations(store)] == [3, 1]
    with pytest.raises(StoreError, match="no optimisation 2"):
        load_optimization(store, second)
    with store.transaction() as conn:
        kept = conn.exec_driver_sql("SELECT DISTINCT run_id FROM optimization_trials").all()
    assert sorted(r[0] for r in kept) == [1, 3]


def test_a_stored_challenge_reads_back_equal(store):
    original = a_challenge()
    run_id = save_challenge(store, original)
    loaded = load_challenge(store, run_id)
    assert (loaded.run_id, loaded.source, loaded.trades, loaded.days, loaded.wall_s) == (
        run_id, original.source, 4, original.days, 0.25)
    a, b = loaded.result, original.result
    assert (a.rules, a.paths, a.seed, a.history_days) == (b.rules, 500, 5, 3)
    assert (a.pass_probability, a.fail_daily_probability, a.fail_max_probability,
            a.timeout_probability) == (b.pass_probability, b.fail_daily_probability,
                                       b.fail_max_probability, b.timeout_probability)
    assert a.days_to_pass.tolist() == b.days_to_pass.tolist()
    assert np.array_equal(a.sample_paths, b.sample_paths, equal_nan=True)
    assert a.sample_paths.shape == (4, 4)
    # the stored days and seed are enough to run it again
    again = simulate([list(d) for d in loaded.days], a.rules, paths=a.paths, seed=a.seed)
    assert again.pass_probability == a.pass_probability


def test_a_deleted_challenges_number_is_never_reused(store):
    first, second = save_challenge(store, a_challenge()), save_challenge(store, a_challenge())
    delete_challenge(store, second)
    assert save_challenge(store, a_challenge()) == 3
    assert [c.run_id for c in list_challenges(store)] == [3, first]


def _fields(record: Optimization) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}


# -- walk-forward windows in bars ------------------------------------------------------------
def test_walkforward_windows_in_bars_are_counted_bar_by_bar():
    """NQ 1h bars of Mon 2 and Tue 3 November 2026 (simulated): 23 a day, 18:00 to 16:00
    New York, so bar 23 (18:00 Monday) opens Tuesday's trading day. 20 in, 8 out, step 8:
    windows IS 0-19 OOS 20-27, IS 8-27 OOS 28-35, IS 16-35 OOS 36-43 (bars 44-45 unused)."""
    instance = InstanceSettings(instance_id="wf", strategy="SMA crossover", symbols=("NQ",))
    job, declared = prepare_job(Settings(), None, instance, "1h", date(2026, 11, 2),
                                date(2026, 11, 3))
    ts = load_series(job)[0].ts
    assert len(ts) == 46
    grid = build_grid(declared, {"fast": "3,5", "slow": "8"})
    result = run_walkforward(SerialRunner(job), job, grid, "net_profit", Constraints(),
                             in_days=20, out_days=8, unit="bars")
    monday, tuesday = date(2026, 11, 2), date(2026, 11, 3)
    assert [(w.window.is_start, w.window.is_end, w.window.oos_end) for w in result.windows] \
        == [(0, 20, 28), (8, 28, 36), (16, 36, 44)]
    assert [(w.is_first, w.is_last, w.oos_first, w.oos_last) for w in result.windows] == [
        (monday, monday, monday, tuesday), (monday, tuesday, tuesday, tuesday),
        (monday, tuesday, tuesday, tuesday)]
    for w in result.windows:
        assert w.oos is not None and w.oos.bars == 8
        assert w.oos.start_ns == ts[w.window.is_end]
    assert result.as_dict()["unit"] == "bars"


def test_a_walkforward_in_bars_longer_than_the_data_is_refused():
    instance = InstanceSettings(instance_id="wf", strategy="SMA crossover", symbols=("NQ",))
    job, declared = prepare_job(Settings(), None, instance, "1h", date(2026, 11, 2),
                                date(2026, 11, 3))
    grid = build_grid(declared, {"fast": "3,5"})
    with pytest.raises(Exception, match=r"window of 40 \+ 8 bars is longer than the data "
                                        r"\(46 bars\)"):
        run_walkforward(SerialRunner(job), job, grid, "net_profit", Constraints(),
                        in_days=40, out_days=8, unit="bars")


# -- the commands keep what they did --------------------------------------------------------
def bracket(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    return subprocess.run([sys.executable, "-m", "workstation", *args, "--home", str(home)],
                          cwd=home.parent, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def stored(home: Path) -> tuple[list, list]:
    store = open_store(home / "bracket.sqlite", write=False)
    try:
        return list_optimizations(store), list_challenges(store)
    finally:
        store.close()


def test_optimize_keeps_its_trials_as_its_json_says_and_no_save_keeps_nothing(tmp_path):
    home = tmp_path / "home"
    done = bracket("optimize", *STRATEGY, *GRID, "--workers", "0", "--progress", "json",
                   "--json", str(tmp_path / "opt.json"), home=home)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    # the skipped combination is told first, the others as they finish
    assert [line["trial"]["number"] for line in lines if "trial" in line] == [2, 0, 1, 3]
    assert lines[-1]["optimization_id"] == 1
    document = json.loads((tmp_path / "opt.json").read_text())
    store = open_store(home / "bracket.sqlite", write=False)
    try:
        record = load_optimization(store, 1)
    finally:
        store.close()
    assert [t.as_dict() for t in record.trials[0]] == document["trials"]
    assert (record.kind, record.strategy, record.symbols, record.timeframe, record.source) == (
        "optimize", "SMA crossover", ("NQ",), "5m", "sim")
    assert len(record.file_hash) == 64
    assert record.inputs["params"] == ["fast=5,10", "slow=10,20"]
    assert record.inputs["require"] == ["fast<slow"]
    assert (record.inputs["objective"], record.inputs["search"]) == ("net_profit", "grid")
    assert record.inputs["settings"]["seed"] == 7
    assert record.summary["best"]["number"] == document["best"]["number"]

    again = bracket("optimize", *STRATEGY, *GRID, "--workers", "0", "--progress", "none",
                    "--no-save", home=home)
    assert again.returncode == 0, again.stderr
    assert [s.run_id for s in stored(home)[0]] == [1]


def test_walkforward_and_challenge_on_its_out_of_sample_trades_are_kept(tmp_path):
    home = tmp_path / "home"
    walk = bracket("walkforward", "--strategy", "SMA crossover@NQ", "--timeframe", "5m",
                   "--from", "2026-11-02", "--to", "2026-11-05", "--param", "fast=5,10",
                   "--param", "slow=20", "--in", "2", "--out", "1", "--workers", "0",
                   "--progress", "json", "--json", str(tmp_path / "wf.json"), home=home)
    assert walk.returncode == 0, walk.stderr
    assert json.loads(walk.stdout.splitlines()[-1])["optimization_id"] == 1
    document = json.loads((tmp_path / "wf.json").read_text())
    store = open_store(home / "bracket.sqlite", write=False)
    try:
        record = load_optimization(store, 1)
    finally:
        store.close()
    assert record.kind == "walkforward"
    assert record.result["windows"] == document["windows"]
    assert record.result["daily"] == document["daily"]
    assert [t.as_dict() for t in record.oos_trades()] == [
        {k: t[k] for k in TradeRecord.__slots__} for t in document["trades"]]
    assert sorted(record.trials) == [0, 1]
    assert record.inputs["walkforward"] == {"in": 2, "out": 1, "step": None, "unit": "days",
                                            "anchored": False}

    by_id = bracket("challenge", "--preset", "topstep", "--account", "50000",
                    "--walkforward", "1", "--paths", "500", "--max-days", "10",
                    "--progress", "json", home=home)
    by_file = bracket("challenge", "--preset", "topstep", "--account", "50000",
                      "--trades-json", str(tmp_path / "wf.json"), "--paths", "500",
                      "--max-days", "10", "--no-save", home=home)
    assert by_id.returncode == 0, by_id.stderr
    assert by_file.returncode == 0, by_file.stderr
    said = json.loads(by_id.stdout.splitlines()[-1])
    assert said["challenge_id"] == 1
    assert said["summary"].split("paths: ")[1] == by_file.stdout.strip().split("paths: ")[1]
    (challenge,) = stored(home)[1]
    assert challenge.source == {"kind": "walkforward", "id": 1,
                                "label": "walk-forward 1 out of sample"}
    assert challenge.trades == len(document["trades"])


def test_a_refused_optimization_keeps_nothing(tmp_path):
    home = tmp_path / "home"
    done = bracket("optimize", *STRATEGY, "--param", "nope=1,2", "--workers", "0", home=home)
    assert done.returncode == 2
    assert done.stderr.strip() == ("bracket: no parameter 'nope' (parameters: fast, slow, "
                                   "qty, allow_short, stop_points)")
    assert stored(home) == ([], [])


def test_a_killed_optimization_keeps_nothing(tmp_path):
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    process = subprocess.Popen(
        [sys.executable, "-m", "workstation", "optimize", "--strategy", "SMA crossover@NQ",
         "--timeframe", "1m", "--from", "2026-11-02", "--to", "2026-11-06", "--param",
         "fast=2:40:1", "--workers", "0", "--progress", "json", "--home", str(home)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())  # a trial has finished
        assert "trial" in first
    finally:
        process.kill()
        process.wait(timeout=30)
    assert stored(home) == ([], [])


def test_a_store_newer_than_this_bracket_is_refused_before_the_work_and_left_untouched(
        tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    path = home / "bracket.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    done = bracket("optimize", *STRATEGY, *GRID, "--workers", "0", "--progress", "none",
                   home=home)
    assert done.returncode == 2
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this Bracket" in done.stderr
    assert "left untouched" in done.stderr
    assert path.read_bytes() == before
