"""Chart dock: pyqtgraph candlesticks with volume, the live forming bar, a
crosshair readout, and auto-follow that lets go as soon as the user pans.

Bars are placed at consecutive x positions (no gaps for nights and weekends);
the time axis maps positions back to bar times, shown in New York time.
Closed bars are drawn once into a QPicture; only the forming bar repaints
every frame.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.fmt import DISPLAY_ZONE
from ui.panels.chart_indicators import ChartIndicators
from ui.panels.chart_items import BODY_WIDTH, CandlestickItem, PriceAxis, VolumeItem
from ui.panels.chart_plots import ChartPlots
from ui.panels.indicator_panes import PaneStack
from workstation.model import NS_PER_SECOND, Bar, Instrument, PartialBar

VISIBLE_BARS = 90
CROSS_LABEL_AT = 0.985  # across the plot, where the crosshair's price label ends
LABEL_ROOM_PX = 22  # kept above the highest price in view and below the lowest
_LABEL_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 500, 1000, 2000)


class TimeAxis(pg.AxisItem):
    """Labels bar positions with the bars' open times."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.times: np.ndarray = np.zeros(0, dtype=np.int64)
        self.daily = False

    def set_times(self, times: np.ndarray) -> None:
        """New bars: drop pyqtgraph's cached labels (it only redraws on range changes)."""
        self.times = times
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float
                   ) -> list[tuple[float, list[float]]]:
        """One level of labels on whole bars, at least ~80 px apart (pyqtgraph's
        default major and minor levels overlap when labels are times)."""
        span = max(maxVal - minVal, 1.0)
        per_bar = size / span
        step = next((s for s in _LABEL_STEPS if s * per_bar >= 80), _LABEL_STEPS[-1])
        first = int(np.ceil(minVal / step)) * step
        return [(float(step), [float(v) for v in range(first, int(maxVal) + 1, step)])]

    def tickStrings(self, values: list[float], scale: float, spacing: float
                    ) -> list[str]:
        labels = []
        for value in values:
            index = round(value)
            if 0 <= index < len(self.times):
                moment = _local(int(self.times[index]))
                labels.append(moment.strftime("%m-%d" if self.daily else "%H:%M"))
            else:
                labels.append("")
        return labels


def _local(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC).astimezone(DISPLAY_ZONE)


# adds actions to the context menu for a price (on the tick), give or take a tolerance
MenuProvider = Callable[[QMenu, float, float], object]
MENU_REACH_PX = 6  # a right click this near an order's line is on it


