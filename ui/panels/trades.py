"""Trades dock: the active trades (live R, MFE/MAE and how close each stop is)
and the last few closed trades; the selected one is drawn by the excursion chart
(``self.chart``, docked on its own so both get room on a 1440-pixel screen).

When the selected active trade closes, the selection follows it into "Recent"
so its chart stays on screen with the exit marked; any recent trade can be
picked again later. Keyboard: arrows move, Tab switches tables, the Trade
menu's "Close trade" (Shift+X) flattens the selected trade's symbol
(``selected_trade_id`` names the one trade, for closing just it). One row per
trade: several entries on one symbol, each with its own stop, are several rows.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction, QBrush, QColor, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.models.orders_model import SOURCE_SAMPLE
from ui.models.trades_model import TICKS_TO_STOP, ActiveTradesModel, RecentTradesModel
from ui.panels.excursion import ExcursionChart
from ui.panels.tables import fit_columns, make_table, show_rows
from ui.panels.widgets import action_button, caption
from workstation.model import Instrument
from workstation.trades import TradeChanged, TradeClosed


class ProximityDelegate(QStyledItemDelegate):
    """Draws the stop-proximity color as a pill that stays visible on a selected row
    (a plain BackgroundRole is painted over by the selection)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        color = index.data(Qt.ItemDataRole.BackgroundRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is None or not isinstance(color, QColor):
            super().paint(painter, option, index)
            return
        opt.backgroundBrush = QBrush()  # the pill replaces the full-cell background
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(opt.rect.adjusted(3, 2, -3, -2), 4, 4)
        painter.restore()
        opt.state &= ~QStyle.StateFlag.State_Selected
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)


