"""Walk-forward analysis: optimise on an in-sample window, trade the chosen parameters on
the out-of-sample window after it, move on, and stitch the out-of-sample results.

Windows are counted in trading days (sessions of the first symbol's calendar) or, with
``unit="bars"``, in bars of the first symbol's series (a window then runs from one bar's
open to the open of the bar after its last; its days are the New York dates, 17:00 roll,
of its first and last bars). Rolling windows keep the in-sample length; anchored ones all
start at the first day (bar) and grow by the step. Only whole windows are used: the days
(bars) after the last full out-of-sample window are left out. Every run (in-sample trial
or out-of-sample) starts with a fresh account, flat, its indicators warming up inside its
own window; all of them slice one copy of the bars (generated history is the same bars
whichever window reads it).

Figures:
``annualised return`` of a run = net profit / starting cash * 252 / its trading days
(simple, not compounded: windows are short).
``walk-forward efficiency`` = the stitched out-of-sample annualised return over the mean
of the in-sample best trials' annualised returns; None when that mean is not positive.
``parameter stability``, per numeric parameter: the mean absolute change of the chosen
value from one window to the next, and that change over the parameter's searched span
(0: the same choice every window; 1: jumping end to end each time).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workstation.backtest.data import DataProblem, sessions_between
from workstation.backtest.metrics import PERIODS_PER_YEAR
from workstation.backtest.run import BacktestRun
from workstation.optimize.grid import Grid
from workstation.optimize.objective import Constraints
from workstation.optimize.pool import Runner, TrialJob, TrialTask
from workstation.optimize.search import Progress, SearchResult, run_search
from workstation.trades import TradeRecord


@dataclass(frozen=True, slots=True)
class Window:
    """Indices into the trading days: in-sample ``[is_start, is_end)``, out-of-sample
    ``[is_end, oos_end)``."""

    index: int
    is_start: int
    is_end: int
    oos_end: int


UNITS = ("days", "bars")


def plan_windows(days: int, in_days: int, out_days: int, step: int | None = None, *,
                 anchored: bool = False, unit: str = "days") -> list[Window]:
    """The windows over ``days`` trading days (or bars, with ``unit="bars"``); ``step``
    defaults to ``out_days`` (the out-of-sample windows then tile without overlap)."""
    step = out_days if step is None else step
    short = "days" if unit == "days" else "bars"
    for name, value in ((f"in-sample {short}", in_days), (f"out-of-sample {short}", out_days),
                        ("step", step)):
        if value < 1:
            raise DataProblem(f"walk-forward {name} {value}: must be at least 1")
    if in_days + out_days > days:
        what = "trading days" if unit == "days" else "bars"
        raise DataProblem(f"walk-forward window of {in_days} + {out_days} {what} is "
                          f"longer than the data ({days} {what})")
    windows = []
    is_end = in_days
    while is_end + out_days <= days:
        start = 0 if anchored else is_end - in_days
        windows.append(Window(len(windows), start, is_end, is_end + out_days))
        is_end += step
    return windows


def annualised(metrics: dict[str, Any] | None, cash: float) -> float | None:
    if not metrics or not metrics.get("trading_days"):
        return None
    return float(metrics["net_profit"]) / cash * PERIODS_PER_YEAR / int(metrics["trading_days"])


@dataclass(slots=True)
class WindowResult:
    window: Window
    is_first: date
    is_last: date
    oos_first: date
    oos_last: date
    search: SearchResult
    oos: BacktestRun | None = None
    oos_error: str | None = None

    @property
    def params(self) -> dict[str, Any] | None:
        best = self.search.best
        return best.params if best else None

    def as_dict(self, cash: float) -> dict[str, Any]:
        best = self.search.best
        return {"index": self.window.index, "in_sample": [self.is_first.isoformat(),
                                                          self.is_last.isoformat()],
                "out_of_sample": [self.oos_first.isoformat(), self.oos_last.isoformat()],
                "params": self.params, "is_metrics": best.metrics if best else None,
                "is_annualised": annualised(best.metrics if best else None, cash),
                "oos_metrics": self.oos.metrics if self.oos else None,
                "oos_annualised": annualised(self.oos.metrics if self.oos else None, cash),
                "oos_error": self.oos_error,
                "trials": len(self.search.trials)}


@dataclass(slots=True)
class WalkForwardResult:
    anchored: bool
    starting_cash: float
    windows: list[WindowResult] = field(default_factory=list)
    unit: str = "days"
    varied: dict[str, tuple[float, float]] = field(default_factory=dict)  # numeric spans

    @property
    def trades(self) -> list[TradeRecord]:
        """Every out-of-sample trade, in window order."""
        return [t for w in self.windows if w.oos for t in w.oos.trades]

    @property
    def daily_equity(self) -> list[tuple[str, float]]:
        """The stitched out-of-sample curve: each day's P&L from its window's run, added up
        from the starting cash."""
        equity, curve = self.starting_cash, []
        for w in self.windows:
            if w.oos is None:
                continue
            before = w.oos.settings.starting_cash
            for day, value in w.oos.daily:
                equity += value - before
                before = value
                curve.append((day, equity))
        return curve

    @property
    def oos_net_profit(self) -> float:
        return sum(float(w.oos.metrics["net_profit"]) for w in self.windows if w.oos)

    def oos_annualised(self) -> float | None:
        days = sum(int(w.oos.metrics["trading_days"] or 0) for w in self.windows if w.oos)
        if not days:
            return None
        return self.oos_net_profit / self.starting_cash * PERIODS_PER_YEAR / days

    def is_annualised(self) -> float | None:
        values = [annualised(w.search.best.metrics, self.starting_cash)
                  for w in self.windows if w.search.best is not None]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    def efficiency(self) -> float | None:
        oos, is_ = self.oos_annualised(), self.is_annualised()
        if oos is None or is_ is None or is_ <= 0:
            return None
        return oos / is_

    def stability(self) -> dict[str, dict[str, float | None]]:
        chosen = [w.params for w in self.windows if w.params is not None]
        figures: dict[str, dict[str, float | None]] = {}
        for name, (low, high) in self.varied.items():
            values = [float(p[name]) for p in chosen]
            steps = [abs(b - a) for a, b in itertools.pairwise(values)]
            mean = sum(steps) / len(steps) if steps else None
            span = high - low
            figures[name] = {"mean_change": mean,
                             "relative_change": None if mean is None
                             else (mean / span if span else 0.0)}
        return figures

    def as_dict(self) -> dict[str, Any]:
        from workstation.backtest.report import trade_as_dict

        return {"anchored": self.anchored, "unit": self.unit,
                "starting_cash": self.starting_cash,
                "windows": [w.as_dict(self.starting_cash) for w in self.windows],
                "oos_net_profit": self.oos_net_profit,
                "oos_annualised": self.oos_annualised(),
                "is_annualised": self.is_annualised(),
                "walk_forward_efficiency": self.efficiency(),
                "parameter_stability": self.stability(),
                "daily": {"day": [d for d, _ in self.daily_equity],
                          "equity": [e for _, e in self.daily_equity]},
                "trades": [trade_as_dict(t) for t in self.trades]}


def trading_day(ts: int) -> date:
    """The trading day a bar opening at ``ts`` belongs to: its New York date, moved to the
    next day from 17:00 (the roll of ``backtest.metrics``)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from workstation.backtest.metrics import DAY_ROLL_HOUR, NEW_YORK

    local = datetime.fromtimestamp(ts / 1e9, UTC).astimezone(ZoneInfo(NEW_YORK))
    return local.date() + timedelta(days=1) if local.hour >= DAY_ROLL_HOUR else local.date()


