"""Price alerts from the watchlist: "Alert at price…" on a row asks for a price (the
symbol's last trade, on its tick, to start from) and sets the same alert the chart sets,
on that row's symbol even when the chart shows another; it fires once."""

from __future__ import annotations

from tests.ui.test_main_window import at, publish
from ui.price_alerts import PriceAlert
from workstation.model import Tick


def alert_action(window):
    return next(a for a in window.watchlist.table.actions() if a.text() == "Alert at price…")


def test_an_alert_set_from_a_watchlist_row_fires_once_when_its_symbol_crosses(
        workstation, qtbot):
    window = workstation()
    publish(window, Tick("ES", at(15, 0, 1), 6_000.25, 1, 1))
    model = window.watchlist_model
    window.watchlist.table.setCurrentIndex(model.index(model.symbols().index("ES"), 0))
    window.show_series("NQ", "1m")  # the chart on another symbol than the row's
    assert window.chart.symbol == "NQ"

    alert_action(window).trigger()

    dialog = window.watchlist.alert_dialog
    assert dialog is not None and dialog.isVisible()
    assert (dialog.price.value(), dialog.price.singleStep()) == (6_000.25, 0.25)
    dialog.price.setValue(5_990.1)  # between ticks: the alert is on 5,990.00
    dialog.accept()
    alert = PriceAlert("ES", 5_990.0, False)  # under the market: fires from above
    assert window.price_alerts.book.alerts == [alert]
    assert "Price alert set: ES ≤ 5,990.00" in window.notice.text()

    raised = window.alerts.raised
    publish(window, Tick("ES", at(15, 0, 2), 5_995.00, 1, -1))
    frames = window.bridge.frames
    qtbot.waitUntil(lambda: window.bridge.frames >= frames + 2)
    assert window.alerts.raised == raised  # not there yet
    publish(window, Tick("ES", at(15, 0, 3), 5_989.75, 1, -1))
    qtbot.waitUntil(lambda: window.alerts.raised == raised + 1)
    assert "Price alert: ES ≤ 5,990.00 reached" in window.notice.text()
    publish(window, Tick("ES", at(15, 0, 4), 5_980.00, 1, -1))
    frames = window.bridge.frames
    qtbot.waitUntil(lambda: window.bridge.frames >= frames + 3)  # checked again: once only
    assert window.alerts.raised == raised + 1 and window.price_alerts.book.alerts == []


def test_alert_at_price_on_a_symbol_without_trades_starts_empty_and_needs_a_row(workstation):
    window = workstation()
    window.watchlist.table.clearSelection()
    window.watchlist.table.setCurrentIndex(window.watchlist_model.index(-1, -1))
    assert window.watchlist.alert_selected() is None  # no row: nothing asked

    model = window.watchlist_model
    window.watchlist.table.setCurrentIndex(model.index(model.symbols().index("MSFT"), 0))
    dialog = window.watchlist.alert_selected()
    assert dialog is not None and dialog.price.value() == dialog.price.minimum() == 0.01
    dialog.reject()
    assert window.price_alerts.book.alerts == []
