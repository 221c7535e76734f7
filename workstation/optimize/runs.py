"""Optimisations, walk-forwards and challenge runs kept in the store.

Each is written whole, in one transaction, when it has finished: a canceled or failed
run leaves nothing behind, and a number (AUTOINCREMENT) is never given to another run.
A record holds everything needed to run it again: the strategy with its version and
file hash, the fixed parameters and the data (``inputs``: ranges, conditions, objective,
constraints, search and seed, window lengths, fill settings), and what came out: every
trial's parameters and figures, each walk-forward window with its choice and figures,
the stitched out-of-sample curve and trades, a challenge's rules, the day-grouped trade
P&L it resampled, its seed, odds, days-to-pass counts and sample paths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from workstation.optimize.challenge import ChallengeResult, ChallengeRules
from workstation.optimize.search import Trial
from workstation.store.database import Store, StoreError
from workstation.trades import TradeRecord

KINDS = ("optimize", "walkforward")
_OPT_COLUMNS = ("kind", "created_ts", "strategy", "strategy_version", "file_hash", "symbols",
                "timeframe", "first_day", "last_day", "source", "inputs", "summary", "result",
                "wall_s", "workers")
_CHALLENGE_COLUMNS = ("created_ts", "name", "rules", "source", "trades", "days", "paths",
                      "seed", "pass_probability", "fail_daily_probability",
                      "fail_max_probability", "timeout_probability", "days_to_pass",
                      "sample_paths", "wall_s")


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)  # in order: parameters read as declared


@dataclass(frozen=True, slots=True)
class Optimization:
    """A finished optimisation (``kind`` "optimize") or walk-forward ("walkforward").
    ``trials`` maps a window's index (0 for a plain optimisation) to its trials in order;
    ``result`` is the rest of the outcome as JSON-ready values (walk-forward: windows,
    stitched daily equity, trades, efficiency, stability). ``run_id`` is None until kept."""

    kind: str
    created_ts: int
    strategy: str
    strategy_version: str
    file_hash: str
    symbols: tuple[str, ...]
    timeframe: str
    first_day: str
    last_day: str
    source: str
    inputs: dict[str, Any]
    summary: dict[str, Any]
    result: dict[str, Any]
    trials: dict[int, tuple[Trial, ...]]
    wall_s: float
    workers: int
    run_id: int | None = None

    @property
    def title(self) -> str:
        return (f"{self.strategy} {self.strategy_version} · {', '.join(self.symbols)} "
                f"{self.timeframe}")

    def oos_trades(self) -> list[TradeRecord]:
        """A walk-forward's stitched out-of-sample trades (none for an optimisation)."""
        return [TradeRecord(**{k: t[k] for k in TradeRecord.__slots__ if k in t})
                for t in self.result.get("trades", [])]


@dataclass(frozen=True, slots=True)
class OptimizationSummary:
    """One line of the optimisation history, without the trials."""

    run_id: int
    kind: str
    created_ts: int
    title: str
    strategy: str
    first_day: str
    last_day: str
    source: str
    inputs: dict[str, Any]
    summary: dict[str, Any]


def save_optimization(store: Store, record: Optimization) -> int:
    """Keep ``record`` and its trials (one transaction); returns its number."""
    if record.kind not in KINDS:
        raise ValueError(f"kind {record.kind!r}: one of {', '.join(KINDS)}")
    with store.transaction() as conn:
        return _save_optimization_in(conn, record)


