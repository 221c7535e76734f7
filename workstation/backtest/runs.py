"""Backtest runs kept in the store: a run is written whole, in one transaction, when it
ends, so a canceled or crashed run leaves nothing behind; its number is never reused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from workstation.backtest.run import BacktestRun, BacktestSettings
from workstation.store.database import Store, StoreError
from workstation.trades import TradeRecord

_COLUMNS = ("created_ts", "strategy", "strategy_version", "file_hash", "params", "symbols",
            "timeframe", "start_ts", "end_ts", "source", "settings", "metrics", "trades",
            "curve_ts", "curve_equity", "daily", "bars", "wall_s", "problems", "extra")


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of the run history: enough to list and compare without loading trades."""

    run_id: int
    created_ts: int
    title: str
    params: dict[str, Any]
    timeframe: str
    start_ns: int
    end_ns: int
    source: str
    metrics: dict[str, Any]


def save_run(store: Store, run: BacktestRun) -> int:
    """Store ``run``; returns its number."""
    with store.transaction() as conn:
        return save_run_in(conn, run)


def save_run_in(conn: Connection, run: BacktestRun) -> int:
    values = {
        "created_ts": run.created_ts, "strategy": run.strategy,
        "strategy_version": run.strategy_version, "file_hash": run.file_hash,
        "params": json.dumps(run.params, sort_keys=True), "symbols": json.dumps(run.symbols),
        "timeframe": run.timeframe, "start_ts": run.start_ns, "end_ts": run.end_ns,
        "source": run.source, "settings": json.dumps(run.settings.as_dict()),
        "metrics": json.dumps(run.metrics), "trades": json.dumps([t.as_dict() for t in run.trades]),
        "curve_ts": np.asarray(run.curve_ts, dtype="<i8").tobytes(),
        "curve_equity": np.asarray(run.curve_equity, dtype="<f8").tobytes(),
        "daily": json.dumps(run.daily), "bars": run.bars, "wall_s": run.wall_s,
        "problems": json.dumps(run.problems), "extra": json.dumps(run.extra)}
    names = ", ".join(_COLUMNS)
    marks = ", ".join(f":{c}" for c in _COLUMNS)
    result = conn.execute(text(f"INSERT INTO backtest_runs ({names}) VALUES ({marks})"), values)
    run_id = result.lastrowid
    assert run_id is not None
    return int(run_id)


def list_runs(store: Store) -> list[RunSummary]:
    """Every stored run, newest first."""
    with store.transaction() as conn:
        rows = conn.execute(text(
            "SELECT id, created_ts, strategy, strategy_version, symbols, timeframe, params, "
            "start_ts, end_ts, source, metrics FROM backtest_runs ORDER BY id DESC")).all()
    summaries = []
    for row in rows:
        symbols = ", ".join(json.loads(row.symbols))
        summaries.append(RunSummary(
            row.id, row.created_ts, f"{row.strategy} {row.strategy_version} · {symbols} "
            f"{row.timeframe}", json.loads(row.params), row.timeframe, row.start_ts, row.end_ts,
            row.source, json.loads(row.metrics)))
    return summaries


def load_run(store: Store, run_id: int) -> BacktestRun:
    with store.transaction() as conn:
        row = conn.execute(text(f"SELECT id, {', '.join(_COLUMNS)} FROM backtest_runs "
                                "WHERE id = :id"), {"id": run_id}).one_or_none()
    if row is None:
        raise StoreError(f"no backtest run {run_id} in {store.path.name}")
    try:
        return BacktestRun(
            strategy=row.strategy, strategy_version=row.strategy_version,
            file_hash=row.file_hash, params=json.loads(row.params),
            symbols=tuple(json.loads(row.symbols)), timeframe=row.timeframe,
            start_ns=row.start_ts, end_ns=row.end_ts, source=row.source,
            settings=BacktestSettings(**json.loads(row.settings)),
            metrics=json.loads(row.metrics),
            trades=tuple(TradeRecord(**t) for t in json.loads(row.trades)),
            curve_ts=np.frombuffer(row.curve_ts, dtype="<i8").copy(),
            curve_equity=np.frombuffer(row.curve_equity, dtype="<f8").copy(),
            daily=tuple((day, equity) for day, equity in json.loads(row.daily)),
            bars=row.bars, wall_s=row.wall_s, problems=tuple(json.loads(row.problems)),
            created_ts=row.created_ts, run_id=row.id, extra=json.loads(row.extra))
    except (TypeError, ValueError, KeyError) as exc:
        raise StoreError(f"backtest run {run_id} in {store.path.name} cannot be read "
                         f"({type(exc).__name__}: {exc})") from None


def delete_run(store: Store, run_id: int) -> None:
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM backtest_runs WHERE id = :id"), {"id": run_id})
