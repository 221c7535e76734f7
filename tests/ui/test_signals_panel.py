"""The Signals dock in the real main window: a signal arrives, confirms on a closed bar,
waits for one click, and the approved bracket becomes a trade in Active Trades.

The market is driven by hand: closed 1-minute bars are published on the engine's bus
after moving the SimClock to the bar's end, and trades are a locked quote then a tick at
the chosen price (so a market entry fills there exactly). Ticks do not build bars here
(the bar engine's tick handler is unsubscribed), so the only 1m bars are the test's.

NQ: tick 0.25, $20 a point; T0 is Tuesday 2026-01-13 15:00 UTC (10:00 New York), inside
the session. Sizing is a fixed $2,000 per trade; the default stop offset is 25 points
beyond the pivot and the maximum deviation of a signal from the market 5 points.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from ui import theme
from ui.models.orders_model import WORKING_COLUMNS
from ui.models.signals_model import AWAITING_BG, COLUMNS, STATE_COLORS
from ui.models.trades_model import ACTIVE_COLUMNS
from workstation.config import Settings
from workstation.model import NS_PER_SECOND, Bar, Direction, Quote, Signal, Tick, datetime_to_ns
from workstation.signals.lifecycle import SignalState
from workstation.signals.settings import SignalSettings
from workstation.signals.setup import Sizing

LEFT = Qt.MouseButton.LeftButton
S = NS_PER_SECOND
MINUTE = 60 * S
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
# the default targets (1R and 2R): a 2-lot setup is two 1-lot brackets
FIXED = SignalSettings(sizing=Sizing.FIXED_MONEY, risk_amount=2000)


def desk(workstation, signals: SignalSettings = FIXED, **fields):
    """The main window over an idle engine at T0, bars built only by the test."""
    window = workstation(settings=Settings(signals=signals, **fields))
    engine = window.engine
    engine.bus.unsubscribe(Tick, engine.bars.on_tick)
    engine.clock.advance_to(T0)
    return window


def bar(window, minute: int, open_: float, high: float, low: float, close: float,
        symbol: str = "NQ") -> Bar:
    """Close the 1m bar that opened ``minute`` minutes after T0."""
    start = T0 + minute * MINUTE
    closed = Bar(symbol, "1m", start, start + MINUTE, open_, high, low, close, 100.0, 10)
    window.engine.clock.advance_to(closed.end)
    window.engine.bus.publish(closed)
    return closed


def trade(window, price: float, symbol: str = "NQ") -> None:
    """A locked quote and a trade at ``price``, one second on."""
    engine = window.engine
    ts = engine.clock.now_ns() + S
    engine.clock.advance_to(ts)
    engine.bus.publish(Quote(symbol, ts, price, price, 10, 10))
    engine.bus.publish(Tick(symbol, ts, price, 1))


def submit(window, direction: Direction, price: float, signal_bar: Bar | None = None,
           symbol: str = "NQ"):
    engine = window.engine
    return engine.signals.submit(Signal(symbol, direction, ts=engine.clock.now_ns(),
                                        source="manual", price=price, bar=signal_bar))


def long_setup(window):
    """m1 is the signal bar; m2 makes the pivot low (20,986); m3 closes above m1's high:
    entry ~21,010.00, stop 20,986 - 25 = 20,961.00, R 49 points, 2 contracts for $2,000."""
    bar(window, 0, 21000, 21004, 20996, 21002)
    m1 = bar(window, 1, 21002, 21006, 20990, 20994)
    trade(window, 20994)
    record = submit(window, Direction.LONG, 20994, m1)
    bar(window, 2, 20994, 21000, 20986, 20998)
    bar(window, 3, 20998, 21012, 20995, 21010)
    return record


def cell(window, signal_id: str, column: str, role=Qt.ItemDataRole.DisplayRole):
    model = window.signals_panel.model
    row = model.row_of(signal_id)
    assert row is not None, f"{signal_id} is not listed"
    return model.data(model.index(row, COLUMNS.index(column)), role)


def active_cell(window, column: str, row: int = 0):
    model = window.trades.active_model
    return model.data(model.index(row, ACTIVE_COLUMNS.index(column)))


def shown_state(window, signal_id: str) -> str | None:
    model = window.signals_panel.model
    return None if model.row_of(signal_id) is None else cell(window, signal_id, "State")


# -- the workflow ---------------------------------------------------------------------------
def test_a_confirmed_signal_is_approved_with_one_click_and_becomes_a_tracked_trade(
        workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    texts = {name: cell(window, record.id, name) for name in COLUMNS}
    assert texts == {
        "Symbol": "NQ", "Dir": "Long", "Source": "manual", "Age": "1:59",
        "Signal": "20,994.00", "Current": "20,994.00", "Dev": "+0.00",
        "State": "awaiting approval", "Bars": "2", "Entry": "~21,010.00", "Stop": "20,961.00",
        "R": "49.00", "Size": "2", "Risk $": "1,960.00", "Gate": "ok"}
    assert cell(window, record.id, "State", Qt.ItemDataRole.BackgroundRole) == AWAITING_BG
    assert cell(window, record.id, "Dir", Qt.ItemDataRole.ForegroundRole) == theme.UP
    assert "pivot" in cell(window, record.id, "Stop", Qt.ItemDataRole.ToolTipRole)
    # it arrived selected and flashing, with the desktop alert raised
    assert panel.selected().id == record.id
    assert panel.model.flashing(record.id)
    assert window.alerts.raised == 1
    assert panel.approve_button.isEnabled() and panel.reject_button.isEnabled()

    trade(window, 21011)  # the next bar's first trade
    qtbot.mouseClick(panel.approve_button, LEFT)
    engine_record = window.engine.signals.records[record.id]
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "active")
    assert engine_record.state is SignalState.ACTIVE
    assert "approved" in panel.status.text()
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)
    qtbot.waitUntil(lambda: active_cell(window, "Qty") == "2")  # a 1-lot bracket per target
    assert [active_cell(window, c) for c in ("Symbol", "Side", "Entry", "Stop", "Target")] == [
        "NQ", "Long", "21,011.00", "20,961.00", "21,061.00"]  # the nearest target shown,
    # re-anchored to the fill one point above the setup's entry: 1R = 50 points
    assert sorted((o.client_order_id, o.status.value) for o in
                  window.engine.broker.all_orders()) == [
        ("sig-1-1", "filled"), ("sig-1-1-SL", "accepted"), ("sig-1-1-TP", "accepted"),
        ("sig-1-2", "filled"), ("sig-1-2-SL", "accepted"), ("sig-1-2-TP", "accepted")]
    assert engine_record.trade_id == window.trades.active_model.trades()[0].trade_id
    # who placed it: the signal's id and its source, in Trades and in Orders
    assert active_cell(window, "Source") == "sig-1 · manual"
    working = window.orders.working_model
    qtbot.waitUntil(lambda: working.rowCount() == 4)
    source = WORKING_COLUMNS.index("Source")
    assert {working.data(working.index(r, source)) for r in range(4)} == {"sig-1 · manual"}

    trade(window, 21040)
    # the trade's R is from its fill: 21,011 - 20,961 = 50 points; MFE 29 points
    qtbot.waitUntil(lambda: active_cell(window, "MFE R") == "+0.58")
    assert active_cell(window, "Current") == "21,040.00"
    assert cell(window, record.id, "Current") == "21,040.00"  # the row's 2 Hz refresh


def test_reject_button_rejects_the_selected_setup_and_hides_it_with_the_finished(
        workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: panel.reject_button.isEnabled())
    qtbot.mouseClick(panel.reject_button, LEFT)
    assert window.engine.signals.records[record.id].state is SignalState.REJECTED
    qtbot.waitUntil(lambda: panel.model.row_of(record.id) is None)
    panel.show_finished.setChecked(True)
    assert shown_state(window, record.id) == "rejected"
    assert cell(window, record.id, "State", Qt.ItemDataRole.ForegroundRole) == STATE_COLORS[
        SignalState.REJECTED]
    assert "rejected by the trader" in cell(window, record.id, "State",
                                            Qt.ItemDataRole.ToolTipRole)
    assert not panel.approve_button.isEnabled()


def test_the_mini_chart_draws_the_setup_over_the_signal_and_confirmation_bars(
        workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    chart = panel.chart
    qtbot.waitUntil(lambda: chart.record is not None and chart.record.setup is not None)
    assert [b.close for b in chart.bars] == [21002, 20994, 20998, 21010]
    assert chart.entry_line.isVisible() and chart.entry_line.value() == 21010.0
    assert chart.stop_line.isVisible() and chart.stop_line.value() == 20961.0
    assert [line.value() for line in chart.target_lines] == [21059.0, 21108.0]  # 1R, 2R
    assert chart.entry_line.pen.style() == Qt.PenStyle.DashLine
    assert chart.entry_line.label.format == "entry ~21,010.00"
    # the signal bar (m1, x=1) and the confirmation bar (m3, x=3) are shaded
    assert chart.signal_region.isVisible() and chart.signal_region.getRegion() == (
        pytest.approx(0.55), pytest.approx(1.45))
    assert chart.confirm_region.getRegion() == (pytest.approx(2.55), pytest.approx(3.45))
    # the pivot low (m2, x=2) that set the stop is marked at its low
    assert chart.pivot.isVisible() and chart.pivot_price == 20986
    assert chart.pivot.pos().x() == 2.0
    assert f"{record.id} · size 2 · risk 1,960.00" in chart.title.text()

    bar(window, 4, 21010, 21015, 21005, 21012)  # a new bar extends the chart
    qtbot.waitUntil(lambda: len(chart.bars) == 5)


def test_a_pending_signal_charts_its_price_and_its_signal_bar(workstation, qtbot):
    window = desk(workstation)
    bar(window, 0, 21000, 21004, 20996, 21002)
    m1 = bar(window, 1, 21002, 21006, 20990, 20994)
    trade(window, 20994)
    record = submit(window, Direction.LONG, 20994, m1)
    panel = window.signals_panel
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "pending")
    panel.select(record.id)
    chart = panel.chart
    assert chart.price_line.isVisible() and chart.price_line.value() == 20994
    assert not chart.entry_line.isVisible() and chart.target_lines == []
    assert chart.signal_region.isVisible() and not chart.confirm_region.isVisible()
    assert cell(window, record.id, "State", Qt.ItemDataRole.ForegroundRole) == STATE_COLORS[
        SignalState.PENDING]
    assert cell(window, record.id, "Entry") == "—"
    assert panel.cancel_button.isEnabled() and not panel.approve_button.isEnabled()


def test_hotkeys_approve_the_selected_setup_in_the_table_and_anywhere(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    trade(window, 21011)
    assert window.actions["signal_approve"].shortcut().toString() == "Ctrl+Shift+A"
    assert window.actions["signal_reject"].shortcut().toString() == "Ctrl+Shift+J"
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "active")
    # the global action on a row that no longer awaits: a message, no exception
    window.actions["signal_approve"].trigger()
    assert "Nothing to approve" in panel.status.text()


def test_r_in_the_table_and_the_global_reject_action_reject_setups(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_R)
    assert window.engine.signals.records[record.id].state is SignalState.REJECTED
    # a second setup, on ES, rejected from anywhere with Ctrl+Shift+J
    bar(window, 4, 6000, 6002, 5998, 6001, "ES")
    m5 = bar(window, 5, 6001, 6003, 5999, 6002, "ES")
    trade(window, 6002, "ES")
    second = submit(window, Direction.LONG, 6002, m5, "ES")
    bar(window, 6, 6002, 6003, 5997, 6001, "ES")
    bar(window, 7, 6001, 6008, 6000, 6007, "ES")
    qtbot.waitUntil(lambda: shown_state(window, second.id) == "awaiting approval")
    assert panel.selected().id == second.id
    window.actions["signal_reject"].trigger()
    assert window.engine.signals.records[second.id].state is SignalState.REJECTED


def test_an_auto_approved_source_trades_without_a_click_or_an_alert(workstation, qtbot):
    window = desk(workstation, SignalSettings(sizing=Sizing.FIXED_MONEY, risk_amount=2000,
                                              auto_approve=("manual",)))
    record = long_setup(window)  # approved on confirmation: the market entry fills at once
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "active")
    assert window.alerts.raised == 0
    qtbot.waitUntil(lambda: window.trades.active_model.rowCount() == 1)


def test_without_notify_on_confirm_the_row_is_selected_but_no_alert_is_raised(workstation,
                                                                               qtbot):
    window = desk(workstation, SignalSettings(sizing=Sizing.FIXED_MONEY, risk_amount=2000,
                                              notify_on_confirm=False))
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    assert window.signals_panel.selected().id == record.id
    assert window.alerts.raised == 0


def test_the_global_approve_action_approves_the_selected_row(workstation, qtbot):
    window = desk(workstation)
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    trade(window, 21011)
    window.actions["signal_approve"].trigger()
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "active")


def test_approving_at_warning_level_asks_the_trader_to_accept_the_warnings(workstation, qtbot):
    from workstation.orders import OrderIntent, OrderSide
    from workstation.risk.settings import PortfolioLimits, RiskSettings

    window = desk(workstation, risk=RiskSettings(portfolio=PortfolioLimits(daily_loss=5000)))
    panel, router = window.signals_panel, window.engine.router
    trade(window, 21000)
    router.submit(OrderIntent("loss-1", "NQ", OrderSide.BUY, 1))
    trade(window, 20870)  # 2,600 of the 5,000 daily loss: 52%, warning level
    router.submit(OrderIntent("loss-2", "NQ", OrderSide.SELL, 1))
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    asked = []
    panel.accept_warnings = lambda warnings: asked.append(warnings) or False
    panel.select(record.id)

    assert panel.approve_selected() is None
    assert panel.status.text() == "Not approved: the risk warnings were not accepted"
    assert record.state is SignalState.AWAITING_APPROVAL
    assert asked and asked[0][0].startswith("Daily loss at 52%")

    panel.accept_warnings = lambda warnings: True
    trade(window, 21011)
    panel.approve_selected()
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "active")


def test_a_refused_command_is_shown_on_the_status_line(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "awaiting approval")
    window.engine.signals.reject(record.id, "changed my mind")  # the row is not updated yet
    result = panel.approve_selected()
    assert result is None
    assert panel.status.text() == (f"Not approved: signal {record.id} is rejected, not "
                                   "awaiting approval")
    assert panel.status.isVisible()


def test_cancel_withdraws_a_pending_signal_and_show_finished_lists_it_below(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    trade(window, 21000)
    trade(window, 6000, "ES")
    first = submit(window, Direction.LONG, 21000)
    second = submit(window, Direction.SHORT, 6000, symbol="ES")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2)
    assert panel.model.ids() == [second.id, first.id]  # live, newest first
    panel.select(first.id)
    qtbot.mouseClick(panel.cancel_button, LEFT)
    qtbot.waitUntil(lambda: panel.model.row_of(first.id) is None)
    assert panel.model.ids() == [second.id]
    qtbot.mouseClick(panel.show_finished, LEFT)
    assert panel.model.ids() == [second.id, first.id]  # finished below the live ones
    assert cell(window, first.id, "State") == "cancelled"
    assert cell(window, first.id, "State", Qt.ItemDataRole.ForegroundRole) == STATE_COLORS[
        SignalState.CANCELLED]
    # Delete in the table withdraws the selected pending signal too
    panel.select(second.id)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: cell(window, second.id, "State") == "cancelled")
    panel.show_finished.setChecked(False)
    assert panel.model.rowCount() == 0


def test_age_and_deviation_follow_the_clock_and_the_market(workstation, qtbot):
    window = desk(workstation)
    trade(window, 21000)
    record = submit(window, Direction.LONG, 21000)
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "pending")
    window.engine.clock.advance_to(window.engine.clock.now_ns() + 75 * S)
    trade(window, 21006.50)
    assert cell(window, record.id, "Age") == "1:16"
    assert cell(window, record.id, "Dev") == "+6.50"
    # beyond NQ's 5-point maximum deviation: amber
    assert cell(window, record.id, "Dev", Qt.ItemDataRole.ForegroundRole) is not None
    trade(window, 21002)
    assert cell(window, record.id, "Dev", Qt.ItemDataRole.ForegroundRole) is None


def test_rows_move_between_live_and_finished_and_the_selection_follows(qtmodeltester):
    """The model alone, fed committed events: ordering, moves and Qt's model contract."""
    from PySide6.QtCore import QPersistentModelIndex

    from ui.models.signals_model import SignalsModel
    from workstation.config import Settings as Config
    from workstation.signals.events import SignalChanged
    from workstation.signals.lifecycle import SignalRecord

    instruments = Config().instrument_map()
    model = SignalsModel(instruments, lambda: T0 + MINUTE, lambda _s: 21000.0,
                         lambda _s, _p: 5.0)
    qtmodeltester.check(model, force_py=True)

    def record(number: int, state: SignalState, ts: int) -> SignalRecord:
        made = SignalRecord.received(f"sig-{number}", Signal("NQ", Direction.LONG, T0,
                                                             "manual", 21000.0), T0)
        made.move(state if state is SignalState.REJECTED else SignalState.PENDING, ts, "in")
        if state not in (SignalState.PENDING, SignalState.REJECTED):
            made.move(state, ts, "done")
        return made

    model.apply([SignalChanged(record(n, SignalState.PENDING, T0)) for n in (1, 2, 3)])
    assert model.ids() == ["sig-3", "sig-2", "sig-1"]
    selected = QPersistentModelIndex(model.index(2, 0))  # sig-1
    model.set_show_finished(True)
    model.apply([SignalChanged(record(3, SignalState.CANCELLED, T0 + 1))])
    assert model.ids() == ["sig-2", "sig-1", "sig-3"]
    assert selected.row() == 1 and model.record_at(selected.row()).id == "sig-1"
    model.apply([SignalChanged(record(1, SignalState.EXPIRED, T0 + 2))])
    assert model.ids() == ["sig-2", "sig-1", "sig-3"]  # the latest finished first
    assert model.live_count() == 1
    model.set_show_finished(False)
    assert model.ids() == ["sig-2"]
    model.apply([SignalChanged(record(4, SignalState.REJECTED, T0 + 3))])
    assert model.ids() == ["sig-2"]
    model.set_show_finished(True)
    assert model.ids() == ["sig-2", "sig-4", "sig-1", "sig-3"]
    model.refresh()


