"""Indicators on the chart from the library strategies use (workstation.indicators), so
what a trader sees is what a plugin computes: SMA, EMA, VWAP and Bollinger bands on the
price pane; RSI, MACD, ATR and Stochastic each in a pane of its own below it. Each is fed
the chart's closed bars once, then only the bars that close; the list (kind, parameters,
colours) is saved with the layout as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from ui import theme
from ui.panels.indicator_panes import Pane, PaneStack
from workstation.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    VWAP,
    BollingerBands,
    Indicator,
    Stochastic,
)
from workstation.model import Bar

PRICE_KINDS = ("SMA", "EMA", "VWAP", "Bollinger")
PANE_KINDS = ("RSI", "MACD", "ATR", "Stochastic")
KINDS = PRICE_KINDS + PANE_KINDS
COLORS = ("#f59e0b", "#a855f7", "#38bdf8", "#f472b6", "#facc15", "#94a3b8")
SECOND_COLOR = "#94a3b8"  # MACD's signal line, Stochastic's %D
MAX_PERIOD = 1_000
DEFAULT_PERIOD = {"RSI": 14, "ATR": 14, "Stochastic": 14}
# a pane's reference lines and its fixed y range (None: it fits the values in view)
PANE_SCALES: dict[str, tuple[tuple[float, ...], tuple[float, float] | None]] = {
    "RSI": ((30.0, 70.0), (0.0, 100.0)),
    "Stochastic": ((20.0, 80.0), (0.0, 100.0)),
    "MACD": ((0.0,), None),
    "ATR": ((), None),
}
_INITIAL = 1_024  # values a series holds before its buffers first grow


class BadIndicator(ValueError):
    """An indicator setting that cannot be drawn; the message names it."""


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    kind: str
    period: int = 20  # RSI, ATR: its length; Stochastic: %K's
    k: float = 2.0  # Bollinger: band width in standard deviations
    color: str = COLORS[0]
    fast: int = 12  # MACD
    slow: int = 26  # MACD
    signal: int = 9  # MACD: the signal line's EMA length
    d: int = 3  # Stochastic: %D, the SMA of %K
    color2: str = SECOND_COLOR  # MACD's signal line, Stochastic's %D

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadIndicator(f"indicator {self.kind!r}: use one of {', '.join(KINDS)}")
        for name in ("period", "fast", "slow", "signal", "d"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= MAX_PERIOD:
                what = "period" if name == "period" else name
                raise BadIndicator(f"{self.kind} {what} {value}: use 1 to {MAX_PERIOD}")
        if self.kind == "MACD" and self.fast >= self.slow:
            raise BadIndicator(f"MACD fast {self.fast} is not shorter than slow {self.slow}")
        if not (0 < self.k <= 10 and math.isfinite(self.k)):
            raise BadIndicator(f"Bollinger width {self.k:g}: use more than 0, at most 10")
        for color in (self.color, self.color2):
            if not QColor.isValidColorName(color):
                raise BadIndicator(f"{self.kind} colour {color!r} is not a colour")

    @property
    def on_pane(self) -> bool:
        """Drawn in a pane of its own below the price."""
        return self.kind in PANE_KINDS

    @property
    def label(self) -> str:
        if self.kind == "VWAP":
            return "VWAP"
        if self.kind == "Bollinger":
            return f"Bollinger {self.period}, {self.k:g}"
        if self.kind == "MACD":
            return f"MACD {self.fast}, {self.slow}, {self.signal}"
        if self.kind == "Stochastic":
            return f"Stochastic {self.period}, {self.d}"
        return f"{self.kind} {self.period}"

    def names(self) -> tuple[str, ...]:
        """The indicator's attributes drawn, main line first."""
        return {"Bollinger": ("upper", "value", "lower"),
                "MACD": ("value", "signal", "histogram"),
                "Stochastic": ("value", "d")}.get(self.kind, ("value",))

    def make(self) -> Indicator:
        makers: dict[str, Callable[[], Indicator]] = {
            "SMA": lambda: SMA(self.period), "EMA": lambda: EMA(self.period),
            "VWAP": VWAP, "Bollinger": lambda: BollingerBands(self.period, self.k),
            "RSI": lambda: RSI(self.period), "ATR": lambda: ATR(self.period),
            "MACD": lambda: MACD(self.fast, self.slow, self.signal),
            "Stochastic": lambda: Stochastic(self.period, self.d)}
        return makers[self.kind]()


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
    """One indicator over one chart series: its values (nan while warming up) per bar, in
    buffers that grow by doubling, so a closing bar costs one update per line."""

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self._indicator = spec.make()
        self.count = 0
        self._buffers = {name: np.empty(_INITIAL) for name in spec.names()}

    def extend(self, bars: list[Bar]) -> None:
        needed = self.count + len(bars)
        capacity = len(next(iter(self._buffers.values())))
        if needed > capacity:
            size = max(needed, 2 * capacity)
            for name, old in self._buffers.items():
                grown = np.empty(size)
                grown[:self.count] = old[:self.count]
                self._buffers[name] = grown
        indicator = self._indicator
        buffers = list(self._buffers.items())
        i = self.count
        for bar in bars:
            indicator.update(bar)
            ready = indicator.ready
            for name, buffer in buffers:
                buffer[i] = getattr(indicator, name) if ready else math.nan
            i += 1
        self.count = i

    def line(self, name: str) -> np.ndarray:
        return self._buffers[name][:self.count]


