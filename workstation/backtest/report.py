"""A finished backtest written out: JSON (everything), trades CSV, and one HTML file.

The HTML report is self-contained so it opens offline and can be mailed as is: styles
inline, charts drawn here as inline SVG from the run's own data, no scripts, no fonts,
no links. Every text that came from outside (strategy names, parameters, symbols,
problems) is made storable and HTML-escaped. Times are UTC throughout.

Files are written whole (to a temporary name, then renamed), so a failed export never
leaves half a report where an older one was.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workstation.backtest.metrics import METRICS, format_metric, monthly_returns, r_histogram
from workstation.backtest.run import BacktestRun
from workstation.text import storable
from workstation.trades import TradeRecord

REPORT_FORMAT = "bracket-backtest"
REPORT_VERSION = 1
CSV_COLUMNS = ("trade_id", "symbol", "side", "qty", "entry_time", "exit_time", "entry", "exit",
               "stop", "target", "r_multiple", "mfe_r", "mae_r", "mfe_points", "mae_points",
               "gross_pnl", "commission", "net_pnl", "exit_reason", "duration_s",
               "break_even_time", "source", "signal_id")
SIGNED = ("net_profit", "total_return", "cagr", "expectancy", "expectancy_r")  # green or red
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- plain data ----------------------------------------------------------------------------
def iso_utc(ns: int) -> str:
    """``ns`` (UTC nanoseconds) as ISO 8601 with its offset, nanoseconds kept when present."""
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it: numpy scalars as Python numbers, tuples as lists, NaN and
    inf as None, text storable, anything else as its text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return storable(str(value))


def net_pnl(trade: TradeRecord) -> float:
    return trade.realized_pnl - trade.commission


def trade_as_dict(trade: TradeRecord) -> dict[str, Any]:
    """A trade's fields, plus its times in ISO, its net P&L and its duration."""
    row = _plain(trade.as_dict())
    row.update(entry_time=iso_utc(trade.entry_ts), exit_time=iso_utc(trade.exit_ts),
               break_even_time=None if trade.break_even_ts is None
               else iso_utc(trade.break_even_ts),
               net_pnl=net_pnl(trade), duration_s=trade.duration_s)
    return row


def run_as_dict(run: BacktestRun) -> dict[str, Any]:
    """Everything a run holds, JSON-ready: trades as dicts, curves as lists, ISO UTC times."""
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "run_id": run.run_id,
        "title": _plain(run.title), "strategy": _plain(run.strategy),
        "strategy_version": _plain(run.strategy_version), "file_hash": run.file_hash,
        "params": _plain(run.params), "symbols": _plain(run.symbols),
        "timeframe": _plain(run.timeframe), "source": _plain(run.source),
        "start": iso_utc(run.start_ns), "end": iso_utc(run.end_ns),
        "start_ns": int(run.start_ns), "end_ns": int(run.end_ns),
        "settings": _plain(run.settings.as_dict()), "metrics": _plain(run.metrics),
        "bars": int(run.bars), "wall_s": float(run.wall_s), "problems": _plain(run.problems),
        "created": iso_utc(run.created_ts) if run.created_ts else None,
        "trades": [trade_as_dict(t) for t in run.trades],
        "curve": {"time": [iso_utc(ts) for ts in run.curve_ts],
                  "equity": _plain(np.asarray(run.curve_equity, dtype="float64"))},
        "daily": {"day": [day for day, _ in run.daily],
                  "equity": [_plain(equity) for _, equity in run.daily]},
        "extra": _plain(run.extra),
    }


# -- writing -------------------------------------------------------------------------------
def _write_whole(path: str | os.PathLike[str], text: str) -> None:
    """``text`` to ``path`` in UTF-8 through a temporary file in the same folder."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.part")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(run: BacktestRun, path: str | os.PathLike[str]) -> None:
    _write_whole(path, json.dumps(run_as_dict(run), indent=1, allow_nan=False) + "\n")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def write_trades_csv(run: BacktestRun, path: str | os.PathLike[str]) -> None:
    """One row per trade with a header; times ISO UTC, numbers as Python prints them
    (they read back exactly), empty where a value is absent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for trade in run.trades:
        row = trade_as_dict(trade)
        row.update(gross_pnl=row["realized_pnl"])
        writer.writerow([_cell(row[name]) for name in CSV_COLUMNS])
    _write_whole(path, buffer.getvalue())


def write_html(run: BacktestRun, path: str | os.PathLike[str]) -> None:
    _write_whole(path, render_html(run))


