"""Open positions (and flat ones that made money today) behind the Account panel.

``refresh`` is pulled once per frame with the broker's position views; it
repaints only rows whose numbers moved and resets only when the set of symbols
changes, which is rare.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.model import Instrument
from workstation.portfolio import PositionView

Index = QModelIndex | QPersistentModelIndex

POSITION_COLUMNS = ("Symbol", "Qty", "Avg", "Last", "Unrealized", "Realized", "Commission")


class PositionsModel(QAbstractTableModel):
    def __init__(self, instruments: dict[str, Instrument]) -> None:
        super().__init__()
        self._instruments = instruments
        self._rows: list[PositionView] = []

    def refresh(self, views: list[PositionView]) -> int:
        """Show ``views``; returns how many rows were repainted."""
        if [v.symbol for v in views] != [r.symbol for r in self._rows]:
            self.beginResetModel()
            self._rows = list(views)
            self.endResetModel()
            return len(views)
        changed = 0
        for position, (old, new) in enumerate(zip(self._rows, views, strict=True)):
            if old != new:
                self._rows[position] = new
                self.dataChanged.emit(self.index(position, 0),
                                      self.index(position, len(POSITION_COLUMNS) - 1))
                changed += 1
        return changed

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(POSITION_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(POSITION_COLUMNS, section, orientation, role,
                               left=POSITION_COLUMNS[:1])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        view = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            inst = self._instruments[view.symbol]
            d = inst.price_decimals
            flat = view.qty == 0
            return (view.symbol, fmt.qty(view.qty, inst.size_decimals),
                    fmt.NONE if flat else fmt.price(view.avg_price, d),
                    fmt.price(view.last_price, d), fmt.signed_money(view.unrealized_pnl),
                    fmt.signed_money(view.realized_pnl), fmt.money(view.commission))[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column == 0 else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(view, column)
        if role == Qt.ItemDataRole.FontRole and column > 0:
            return theme.MONO
        return None

    @staticmethod
    def _color(view: PositionView, column: int) -> QColor | None:
        if column == 1:
            return theme.MUTED if view.qty == 0 else theme.direction_color(view.qty)
        if column == 4:
            return theme.direction_color(view.unrealized_pnl)
        if column == 5:
            return theme.direction_color(view.realized_pnl)
        return None
