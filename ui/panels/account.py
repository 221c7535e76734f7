"""Account dock: the paper account's numbers on top, positions below.

Pulled once a frame from the broker's views, but only while every fill the
portfolio has booked is also committed (invariant 4): a fill still on its way
to SQLite is never reflected in cash or positions before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ui import fmt, theme
from ui.models.positions_model import PositionsModel
from ui.panels.tables import fit_columns, make_table, show_rows
from ui.panels.widgets import figure
from workstation.model import Instrument
from workstation.portfolio import AccountView, PositionView

# (key, caption, signed: colored by sign, tooltip)
FIELDS = (
    ("equity", "Equity", False, "Cash plus open P&L (futures) or market value (cash assets)"),
    ("day_pnl", "Today's P&L", True, "Equity change since the 17:00 New York day roll"),
    ("unrealized_pnl", "Unrealized", True, "Open P&L at the last trade price"),
    ("realized_pnl", "Realized", True, "Closed P&L before commissions"),
    ("cash", "Cash", False, "Starting cash plus realized P&L less commissions"),
    ("buying_power", "Buying power", False, "Cash plus open futures P&L, less margin"),
    ("margin_used", "Margin used", False, "Initial margin held for open futures"),
    ("commission", "Commission", False, "Commissions paid, both sides"),
)
COLUMNS = 4
VALUE_FONT = QFont(theme.MONO)
VALUE_FONT.setPointSize(11)


class AccountPanel(QWidget):
    def __init__(self, instruments: dict[str, Instrument], account: Callable[[], AccountView],
                 positions: Callable[[], list[PositionView]], settled: Callable[[], bool],
                 price_sample: str = "99,999.99", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._account = account
        self._positions = positions
        self._settled = settled
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setContentsMargins(8, 6, 8, 4)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(0)
        for number, (key, caption, _signed, tip) in enumerate(FIELDS):
            row, column = divmod(number, COLUMNS)
            title, value = figure(self, f"account_{key}", caption, tip, VALUE_FONT)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(title, row * 2, column)
            grid.addWidget(value, row * 2 + 1, column)
            self.values[key] = value
        for column in range(COLUMNS):
            grid.setColumnStretch(column, 1)
        self.positions_model = PositionsModel(instruments)
        self.positions_table = make_table(self.positions_model, "positionsTable", self)
        show_rows(self.positions_table, 1)
        fit_columns(self.positions_table, ["BTC/USD", "-999", price_sample, price_sample,
                                           "+9,999.00", "+9,999.00", "999.00"],
                    mono=range(1, 7))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(grid)
        layout.addWidget(self.positions_table, 1)
        self._shown: AccountView | None = None

    def refresh(self) -> bool:
        """Once a frame; False (nothing shown changes) while a fill awaits its commit."""
        if not self._settled():
            return False
        self.positions_model.refresh(self._positions())
        account = self._account()
        if account == self._shown:
            return True
        self._shown = account
        for key, _caption, signed, _tip in FIELDS:
            value = float(getattr(account, key))
            color = theme.direction_color(value) if signed else theme.NEUTRAL
            text = fmt.signed_money(value) if signed else fmt.money(value)
            self.values[key].setText(f"<span style='color:{color.name()}'>{text}</span>")
        return True

    def value(self, key: str) -> str:
        """A figure as shown, without its color markup."""
        text = self.values[key].text()
        return text[text.find(">") + 1:text.rfind("<")] if text.startswith("<") else text