# -- SVG charts ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Frame:
    """A chart's size in SVG pixels and the margins around its plot area."""

    width: int
    height: int
    left: int = 80
    right: int = 16
    top: int = 12
    bottom: int = 28

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, value: float, low: float, high: float) -> float:
        """Where ``value`` falls across the plot, ``low`` at its left (times are int ns: the
        differences are taken before anything is multiplied, so nothing overflows)."""
        span = float(high - low)
        return self.left + (float(value - low) / span * self.plot_w if span else self.plot_w / 2)

    def y(self, value: float, low: float, high: float) -> float:
        span = float(high - low)
        return self.top + (float(high - value) / span * self.plot_h if span else self.plot_h / 2)


EQUITY_FRAME = Frame(960, 280)
DRAWDOWN_FRAME = Frame(960, 130)
HISTOGRAM_FRAME = Frame(470, 260, left=48)
SCATTER_FRAME = Frame(470, 260, left=48)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values inside ``[low, high]`` for axis labels."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _points(xs: Iterable[float], ys: Iterable[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def _svg(frame: Frame, label: str, body: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {frame.width} {frame.height}" role="img" '
            f'aria-label="{_e(label)}">' + "".join(body) + "</svg>")


def _y_axis(frame: Frame, low: float, high: float, text: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in _nice_ticks(low, high):
        y = frame.y(tick, low, high)
        parts.append(f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/><text class="label" x="{frame.left - 6}" '
                     f'y="{y + 4:.1f}" text-anchor="end">{_e(text(tick))}</text>')
    return parts


def _time_axis(frame: Frame, first: int, last: int) -> list[str]:
    if last <= first:
        return []
    span_days = (last - first) / 86_400e9
    shown = "%Y-%m-%d" if span_days > 3 else "%m-%d %H:%M"
    parts = []
    for i in range(6):
        ts = first + (last - first) * i // 5
        x = frame.x(ts, first, last)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        label = pd.Timestamp(ts, unit="ns", tz="UTC").strftime(shown)
        parts.append(f'<text class="label" x="{x:.1f}" y="{frame.height - 8}" '
                     f'text-anchor="{anchor}">{label}</text>')
    return parts


def _money_label(value: float) -> str:
    return f"{value:,.0f}"


def equity_svg(run: BacktestRun) -> str:
    """The equity curve over time, the starting cash dashed."""
    ts = np.asarray(run.curve_ts, dtype=np.int64)
    equity = np.asarray(run.curve_equity, dtype="float64")
    if len(ts) == 0:
        return '<p class="empty">No equity curve.</p>'
    cash = run.settings.starting_cash
    low, high = min(float(equity.min()), cash), max(float(equity.max()), cash)
    first, last = int(ts[0]), int(ts[-1])
    f = EQUITY_FRAME
    cash_y = f.y(cash, low, high)
    body = [*_y_axis(f, low, high, _money_label), *_time_axis(f, first, last),
            f'<line class="cash" x1="{f.left}" x2="{f.width - f.right}" y1="{cash_y:.1f}" '
            f'y2="{cash_y:.1f}"/>',
            f'<polyline id="equity-line" class="equity" points="'
            f'{_points((f.x(t, first, last) for t in ts), (f.y(v, low, high) for v in equity))}'
            f'"/>']
    return _svg(f, "Equity curve", body)


def drawdown_svg(run: BacktestRun) -> str:
    """The drawdown under the equity curve: a fraction of the running peak (the starting
    cash is the first peak), as the metrics measure it."""
    ts = np.asarray(run.curve_ts, dtype=np.int64)
    equity = np.asarray(run.curve_equity, dtype="float64")
    if len(ts) == 0:
        return ""
    peaks = np.maximum.accumulate(np.maximum(equity, run.settings.starting_cash))
    drawdown = equity / peaks - 1.0
    low = min(float(drawdown.min()), -1e-6)
    first, last = int(ts[0]), int(ts[-1])
    f = DRAWDOWN_FRAME
    xs = [f.x(t, first, last) for t in ts]
    ys = [f.y(d, low, 0.0) for d in drawdown]
    zero = f.y(0.0, low, 0.0)
    outline = f"{xs[0]:.1f},{zero:.1f} {_points(xs, ys)} {xs[-1]:.1f},{zero:.1f}"
    body = [*_y_axis(f, low, 0.0, lambda v: f"{v * 100:.1f}%"), *_time_axis(f, first, last),
            f'<polygon id="drawdown-area" class="drawdown" points="{outline}"/>']
    return _svg(f, "Drawdown", body)


def _r_label(value: float) -> str:
    return f"{value:+g}R" if value else "0R"


def r_histogram_svg(trades: Sequence[TradeRecord]) -> str:
    counts, edges = r_histogram(trades)
    if len(counts) == 0:
        return '<p class="empty">No trade has an R (no initial stop).</p>'
    f = HISTOGRAM_FRAME
    low, high = float(edges[0]), float(edges[-1])
    top = max(int(counts.max()), 1)
    body = _y_axis(f, 0.0, float(top), lambda v: f"{v:g}")
    for count, left, right in zip(counts, edges[:-1], edges[1:], strict=True):
        x0, x1 = f.x(left, low, high), f.x(right, low, high)
        y = f.y(float(count), 0.0, float(top))
        kind = "up" if left >= 0 else "down"
        body.append(f'<rect class="{kind}" x="{x0 + 1:.1f}" y="{y:.1f}" '
                    f'width="{max(x1 - x0 - 2, 1):.1f}" height="{f.top + f.plot_h - y:.1f}">'
                    f"<title>{_r_label(left)} to {_r_label(right)}: {count}</title></rect>")
    for tick in _nice_ticks(low, high, 8):
        body.append(f'<text class="label" x="{f.x(tick, low, high):.1f}" y="{f.height - 8}" '
                    f'text-anchor="middle">{_r_label(tick)}</text>')
    return _svg(f, "R-multiple histogram", body)


def excursion_svg(trades: Sequence[TradeRecord]) -> str:
    """Each trade's MAE (x, in R, negative) against its MFE (y, in R); winners green."""
    points = [t for t in trades if t.mfe_r is not None and t.mae_r is not None]
    if not points:
        return '<p class="empty">No trade has an R (no initial stop).</p>'
    f = SCATTER_FRAME
    x_low = min(min(t.mae_r for t in points if t.mae_r is not None), -1.0) * 1.05
    y_high = max(max(t.mfe_r for t in points if t.mfe_r is not None), 1.0) * 1.05
    body = _y_axis(f, 0.0, y_high, _r_label)
    for tick in _nice_ticks(x_low, 0.0, 4):
        body.append(f'<text class="label" x="{f.x(tick, x_low, 0.0):.1f}" y="{f.height - 8}" '
                    f'text-anchor="middle">{_r_label(tick)}</text>')
    for t in points:
        kind = "up" if net_pnl(t) > 0 else "down"
        body.append(f'<circle class="{kind}" cx="{f.x(t.mae_r or 0.0, x_low, 0.0):.1f}" '
                    f'cy="{f.y(t.mfe_r or 0.0, 0.0, y_high):.1f}" r="4"><title>{_e(t.trade_id)}: '
                    f"MFE {t.mfe_r:+.2f}R, MAE {t.mae_r:+.2f}R</title></circle>")
    return _svg(f, "MFE against MAE in R", body)


# -- HTML ----------------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(storable(str(text)))


def _number(value: float | None, decimals: int = 2) -> str:
    return "" if value is None else f"{value:,.{decimals}f}"


def _price(value: float | None) -> str:
    """A price with the decimals it needs (2 to 6)."""
    if value is None:
        return ""
    text = f"{value:,.6f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.split(".")[1]))


def _time(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def _rows(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def _tested_html(run: BacktestRun) -> str:
    settings = run.settings.as_dict()
    if settings.get("commission") is None:
        settings["commission"] = "paper account default"
    what = [("Strategy", f"{run.strategy} {run.strategy_version}"),
            ("File hash", f"{run.file_hash[:12]}…" if run.file_hash else "—"),
            ("Symbols", ", ".join(run.symbols)), ("Timeframe", run.timeframe),
            ("Data", f"{run.source}: {_time(run.start_ns)} to {_time(run.end_ns)} UTC"),
            ("Bars", f"{run.bars:,}"), ("Run time", f"{run.wall_s:.2f} s")]
    parts = [f'<table class="facts">{_rows(what)}</table>',
             '<table class="facts"><tr><th colspan="2">Parameters</th></tr>'
             f"{_rows(sorted(run.params.items())) or '<tr><td>none</td></tr>'}</table>",
             '<table class="facts"><tr><th colspan="2">Settings</th></tr>'
             f"{_rows((k.replace('_', ' ').capitalize(), v) for k, v in settings.items())}"
             "</table>"]
    if run.problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in run.problems)
        parts.append(f'<div class="problems"><strong>Problems</strong><ul>{items}</ul></div>')
    return '<div class="tested">' + "".join(parts) + "</div>"


def _metrics_html(run: BacktestRun) -> str:
    cells = []
    for key, (label, _) in METRICS.items():
        value = run.metrics.get(key)
        sign = ""
        if key in SIGNED and isinstance(value, (int, float)):
            sign = " pos" if value > 0 else " neg" if value < 0 else ""
        cells.append(f'<div class="metric"><span class="name">{_e(label)}</span>'
                     f'<span class="value{sign}">{_e(format_metric(key, value))}</span></div>')
    return '<div class="metrics">' + "".join(cells) + "</div>"


def _monthly_html(run: BacktestRun) -> str:
    closes = pd.Series([equity for _, equity in run.daily], dtype="float64",
                       index=pd.DatetimeIndex([day for day, _ in run.daily], name="day"))
    table = monthly_returns(closes, run.settings.starting_cash)
    if table.empty:
        return '<p class="empty">No trading days.</p>'
    head = "".join(f"<th>{m}</th>" for m in (*MONTHS, "Year"))
    rows = []
    for year, values in table.iterrows():
        cells = []
        for value in values:
            if math.isnan(value):
                cells.append("<td></td>")
                continue
            alpha = 0.15 + 0.5 * min(abs(value) / 0.1, 1.0)
            colour = "34, 160, 90" if value >= 0 else "214, 69, 65"
            cells.append(f'<td style="background: rgba({colour}, {alpha:.2f})">'
                         f"{value * 100:.2f}%</td>")
        rows.append(f"<tr><th>{year}</th>{''.join(cells)}</tr>")
    return (f'<table class="monthly"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _trades_html(run: BacktestRun) -> str:
    if not run.trades:
        return '<p class="empty">No trades.</p>'
    head = "".join(f"<th>{h}</th>" for h in (
        "#", "Trade", "Symbol", "Side", "Qty", "Entry time", "Entry", "Exit time", "Exit",
        "Stop", "Target", "R", "MFE R", "MAE R", "Gross", "Commission", "Net", "Exit reason",
        "Held"))
    rows = []
    for number, t in enumerate(run.trades, 1):
        net = net_pnl(t)
        cells = [str(number), _e(t.trade_id), _e(t.symbol), _e(t.side), f"{t.qty:g}",
                 _time(t.entry_ts), _price(t.entry), _time(t.exit_ts), _price(t.exit),
                 _price(t.stop), _price(t.target), _number(t.r_multiple), _number(t.mfe_r),
                 _number(t.mae_r), _number(t.realized_pnl), _number(t.commission),
                 f'<span class="{"pos" if net > 0 else "neg" if net < 0 else ""}">'
                 f"{_number(net)}</span>", _e(t.exit_reason),
                 _e(format_metric("avg_trade_duration_s", t.duration_s))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<table class="trades"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


STYLE = """
:root { color-scheme: light dark; --fg: #1d2330; --bg: #ffffff; --muted: #6b7280;
  --line: #d6dae1; --panel: #f5f6f8; --up: #1f9d57; --down: #d64541; --accent: #2f6fdf; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e3e6eb; --bg: #16191f; --muted: #9aa3b1; --line: #343a45; --panel: #1f232b;
    --up: #3cc47c; --down: #f0625d; --accent: #6a9cf5; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { font-weight: 600; }
.tested { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.facts th, .facts td { text-align: left; }
.facts th { color: var(--muted); font-weight: 500; }
.problems { border-left: 3px solid var(--down); padding: 4px 12px; background: var(--panel); }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
  gap: 6px; }
.metric { display: flex; justify-content: space-between; background: var(--panel);
  padding: 6px 10px; border-radius: 4px; }
.metric .name { color: var(--muted); }
.value { font-weight: 600; font-variant-numeric: tabular-nums; }
.pos { color: var(--up); } .neg { color: var(--down); }
.chart { width: 100%; height: auto; display: block; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid { stroke: var(--line); stroke-width: 1; }
.label { fill: var(--muted); font-size: 11px; }
.equity { fill: none; stroke: var(--accent); stroke-width: 1.5; }
.cash { stroke: var(--muted); stroke-dasharray: 4 4; }
.drawdown { fill: var(--down); fill-opacity: 0.35; stroke: var(--down); stroke-width: 1; }
rect.up, circle.up { fill: var(--up); } rect.down, circle.down { fill: var(--down); }
circle { fill-opacity: 0.75; }
.monthly td { min-width: 52px; }
.scroll { overflow-x: auto; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); margin-top: 32px; font-size: 12px; }
"""


def render_html(run: BacktestRun) -> str:
    """The report as one HTML document (see the module docstring)."""
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Backtest: {_e(run.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Backtest: {_e(run.title)}</h1>",
        f'<p class="sub">{_e(run.source)} · {_time(run.start_ns)} to {_time(run.end_ns)} UTC'
        f"{f' · run {run.run_id}' if run.run_id is not None else ''}</p>",
        "<h2>What was tested</h2>", _tested_html(run),
        "<h2>Figures</h2>", _metrics_html(run),
        "<h2>Equity and drawdown</h2>", equity_svg(run), drawdown_svg(run),
        '<div class="pair"><div><h2>R multiples</h2>', r_histogram_svg(run.trades),
        "</div><div><h2>MFE against MAE (R)</h2>", excursion_svg(run.trades), "</div></div>",
        "<h2>Monthly returns</h2>", f'<div class="scroll">{_monthly_html(run)}</div>',
        f"<h2>Trades ({len(run.trades)})</h2>", f'<div class="scroll">{_trades_html(run)}</div>',
        "<footer>Bracket backtest report. Times are UTC; trading days end at 17:00 New York."
        "</footer></body></html>\n",
    ])
