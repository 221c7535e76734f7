"""The risk UI in the real main window: the Risk dock's rules, numbers, kill switch and
compliance history, the status bar's risk indicator, and the order ticket's response
to the gate's verdict.

Worked by hand for NQ ($20 a point, $2.50 commission per side), bought at the
21,000.25 ask with a daily loss limit of 1,000.00 from a day that starts at
100,000.00: a trade at 20,973.00 is 27.25 points under the entry, so the day is down
27.25 x 20 + 2.50 = 547.50 (54.75%: warning); at 20,953.00 it is down 47.25 x 20 +
2.50 = 947.50 (94.75%: locked). The monitor re-measures at most every 250 ms of clock
time on ticks, so the ticks below are seconds apart.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox, QToolButton

from tests.ui.test_main_window import at, publish
from tests.ui.test_trading_panels import (
    LEFT,
    long_bracket,
    open_market,
    row_texts,
    working_limit,
)
from ui import theme
from ui.models.risk_model import LEVEL_ROLE, USED
from ui.panels.risk import locked_note
from workstation.config import Settings, TradingSettings
from workstation.model import Quote, Tick
from workstation.risk.rules import Level, RuleStatus
from workstation.risk.settings import PortfolioLimits, PropFirm, RiskSettings

# hotkey entries without the default bracket: the loss has to run past where a stop would be
NAKED = TradingSettings(default_stop_ticks=0)
DAILY_LOSS = Settings(risk=RiskSettings(portfolio=PortfolioLimits(daily_loss=1000.0)),
                      trading=NAKED)
TOPSTEP = Settings(risk=RiskSettings(prop=PropFirm(style="topstep", account_size=50_000)),
                   trading=NAKED)


def rule_row(window, rule: str = "daily_loss") -> list[str] | None:
    model = window.risk_panel.rules_model
    row = model.row_of(rule)
    return None if row is None else row_texts(model, row)


def rule_level(window, rule: str = "daily_loss") -> Level:
    model = window.risk_panel.rules_model
    return model.data(model.index(model.row_of(rule), USED), LEVEL_ROLE)


def history(window) -> list[list[str]]:
    model = window.risk_panel.history_model
    return [row_texts(model, r)[1:] for r in range(model.rowCount())]


def buy_one_at_market(window) -> None:
    """1 NQ at the 21,000.25 ask at 10:00:02 ET, through the Buy market hotkey."""
    open_market(window)
    window.engine.clock.advance_to(at(15, 0, 2))
    window.actions["buy_market"].trigger()


def answer(monkeypatch, button: QMessageBox.StandardButton) -> list[str]:
    """The kill switch's confirmation is modal: answer it as a user clicking ``button``
    would; returns the questions asked."""
    asked: list[str] = []

    def question(_parent, _title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return button

    monkeypatch.setattr("ui.main_window.QMessageBox.question", question)
    return asked


def review_buy(window, side: str = "Buy"):
    """One NQ at market on a fresh ticket, taken to the confirmation page."""
    ticket = window.open_ticket()
    ticket.symbol.setCurrentText("NQ")
    ticket.side.setCurrentText(side)
    ticket.qty.setValue(1)
    ticket.order_type.setCurrentText("Market")
    assert ticket.review()
    assert ticket.stack.currentIndex() == 1
    return ticket


def bar_pixel(window, rule: str = "daily_loss") -> QColor:
    """The color at the left end of a rule's bar, as the delegate paints it."""
    table = window.risk_panel.rules_table
    model = window.risk_panel.rules_model
    rect = table.visualRect(model.index(model.row_of(rule), USED))
    image = table.viewport().grab().toImage()
    return QColor(image.pixel(rect.left() + 7, rect.center().y()))


