"""The price ladder (DOM) dock: a click on the Bid column buys at that row's price (a limit
under the market, a stop above it), on the Ask column sells, with the preset quantity and
the ATM bracket in ticks, all through the router; a click on an own order cancels it; F
inside the ladder flattens; a refused order says the gate's reason; the Volume column
counts exactly what traded at each price.

Prices are NQ's (tick 0.25, $20 a point); the market is 21,000.00 x 21,000.25 after a
first trade of 1 at 21,000.00 (open_market). The ATM bracket starts as the settings'
default: a stop 20 ticks (5.00 points) and a target 2R = 40 ticks (10.00 points) away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from tests.ui.test_main_window import at, publish
from tests.ui.test_trading_panels import long_bracket, open_market
from ui.dialogs.shortcuts import shortcut_rows
from ui.ladder_trading import Atm
from ui.models.ladder_model import ASK, BID, BUY, BUY_ORDER, LONG_AVG, PRICE, SELL, VOLUME
from workstation.model import Quote, Tick
from workstation.orders import OrderSide, OrderStatus, OrderType

LEFT = Qt.MouseButton.LeftButton


def ladder_on(window, qtbot):
    """The ladder in front, its range placed around NQ's market."""
    window.focus_dock("ladder")
    ladder = window.ladder
    assert ladder.model.symbol == "NQ"
    qtbot.waitUntil(lambda: ladder.isVisible() and ladder.model.last_row() is not None)
    return ladder


def cell(ladder, price: float, column: int) -> str:
    model = ladder.model
    row = model.row_of(price)
    assert row is not None, f"{price} is not on the ladder"
    return model.data(model.index(row, column))


def click(ladder, qtbot, price: float, column: int) -> None:
    """A left click on the cell of ``price`` in ``column``, as the mouse does it."""
    model, table = ladder.model, ladder.table
    index = model.index(model.row_of(price), column)
    table.scrollTo(index)
    qtbot.mouseClick(table.viewport(), LEFT, pos=table.visualRect(index).center())


def working(window):
    return window.engine.broker.open_orders()


