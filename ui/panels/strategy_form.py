"""The selected instance's settings form: its strategy's declared parameters (a field per
Param, bounded as declared), its capital allocation, trading window and risk limits.

The form only edits and validates; the panel applies what ``settings()`` returns
through the host (which restarts a running instance with it) and shows the
outcome with ``show_result``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from ui.panels.widgets import caption
from workstation.model import decimals_of
from workstation.strategies.context import StrategyContext
from workstation.strategies.instances import InstanceError, InstanceSettings
from workstation.strategies.loader import StrategyClass
from workstation.strategy import Param

INT_LIMIT = 2_147_483_647  # QSpinBox is 32-bit
FLOAT_LIMIT = 1e12
MAX_DECIMALS = 8
NUMBER_WIDTH = 84
# (risk field, label, whole number?, tooltip); empty means no limit
RISK_FIELDS = (
    ("stop_pct", "Stop %", False, "Entries without a stop-loss get one this far away "
                                  "(percent of the entry price); empty: none"),
    ("take_profit_pct", "Take profit %", False, "Entries without a target get one this far "
                                                "away (percent); empty: none"),
    ("max_position", "Max position", False, "Largest position per symbol this instance may "
                                            "hold; empty: no limit of its own"),
    ("max_daily_loss", "Max daily loss", False, "Losing this much today pauses the instance; "
                                                "empty: no limit of its own"),
    ("max_concurrent_positions", "Max positions", True, "Symbols it may hold at once; "
                                                        "empty: no limit"),
)


def bounds_text(param: Param) -> str:
    if param.kind is bool:
        return ""
    if param.kind is str:
        return "" if param.choices else "text"
    low, high = param.min, param.max
    text = (f"{low:g}\N{EN DASH}{high:g}" if low is not None and high is not None else
            f"≥ {low:g}" if low is not None else f"≤ {high:g}" if high is not None else "any")
    whole_steps = param.kind is int and param.step in (None, 1)
    return f"{text} by {param.step:g}" if param.step and not whole_steps else text


def _number_edit(parent: QWidget, tip: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setPlaceholderText("none")
    edit.setAlignment(fmt.RIGHT)
    edit.setFont(theme.MONO)
    edit.setFixedWidth(NUMBER_WIDTH)
    edit.setToolTip(tip)
    return edit


def _parse(edit: QLineEdit, label: str, whole: bool) -> float | int | None:
    text = edit.text().strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InstanceError(f"{label}: {edit.text().strip()!r} is not a number") from None
    if whole:
        if value != int(value):
            raise InstanceError(f"{label}: {edit.text().strip()!r} is not a whole number")
        return int(value)
    return value


class StrategyForm(QWidget):
    apply_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strategyForm")
        self.instance_id: str | None = None
        self._ctx: StrategyContext | None = None
        self.shown: InstanceSettings | None = None  # what the fields were loaded from
        self.offered: StrategyClass | None = None  # ... and whose parameters they show
        self.dirty = False
        self._loading = False
        self.param_widgets: dict[str, QWidget] = {}
        self._getters: dict[str, Callable[[], Any]] = {}
        self.title = QLabel("Select an instance to edit its settings", self)
        self.title.setObjectName("strategyFormTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; padding: 2px 4px")
        self.fields = QWidget()
        self.form = QFormLayout(self.fields)
        self.allocation = QLineEdit()
        self.window: dict[str, tuple[QCheckBox, QTimeEdit]] = {}
        self.risk: dict[str, QLineEdit] = {}
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.message = QLabel(self)
        self.message.setObjectName("strategyFormMessage")
        self.message.setWordWrap(True)
        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setObjectName("applySettings")
        self.apply_button.setToolTip("Restart the instance with these settings (Ctrl+Enter); "
                                     "its state is kept")
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setObjectName("revertSettings")
        self.revert_button.setToolTip("Back to the instance's current settings")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 0, 4, 4)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self._scroll, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.apply_button.clicked.connect(self.apply_requested)
        self.revert_button.clicked.connect(self.revert)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.apply_requested)
        self.show_instance(None)

    # -- building ------------------------------------------------------------------------
    def _build(self, ctx: StrategyContext | None) -> None:
        """Fresh fields for this instance (the scroll area deletes the previous ones)."""
        self.fields = QWidget()
        self.form = QFormLayout(self.fields)
        self.form.setContentsMargins(4, 0, 4, 4)
        self.form.setVerticalSpacing(3)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.param_widgets = {}
        self._getters = {}
        if ctx is not None:
            self._fill(ctx)
        self._scroll.setWidget(self.fields)

    def _settings_widgets(self) -> None:
        """The fields every instance has, below its parameters."""
        self.allocation = _number_edit(self.fields, "Capital this instance may hold; empty: "
                                                    "no allocation of its own")
        self.window = {}
        for key, text in (("window_start", "from"), ("window_end", "until")):
            check = QCheckBox(self.fields)
            check.setObjectName(key)
            edit = QTimeEdit(self.fields)
            edit.setDisplayFormat("HH:mm")
            edit.setFont(theme.MONO)
            edit.setAlignment(fmt.RIGHT)
            edit.setFixedWidth(NUMBER_WIDTH - 20)
            for widget in (check, edit):
                widget.setToolTip(f"Entries only {text} this exchange time (unticked: no "
                                  "limit; the window may wrap midnight)")
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self._changed)
            edit.timeChanged.connect(self._changed)
            self.window[key] = (check, edit)
        self.risk = {key: _number_edit(self.fields, tip) for key, _, _, tip in RISK_FIELDS}
        for key, edit in self.risk.items():
            edit.setObjectName(key)
        self.allocation.setObjectName("allocation")
        for edit in (self.allocation, *self.risk.values()):
            edit.textChanged.connect(self._changed)

    def _param_widget(self, param: Param, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        tip = "\n".join(t for t in (param.doc, f"{param.name}: {param.kind.__name__} "
                                               f"{bounds_text(param)}, default "
                                               f"{param.default!r}") if t)
        widget: QWidget
        if param.kind is bool:
            box = QCheckBox(self.fields)
            box.setChecked(bool(value))
            box.toggled.connect(self._changed)
            widget, getter = box, box.isChecked
        elif param.kind is str and param.choices:
            combo = QComboBox(self.fields)
            combo.addItems(list(param.choices))
            combo.setCurrentText(str(value))
            combo.currentIndexChanged.connect(self._changed)
            widget, getter = combo, combo.currentText
        elif param.kind is str:
            edit = QLineEdit(str(value), self.fields)
            edit.textChanged.connect(self._changed)
            widget, getter = edit, edit.text
        else:
            spin = self._spin(param, value)
            widget, getter = spin, spin.value
        widget.setObjectName(f"param_{param.name}")
        widget.setToolTip(tip)
        return widget, getter

    def _spin(self, param: Param, value: float) -> QSpinBox | QDoubleSpinBox:
        spin = param_spin(param, value, self.fields)
        spin.valueChanged.connect(self._changed)
        return spin

    def _row(self, label: str, *widgets: QWidget, note: str = "") -> None:
        line = QHBoxLayout()
        line.setSpacing(6)
        for widget in widgets:
            line.addWidget(widget)
        if note:  # wraps rather than widening the form
            hint = QLabel(note, self.fields)
            hint.setWordWrap(True)
            hint.setStyleSheet(f"color: {theme.MUTED.name()}; font-size: 8pt")
            line.addWidget(hint, 1)
        else:
            line.addStretch(1)
        self.form.addRow(label, line)

    # -- showing -------------------------------------------------------------------------
    def show_instance(self, ctx: StrategyContext | None) -> None:
        """Rebuild the fields for this instance (None: nothing selected)."""
        self._loading = True
        self._ctx = ctx
        self.instance_id = ctx.instance_id if ctx is not None else None
        self.shown = ctx.settings if ctx is not None else None
        self.offered = ctx.offered if ctx is not None else None
        if ctx is None:
            self.title.setText("Select an instance to edit its settings")
        self._build(ctx)
        self._loading = False
        self.dirty = False
        self.show_result("")
        self._update_buttons()

    def _fill(self, ctx: StrategyContext) -> None:
        settings = ctx.settings
        declared = ctx.offered.cls.declared_params()
        self.title.setText(f"{ctx.instance_id} · {settings.strategy} v{ctx.offered.version}")
        self.form.addRow(caption("Parameters", self.fields, top=4))
        if not declared:
            self.form.addRow(QLabel("This strategy declares no parameters", self.fields))
        for name, param in declared.items():
            widget, getter = self._param_widget(param, settings.params.get(name, param.default))
            self.param_widgets[name] = widget
            self._getters[name] = getter
            self._row(name, widget, note=bounds_text(param) if param.kind is not str
                      or not param.choices else "")
        self.form.addRow(caption("Instance", self.fields, top=4))
        self._settings_widgets()
        self.allocation.setText(_number(settings.allocation))
        self._row("Allocation", self.allocation)
        self.form.addRow(caption("Entry window (exchange time)", self.fields, top=4))
        for key, (check, edit) in self.window.items():
            moment: time | None = getattr(settings, key)
            check.setChecked(moment is not None)
            edit.setEnabled(moment is not None)
            if moment is not None:
                edit.setTime(QTime(moment.hour, moment.minute))
        self._row("From", *self.window["window_start"])
        self._row("Until", *self.window["window_end"])
        self.form.addRow(caption("Risk", self.fields, top=4))
        for key, label, _, _ in RISK_FIELDS:
            self.risk[key].setText(_number(getattr(settings.risk, key)))
            self._row(label, self.risk[key])

    def focus_first(self) -> None:
        """Keyboard: from the table to the first field."""
        first = next(iter(self.param_widgets.values()), self.allocation)
        first.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def revert(self) -> None:
        """Back to the instance's current settings."""
        self.show_instance(self._ctx)

    def show_result(self, text: str, error: bool = False) -> None:
        """A line under the fields: red for what was refused, muted otherwise."""
        color = theme.DOWN if error else theme.MUTED
        self.message.setStyleSheet(f"color: {color.name()}; padding: 0 4px")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _changed(self, *_: object) -> None:
        if not self._loading:
            self.dirty = True
            self._update_buttons()

    def _update_buttons(self) -> None:
        self.apply_button.setEnabled(self.instance_id is not None and self.dirty)
        self.revert_button.setEnabled(self.instance_id is not None and self.dirty)

    # -- reading -------------------------------------------------------------------------
    def settings(self) -> InstanceSettings:
        """The edited settings, validated as a whole (InstanceError names the field)."""
        if self.shown is None:
            raise InstanceError("select an instance first")
        data = self.shown.model_dump()
        data["params"] = {name: getter() for name, getter in self._getters.items()}
        data["allocation"] = _parse(self.allocation, "Allocation", False)
        for key, (check, edit) in self.window.items():
            moment = edit.time()
            data[key] = time(moment.hour(), moment.minute()) if check.isChecked() else None
        data["risk"] = {key: _parse(self.risk[key], label, whole)
                        for key, label, whole, _ in RISK_FIELDS}
        try:
            return InstanceSettings.from_dict(data)
        except InstanceError as exc:
            raise InstanceError(plain(str(exc), self.shown.instance_id)) from None


def plain(message: str, instance_id: str) -> str:
    """Pydantic's "strategy instance x: risk.stop_pct: Input should be less than 100" with
    the form's labels: "Stop %: must be less than 100"."""
    message = message.removeprefix(f"strategy instance {instance_id}: ")
    fields = {f"risk.{key}": label for key, label, _, _ in RISK_FIELDS}
    fields |= {"allocation": "Allocation", "window_start": "From", "window_end": "Until"}
    for field, label in fields.items():
        message = message.replace(f"{field}: ", f"{label}: ")
    return message.replace("Input should be", "must be")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def param_spin(param: Param, value: float, parent: QWidget) -> QSpinBox | QDoubleSpinBox:
    """A number field within ``param``'s bounds and step, at ``value`` (the Strategies form
    and the New backtest dialog)."""
    spin: QSpinBox | QDoubleSpinBox
    if param.kind is int:
        spin = QSpinBox(parent)
        low = -INT_LIMIT if param.min is None else max(int(param.min), -INT_LIMIT)
        high = INT_LIMIT if param.max is None else min(int(param.max), INT_LIMIT)
        spin.setRange(low, high)
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
    spin.setAccelerated(True)
    spin.setFixedWidth(NUMBER_WIDTH)
    return spin
