"""The account selector: the home's accounts with their figures; a bad name is refused
in the dialog; choosing another account closes the window so the app can start the
engine on it. And the status bar while the account's journal cannot be stored."""

from __future__ import annotations

import sqlite3

from tests.ui.test_trading_panels import open_market
from ui.dialogs.accounts import AccountsDialog
from workstation.config import Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.orders import OrderIntent, OrderSide
from workstation.store import database


def open_selector(window, qtbot) -> AccountsDialog:
    window.choose_account()
    qtbot.waitUntil(lambda: window.findChild(AccountsDialog) is not None, timeout=5_000)
    dialog = window.findChild(AccountsDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    return dialog


def test_the_selector_lists_the_current_account_with_its_figures(workstation, qtbot):
    window = workstation()
    dialog = open_selector(window, qtbot)

    row = [dialog.table.item(0, column).text() for column in range(dialog.table.columnCount())]
    assert dialog.table.rowCount() == 1
    assert row[0] == "Paper" and row[2:] == ["0", "100,000.00", "0", "+0.00", "0.00"]
    assert window.badge.text() == "PAPER · REPLAY · Paper"


def test_a_bad_name_is_refused_in_the_dialog_and_a_good_one_switches(workstation, qtbot):
    window = workstation()
    dialog = open_selector(window, qtbot)

    dialog.new_name.setText("desk/1")
    dialog.create_button.click()
    assert "account name 'desk/1'" in dialog.error.text()
    assert window.switch_to is None and window.isVisible()

    dialog.new_name.setText("Sim101")
    dialog.create_button.click()
    assert window.switch_to == "Sim101"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


def test_switching_to_the_account_already_open_does_nothing(workstation, qtbot):
    window = workstation()
    dialog = open_selector(window, qtbot)

    dialog.table.selectRow(0)
    dialog.switch_button.click()

    assert dialog.error.text() == "Already trading on Paper."
    assert window.switch_to is None


def test_the_status_bar_says_loudly_while_trading_events_cannot_be_stored(workstation, qtbot,
                                                                         monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    window = workstation()
    open_market(window)
    lock = sqlite3.connect(window.engine.store.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        window.engine.router.submit(OrderIntent("buy-1", "NQ", OrderSide.BUY, 1))
        qtbot.waitUntil(window.store_label.isVisible, timeout=10_000)
        assert window.store_label.text() == "STORE UNAVAILABLE · entries blocked"
        assert "trading journal cannot be saved" in window.store_label.toolTip()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    qtbot.waitUntil(lambda: not window.store_label.isVisible(), timeout=10_000)
    assert "stored again" in window.notice.text()


def test_an_account_another_bracket_trades_cannot_be_switched_to(workstation, qtbot, run,
                                                                  tmp_path):
    other = Engine(Settings(), tmp_path,
                   lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None), account="Desk")
    run(other.start())  # "another Bracket" holds Desk
    try:
        window = workstation()
        dialog = open_selector(window, qtbot)
        names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        dialog.table.selectRow(names.index("Desk"))
        dialog.switch_button.click()

        assert dialog.error.text() == ("Desk is in use by another Bracket on this home: close "
                                       "it there first.")
        assert window.switch_to is None and window.isVisible()
    finally:
        run(other.stop())