def test_panel_indicator_and_ticket_follow_the_daily_loss_from_warning_to_locked(
        workstation, qtbot):
    window = workstation(settings=DAILY_LOSS)
    panel = window.risk_panel
    buy_one_at_market(window)
    qtbot.waitUntil(lambda: rule_row(window) == ["Daily loss", "2.50", "1,000.00", "0% safe",
                                                 "997.50"])
    assert window.risk_indicator.text() == "RISK safe"

    # 27.25 points under the entry: 547.50 of 1,000.00
    publish(window, Tick("NQ", at(15, 0, 3), 20973.00, 1, -1))
    qtbot.waitUntil(lambda: rule_row(window) == ["Daily loss", "547.50", "1,000.00",
                                                 "55% warning", "452.50"])
    assert rule_level(window) is Level.WARNING
    assert window.risk_indicator.text() == "RISK warning 55% daily loss"
    assert panel.value("day_pnl") == "-547.50"
    assert panel.value("drawdown") == "547.50"  # from the 100,000.00 high-water mark
    assert panel.value("deployed") == "25,000.00 (25%)"  # NQ margin over 99,452.50 equity
    assert panel.value("positions") == "1 · 1 contract"
    assert panel.value("streak") == "0"
    assert not panel.values["threshold"].isVisibleTo(panel)  # no prop-firm trailing rule
    panel.tabs.setCurrentIndex(0)
    window.focus_dock("risk")
    qtbot.waitUntil(lambda: bar_pixel(window) == theme.WARN)  # an amber bar

    # the ticket: warnings are listed and sending needs the box ticked
    window.engine.clock.advance_to(at(15, 0, 5))  # past the 2 s duplicate-order guard
    ticket = review_buy(window)
    assert ticket.risk_box.isVisible()
    assert "Risk warnings" in ticket.risk_box.text()
    assert "Daily loss at 55% (warning)" in ticket.risk_box.text()
    assert ticket.accept_risk.isVisible() and not ticket.accept_risk.isChecked()
    assert not ticket.submit_button.isEnabled()
    ticket.submit()  # not accepted: nothing is sent
    assert len(window.engine.broker.all_orders()) == 1
    assert ticket.focusWidget() is ticket.accept_risk  # Space ticks it from the keyboard
    qtbot.keyClick(ticket.accept_risk, Qt.Key.Key_Space)
    assert ticket.submit_button.isEnabled()
    qtbot.wait(100)  # a few frames: the per-frame re-check keeps an unchanged acceptance
    assert ticket.accept_risk.isChecked() and ticket.submit_button.isEnabled()
    ticket.reject()

    # 47.25 points under: 947.50 of 1,000.00, locked
    publish(window, Tick("NQ", at(15, 0, 6), 20953.00, 1, -1))
    qtbot.waitUntil(lambda: rule_row(window) == ["Daily loss", "947.50", "1,000.00",
                                                 "95% locked", "52.50"])
    assert rule_level(window) is Level.LOCKED
    assert window.risk_indicator.text() == "RISK locked 95% daily loss"
    assert theme.DANGER_BG.name() in window.risk_indicator.styleSheet()
    assert "new entries blocked" in window.risk_indicator.toolTip()
    qtbot.waitUntil(lambda: bar_pixel(window) == theme.DOWN)  # a red bar

    # the ticket shows the rejection and cannot send an entry
    ticket = review_buy(window)
    text = ticket.risk_box.text()
    assert "Blocked by risk rule “Daily loss”" in text
    assert "daily loss 947.50 of 1,000.00 limit (95%): new entries blocked" in text
    assert not ticket.accept_risk.isVisible()
    assert not ticket.submit_button.isEnabled()
    ticket.submit()
    assert len(window.engine.broker.all_orders()) == 1
    ticket.reject()

    # the hotkey's rejection still reaches the status bar, and is a compliance event
    window.actions["buy_market"].trigger()
    assert ("Buy NQ rejected: risk: daily_loss: daily loss 947.50 of 1,000.00 limit (95%): "
            "new entries blocked") in window.notice.text()
    qtbot.waitUntil(lambda: panel.history_model.rowCount() == 3)
    assert history(window) == [  # newest first
        ["blocked", "Daily loss", "daily loss 947.50 of 1,000.00 limit (95%): new entries "
                                  "blocked (NQ manual-2)", "—"],
        ["level", "Daily loss", "warning → locked", "947.50 / 1,000.00 (95%)"],
        ["level", "Daily loss", "safe → warning", "547.50 / 1,000.00 (55%)"],
    ]
    model = panel.history_model
    times = [model.data(model.index(r, 0)) for r in range(3)]
    assert times == ["10:00:06", "10:00:06", "10:00:03"]
    assert panel.tabs.tabText(1) == "History (3)"