@dataclass(frozen=True, slots=True)
class Span:
    """A window's time range ``[start, end)`` in ns and its first and last trading days."""

    start: int
    end: int
    first: date
    last: date


def window_spans(job: TrialJob, unit: str) -> tuple[int, Callable[[int, int], Span]]:
    """How many units the data has, and the span of units ``[a, b)``."""
    if unit not in UNITS:
        raise DataProblem(f"walk-forward unit {unit!r}: use days or bars")
    if unit == "bars":
        from workstation.optimize.pool import load_series

        ts = load_series(job)[0].ts
        count = len(ts)

        def bar_span(a: int, b: int) -> Span:
            end = int(ts[b]) if b < count else int(ts[-1]) + 1
            return Span(int(ts[a]), end, trading_day(int(ts[a])), trading_day(int(ts[b - 1])))

        return count, bar_span
    instrument = job.settings.instrument_map().get(job.instance.symbols[0])
    if instrument is None:
        raise DataProblem(f"unknown instrument {job.instance.symbols[0]}")
    sessions = sessions_between(instrument.schedule, job.first, job.last)

    def day_span(a: int, b: int) -> Span:
        return Span(sessions[a].open_ns, sessions[b - 1].close_ns, sessions[a].day,
                    sessions[b - 1].day)

    return len(sessions), day_span


def run_walkforward(runner: Runner, job: TrialJob, grid: Grid, objective: str,
                    constraints: Constraints, *, in_days: int, out_days: int,
                    step: int | None = None, anchored: bool = False, method: str = "grid",
                    trials: int = 100, seed: int = 0, unit: str = "days",
                    progress: Progress | None = None) -> WalkForwardResult:
    """Optimise each in-sample window on ``runner``, then run every window's choice out of
    sample (all out-of-sample runs together, in parallel). With ``unit="bars"`` the
    lengths are bars, not trading days."""
    count, span_of = window_spans(job, unit)
    windows = plan_windows(count, in_days, out_days, step, anchored=anchored, unit=unit)
    per_window = grid.size if method == "grid" else trials
    total = per_window * len(windows)
    result = WalkForwardResult(anchored, job.options.starting_cash,
                               varied={r.name: (float(min(r.values)), float(max(r.values)))
                                       for r in grid.ranges if r.numeric}, unit=unit)
    oos_spans = {}
    for window in windows:
        def step_progress(done: int, _total: int, best: Any, trial: Any,
                          base: int = window.index) -> None:
            if progress is not None:
                progress(base * per_window + done, total, best, trial)

        in_sample = span_of(window.is_start, window.is_end)
        out_of_sample = span_of(window.is_end, window.oos_end)
        oos_spans[window.index] = (out_of_sample.start, out_of_sample.end)
        search = run_search(runner, grid, objective, constraints, method=method,
                            trials=trials, seed=seed, window=(in_sample.start, in_sample.end),
                            progress=step_progress)
        result.windows.append(WindowResult(window, in_sample.first, in_sample.last,
                                           out_of_sample.first, out_of_sample.last, search))
    tasks = [TrialTask(w.window.index, w.params, oos_spans[w.window.index], keep_run=True)
             for w in result.windows if w.params is not None]
    for outcome in runner.map(tasks):
        window_result = result.windows[outcome.number]
        window_result.oos, window_result.oos_error = outcome.run, outcome.error
    return result
