"""The odds of passing a prop-firm evaluation with a strategy's trades: a Monte Carlo
that resamples the trade record by day.

The trades (of a backtest, a walk-forward's out-of-sample, or the journal) are grouped
by trading day (their exit's day, the 17:00 New York roll of ``backtest.metrics``). A
simulated evaluation draws one of those days at random (with replacement, seeded) for
each of its days and replays that day's trades in order; so a day's trades stay
together and the days' order is what varies. Every simulated day is a trading day.

The rules are the risk gate's prop-firm presets (``risk.rules.prop_defaults``: one
source of truth for the FTMO-style / Topstep-style / intraday-trailing numbers):

- daily loss: the day's starting balance minus equity reaches the limit;
- max loss, ``static`` (FTMO-style): the initial balance minus equity reaches it;
- max loss, ``eod`` trailing (Topstep-style): equity at or below a threshold of the
  highest end-of-day balance minus the amount, moved at each day's end and locked at the
  initial balance; ``intraday`` trailing: the same from the highest equity seen;
- passed: at a day's end the profit reaches the target and at least the minimum number
  of days was traded; ``timeout``: neither passed nor failed within ``max_days``.

Equity is seen at each trade's exit: a swing inside an open trade is not, so limits
hit only by open P&L are missed (the odds are optimistic by that much). When a day
breaks both loss rules at the same trade, it counts as a daily-loss failure.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.config import ConfigError
from workstation.risk.rules import prop_defaults
from workstation.risk.settings import PropFirm
from workstation.trades import TradeRecord

STYLES = {"ftmo": "static", "topstep": "eod", "intraday_trailing": "intraday"}
TRAILING = ("static", "eod", "intraday")
CHUNK = 20_000  # paths evaluated at once (memory: CHUNK x trades a day x 8 bytes)
MAX_EXACT = 1_000_000  # sequences an exact enumeration may have
RUNNING, PASSED, FAILED_DAILY, FAILED_MAX = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class ChallengeRules:
    account_size: float
    profit_target: float
    daily_loss: float | None = None
    max_loss: float | None = None
    trailing: str = "static"  # how max loss is measured: static, eod or intraday
    min_trading_days: int = 0
    max_days: int = 60  # the evaluation's length in trading days
    name: str = "custom"

    def __post_init__(self) -> None:
        if not self.account_size > 0:
            raise ConfigError(f"account size {self.account_size:g}: must be positive")
        if not self.profit_target > 0:
            raise ConfigError(f"profit target {self.profit_target:g}: must be positive")
        for label, value in (("daily loss", self.daily_loss), ("max loss", self.max_loss)):
            if value is not None and not value > 0:
                raise ConfigError(f"{label} {value:g}: must be positive")
        if self.trailing not in TRAILING:
            raise ConfigError(f"trailing {self.trailing!r}: use one of {', '.join(TRAILING)}")
        if not 1 <= self.max_days <= 1_000:
            raise ConfigError(f"max days {self.max_days}: between 1 and 1000")
        if self.min_trading_days < 0:
            raise ConfigError(f"min trading days {self.min_trading_days}: 0 or more")

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def preset_rules(style: str, account_size: float, **overrides: Any) -> ChallengeRules:
    """The risk gate's preset for ``style`` and account size; ``overrides`` (not None)
    win."""
    if style not in STYLES:
        raise ConfigError(f"preset {style!r}: use one of {', '.join(STYLES)}")
    prop = prop_defaults(PropFirm(style=style, account_size=account_size))
    values: dict[str, Any] = {
        "account_size": float(account_size), "profit_target": prop.profit_target,
        "daily_loss": prop.daily_loss, "max_loss": prop.max_loss,
        "trailing": STYLES[style], "min_trading_days": prop.min_trading_days or 0,
        "name": f"{style} {account_size:,.0f}"}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ChallengeRules(**values)


def trade_days(trades: Sequence[TradeRecord]) -> list[list[float]]:
    """Net P&L of each trade, grouped by its exit's trading day, days and trades in order."""
    import pandas as pd

    from workstation.backtest.metrics import DAY_ROLL_HOUR, NEW_YORK

    if not trades:
        return []
    ordered = sorted(trades, key=lambda t: (t.exit_ts, t.entry_ts))
    local = pd.DatetimeIndex(pd.to_datetime([t.exit_ts for t in ordered], utc=True)) \
        .tz_convert(NEW_YORK)
    roll = local.normalize() + pd.Timedelta(hours=DAY_ROLL_HOUR)
    days = local.normalize().tz_localize(None) + pd.to_timedelta(
        np.where(local > roll, 1, 0), unit="D")
    grouped: dict[Any, list[float]] = {}
    for day, trade in zip(days, ordered, strict=True):
        grouped.setdefault(day, []).append(trade.realized_pnl - trade.commission)
    return [grouped[day] for day in sorted(grouped)]


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    rules: ChallengeRules
    paths: int
    seed: int | None  # None: every sequence enumerated (exact)
    history_days: int
    pass_probability: float
    fail_daily_probability: float
    fail_max_probability: float
    timeout_probability: float
    days_to_pass: np.ndarray  # count of paths passing on day 1..max_days
    sample_paths: np.ndarray  # (k, max_days + 1) end-of-day balances; NaN once ended

    def days_to_pass_stats(self) -> dict[str, float | None]:
        days = np.arange(1, len(self.days_to_pass) + 1)
        total = int(self.days_to_pass.sum())
        if not total:
            return {"mean": None, "p10": None, "median": None, "p90": None}
        cumulative = np.cumsum(self.days_to_pass) / total

        def quantile(q: float) -> float:
            return float(days[np.searchsorted(cumulative, q - 1e-12)])

        return {"mean": float((days * self.days_to_pass).sum() / total), "p10": quantile(0.1),
                "median": quantile(0.5), "p90": quantile(0.9)}

    def as_dict(self) -> dict[str, Any]:
        return {"rules": self.rules.as_dict(), "paths": self.paths, "seed": self.seed,
                "history_days": self.history_days, "pass_probability": self.pass_probability,
                "fail_daily_probability": self.fail_daily_probability,
                "fail_max_probability": self.fail_max_probability,
                "timeout_probability": self.timeout_probability,
                "days_to_pass": {"counts": self.days_to_pass.tolist(),
                                 **self.days_to_pass_stats()},
                "sample_paths": [[None if np.isnan(v) else float(v) for v in row]
                                 for row in self.sample_paths]}


