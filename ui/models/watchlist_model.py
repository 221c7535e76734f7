"""Watchlist rows over the engine's MarketState: one row per symbol.

``refresh`` runs once per frame; it compares each row's state version with the
last one shown and emits dataChanged only for rows that moved (or whose change
flash is still fading), so thousands of ticks per second cost one repaint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.market import MarketState, SymbolState
from workstation.model import Instrument

COLUMNS = ("Symbol", "Last", "Bid", "Ask", "Chg", "Chg %", "Volume")
FLASH_S = 0.45
FRAME_GRACE_S = 0.1  # keep repainting a little past the flash so it fades out fully
Index = QModelIndex | QPersistentModelIndex


@dataclass(slots=True)
class _Row:
    instrument: Instrument
    state: SymbolState
    shown_version: int = -1
    shown_last: float = 0.0
    flash_until: float = 0.0
    flash_up: bool = True


class WatchlistModel(QAbstractTableModel):
    def __init__(self, market: MarketState, instruments: dict[str, Instrument],
                 symbols: list[str]) -> None:
        super().__init__()
        self._market = market
        self._instruments = instruments
        self._rows: list[_Row] = []
        for symbol in symbols:
            self.add_symbol(symbol)

    # -- structure ------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return [row.instrument.symbol for row in self._rows]

    def add_symbol(self, symbol: str) -> bool:
        if symbol in self.symbols() or symbol not in self._instruments:
            return False
        position = len(self._rows)
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.append(_Row(self._instruments[symbol], self._market.get(symbol)))
        self.endInsertRows()
        return True

    def remove_row(self, position: int) -> None:
        if 0 <= position < len(self._rows):
            self.beginRemoveRows(QModelIndex(), position, position)
            del self._rows[position]
            self.endRemoveRows()

    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def reference(self, symbol: str) -> float:
        return self._market.get(symbol).reference

    def symbol_at(self, position: int) -> str | None:
        return self._rows[position].instrument.symbol if 0 <= position < len(self._rows) else None

    # -- Qt model API ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(COLUMNS, section, orientation, role, left=COLUMNS[:1])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column == 0 else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, column)
        if role == Qt.ItemDataRole.BackgroundRole and column == 1:
            return self._flash(row)
        if role == Qt.ItemDataRole.FontRole and column > 0:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return row.instrument.description or row.instrument.symbol
        return None

    def _text(self, row: _Row, column: int) -> str:
        state, inst = row.state, row.instrument
        if column == 0:
            return inst.symbol
        decimals = inst.price_decimals
        if column == 1:
            return f"{state.last:,.{decimals}f}" if state.last else "—"
        if column == 2:
            return f"{state.bid:,.{decimals}f}" if state.bid else "—"
        if column == 3:
            return f"{state.ask:,.{decimals}f}" if state.ask else "—"
        if column == 4:
            return f"{state.change:+,.{decimals}f}" if state.last else "—"
        if column == 5:
            return f"{state.change_pct:+.2f}%" if state.last else "—"
        return f"{state.volume:,.{inst.size_decimals}f}"

    def _color(self, row: _Row, column: int) -> QColor | None:
        state = row.state
        if column == 1:
            return theme.direction_color(state.direction)
        if column in (4, 5):
            return theme.direction_color(state.change)
        if column == 2:
            return theme.DOWN.lighter(130)
        if column == 3:
            return theme.UP.lighter(130)
        return None

    def _flash(self, row: _Row) -> QColor | None:
        remaining = row.flash_until - time.monotonic()
        if remaining <= 0:
            return None
        color = QColor(theme.UP_FLASH if row.flash_up else theme.DOWN_FLASH)
        color.setAlpha(int(color.alpha() * remaining / FLASH_S))
        return color

    # -- per frame --------------------------------------------------------------------
    def refresh(self) -> int:
        """Emit dataChanged for rows that changed since the last frame; returns how many."""
        now = time.monotonic()
        changed = 0
        last_column = len(COLUMNS) - 1
        for position, row in enumerate(self._rows):
            state = row.state
            fading = row.flash_until > now - FRAME_GRACE_S
            if state.version == row.shown_version and not fading:
                continue
            if state.last != row.shown_last and row.shown_last:
                row.flash_until = now + FLASH_S
                row.flash_up = state.last > row.shown_last
            row.shown_version, row.shown_last = state.version, state.last
            self.dataChanged.emit(self.index(position, 0), self.index(position, last_column))
            changed += 1
        return changed

