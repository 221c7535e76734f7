"""Price alerts: set at a price from the chart's menu, drawn, fired once when the market
reaches them (a desktop notification, a sound and a status note), listed and removable,
kept across a restart; a saved one that cannot be used is left out with a message."""

from __future__ import annotations

from tests.ui.test_chart_trading import chart_on, menu_actions
from tests.ui.test_main_window import publish
from tests.ui.test_trading_panels import open_market
from ui.price_alerts import AlertBook, PriceAlert
from workstation.model import Tick


def test_an_alert_fires_once_when_the_market_crosses_its_side_then_is_gone():
    book = AlertBook()
    up = book.add("NQ", 21_010.0, 21_000.0)
    down = book.add("NQ", 20_990.0, 21_000.0)
    assert (up.above, down.above) == (True, False)

    assert book.check("NQ", 21_009.75) == []
    assert book.check("NQ", 21_010.0) == [up]  # at the price counts
    assert book.check("NQ", 21_020.0) == []  # once
    assert book.check("ES", 20_000.0) == []  # another symbol's market
    assert book.check("NQ", 20_989.0) == [down]
    assert book.alerts == []


def test_saved_alerts_on_unknown_symbols_or_unreadable_are_left_out_with_a_message():
    text = ('[{"symbol": "NQ", "price": 21000.5, "above": true}, {"symbol": "XX", "price": 1,'
            ' "above": true}, {"price": 3}, {"symbol": "ES", "price": -2, "above": false}]')

    book, problems = AlertBook.load(text, ["NQ", "ES"])

    assert book.alerts == [PriceAlert("NQ", 21_000.5, True)]
    assert problems == [
        "price alert 2 left out: XX 1 is not a configured symbol and price",
        "price alert 3 left out: unreadable {'price': 3}",
        "price alert 4 left out: ES -2 is not a configured symbol and price"]
    assert AlertBook.load("{", ["NQ"])[1] == [
        "saved price alerts unreadable (Expecting property name enclosed in double quotes); "
        "none restored"]


def test_an_alert_set_on_the_chart_fires_with_a_notification_when_reached(workstation, qtbot):
    window = workstation()
    open_market(window)  # last 21,000.00
    chart = chart_on(window)

    menu_actions(chart, 21_010.1)["Alert at 21,010.00"].trigger()

    alert = PriceAlert("NQ", 21_010.0, True)
    assert window.price_alerts.book.alerts == [alert]
    line = window.price_alerts.lines[alert]
    assert (line.value(), line.label.format) == (21_010.0, "ALERT NQ ≥ 21,010.00")
    raised = window.alerts.raised
    publish(window, Tick("NQ", window.engine.clock.now_ns() + 1, 21_010.25, 1, 1))
    qtbot.waitUntil(lambda: window.alerts.raised == raised + 1)
    assert "Price alert: NQ ≥ 21,010.00 reached" in window.notice.text()
    assert window.price_alerts.book.alerts == [] and window.price_alerts.lines == {}
    publish(window, Tick("NQ", window.engine.clock.now_ns() + 1, 21_011.00, 1, 1))
    frames = window.bridge.frames
    qtbot.waitUntil(lambda: window.bridge.frames >= frames + 3)  # checked again: once only
    assert window.alerts.raised == raised + 1


def test_alerts_are_kept_across_a_restart_listed_and_removable(workstation, tmp_path, run):
    first = workstation(tmp_path)
    open_market(first)
    chart = chart_on(first)
    menu_actions(chart, 20_950.0)["Alert at 20,950.00"].trigger()
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)
    dialog = second.open_price_alerts()
    assert [dialog.shown.item(i).text() for i in range(dialog.shown.count())] == [
        "NQ ≤ 20,950.00"]
    assert list(second.price_alerts.lines) == [PriceAlert("NQ", 20_950.0, False)]

    dialog.shown.setCurrentRow(0)
    dialog.remove_selected()
    assert dialog.shown.count() == 0 and second.price_alerts.lines == {}
    assert "Price alert removed: NQ ≤ 20,950.00" in second.notice.text()
