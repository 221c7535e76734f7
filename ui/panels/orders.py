"""Orders dock: working orders on top (Delete cancels, Enter or double-click
modifies), done orders below with their fills and the broker's reasons.

Both tables show only journal-committed events (invariant 4); commands go
through the router and a refusal (order already done) is reported, not raised.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.modify_order import ModifyOrderDialog
from ui.models.orders_model import SOURCE_SAMPLE, OrderHistoryModel, WorkingOrdersModel
from ui.panels.tables import fit_columns, make_table, show_rows
from ui.panels.widgets import caption
from workstation.brokers.base import BrokerError
from workstation.model import Instrument
from workstation.orders import OrderUpdate
from workstation.risk.router import OrderRouter

_CANCEL_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
_MODIFY_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
WORKING_ROWS = 3  # an entry and its stop and target, whatever the layout


class OrdersPanel(QWidget):
    message = Signal(str, bool)  # text, is_error: for the status bar

    def __init__(self, instruments: dict[str, Instrument], router: OrderRouter,
                 price_sample: str = "99,999.99", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._instruments = instruments
        self._price_sample = price_sample
        self._router = router
        self.modify_dialog: ModifyOrderDialog | None = None
        self.working_model = WorkingOrdersModel(instruments)
        self.history_model = OrderHistoryModel(instruments)
        self.working_table = make_table(self.working_model, "workingOrdersTable", self)
        self.history_table = make_table(self.history_model, "orderHistoryTable", self)
        self._size_columns()
        show_rows(self.working_table, WORKING_ROWS)  # live bracket legs stay in sight
        show_rows(self.history_table, 2)
        self.working_label = caption("Working orders", self)
        self.cancel_button = QPushButton("Cancel order", self)
        self.cancel_button.setObjectName("cancelOrder")
        self.cancel_button.setToolTip("Cancel the selected working order (Del)")
        self.modify_button = QPushButton("Modify…", self)
        self.modify_button.setObjectName("modifyOrder")
        self.modify_button.setToolTip("Change quantity, limit or stop (Enter)")
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.working_label)
        top.addStretch(1)
        top.addWidget(self.modify_button)
        top.addWidget(self.cancel_button)
        working = QWidget(self)
        working_layout = QVBoxLayout(working)
        working_layout.setContentsMargins(0, 0, 0, 0)
        working_layout.setSpacing(2)
        working_layout.addLayout(top)
        working_layout.addWidget(self.working_table)
        history = QWidget(self)
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 2, 0, 0)
        history_layout.setSpacing(2)
        history_layout.addWidget(caption("Done orders", self))
        history_layout.addWidget(self.history_table)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(working)
        splitter.addWidget(history)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.cancel_button.clicked.connect(self.cancel_selected)
        self.modify_button.clicked.connect(self.modify_selected)
        self.working_table.doubleClicked.connect(lambda _index: self.modify_selected())
        self.working_table.installEventFilter(self)
        self.working_table.selectionModel().currentRowChanged.connect(self._update_buttons)
        self._update_buttons()

    def _size_columns(self) -> None:
        price = self._price_sample
        fit_columns(self.working_table, ["00:00:00", "BTC/USD", "Sell", "stop-limit", "999",
                                         price, "GTC", "accepted", "manual-99-SL",
                                         SOURCE_SAMPLE], mono={0, 4, 5})
        fit_columns(self.history_table, ["00:00:00", f"Sell 1 NQ stop {price}", "canceled",
                                         f"1 @ {price}", "canceled by user", SOURCE_SAMPLE],
                    mono={0})

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Delete cancels, Enter modifies, whenever the working table has focus."""
        if (watched is self.working_table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)):
            if event.key() in _CANCEL_KEYS:
                self.cancel_selected()
                return True
            if event.key() in _MODIFY_KEYS:
                self.modify_selected()
                return True
        return super().eventFilter(watched, event)

    def apply(self, events: list[object]) -> None:
        """Committed order updates and fills."""
        self.working_model.apply(events)
        self.history_model.apply(events)
        count = self.working_model.rowCount()
        self.working_label.setText(f"Working orders ({count})" if count else "Working orders")
        self._update_buttons()

    def selected_order(self) -> OrderUpdate | None:
        return self.working_model.order_at(self.working_table.currentIndex().row())

    def _update_buttons(self, *_: object) -> None:
        order = self.selected_order()
        self.cancel_button.setEnabled(order is not None)
        self.modify_button.setEnabled(order is not None)

    def cancel_selected(self) -> None:
        order = self.selected_order()
        if order is None:
            return
        try:
            self._router.cancel(order.order_id)
        except BrokerError as exc:
            self.message.emit(f"Not canceled: {exc}", True)
            return
        self.message.emit(f"Cancel sent for {order.client_order_id}", False)

    def modify_selected(self) -> None:
        order = self.selected_order()
        if order is None:
            return
        if self.modify_dialog is not None:
            self.modify_dialog.deleteLater()  # one at a time; none pile up under the panel
        dialog = ModifyOrderDialog(order, self._instruments[order.symbol], self._router, self)
        dialog.accepted.connect(
            lambda: self.message.emit(f"Modify sent for {order.client_order_id}", False))
        self.modify_dialog = dialog
        dialog.open()
