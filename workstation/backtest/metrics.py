"""Performance figures of an equity curve and its trades (backtests now, the live journal later).

Pure numpy/pandas: no Qt, no engine objects beyond ``TradeRecord``. Conventions:

Trading day
    A trading day ends at 17:00 America/New_York, the paper account's day roll
    (``workstation.portfolio.next_day_roll``). A bar closing at or before 17:00 New York
    time on date D belongs to day D; a bar closing after it belongs to D + 1 (calendar
    day, weekends included: a Sunday-evening futures bar belongs to Monday). The rule is
    on the New York wall clock, so it holds across daylight-saving changes. Day closes
    are indexed by tz-naive midnight dates (a ``DatetimeIndex`` named ``day``); days
    without bars are absent.
Daily returns
    The equity at each trading day's close over the previous day's close; the first
    day's return is against the starting cash.
Returns-based figures (empyrical-reloaded's conventions)
    Daily returns, 252 periods a year, risk-free rate 0, sample standard deviation
    (ddof 1).
    ``total_return`` = final equity / starting cash - 1.
    ``cagr`` = (final day close / starting cash) ** (252 / trading days) - 1.
    ``annual_volatility`` = std(daily returns) * sqrt(252).
    ``sharpe`` = mean(daily returns) / std(daily returns) * sqrt(252).
    ``sortino`` = mean(daily returns) * 252 / (sqrt(mean(min(r, 0) ** 2)) * sqrt(252)),
    the downside deviation averaging over every day, not only losing ones.
    ``calmar`` = cagr / abs(max_drawdown).
Drawdowns
    Fractions, zero or negative (empyrical's sign: -0.12 is a 12 % drawdown), measured
    from a running peak that starts at the starting cash. ``max_drawdown`` uses the daily
    closes (as empyrical does); ``max_drawdown_intraday`` the bar-level equity curve, so
    it is at least as deep. ``max_drawdown_duration_days`` is the deepest daily drawdown's
    length in calendar days: from the last close at its peak (the starting cash counts as
    the close of the day before the first trading day) to the first close back at or above
    that peak, or to the last day if it never recovered; 0 without a drawdown.
Trades
    A trade's net P&L is ``realized_pnl - commission`` (``TradeRecord.realized_pnl`` is
    gross). A trade wins when its net P&L is above 0 and loses when below; a trade at
    exactly 0 is neither but counts in ``trades`` and ``win_rate``'s denominator, and
    breaks both streaks. ``profit_factor`` = sum of net wins / |sum of net losses|.
    ``expectancy`` = mean net P&L per trade (money). ``avg_loss`` and ``largest_loss`` are
    negative. Streaks follow exit time. R figures are the tracker's: price moves over the
    initial stop distance, before commission (``expectancy_r`` = mean R multiple,
    ``avg_mae_r`` is negative); trades without an R are left out of them.
    ``avg_trade_duration_s`` is entry to exit in seconds.
Other
    ``exposure`` is passed in by whoever saw the run (the backtest: the share of the
    tested time with a trade open); ``commission`` is the account's total when given,
    else the trades' sum.
Undefined figures
    Every figure is a finite float, an int, or None: None where a figure is undefined
    (no trades, fewer than two days for a standard deviation, zero dispersion, no losing
    day for Sortino, no losing trade for profit factor, no drawdown for Calmar), where
    empyrical would give NaN or inf. A standard deviation under 1e-12 of the largest
    absolute daily return is float noise around a constant return and counts as zero
    (empyrical divides by it and reports a Sharpe near 1e15).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from workstation.trades import TradeRecord

PERIODS_PER_YEAR = 252
NEW_YORK = "America/New_York"
DAY_ROLL_HOUR = 17  # workstation.portfolio.DAY_ROLL, on the New York wall clock
R_EDGE_TOLERANCE = 1e-9  # an R this close below a histogram edge counts as on it
NOISE_FLOOR = 1e-12  # a standard deviation below this fraction of the largest |return| is 0

METRICS: dict[str, tuple[str, str]] = {
    "net_profit": ("Net profit", "money"),
    "total_return": ("Total return", "percent"),
    "cagr": ("CAGR", "percent"),
    "annual_volatility": ("Annual volatility", "percent"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "percent"),
    "max_drawdown_intraday": ("Max drawdown (intraday)", "percent"),
    "max_drawdown_duration_days": ("Max drawdown duration", "days"),
    "trades": ("Trades", "count"),
    "win_rate": ("Win rate", "percent"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy", "money"),
    "expectancy_r": ("Expectancy (R)", "r"),
    "avg_win": ("Average win", "money"),
    "avg_loss": ("Average loss", "money"),
    "largest_win": ("Largest win", "money"),
    "largest_loss": ("Largest loss", "money"),
    "max_consecutive_wins": ("Max consecutive wins", "count"),
    "max_consecutive_losses": ("Max consecutive losses", "count"),
    "exposure": ("Exposure", "percent"),
    "avg_mfe_r": ("Average MFE (R)", "r"),
    "avg_mae_r": ("Average MAE (R)", "r"),
    "commission": ("Commission paid", "money"),
    "avg_trade_duration_s": ("Average trade duration", "seconds"),
    "trading_days": ("Trading days", "count"),
    "final_equity": ("Final equity", "money"),
}

Metrics = dict[str, float | int | None]


# -- days and returns ------------------------------------------------------------------------
def trading_day_closes(equity: pd.Series) -> pd.Series:
    """The last equity of each trading day, indexed by the day (tz-naive midnight dates).

    ``equity`` is indexed by tz-aware bar-close times; see the module docstring for the rule.
    """
    index = equity.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("equity must be indexed by a tz-aware DatetimeIndex of bar closes")
    if not index.is_monotonic_increasing:
        equity = equity.sort_index(kind="stable")
        index = equity.index
    if len(equity) == 0:
        return pd.Series([], index=pd.DatetimeIndex([], name="day"), dtype="float64")
    # The day of a close is the date of the first 17:00 New York roll at or after it. The
    # rolls of the range are few: finding them, then one searchsorted over the closes,
    # keeps a million-bar curve from being converted time zone and all (100+ MB).
    closes_ns = index.as_unit("ns").asi8
    first = (index[0].tz_convert(NEW_YORK).normalize().tz_localize(None)
             - pd.Timedelta(days=1))
    last_day = index[-1].tz_convert(NEW_YORK).tz_localize(None).normalize() + pd.Timedelta(
        days=1)
    dates = pd.date_range(first, last_day, freq="D")
    rolls = ((dates + pd.Timedelta(hours=DAY_ROLL_HOUR)).tz_localize(NEW_YORK)
             .tz_convert("UTC").as_unit("ns").asi8)
    day_index = np.searchsorted(rolls, closes_ns, side="left")
    last = np.flatnonzero(np.append(day_index[1:] != day_index[:-1], True))
    values = np.asarray(equity.to_numpy(dtype="float64")[last])
    return pd.Series(values, index=pd.DatetimeIndex(dates[day_index[last]], name="day"),
                     dtype="float64")


def daily_returns(day_closes: pd.Series, starting_cash: float) -> pd.Series:
    """Each day's return on the previous day's close (the first day's on ``starting_cash``)."""
    values = day_closes.to_numpy(dtype="float64")
    previous = np.concatenate(([float(starting_cash)], values[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = values / previous - 1.0
    return pd.Series(returns, index=day_closes.index, dtype="float64")


# -- returns-based figures (empyrical's conventions) ----------------------------------------
def _std(returns: np.ndarray) -> float:
    """The sample standard deviation; 0 when it is only float noise around a constant return
    (+1 % every day computed from equities), where a ratio over it would be about 1e15."""
    std = float(np.std(returns, ddof=1))
    return 0.0 if std <= NOISE_FLOOR * float(np.max(np.abs(returns))) else std


def _annual_volatility(returns: np.ndarray) -> float | None:
    return _std(returns) * math.sqrt(PERIODS_PER_YEAR) if len(returns) >= 2 else None


def _sharpe(returns: np.ndarray) -> float | None:
    std = _std(returns) if len(returns) >= 2 else 0.0
    return float(np.mean(returns)) / std * math.sqrt(PERIODS_PER_YEAR) if std else None


def _sortino(returns: np.ndarray) -> float | None:
    if len(returns) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.square(np.minimum(returns, 0.0)))))
    if downside == 0.0:
        return None
    return float(np.mean(returns) * PERIODS_PER_YEAR / (downside * math.sqrt(PERIODS_PER_YEAR)))


def _cagr(returns: np.ndarray) -> float | None:
    if len(returns) == 0:
        return None
    growth = float(np.prod(returns + 1.0))
    if growth < 0:
        return None  # a negative ending value has no real root
    return growth ** (PERIODS_PER_YEAR / len(returns)) - 1.0


def _drawdowns(values: np.ndarray, starting_cash: float) -> np.ndarray:
    """Each value's drawdown from the running peak, the starting cash as the first peak."""
    peaks = np.maximum.accumulate(np.concatenate(([starting_cash], values)))[1:]
    return (values - peaks) / peaks


def _drawdown_duration_days(day_closes: pd.Series, starting_cash: float) -> int | None:
    if len(day_closes) == 0:
        return None
    values = np.concatenate(([starting_cash], day_closes.to_numpy(dtype="float64")))
    dates = day_closes.index.insert(0, day_closes.index[0] - pd.Timedelta(days=1))
    peaks = np.maximum.accumulate(values)
    drawdown = (values - peaks) / peaks
    trough = int(np.argmin(drawdown))
    if drawdown[trough] >= 0:
        return 0
    peak = int(np.flatnonzero(values[: trough + 1] == peaks[trough])[-1])
    recovered = np.flatnonzero(values[trough:] >= peaks[trough])
    end = trough + int(recovered[0]) if len(recovered) else len(values) - 1
    return int((dates[end] - dates[peak]).days)


# -- trade figures ---------------------------------------------------------------------------
def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _streaks(nets: Sequence[float]) -> tuple[int, int]:
    """The longest runs of winning and of losing trades."""
    best_win = best_loss = win = loss = 0
    for net in nets:
        win = win + 1 if net > 0 else 0
        loss = loss + 1 if net < 0 else 0
        best_win, best_loss = max(best_win, win), max(best_loss, loss)
    return best_win, best_loss


def _trade_metrics(trades: Sequence[TradeRecord]) -> Metrics:
    ordered = sorted(trades, key=lambda t: (t.exit_ts, t.entry_ts))
    nets = [t.realized_pnl - t.commission for t in ordered]
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    streak_wins, streak_losses = _streaks(nets)
    r_values = [t.r_multiple for t in ordered if t.r_multiple is not None]
    return {
        "trades": len(ordered),
        "win_rate": len(wins) / len(nets) if nets else None,
        "profit_factor": sum(wins) / -sum(losses) if losses else None,
        "expectancy": _mean(nets),
        "expectancy_r": _mean(r_values),
        "avg_win": _mean(wins),
        "avg_loss": _mean(losses),
        "largest_win": max(wins) if wins else None,
        "largest_loss": min(losses) if losses else None,
        "max_consecutive_wins": streak_wins,
        "max_consecutive_losses": streak_losses,
        "avg_mfe_r": _mean([t.mfe_r for t in ordered if t.mfe_r is not None]),
        "avg_mae_r": _mean([t.mae_r for t in ordered if t.mae_r is not None]),
        "avg_trade_duration_s": _mean([t.duration_s for t in ordered]),
    }


def _finite(value: float | int | None) -> float | int | None:
    """Plain Python numbers, None for anything undefined (NaN, inf)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


# -- the figures -----------------------------------------------------------------------------
def compute_metrics(equity: pd.Series, trades: Sequence[TradeRecord], *, starting_cash: float,
                    exposure: float, commission_paid: float | None = None) -> Metrics:
    """Every figure in ``METRICS`` (same keys, same order) for a bar-level equity curve."""
    if not (math.isfinite(starting_cash) and starting_cash > 0):
        raise ValueError(f"starting cash must be a positive amount, not {starting_cash!r}")
    closes = trading_day_closes(equity)
    returns = daily_returns(closes, starting_cash).to_numpy()
    bar_values = equity.to_numpy(dtype="float64")
    final = float(bar_values[-1]) if len(bar_values) else float(starting_cash)
    max_dd = float(_drawdowns(closes.to_numpy(dtype="float64"), starting_cash).min()) \
        if len(closes) else None
    intraday = float(_drawdowns(bar_values, starting_cash).min()) if len(bar_values) else None
    cagr = _cagr(returns)
    figures: Metrics = {
        "net_profit": final - starting_cash,
        "total_return": final / starting_cash - 1.0,
        "cagr": cagr,
        "annual_volatility": _annual_volatility(returns),
        "sharpe": _sharpe(returns),
        "sortino": _sortino(returns),
        "calmar": cagr / -max_dd if cagr is not None and max_dd is not None and max_dd < 0
        else None,
        "max_drawdown": max_dd,
        "max_drawdown_intraday": intraday,
        "max_drawdown_duration_days": _drawdown_duration_days(closes, starting_cash),
        **_trade_metrics(trades),
        "exposure": exposure,
        "commission": commission_paid if commission_paid is not None
        else sum((t.commission for t in trades), 0.0),
        "trading_days": len(closes),
        "final_equity": final,
    }
    return {key: _finite(figures[key]) for key in METRICS}


# -- tables ----------------------------------------------------------------------------------
def monthly_returns(day_closes: pd.Series, starting_cash: float) -> pd.DataFrame:
    """Each month's return (rows: years; columns 1..12, then ``"year"`` for the whole year).

    A month's return is its last close over the previous month's last close (the first
    month's over ``starting_cash``); the same for years. Months without trading days are NaN.
    """
    columns: list[int | str] = [*range(1, 13), "year"]
    if len(day_closes) == 0:
        return pd.DataFrame(columns=columns, dtype="float64")
    index = day_closes.index
    month_end = day_closes.groupby([index.year, index.month]).last()
    month_ret = month_end / np.concatenate(([starting_cash], month_end.to_numpy()[:-1])) - 1.0
    year_end = day_closes.groupby(index.year).last()
    year_ret = year_end / np.concatenate(([starting_cash], year_end.to_numpy()[:-1])) - 1.0
    table = month_ret.unstack().reindex(columns=range(1, 13))
    table["year"] = year_ret
    table.index.name = None
    table.columns = columns
    return table.astype("float64")


def r_histogram(trades: Sequence[TradeRecord],
                bin_width: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Trades per R-multiple bin, as ``np.histogram`` gives them: ``(counts, edges)``.

    Bins are ``[k * bin_width, (k + 1) * bin_width)`` covering every trade that has an R,
    empty bins between included; both arrays are empty when no trade has an R.
    """
    if not bin_width > 0:
        raise ValueError(f"the R histogram's bin width must be positive, not {bin_width!r}")
    r_values = np.array([t.r_multiple for t in trades if t.r_multiple is not None], dtype=float)
    if len(r_values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    bins = np.floor(r_values / bin_width + R_EDGE_TOLERANCE).astype(np.int64)
    low = int(bins.min())
    counts = np.bincount(bins - low).astype(np.int64)
    edges = (np.arange(len(counts) + 1) + low) * bin_width
    return counts, edges


# -- display ---------------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{seconds:.2f}s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def format_metric(key: str, value: float | int | None) -> str:
    """``value`` as the dock, the command line and the HTML report show it ("—" for None)."""
    kind = METRICS[key][1]
    if value is None:
        return "—"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "percent":
        return f"{value * 100:.2f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "days":
        return f"{int(value)} day" if int(value) == 1 else f"{int(value)} days"
    if kind == "seconds":
        return _duration(float(value))
    return f"{value:.2f}R"
