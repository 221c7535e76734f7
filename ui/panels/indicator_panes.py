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

PANE_HEIGHT = 96  # px: a pane's height where the chart has room
MIN_PANE_HEIGHT = 44  # px: the least that still reads as a line with its scale
PANES_SHARE = 0.3  # the most of the chart's height the panes take together
PANE_SHARE = 0.2  # the most of it one pane takes
VOLUME_HEIGHT = 140  # px: the volume pane's most
VOLUME_SHARE = 0.12  # of the chart's height, while panes are open
MIN_VOLUME_HEIGHT = 32  # px
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
        if fixed is not None:  # a short pane labels only its levels (30 and 70)
            plot.setYRange(*fixed, padding=0.02)
            plot.getAxis("right").setTicks([[(level, f"{level:g}") for level in levels]])
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


def pane_height(space: float, count: int) -> float:
    """Each pane's height when ``count`` share a chart ``space`` px high: the price pane
    stays dominant on a laptop's short chart, however many are open."""
    if count <= 0:
        return PANE_HEIGHT
    return max(MIN_PANE_HEIGHT,
               min(PANE_HEIGHT, space * PANES_SHARE / count, space * PANE_SHARE))


class PaneStack:
    """The sub-panes, in the rows of the chart's layout below ``first_row``."""

    def __init__(self, layout: pg.GraphicsLayout, price_plot: pg.PlotItem,
                 first_row: int, volume_plot: pg.PlotItem | None = None) -> None:
        self.layout = layout
        self.price_plot = price_plot
        self.volume_plot = volume_plot  # shrinks while panes are open
        self.first_row = first_row
        self.panes: list[Pane] = []
        self.space = 0.0  # the chart's height (px) the panes share; 0: not laid out yet

    def fit(self, space: float | None = None) -> None:
        """Every pane's height for a chart ``space`` px high (the last known if None), and
        the volume's: the price pane keeps the rest."""
        if space is not None:
            self.space = space
        height = pane_height(self.space, len(self.panes)) if self.space else PANE_HEIGHT
        for pane in self.panes:
            pane.plot.setFixedHeight(height)
        if self.volume_plot is not None:
            volume = VOLUME_HEIGHT if not self.panes or not self.space else max(
                MIN_VOLUME_HEIGHT, min(VOLUME_HEIGHT, self.space * VOLUME_SHARE))
            self.volume_plot.setMaximumHeight(volume)

    def add(self, title: str, levels: tuple[float, ...] = (),
            fixed: tuple[float, float] | None = None) -> Pane:
        pane = Pane(self.price_plot, title, levels, fixed)
        self.layout.addItem(pane.plot, row=self.first_row + len(self.panes), col=0)
        self.panes.append(pane)
        self.fit()
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
        self.fit()
