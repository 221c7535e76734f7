"""What the trader has on the chart's symbol, drawn over its candles: the position (its
average price, size and open P&L), each working order as a line labelled with what it is
(dragged to a new price, it asks to be modified), the fills as arrows, and open signals
(S on the signal bar, C on the confirming bar, the setup's entry, stop and targets).

A view only: it is told what to draw and reports drags through ``on_move``; whoever
owns it sends the change through the router (ui/chart_trading.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ui import theme
from ui.panels.chart import ChartPanel
from workstation.model import Bar
from workstation.orders import Fill, OrderSide, OrderType, OrderUpdate
from workstation.signals.lifecycle import SignalRecord

_TYPES = {OrderType.LIMIT: "LMT", OrderType.STOP: "STP", OrderType.STOP_LIMIT: "STP LMT",
          OrderType.TRAILING_STOP: "TRAIL", OrderType.MARKET: "MKT"}
MOVABLE = (OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT)
SETUP_BARS = 8  # how far right of the confirming bar a setup's levels are drawn
POSITION_LABEL_AT = 0.01  # across the plot, where the position's label starts
ORDER_LABEL_AT = 0.97  # and where orders' labels end (near their price on the axis)
LABEL_LANES, LANE_WIDTH = 3, 0.24  # orders' labels step left by price, in three lanes

# a drag's new price for an order: None if sent, else why not (the line goes back)
MoveHandler = Callable[[OrderUpdate, float], str | None]


def order_price(order: OrderUpdate) -> float | None:
    """Where an order's line is: the stop trigger of stop orders, else the limit."""
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP):
        return order.stop_price
    return order.limit_price


def order_label(order: OrderUpdate, decimals: int) -> str:
    """``BUY LMT 1 @ 20,400.00``; a bracket leg says which (``STOP``, ``TARGET``)."""
    price = order_price(order)
    at = f" @ {price:,.{decimals}f}" if price is not None else ""
    if order.intent.parent_id is not None:
        role = "STOP" if order.type in (OrderType.STOP, OrderType.STOP_LIMIT,
                                        OrderType.TRAILING_STOP) else "TARGET"
        return f"{role} {order.side.value.upper()} {order.remaining:g}{at}"
    return f"{order.side.value.upper()} {_TYPES[order.type]} {order.remaining:g}{at}"


@dataclass(slots=True)
class _OrderLine:
    order: OrderUpdate
    line: pg.InfiniteLine
    dragging: bool = False


