"""The selected signal's mini chart: confirmation-timeframe candles from a few bars
before the signal bar through the latest, the signal and confirmation bars shaded,
the pivot that set the stop marked, and the setup's entry (dashed blue), stop (red)
and targets (green) as labelled lines. A view only: it draws what it is given."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui import theme
from ui.models.signals_model import gate_color, gate_text
from ui.panels.chart import TimeAxis
from ui.panels.chart_items import CandlestickItem
from workstation.model import Bar, Direction
from workstation.signals.lifecycle import SignalRecord

BARS_BEFORE = 10
MAX_BARS = 120  # a signal waiting long still shows its signal bar, but not a day of bars
SIGNAL_FILL = QColor(245, 158, 11, 45)  # amber: where the idea came from
CONFIRM_FILL = QColor(59, 130, 246, 55)  # blue: the bar that agreed with it
TARGET = QColor("#4ade80")
LABEL_ROOM_BARS = 6  # empty bars right of the newest one, where the line labels sit


def _line(color: QColor, style: Qt.PenStyle) -> pg.InfiniteLine:
    """A price level labelled at the right edge (the chart leaves room there)."""
    line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(color, width=1, style=style),
                           label="", labelOpts={"position": 0.99, "color": color,
                                                "fill": theme.PANEL,
                                                "anchors": [(1, 0.5), (1, 0.5)]})
    line.setVisible(False)
    return line


def _region(color: QColor) -> pg.LinearRegionItem:
    region = pg.LinearRegionItem(values=(0, 1), movable=False, brush=pg.mkBrush(color),
                                 pen=pg.mkPen(color.lighter(150), width=1))
    region.setZValue(-10)
    region.setVisible(False)
    return region


class SignalChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signalChart")
        self.record: SignalRecord | None = None
        self.bars: list[Bar] = []
        self._decimals = 2
        self.title = QLabel(self)
        self.title.setObjectName("signalChartTitle")
        self.title.setStyleSheet(f"color: {theme.MUTED.name()}; padding: 2px 6px; "
                                 "font-size: 9pt")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.axis = TimeAxis()
        self.plot = pg.PlotWidget(self, axisItems={"bottom": self.axis})
        self.plot.setObjectName("signalChartPlot")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.showAxis("right")
        item.hideAxis("left")
        item.getAxis("right").setWidth(64)
        self.signal_region = _region(SIGNAL_FILL)
        self.confirm_region = _region(CONFIRM_FILL)
        self.candles = CandlestickItem()
        self.pivot = pg.TextItem("▲", color=theme.WARN, anchor=(0.5, 0))
        self.pivot_price: float | None = None  # the pivot's low (long) or high (short)
        self.signal_label = pg.TextItem("S", color=theme.WARN, anchor=(0.5, 1))
        self.confirm_label = pg.TextItem("C", color=theme.ACCENT, anchor=(0.5, 1))
        self.entry_line = _line(theme.ACCENT, Qt.PenStyle.DashLine)
        self.stop_line = _line(theme.DOWN, Qt.PenStyle.SolidLine)
        self.price_line = _line(theme.MUTED, Qt.PenStyle.DotLine)  # before a setup
        self.target_lines: list[pg.InfiniteLine] = []
        for region in (self.signal_region, self.confirm_region):
            item.addItem(region, ignoreBounds=True)
        item.addItem(self.candles)
        self.pivot.setVisible(False)
        item.addItem(self.pivot, ignoreBounds=True)
        for label in (self.signal_label, self.confirm_label):
            label.setVisible(False)
            item.addItem(label, ignoreBounds=True)
        for line in (self.entry_line, self.stop_line, self.price_line):
            item.addItem(line, ignoreBounds=True)
        self.empty = pg.TextItem("Select a signal", color=theme.MUTED, anchor=(0.5, 0.5))
        item.addItem(self.empty, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        self.clear()

    # -- drawing ---------------------------------------------------------------------------
    def clear(self) -> None:
        self.record = None
        self.bars = []
        empty = np.zeros(0)
        self.candles.set_data(empty, empty, empty, empty, empty)
        self._hide_pivot()
        for item in (self.signal_region, self.confirm_region, self.signal_label,
                     self.confirm_label, self.entry_line, self.stop_line, self.price_line):
            item.setVisible(False)
        self._set_targets([])
        self.title.setText("")
        self.axis.set_times(np.zeros(0, dtype=np.int64))
        self.empty.setVisible(True)
        self.empty.setPos(0.5, 0.5)
        self.plot.getPlotItem().getAxis("right").setStyle(showValues=False)  # no 0..1 scale
        self.plot.getPlotItem().setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def show_signal(self, record: SignalRecord, history: list[Bar], decimals: int) -> None:
        """Draw ``record`` over ``history`` (its symbol's confirmation bars, oldest first)."""
        self.record = record
        self._decimals = decimals
        bars = self._window(record, history)
        self.bars = bars
        self.empty.setVisible(not bars)
        self.plot.getPlotItem().getAxis("right").setStyle(showValues=True)
        x = np.arange(len(bars), dtype=float)
        columns = np.array([(b.open, b.high, b.low, b.close) for b in bars],
                           dtype=float).reshape(-1, 4)
        self.candles.set_data(x, columns[:, 0], columns[:, 1], columns[:, 2], columns[:, 3])
        self.axis.set_times(np.array([b.ts for b in bars], dtype=np.int64))
        position = {bar.ts: i for i, bar in enumerate(bars)}
        signal, setup = record.signal, record.setup
        self._mark(self.signal_region, self.signal_label, bars,
                   position.get(signal.bar.ts) if signal.bar is not None else None)
        confirm_ts = (setup.confirm_bar_ts if setup is not None else
                      record.confirm_bar.ts if record.confirm_bar is not None else None)
        self._mark(self.confirm_region, self.confirm_label, bars,
                   position.get(confirm_ts) if confirm_ts is not None else None)
        self._draw_pivot(record, bars, position)
        d = decimals
        if setup is not None:
            mark = "~" if setup.entry_kind == "next_open" else "@"
            self._set(self.entry_line, setup.entry, f"entry {mark}{setup.entry:,.{d}f}")
            self._set(self.stop_line, setup.stop,
                      f"stop {setup.stop:,.{d}f}  (1R {setup.risk_points:,.{d}f})")
            self._set_targets([(t, f"{r:g}R {t:,.{d}f}")
                               for r, t in zip(setup.target_r, setup.targets, strict=True)])
            self.price_line.setVisible(False)
        else:
            self.entry_line.setVisible(False)
            self.stop_line.setVisible(False)
            self._set_targets([])
            if signal.price is not None:
                self._set(self.price_line, signal.price, f"signal {signal.price:,.{d}f}")
            else:
                self.price_line.setVisible(False)
        self.title.setText(self._title(record, bars))
        self._fit(bars, columns)

    def _title(self, record: SignalRecord, bars: list[Bar]) -> str:
        """One line: the signal, and its setup in numbers (the table may be scrolled away
        from them) with the gate's word in its color, or its state before a setup."""
        signal, setup = record.signal, record.setup
        color = theme.UP if signal.direction is Direction.LONG else theme.DOWN
        head = (f"<b style='color:{theme.NEUTRAL.name()}'>{signal.symbol}</b> "
                f"<span style='color:{color.name()}'>{signal.direction.value}</span> "
                f"{record.id}")
        if setup is None:
            return (f"{head} · {record.state.value.replace('_', ' ')}"
                    + (f" · {bars[0].timeframe}" if bars else " · no bars yet"))
        gate = record.gate_verdict
        hue = gate_color(gate)
        gate_html = (f" · gate <span style='color:{hue.name()}'>{gate_text(gate)}</span>"
                     if hue is not None else "")
        return f"{head} · size {setup.qty:g} · risk {setup.risk_money:,.2f}{gate_html}"

    def _window(self, record: SignalRecord, history: list[Bar]) -> list[Bar]:
        """From BARS_BEFORE bars before the signal bar (or the signal) to the latest."""
        if not history:
            return []
        anchor = record.signal.bar.ts if record.signal.bar is not None else record.signal.ts
        first = next((i for i, bar in enumerate(history) if bar.ts >= anchor), len(history))
        start = max(0, first - BARS_BEFORE)
        end = len(history)
        setup = record.setup
        if not record.state.terminal or setup is None:
            return history[max(start, end - MAX_BARS):]
        return history[start:min(end, start + MAX_BARS)]

    def _mark(self, region: pg.LinearRegionItem, label: pg.TextItem, bars: list[Bar],
              index: int | None) -> None:
        """Shade bar ``index`` and letter it just above its high."""
        shown = index is not None
        region.setVisible(shown)
        label.setVisible(shown)
        if index is not None:
            region.setRegion((index - 0.45, index + 0.45))
            label.setPos(index, bars[index].high)

    def _hide_pivot(self) -> None:
        self.pivot.setVisible(False)
        self.pivot_price = None

    def _draw_pivot(self, record: SignalRecord, bars: list[Bar],
                    position: dict[int, int]) -> None:
        setup = record.setup
        index = position.get(setup.pivot_bar_ts) if setup is not None else None
        if setup is None or index is None:
            self._hide_pivot()
            return
        bar = bars[index]
        long = setup.direction is Direction.LONG
        price = bar.low if long else bar.high
        # an arrow just under the low (long) or over the high (short), pointing at it
        self.pivot.setText("▲" if long else "▼")
        self.pivot.setAnchor((0.5, 0) if long else (0.5, 1))
        self.pivot.setPos(float(index), price)
        self.pivot.setToolTip(f"pivot {'low' if long else 'high'} "
                              f"{price:,.{self._decimals}f}: "
                              f"{setup.stop_rule.replace('_', ' ')}")
        self.pivot.setVisible(True)
        self.pivot_price = price

    def _set(self, line: pg.InfiniteLine, value: float, text: str) -> None:
        line.setVisible(True)  # first: a hidden label ignores a new text
        line.setValue(value)
        line.label.setFormat(text)

    def _set_targets(self, targets: list[tuple[float, str]]) -> None:
        item = self.plot.getPlotItem()
        while len(self.target_lines) > len(targets):
            item.removeItem(self.target_lines.pop())
        while len(self.target_lines) < len(targets):
            line = _line(TARGET, Qt.PenStyle.SolidLine)
            self.target_lines.append(line)
            item.addItem(line, ignoreBounds=True)
        for line, (value, text) in zip(self.target_lines, targets, strict=True):
            self._set(line, value, text)

    def _fit(self, bars: list[Bar], columns: np.ndarray) -> None:
        """Bars, entry and stop in view, and the first target (further ones may lie off
        the top: their labels say where)."""
        lows = [float(columns[:, 2].min())] if bars else []
        highs = [float(columns[:, 1].max())] if bars else []
        levels = [line.value() for line in (self.entry_line, self.stop_line, self.price_line)
                  if line.isVisible()]
        if self.target_lines:
            levels.append(self.target_lines[0].value())
        values = [float(v) for v in levels] + lows + highs
        if not values:
            return
        low, high = min(values), max(values)
        pad = max((high - low) * 0.08, 10 ** -self._decimals * 4)
        # room on the right for the line labels
        right = len(bars) + max(LABEL_ROOM_BARS, len(bars) * 0.5)
        self.plot.getPlotItem().setRange(xRange=(-1, right), yRange=(low - pad, high + pad),
                                         padding=0)
        if not bars:
            self.empty.setPos(0, (low + high) / 2)
