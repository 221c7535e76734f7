"""Watchlist dock: live last/bid/ask/change/volume per symbol.

Keyboard: arrows move, Enter shows the symbol on the chart, Delete removes it;
the combo box at the top adds any configured instrument.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QAction, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.watchlist_model import COLUMNS, WatchlistModel
from ui.panels.tables import ROW_HEIGHT, show_rows

WATCH_ROWS = 5  # symbols always in sight, whatever the layout


class WatchlistPanel(QWidget):
    symbol_chosen = Signal(str)

    def __init__(self, model: WatchlistModel, all_symbols: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._all_symbols = all_symbols
        self.table = QTableView(self)
        self.table.setObjectName("watchlistTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate(self._column_widths()):
            header.resizeSection(column, width)
        show_rows(self.table, WATCH_ROWS)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        remove = QAction("Remove symbol\tDel", self.table)
        remove.triggered.connect(self.remove_selected)
        self.table.addAction(remove)
        self.table.installEventFilter(self)
        self.table.activated.connect(self._on_activated)
        self.table.selectionModel().currentRowChanged.connect(self._on_activated)

        self.adder = QComboBox(self)
        self.adder.setObjectName("watchlistAdd")
        self.adder.setToolTip("Add a symbol to the watchlist")
        self.adder.setPlaceholderText("every instrument is listed")
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self._add_chosen)
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.adder, 1)
        top.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._refill_adder()

    def _column_widths(self) -> list[int]:
        """Wide enough for each instrument's prices 5% above their reference, so a
        column never elides (ResizeToContents does not follow live updates)."""
        metrics = QFontMetrics(theme.MONO)
        self.table.ensurePolished()
        plain = QFontMetrics(self.table.font())  # the symbol column is not monospace
        samples: list[list[str]] = [[] for _ in COLUMNS]
        for inst in self.model.instruments().values():
            price = max(self.model.reference(inst.symbol), 1.0) * 1.05
            text = f"{price:,.{inst.price_decimals}f}"
            samples[0].append(inst.symbol)
            samples[1] += [text]
            samples[2] += [text]
            samples[3] += [text]
            samples[4] += [f"+{price / 20:,.{inst.price_decimals}f}"]
            samples[5] += ["+99.99%"]
            volume = 9_999_999 if inst.size_decimals == 0 else 9_999
            samples[6] += [f"{volume:,.{inst.size_decimals}f}"]
        return [max((plain if index == 0 else metrics).horizontalAdvance(s) for s in column) + 12
                for index, column in enumerate(samples)]

    def preferred_width(self) -> int:
        return sum(self._column_widths()) + 24

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Delete removes the selected symbol (a key handler, not a shortcut, so it
        works whenever the table has keyboard focus)."""
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)):
            self.remove_selected()
            return True
        return super().eventFilter(watched, event)

    def _refill_adder(self) -> None:
        shown = set(self.model.symbols())
        self.adder.clear()
        self.adder.addItems([s for s in self._all_symbols if s not in shown])
        self.add_button.setEnabled(self.adder.count() > 0)

    def _add_chosen(self) -> None:
        symbol = self.adder.currentText()
        if symbol and self.model.add_symbol(symbol):
            self._refill_adder()

    def add_symbol(self, symbol: str) -> bool:
        added = self.model.add_symbol(symbol)
        self._refill_adder()
        return added

    def remove_selected(self) -> None:
        current = self.table.currentIndex()
        if current.isValid():
            self.model.remove_row(current.row())
            self._refill_adder()

    def _on_activated(self, index: QModelIndex) -> None:
        symbol = self.model.symbol_at(index.row()) if index.isValid() else None
        if symbol:
            self.symbol_chosen.emit(symbol)
