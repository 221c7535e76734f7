"""Watchlist dock: live last/bid/ask/change/volume per symbol.

Keyboard: arrows move, Enter shows the symbol on the chart, Delete removes it;
the combo box at the top adds any configured instrument, and on a market with an asset
list (Alpaca) any symbol it has, found by symbol or by name as you type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.dialogs.price_alerts import AlertPriceDialog
from ui.models.watchlist_model import COLUMNS, WatchlistModel
from ui.panels.tables import ROW_HEIGHT, show_rows

if TYPE_CHECKING:
    from ui.chart_alerts import ChartAlerts

WATCH_ROWS = 5  # symbols always in sight, whatever the layout

Find = Callable[[str], Awaitable[str]]  # symbol -> "" once added to the market, else why not
Search = Callable[[str], Awaitable[list[tuple[str, str]]]]  # text -> (symbol, name)
SEARCH_DELAY_MS = 250
NAME_SEPARATOR = " — "


class WatchlistPanel(QWidget):
    symbol_chosen = Signal(str)
    symbol_added = Signal(str)  # a symbol the market added while running
    symbol_removed = Signal(str)  # taken off the list by the user
    problem = Signal(str)

    def __init__(self, model: WatchlistModel, all_symbols: list[str],
                 parent: QWidget | None = None, *, find: Find | None = None,
                 search: Search | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._all_symbols = all_symbols
        self._find = find
        self._search = search
        self._tasks: set[asyncio.Task[None]] = set()
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
        alert = QAction("Alert at price…", self.table)
        alert.setObjectName("watchlistAlert")
        alert.triggered.connect(self.alert_selected)
        self.table.addAction(alert)
        self.price_alerts: ChartAlerts | None = None  # the window's, set once it has them
        self.alert_dialog: AlertPriceDialog | None = None
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
        if find is not None:
            self._open_adder()
        self._refill_adder()

    def _open_adder(self) -> None:
        """Any symbol may be typed; with a search, names are suggested as you type."""
        self.adder.setEditable(True)
        self.adder.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.adder.lineEdit().setPlaceholderText("symbol or company name")
        self.adder.lineEdit().returnPressed.connect(self._add_chosen)
        self.suggestions = QStringListModel(self)
        completer = QCompleter(self.suggestions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.adder.setCompleter(completer)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(
            lambda: self._spawn(self._suggest(self.adder.currentText())))
        self.adder.lineEdit().textEdited.connect(lambda _text: self._search_timer.start())

    def run(self, work: Awaitable[object]) -> None:
        """Run market work for this list on the loop (kept until it is done)."""
        self._spawn(work)

    def _spawn(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _suggest(self, text: str) -> None:
        if self._search is None or not text.strip():
            return
        found = await self._search(text)
        self.suggestions.setStringList([f"{symbol}{NAME_SEPARATOR}{name}"
                                        for symbol, name in found])
        completer = self.adder.completer()
        if completer is not None and found and self.adder.lineEdit().hasFocus():
            completer.complete()

    def find_all(self, symbols: list[str]) -> None:
        """Symbols saved in the watchlist that the market has to add again after a start."""
        for symbol in symbols:
            self._spawn(self.add_found(symbol))

    async def add_found(self, symbol: str) -> bool:
        """Ask the market for ``symbol`` (not configured), then list it."""
        assert self._find is not None
        problem = await self._find(symbol)
        if problem:
            self.problem.emit(problem)
            return False
        added = self.model.add_symbol(symbol)
        if added:
            self._all_symbols.append(symbol)
            self.symbol_added.emit(symbol)
            self._refill_adder()
        return added

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
        self.add_button.setEnabled(self.adder.count() > 0 or self._find is not None)
        if self._find is not None:
            self.adder.setCurrentIndex(-1)

    def _add_chosen(self) -> None:
        symbol = self.adder.currentText().split(NAME_SEPARATOR)[0].strip()
        if self._find is not None:
            symbol = symbol.upper()
            if symbol and symbol not in self.model.instruments():
                self._spawn(self.add_found(symbol))
                return
        if symbol and self.model.add_symbol(symbol):
            self._refill_adder()

    def add_symbol(self, symbol: str) -> bool:
        added = self.model.add_symbol(symbol)
        self._refill_adder()
        return added

    def remove_selected(self) -> None:
        current = self.table.currentIndex()
        if current.isValid():
            symbol = self.model.symbol_at(current.row())
            self.model.remove_row(current.row())
            self._refill_adder()
            if symbol:
                self.symbol_removed.emit(symbol)

    def alert_selected(self) -> AlertPriceDialog | None:
        """Ask for a price for an alert on the selected symbol (the chart's kind of alert)."""
        current = self.table.currentIndex()
        symbol = self.model.symbol_at(current.row()) if current.isValid() else None
        if not symbol or self.price_alerts is None:
            return None
        self.alert_dialog = AlertPriceDialog(self.price_alerts,
                                             self.model.instruments()[symbol], self)
        self.alert_dialog.open()
        return self.alert_dialog

    def _on_activated(self, index: QModelIndex) -> None:
        symbol = self.model.symbol_at(index.row()) if index.isValid() else None
        if symbol:
            self.symbol_chosen.emit(symbol)
