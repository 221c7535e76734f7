"""Small things in the Signals dock that a trader meets in the first hour: the selection
follows its signal when a new row lands above it, the header counts after an expiry, a
setup refused by sizing says why in its row, and the New signal dialog shows the symbol."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.test_signals_panel import FIXED, bar, cell, desk, long_setup, submit, trade
from ui import theme
from workstation.model import Direction
from workstation.signals.lifecycle import SignalState
from workstation.signals.settings import SignalSettings
from workstation.signals.setup import Sizing


def test_the_selection_follows_its_signal_when_a_new_one_arrives_above_it(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    record = long_setup(window)
    qtbot.waitUntil(lambda: panel.selected() is not None and panel.selected().id == record.id)
    panel.table.setFocus()

    trade(window, 6000.00, "ES")
    newer = submit(window, Direction.LONG, 6000.00, symbol="ES")  # newest first: on top
    qtbot.waitUntil(lambda: panel.model.row_of(newer.id) == 0)

    assert panel.model.row_of(record.id) == 1
    assert panel.selected().id == record.id
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    engine_record = window.engine.signals.records[record.id]
    assert engine_record.state in (SignalState.APPROVED, SignalState.ACTIVE)


def test_the_header_counts_again_when_a_pending_signal_expires(workstation, qtbot):
    window = desk(workstation)
    panel = window.signals_panel
    bar(window, 0, 21000, 21004, 20996, 21002)
    trade(window, 21002)
    record = submit(window, Direction.LONG, 21002)
    qtbot.waitUntil(lambda: panel.count_label.text() == "Signals (1)")

    # the bar in progress at the signal, then expiry_bars whole ones inside it: no confirmation
    for minute in range(1, 2 + FIXED.expiry_bars):
        bar(window, minute, 21002, 21003, 21001, 21002)

    qtbot.waitUntil(lambda: window.engine.signals.records[record.id].state
                    is SignalState.EXPIRED)
    qtbot.waitUntil(lambda: panel.count_label.text() == "Signals")


def test_a_setup_refused_by_sizing_shows_the_reason_in_its_row(workstation, qtbot):
    # R is 49 points ($980 a contract): a $500 risk per trade cannot buy one
    window = desk(workstation, SignalSettings(sizing=Sizing.FIXED_MONEY, risk_amount=500))
    window.signals_panel.show_finished.setChecked(True)
    record = long_setup(window)

    qtbot.waitUntil(lambda: window.signals_panel.model.row_of(record.id) is not None
                    and cell(window, record.id, "State") == "rejected")
    reason = window.engine.signals.records[record.id].history[-1].reason
    assert reason.startswith("setup: risk per contract 980.00 exceeds")
    assert cell(window, record.id, "Gate") == reason
    assert cell(window, record.id, "Gate", Qt.ItemDataRole.ForegroundRole) == theme.DOWN


def test_the_new_signal_dialog_shows_the_whole_symbol(workstation, qtbot):
    window = desk(workstation)
    dialog = window.signals_panel.open_new_signal("BTC/USD")
    qtbot.waitUntil(dialog.isVisible)
    box = dialog.symbol.geometry()

    # nothing lies over the box's left end, where "BT" of BTC/USD is drawn
    assert dialog.childAt(box.left() + 6, box.center().y()) is dialog.symbol
    assert dialog.symbol.currentText() == "BTC/USD"
    width = dialog.symbol.fontMetrics().horizontalAdvance("BTC/USD")
    assert box.width() > width + 30  # the text and the arrow fit
    dialog.reject()