def test_accepting_the_risk_warnings_sends_the_order(workstation, qtbot):
    window = workstation(settings=DAILY_LOSS)
    buy_one_at_market(window)
    publish(window, Tick("NQ", at(15, 0, 3), 20973.00, 1, -1))
    qtbot.waitUntil(lambda: window.risk_indicator.text() == "RISK warning 55% daily loss")
    window.engine.clock.advance_to(at(15, 0, 5))
    ticket = review_buy(window)
    ticket.accept_risk.setChecked(True)
    qtbot.mouseClick(ticket.submit_button, LEFT)
    assert not ticket.isVisible()
    assert window.engine.portfolio.position("NQ") == 2
    # a second lot doubles the loss per point: a new level asks again on the next ticket
    window.engine.clock.advance_to(at(15, 0, 8))
    ticket = review_buy(window, "Sell")  # reducing: no warnings, nothing to accept
    assert not ticket.risk_box.isVisible() and not ticket.accept_risk.isVisible()
    assert ticket.submit_button.isEnabled()
    ticket.reject()


def test_the_kill_switch_button_cancels_entry_orders_and_blocks_entries_but_not_reductions(
        workstation, qtbot, monkeypatch):
    window = workstation()
    open_market(window)
    long_bracket(window)  # long 1 NQ at 21,000.25 with a working stop and target
    working_limit(window)  # and a buy limit at 20,990.00 waiting to add to it
    orders = window.orders
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 3)
    panel = window.risk_panel
    assert panel.kill_state.text() == "KILL SWITCH OFF"
    assert window.actions["kill_switch"].shortcut().toString() == "Ctrl+Shift+K"
    qtbot.mouseClick(window.risk_indicator, LEFT)  # opens the Risk dock
    dock = window.docks["risk"]
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    button = panel.findChild(QToolButton, "killSwitchButton")
    assert button is not None and button.defaultAction() is window.actions["kill_switch"]

    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    qtbot.mouseClick(button, LEFT)
    assert asked and ("Working entry orders are canceled; open positions keep their "
                      "protective stop and target orders.") in asked[0]
    assert not window.engine.kill_switch.active  # answered No: nothing happens

    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(button, LEFT)
    kill = window.engine.kill_switch
    assert kill.active and kill.reason == "turned on by the user"
    # the entry order is canceled; the position keeps its protective legs (the engine's
    # rule without flatten_on_kill)
    qtbot.waitUntil(lambda: orders.working_model.rowCount() == 2)
    assert {row_texts(orders.working_model, r)[8] for r in range(2)} == {"manual-1-SL",
                                                                         "manual-1-TP"}
    assert row_texts(orders.history_model)[1:5] == ["Buy 1 NQ limit 20,990.00", "canceled",
                                                    "—", "kill switch"]
    qtbot.waitUntil(lambda: window.risk_indicator.text() == "KILL SWITCH ON")
    assert panel.kill_state.text() == "KILL SWITCH ON"
    assert panel.kill_detail.text() == ("On since 10:00:02 ET (manual): turned on by the user. "
                                        "Only orders that reduce a position pass.")
    assert not window.actions["kill_switch"].isEnabled()
    assert window.actions["reset_kill_switch"].isEnabled()
    assert ("Kill switch ON: 1 working order(s) canceled, 2 kept, new entries blocked"
            in window.notice.text())

    # a new entry from the ticket is refused
    window.engine.clock.advance_to(at(15, 0, 5))
    ticket = review_buy(window)
    assert "Blocked by risk rule “Kill switch”" in ticket.risk_box.text()
    assert ("kill switch on since 10:00:02 ET (turned on by the user): only orders that "
            "reduce a position pass") in ticket.risk_box.text()
    assert not ticket.submit_button.isEnabled()
    ticket.reject()

    # a reducing market order still passes: sold at the 21,000.00 bid
    ticket = review_buy(window, "Sell")
    assert not ticket.risk_box.isVisible() and ticket.submit_button.isEnabled()
    qtbot.mouseClick(ticket.submit_button, LEFT)
    assert not ticket.isVisible()
    assert window.engine.portfolio.position("NQ") == 0
    qtbot.waitUntil(lambda: window.trades.recent_model.rowCount() == 1)
    qtbot.waitUntil(lambda: panel.history_model.rowCount() >= 1)
    assert history(window)[-1] == ["kill switch", "system", "ON: turned on by the user", "—"]


