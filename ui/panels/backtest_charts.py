"""The Backtest dock's pyqtgraph charts: the equity curve with its drawdown under it (a
time axis in exchange time), the MFE/MAE scatter in R, the R-multiple histogram, and the
small window that puts one trade on a chart.

Drawdown here is the display's: equity over its running peak (the starting cash the first
peak), in percent, on the stored curve (downsampled, each bucket keeping its low and high).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from ui import fmt, theme
from ui.panels.chart import CandlestickItem, TimeAxis
from workstation.backtest.metrics import r_histogram
from workstation.model import NS_PER_SECOND, Bar
from workstation.trades import TradeRecord

R_BIN = 0.5
MARKER_SIZE = 8


def exchange_offset(ns: int) -> int:
    """Seconds west of UTC of New York time at ``ns`` (pyqtgraph's ``utcOffset`` sign)."""
    moment = datetime.fromtimestamp(ns / NS_PER_SECOND, tz=UTC).astimezone(fmt.DISPLAY_ZONE)
    offset = moment.utcoffset()
    return -int(offset.total_seconds()) if offset is not None else 0


def drawdown_percent(equity: np.ndarray, starting_cash: float) -> np.ndarray:
    """Each point's drawdown from the running peak (the starting cash the first), in %."""
    if len(equity) == 0:
        return np.zeros(0)
    peaks = np.maximum.accumulate(np.concatenate(([starting_cash], equity)))[1:]
    return (equity / peaks - 1.0) * 100.0


class ValueAxis(pg.AxisItem):
    """Money and counts read with thousands separators (100,000 not 100000), with just
    the decimals the tick spacing needs (-2.5, not pyqtgraph's -2), and never an SI
    multiplier (a drawdown of -0.6 % reads -0.6, not -600 with "x0.001" in the label)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        step = abs(spacing * scale)
        decimals = 0
        while decimals < 8 and step > 0 and abs(step * 10**decimals
                                                - round(step * 10**decimals)) > 1e-6:
            decimals += 1
        return [f"{value * scale:,.{decimals}f}" for value in values]


def _style(plot: pg.PlotItem) -> None:
    plot.setAxisItems({"right": ValueAxis(orientation="right")})
    plot.showGrid(x=True, y=True, alpha=0.12)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    plot.showAxis("right")
    plot.hideAxis("left")
    plot.getAxis("right").setWidth(72)


def _caption(plot: pg.PlotItem, text: str) -> None:
    plot.setTitle(f"<span style='color:{theme.MUTED.name()}; font-size:8pt'>{text}</span>")


class EquityChart(pg.GraphicsLayoutWidget):
    """Equity (above) and drawdown in percent (below), x-linked, on a time axis."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backtestEquity")
        self.time_axis = pg.DateAxisItem(orientation="bottom")
        self.equity_plot = self.addPlot(row=0, col=0)
        self.drawdown_plot = self.addPlot(row=1, col=0, axisItems={"bottom": self.time_axis})
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.equity_plot, self.drawdown_plot):
            _style(plot)
            plot.setMouseEnabled(x=True, y=False)
        self.equity_plot.hideAxis("bottom")
        self.drawdown_plot.setXLink(self.equity_plot)
        self.drawdown_plot.getAxis("right").setLabel("DD %")
        self.equity_line = self.equity_plot.plot(pen=pg.mkPen(theme.ACCENT, width=1.5))
        self.start_line = pg.InfiniteLine(angle=0, movable=False,
                                          pen=pg.mkPen(theme.MUTED, style=Qt.PenStyle.DotLine))
        self.equity_plot.addItem(self.start_line, ignoreBounds=True)
        self.drawdown_line = self.drawdown_plot.plot(
            pen=pg.mkPen(theme.DOWN), fillLevel=0.0, brush=pg.mkBrush(theme.DOWN_FLASH))

    def show_curve(self, ts: np.ndarray, equity: np.ndarray, starting_cash: float) -> None:
        seconds = np.asarray(ts, dtype=np.int64) / NS_PER_SECOND
        values = np.asarray(equity, dtype=float)
        if len(ts):
            self.time_axis.utcOffset = exchange_offset(int(ts[-1]))
        self.equity_line.setData(seconds, values)
        self.drawdown_line.setData(seconds, drawdown_percent(values, starting_cash))
        self.start_line.setValue(starting_cash)
        self.equity_plot.enableAutoRange()
        self.drawdown_plot.enableAutoRange()

    def clear_curve(self) -> None:
        self.equity_line.setData([], [])
        self.drawdown_line.setData([], [])


