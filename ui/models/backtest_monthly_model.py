"""A backtest's monthly returns: a row per year, a column per month and the whole year,
green for a gain and red for a loss (``metrics.monthly_returns`` computes them from the
run's trading-day closes)."""

from __future__ import annotations

import math

import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec", "Year")
GAIN_BG = QColor(34, 197, 94, 55)
LOSS_BG = QColor(239, 68, 68, 55)


def percent(value: float) -> str:
    return f"{value * 100:+.2f}%"


class MonthlyReturnsModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._years: list[int] = []
        self._values: list[list[float | None]] = []  # per year: 12 months, then the year

    def set_table(self, table: pd.DataFrame) -> None:
        """``table`` as ``metrics.monthly_returns`` returns it (NaN: no trading that month)."""
        self.beginResetModel()
        self._years = [int(year) for year in table.index]
        self._values = [[None if math.isnan(v) else float(v) for v in row]
                        for row in table.to_numpy(dtype="float64").tolist()]
        self.endResetModel()

    def value(self, row: int, column: int) -> float | None:
        return self._values[row][column - 1] if column else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._years)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(COLUMNS, section, orientation, role, left=("",))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        value = self.value(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(self._years[row])
            return "" if value is None else percent(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column == 0 else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and value is not None:
            return theme.direction_color(value)
        if role == Qt.ItemDataRole.BackgroundRole and value:
            return GAIN_BG if value > 0 else LOSS_BG
        if role == Qt.ItemDataRole.FontRole and column:
            return theme.MONO
        return None