def test_resetting_the_kill_switch_needs_reset_typed(workstation, qtbot, monkeypatch):
    window = workstation()
    open_market(window)
    window.engine.clock.advance_to(at(15, 0, 2))
    assert window.reset_kill_switch() is None  # off: nothing to reset
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window.actions["kill_switch"].trigger()
    assert window.engine.kill_switch.active

    window.actions["reset_kill_switch"].trigger()
    dialog = window.reset_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.phrase, "reset")
    qtbot.mouseClick(dialog.confirm_button, LEFT)
    assert dialog.error.text() == "Not reset: type RESET to reset the kill switch."
    assert dialog.isVisible() and window.engine.kill_switch.active

    dialog.phrase.clear()
    qtbot.keyClicks(dialog.phrase, "RESET")
    qtbot.mouseClick(dialog.confirm_button, LEFT)
    assert not dialog.isVisible()
    assert not window.engine.kill_switch.active
    qtbot.waitUntil(lambda: window.risk_indicator.text() == "RISK safe")
    assert window.risk_panel.kill_state.text() == "KILL SWITCH OFF"
    assert window.actions["kill_switch"].isEnabled()
    assert not window.actions["reset_kill_switch"].isEnabled()
    qtbot.waitUntil(lambda: window.risk_panel.history_model.rowCount() == 2)
    assert history(window) == [
        ["kill switch", "system", "OFF: reset by user (was: turned on by the user)", "—"],
        ["kill switch", "system", "ON: turned on by the user", "—"],
    ]
    # entries pass again
    ticket = review_buy(window)
    assert not ticket.risk_box.isVisible() and ticket.submit_button.isEnabled()
    ticket.reject()


def test_prop_firm_rules_show_their_units_and_the_trailing_threshold(workstation, qtbot):
    window = workstation(settings=TOPSTEP)  # the account starts at 50,000
    panel = window.risk_panel
    buy_one_at_market(window)
    qtbot.waitUntil(lambda: rule_row(window, "prop_contracts") == [
        "Topstep-style contracts", "1", "5", "20% safe", "4 contracts"])
    # 2% of 50,000 a day; a 2,000 trailing drawdown from 50,000 (threshold 48,000)
    assert rule_row(window, "prop_daily_loss") == ["Topstep-style daily loss", "2.50",
                                                   "1,000.00", "0% safe", "997.50"]
    assert rule_row(window, "prop_trailing_drawdown") == [
        "Topstep-style trailing drawdown", "2.50", "2,000.00", "0% safe", "1,997.50"]
    assert panel.values["threshold"].isVisibleTo(panel)
    assert panel.value("threshold") == "48,000.00"
    assert panel.tabs.tabText(0) == "Rules (3)"
    assert "check your firm's current rules" in panel.note.text()
    assert "check each limit against your firm's current rules" in panel.note.toolTip()
    assert panel.note.isVisibleTo(panel)


def test_the_risk_dock_is_in_the_view_menu_tabbed_with_orders_and_restored_by_reset(
        workstation, qtbot):
    window = workstation()
    docks = window.docks
    assert docks["risk"].objectName() == "dock.risk"
    view = next(m for m in window.menuBar().actions() if m.text() == "&View").menu()
    toggles = {a.text(): a for a in view.actions() if not a.isSeparator()}
    assert toggles["Risk\tAlt+8"] is docks["risk"].toggleViewAction()
    assert docks["risk"] in window.tabifiedDockWidgets(docks["orders"])
    toggles["Risk\tAlt+8"].trigger()
    assert docks["risk"].isHidden()
    qtbot.mouseClick(window.risk_indicator, LEFT)  # the indicator brings it back
    assert not docks["risk"].isHidden()
    docks["risk"].setFloating(True)
    window.actions["reset_layout"].trigger()
    assert not docks["risk"].isFloating() and not docks["risk"].isHidden()
    assert docks["risk"] in window.tabifiedDockWidgets(docks["orders"])
    assert window.actions["focus_risk"].shortcut().toString() == "Alt+8"
    qtbot.waitUntil(lambda: window.risk_panel.empty_note.isVisibleTo(window.risk_panel))
    assert window.risk_panel.empty_note.text().startswith("No measured limits set")


