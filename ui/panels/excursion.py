"""The excursion chart: one trade's current P&L, MFE and MAE over its life, in R
when the trade has an initial stop (else in points), with the stop, the target,
the break-even moment and the exit marked. It answers "how far did this trade go
for me and against me, and where did I leave it?"."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui import fmt, theme
from ui.models.trades_model import ClosedTrade
from workstation.model import NS_PER_SECOND, Instrument
from workstation.trades import ActiveTrade

Sample = tuple[int, float, float, float]
EMPTY_TITLE = "Select a trade in Trades to see how far it went for and against you"


class ElapsedAxis(pg.AxisItem):
    """Time since the entry, as m:ss or h:mm:ss."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [fmt.duration(value) for value in values]


def _vertical(color: str, text: str) -> pg.InfiniteLine:
    """Marks a moment; its label sits low, clear of the target label at the top."""
    line = pg.InfiniteLine(angle=90, movable=False,
                           pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                           label=text, labelOpts={"position": 0.04, "color": color,
                                                  "fill": theme.PANEL, "anchors": [(0, 1), (0, 1)]})
    line.setVisible(False)
    return line


def _level(color: str, text: str) -> pg.InfiniteLine:
    line = pg.InfiniteLine(angle=0, movable=False,
                           pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                           label=text, labelOpts={"position": 0.02, "color": color,
                                                  "fill": theme.BACKGROUND,
                                                  "anchors": [(0, 1), (0, 1)]})
    line.setVisible(False)
    return line