class ExcursionScatter(pg.PlotWidget):
    """A point per trade with an R: how far it went against (MAE, x) and for it (MFE, y);
    green for a winner, red for a loser."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backtestExcursion")
        plot = self.getPlotItem()
        _style(plot)
        _caption(plot, "MFE / MAE (R)")
        plot.getAxis("bottom").setLabel("MAE R")
        plot.getAxis("right").setLabel("MFE R")
        self.points = pg.ScatterPlotItem(size=MARKER_SIZE, pen=None)
        plot.addItem(self.points)
        self.shown = 0

    def show_trades(self, trades: Sequence[TradeRecord]) -> None:
        usable = [t for t in trades if t.mfe_r is not None and t.mae_r is not None]
        self.shown = len(usable)
        self.points.setData(
            x=[t.mae_r for t in usable], y=[t.mfe_r for t in usable],
            brush=[pg.mkBrush(theme.UP if (t.r_multiple or 0) > 0 else theme.DOWN)
                   for t in usable])
        self.getPlotItem().enableAutoRange()


class RHistogram(pg.PlotWidget):
    """Trades per R-multiple bin (``R_BIN`` wide): green bins at or above 0R, red below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backtestRHistogram")
        plot = self.getPlotItem()
        _style(plot)
        _caption(plot, f"R multiples ({R_BIN:g}R bins)")
        plot.getAxis("right").setLabel("trades")
        plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=R_BIN, height=[])
        plot.addItem(self.bars)
        self.counts = np.zeros(0, dtype=np.int64)
        self.edges = np.zeros(0)

    def show_trades(self, trades: Sequence[TradeRecord]) -> None:
        self.counts, self.edges = r_histogram(trades, R_BIN)
        lefts = self.edges[:-1]
        self.bars.setOpts(x0=lefts, width=R_BIN * 0.9, height=self.counts,
                          brushes=[theme.UP if left >= 0 else theme.DOWN for left in lefts])
        self.getPlotItem().enableAutoRange()


class TradeChartWindow(QDialog):
    """One trade on a chart: its bars when there are some at hand, else the trade's own
    points; entry and exit marked, stop and target as lines over the trade's span."""

    def __init__(self, trade: TradeRecord, bars: Sequence[Bar], decimals: int, note: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backtestTradeChart")
        self.setWindowTitle(f"{trade.side.capitalize()} {trade.symbol} · {trade.trade_id}")
        self.resize(720, 420)
        self.trade = trade
        self.axis = TimeAxis()
        self.graphics = pg.PlotWidget(self, axisItems={"bottom": self.axis})
        plot = self.graphics.getPlotItem()
        _style(plot)
        d = decimals
        self.summary = QLabel(
            f"Entry {fmt.price(trade.entry, d)} at {fmt.local_time(trade.entry_ts, '%m-%d %H:%M')}"
            f"  Exit {fmt.price(trade.exit, d)} at {fmt.local_time(trade.exit_ts, '%m-%d %H:%M')}"
            f"  Stop {fmt.price(trade.stop, d)}  Target {fmt.price(trade.target, d)}"
            f"  R {fmt.r_multiple(trade.r_multiple)}  ({trade.exit_reason.replace('_', '-')})",
            self)
        self.summary.setFont(theme.MONO)
        self.summary.setWordWrap(True)
        self.note = QLabel(note, self)
        self.note.setObjectName("tradeChartNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.MUTED.name()}")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self.bar_count = len(bars)
        if bars:
            times = np.array([b.ts for b in bars], dtype=np.int64)
            x = np.arange(len(bars), dtype=float)
            candles = CandlestickItem()
            candles.set_data(x, *(np.array([getattr(b, f) for b in bars], dtype=float)
                                  for f in ("open", "high", "low", "close")))
            plot.addItem(candles)
            entry_x = float(max(np.searchsorted(times, trade.entry_ts, "right") - 1, 0))
            exit_x = float(max(np.searchsorted(times, trade.exit_ts, "right") - 1, 0))
        else:
            times = np.array([trade.entry_ts, trade.exit_ts], dtype=np.int64)
            entry_x, exit_x = 0.0, 1.0
            plot.plot([entry_x, exit_x], [trade.entry, trade.exit],
                      pen=pg.mkPen(theme.MUTED, style=Qt.PenStyle.DashLine))
        self.axis.set_times(times)
        self._levels(plot, trade, entry_x, exit_x)
        self._markers(plot, trade, entry_x, exit_x)
        plot.enableAutoRange()

    @staticmethod
    def _levels(plot: pg.PlotItem, trade: TradeRecord, entry_x: float, exit_x: float) -> None:
        span = [entry_x - 0.5, exit_x + 0.5]
        for price, color, name in ((trade.stop, theme.DOWN, "stop"),
                                   (trade.target, theme.UP, "target")):
            if price is not None:
                plot.plot(span, [price, price], pen=pg.mkPen(color, width=1.5,
                                                              style=Qt.PenStyle.DashLine),
                          name=name)

    @staticmethod
    def _markers(plot: pg.PlotItem, trade: TradeRecord, entry_x: float, exit_x: float) -> None:
        long = trade.side == "long"
        plot.addItem(pg.ScatterPlotItem(
            [entry_x], [trade.entry], symbol="t1" if long else "t", size=14,
            brush=pg.mkBrush(theme.UP if long else theme.DOWN), pen=pg.mkPen(theme.NEUTRAL)))
        plot.addItem(pg.ScatterPlotItem(
            [exit_x], [trade.exit], symbol="x", size=14, brush=pg.mkBrush(theme.WARN),
            pen=pg.mkPen(theme.WARN)))