class ChartOverlay:
    def __init__(self, chart: ChartPanel) -> None:
        self.chart = chart
        self.plot = chart.price_plot
        self.on_move: MoveHandler | None = None
        self.lines: dict[str, _OrderLine] = {}
        self.position_line = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(theme.ACCENT, width=2), label="",
            labelOpts={"position": POSITION_LABEL_AT, "anchors": [(0, 1), (0, 1)],
                       "color": theme.NEUTRAL, "fill": theme.PANEL})
        self.position_line.setZValue(5)
        self.position_line.setVisible(False)
        self.plot.addItem(self.position_line, ignoreBounds=True)
        self.fills = pg.ScatterPlotItem(size=11, pen=pg.mkPen(theme.BACKGROUND))
        self.fills.setZValue(20)
        self.plot.addItem(self.fills)
        self.setups = pg.PlotDataItem(connect="pairs")
        self.plot.addItem(self.setups, ignoreBounds=True)
        self.signal_marks: list[pg.TextItem] = []
        self.position_text = ""

    # -- orders --------------------------------------------------------------------------
    def set_orders(self, orders: Iterable[OrderUpdate]) -> None:
        """The working orders of the chart's symbol, each as a line (drawn once, moved when
        its price changes; a line being dragged is left alone)."""
        symbol, decimals = self.chart.symbol, self._decimals()
        shown = {o.order_id: o for o in orders
                 if o.symbol == symbol and order_price(o) is not None}
        for order_id in [k for k in self.lines if k not in shown]:
            self.plot.removeItem(self.lines.pop(order_id).line)
            self.chart.price_axis.clear_tag(f"order:{order_id}")
        for order_id, order in shown.items():
            drawn = self.lines.get(order_id)
            if drawn is None:
                drawn = self.lines[order_id] = _OrderLine(order, self._new_line(order))
            drawn.order = order
            price = order_price(order)
            assert price is not None
            if not drawn.dragging:
                drawn.line.setValue(price)
            drawn.line.label.setFormat(order_label(order, decimals))
            color = self._color(order)
            self.chart.price_axis.set_tag(f"order:{order_id}", price,
                                          f"{price:,.{decimals}f}", theme.NEUTRAL,
                                          QColor(color).darker(170))
        # neighbours' labels side by side, so lines a few ticks apart stay readable
        ranked = sorted(self.lines.values(), key=lambda d: d.line.value())
        for rank, drawn in enumerate(ranked):
            drawn.line.label.setPosition(ORDER_LABEL_AT - (rank % LABEL_LANES) * LANE_WIDTH)

    def _new_line(self, order: OrderUpdate) -> pg.InfiniteLine:
        color = self._color(order)
        movable = order.type in MOVABLE
        line = pg.InfiniteLine(
            angle=0, movable=movable,
            pen=pg.mkPen(color, style=Qt.PenStyle.DashLine, width=1),
            hoverPen=pg.mkPen(color, width=2), label="",
            labelOpts={"position": ORDER_LABEL_AT, "anchors": [(1, 1), (1, 1)],
                       "color": color, "fill": theme.PANEL})
        line.setZValue(10)
        line.setCursor(Qt.CursorShape.SizeVerCursor if movable else Qt.CursorShape.ArrowCursor)
        line.sigDragged.connect(lambda _line, oid=order.order_id: self._dragging(oid))
        line.sigPositionChangeFinished.connect(
            lambda _line, oid=order.order_id: self._dropped(oid))
        self.plot.addItem(line, ignoreBounds=True)
        return line

    @staticmethod
    def _color(order: OrderUpdate) -> QColor:
        return theme.UP if order.side is OrderSide.BUY else theme.DOWN

    def _dragging(self, order_id: str) -> None:
        drawn = self.lines.get(order_id)
        if drawn is not None:
            drawn.dragging = True

    def _dropped(self, order_id: str) -> None:
        """A drag ended: ask for the order at the new price (on the tick); refused, the
        line goes back to where the order is."""
        drawn = self.lines.get(order_id)
        if drawn is None:
            return
        drawn.dragging = False
        order = drawn.order
        old = order_price(order)
        new = self.chart.tick_round(drawn.line.value())
        if old is None or new == old or new <= 0 or self.on_move is None:
            drawn.line.setValue(old if old is not None else drawn.line.value())
            return
        drawn.line.setValue(new)
        if self.on_move(order, new) is not None:
            drawn.line.setValue(old)

    def line_near(self, price: float, tolerance: float) -> OrderUpdate | None:
        """The working order whose line is nearest ``price``, within ``tolerance``."""
        near = [(abs(d.line.value() - price), d.order) for d in self.lines.values()
                if abs(d.line.value() - price) <= tolerance]
        return min(near, key=lambda pair: pair[0])[1] if near else None

    # -- position ------------------------------------------------------------------------
    def set_position(self, qty: float, avg_price: float, pnl: float) -> None:
        """The chart symbol's position (qty signed), or none when flat."""
        if qty == 0:
            self.position_line.setVisible(False)
            self.position_text = ""
            self.chart.price_axis.clear_tag("position")
            return
        d = self._decimals()
        side = "LONG" if qty > 0 else "SHORT"
        text = f"{side} {abs(qty):g} @ {avg_price:,.{d}f}  {pnl:+,.2f}"
        color = theme.direction_color(pnl) if pnl else theme.NEUTRAL
        if text != self.position_text:
            self.position_text = text
            self.position_line.setValue(avg_price)
            self.position_line.label.setFormat(text)
            self.position_line.label.setColor(color)
        self.position_line.setVisible(True)
        self.chart.price_axis.set_tag("position", avg_price, f"{avg_price:,.{d}f}",
                                      theme.NEUTRAL, QColor(theme.ACCENT).darker(150))

    # -- fills and signals (placed on bars: again whenever the bars change) ---------------
    def set_fills(self, fills: Iterable[Fill]) -> None:
        spots = []
        for fill in fills:
            if fill.symbol != self.chart.symbol:
                continue
            x = self.chart.x_of_time(fill.ts)
            if x is None:
                continue
            buy = fill.side is OrderSide.BUY
            spots.append({"pos": (x, fill.price), "symbol": "t1" if buy else "t",
                          "brush": theme.UP if buy else theme.DOWN,
                          "data": fill.fill_id})
        self.fills.setData(spots)

    def set_signals(self, records: Iterable[SignalRecord]) -> None:
        for mark in self.signal_marks:
            self.plot.removeItem(mark)
        self.signal_marks = []
        xs: list[float] = []
        ys: list[float] = []
        for record in records:
            signal = record.signal
            if signal.symbol != self.chart.symbol or record.state.terminal:
                continue
            long = signal.direction.sign > 0
            color = theme.UP if long else theme.DOWN
            signal_x = self.chart.x_of_time(signal.bar.ts) if signal.bar else None
            if signal.bar is not None and signal_x is not None:
                self._mark("S", signal_x, signal.bar, long, color)
            confirm = record.confirm_bar
            confirm_x = self.chart.x_of_time(confirm.ts) if confirm is not None else None
            if confirm is not None and confirm_x is not None:
                self._mark("C", confirm_x, confirm, long, color)
            setup = record.setup
            start = confirm_x if confirm_x is not None else signal_x
            if setup is None or start is None:
                continue
            for level in (setup.entry, setup.stop, *setup.targets):
                xs += [start, start + SETUP_BARS]
                ys += [level, level]
        self.setups.setData(xs, ys, pen=pg.mkPen(theme.WARN, width=1,
                                                 style=Qt.PenStyle.DotLine))

    def _mark(self, text: str, x: float, bar: Bar, long: bool, color: QColor) -> None:
        """``text`` under the bar's low for a long, over its high for a short."""
        mark = pg.TextItem(text, color=color, anchor=(0.5, 0.0) if long else (0.5, 1.0))
        mark.setPos(x, bar.low if long else bar.high)
        mark.setZValue(15)
        self.plot.addItem(mark, ignoreBounds=True)
        self.signal_marks.append(mark)

    def _decimals(self) -> int:
        return self.chart.decimals