def _evaluate(pnl: np.ndarray, picks: np.ndarray,
              rules: ChallengeRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each path's status, the day it ended (0: never) and its end-of-day balances. Each
    day works on the paths still running only."""
    n, horizon = picks.shape
    initial = rules.account_size
    amount = rules.max_loss or 0.0
    balance = np.full(n, initial)
    high = np.full(n, initial)  # intraday: highest equity; eod: highest day-end balance
    status = np.zeros(n, dtype=np.int8)
    ended = np.zeros(n, dtype=np.int32)
    curve = np.full((n, horizon + 1), np.nan)
    curve[:, 0] = initial
    live = np.arange(n)
    for day in range(horizon):
        if not len(live):
            break
        start = balance[live]
        equity = start[:, None] + np.cumsum(pnl[picks[live, day]], axis=1)
        breach_daily = (start[:, None] - equity >= rules.daily_loss) if rules.daily_loss \
            else np.zeros(equity.shape, dtype=bool)
        if not rules.max_loss:
            breach_max = np.zeros(equity.shape, dtype=bool)
        elif rules.trailing == "static":
            breach_max = initial - equity >= amount
        elif rules.trailing == "eod":
            threshold = np.minimum(initial, high[live] - amount)
            breach_max = equity <= threshold[:, None]
        else:
            peaks = np.maximum(np.maximum.accumulate(equity, axis=1), high[live][:, None])
            breach_max = equity <= np.minimum(initial, peaks - amount)
        breach = breach_daily | breach_max
        failed = breach.any(axis=1)
        at = np.argmax(breach, axis=1)
        rows = np.arange(len(live))
        close = np.where(failed, equity[rows, at], equity[:, -1])
        balance[live] = close
        curve[live, day + 1] = close
        if rules.trailing == "intraday":
            high[live] = np.maximum(high[live], equity.max(axis=1))
        elif rules.trailing == "eod":
            high[live] = np.maximum(high[live], close)
        passed = ~failed & (close - initial >= rules.profit_target) & \
            (day + 1 >= rules.min_trading_days)
        status[live[failed]] = np.where(breach_daily[rows, at], FAILED_DAILY,
                                        FAILED_MAX)[failed]
        status[live[passed]] = PASSED
        ended[live[failed | passed]] = day + 1
        live = live[~(failed | passed)]
    return status, ended, curve


def simulate(days: Sequence[Sequence[float]], rules: ChallengeRules, *, paths: int = 10_000,
             seed: int = 0, samples: int = 20, exact: bool = False) -> ChallengeResult:
    """``paths`` evaluations of ``rules`` on ``days`` (each a day's trade P&Ls), or with
    ``exact`` every possible sequence of days once (len(days) ** max_days of them)."""
    if not days or not any(len(d) for d in days):
        raise ConfigError("no trades to simulate the challenge with")
    width = max(len(d) for d in days)
    pnl = np.zeros((len(days), width))
    for row, day in enumerate(days):
        pnl[row, : len(day)] = day
    if exact:
        count = len(days) ** rules.max_days
        if count > MAX_EXACT:
            raise ConfigError(f"exact enumeration of {count:,} sequences: too many "
                              f"(at most {MAX_EXACT:,})")
        chunks = [np.array(list(itertools.product(range(len(days)), repeat=rules.max_days)),
                           dtype=np.int64)]
        paths = count
    else:
        if paths < 1:
            raise ConfigError(f"paths {paths}: must be at least 1")
        rng = np.random.default_rng(seed)
        chunks = [rng.integers(0, len(days), size=(min(CHUNK, paths - start), rules.max_days))
                  for start in range(0, paths, CHUNK)]
    counts = np.zeros(4, dtype=np.int64)
    to_pass = np.zeros(rules.max_days, dtype=np.int64)
    sample_rows = []
    for picks in chunks:
        status, ended, curve = _evaluate(pnl, picks, rules)
        counts += np.bincount(status, minlength=4)
        to_pass += np.bincount(ended[status == PASSED] - 1, minlength=rules.max_days)
        if sum(len(s) for s in sample_rows) < samples:
            sample_rows.append(curve[: samples - sum(len(s) for s in sample_rows)])
    share = counts / paths
    return ChallengeResult(
        rules, paths, None if exact else seed, len(days), float(share[PASSED]),
        float(share[FAILED_DAILY]), float(share[FAILED_MAX]), float(share[RUNNING]), to_pass,
        np.concatenate(sample_rows) if sample_rows else np.empty((0, rules.max_days + 1)))