# -- the New signal dialog ------------------------------------------------------------------
def test_the_new_signal_dialog_submits_a_manual_signal_at_the_market(workstation, qtbot):
    window = desk(workstation)
    trade(window, 21000.25)
    assert window.actions["signal_new"].shortcut().toString() == "F3"
    window.actions["signal_new"].trigger()
    dialog = window.signals_panel.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.symbol.currentText() == "NQ"
    assert dialog.price.value() == 21000.25 and dialog.price.singleStep() == 0.25
    assert dialog.price.decimals() == 2
    dialog.short.setChecked(True)
    dialog.notes.setText("double top")
    qtbot.mouseClick(dialog.submit_button, LEFT)
    record = dialog.record
    assert record is not None and record.state is SignalState.PENDING
    assert (record.signal.direction, record.signal.source, record.signal.price,
            record.signal.notes) == (Direction.SHORT, "manual", 21000.25, "double top")
    assert not dialog.isVisible()
    panel = window.signals_panel
    qtbot.waitUntil(lambda: shown_state(window, record.id) == "pending")
    assert panel.selected().id == record.id
    assert cell(window, record.id, "Dir") == "Short"
    assert "double top" in cell(window, record.id, "Symbol", Qt.ItemDataRole.ToolTipRole)


def test_a_stale_price_in_the_dialog_shows_the_rejection_reason(workstation, qtbot):
    window = desk(workstation)
    trade(window, 21000)
    dialog = window.signals_panel.open_new_signal("NQ")
    dialog.price.setValue(20990)
    qtbot.mouseClick(dialog.submit_button, LEFT)
    assert dialog.isVisible()
    assert dialog.record.state is SignalState.REJECTED
    assert dialog.result.text() == ("Rejected: stale: signal price 20,990.00 is 10.00 from the "
                                    "market 21,000.00 (max 5 points)")
    assert "rejected: stale" in window.signals_panel.status.text()