def test_a_bid_click_below_the_market_buys_limit_there_with_the_preset_and_the_atm_bracket(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    qtbot.mouseClick(ladder.presets[2], LEFT)

    click(ladder, qtbot, 20_990.00, BID)

    (order,) = working(window)
    assert (order.side, order.type, order.qty, order.limit_price) == (
        OrderSide.BUY, OrderType.LIMIT, 2.0, 20_990.00)
    # 20 ticks = 5.00 points under the fill, 40 ticks = 10.00 over it
    bracket = order.intent.bracket
    assert bracket is not None and (bracket.stop_offset, bracket.target_offset) == (5.0, 10.0)
    assert (bracket.stop_loss, bracket.take_profit) == (20_985.00, 21_000.00)
    assert "Sent buy 2 NQ limit 20,990 day (manual-1)" in ladder.footer.text()
    assert "Sent buy 2 NQ limit 20,990 day" in window.notice.text()
    qtbot.waitUntil(lambda: cell(ladder, 20_990.00, BUY) == "2")  # committed, then shown
    model = ladder.model
    index = model.index(model.row_of(20_990.00), BUY)
    assert model.data(index, Qt.ItemDataRole.BackgroundRole) == BUY_ORDER


def test_a_bid_click_above_the_market_places_a_buy_stop(workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)

    click(ladder, qtbot, 21_005.00, BID)  # above the ask: a buy there is a stop

    (order,) = working(window)
    assert (order.side, order.type, order.qty, order.stop_price, order.limit_price) == (
        OrderSide.BUY, OrderType.STOP, 1.0, 21_005.00, None)
    bracket = order.intent.bracket
    assert bracket is not None and (bracket.stop_loss, bracket.take_profit) == (
        21_000.00, 21_015.00)


def test_an_ask_click_above_the_market_sells_limit_there_with_the_atm_bracket(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    ladder.atm_box.setChecked(True)
    ladder.stop_ticks.setValue(8)  # 2.00 points
    ladder.target_ticks.setValue(12)  # 3.00 points

    click(ladder, qtbot, 21_010.00, ASK)

    (order,) = working(window)
    assert (order.side, order.type, order.qty, order.limit_price) == (
        OrderSide.SELL, OrderType.LIMIT, 1.0, 21_010.00)
    bracket = order.intent.bracket
    assert bracket is not None and (bracket.stop_loss, bracket.take_profit) == (
        21_012.00, 21_007.00)


def test_an_ask_click_below_the_market_places_a_sell_stop_and_atm_off_sends_no_bracket(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    ladder.atm_box.setChecked(False)

    click(ladder, qtbot, 20_995.50, ASK)

    (order,) = working(window)
    assert (order.side, order.type, order.stop_price, order.intent.bracket) == (
        OrderSide.SELL, OrderType.STOP, 20_995.50, None)


def test_a_click_on_an_own_order_cancels_it(workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    click(ladder, qtbot, 21_020.00, ASK)
    (order,) = working(window)
    qtbot.waitUntil(lambda: cell(ladder, 21_020.00, SELL) == "1")

    click(ladder, qtbot, 21_020.00, SELL)

    assert working(window) == []
    assert window.engine.broker.all_orders()[0].status is OrderStatus.CANCELED
    assert f"Cancel sent for {order.client_order_id}" in ladder.footer.text()
    qtbot.waitUntil(lambda: cell(ladder, 21_020.00, SELL) == "")


def test_a_right_click_lists_the_orders_at_that_price_to_cancel(workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    click(ladder, qtbot, 20_980.00, BID)
    qtbot.waitUntil(lambda: cell(ladder, 20_980.00, BUY) == "1")

    menu = ladder.context_menu(ladder.model.row_of(20_980.00))
    actions = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert list(actions) == ["Cancel BUY LMT 1 @ 20,980.00", "Cancel all NQ orders"]
    actions["Cancel BUY LMT 1 @ 20,980.00"].trigger()

    assert working(window) == []


def test_f_in_the_ladder_flattens_the_position_and_x_cancels_the_symbols_orders(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    long_bracket(window)  # long 1 at 21,000.25 with a stop and a target working
    qtbot.waitUntil(lambda: ladder.position_text.startswith("LONG 1 @ 21,000.25"))
    average = ladder.model.index(ladder.model.row_of(21_000.25), PRICE)
    qtbot.waitUntil(lambda: average.data(Qt.ItemDataRole.BackgroundRole) == LONG_AVG)
    click(ladder, qtbot, 20_990.00, BID)  # and a buy limit more
    assert len(working(window)) == 3
    window.activateWindow()
    ladder.table.setFocus()
    qtbot.waitUntil(ladder.table.hasFocus)
    follows = window.chart.follow_button.isChecked()

    qtbot.keyClick(ladder.table, Qt.Key.Key_X)  # cancel all NQ orders
    assert working(window) == []
    assert ladder.footer.text().startswith("Cancel all NQ: manual-")
    qtbot.keyClick(ladder.table, Qt.Key.Key_F)  # flatten: sold at the bid

    assert "Flatten NQ: working orders canceled, 1 closing order(s) sent" in \
        ladder.footer.text()
    assert all(p.qty == 0 for p in window.engine.broker.positions())
    qtbot.waitUntil(lambda: ladder.position_text == "flat")
    assert window.chart.follow_button.isChecked() == follows  # F was the ladder's here


def test_an_order_the_gate_refuses_shows_its_reason_in_the_ladder_and_the_status_bar(
        workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    window.engine.kill_switch.activate("testing the ladder")

    click(ladder, qtbot, 20_990.00, BID)

    assert working(window) == []
    footer = ladder.footer.text()
    assert footer.startswith("buy 1 NQ limit 20,990 day rejected: risk: kill_switch: ")
    assert footer in window.notice.text()
    assert ladder.footer.isVisible()


def test_the_volume_column_counts_what_traded_at_each_price_this_session(workstation, qtbot):
    window = workstation()
    open_market(window)  # 1 at 21,000.00
    ladder = ladder_on(window, qtbot)

    publish(window, Tick("NQ", at(15, 0, 3), 21_000.25, 3, 1),
            Tick("NQ", at(15, 0, 4), 21_000.00, 2, -1),
            Tick("NQ", at(15, 0, 5), 20_999.75, 4, -1),
            Tick("NQ", at(15, 0, 6), 21_000.25, 5, 1),
            Tick("ES", at(15, 0, 7), 5_000.00, 9, 1))  # another symbol: not NQ's

    qtbot.waitUntil(lambda: cell(ladder, 21_000.25, VOLUME) == "8")
    assert [cell(ladder, p, VOLUME) for p in (21_000.50, 21_000.25, 21_000.00, 20_999.75,
                                              20_999.50)] == ["", "8", "3", "4", ""]
    assert cell(ladder, 21_000.25, PRICE) == "21,000.25"  # the last trade's row
    assert ladder.model.last_row() == ladder.model.row_of(21_000.25)


def test_with_auto_centre_off_the_prices_stay_put_while_the_market_runs(workstation, qtbot):
    window = workstation()
    open_market(window)
    ladder = ladder_on(window, qtbot)
    ladder.auto_centre.setChecked(False)
    ladder.centre()
    top = ladder.model.top

    def first_price() -> str:
        return cell(ladder, ladder.model.price_at(ladder.table.rowAt(0)), PRICE)

    shown = first_price()
    # 120 ticks up: beyond the ladder's range (100 ticks either side of the last trade)
    publish(window, Tick("NQ", at(15, 0, 3), 21_030.00, 1, 1))
    qtbot.waitUntil(lambda: ladder.model.last_row() == ladder.model.row_of(21_030.00))
    frames = window.bridge.frames
    qtbot.waitUntil(lambda: window.bridge.frames > frames + 1)

    assert ladder.model.top != top  # the range moved to take the new price in...
    assert first_price() == shown  # ... and the rows in view did not
    ladder.auto_centre.setChecked(True)
    qtbot.waitUntil(lambda: first_price() != shown)  # now it follows the market


def test_the_ladder_follows_the_charts_symbol_and_its_hotkeys_are_listed_in_help(
        workstation, qtbot):
    window = workstation()
    ladder = window.ladder
    window.show_series("ES", "1m")
    assert ladder.model.symbol == "ES" and ladder.symbol_label.text() == "ES"

    shown = {(menu, text): keys for menu, text, keys in shortcut_rows(window.actions.menus())}
    assert shown[("Ladder", "Centre")] == "C"
    assert shown[("Ladder", "Flatten")] == "F"
    assert shown[("Ladder", "Cancel all")] == "X"
    assert shown[("View", "Price ladder")] == ""
    flatten = window.actions["ladder_flatten"]
    assert flatten not in QWidget.actions(window)  # its keys are the ladder's only
    assert flatten in QWidget.actions(ladder)


def test_the_quantity_bracket_and_auto_centre_are_kept_for_the_next_start(workstation,
                                                                        tmp_path, run):
    first = workstation(tmp_path)
    ladder = first.ladder
    ladder.qty.setValue(5)
    ladder.atm_box.setChecked(False)
    ladder.stop_ticks.setValue(8)
    ladder.target_ticks.setValue(16)
    ladder.auto_centre.setChecked(False)
    first.close()
    run(first.engine.stop())

    again = workstation(tmp_path).ladder
    assert (again.qty.value(), again.atm(), again.auto_centre.isChecked()) == (
        5, Atm(False, 8, 16), False)
    assert again.presets[5].isChecked() and not again.presets[1].isChecked()


def test_a_crypto_ladder_sends_fractions_of_a_coin_on_its_lot_grid(workstation, qtbot):
    """BTC/USD trades in lots of 0.0001: the box takes 0.05 (and brings 0.12345 onto the
    grid, 0.1234 or 0.1235, never a size the broker would refuse); a bid click below the
    market buys 0.05 there. NQ's box is back to whole contracts."""
    window = workstation()
    publish(window, Tick("BTC/USD", at(15, 0, 0), 95_000.00, 0.5, 1),
            Quote("BTC/USD", at(15, 0, 1), 95_000.00, 95_000.01, 1.0, 1.0))
    window.show_series("BTC/USD", "1m")
    window.focus_dock("ladder")
    ladder = window.ladder
    qtbot.waitUntil(lambda: ladder.isVisible() and ladder.model.last_row() is not None)
    ladder.set_atm(Atm(False, 0, 0))
    assert ladder.qty.decimals() == 4 and ladder.qty.minimum() == 0.0001

    ladder.qty.setValue(0.05)
    click(ladder, qtbot, 94_999.50, BID)

    (order,) = working(window)
    assert (order.side, order.type, order.qty, order.limit_price) == (
        OrderSide.BUY, OrderType.LIMIT, 0.05, 94_999.50)
    ladder.qty.setValue(0.12345)
    assert ladder.qty.value() in (0.1234, 0.1235)
    window.show_series("NQ", "1m")
    assert ladder.qty.decimals() == 0 and ladder.qty.value() == 1.0
