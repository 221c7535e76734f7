"""Chart → Indicators…: the indicators drawn on the chart (SMA, EMA, VWAP, Bollinger on the
price pane; RSI, MACD, ATR, Stochastic in panes below it), added with their parameters and
colours and removed; the chart redraws at once and the layout keeps them."""

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
    DEFAULT_PERIOD,
    KINDS,
    MAX_PERIOD,
    SECOND_COLOR,
    BadIndicator,
    ChartIndicators,
    IndicatorSpec,
)

PERIOD_DEFAULT = 20  # the price pane's averages and bands
# the fields each kind uses (the others are hidden)
FIELDS = {"SMA": {"period"}, "EMA": {"period"}, "VWAP": set(),
          "Bollinger": {"period", "width"}, "RSI": {"period"}, "ATR": {"period"},
          "MACD": {"fast", "slow", "signal", "color2"}, "Stochastic": {"period", "d", "color2"}}


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
        self.period.setValue(PERIOD_DEFAULT)
        self.fast = self._bars_box("indicatorFast", 12)
        self.slow = self._bars_box("indicatorSlow", 26)
        self.signal = self._bars_box("indicatorSignal", 9)
        self.d = self._bars_box("indicatorD", 3)
        self.width = QDoubleSpinBox(self)
        self.width.setObjectName("indicatorWidth")
        self.width.setRange(0.1, 10.0)
        self.width.setSingleStep(0.5)
        self.width.setValue(2.0)
        self.color = QComboBox(self)
        self.color.setObjectName("indicatorColor")
        self.color2 = QComboBox(self)
        self.color2.setObjectName("indicatorColor2")
        for color in COLORS:
            self.color.addItem(swatch(color), color, color)
            self.color2.addItem(swatch(color), color, color)
        self.color2.setCurrentIndex(COLORS.index(SECOND_COLOR))
        self.add_button = QPushButton("Add", self)
        self.add_button.setObjectName("addIndicator")
        self.status = QLabel(self)
        self.status.setObjectName("indicatorStatus")
        self.form = form = QFormLayout()
        form.addRow("Indicator", self.kind)
        form.addRow("Period (bars)", self.period)
        form.addRow("Band width (std)", self.width)
        form.addRow("Fast EMA (bars)", self.fast)
        form.addRow("Slow EMA (bars)", self.slow)
        form.addRow("Signal EMA (bars)", self.signal)
        form.addRow("%D (bars)", self.d)
        form.addRow("Colour", self.color)
        form.addRow("Signal / %D colour", self.color2)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.remove_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("On the chart (RSI, MACD, ATR, Stochastic in panes below the "
                                "price):", self))
        layout.addWidget(self.shown)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        self._kind = self.kind.currentText()
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.shown.currentRowChanged.connect(lambda _row: self._fields())
        self._refill()
        self._fields()

    def _bars_box(self, name: str, value: int) -> QSpinBox:
        box = QSpinBox(self)
        box.setObjectName(name)
        box.setRange(1, MAX_PERIOD)
        box.setValue(value)
        return box

    def _kind_changed(self, kind: str) -> None:
        """A period left at the last kind's default takes the new kind's (RSI: 14)."""
        if self.period.value() == DEFAULT_PERIOD.get(self._kind, PERIOD_DEFAULT):
            self.period.setValue(DEFAULT_PERIOD.get(kind, PERIOD_DEFAULT))
        self._kind = kind
        self._fields()

    def _fields(self) -> None:
        kind = self.kind.currentText()
        used = FIELDS[kind]
        for name in ("period", "width", "fast", "slow", "signal", "d", "color2"):
            self.form.setRowVisible(getattr(self, name), name in used)
        label = self.form.labelForField(self.period)
        if isinstance(label, QLabel):
            label.setText("%K (bars)" if kind == "Stochastic" else "Period (bars)")
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
                                 self.width.value(), self.color.currentData(),
                                 self.fast.value(), self.slow.value(), self.signal.value(),
                                 self.d.value(), self.color2.currentData())
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
