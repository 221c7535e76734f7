"""The charts of the Optimize and Challenge tabs (pyqtgraph): the objective as a heatmap
over two parameters, the days-to-pass histogram, and sample evaluation paths against the
rule lines.

Heatmap: one cell per pair of values of the two chosen parameters, coloured by the best
score among the trials with that pair (the other parameters free); a cell with no scored
trial is left empty. The colour bar beside it gives the scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ui import theme
from ui.models.optimize_models import value_text
from ui.panels.backtest_charts import _caption, _style

COLORMAP = "viridis"
MIN_DAYS_SHOWN = 10  # the day axes show at least this many days


def heat_grid(trials: Sequence[dict[str, Any]], x: str, y: str
              ) -> tuple[list[Any], list[Any], np.ndarray]:
    """The values of ``x`` and ``y`` seen (sorted) and the best score of each (x, y) pair
    (NaN without a scored trial), shaped (len(xs), len(ys))."""
    xs = sorted({t["params"].get(x) for t in trials}, key=_order)
    ys = sorted({t["params"].get(y) for t in trials}, key=_order)
    grid = np.full((len(xs), len(ys)), np.nan)
    where_x = {v: i for i, v in enumerate(xs)}
    where_y = {v: i for i, v in enumerate(ys)}
    for trial in trials:
        score = trial.get("score")
        if score is None:
            continue
        i, j = where_x[trial["params"].get(x)], where_y[trial["params"].get(y)]
        if np.isnan(grid[i, j]) or score > grid[i, j]:
            grid[i, j] = score
    return xs, ys, grid


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


class Heatmap(pg.GraphicsLayoutWidget):
    """The objective over two parameters, value ticks on both axes, a colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("optimizeHeatmap")
        self.plot = self.addPlot(row=0, col=0)
        self.plot.showGrid(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=COLORMAP, interactive=False,
                                        width=14)
        self.colorbar.setImageItem(self.image)
        self.addItem(self.colorbar, row=0, col=1)
        self.grid = np.zeros((0, 0))
        self.xs: list[Any] = []
        self.ys: list[Any] = []
        _caption(self.plot, "Pick two parameters")

    def show_trials(self, trials: Sequence[dict[str, Any]], x: str, y: str,
                    objective: str = "score") -> None:
        self.xs, self.ys, self.grid = heat_grid(trials, x, y)
        finite = self.grid[np.isfinite(self.grid)]
        if not finite.size:
            self.image.hide()
            _caption(self.plot, f"No scored trial yet · {objective}")
            return
        self.image.show()
        low, high = float(finite.min()), float(finite.max())
        if high == low:
            high = low + 1.0
        self.image.setImage(self.grid, autoLevels=False, levels=(low, high))
        self.image.setRect(0, 0, len(self.xs), len(self.ys))
        self.colorbar.setLevels((low, high))
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        bottom.setLabel(x)
        left.setLabel(y)
        bottom.setTicks([_ticks(self.xs)])
        left.setTicks([_ticks(self.ys)])
        self.plot.setRange(xRange=(0, len(self.xs)), yRange=(0, len(self.ys)), padding=0)
        _caption(self.plot, f"{objective}: best over the other parameters")

    def reset(self) -> None:
        """No cells (named so as not to hide GraphicsLayoutWidget.clear, which empties the
        layout)."""
        self.image.hide()
        self.grid = np.zeros((0, 0))
        _caption(self.plot, "Pick two parameters")


def _ticks(values: Sequence[Any], most: int = 12) -> list[tuple[float, str]]:
    every = max(1, -(-len(values) // most))
    return [(i + 0.5, value_text(v)) for i, v in enumerate(values) if i % every == 0]


class DaysToPass(pg.PlotWidget):
    """Paths passing on each day of the evaluation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("challengeDaysToPass")
        plot = self.getPlotItem()
        _style(plot)
        _caption(plot, "Days to pass (paths)")
        plot.getAxis("bottom").setLabel("trading day")
        plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], width=0.8, height=[], brush=pg.mkBrush(theme.UP))
        plot.addItem(self.bars)
        self.counts = np.zeros(0, dtype=np.int64)

    def show_counts(self, counts: Sequence[int]) -> None:
        self.counts = np.asarray(counts, dtype=np.int64)
        days = np.arange(1, len(self.counts) + 1)
        self.bars.setOpts(x=days, height=self.counts, width=0.8)
        used = np.flatnonzero(self.counts)
        last = max(int(used[-1]) + 1 if len(used) else 1, MIN_DAYS_SHOWN)
        self.getPlotItem().setXRange(0.4, last + 0.6, padding=0)
        self.getPlotItem().enableAutoRange(axis="y")


class SamplePaths(pg.PlotWidget):
    """Sample evaluations' end-of-day balances against the target and the loss limits:
    each path is green when it passed, red when it failed, grey when out of time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("challengePaths")
        plot = self.getPlotItem()
        _style(plot)
        _caption(plot, "Sample paths (end-of-day balance)")
        plot.getAxis("bottom").setLabel("trading day")
        plot.addLegend(offset=(8, 8))
        self.lines: list[pg.PlotDataItem] = []
        dash = Qt.PenStyle.DashLine
        self.target = plot.plot(pen=pg.mkPen(theme.UP, width=1.5, style=dash), name="target")
        self.max_loss = plot.plot(pen=pg.mkPen(theme.DOWN, width=1.5, style=dash),
                                  name="max loss (at the start)")
        self.trailing = "static"

    def show_paths(self, paths: np.ndarray, account: float, target: float,
                   max_loss: float | None, trailing: str) -> None:
        plot = self.getPlotItem()
        for line in self.lines:
            plot.removeItem(line)
        self.lines = []
        horizon = paths.shape[1] if paths.ndim == 2 and paths.size else 1
        days = np.arange(horizon)
        lasting = [int(np.flatnonzero(~np.isnan(row))[-1]) for row in paths] or [0]
        shown = min(horizon - 1, max(max(lasting) + 1, MIN_DAYS_SHOWN))
        for row in paths:
            ended = np.flatnonzero(np.isnan(row))
            last = row[ended[0] - 1] if len(ended) else row[-1]
            color = theme.UP if last - account >= target else (
                theme.DOWN if len(ended) else theme.MUTED)
            pen = pg.mkPen(color, width=1)
            line = plot.plot(days, row, pen=pen, connect="finite")
            line.setOpacity(0.55)
            self.lines.append(line)
        self.target.setData([0, shown], [account + target] * 2)
        if max_loss:  # a trailing limit starts here and follows the path's high
            self.max_loss.setData([0, shown], [account - max_loss] * 2)
        else:
            self.max_loss.setData([], [])
        self.trailing = trailing
        plot.enableAutoRange(axis="y")
        plot.setXRange(0, shown, padding=0.02)