def _save_optimization_in(conn: Connection, record: Optimization) -> int:
    values = {
        "kind": record.kind, "created_ts": record.created_ts, "strategy": record.strategy,
        "strategy_version": record.strategy_version, "file_hash": record.file_hash,
        "symbols": json.dumps(list(record.symbols)), "timeframe": record.timeframe,
        "first_day": record.first_day, "last_day": record.last_day, "source": record.source,
        "inputs": _dumps(record.inputs), "summary": _dumps(record.summary),
        "result": _dumps(record.result), "wall_s": record.wall_s, "workers": record.workers}
    names, marks = ", ".join(_OPT_COLUMNS), ", ".join(f":{c}" for c in _OPT_COLUMNS)
    run_id = conn.execute(text(f"INSERT INTO optimizations ({names}) VALUES ({marks})"),
                          values).lastrowid
    assert run_id is not None
    rows = [{"run_id": run_id, "window": window, "number": t.number,
             "params": _dumps(t.params), "status": t.status, "score": t.score,
             "metrics": _dumps(t.metrics), "reason": t.reason}
            for window, trials in record.trials.items() for t in trials]
    if rows:
        conn.execute(text(
            "INSERT INTO optimization_trials (run_id, window, number, params, status, score, "
            "metrics, reason) VALUES (:run_id, :window, :number, :params, :status, :score, "
            ":metrics, :reason)"), rows)
    return int(run_id)


def list_optimizations(store: Store, kind: str | None = None) -> list[OptimizationSummary]:
    """Every kept optimisation (of ``kind``, when given), newest first."""
    where = "WHERE kind = :kind" if kind else ""
    with store.transaction() as conn:
        rows = conn.execute(text(
            "SELECT id, kind, created_ts, strategy, strategy_version, symbols, timeframe, "
            f"first_day, last_day, source, inputs, summary FROM optimizations {where} "
            "ORDER BY id DESC"), {"kind": kind}).all()
    return [OptimizationSummary(
        row.id, row.kind, row.created_ts, f"{row.strategy} {row.strategy_version} · "
        f"{', '.join(json.loads(row.symbols))} {row.timeframe}", row.strategy, row.first_day,
        row.last_day, row.source, json.loads(row.inputs), json.loads(row.summary))
        for row in rows]


def load_optimization(store: Store, run_id: int) -> Optimization:
    with store.transaction() as conn:
        row = conn.execute(text(f"SELECT id, {', '.join(_OPT_COLUMNS)} FROM optimizations "
                                "WHERE id = :id"), {"id": run_id}).one_or_none()
        trials = conn.execute(text(
            "SELECT window, number, params, status, score, metrics, reason FROM "
            "optimization_trials WHERE run_id = :id ORDER BY window, number"),
            {"id": run_id}).all()
    if row is None:
        raise StoreError(f"no optimisation {run_id} in {store.path.name}")
    try:
        grouped: dict[int, list[Trial]] = {}
        for t in trials:
            grouped.setdefault(t.window, []).append(Trial(
                t.number, json.loads(t.params), t.status, t.score, json.loads(t.metrics),
                t.reason))
        return Optimization(
            kind=row.kind, created_ts=row.created_ts, strategy=row.strategy,
            strategy_version=row.strategy_version, file_hash=row.file_hash,
            symbols=tuple(json.loads(row.symbols)), timeframe=row.timeframe,
            first_day=row.first_day, last_day=row.last_day, source=row.source,
            inputs=json.loads(row.inputs), summary=json.loads(row.summary),
            result=json.loads(row.result),
            trials={w: tuple(ts) for w, ts in grouped.items()}, wall_s=row.wall_s,
            workers=row.workers, run_id=row.id)
    except (TypeError, ValueError, KeyError) as exc:
        raise StoreError(f"optimisation {run_id} in {store.path.name} cannot be read "
                         f"({type(exc).__name__}: {exc})") from None


def delete_optimization(store: Store, run_id: int) -> None:
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM optimization_trials WHERE run_id = :id"), {"id": run_id})
        conn.execute(text("DELETE FROM optimizations WHERE id = :id"), {"id": run_id})


# -- challenge runs ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChallengeRun:
    """A finished challenge simulation: its rules, where its trades came from (``source``:
    ``{"kind": "backtest"|"walkforward"|"journal"|"file", ...}`` with a ``label``), the
    day-grouped trade P&L it resampled (enough to run it again with ``seed``), and its
    result."""

    created_ts: int
    source: dict[str, Any]
    trades: int
    days: tuple[tuple[float, ...], ...]
    result: ChallengeResult
    wall_s: float
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rules(self) -> ChallengeRules:
        return self.result.rules


