"""The account selector: the home's paper accounts with their figures; switch to one, or
create a new one (like NinjaTrader's Sim101). The window restarts the engine on the
chosen account; resetting the current account stays a separate, confirmed action."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from workstation.accounts import AccountError, check_account_name
from workstation.store.accounts import AccountSummary

COLUMNS = ("Account", "Created", "Resets", "Starting cash", "Fills", "Realized P&L",
           "Commission")


class AccountsDialog(QDialog):
    chosen = Signal(str)  # the account to switch to (an existing one or a new name)

    def __init__(self, accounts: list[AccountSummary], current: str,
                 parent: QWidget | None = None,
                 in_use: Callable[[str], bool] = lambda _name: False) -> None:
        """``in_use``: whether another Bracket trades an account now (it cannot be opened)."""
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Paper accounts")
        self._current = current
        self._in_use = in_use
        self._names = [a.name for a in accounts]
        intro = QLabel(f"Trading on <b>{current}</b>. Each account keeps its own orders, "
                       "positions, trades and risk state; switching restarts the engine on "
                       "the chosen account.", self)
        intro.setWordWrap(True)
        self.table = QTableWidget(len(accounts), len(COLUMNS), self)
        self.table.setObjectName("accountsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        for row, account in enumerate(accounts):
            self._fill_row(row, account)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.switch)
        self.new_name = QLineEdit(self)
        self.new_name.setObjectName("newAccountName")
        self.new_name.setPlaceholderText("new account name, e.g. Sim101")
        self.error = QLabel(self)
        self.error.setObjectName("accountsError")
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        self.error.setWordWrap(True)
        self.create_button = QPushButton("&Create and switch", self)
        self.create_button.setObjectName("createAccount")
        self.create_button.clicked.connect(self.create)
        self.switch_button = QPushButton("&Switch to selected", self)
        self.switch_button.setObjectName("switchAccount")
        self.switch_button.setDefault(True)
        self.switch_button.clicked.connect(self.switch)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        create_row = QHBoxLayout()
        create_row.addWidget(self.new_name, 1)
        create_row.addWidget(self.create_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.switch_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(create_row)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.resize(760, 360)
        if current in self._names:
            self.table.selectRow(self._names.index(current))

    def _fill_row(self, row: int, account: AccountSummary) -> None:
        pnl = account.realized_pnl - account.commission
        created = fmt.local_time(account.created_ts, "%Y-%m-%d %H:%M") if account.created_ts else ""
        cells = (account.name, created,
                 str(account.epochs - 1), f"{account.starting_cash:,.2f}", str(account.fills),
                 f"{pnl:+,.2f}", f"{account.commission:,.2f}")
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column == 5 and pnl:
                item.setForeground(theme.UP if pnl > 0 else theme.DOWN)
            if account.name == self._current:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, column, item)

    def switch(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.error.setText("Select an account to switch to.")
            return
        name = self._names[rows[0].row()]
        if name == self._current:
            self.error.setText(f"Already trading on {name}.")
            return
        if self._in_use(name):
            self.error.setText(f"{name} is in use by another Bracket on this home: close it "
                               "there first.")
            return
        self.chosen.emit(name)
        self.accept()

    def create(self) -> None:
        try:
            name = check_account_name(self.new_name.text())
        except AccountError as exc:
            self.error.setText(str(exc))
            return
        if name in self._names:
            self.error.setText(f"An account named {name} already exists: select it and "
                               "switch to it.")
            return
        self.chosen.emit(name)
        self.accept()