class Drawing:
    """An indicator's series and the items that draw it (on the price pane or its own)."""

    def __init__(self, spec: IndicatorSpec, target: pg.PlotItem, pane: Pane | None) -> None:
        self.series = Series(spec)
        self.target = target
        self.pane = pane
        self.items: list[tuple[str, pg.PlotDataItem]] = []
        main = pg.mkPen(QColor(spec.color), width=1)  # cosmetic: cheap to draw
        second = pg.mkPen(QColor(spec.color2), width=1)
        for name in spec.names():
            if name == "histogram":
                for part, color in (("rise", theme.UP), ("fall", theme.DOWN)):
                    fill = QColor(color)
                    fill.setAlpha(110)
                    self._add(f"histogram {part}", pg.PlotDataItem(
                        pen=None, fillLevel=0.0, brush=fill), 1)
                continue
            pen = second if name in ("signal", "d") else main
            self._add(name, pg.PlotDataItem(pen=pen, connect="finite"),
                      3, ignore=pane is None and name != "value")

    def _add(self, name: str, item: pg.PlotDataItem, z: int, ignore: bool = False) -> None:
        item.setClipToView(True)  # days of bars: only those in view are drawn
        item.setZValue(z)
        self.target.addItem(item, ignoreBounds=ignore)
        self.items.append((name, item))

    def draw(self) -> None:
        series = self.series
        xs = np.arange(series.count, dtype=float)
        fitted = []
        for name, item in self.items:
            if name.startswith("histogram"):
                ys = np.nan_to_num(series.line("histogram"))
                ys = np.maximum(ys, 0.0) if name.endswith("rise") else np.minimum(ys, 0.0)
            else:
                ys = series.line(name)
            item.setData(xs, ys)
            fitted.append((xs, ys))
        if self.pane is not None:
            self.pane.set_lines(fitted)
            self.pane.set_label(self.describe())

    def describe(self) -> str:
        """The pane's title with the newest values."""
        series = self.series
        values = [series.line(name)[-1] for name in series.spec.names()] if series.count \
            else []
        shown = " / ".join(f"{v:,.2f}" for v in values if math.isfinite(v))
        return f"{series.spec.label}: {shown}" if shown else series.spec.label

    def remove(self, panes: PaneStack | None) -> None:
        for _name, item in self.items:
            self.target.removeItem(item)
        if self.pane is not None and panes is not None:
            panes.remove(self.pane)


class ChartIndicators:
    """The indicators drawn on a chart; fed the chart's closed bars. ``panes``: where the
    pane indicators go (without it they are refused)."""

    def __init__(self, plot: pg.PlotItem, panes: PaneStack | None = None,
                 changed: Callable[[], None] | None = None) -> None:
        self.plot = plot
        self.panes = panes
        self.specs: list[IndicatorSpec] = []
        self._drawings: list[Drawing] = []
        self._bars: list[Bar] = []
        self._changed = changed

    def set_specs(self, specs: Iterable[IndicatorSpec]) -> None:
        for drawing in self._drawings:
            drawing.remove(self.panes)
        self.specs, self._drawings = [], []
        for spec in specs:
            self._add(spec)
        self._notify()

    def add(self, spec: IndicatorSpec) -> None:
        """Its values over the bars shown are computed once, now."""
        self._add(spec)
        self._notify()

    def _add(self, spec: IndicatorSpec) -> None:
        pane = None
        if spec.on_pane:
            if self.panes is None:
                raise BadIndicator(f"{spec.label} needs a pane below the price")
            levels, fixed = PANE_SCALES[spec.kind]
            pane = self.panes.add(spec.label, levels, fixed)
        drawing = Drawing(spec, pane.plot if pane is not None else self.plot, pane)
        drawing.series.extend(self._bars)
        drawing.draw()
        self.specs.append(spec)
        self._drawings.append(drawing)

    def remove(self, index: int) -> None:
        """Its items (and its pane, whose height goes back to the price pane) go."""
        self._drawings.pop(index).remove(self.panes)
        self.specs.pop(index)
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed()

    def show_bars(self, bars: list[Bar]) -> None:
        """Another series: every value computed anew."""
        self._bars = list(bars)
        for drawing in self._drawings:
            drawing.series = Series(drawing.series.spec)
            drawing.series.extend(self._bars)
            drawing.draw()

    def add_bars(self, bars: list[Bar]) -> None:
        """Closed bars appended to the series: only they are computed."""
        self._bars.extend(bars)
        for drawing in self._drawings:
            drawing.series.extend(bars)
            drawing.draw()

    def values(self, index: int) -> dict[str, list[float]]:
        series = self._drawings[index].series
        return {name: series.line(name).tolist() for name in series.spec.names()}

    def pane(self, index: int) -> Pane | None:
        return self._drawings[index].pane
