"""Chart → Price alerts…: every alert still waiting, on any symbol, and removing one."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.chart_alerts import ChartAlerts


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