def test_a_right_click_on_a_chart_bar_opens_a_new_signal_there(workstation, qtbot):
    window = desk(workstation)
    bar(window, 0, 21000, 21004, 20996, 21002)
    m1 = bar(window, 1, 21002, 21006, 20990, 20994)
    trade(window, 20995)
    chart = window.chart
    qtbot.waitUntil(lambda: chart.bar_count == 2)
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(1, 20998))
    assert chart.bar_at(scene) == m1
    shown: list[list[str]] = []

    def choose(tries: int = 50) -> None:  # the menu is modal: pick its item as a user would
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            if tries:
                QTimer.singleShot(20, lambda: choose(tries - 1))
            return
        shown.append([a.text() for a in menu.actions()])
        action = next(a for a in menu.actions() if a.objectName() == "chartNewSignal")
        menu.close()
        action.trigger()

    QTimer.singleShot(0, choose)
    qtbot.mouseClick(chart.graphics.viewport(), Qt.MouseButton.RightButton,
                     pos=chart.graphics.mapFromScene(scene))
    qtbot.waitUntil(lambda: bool(shown))
    # orders at the clicked price (above the 20,995 last), then the signal
    assert shown == [["Sell limit 1 @ 20,998.00", "Buy stop 1 @ 20,998.00", "",
                      "Alert at 20,998.00", "", "New signal at this bar…"]]
    dialog = window.signals_panel.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.symbol.currentText() == "NQ"
    assert dialog.price.value() == 20994  # the bar's close
    assert "the signal bar" in dialog.bar_note.text()
    qtbot.mouseClick(dialog.submit_button, LEFT)
    record = window.engine.signals.records[dialog.record.id]
    assert record.state is SignalState.PENDING and record.signal.bar == m1


