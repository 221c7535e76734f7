"""Modify a working order: quantity, and the limit and/or stop price its type has.

Only what changed is sent, through the router's replace; the broker rounds
prices to the tick and refuses a quantity below what is already filled, and
that refusal is shown here rather than lost.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.orders_model import TYPE_NAMES
from workstation.brokers.base import BrokerError
from workstation.model import Instrument
from workstation.orders import OrderType, OrderUpdate
from workstation.risk.router import OrderRouter

_HAS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_HAS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


class ModifyOrderDialog(QDialog):
    def __init__(self, order: OrderUpdate, instrument: Instrument, router: OrderRouter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modifyOrder")
        self.setWindowTitle(f"Modify {order.client_order_id}")
        self.order = order
        self._inst = instrument
        self._router = router
        d = instrument.price_decimals
        self.qty = self._spin(instrument.size_decimals, instrument.lot_size,
                              max(instrument.lot_size, order.filled_qty), order.qty)
        self.limit_price = self._spin(d, instrument.tick_size, 0.0, order.limit_price or 0.0)
        self.stop_price = self._spin(d, instrument.tick_size, 0.0, order.stop_price or 0.0)
        self.limit_price.setEnabled(order.type in _HAS_LIMIT)
        self.stop_price.setEnabled(order.type in _HAS_STOP)
        self.error = QLabel(self)
        self.error.setObjectName("modifyError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        form = QFormLayout()
        form.addRow("Order", QLabel(f"{order.side.value} {order.symbol} "
                                    f"{TYPE_NAMES[order.type]}, {order.filled_qty:g} filled"))
        form.addRow("&Quantity", self.qty)
        form.addRow("&Limit price", self.limit_price)
        form.addRow("&Stop price", self.stop_price)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    @staticmethod
    def _spin(decimals: int, step: float, low: float, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.setRange(low, 1e9)
        spin.setValue(value)
        spin.setFont(theme.MONO)
        spin.setGroupSeparatorShown(True)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        return spin

    def changes(self) -> dict[str, float]:
        """Only the fields that differ from the order as it is."""
        order, inst = self.order, self._inst
        found: dict[str, float] = {}
        if inst.round_size(self.qty.value()) != order.qty:
            found["qty"] = inst.round_size(self.qty.value())
        if self.limit_price.isEnabled():
            limit = inst.round_price(self.limit_price.value())
            if limit != order.limit_price:
                found["limit_price"] = limit
        if self.stop_price.isEnabled():
            stop = inst.round_price(self.stop_price.value())
            if stop != order.stop_price:
                found["stop_price"] = stop
        return found

    def apply(self) -> None:
        changes = self.changes()
        if not changes:
            self.reject()
            return
        try:
            self._router.replace(self.order.order_id, **changes)
        except BrokerError as exc:
            self.error.setText(f"Not modified: {exc}")
            return
        self.accept()