@dataclass(frozen=True, slots=True)
class ChallengeSummary:
    run_id: int
    created_ts: int
    name: str
    source: dict[str, Any]
    trades: int
    paths: int
    seed: int | None
    pass_probability: float
    fail_daily_probability: float
    fail_max_probability: float
    timeout_probability: float


def save_challenge(store: Store, run: ChallengeRun) -> int:
    result = run.result
    values = {
        "created_ts": run.created_ts, "name": result.rules.name,
        "rules": _dumps(result.rules.as_dict()), "source": _dumps(run.source),
        "trades": run.trades, "days": json.dumps([list(d) for d in run.days]),
        "paths": result.paths, "seed": result.seed,
        "pass_probability": result.pass_probability,
        "fail_daily_probability": result.fail_daily_probability,
        "fail_max_probability": result.fail_max_probability,
        "timeout_probability": result.timeout_probability,
        "days_to_pass": json.dumps(result.days_to_pass.tolist()),
        "sample_paths": json.dumps(result.sample_paths.tolist(), allow_nan=True),
        "wall_s": run.wall_s}
    names, marks = ", ".join(_CHALLENGE_COLUMNS), ", ".join(f":{c}" for c in _CHALLENGE_COLUMNS)
    with store.transaction() as conn:
        run_id = conn.execute(text(f"INSERT INTO challenge_runs ({names}) VALUES ({marks})"),
                              values).lastrowid
    assert run_id is not None
    return int(run_id)


def list_challenges(store: Store) -> list[ChallengeSummary]:
    with store.transaction() as conn:
        rows = conn.execute(text(
            "SELECT id, created_ts, name, source, trades, paths, seed, pass_probability, "
            "fail_daily_probability, fail_max_probability, timeout_probability FROM "
            "challenge_runs ORDER BY id DESC")).all()
    return [ChallengeSummary(row.id, row.created_ts, row.name, json.loads(row.source),
                             row.trades, row.paths, row.seed, row.pass_probability,
                             row.fail_daily_probability, row.fail_max_probability,
                             row.timeout_probability) for row in rows]


def load_challenge(store: Store, run_id: int) -> ChallengeRun:
    with store.transaction() as conn:
        row = conn.execute(text(f"SELECT id, {', '.join(_CHALLENGE_COLUMNS)} FROM "
                                "challenge_runs WHERE id = :id"), {"id": run_id}).one_or_none()
    if row is None:
        raise StoreError(f"no challenge run {run_id} in {store.path.name}")
    try:
        rules = ChallengeRules(**json.loads(row.rules))
        days = tuple(tuple(float(v) for v in d) for d in json.loads(row.days))
        result = ChallengeResult(
            rules, row.paths, row.seed, len(days), row.pass_probability,
            row.fail_daily_probability, row.fail_max_probability, row.timeout_probability,
            np.array(json.loads(row.days_to_pass), dtype=np.int64),
            np.array(json.loads(row.sample_paths), dtype=np.float64).reshape(
                -1, rules.max_days + 1))
        return ChallengeRun(row.created_ts, json.loads(row.source), row.trades, days, result,
                            row.wall_s, row.id)
    except (TypeError, ValueError, KeyError) as exc:
        raise StoreError(f"challenge run {run_id} in {store.path.name} cannot be read "
                         f"({type(exc).__name__}: {exc})") from None


def delete_challenge(store: Store, run_id: int) -> None:
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM challenge_runs WHERE id = :id"), {"id": run_id})


def journal_trades(store: Store, account: str) -> list[TradeRecord]:
    """Every finished trade of ``account`` in the live journal, in the order they closed."""
    with store.transaction() as conn:
        rows = conn.execute(text(
            "SELECT trade_id, data FROM trades WHERE account = :a AND status = 'closed' "
            "ORDER BY updated_ts, rowid"), {"a": account}).all()
    trades = []
    for row in rows:
        try:
            fields: Mapping[str, Any] = json.loads(row.data)
            trades.append(TradeRecord(**{name: fields[name] for name in TradeRecord.__slots__
                                         if name in fields}))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"journal trade {row.trade_id} of account {account} cannot be "
                             f"read ({type(exc).__name__}: {exc})") from None
    return trades