# -- layout and restart ---------------------------------------------------------------------
def test_the_signals_dock_is_a_tab_beside_trades_with_its_menu_and_go_to_key(workstation):
    window = desk(workstation)
    dock = window.docks["signals"]
    assert dock.objectName() == "dock.signals" and dock.windowTitle() == "Signals"
    assert not dock.isHidden() and dock in window.tabifiedDockWidgets(window.docks["trades"])
    assert window.actions["focus_signals"].shortcut().toString() == "Alt+0"
    menu = next(m for m in window.menuBar().actions() if m.text() == "&Signals").menu()
    assert [a.text() for a in menu.actions()] == [
        "&Approve selected signal", "&Reject selected signal", "&Cancel selected signal",
        "&New signal…"]
    window.actions["focus_signals"].trigger()
    assert window.focusWidget() is window.signals_panel.table
    assert not dock.visibleRegion().isEmpty()  # brought to the front


def test_a_restart_lists_the_signals_still_open(workstation, tmp_path, qtbot, run):
    first = desk(workstation)
    record = long_setup(first)
    qtbot.waitUntil(lambda: shown_state(first, record.id) == "awaiting approval")
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path, settings=Settings(signals=FIXED))
    qtbot.waitUntil(lambda: second.signals_panel.model.row_of(record.id) is not None)
    assert cell(second, record.id, "State") == "awaiting approval"
    assert cell(second, record.id, "Entry") == "~21,010.00"


