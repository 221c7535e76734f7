"""Trading from the chart: a right click places a limit or stop at the clicked price (on
the tick) through the router, dragging a working order's line modifies it (a drag the
gate refuses goes back and says why), a right click on a line cancels it; the position,
orders and fills are drawn; the last price is tagged on the axis and the crosshair's
price is inside the plot, on the tick.

Prices are NQ's (tick 0.25); the market is 21,000.00 x 21,000.25 (open_market)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QDeadlineTimer, QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.ui.test_main_window import publish
from tests.ui.test_signals_panel import desk, long_setup, shown_state
from tests.ui.test_trading_panels import long_bracket, open_market
from ui.panels.chart import CROSS_LABEL_AT
from workstation.model import Bar, Tick
from workstation.orders import OrderSide, OrderStatus, OrderType

LEFT = Qt.MouseButton.LeftButton


def chart_on(window, low: float = 20_900.0, high: float = 21_100.0):
    """The chart's price pane showing ``low`` to ``high`` (not following the market),
    laid out and painted."""
    chart = window.chart
    deadline = QDeadlineTimer(5_000)
    while window.bridge.frames == 0 and not deadline.hasExpired():  # the first frame shows
        QApplication.processEvents()  # the series again, following the market
    QApplication.processEvents()
    chart.follow_button.setChecked(False)
    chart.price_plot.setXRange(0, 90, padding=0)  # (fits the prices to the bars in view)
    chart.price_plot.setYRange(low, high, padding=0)
    QApplication.processEvents()
    return chart


def scene_at(chart, price: float, x: float = 45.0) -> QPointF:
    return chart.price_plot.getViewBox().mapViewToScene(QPointF(x, price))


def menu_actions(chart, price: float) -> dict[str, object]:
    menu = chart.context_menu(scene_at(chart, price))
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


@pytest.fixture(autouse=True)
def every_mouse_move():
    """pyqtgraph drops mouse moves closer than 1/100 s apart (its mouseRateLimit): the
    synthetic drags below come faster than a hand, and every move counts."""
    limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=0)
    yield
    pg.setConfigOptions(mouseRateLimit=limit)


def drag(chart, start: QPointF, end: QPointF) -> None:
    """A left-button drag in the chart's view, as a mouse does it (press, moves with the
    button held, release)."""
    viewport = chart.graphics.viewport()
    points = [chart.graphics.mapFromScene(p) for p in (start, end)]
    first, last = QPointF(points[0]), QPointF(points[1])
    steps = [first + (last - first) * (k / 8) for k in range(9)]

    def send(kind: QEvent.Type, at: QPointF, button: Qt.MouseButton,
             buttons: Qt.MouseButton) -> None:
        event = QMouseEvent(kind, at, viewport.mapToGlobal(at.toPoint()).toPointF(), button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)

    send(QEvent.Type.MouseMove, steps[0], Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    send(QEvent.Type.MouseButtonPress, steps[0], LEFT, LEFT)
    for point in steps[1:]:
        send(QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, LEFT)
    send(QEvent.Type.MouseButtonRelease, steps[-1], LEFT, Qt.MouseButton.NoButton)


def working(window):
    return window.engine.broker.open_orders()


def test_a_right_click_below_the_market_buys_limit_at_that_price_through_the_router(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window)

    actions = menu_actions(chart, 20_990.1)  # between ticks: snapped to 20,990.00

    assert list(actions)[:2] == ["Buy limit 1 @ 20,990.00", "Sell stop 1 @ 20,990.00"]
    assert "Sell limit 1 @ 20,990.00" not in actions  # a sell limit under the market fills
    actions["Buy limit 1 @ 20,990.00"].trigger()
    (order,) = working(window)
    assert (order.side, order.type, order.qty, order.limit_price) == (
        OrderSide.BUY, OrderType.LIMIT, 1.0, 20_990.00)
    # the default bracket ([trading]): 20 ticks = 5.00 points under the fill, 2R above
    bracket = order.intent.bracket
    assert bracket is not None and (bracket.stop_offset, bracket.target_offset) == (5.0, 10.0)
    assert (bracket.stop_loss, bracket.take_profit) == (20_985.00, 21_000.00)
    assert "Sent buy 1 NQ limit 20,990 day" in window.notice.text()


def test_a_right_click_above_the_market_offers_a_sell_limit_and_a_buy_stop(workstation):
    window = workstation()
    open_market(window)
    chart = chart_on(window)

    actions = menu_actions(chart, 21_012.4)
    assert list(actions)[:2] == ["Sell limit 1 @ 21,012.50", "Buy stop 1 @ 21,012.50"]
    actions["Buy stop 1 @ 21,012.50"].trigger()

    (order,) = working(window)
    assert (order.side, order.type, order.stop_price) == (OrderSide.BUY, OrderType.STOP,
                                                           21_012.50)


def test_a_chart_order_the_gate_refuses_is_reported_and_never_reaches_the_broker(workstation):
    window = workstation()
    open_market(window)
    chart = chart_on(window, 19_000.0, 21_100.0)

    menu_actions(chart, 19_500.0)["Buy limit 1 @ 19,500.00"].trigger()  # 7.1% off: band 5%

    assert working(window) == []
    assert "rejected: risk: price_band" in window.notice.text()


def test_dragging_an_order_line_modifies_the_order_at_the_new_price(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window)
    window.chart_trading.place(OrderSide.BUY, OrderType.LIMIT, 20_980.00)
    (order,) = working(window)
    overlay = window.chart_trading.overlay
    qtbot.waitUntil(lambda: order.order_id in overlay.lines)
    line = overlay.lines[order.order_id].line
    assert line.value() == 20_980.00
    assert line.label.format == "BUY LMT 1 @ 20,980.00"

    drag(chart, scene_at(chart, 20_980.0), scene_at(chart, 20_960.0))

    expected = chart.tick_round(line.value())  # where the drop landed, on the tick
    assert abs(expected - 20_960.0) <= 1.0  # a pixel is under a point here
    (moved,) = working(window)
    assert moved.order_id == order.order_id and moved.limit_price == expected
    assert "Modify sent for manual-1" in window.notice.text()
    qtbot.waitUntil(lambda: overlay.lines[order.order_id].order.limit_price == expected)
    assert chart.price_axis.tags[f"order:{order.order_id}"].value == expected


def test_a_drag_the_gate_refuses_puts_the_line_back_and_says_why(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window, 19_500.0, 21_100.0)
    window.chart_trading.place(OrderSide.BUY, OrderType.LIMIT, 20_980.00)
    (order,) = working(window)
    overlay = window.chart_trading.overlay
    qtbot.waitUntil(lambda: order.order_id in overlay.lines)

    drag(chart, scene_at(chart, 20_980.0), scene_at(chart, 19_700.0))  # 6.2% off the last

    assert overlay.lines[order.order_id].line.value() == 20_980.00  # back where it is
    assert working(window)[0].limit_price == 20_980.00
    assert "Not moved: manual-1: risk: price_band: limit 19,7" in window.notice.text()


def test_a_right_click_on_an_order_line_cancels_that_order(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window)
    window.chart_trading.place(OrderSide.SELL, OrderType.LIMIT, 21_050.00)
    (order,) = working(window)
    qtbot.waitUntil(lambda: order.order_id in window.chart_trading.overlay.lines)

    actions = menu_actions(chart, 21_050.2)  # a pixel off the line is on it
    actions["Cancel SELL LMT 1 @ 21,050.00"].trigger()

    assert working(window) == []
    assert window.engine.broker.all_orders()[0].status is OrderStatus.CANCELED


def test_the_position_its_bracket_and_the_fill_are_drawn_on_the_chart(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart_on(window)
    publish(window, Tick("NQ", window.engine.clock.now_ns(), 21000.00, 1, -1))
    window.show_series("NQ", "1m")
    long_bracket(window)  # bought at 21,000.25; stop 20,990.25, target 21,020.25
    overlay = window.chart_trading.overlay
    qtbot.waitUntil(lambda: len(overlay.lines) == 2 and overlay.position_line.isVisible())

    labels = sorted(d.line.label.format for d in overlay.lines.values())
    assert labels == ["STOP SELL 1 @ 20,990.25", "TARGET SELL 1 @ 21,020.25"]
    assert overlay.position_line.value() == 21_000.25
    assert overlay.position_text == "LONG 1 @ 21,000.25  +0.00"
    publish(window, Tick("NQ", window.engine.clock.now_ns() + 1, 21_000.00, 1, -1))
    # marked at 21,000.00: 0.25 x $20 under the entry
    qtbot.waitUntil(lambda: overlay.position_text == "LONG 1 @ 21,000.25  -5.00")
    qtbot.waitUntil(lambda: len(overlay.fills.data) == 1)
    (spot,) = overlay.fills.data
    assert (spot["x"], spot["y"], spot["symbol"]) == (0.0, 21_000.25, "t1")  # the forming bar


def test_the_last_price_is_tagged_on_the_axis_not_over_the_candles(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window)
    ts = window.engine.clock.now_ns()
    chart.show_series("NQ", "1m", [Bar("NQ", "1m", ts - 60_000_000_000, ts, 20_990.0,
                                       21_001.0, 20_985.0, 21_000.0, 10, 5)], None)
    chart_on(window)

    tag = chart.price_axis.tags["last"]
    assert (tag.value, tag.text) == (21_000.0, "21,000.00")
    rect = chart.price_axis.tag_rect("last")
    assert rect is not None
    on_axis = chart.price_axis.mapRectToScene(rect)
    plot_area = chart.price_plot.getViewBox().sceneBoundingRect()
    assert on_axis.left() >= plot_area.right() - 1  # right of the candles, on the axis
    middle = chart.price_plot.getViewBox().mapViewToScene(QPointF(0, 21_000.0)).y()
    assert abs(on_axis.center().y() - middle) <= 1.0


def test_the_crosshair_price_is_inside_the_plot_and_on_the_tick(workstation, qtbot):
    window = workstation()
    open_market(window)
    chart = chart_on(window)

    chart._on_mouse_moved((scene_at(chart, 21_003.37, x=2.0),))
    QApplication.processEvents()

    assert chart.cross_h.value() == 21_003.25
    assert chart.cross_h.label.toPlainText() == "21,003.25"
    label = chart.cross_h.label.sceneBoundingRect()
    view = chart.price_plot.getViewBox().sceneBoundingRect()
    assert view.contains(label)  # whole, right-aligned at CROSS_LABEL_AT of the width
    assert abs(label.right() - (view.left() + view.width() * CROSS_LABEL_AT)) <= 2.0


def test_an_open_signal_is_marked_on_its_bars_with_its_setup_levels(workstation, qtbot):
    window = desk(workstation)
    window.show_series("NQ", "1m")
    record = long_setup(window)  # signal bar m1, confirmed on m3
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    overlay = window.chart_trading.overlay

    qtbot.waitUntil(lambda: len(overlay.signal_marks) == 2)
    marks = [(m.toPlainText(), m.pos().x(), m.pos().y()) for m in overlay.signal_marks]
    assert marks == [("S", 1.0, 20_990.0), ("C", 3.0, 20_995.0)]  # under each bar's low
    setup = window.engine.signals.records[record.id].setup
    xs, ys = overlay.setups.getData()
    levels = [setup.entry, setup.stop, *setup.targets]
    assert list(ys) == [level for level in levels for _ in range(2)]
    assert list(xs) == [3.0, 11.0] * len(levels)  # from the confirming bar, 8 bars on


def test_an_order_line_at_the_top_of_the_range_keeps_its_label_in_view(workstation, qtbot):
    window = workstation()
    window.resize(1350, 720)  # a laptop's window: a price pane under 200 px high
    window.reset_layout()
    open_market(window)
    chart = chart_on(window)
    assert chart.price_plot.getViewBox().height() < 200
    ts = window.engine.clock.now_ns()
    chart.show_series("NQ", "1m", [Bar("NQ", "1m", ts - 60_000_000_000, ts, 20_990.0,
                                       21_001.0, 20_985.0, 21_000.0, 10, 5)], None)
    assert chart.follow_button.isChecked()
    window.chart_trading.place(OrderSide.SELL, OrderType.LIMIT, 21_010.00)  # over the bars
    overlay = window.chart_trading.overlay
    qtbot.waitUntil(lambda: len(overlay.lines) == 1)  # the prices fitted again, with it
    QApplication.processEvents()

    (drawn,) = overlay.lines.values()
    view = chart.price_plot.getViewBox()
    low, high = view.viewRange()[1]
    assert low < 20_985.0 and high > 21_010.0
    assert view.sceneBoundingRect().contains(drawn.line.label.sceneBoundingRect())
