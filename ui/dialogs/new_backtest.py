"""New backtest: a loaded strategy plugin, its parameters (a field per ``Param``, bounded as
declared, like the Strategies panel's form), symbols, timeframe, a date range, the data
source (the simulated market, the store, or a CSV/Parquet file), the fill model and costs.
Run gives a ``BacktestRequest``; the dock runs it with ``bracket backtest``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from ui.backtest_process import BacktestRequest
from ui.panels.strategy_form import FLOAT_LIMIT, INT_LIMIT, MAX_DECIMALS, NUMBER_WIDTH, bounds_text
from ui.panels.widgets import caption, show_status
from workstation.backtest.run import BacktestSettings
from workstation.model import decimals_of
from workstation.strategies.loader import StrategyClass
from workstation.strategy import Param

DEFAULT_DAYS = 30
RESERVED = (",", "=")  # the strategy spec separates parameters with these
DATA_FILES = "Bars or ticks (*.csv *.parquet);;All files (*)"


def _spin(param: Param, value: Any, parent: QWidget) -> QSpinBox | QDoubleSpinBox:
    spin: QSpinBox | QDoubleSpinBox
    if param.kind is int:
        spin = QSpinBox(parent)
        spin.setRange(-INT_LIMIT if param.min is None else max(int(param.min), -INT_LIMIT),
                      INT_LIMIT if param.max is None else min(int(param.max), INT_LIMIT))
        spin.setSingleStep(max(int(param.step or 1), 1))
        spin.setValue(int(value))
    else:
        spin = QDoubleSpinBox(parent)
        known = [v for v in (param.step, param.min, param.max, value) if v is not None]
        decimals = max(decimals_of(abs(v)) for v in known) if param.step else 4
        spin.setDecimals(min(decimals, MAX_DECIMALS))
        spin.setRange(-FLOAT_LIMIT if param.min is None else param.min,
                      FLOAT_LIMIT if param.max is None else param.max)
        spin.setSingleStep(param.step or 10 ** -spin.decimals())
        spin.setValue(float(value))
    spin.setAlignment(fmt.RIGHT)
    spin.setFont(theme.MONO)
    spin.setFixedWidth(NUMBER_WIDTH)
    return spin


def param_field(param: Param, parent: QWidget) -> tuple[QWidget, Callable[[], Any]]:
    """A field for ``param`` at its default, and how to read it."""
    widget: QWidget
    if param.kind is bool:
        box = QCheckBox(parent)
        box.setChecked(bool(param.default))
        widget, getter = box, box.isChecked
    elif param.kind is str and param.choices:
        combo = QComboBox(parent)
        combo.addItems(list(param.choices))
        combo.setCurrentText(str(param.default))
        widget, getter = combo, combo.currentText
    elif param.kind is str:
        edit = QLineEdit(str(param.default), parent)
        widget, getter = edit, edit.text
    else:
        spin = _spin(param, param.default, parent)
        widget, getter = spin, spin.value
    widget.setObjectName(f"param_{param.name}")
    widget.setToolTip("\n".join(t for t in (param.doc, f"{param.name}: {param.kind.__name__} "
                                                       f"{bounds_text(param)}, default "
                                                       f"{param.default!r}") if t))
    return widget, getter


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date(edit: QDateEdit) -> date:
    value = edit.date()
    return date(value.year(), value.month(), value.day())


class NewBacktestDialog(QDialog):
    def __init__(self, strategies: dict[str, StrategyClass], symbols: list[str],
                 timeframes: list[str], *, today: date | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newBacktestDialog")
        self.setWindowTitle("New backtest")
        self._strategies = strategies
        self._known_symbols = symbols
        self.request: BacktestRequest | None = None
        self._getters: dict[str, Callable[[], Any]] = {}
        self.param_widgets: dict[str, QWidget] = {}
        defaults = BacktestSettings()
        today = today or date.today()

        self.strategy = QComboBox(self)
        self.strategy.setObjectName("backtestStrategy")
        self.strategy.addItems(sorted(strategies))
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setStyleSheet(f"color: {theme.MUTED.name()}")
        self.params_box = QWidget(self)
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        self.symbols = QLineEdit(self)
        self.symbols.setObjectName("backtestSymbols")
        self.symbols.setToolTip("Comma-separated; this app lists " + ", ".join(symbols))
        self.timeframe = QComboBox(self)
        self.timeframe.setObjectName("backtestTimeframe")
        self.timeframe.addItems(timeframes)
        self.start = self._date_edit("backtestFrom", today - timedelta(days=DEFAULT_DAYS))
        self.end = self._date_edit("backtestTo", today - timedelta(days=1))
        self.data_group = QButtonGroup(self)
        self.data_buttons: dict[str, QRadioButton] = {}
        data_line = QHBoxLayout()
        for key, text, tip in (
                ("sim", "&Simulated market", "History generated by the simulated market for "
                                             "these days (seeded: the same every time)"),
                ("store", "S&tore", "Bars or ticks imported with `bracket import` or recorded "
                                    "live"),
                ("file", "&File", "A CSV or Parquet file (checked as the importer does)")):
            button = QRadioButton(text, self)
            button.setObjectName(f"backtestData_{key}")
            button.setToolTip(tip)
            self.data_group.addButton(button)
            self.data_buttons[key] = button
            data_line.addWidget(button)
        data_line.addStretch(1)
        self.data_buttons["sim"].setChecked(True)
        self.file = QLineEdit(self)
        self.file.setObjectName("backtestFile")
        self.file.setPlaceholderText("a .csv or .parquet file")
        self.browse = QPushButton("Browse…", self)
        file_line = QHBoxLayout()
        file_line.addWidget(self.file, 1)
        file_line.addWidget(self.browse)
        self.fill = QComboBox(self)
        self.fill.setObjectName("backtestFill")
        self.fill.addItem("Next bar's open", "next_open")
        self.fill.addItem("This bar's close", "close")
        self.fill.setToolTip("Where a market order fills on bars (ticks fill as they do live)")
        self.slippage_ticks = QSpinBox(self)
        self.slippage_ticks.setObjectName("backtestSlippageTicks")
        self.slippage_ticks.setRange(0, 10_000)
        self.slippage_ticks.setSuffix(" ticks")
        self.slippage_bps = QDoubleSpinBox(self)
        self.slippage_bps.setObjectName("backtestSlippageBps")
        self.slippage_bps.setRange(0.0, 10_000.0)
        self.slippage_bps.setDecimals(2)
        self.slippage_bps.setSuffix(" bps")
        self.commission = QLineEdit(self)
        self.commission.setObjectName("backtestCommission")
        self.commission.setPlaceholderText("paper default")
        self.commission.setToolTip("Per contract/share per side; empty: the paper broker's")
        self.cash = QDoubleSpinBox(self)
        self.cash.setObjectName("backtestCash")
        self.cash.setRange(1.0, FLOAT_LIMIT)
        self.cash.setDecimals(2)
        self.cash.setGroupSeparatorShown(True)
        self.cash.setValue(defaults.starting_cash)
        self.seed = QSpinBox(self)
        self.seed.setObjectName("backtestSeed")
        self.seed.setRange(0, INT_LIMIT)
        self.seed.setValue(defaults.seed)
        self.seed.setToolTip("The simulated market's seed (same seed, same history)")
        for widget in (self.slippage_ticks, self.slippage_bps, self.cash, self.seed):
            widget.setAlignment(fmt.RIGHT)
            widget.setFont(theme.MONO)
        self.commission.setAlignment(fmt.RIGHT)
        self.commission.setFont(theme.MONO)
        self.message = QLabel(self)
        self.message.setObjectName("backtestDialogMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.run_button = self.buttons.addButton("&Run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.run_button.setObjectName("backtestRun")
        self.run_button.setDefault(True)

        form = QFormLayout()
        form.addRow("Strategy", self.strategy)
        form.addRow(self.description)
        form.addRow(caption("Parameters", self, top=4))
        form.addRow(self.params_box)
        form.addRow(caption("Market", self, top=4))
        form.addRow("Symbols", self.symbols)
        form.addRow("Timeframe", self.timeframe)
        dates = QHBoxLayout()
        dates.addWidget(self.start)
        dates.addWidget(QLabel("to", self))
        dates.addWidget(self.end)
        dates.addStretch(1)
        form.addRow("From", dates)
        form.addRow("Data", data_line)
        form.addRow("", file_line)
        form.addRow(caption("Fills and costs", self, top=4))
        form.addRow("Market orders fill at", self.fill)
        form.addRow("Slippage", self._pair(self.slippage_ticks, self.slippage_bps))
        form.addRow("Commission", self.commission)
        form.addRow("Starting cash", self.cash)
        form.addRow("Seed", self.seed)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.strategy.currentTextChanged.connect(self._show_strategy)
        self.data_group.buttonToggled.connect(lambda *_: self._data_changed())
        self.browse.clicked.connect(self._browse)
        self.buttons.accepted.connect(self._run)
        self.buttons.rejected.connect(self.reject)
        show_status(self.message, "")
        self._show_strategy(self.strategy.currentText())
        self._data_changed()
        if not strategies:
            show_status(self.message, "No strategy plugins are loaded: put a strategy file in "
                                      "the plugins folder", error=True)
            self.run_button.setEnabled(False)

    def _date_edit(self, name: str, day: date) -> QDateEdit:
        edit = QDateEdit(_qdate(day), self)
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setFont(theme.MONO)
        return edit

    def _pair(self, *widgets: QWidget) -> QHBoxLayout:
        line = QHBoxLayout()
        for widget in widgets:
            line.addWidget(widget)
        line.addStretch(1)
        return line

    def _show_strategy(self, name: str) -> None:
        """Fields for the chosen strategy's parameters, at their defaults."""
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self._getters, self.param_widgets = {}, {}
        offered = self._strategies.get(name)
        if offered is None:
            return
        cls = offered.cls
        self.description.setText(f"v{offered.version} · {offered.path.name}"
                                 + (f" — {cls.description}" if cls.description else ""))
        declared = cls.declared_params()
        if not declared:
            self.params_form.addRow(QLabel("This strategy declares no parameters", self))
        for param_name, param in declared.items():
            widget, getter = param_field(param, self.params_box)
            self.param_widgets[param_name] = widget
            self._getters[param_name] = getter
            note = bounds_text(param) if param.kind is not str or not param.choices else ""
            line = QHBoxLayout()
            line.addWidget(widget)
            hint = QLabel(note, self.params_box)
            hint.setStyleSheet(f"color: {theme.MUTED.name()}; font-size: 8pt")
            line.addWidget(hint, 1)
            self.params_form.addRow(param_name, line)
        self.symbols.setText(", ".join(cls.symbols))
        if cls.timeframes and self.timeframe.findText(cls.timeframes[0]) >= 0:
            self.timeframe.setCurrentText(cls.timeframes[0])

    def _data_changed(self) -> None:
        chosen = self.data_buttons["file"].isChecked()
        self.file.setEnabled(chosen)
        self.browse.setEnabled(chosen)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Backtest data", self.file.text(),
                                              DATA_FILES)
        if path:
            self.file.setText(path)

    def data_source(self) -> str:
        chosen = next(key for key, button in self.data_buttons.items() if button.isChecked())
        return self.file.text().strip() if chosen == "file" else chosen

    def build_request(self) -> BacktestRequest:
        """What the fields say, or ValueError naming the field that is wrong."""
        name = self.strategy.currentText()
        if name not in self._strategies:
            raise ValueError("Strategy: choose a loaded strategy")
        params = {key: getter() for key, getter in self._getters.items()}
        for key, value in params.items():
            if isinstance(value, str) and any(c in value for c in RESERVED):
                raise ValueError(f"Parameter {key}: a comma or '=' cannot be passed")
        symbols = tuple(s.strip().upper() for s in self.symbols.text().split(",") if s.strip())
        if not symbols:
            raise ValueError("Symbols: name at least one (for example "
                             f"{', '.join(self._known_symbols[:2])})")
        start, end = _date(self.start), _date(self.end)
        if start > end:
            raise ValueError(f"From: {start} is after {end}")
        data = self.data_source()
        if not data:
            raise ValueError("Data: choose a CSV or Parquet file")
        text = self.commission.text().strip().replace(",", "")
        try:
            commission = float(text) if text else None
        except ValueError:
            raise ValueError(f"Commission: {text!r} is not a number") from None
        if commission is not None and commission < 0:
            raise ValueError("Commission: cannot be negative")
        return BacktestRequest(
            strategy=name, symbols=symbols, params=params,
            timeframe=self.timeframe.currentText(), start=start, end=end, data=data,
            cash=self.cash.value(), fill=str(self.fill.currentData()),
            slippage_ticks=self.slippage_ticks.value(), slippage_bps=self.slippage_bps.value(),
            commission=commission, seed=self.seed.value())

    def _run(self) -> None:
        try:
            self.request = self.build_request()
        except ValueError as exc:
            show_status(self.message, str(exc), error=True)
            return
        self.accept()


