"""Chart → Price alerts…: every alert still waiting, on any symbol, and removing one; and
the watchlist's "Alert at price…": a price for a new alert on one symbol."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.chart_alerts import ChartAlerts
from ui.price_alerts import PriceAlert
from workstation.model import Instrument

MAX_PRICE = 1e9


class PriceAlertsDialog(QDialog):
    def __init__(self, alerts: ChartAlerts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("priceAlertsDialog")
        self.setWindowTitle("Price alerts")
        self._alerts = alerts
        self.shown = QListWidget(self)
        self.shown.setObjectName("priceAlertList")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("removePriceAlert")
        self.empty = QLabel("No price alerts: right-click the chart at a price to set one.",
                            self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.shown)
        layout.addWidget(self.remove_button)
        layout.addWidget(buttons)
        self.remove_button.clicked.connect(self.remove_selected)
        self.shown.currentRowChanged.connect(
            lambda row: self.remove_button.setEnabled(row >= 0))
        self.refill()

    def refill(self) -> None:
        self.shown.clear()
        for alert in self._alerts.book.alerts:
            self.shown.addItem(self._alerts.describe(alert))
        self.empty.setVisible(not self._alerts.book.alerts)
        self.remove_button.setEnabled(self.shown.currentRow() >= 0)

    def remove_selected(self) -> None:
        row = self.shown.currentRow()
        if 0 <= row < len(self._alerts.book.alerts):
            self._alerts.remove(self._alerts.book.alerts[row])
            self.refill()


class AlertPriceDialog(QDialog):
    """A price for an alert on ``instrument``, prefilled with its last trade and stepped by
    its tick; OK sets the alert, the same kind as the chart's."""

    def __init__(self, alerts: ChartAlerts, instrument: Instrument,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertPriceDialog")
        self.setWindowTitle(f"Alert on {instrument.symbol}")
        self._alerts = alerts
        self.instrument = instrument
        self.alert: PriceAlert | None = None
        self.price = QDoubleSpinBox(self)
        self.price.setObjectName("alertPrice")
        self.price.setDecimals(instrument.price_decimals)
        self.price.setRange(instrument.tick_size, MAX_PRICE)
        self.price.setSingleStep(instrument.tick_size)
        self.price.setGroupSeparatorShown(True)
        last = alerts.last(instrument.symbol)
        if last is not None:
            self.price.setValue(instrument.round_price(last))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(f"Alert when {instrument.symbol} trades at", self.price)
        form.addRow(buttons)

    def accept(self) -> None:
        """The alert at the price on the tick grid (a typed 21,010.1 is 21,010.00)."""
        self.alert = self._alerts.add(self.instrument.round_price(self.price.value()),
                                      self.instrument.symbol)
        super().accept()
