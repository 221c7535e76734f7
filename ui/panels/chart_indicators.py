"""Indicators on the chart's price pane: SMA, EMA, VWAP and Bollinger bands from the
library strategies use (workstation.indicators), so what a trader sees is what a plugin
computes. Each is fed the chart's closed bars once, then only the bars that close; the
list (kind, period, band width, colour) is saved with the layout as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from workstation.indicators import EMA, SMA, VWAP, BollingerBands, Indicator
from workstation.model import Bar

KINDS = ("SMA", "EMA", "VWAP", "Bollinger")
COLORS = ("#f59e0b", "#a855f7", "#38bdf8", "#f472b6", "#facc15", "#94a3b8")
MAX_PERIOD = 1_000


class BadIndicator(ValueError):
    """An indicator setting that cannot be drawn; the message names it."""


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    kind: str
    period: int = 20
    k: float = 2.0  # Bollinger: band width in standard deviations
    color: str = COLORS[0]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadIndicator(f"indicator {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.kind != "VWAP" and not 1 <= self.period <= MAX_PERIOD:
            raise BadIndicator(f"{self.kind} period {self.period}: use 1 to {MAX_PERIOD}")
        if not (0 < self.k <= 10 and math.isfinite(self.k)):
            raise BadIndicator(f"Bollinger width {self.k:g}: use more than 0, at most 10")
        if not QColor.isValidColorName(self.color):
            raise BadIndicator(f"{self.kind} colour {self.color!r} is not a colour")

    @property
    def label(self) -> str:
        if self.kind == "VWAP":
            return "VWAP"
        if self.kind == "Bollinger":
            return f"Bollinger {self.period}, {self.k:g}"
        return f"{self.kind} {self.period}"

    def make(self) -> Indicator:
        if self.kind == "SMA":
            return SMA(self.period)
        if self.kind == "EMA":
            return EMA(self.period)
        if self.kind == "VWAP":
            return VWAP()
        return BollingerBands(self.period, self.k)


def dump_specs(specs: Iterable[IndicatorSpec]) -> str:
    return json.dumps([asdict(spec) for spec in specs])


def load_specs(text: str) -> tuple[list[IndicatorSpec], list[str]]:
    """The saved list, and a message for each entry that could not be read (it is left
    out, the others are kept)."""
    try:
        items = json.loads(text) if text else []
    except ValueError as exc:
        return [], [f"saved chart indicators unreadable ({exc.msg}); none shown"]
    specs, problems = [], []
    for number, item in enumerate(items if isinstance(items, list) else [], start=1):
        try:
            specs.append(IndicatorSpec(**item))
        except (TypeError, BadIndicator) as exc:
            problems.append(f"chart indicator {number} left out: {exc}")
    return specs, problems


class Series:
    """One indicator over one chart series: its values (nan while warming up) per bar."""

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self._indicator = spec.make()
        self.lines: dict[str, list[float]] = {name: [] for name in self.names()}

    def names(self) -> tuple[str, ...]:
        return ("upper", "value", "lower") if self.spec.kind == "Bollinger" else ("value",)

    def extend(self, bars: Iterable[Bar]) -> None:
        indicator = self._indicator
        lines = self.lines
        for bar in bars:
            indicator.update(bar)
            for name in lines:
                value = getattr(indicator, name)
                lines[name].append(value if indicator.ready else math.nan)


class ChartIndicators:
    """The indicators drawn on a plot; fed the chart's closed bars."""

    def __init__(self, plot: pg.PlotItem, changed: Callable[[], None] | None = None) -> None:
        self.plot = plot
        self.specs: list[IndicatorSpec] = []
        self._series: list[Series] = []
        self._items: list[list[pg.PlotDataItem]] = []
        self._bars: list[Bar] = []
        self._changed = changed

    def set_specs(self, specs: Iterable[IndicatorSpec]) -> None:
        for items in self._items:
            for item in items:
                self.plot.removeItem(item)
        self.specs = list(specs)
        self._series = [Series(spec) for spec in self.specs]
        self._items = []
        for series in self._series:
            pen = pg.mkPen(QColor(series.spec.color), width=1)  # cosmetic: cheap to draw
            items = []
            for name in series.names():
                item = pg.PlotDataItem(pen=pen, connect="finite")
                item.setClipToView(True)  # days of bars: only those in view are drawn
                item.setZValue(3)
                self.plot.addItem(item, ignoreBounds=name != "value")
                items.append(item)
            self._items.append(items)
        self.show_bars(self._bars)
        if self._changed is not None:
            self._changed()

    def add(self, spec: IndicatorSpec) -> None:
        self.set_specs([*self.specs, spec])

    def remove(self, index: int) -> None:
        self.set_specs([s for i, s in enumerate(self.specs) if i != index])

    def show_bars(self, bars: list[Bar]) -> None:
        """Another series (or the indicators changed): every value computed anew."""
        self._bars = list(bars)
        self._series = [Series(series.spec) for series in self._series]
        for series in self._series:
            series.extend(self._bars)
        self._draw()

    def add_bars(self, bars: list[Bar]) -> None:
        """Closed bars appended to the series: only they are computed."""
        self._bars.extend(bars)
        for series in self._series:
            series.extend(bars)
        self._draw()

    def values(self, index: int) -> dict[str, list[float]]:
        return self._series[index].lines

    def _draw(self) -> None:
        for series, items in zip(self._series, self._items, strict=True):
            for name, item in zip(series.names(), items, strict=True):
                ys = np.array(series.lines[name], dtype=float)
                item.setData(np.arange(len(ys), dtype=float), ys)
