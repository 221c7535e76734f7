"""Chart → Indicators…: the indicators drawn on the price pane, added (kind, period, band
width, colour) and removed; the chart redraws at once and the layout keeps them."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.panels.chart_indicators import (
    COLORS,
    KINDS,
    MAX_PERIOD,
    BadIndicator,
    ChartIndicators,
    IndicatorSpec,
)


def swatch(color: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class IndicatorsDialog(QDialog):
    def __init__(self, indicators: ChartIndicators, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indicatorsDialog")
        self.setWindowTitle("Chart indicators")
        self.indicators = indicators
        self.shown = QListWidget(self)
        self.shown.setObjectName("indicatorList")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("removeIndicator")
        self.kind = QComboBox(self)
        self.kind.setObjectName("indicatorKind")
        self.kind.addItems(list(KINDS))
        self.period = QSpinBox(self)
        self.period.setObjectName("indicatorPeriod")
        self.period.setRange(1, MAX_PERIOD)
        self.period.setValue(20)
        self.width = QDoubleSpinBox(self)
        self.width.setObjectName("indicatorWidth")
        self.width.setRange(0.1, 10.0)
        self.width.setSingleStep(0.5)
        self.width.setValue(2.0)
        self.color = QComboBox(self)
        self.color.setObjectName("indicatorColor")
        for color in COLORS:
            self.color.addItem(swatch(color), color, color)
        self.add_button = QPushButton("Add", self)
        self.add_button.setObjectName("addIndicator")
        self.status = QLabel(self)
        self.status.setObjectName("indicatorStatus")
        form = QFormLayout()
        form.addRow("Indicator", self.kind)
        form.addRow("Period (bars)", self.period)
        form.addRow("Band width (std)", self.width)
        form.addRow("Colour", self.color)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.remove_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("On the price pane:", self))
        layout.addWidget(self.shown)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        self.kind.currentTextChanged.connect(self._fields)
        self.shown.currentRowChanged.connect(lambda _row: self._fields())
        self._refill()
        self._fields()

    def _fields(self) -> None:
        kind = self.kind.currentText()
        self.period.setEnabled(kind != "VWAP")
        self.width.setEnabled(kind == "Bollinger")
        self.remove_button.setEnabled(self.shown.currentRow() >= 0)

    def _refill(self) -> None:
        self.shown.clear()
        for spec in self.indicators.specs:
            self.shown.addItem(spec.label)
            self.shown.item(self.shown.count() - 1).setIcon(swatch(spec.color))
        self._fields()

    def add(self) -> IndicatorSpec | None:
        try:
            spec = IndicatorSpec(self.kind.currentText(), self.period.value(),
                                 self.width.value(), self.color.currentData())
        except BadIndicator as exc:
            self.status.setText(str(exc))
            return None
        self.indicators.add(spec)
        self.status.setText(f"{spec.label} added")
        self.color.setCurrentIndex((self.color.currentIndex() + 1) % len(COLORS))
        self._refill()
        return spec

    def remove_selected(self) -> None:
        row = self.shown.currentRow()
        if row < 0:
            return
        label = self.indicators.specs[row].label
        self.indicators.remove(row)
        self.status.setText(f"{label} removed")
        self._refill()