class ChartPanel(QWidget):
    series_changed = Signal(str, str)  # symbol, timeframe
    series_shown = Signal()  # another series, or bars added: overlays place themselves again

    def __init__(self, instruments: dict[str, Instrument], timeframes: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._instruments = instruments
        self.symbol = ""
        self.timeframe = ""
        self._decimals = 2
        self._bars: list[Bar] = []
        self._partial: Bar | None = None
        self._arrays = {k: np.zeros(0) for k in ("x", "o", "h", "l", "c", "v")}
        self._ts = np.zeros(0, dtype=np.int64)
        # set by the main window: "New signal at this bar…" in the context menu
        self.on_new_signal: Callable[[str, Bar], object] | None = None
        # more of the context menu (orders and alerts at the clicked price)
        self.menu_providers: list[MenuProvider] = []
        self._opens = np.zeros(0, dtype=np.int64)  # each closed bar's open time
        # prices kept in view with the bars when near them: the position, working orders
        self.fit_levels: list[float] = []

        self.symbol_box = QComboBox(self)
        self.symbol_box.setObjectName("chartSymbol")
        self.symbol_box.addItems(list(instruments))
        self.timeframe_box = QComboBox(self)
        self.timeframe_box.setObjectName("chartTimeframe")
        self.timeframe_box.addItems(timeframes)
        self.follow_button = QToolButton(self)
        self.follow_button.setObjectName("chartFollow")
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Keep the newest bar in view (F); panning turns it off")
        self.readout = QLabel(self)
        self.readout.setObjectName("chartReadout")
        self.readout.setFont(theme.MONO)
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.symbol_box)
        bar.addWidget(self.timeframe_box)
        bar.addWidget(self.follow_button)
        # beside the selectors (the price pane keeps the height), wrapping between fields
        # rather than clipping when the dock is narrow
        self.readout.setContentsMargins(6, 0, 4, 0)
        self.readout.setWordWrap(True)
        bar.addWidget(self.readout, 1)

        self.axis = TimeAxis()
        self.price_axis = PriceAxis()
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.price_plot = self.graphics.addPlot(row=0, col=0, axisItems={
            "bottom": self.axis, "right": self.price_axis})
        self.volume_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self._setup_plots()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        self.symbol_box.currentTextChanged.connect(self._on_box_changed)
        self.timeframe_box.currentTextChanged.connect(self._on_box_changed)
        self.follow_button.toggled.connect(self._on_follow_toggled)
        # a right click (not a right drag, which zooms) opens the chart's menu
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_click)

    def _setup_plots(self) -> None:
        for plot in (self.price_plot, self.volume_plot):
            plot.showGrid(x=True, y=True, alpha=0.12)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showAxis("right")
            plot.hideAxis("left")
            plot.getAxis("right").setWidth(72)
        self.volume_plot.setXLink(self.price_plot)
        self.volume_plot.hideAxis("bottom")
        # indicators' and strategies' panes go in the rows below the volume
        self.panes = PaneStack(self.graphics.ci, self.price_plot, 2, self.volume_plot)
        self.panes.fit()
        self.indicators = ChartIndicators(self.price_plot, self.panes)
        self.strategy_plots = ChartPlots(self)  # the bridge's plot_points go to its add()
        self.candles = CandlestickItem()
        self.live_candle = CandlestickItem()
        self.volume = VolumeItem()
        self.live_volume = pg.BarGraphItem(x=[], height=[], width=BODY_WIDTH, brush=theme.ACCENT)
        self.price_plot.addItem(self.candles)
        self.price_plot.addItem(self.live_candle)
        self.volume_plot.addItem(self.volume)
        self.volume_plot.addItem(self.live_volume)
        # the last price: a dotted line across, its price tagged on the axis
        self.last_line = pg.InfiniteLine(angle=0, movable=False,
                                         pen=pg.mkPen(theme.MUTED, style=Qt.PenStyle.DotLine))
        self.price_plot.addItem(self.last_line, ignoreBounds=True)
        crosshair_pen = pg.mkPen(theme.MUTED, style=Qt.PenStyle.DashLine)
        self.cross_v = pg.InfiniteLine(angle=90, movable=False, pen=crosshair_pen)
        # the crosshair's price: inside the plot, right-aligned above the line at its end
        self.cross_h = pg.InfiniteLine(angle=0, movable=False, pen=crosshair_pen, label="",
                                       labelOpts={"position": CROSS_LABEL_AT,
                                                  "anchors": [(1, 1), (1, 1)],
                                                  "color": theme.NEUTRAL, "fill": theme.PANEL})
        for line in (self.cross_v, self.cross_h):
            line.setVisible(False)
            self.price_plot.addItem(line, ignoreBounds=True)
        self._mouse_proxy = pg.SignalProxy(self.price_plot.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_mouse_moved)
        view = self.price_plot.getViewBox()
        view.sigRangeChangedManually.connect(lambda *_: self.follow_button.setChecked(False))
        view.sigXRangeChanged.connect(lambda *_: self._fit_y())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The panes below the price share the chart's new height (the price keeps most)."""
        super().resizeEvent(event)
        self.panes.fit(self.graphics.height())

    # -- series ------------------------------------------------------------------------
    def _on_box_changed(self, _text: str) -> None:
        symbol, timeframe = self.symbol_box.currentText(), self.timeframe_box.currentText()
        if symbol and timeframe and (symbol, timeframe) != (self.symbol, self.timeframe):
            self.series_changed.emit(symbol, timeframe)

    def show_series(self, symbol: str, timeframe: str, history: list[Bar],
                    partial: Bar | None) -> None:
        """Replace the chart's contents with ``history`` (oldest first) of one series."""
        self.symbol, self.timeframe = symbol, timeframe
        for box, value in ((self.symbol_box, symbol), (self.timeframe_box, timeframe)):
            box.blockSignals(True)
            box.setCurrentText(value)
            box.blockSignals(False)
        self._decimals = self._instruments[symbol].price_decimals
        self.axis.daily = timeframe == "1d"
        self._bars = list(history)
        self._partial = partial
        self._rebuild_closed()
        self.indicators.show_bars(self._bars)
        self._draw_partial()
        self.follow_button.setChecked(True)
        self._follow()
        self.series_shown.emit()

    def add_closed(self, bars: list[Bar]) -> None:
        """Append this series' newly closed bars. Bars already shown are skipped: a
        series switched to mid-frame loads history that the next frame repeats."""
        last_ts = self._bars[-1].ts if self._bars else -1
        mine = [b for b in bars
                if b.symbol == self.symbol and b.timeframe == self.timeframe and b.ts > last_ts]
        if not mine:
            return
        self._bars.extend(mine)
        if self._partial is not None and self._partial.ts <= mine[-1].ts:
            self._partial = None
        self._append_closed(mine)
        self.indicators.add_bars(mine)
        self._draw_partial()
        if self.follow_button.isChecked():
            self._follow()
        self.series_shown.emit()

    def set_partial(self, event: PartialBar) -> None:
        bar = event.bar
        if bar.symbol != self.symbol or bar.timeframe != self.timeframe:
            return
        if self._bars and bar.ts <= self._bars[-1].ts:
            return
        self._partial = bar
        self._draw_partial()

    @property
    def bar_count(self) -> int:
        return len(self._bars)

    @property
    def partial(self) -> Bar | None:
        return self._partial

    @staticmethod
    def _columns(bars: list[Bar], first_x: int) -> dict[str, np.ndarray]:
        columns = np.array([(b.open, b.high, b.low, b.close, b.volume) for b in bars],
                           dtype=float).reshape(-1, 5)
        return {"x": np.arange(first_x, first_x + len(bars), dtype=float),
                "o": columns[:, 0], "h": columns[:, 1], "l": columns[:, 2],
                "c": columns[:, 3], "v": columns[:, 4]}

    def _rebuild_closed(self) -> None:
        """Another series: every array and picture anew."""
        self._opens = np.array([b.ts for b in self._bars], dtype=np.int64)
        a = self._arrays = self._columns(self._bars, 0)
        self._stamp_times()
        self.candles.set_data(a["x"], a["o"], a["h"], a["l"], a["c"])
        self.volume.set_data(a["x"], a["o"], a["h"], a["l"], a["c"], a["v"])

    def _append_closed(self, bars: list[Bar]) -> None:
        """New closed bars: appended to the arrays; only the last chunk is drawn again."""
        self._opens = np.concatenate((self._opens, np.array([b.ts for b in bars],
                                                             dtype=np.int64)))
        new = self._columns(bars, len(self._arrays["x"]))
        self._arrays = {k: np.concatenate((self._arrays[k], new[k])) for k in new}
        self._stamp_times(bars)
        self.candles.append(new["x"], new["o"], new["h"], new["l"], new["c"])
        self.volume.append(new["x"], new["o"], new["h"], new["l"], new["c"], new["v"])

    def _stamp_times(self, added: list[Bar] | None = None) -> None:
        """The axis's label times: all anew, or the ``added`` bars' after those known."""
        stamp = self._stamp
        known = self._ts[:-1] if added is not None else np.zeros(0, dtype=np.int64)
        more = [stamp(b) for b in (added if added is not None else self._bars)]
        # the forming bar's place: its time, or until it forms, the newest bar's close (where
        # the next one opens)
        newest = self._bars[-1].end if self._bars and not self.axis.daily else 0
        tail = [stamp(self._partial) if self._partial else newest]
        self._ts = np.concatenate((known, np.array(more + tail, dtype=np.int64)))
        self.axis.set_times(self._ts)

    def _stamp(self, bar: Bar) -> int:
        """The time a bar is labelled with: its open, but a daily bar's last moment (a CME
        session opens at 18:00 ET the evening before the day it belongs to)."""
        return bar.end - 1 if self.axis.daily else bar.ts

    def _draw_partial(self) -> None:
        bar = self._partial
        if bar is None:
            self.live_candle.set_data(*(np.zeros(0) for _ in range(5)))
            self.live_volume.setOpts(x=[], height=[])
            last = self._bars[-1].close if self._bars else None
        else:
            x = np.array([float(len(self._bars))])
            self.live_candle.set_data(x, np.array([bar.open]), np.array([bar.high]),
                                      np.array([bar.low]), np.array([bar.close]))
            self.live_volume.setOpts(x=x, height=[bar.volume], width=BODY_WIDTH)
            stamp = self._stamp(bar)
            if len(self._ts) == len(self._bars) + 1 and self._ts[-1] != stamp:
                self._ts[-1] = stamp
                self.axis.set_times(self._ts)  # its cached label was the previous time
            last = bar.close
        if last is not None:
            previous = self._bars[-1].close if self._bars and bar is not None else last
            color = theme.direction_color(last - previous)
            self.last_line.setPen(pg.mkPen(color, style=Qt.PenStyle.DotLine))
            self.last_line.setValue(last)
            self.price_axis.set_tag("last", last, f"{last:,.{self._decimals}f}",
                                    theme.ON_BRIGHT, color if color != theme.NEUTRAL
                                    else theme.MUTED)
        else:
            self.price_axis.clear_tag("last")
        self.last_line.setVisible(last is not None)
        if not self.cross_v.isVisible():
            self._show_newest()
        if self.follow_button.isChecked():
            self._fit_y()

    def _show_newest(self) -> None:
        """Without a crosshair, the readout describes the newest bar."""
        self._set_readout(self.describe(len(self._bars) - (0 if self._partial else 1)))

    # -- view ------------------------------------------------------------------------
    def _on_follow_toggled(self, on: bool) -> None:
        if on:
            self._follow()

    def _follow(self) -> None:
        total = len(self._bars) + (1 if self._partial else 0)
        right = max(total, VISIBLE_BARS // 3) + 2
        self.price_plot.setXRange(right - VISIBLE_BARS, right, padding=0)  # fits y as well

    def _fit_y(self) -> None:
        """Fit prices and volume to the bars in view (the y axis is never dragged)."""
        left, right = self.price_plot.getViewBox().viewRange()[0]
        a = self._arrays
        first = max(0, int(np.floor(left)))
        last = min(len(self._bars), int(np.ceil(right)) + 1)
        lows, highs, volumes = a["l"][first:last], a["h"][first:last], a["v"][first:last]
        bounds = ([(float(lows.min()), float(highs.max()), float(volumes.max()))]
                  if len(lows) else [])
        partial = self._partial
        if partial is not None and left - 1 <= len(self._bars) <= right + 1:
            bounds.append((partial.low, partial.high, partial.volume))
        if not bounds:
            return
        low = min(b[0] for b in bounds)
        high = max(b[1] for b in bounds)
        span = high - low
        near = [p for p in self.fit_levels if low - span <= p <= high + span]
        low, high = min([low, *near]), max([high, *near])
        pad = max((high - low) * 0.08, 10 ** -self._decimals * 4)
        room = self.price_plot.getViewBox().height() - 2 * LABEL_ROOM_PX
        if room > 0:  # a line's label above it stays in view at the top
            pad = max(pad, (high - low) / room * LABEL_ROOM_PX)
        self.price_plot.setYRange(low - pad, high + pad, padding=0)
        self.volume_plot.setYRange(0, max(b[2] for b in bounds) * 1.15 or 1, padding=0)

    def _on_mouse_moved(self, event: tuple[QPointF]) -> None:
        position = event[0]
        if not self.price_plot.sceneBoundingRect().contains(position):
            for line in (self.cross_v, self.cross_h):
                line.setVisible(False)
            self._show_newest()
            return
        point = self.price_plot.getViewBox().mapSceneToView(position)
        index = round(point.x())
        price = self._instruments[self.symbol].round_price(point.y()) if self.symbol \
            else point.y()
        for line in (self.cross_v, self.cross_h):
            line.setVisible(True)  # first: a hidden line's label ignores a new text
        self.cross_v.setPos(index)
        self.cross_h.setPos(price)
        self.cross_h.label.setFormat(f"{price:,.{self._decimals}f}")
        self._set_readout(self.describe(index))

    # -- context menu ------------------------------------------------------------------
    def bar_at(self, scene_pos: QPointF) -> Bar | None:
        """The bar (closed or forming) under a point of the price plot (scene coordinates)."""
        if not self.price_plot.sceneBoundingRect().contains(scene_pos):
            return None
        index = round(self.price_plot.getViewBox().mapSceneToView(scene_pos).x())
        bars = self._bars + ([self._partial] if self._partial else [])
        return bars[index] if 0 <= index < len(bars) else None

    def price_at(self, scene_pos: QPointF) -> float | None:
        """The price under a point of the price plot, on the instrument's tick grid."""
        if not self.symbol or not self.price_plot.sceneBoundingRect().contains(scene_pos):
            return None
        y = self.price_plot.getViewBox().mapSceneToView(scene_pos).y()
        return self._instruments[self.symbol].round_price(y)

    def x_of_time(self, ts: int) -> float | None:
        """The bar position of the bar holding time ``ts`` (the forming bar's after the
        last closed one); None before the first bar."""
        if self._partial is not None and ts >= self._partial.ts:
            return float(len(self._bars))
        if not len(self._opens) or ts < self._opens[0]:
            return None
        index = int(np.searchsorted(self._opens, ts, side="right")) - 1
        if index == len(self._bars) - 1 and ts >= self._bars[-1].end:
            index += 1  # in the bar forming now
        return float(index)

    def bar_positions(self, ts: np.ndarray) -> np.ndarray:
        """The x of the closed bar opening at each time in ``ts`` (sorted), -1 where no
        closed bar opens then."""
        opens = self._opens
        if not len(opens):
            return np.full(len(ts), -1, dtype=np.int64)
        index = np.searchsorted(opens, ts)
        found = index < len(opens)
        found[found] = opens[index[found]] == ts[found]
        return np.where(found, index, -1)

    def set_fit_levels(self, levels: list[float]) -> None:
        """Prices kept in view with the bars when near them; fitted now when following."""
        if levels != self.fit_levels:
            self.fit_levels = levels
            if self.follow_button.isChecked():
                self._fit_y()

    @property
    def decimals(self) -> int:
        return self._decimals

    def tick_round(self, price: float) -> float:
        """``price`` on the chart symbol's tick grid."""
        return self._instruments[self.symbol].round_price(price) if self.symbol else price

    @property
    def last_price(self) -> float | None:
        bar = self._partial or (self._bars[-1] if self._bars else None)
        return bar.close if bar is not None else None

    def context_menu(self, scene_pos: QPointF) -> QMenu:
        menu = QMenu(self)
        price = self.price_at(scene_pos)
        if price is not None:
            view = self.price_plot.getViewBox()
            reach = abs(view.mapSceneToView(scene_pos + QPointF(0, MENU_REACH_PX)).y()
                        - view.mapSceneToView(scene_pos).y())
            for provider in self.menu_providers:
                provider(menu, price, reach)
            if self.menu_providers and not menu.isEmpty():
                menu.addSeparator()
        bar = self.bar_at(scene_pos)
        action = menu.addAction("New signal at this bar…")
        action.setObjectName("chartNewSignal")
        action.setEnabled(bar is not None and self.on_new_signal is not None)
        if bar is not None and self.on_new_signal is not None:
            callback = self.on_new_signal
            action.triggered.connect(lambda: callback(self.symbol, bar))
        return menu

    def _on_scene_click(self, event: MouseClickEvent) -> None:
        if event.button() != Qt.MouseButton.RightButton or event.isAccepted():
            return
        menu = self.context_menu(event.scenePos())
        menu.exec(event.screenPos().toPoint())
        menu.deleteLater()

    def _set_readout(self, text: str) -> None:
        """A narrow dock wraps between fields ("O 21,000.00"), never inside one."""
        fields = text.split("  ")
        self.readout.setText("  ".join(f.replace(" ", "\u00a0") for f in fields))

    def describe(self, index: int) -> str:
        """The crosshair readout for the bar at position ``index``."""
        bars = self._bars + ([self._partial] if self._partial else [])
        if not 0 <= index < len(bars):
            return ""
        bar = bars[index]
        d = self._decimals
        when = (f"{_local(self._stamp(bar)):%Y-%m-%d} session" if self.axis.daily
                else _local(bar.ts).strftime("%Y-%m-%d %H:%M:%S ET"))
        return (f"{bar.symbol} {bar.timeframe}  {when}  O {bar.open:,.{d}f}  H {bar.high:,.{d}f}"
                f"  L {bar.low:,.{d}f}  C {bar.close:,.{d}f}  V {bar.volume:,.0f}")
