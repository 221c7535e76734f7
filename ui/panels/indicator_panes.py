"""Sub-panes under the chart's price pane (RSI, MACD, a strategy's oscillator): each has
its own y axis and reference lines, a fixed height, and the price pane's x range. A pane
removed hands its height back to the price pane (the price row is the one that stretches).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ui import theme

PANE_HEIGHT = 96  # px: two panes still leave the price pane most of a laptop's chart
AXIS_WIDTH = 72  # as the price pane's, so the panes' plots line up with it


class Pane:
    """One sub-pane. ``fixed``: a y range that never moves (0 to 100 for RSI); without it
    the y axis fits the values in view."""

    def __init__(self, price_plot: pg.PlotItem, title: str, levels: tuple[float, ...] = (),
                 fixed: tuple[float, float] | None = None) -> None:
        self.title = title
        self.fixed = fixed
        self.plot = plot = pg.PlotItem()
        plot.showGrid(x=True, y=True, alpha=0.12)
        plot.setMouseEnabled(x=True, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.showAxis("right")
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.getAxis("right").setWidth(AXIS_WIDTH)
        plot.setFixedHeight(PANE_HEIGHT)
        plot.setXLink(price_plot)
        pen = pg.mkPen(theme.MUTED, style=Qt.PenStyle.DashLine)
        self.levels = [pg.InfiniteLine(pos=level, angle=0, movable=False, pen=pen)
                       for level in levels]
        for line in self.levels:
            plot.addItem(line, ignoreBounds=True)
        self.label = pg.LabelItem(title, color=theme.NEUTRAL, size="8pt", justify="left")
        self.label.setParentItem(plot.getViewBox())
        self.label.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(4, 0))
        self._data: list[tuple[np.ndarray, np.ndarray]] = []
        if fixed is not None:
            plot.setYRange(*fixed, padding=0.02)
        plot.getViewBox().sigXRangeChanged.connect(lambda *_: self.fit())

    def set_label(self, text: str) -> None:
        self.label.setText(text)

    def set_lines(self, data: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """The pane's values (x, y per line) that its y axis fits, then fitted."""
        self._data = data
        self.fit()

    def fit(self) -> None:
        if self.fixed is not None:
            return
        left, right = self.plot.getViewBox().viewRange()[0]
        low, high = math.inf, -math.inf
        for xs, ys in self._data:
            first, last = np.searchsorted(xs, [left, right + 1])
            shown = ys[first:last]
            shown = shown[np.isfinite(shown)]
            if len(shown):
                low, high = min(low, float(shown.min())), max(high, float(shown.max()))
        for line in self.levels:  # the zero line stays in view
            low, high = min(low, line.value()), max(high, line.value())
        if low > high:
            return
        pad = (high - low) * 0.08 or 1.0
        self.plot.setYRange(low - pad, high + pad, padding=0)


class PaneStack:
    """The sub-panes, in the rows of the chart's layout below ``first_row``."""

    def __init__(self, layout: pg.GraphicsLayout, price_plot: pg.PlotItem,
                 first_row: int) -> None:
        self.layout = layout
        self.price_plot = price_plot
        self.first_row = first_row
        self.panes: list[Pane] = []

    def add(self, title: str, levels: tuple[float, ...] = (),
            fixed: tuple[float, float] | None = None) -> Pane:
        pane = Pane(self.price_plot, title, levels, fixed)
        self.layout.addItem(pane.plot, row=self.first_row + len(self.panes), col=0)
        self.panes.append(pane)
        return pane

    def remove(self, pane: Pane) -> None:
        """Take the pane out; those below move up, so no empty row is left."""
        index = self.panes.index(pane)
        for other in self.panes[index:]:
            self.layout.removeItem(other.plot)
        self.panes.pop(index)
        for row, other in enumerate(self.panes[index:], start=self.first_row + index):
            self.layout.addItem(other.plot, row=row, col=0)
        pane.plot.setXLink(None)