# -- how it looks ---------------------------------------------------------------------------
def test_screenshot_with_a_pending_and_an_awaiting_signal(workstation, qtbot, tmp_path):
    window = desk(workstation)
    window.resize(1440, 860)
    bar(window, 0, 21000, 21004, 20996, 21002)
    bar(window, 0, 6000, 6002, 5998.5, 6001.25, "ES")
    m1 = bar(window, 1, 21002, 21006, 20990, 20994)
    bar(window, 1, 6001.25, 6003, 6000.5, 6002, "ES")
    trade(window, 6001.25, "ES")
    trade(window, 20994)
    pending = submit(window, Direction.SHORT, 6001.25, symbol="ES")
    awaiting = submit(window, Direction.LONG, 20994, m1)
    bar(window, 2, 20994, 21000, 20986, 20998)
    bar(window, 3, 20998, 21012, 20995, 21010)
    trade(window, 21011.5)
    window.show_series("NQ", "1m")
    panel = window.signals_panel
    qtbot.waitUntil(lambda: shown_state(window, awaiting.id) == "awaiting approval")
    assert shown_state(window, pending.id) == "pending"
    panel.select(awaiting.id)
    qtbot.wait(600)
    assert window.grab().save(str(tmp_path / "signals_shot.png"))
    assert (tmp_path / "signals_shot.png").stat().st_size > 10_000