class TradesPanel(QWidget):
    def __init__(self, instruments: dict[str, Instrument], now_ns: Callable[[], int],
                 price_sample: str = "99,999.99", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._instruments = instruments
        self._price_sample = price_sample
        self._now_ns = now_ns
        self.active_model = ActiveTradesModel(instruments)
        self.recent_model = RecentTradesModel(instruments)
        self.active_table = make_table(self.active_model, "activeTradesTable", self)
        self.recent_table = make_table(self.recent_model, "recentTradesTable", self)
        self.chart = ExcursionChart(instruments)
        self._proximity = ProximityDelegate(self.active_table)
        self.active_table.setItemDelegateForColumn(TICKS_TO_STOP, self._proximity)
        self._shown: tuple[str, str] | None = None  # ("active" | "recent", trade id)
        self._shown_version = -1
        self._syncing = False
        self._pinned = False  # the user picked the shown trade: new trades do not take over
        self._size_columns()
        show_rows(self.active_table, 2)
        show_rows(self.recent_table, 2)

        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(4, 4, 4, 0)
        self.count_label = caption("Active trades", self)
        self.toolbar.addWidget(self.count_label)
        self.toolbar.addStretch(1)
        active_box = QWidget(self)
        active_layout = QVBoxLayout(active_box)
        active_layout.setContentsMargins(0, 0, 0, 0)
        active_layout.setSpacing(2)
        active_layout.addLayout(self.toolbar)
        active_layout.addWidget(self.active_table)
        recent_box = QWidget(self)
        recent_layout = QVBoxLayout(recent_box)
        recent_layout.setContentsMargins(0, 2, 0, 0)
        recent_layout.setSpacing(2)
        recent_layout.addWidget(caption("Recent trades", self))
        recent_layout.addWidget(self.recent_table)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(active_box)
        self.splitter.addWidget(recent_box)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.active_table.selectionModel().currentRowChanged.connect(self._on_active_selected)
        self.recent_table.selectionModel().currentRowChanged.connect(self._on_recent_selected)
        # a click on the row already current (auto-selected) pins it as well
        self.active_table.pressed.connect(self._on_active_selected)
        self.recent_table.pressed.connect(self._on_recent_selected)

    def add_action_button(self, action: QAction) -> QToolButton:
        return action_button(self, self.toolbar, action)

    def _size_columns(self) -> None:
        price = self._price_sample
        fit_columns(self.active_table, ["BTC/USD", "Short", "999", price, price, price,
                                        price, "+9,999.00", "+10.00", "+10.00", "-10.00",
                                        "no stop", SOURCE_SAMPLE], mono=range(2, 12))
        fit_columns(self.recent_table, ["00:00:00", "BTC/USD", "Short", "999", price, price,
                                        "+10.00", "+10.00", "-10.00", "+9,999.00",
                                        "break-even", SOURCE_SAMPLE], mono={0, *range(3, 10)})

    def preferred_width(self) -> int:
        """Every active-trade column without a scrollbar."""
        header = self.active_table.horizontalHeader()
        return sum(header.sectionSize(c) for c in range(header.count())) + 6

    # -- selection ----------------------------------------------------------------------
    def selected_trade_symbol(self) -> str | None:
        """The symbol of the selected active trade (what "Close trade" closes)."""
        trade = self.active_model.trade_at(self.active_table.currentIndex().row())
        return trade.symbol if trade is not None else None

    def selected_trade_id(self) -> str | None:
        """The selected active trade (one of maybe several on its symbol)."""
        trade = self.active_model.trade_at(self.active_table.currentIndex().row())
        return trade.trade_id if trade is not None else None

    def _on_active_selected(self, index: QModelIndex) -> None:
        if self._syncing or not index.isValid():
            return
        trade = self.active_model.trade_at(index.row())
        if trade is not None:
            self._pinned = True
            self._select(self.recent_table, None)
            self._show(("active", trade.trade_id))

    def _on_recent_selected(self, index: QModelIndex) -> None:
        if self._syncing or not index.isValid():
            return
        closed = self.recent_model.trade_at(index.row())
        if closed is not None:
            self._pinned = True
            self._select(self.active_table, None)
            self._show(("recent", closed.record.trade_id))

    def _select(self, table: QTableView, row: int | None) -> None:
        self._syncing = True
        try:
            if row is None:
                table.selectionModel().clear()
            else:
                table.selectRow(row)
                table.setCurrentIndex(table.model().index(row, 0))
        finally:
            self._syncing = False

    def _show(self, shown: tuple[str, str] | None) -> None:
        self._shown = shown
        self._shown_version = -1
        self._draw()

    def _draw(self) -> None:
        if self._shown is None:
            self.chart.clear()
            return
        kind, trade_id = self._shown
        if kind == "active":
            row = self.active_model.row_of(trade_id)
            trade = self.active_model.trade_at(row) if row is not None else None
            if trade is not None:
                self.chart.show_active(trade, self._now_ns())
                return
        else:
            row = self.recent_model.row_of(trade_id)
            closed = self.recent_model.trade_at(row) if row is not None else None
            if closed is not None:
                self.chart.show_closed(closed)
                return
        self.chart.clear()

    # -- events and frames ------------------------------------------------------------------
    def apply(self, events: list[object]) -> None:
        """Committed trade events. The chart stays on the trade the user picked (into
        "Recent" when it closes); until they pick one it follows the newest trade."""
        opened = [e.trade.trade_id for e in events if isinstance(e, TradeChanged)
                  and self.active_model.row_of(e.trade.trade_id) is None]
        closed = {e.record.trade_id for e in events if isinstance(e, TradeClosed)}
        self._syncing = True
        try:
            self.active_model.apply(events)
            self.recent_model.apply(events)
        finally:
            self._syncing = False
        shown = self._shown
        still_open = [t for t in opened if self.active_model.row_of(t) is not None]
        if still_open and (shown is None or not self._pinned):
            shown = ("active", still_open[-1])
        elif shown is not None and shown[0] == "active" and shown[1] in closed:
            shown = ("recent", shown[1])
        if shown is not None:
            kind, trade_id = shown
            active = kind == "active"
            model = self.active_model if active else self.recent_model
            self._select(self.active_table if active else self.recent_table,
                         model.row_of(trade_id))
            self._select(self.recent_table if active else self.active_table, None)
            if shown != self._shown or closed or still_open:
                self._show(shown)
        self._update_count()

    def _update_count(self) -> None:
        count = self.active_model.rowCount()
        self.count_label.setText(f"Active trades ({count})" if count else "Active trades")

    def refresh(self) -> None:
        """Once a frame: repaint moved rows, and the chart if its trade moved."""
        self.active_model.refresh()
        if self._shown is not None and self._shown[0] == "active":
            row = self.active_model.row_of(self._shown[1])
            version = self.active_model.version_at(row) if row is not None else -1
            if version != self._shown_version:
                self._shown_version = version
                self._draw()
