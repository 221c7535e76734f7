"""A manual signal: symbol, direction, price (the market's by default, on the tick
grid) and notes, submitted to the signal engine like any strategy's. The engine
validates it (a stale price, a closed market, a duplicate are refused with the
reason, shown here); a valid one waits for a bar to confirm it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from workstation.model import Bar, Direction, Instrument
from workstation.model import Signal as TradeSignal
from workstation.signals.lifecycle import SignalRecord, SignalState

SOURCE = "manual"


class NewSignalDialog(QDialog):
    submitted = Signal(object)  # the SignalRecord, pending or rejected

    def __init__(self, instruments: dict[str, Instrument],
                 submit: Callable[[TradeSignal], SignalRecord], now_ns: Callable[[], int],
                 market_price: Callable[[str], float | None], symbol: str, timeframe: str,
                 *, price: float | None = None, bar: Bar | None = None,
                 parent: QWidget | None = None) -> None:
        """``bar``: the chart bar the signal is about (its close is the default price; it
        becomes the signal bar when it is a ``timeframe`` bar, the confirmation one)."""
        super().__init__(parent)
        self.setObjectName("newSignalDialog")
        self.setWindowTitle("New signal")
        self._instruments = instruments
        self._submit = submit
        self._now_ns = now_ns
        self._market_price = market_price
        self._timeframe = timeframe
        self.bar = bar
        self.record: SignalRecord | None = None
        self.symbol = QComboBox(self)
        self.symbol.setObjectName("signalSymbol")
        self.symbol.addItems(list(instruments))
        self.symbol.setCurrentText(symbol)
        self.long = QRadioButton("&Long", self)
        self.long.setObjectName("signalLong")
        self.short = QRadioButton("S&hort", self)
        self.short.setObjectName("signalShort")
        self.long.setChecked(True)
        self.long.setStyleSheet(f"color: {theme.UP.name()}")
        self.short.setStyleSheet(f"color: {theme.DOWN.name()}")
        self._direction = QButtonGroup(self)
        self._direction.addButton(self.long)
        self._direction.addButton(self.short)
        directions = QHBoxLayout()
        directions.addWidget(self.long)
        directions.addWidget(self.short)
        directions.addStretch(1)
        self.price = QDoubleSpinBox(self)
        self.price.setObjectName("signalPrice")
        self.price.setRange(0.0, 1e9)
        self.price.setFont(theme.MONO)
        self.price.setGroupSeparatorShown(True)
        self.price.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.price.setKeyboardTracking(False)
        self.price_note = QLabel(self)
        self.price_note.setStyleSheet(f"color: {theme.MUTED.name()}")
        self.notes = QLineEdit(self)
        self.notes.setObjectName("signalNotes")
        self.notes.setPlaceholderText("why: the setup, the level, the pattern…")
        self.bar_note = QLabel(self)
        self.bar_note.setStyleSheet(f"color: {theme.MUTED.name()}")
        self.result = QLabel(self)
        self.result.setObjectName("signalResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        form = QFormLayout()
        form.addRow("S&ymbol", self.symbol)
        form.addRow("Direction", directions)
        form.addRow("&Price", self.price)
        form.addRow("", self.price_note)
        form.addRow("&Notes", self.notes)
        if bar is not None:
            form.addRow("Bar", self.bar_note)
        else:  # outside the form it would sit at the top left, over the symbol's first letters
            self.bar_note.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.submit_button = self.buttons.addButton(
            "&Submit signal", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit_button.setObjectName("submitSignal")
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)
        self.symbol.currentTextChanged.connect(lambda _s: self._load_symbol(None))
        self._load_symbol(price)

    def _load_symbol(self, price: float | None) -> None:
        """The instrument's tick grid and, unless given, the market price."""
        symbol = self.symbol.currentText()
        inst = self._instruments[symbol]
        d = inst.price_decimals
        self.price.setDecimals(d)
        self.price.setSingleStep(inst.tick_size)
        market = self._market_price(symbol)
        if price is None:
            price = market or 0.0
        self.price.setValue(inst.round_price(price))
        self.price_note.setText(f"market {fmt.price(market, d)} · tick {inst.tick_size:g}"
                                if market else "no market price yet")
        bar = self.bar
        if bar is not None:
            when = fmt.local_time(bar.ts, "%H:%M")
            used = bar.symbol == symbol and bar.timeframe == self._timeframe
            self.bar_note.setText(f"{bar.symbol} {bar.timeframe} {when} ET, close "
                                  f"{fmt.price(bar.close, d)}"
                                  + (" (the signal bar)" if used else
                                     f" (not a {self._timeframe} bar: the engine picks the "
                                     "signal bar)"))

    def direction(self) -> Direction:
        return Direction.LONG if self.long.isChecked() else Direction.SHORT

    def signal(self) -> TradeSignal:
        symbol = self.symbol.currentText()
        inst = self._instruments[symbol]
        bar = self.bar
        signal_bar = (bar if bar is not None and bar.symbol == symbol
                      and bar.timeframe == self._timeframe else None)
        return TradeSignal(symbol, self.direction(), ts=self._now_ns(), source=SOURCE,
                           price=inst.round_price(self.price.value()), bar=signal_bar,
                           notes=self.notes.text().strip())

    def submit(self) -> SignalRecord:
        """Hand the signal to the engine: accepted closes the dialog, refused says why."""
        record = self._submit(self.signal())
        self.record = record
        self.submitted.emit(record)
        if record.state is SignalState.REJECTED:
            reason = record.history[-1].reason
            self.result.setStyleSheet(f"color: {theme.DOWN.name()}")
            self.result.setText(f"Rejected: {reason}")
            return record
        self.result.setStyleSheet(f"color: {theme.UP.name()}")
        self.result.setText(f"{record.id} {record.state.value}: {record.history[-1].reason}")
        self.accept()
        return record
