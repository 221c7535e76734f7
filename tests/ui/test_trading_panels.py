"""Paper trading in the real main window: the order ticket, Active Trades with R and
MFE/MAE, the Orders and Account docks, the Trade menu, and the docks' layout.

Fills come from Quote/Tick events the tests publish on the engine's bus (the paper
broker buys at the ask, sells at the bid); every number below is worked by hand for
NQ: tick 0.25, $20 a point, $2.50 commission per contract per side, $25,000 margin.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QToolButton

from tests.ui.test_main_window import at, publish
from ui import theme
from ui.models.trades_model import ACTIVE_COLUMNS, Proximity, stop_proximity
from ui.ticket import Distance, TicketForm, build_intent, price_ticket, problems
from workstation.market import SymbolState
from workstation.model import Quote, Tick
from workstation.orders import (
    Bracket,
    Fill,
    OrderIntent,
    OrderSide,
    OrderType,
    OrderUpdate,
)

LEFT = Qt.MouseButton.LeftButton


def row_texts(model, row: int = 0) -> list[str]:
    return [model.data(model.index(row, c)) for c in range(model.columnCount())]


def active_cell(window, column: str, role=Qt.ItemDataRole.DisplayRole, row: int = 0):
    model = window.trades.active_model
    return model.data(model.index(row, ACTIVE_COLUMNS.index(column)), role)


def open_market(window, quote_second: float = 1.0) -> None:
    """A first trade rolls the trading day; then a quote to buy from: 21,000.00 x 21,000.25."""
    publish(window, Tick("NQ", at(15, 0, 0), 21000.00, 1, 1),
            Quote("NQ", at(15, 0, quote_second), 21000.00, 21000.25, 10, 10))


def long_bracket(window, qty: float = 1.0) -> OrderUpdate:
    """Buy at market (21,000.25) with a stop 10 points under and a target 2R above."""
    window.engine.clock.advance_to(at(15, 0, 2))
    intent = OrderIntent(window.next_client_id(), "NQ", OrderSide.BUY, qty, OrderType.MARKET,
                         bracket=Bracket(stop_loss=20990.25, take_profit=21020.25))
    return window.engine.router.submit(intent)


# -- the order ticket -----------------------------------------------------------------------
def test_a_bracket_order_from_the_ticket_fills_and_shows_as_an_active_trade(workstation, qtbot):
    window = workstation()
    open_market(window)
    window.actions["new_order"].trigger()
    ticket = window.ticket
    assert ticket is not None and ticket.isVisible()
    ticket.symbol.setCurrentText("NQ")
    ticket.side.setCurrentText("Buy")
    ticket.qty.setValue(1)
    ticket.order_type.setCurrentText("Market")
    assert not ticket.limit_price.isEnabled() and not ticket.stop_price.isEnabled()
    ticket.tif.setCurrentText("Day")
    ticket.bracket_box.setChecked(True)
    ticket.stop_distance.setValue(40)
    ticket.stop_unit.setCurrentText("ticks")
    ticket.target_distance.setValue(2)
    ticket.target_unit.setCurrentText("R")
    # from the ask: 40 ticks = 10.00 points under, 2R = 20.00 points over
    assert ticket.preview.text() == "from 21,000.25 (ask) → stop 20,990.25 · target 21,020.25"

    qtbot.mouseClick(ticket.review_button, LEFT)
    assert ticket.stack.currentIndex() == 1  # nothing is sent before the confirmation
    assert window.engine.broker.all_orders() == []
    shown = ticket.summary.text()
    for text in ("BUY 1 NQ market · DAY", "21,000.25 (ask)",
                 "10.00 pts below the fill ≈ 20,990.25 · 40 ticks · risk $200.00",
                 "20.00 pts above the fill (2R) ≈ 21,020.25 · reward $400.00",
                 "$2.50 per side"):
        assert text in shown
    qtbot.mouseClick(ticket.submit_button, LEFT)
    assert not ticket.isVisible()

    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    assert row_texts(window.trades.active_model) == [
        "NQ", "Long", "1", "21,000.25", "21,000.25", "20,990.25", "21,020.25", "+0.00",
        "+0.00", "+0.00", "+0.00", "40", "manual"]
    entry = window.engine.broker.all_orders()[0]
    assert (entry.client_order_id, entry.avg_fill_price) == ("manual-1", 21000.25)
    # the legs work as an OCO pair; the entry is done with its fill
    orders = window.orders
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 2)
    legs = sorted((row_texts(orders.working_model, r)[2:6]
                   for r in range(2)), key=lambda texts: texts[1])
    assert legs == [["Sell", "limit", "1", "21,020.25"], ["Sell", "stop", "1", "20,990.25"]]
    assert row_texts(orders.history_model)[1:4] == ["Buy 1 NQ market", "filled",
                                                    "1 @ 21,000.25"]


def test_the_ticket_bracket_is_priced_from_the_fill_and_its_estimates_follow_the_market(
        workstation, qtbot):
    window = workstation()
    open_market(window)  # 21,000.00 x 21,000.25
    ticket = window.open_ticket()
    ticket.bracket_box.setChecked(True)
    ticket.stop_distance.setValue(5)
    ticket.stop_unit.setCurrentText("points")
    ticket.target_distance.setValue(2)
    ticket.target_unit.setCurrentText("R")
    assert ticket.review()
    # 5.00 points = 20 ticks = $100 a contract; 2R = 10.00 points = $200
    for text in ("21,000.25 (ask)",
                 "5.00 pts below the fill ≈ 20,995.25 · 20 ticks · risk $100.00",
                 "10.00 pts above the fill (2R) ≈ 21,010.25 · reward $200.00"):
        assert text in ticket.summary.text()

    publish(window, Quote("NQ", at(15, 0, 2), 21004.00, 21004.25, 10, 10))
    # once a frame, the confirmation page re-prices its estimates from the new ask
    qtbot.waitUntil(lambda: "≈ 20,999.25" in ticket.summary.text())
    assert "21,004.25 (ask)" in ticket.summary.text()
    assert "10.00 pts above the fill (2R) ≈ 21,014.25" in ticket.summary.text()
    publish(window, Quote("NQ", at(15, 0, 3), 21004.75, 21005.00, 10, 10),
            Tick("NQ", at(15, 0, 3), 21005.00, 1, 1))
    qtbot.mouseClick(ticket.submit_button, LEFT)  # the legs are priced from the fill

    # filled at 21,005.00: stop 21,000.00, target 21,015.00 (20 ticks of R)
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    assert [active_cell(window, c) for c in ("Entry", "Stop", "Target", "Ticks to stop")] == [
        "21,005.00", "21,000.00", "21,015.00", "20"]
    entry = window.engine.broker.all_orders()[0]
    assert entry.avg_fill_price == 21005.00


def test_two_bracket_entries_on_one_symbol_are_two_rows_in_trades(workstation, qtbot):
    window = workstation()
    open_market(window)
    long_bracket(window)  # 21,000.25, stop 20,990.25 (R 10 points)
    publish(window, Quote("NQ", at(15, 0, 3), 21004.75, 21005.00, 10, 10),
            Tick("NQ", at(15, 0, 3), 21005.00, 1, 1))
    window.engine.router.submit(OrderIntent(
        window.next_client_id(), "NQ", OrderSide.BUY, 1, OrderType.MARKET,
        bracket=Bracket(stop_loss=21000.00, take_profit=21015.00)))  # R 5 points
    model = window.trades.active_model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert [row_texts(model, r)[:7] + row_texts(model, r)[11:] for r in range(2)] == [
        ["NQ", "Long", "1", "21,000.25", "21,005.00", "20,990.25", "21,020.25", "59",
         "manual"],
        ["NQ", "Long", "1", "21,005.00", "21,005.00", "21,000.00", "21,015.00", "20",
         "manual"]]
    assert window.engine.portfolio.position("NQ") == 2  # one netted position


def test_the_ticket_prices_limit_and_stop_orders_from_their_own_price(workstation, qtbot):
    window = workstation()
    open_market(window)
    ticket = window.open_ticket()
    ticket.order_type.setCurrentText("Limit")
    assert ticket.limit_price.isEnabled() and not ticket.stop_price.isEnabled()
    assert not ticket.trail.isEnabled()
    ticket.limit_price.setValue(20995.00)
    ticket.bracket_box.setChecked(True)
    ticket.stop_distance.setValue(5)
    ticket.stop_unit.setCurrentText("points")
    ticket.target_distance.setValue(30)
    ticket.target_unit.setCurrentText("ticks")
    assert ticket.preview.text() == "from 20,995.00 (limit) → stop 20,990.00 · target 21,002.50"
    ticket.order_type.setCurrentText("Trailing stop")
    assert ticket.trail.isEnabled() and not ticket.limit_price.isEnabled()
    ticket.order_type.setCurrentText("Stop-limit")
    assert ticket.limit_price.isEnabled() and ticket.stop_price.isEnabled()
    ticket.close()


def test_a_rejected_ticket_stays_open_and_says_why(workstation, qtbot):
    window = workstation()
    open_market(window)
    ticket = window.open_ticket()
    ticket.qty.setValue(10)  # 10 x $25,000 margin: more than the $100,000 account
    qtbot.mouseClick(ticket.review_button, LEFT)
    qtbot.mouseClick(ticket.submit_button, LEFT)
    assert ticket.isVisible() and ticket.stack.currentIndex() == 0
    assert ticket.error.text().startswith("Rejected: insufficient buying power")
    assert "needs 250,025.00, available 100,000.00" in ticket.error.text()
    qtbot.waitUntil(lambda: window.orders.history_model.rowCount() == 1)
    assert row_texts(window.orders.history_model)[2] == "rejected"


def test_the_ticket_will_not_review_a_bracket_without_a_quote(workstation, qtbot):
    window = workstation()
    ticket = window.open_ticket()
    ticket.bracket_box.setChecked(True)
    assert not ticket.review()
    assert ticket.error.text() == ("Cannot review: no quote for NQ yet: the bracket cannot be "
                                   "priced")
    assert ticket.stack.currentIndex() == 0


def test_ticket_distances_in_points_and_r_round_to_the_tick(workstation):
    window = workstation()
    es = window.engine.instruments["ES"]
    market = SymbolState("ES", last=6000.00, bid=6000.00, ask=6000.25)
    form = TicketForm("ES", OrderSide.SELL, 2, OrderType.LIMIT, limit_price=6000.10,
                      bracket=True, stop_distance=7.3, stop_unit=Distance.POINTS,
                      target_distance=2, target_unit=Distance.R)
    priced = price_ticket(form, market, es)
    # the limit rounds to 6,000.00; 7.3 points above it rounds to 6,007.25 (R = 7.25);
    # 2R below the entry is 5,985.50
    assert (priced.limit_price, priced.stop_loss, priced.take_profit) == (6000.00, 6007.25,
                                                                          5985.50)
    assert problems(priced, es) == []
    intent = build_intent(priced, "manual-1")
    # sent as distances from the fill (7.25 and 14.50 points), the prices as estimates
    assert intent.bracket == Bracket(6007.25, 5985.50, stop_offset=7.25, target_offset=14.5)
    assert (intent.limit_price, intent.qty, intent.source) == (6000.00, 2, "manual")


def test_a_ticket_stop_distance_under_half_a_tick_is_refused_as_rounding_to_zero(workstation):
    window = workstation()
    nq = window.engine.instruments["NQ"]
    market = SymbolState("NQ", last=21000.00, bid=21000.00, ask=21000.25)
    form = TicketForm("NQ", OrderSide.BUY, 1, bracket=True, stop_distance=0.1,
                      stop_unit=Distance.POINTS, target_distance=2, target_unit=Distance.R)

    assert problems(price_ticket(form, market, nq), nq) == [
        "the stop-loss distance rounds to zero ticks"]


# -- active trades ----------------------------------------------------------------------------
def test_active_trade_shows_r_now_mfe_and_mae_from_each_tick(workstation, qtbot):
    window = workstation()
    open_market(window)
    long_bracket(window)
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    # R = 21,000.25 - 20,990.25 = 10 points (40 ticks)
    publish(window, Tick("NQ", at(15, 0, 3), 21005.25, 1, 1),
            Tick("NQ", at(15, 0, 4), 21008.25, 1, 1),
            Tick("NQ", at(15, 0, 5), 20998.25, 1, -1))
    qtbot.waitUntil(lambda: active_cell(window, "Current") == "20,998.25")
    assert active_cell(window, "R now") == "-0.20"
    assert active_cell(window, "MFE R") == "+0.80"
    assert active_cell(window, "MAE R") == "-0.20"
    assert active_cell(window, "Unreal $") == "-40.00"  # -2 points x $20
    assert active_cell(window, "Ticks to stop") == "32"  # 8 points over the stop
    assert active_cell(window, "R now", Qt.ItemDataRole.ForegroundRole) == theme.DOWN
    assert active_cell(window, "MFE R", Qt.ItemDataRole.ForegroundRole) == theme.UP
    background = Qt.ItemDataRole.BackgroundRole
    assert active_cell(window, "Ticks to stop", background) == theme.SAFE_BG  # > 20 ticks

    publish(window, Tick("NQ", at(15, 0, 6), 20994.25, 1, -1))  # 16 ticks: within half R
    qtbot.waitUntil(lambda: active_cell(window, "Ticks to stop") == "16")
    assert active_cell(window, "Ticks to stop", background) == theme.NEAR_BG
    publish(window, Tick("NQ", at(15, 0, 7), 20992.25, 1, -1))  # 8 ticks: within a quarter
    qtbot.waitUntil(lambda: active_cell(window, "Ticks to stop") == "8")
    assert active_cell(window, "Ticks to stop", background) == theme.DANGER_BG
    assert active_cell(window, "MAE R") == "-0.80"

    # the newest trade is charted without a click, in R: the last point is now
    chart = window.trades.chart
    assert (chart.trade_id, chart.units) == ("T1", "R")
    qtbot.waitUntil(lambda: chart.current.getData()[1][-1] == pytest.approx(-0.8))
    x, mfe = chart.mfe.getData()
    assert (x[-1], mfe[-1], chart.mae.getData()[1][-1]) == (5.0, pytest.approx(0.8),
                                                            pytest.approx(-0.8))
    assert chart.exit_x is None and chart.break_even_x is None


def test_stop_proximity_is_relative_to_r_or_fixed_ticks_without_one():
    assert stop_proximity(10, 40) is Proximity.DANGER  # a quarter of 40
    assert stop_proximity(11, 40) is Proximity.NEAR
    assert stop_proximity(20, 40) is Proximity.NEAR  # half of 40
    assert stop_proximity(21, 40) is Proximity.SAFE
    assert stop_proximity(-3, 40) is Proximity.DANGER  # traded through the stop
    assert stop_proximity(4, None) is Proximity.DANGER
    assert stop_proximity(8, None) is Proximity.NEAR
    assert stop_proximity(9, None) is Proximity.SAFE


def test_a_closed_trade_stays_charted_with_break_even_and_exit_marked(workstation, qtbot):
    window = workstation()
    open_market(window)
    long_bracket(window)  # filled at 15:00:02
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    publish(window, Tick("NQ", at(15, 0, 3), 21005.25, 1, 1),
            Tick("NQ", at(15, 0, 4), 21010.25, 1, 1),  # +1R: the stop moves to the entry
            Tick("NQ", at(15, 0, 5), 21015.25, 1, 1))
    qtbot.waitUntil(lambda: active_cell(window, "Stop") == "21,000.25")
    publish(window, Tick("NQ", at(15, 0, 6), 21021.00, 1, 1))  # through the target
    trades = window.trades
    qtbot.waitUntil(lambda: trades.recent_model.rowCount() == 1)
    assert trades.active_model.rowCount() == 0
    assert row_texts(trades.recent_model)[1:] == [
        "NQ", "Long", "1", "21,000.25", "21,020.25", "+2.00", "+2.00", "+0.00", "+395.00",
        "target", "manual"]  # 20 points x $20 = 400, less 2 x 2.50 commission
    chart = trades.chart
    assert chart.trade_id == "T1"
    assert trades.recent_table.currentIndex().row() == 0  # the selection followed the trade
    assert (chart.break_even_x, chart.exit_x) == (2.0, 4.0)  # seconds after the entry
    assert chart.current.getData()[1][-1] == pytest.approx(2.0)
    assert chart.exit.isVisible() and chart.break_even.isVisible()


def test_close_trade_flattens_the_selected_trade(workstation, qtbot):
    window = workstation()
    open_market(window)
    window.actions["buy_market"].trigger()  # one lot of the chart's NQ at the ask
    trades = window.trades
    qtbot.waitUntil(lambda: trades.active_model.rowCount() == 1)
    # the default bracket ([trading]): 20 ticks (5.00) under the fill at 21,000.25, 2R over
    assert (active_cell(window, "Stop"), active_cell(window, "Target")) == ("20,995.25",
                                                                           "21,010.25")
    trades.active_table.selectRow(0)
    button = trades.findChild(QToolButton, "button_close_trade")
    assert button is not None and button.defaultAction() is window.actions["close_trade"]
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: trades.recent_model.rowCount() == 1)
    assert trades.active_model.rowCount() == 0
    # sold at the bid: -0.25 x $20 = -5.00, less 5.00 commission
    # -0.25 points of a 5.00-point risk: R -0.05, MAE -0.05R, no favourable excursion
    assert row_texts(trades.recent_model)[4:] == ["21,000.25", "21,000.00", "-0.05", "+0.00",
                                                  "-0.05", "-10.00", "manual", "manual"]
    assert window.engine.portfolio.position("NQ") == 0
    assert "Close trade T1: sell 1 NQ market ioc sent" in window.notice.text()


def test_flatten_all_cancels_working_orders_and_closes_positions(workstation, qtbot):
    window = workstation()
    open_market(window)
    long_bracket(window)
    qtbot.waitUntil(lambda: window.orders.working_model.rowCount() == 2)
    assert window.actions["flatten_all"].shortcut().toString() == "Ctrl+Shift+F"
    window.actions["flatten_all"].trigger()
    qtbot.waitUntil(lambda: window.trades.recent_model.rowCount() == 1)
    qtbot.waitUntil(lambda: window.orders.working_model.rowCount() == 0)
    assert window.engine.broker.open_orders() == []
    assert window.engine.portfolio.position("NQ") == 0


def test_sell_market_hotkey_sells_one_lot_and_a_rejection_is_reported(workstation, qtbot):
    window = workstation()
    update = window.market_order(OrderSide.SELL)  # no market data yet: rejected
    assert update.status == "rejected"
    assert window.notice.text().endswith("Sell NQ rejected: risk: market_data: no market data "
                                         "for NQ yet: price checks need a trade or a quote</span>")
    open_market(window)
    assert window.actions["sell_market"].shortcut().toString() == "Shift+S"
    window.actions["sell_market"].trigger()
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    assert active_cell(window, "Side") == "Short" and active_cell(window, "Entry") == "21,000.00"


# -- orders and account -----------------------------------------------------------------------
def working_limit(window) -> OrderUpdate:
    window.engine.clock.advance_to(at(15, 0, 2))
    return window.engine.router.submit(OrderIntent(window.next_client_id(), "NQ", OrderSide.BUY,
                                                   1, OrderType.LIMIT, limit_price=20990.00))


def test_orders_panel_lists_a_working_limit_and_delete_cancels_it(workstation, qtbot):
    window = workstation()
    open_market(window)
    order = working_limit(window)
    orders = window.orders
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 1)
    assert row_texts(orders.working_model) == ["10:00:02", "NQ", "Buy", "limit", "1",
                                               "20,990.00", "DAY", "accepted",
                                               order.client_order_id, "manual"]
    orders.working_table.setFocus()
    orders.working_table.selectRow(0)
    qtbot.keyClick(orders.working_table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 0)
    assert row_texts(orders.history_model)[1:5] == ["Buy 1 NQ limit 20,990.00", "canceled", "—",
                                                    "canceled by user"]
    assert window.engine.broker.order(order.order_id).status == "canceled"


def test_the_cancel_button_and_the_modify_dialog_act_on_the_selected_order(workstation, qtbot):
    window = workstation()
    open_market(window)
    order = working_limit(window)
    orders = window.orders
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 1)
    orders.working_table.selectRow(0)
    orders.working_table.setFocus()
    qtbot.keyClick(orders.working_table, Qt.Key.Key_Return)
    dialog = orders.modify_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.limit_price.isEnabled() and not dialog.stop_price.isEnabled()
    dialog.limit_price.setValue(20995.10)  # rounds to the tick
    dialog.qty.setValue(2)
    assert dialog.changes() == {"qty": 2, "limit_price": 20995.00}
    qtbot.mouseClick(dialog.apply_button, LEFT)
    qtbot.waitUntil(lambda: row_texts(orders.working_model)[5] == "20,995.00")
    assert row_texts(orders.working_model)[4] == "2"
    qtbot.mouseClick(orders.cancel_button, LEFT)
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 0)
    assert window.engine.broker.order(order.order_id).status == "canceled"


def test_account_shows_cash_and_equity_after_a_fill_with_commission(workstation, qtbot):
    window = workstation()
    open_market(window)
    window.actions["buy_market"].trigger()  # 1 NQ at 21,000.25, commission 2.50
    publish(window, Tick("NQ", at(15, 0, 3), 21005.25, 1, 1))  # +5 points = +$100
    account = window.account
    qtbot.waitUntil(lambda: account.value("equity") == "100,097.50")
    assert account.value("cash") == "99,997.50"
    assert account.value("unrealized_pnl") == "+100.00"
    assert account.value("realized_pnl") == "+0.00"
    assert account.value("commission") == "2.50"
    assert account.value("margin_used") == "25,000.00"
    assert account.value("buying_power") == "75,097.50"  # cash - margin + open P&L
    assert account.value("day_pnl") == "+97.50"
    assert row_texts(account.positions_model) == ["NQ", "1", "21,000.25", "21,005.25",
                                                  "+100.00", "+0.00", "2.50"]
    # selling at the 21,005.00 bid realizes 4.75 points ($95) and pays 2.50 more
    publish(window, Quote("NQ", at(15, 0, 4), 21005.00, 21005.25, 10, 10))
    window.actions["flatten_all"].trigger()
    qtbot.waitUntil(lambda: account.value("cash") == "100,090.00")
    assert account.value("equity") == "100,090.00"
    assert account.value("realized_pnl") == "+95.00"
    assert account.value("commission") == "5.00"
    assert row_texts(account.positions_model)[1:3] == ["0", "—"]


def test_account_waits_for_a_fill_to_be_committed_before_showing_it(workstation, qtbot):
    window = workstation()
    open_market(window)
    account = window.account
    qtbot.waitUntil(lambda: account.value("cash") == "100,000.00")
    window.market_order(OrderSide.BUY)  # filled in the portfolio, not yet in SQLite
    assert window.bridge.uncommitted_fills == 1
    assert account.refresh() is False and account.value("cash") == "100,000.00"
    qtbot.waitUntil(lambda: account.value("cash") == "99,997.50")
    assert window.engine.journal.commits >= 1


def test_trading_events_reach_the_panels_once_a_frame_after_their_commit(workstation, qtbot):
    window = workstation()
    open_market(window)
    batches: list[tuple[int, list[object]]] = []
    window.bridge.trading_events.connect(
        lambda events: batches.append((window.engine.journal.commits, events)))
    long_bracket(window)
    qtbot.waitUntil(lambda: any(isinstance(e, Fill) for _, events in batches for e in events))
    commits, events = next((c, ev) for c, ev in batches if any(isinstance(e, Fill) for e in ev))
    assert commits >= 1
    kinds = {type(e).__name__ for e in events}
    assert {"OrderUpdate", "Fill", "TradeChanged"} <= kinds


def test_a_restart_shows_the_restored_trade_and_its_working_legs(workstation, tmp_path, run,
                                                               qtbot):
    first = workstation(tmp_path)
    open_market(first)
    long_bracket(first)
    qtbot.waitUntil(lambda: first.orders.working_model.rowCount() == 2)
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)
    trades, orders = second.trades, second.orders
    qtbot.waitUntil(lambda: trades.active_model.rowCount() == 1)
    assert row_texts(trades.active_model)[:7] == ["NQ", "Long", "1", "21,000.25", "21,000.25",
                                                  "20,990.25", "21,020.25"]
    assert orders.working_model.rowCount() == 2
    assert {row_texts(orders.working_model, r)[8] for r in range(2)} == {"manual-1-SL",
                                                                         "manual-1-TP"}
    assert trades.chart.trade_id == "T1"


# -- menus and layout ----------------------------------------------------------------------
def test_trade_menu_offers_every_order_action_with_its_hotkey(workstation):
    window = workstation()
    menu = next(m for m in window.menuBar().actions() if m.text() == "&Trade").menu()
    shown = [(a.text(), a.shortcut().toString()) for a in menu.actions() if not a.isSeparator()]
    assert shown == [("&New order…", "F2"), ("&Buy market", "Shift+B"),
                     ("&Sell market", "Shift+S"), ("&Close trade", "Shift+X"),
                     ("&Flatten all", "Ctrl+Shift+F"), ("Paper &accounts…", ""),
                     ("&Reset paper account…", ""),
                     ("&Kill switch…", "Ctrl+Shift+K"), ("Reset kill s&witch…", "")]


def test_trading_docks_are_in_the_view_menu_and_reset_layout_restores_them(workstation):
    window = workstation()
    docks = window.docks
    assert {docks[k].objectName() for k in ("trades", "excursion", "orders", "account")} == {
        "dock.trades", "dock.excursion", "dock.orders", "dock.account"}
    view = next(m for m in window.menuBar().actions() if m.text() == "&View").menu()
    toggles = {a.text().partition("\t")[0]: a for a in view.actions() if not a.isSeparator()}
    for title, key in (("Trades", "trades"), ("Trade excursion", "excursion"),
                       ("Orders", "orders"), ("Account", "account")):
        assert toggles[title] is docks[key].toggleViewAction()
    tabbed = [docks["excursion"], docks["risk"], docks["log"]]
    assert window.tabifiedDockWidgets(docks["orders"]) == tabbed
    toggles["Trades"].trigger()
    toggles["Account"].trigger()
    docks["orders"].setFloating(True)
    assert docks["trades"].isHidden() and docks["account"].isHidden()
    window.actions["reset_layout"].trigger()
    for key in ("trades", "excursion", "orders", "account", "log"):
        assert not docks[key].isHidden() and not docks[key].isFloating()
    assert window.dockWidgetArea(docks["trades"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.dockWidgetArea(docks["account"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.tabifiedDockWidgets(docks["orders"]) == tabbed


def test_reset_paper_account_clears_trades_orders_and_restores_the_cash(workstation, qtbot,
                                                                       monkeypatch):
    window = workstation()
    open_market(window)
    long_bracket(window)  # bought at 21,000.25 with a working stop and target
    trades = window.trades
    qtbot.waitUntil(lambda: trades.active_model.rowCount() == 1)
    # the confirmation is modal: answer it as a user clicking Yes would
    monkeypatch.setattr("ui.main_window.QMessageBox.question",
                        lambda *_args, **_kw: QMessageBox.StandardButton.Yes)
    window.actions["reset_account"].trigger()
    qtbot.waitUntil(lambda: trades.active_model.rowCount() == 0)
    assert window.engine.broker.open_orders() == []
    assert window.engine.portfolio.position("NQ") == 0
    assert window.engine.portfolio.cash == 100_000.0
    assert "Paper account reset to 100,000.00" in window.notice.text()


def test_close_trade_closes_only_the_selected_trade_of_two_on_one_symbol(workstation, qtbot):
    window = workstation()
    open_market(window)
    long_bracket(window)  # T1, with its stop and target
    window.engine.clock.advance_to(at(15, 0, 5))  # past the duplicate-order guard
    long_bracket(window)  # T2, with its own
    trades = window.trades
    qtbot.waitUntil(lambda: trades.active_model.rowCount() == 2)
    row = next(r for r in range(2) if trades.active_model.trade_at(r).trade_id == "T2")
    trades.active_table.selectRow(row)

    window.actions["close_trade"].trigger()

    qtbot.waitUntil(lambda: trades.recent_model.rowCount() == 1)
    assert [t.trade_id for t in window.engine.trades.active()] == ["T1"]
    assert window.engine.portfolio.position("NQ") == 1
    legs = sorted(o.client_order_id.rsplit("-", 1)[-1] for o in window.engine.broker.open_orders())
    assert legs == ["SL", "TP"]  # T1 keeps its stop and target


def test_after_a_restart_the_days_done_orders_and_finished_trades_are_shown_again(
        workstation, qtbot, run, tmp_path):
    first = workstation()
    open_market(first)
    long_bracket(first)  # P1 filled; legs P2 (stop) and P3 (target) working
    first.actions["flatten_all"].trigger()  # legs canceled, P4 sells: T1 closed
    qtbot.waitUntil(lambda: first.trades.recent_model.rowCount() == 1)
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)

    qtbot.waitUntil(lambda: second.trades.recent_model.rowCount() == 1)
    assert row_texts(second.trades.recent_model)[1:6] == ["NQ", "Long", "1", "21,000.25",
                                                          "21,000.00"]
    done = second.orders.history_model
    qtbot.waitUntil(lambda: done.rowCount() == 4)