class ExcursionChart(QWidget):
    def __init__(self, instruments: dict[str, Instrument], parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self._instruments = instruments
        self.trade_id: str | None = None
        self.units = "R"
        self.break_even_x: float | None = None
        self.exit_x: float | None = None
        self.title = QLabel(EMPTY_TITLE, self)
        self.title.setObjectName("excursionTitle")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setStyleSheet("padding: 2px 6px")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.legend = QLabel(self)
        self.legend.setObjectName("excursionLegend")
        self.legend.setStyleSheet("padding: 0 6px; font-size: 8pt")
        self.legend.setText("  ".join(f"<span style='color:{color.name()}'>━ {name}</span>"
                                      for name, color in (("current", theme.NEUTRAL),
                                                          ("MFE", theme.UP), ("MAE", theme.DOWN),
                                                          ("break-even", theme.WARN))))
        self.plot = pg.PlotWidget(self, axisItems={"bottom": ElapsedAxis()})
        self.plot.setObjectName("excursionPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getAxis("left").setWidth(44)
        self.plot.getPlotItem().setContentsMargins(0, 4, 10, 0)
        self.current = self.plot.plot(pen=pg.mkPen(theme.NEUTRAL, width=2))
        self.mfe = self.plot.plot(pen=pg.mkPen(theme.UP, width=1.5))
        self.mae = self.plot.plot(pen=pg.mkPen(theme.DOWN, width=1.5))
        self.exit_dot = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(theme.NEUTRAL),
                                           pen=pg.mkPen(theme.BACKGROUND))
        self.plot.addItem(self.exit_dot)
        self.zero = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(theme.MUTED, width=1))
        self.stop_level = _level(theme.DOWN.name(), "stop")
        self.target_level = _level(theme.UP.name(), "target")
        self.break_even = _vertical(theme.WARN.name(), "BE")
        self.exit = _vertical(theme.ACCENT.lighter(130).name(), "exit")
        for item in (self.zero, self.stop_level, self.target_level, self.break_even, self.exit):
            self.plot.addItem(item, ignoreBounds=item in (self.break_even, self.exit))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)

    def clear(self) -> None:
        self.trade_id = None
        self.title.setText(EMPTY_TITLE)
        for curve in (self.current, self.mfe, self.mae):
            curve.setData([], [])
        self.exit_dot.setData([], [])
        for line in (self.stop_level, self.target_level, self.break_even, self.exit):
            line.setVisible(False)
        self.break_even_x = self.exit_x = None

    def show_active(self, trade: ActiveTrade, now_ns: int) -> None:
        """The live trade: its samples, then where it stands right now."""
        samples = [*trade.samples, (max(now_ns, trade.entry_ts), trade.current_points,
                                    trade.mfe_points, trade.mae_points)]
        d = self._instruments[trade.symbol].price_decimals
        self._draw(trade.trade_id, samples, trade.entry_ts, trade.r_points, trade.direction,
                   trade.entry, trade.target, trade.break_even_ts, None)
        self._title(trade.trade_id, trade.symbol, trade.side, trade.qty, trade.entry, d,
                    self._scale(trade.r_points, trade.tick_size, d) + " · open")

    def show_closed(self, closed: ClosedTrade) -> None:
        record = closed.record
        inst = self._instruments[record.symbol]
        d = inst.price_decimals
        r = abs(record.entry - record.stop) if record.stop is not None else None
        direction = 1 if record.side == "long" else -1
        self._draw(record.trade_id, list(closed.samples), record.entry_ts, r or None, direction,
                   record.entry, record.target, record.break_even_ts, record.exit_ts)
        result = (f"{record.r_multiple:+.2f}R" if record.r_multiple is not None
                  else fmt.signed_money(record.realized_pnl - record.commission))
        self._title(record.trade_id, record.symbol, record.side, record.qty, record.entry, d,
                    f"exit {record.exit:,.{d}f} by {record.exit_reason.replace('_', '-')} · "
                    f"{result}")

    def _title(self, trade_id: str, symbol: str, side: str, qty: float, entry: float,
               decimals: int, detail: str) -> None:
        color = (theme.UP if side == "long" else theme.DOWN).name()
        self.title.setText(f"<b>{trade_id}</b> {symbol} <span style='color:{color}'>{side} "
                           f"{qty:g}</span> @ {entry:,.{decimals}f}<br>"
                           f"<span style='color:{theme.MUTED.name()}'>{detail}</span>")

    @staticmethod
    def _scale(r: float | None, tick: float, decimals: int) -> str:
        return (f"R = {r:,.{decimals}f} pts ({r / tick:,.0f} ticks)" if r
                else "no stop: in points")

    def _draw(self, trade_id: str, samples: list[Sample], entry_ts: int, r: float | None,
              direction: int, entry: float, target: float | None, break_even_ts: int | None,
              exit_ts: int | None) -> None:
        self.trade_id = trade_id
        scale = r or 1.0
        self.units = "R" if r else "points"
        data = np.array(samples, dtype=float).reshape(-1, 4)
        x = (data[:, 0] - entry_ts) / NS_PER_SECOND
        self.current.setData(x, data[:, 1] / scale)
        self.mfe.setData(x, data[:, 2] / scale)
        self.mae.setData(x, data[:, 3] / scale)
        self.plot.setLabel("left", self.units)
        self.stop_level.setVisible(r is not None)
        if r:
            self.stop_level.setValue(-1.0)
            self.stop_level.label.setFormat("stop -1R")
        if target is not None:
            target_y = (target - entry) * direction / scale
            self.target_level.setValue(target_y)
            self.target_level.label.setFormat(f"target {target_y:+.2f}{self.units[0]}"
                                              if r else "target")
        self.target_level.setVisible(target is not None)
        self.break_even_x = (break_even_ts - entry_ts) / NS_PER_SECOND if break_even_ts else None
        self.exit_x = (exit_ts - entry_ts) / NS_PER_SECOND if exit_ts else None
        for line, value in ((self.break_even, self.break_even_x), (self.exit, self.exit_x)):
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(value)
        if self.exit_x is not None and len(x):
            self.exit_dot.setData([x[-1]], [data[-1, 1] / scale])
        else:
            self.exit_dot.setData([], [])
        self._fit(x, data / np.array([1, scale, scale, scale]), r is not None, target, entry,
                  direction, scale)

    def _fit(self, x: np.ndarray, scaled: np.ndarray, has_r: bool, target: float | None,
             entry: float, direction: int, scale: float) -> None:
        span = float(x[-1]) if len(x) else 0.0
        self.plot.setXRange(0.0, max(span, 1.0) * 1.04, padding=0)
        values = [float(scaled[:, 1:].min()) if len(x) else 0.0,
                  float(scaled[:, 1:].max()) if len(x) else 0.0, 0.0]
        if has_r:
            values.append(-1.0)
        if target is not None:
            values.append((target - entry) * direction / scale)
        low, high = min(values), max(values)
        pad = max((high - low) * 0.12, 0.1)
        self.plot.setYRange(low - pad, high + pad, padding=0)
