"""Strategies' own lines on the chart (``Strategy.plot``): the points the bridge hands over
once a frame are kept per series and line, and the lines of the series on the chart are
drawn at their bars, on the price pane or in a pane of their own below it."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from ui.panels.indicator_panes import Pane
from workstation.plots import PRICE_PANE, PlotPoint
from workstation.text import storable

if TYPE_CHECKING:
    from ui.panels.chart import ChartPanel

COLORS = ("#4fc3f7", "#f472b6", "#a3e635", "#fbbf24", "#c084fc", "#2dd4bf")
MAX_POINTS = 20_000  # per line: the oldest half goes beyond it


@dataclass(slots=True)
class Line:
    pane: str
    color: str
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, ts: int, value: float) -> None:
        """A bar again (an instance restarted replays its warm-up): the line starts over
        from it; the same bar again: its value replaced."""
        if self.ts and ts <= self.ts[-1]:
            if ts == self.ts[-1]:
                self.values[-1] = value
                return
            self.ts.clear()
            self.values.clear()
        self.ts.append(ts)
        self.values.append(value)
        if len(self.ts) > MAX_POINTS:
            del self.ts[:MAX_POINTS // 2]
            del self.values[:MAX_POINTS // 2]


LineKey = tuple[str, str]  # instance id, line name


def named(keys: list[LineKey], lines: dict[LineKey, Line]) -> str:
    """Line names in their colours, as rich text (a plugin's "<" shows as one)."""
    return " · ".join(f"<span style='color:{lines[key].color}'>{html.escape(key[1])}</span>"
                      for key in keys)


class ChartPlots:
    """Every strategy line received, and the items drawing those of the chart's series."""

    def __init__(self, chart: ChartPanel) -> None:
        self.chart = chart
        self.lines: dict[tuple[str, str], dict[LineKey, Line]] = {}  # (symbol, timeframe)
        self.items: dict[LineKey, pg.PlotDataItem] = {}
        self.panes: dict[str, Pane] = {}
        self._shown: tuple[str, str] = ("", "")
        # the price pane's strategy lines named in their colours, top left
        self.legend = pg.LabelItem("", size="8pt", justify="left")
        self.legend.setParentItem(chart.price_plot.getViewBox())
        self.legend.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(4, 0))
        chart.series_shown.connect(self.redraw)

    def add(self, points: Iterable[PlotPoint]) -> None:
        """A frame's points; the chart redraws if any is of its series."""
        series = (self.chart.symbol, self.chart.timeframe)
        touched = False
        for point in points:
            key = (point.symbol, point.timeframe)
            lines = self.lines.setdefault(key, {})
            line = lines.get((point.instance_id, point.name))
            if line is None:
                color = point.color if QColor.isValidColorName(point.color) \
                    else COLORS[len(lines) % len(COLORS)]
                line = lines[(point.instance_id, point.name)] = Line(
                    storable(point.pane) or PRICE_PANE, color)
            line.add(point.ts, point.value)
            touched = touched or key == series
        if touched:
            self.redraw()

    def redraw(self) -> None:
        """Lines of the series on the chart at their bars; another series' items go."""
        series = (self.chart.symbol, self.chart.timeframe)
        if series != self._shown:
            self._clear()
            self._shown = series
        lines = self.lines.get(series, {})
        for key, line in lines.items():
            item = self.items.get(key)
            if item is None:
                item = self.items[key] = self._item(line)
            xs = self.chart.bar_positions(np.array(line.ts, dtype=np.int64))
            ys = np.array(line.values, dtype=float)
            on_chart = xs >= 0
            item.setData(xs[on_chart].astype(float), ys[on_chart])
        for name, pane in self.panes.items():
            mine = [key for key, line in lines.items() if line.pane == name]
            pane.set_lines([self.items[key].getData() for key in mine])
            pane.set_label(f"{html.escape(name)}: {named(mine, lines)}")
        self.legend.setText(named([key for key, line in lines.items()
                                   if line.pane == PRICE_PANE], lines))

    def _item(self, line: Line) -> pg.PlotDataItem:
        item = pg.PlotDataItem(pen=pg.mkPen(QColor(line.color), width=1), connect="finite")
        item.setClipToView(True)
        item.setZValue(4)
        if line.pane == PRICE_PANE:
            self.chart.price_plot.addItem(item, ignoreBounds=True)
            return item
        pane = self.panes.get(line.pane)
        if pane is None:
            pane = self.panes[line.pane] = self.chart.panes.add(line.pane)
        pane.plot.addItem(item)
        return item

    def _clear(self) -> None:
        """Another series on the chart: its lines' items and panes go (the points stay)."""
        for item in self.items.values():
            if item.getViewBox() is self.chart.price_plot.getViewBox():
                self.chart.price_plot.removeItem(item)
        self.items.clear()
        for pane in self.panes.values():
            self.chart.panes.remove(pane)
        self.panes.clear()