def test_a_hard_limit_breach_turns_the_kill_switch_on_and_says_so(workstation, qtbot):
    settings = Settings(risk=RiskSettings(portfolio=PortfolioLimits(max_drawdown=400.0)),
                        trading=NAKED)
    window = workstation(settings=settings)
    buy_one_at_market(window)
    # 25 points under the entry: 25 x 20 + 2.50 = 502.50 below the 100,000.00 high
    publish(window, Tick("NQ", at(15, 0, 3), 20975.25, 1, -1))
    qtbot.waitUntil(lambda: window.risk_indicator.text() == "KILL SWITCH ON")
    assert rule_row(window, "max_drawdown") == ["Drawdown from high", "502.50", "400.00",
                                                "126% locked", "-102.50"]
    reason = "Drawdown from high breached: 502.50 of 400.00 limit"
    assert window.engine.kill_switch.automatic
    assert window.risk_panel.kill_detail.text().startswith("On since 10:00:03 ET (automatic)")
    qtbot.waitUntil(lambda: window.risk_panel.history_model.rowCount() == 2)
    assert history(window) == [
        ["kill switch", "system", f"ON (automatic): {reason}", "—"],
        ["level", "Drawdown from high", "safe → locked", "502.50 / 400.00 (126%)"],
    ]
    assert f"KILL SWITCH ON: {reason}" in window.notice.text()
    assert window.alerts.raised == 1  # sound and a desktop notification where available


def test_a_prop_breach_turns_the_kill_switch_on_flattens_and_the_dock_says_so(
        workstation, qtbot):
    window = workstation(settings=TOPSTEP)  # 1,000.00 daily loss on 50,000
    buy_one_at_market(window)
    qtbot.waitUntil(lambda: window.engine.portfolio.position("NQ") == 1)
    # 50 points under the 21,000.25 entry: 50 x 20 + 2.50 = 1,002.50 of 1,000.00
    publish(window, Quote("NQ", at(15, 0, 3), 20950.00, 20950.25, 10, 10),
            Tick("NQ", at(15, 0, 3), 20950.25, 1, -1))

    qtbot.waitUntil(lambda: window.risk_indicator.text() == "KILL SWITCH ON")
    panel = window.risk_panel
    assert window.engine.portfolio.position("NQ") == 0  # closed, as the firm would
    assert panel.kill_state.text() == "KILL SWITCH ON"
    assert panel.kill_detail.text() == (
        "On since 10:00:03 ET (automatic): Topstep-style daily loss breached: 1,002.50 of "
        "1,000.00 limit. Every position was closed at market. Only orders that reduce a "
        "position pass.")


def test_a_locked_soft_limit_beside_the_switch_says_entries_are_blocked_and_positions_run(
        workstation, qtbot):
    window = workstation(settings=DAILY_LOSS)  # the trader's own daily loss: not a hard limit
    buy_one_at_market(window)
    # 75.25 points under the entry: 75.25 x 20 + 2.50 = 1,507.50 of 1,000.00 (151%)
    publish(window, Tick("NQ", at(15, 0, 3), 20925.00, 1, -1))

    qtbot.waitUntil(lambda: rule_row(window) == ["Daily loss", "1,507.50", "1,000.00",
                                                 "151% locked", "-507.50"])
    panel = window.risk_panel
    qtbot.waitUntil(lambda: panel.kill_state.text() == "KILL SWITCH OFF · ENTRIES BLOCKED")
    assert theme.SAFE_BG.name() not in panel.kill_state.styleSheet()  # not a green "off"
    assert theme.DANGER_BG.name() in panel.kill_state.styleSheet()
    assert panel.kill_detail.isVisibleTo(panel)
    assert panel.kill_detail.text() == (
        "Daily loss locked (151%): new entries blocked; open positions keep running")
    assert panel.kill_detail.toolTip() == (
        "Daily loss is at 151% of its limit: new entries are blocked. Open positions keep "
        "running: this limit does not close them (only a hard limit fires the kill switch). "
        "Close them, or turn the kill switch on.")
    assert window.engine.portfolio.position("NQ") == 1


def test_a_breached_hard_limit_with_the_switch_still_off_says_it_turns_on_at_the_next_price():
    # restored positions are judged at the next price (their marks are stale until then)
    status = RuleStatus("prop_daily_loss", "Topstep-style daily loss", 1_200.0, 1_000.0, "$",
                        hard=True, loss=True)

    short, full = locked_note(status, holding=True)

    assert short == ("Topstep-style daily loss locked (120%): new entries blocked; the kill "
                     "switch turns on at the next price")
    assert full.endswith("It is a hard limit: the kill switch turns on at the next price.")
