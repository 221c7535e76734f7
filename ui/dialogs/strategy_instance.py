"""Add a strategy instance: which strategy, under which id, on which instruments and
timeframes. Settings are validated here (as the host will) so a mistake is shown
beside the fields; parameters start at their defaults and are edited in the panel, unless
the dialog is opened ``prefill``ed (the Backtest dock's "Use for a strategy instance":
an optimisation's chosen parameters, shown and kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from workstation.strategies.instances import InstanceError, InstanceSettings
from workstation.strategies.loader import StrategyClass

SLUG_LENGTH = 30
# the list's check boxes drawn like the theme's QCheckBox (an empty box reads as a box)
CHECKS = ("QListView::indicator { width: 12px; height: 12px; border: 1px solid #6b7686; "
          "border-radius: 2px; background-color: #12161c; } "
          "QListView::indicator:checked { background-color: #3b82f6; "
          "border: 3px solid #12161c; outline: 1px solid #3b82f6; }")


def suggest_id(strategy: str, taken: Container[str]) -> str:
    """A unique slug from the strategy's name: "My breakout" -> "my-breakout-1"."""
    slug = re.sub(r"[^a-z0-9]+", "-", strategy.lower()).strip("-")[:SLUG_LENGTH].strip("-")
    slug = slug or "instance"
    number = 1
    while f"{slug}-{number}" in taken:
        number += 1
    return f"{slug}-{number}"


class StrategyInstanceDialog(QDialog):
    def __init__(self, strategies: dict[str, StrategyClass], instruments: list[str],
                 taken: Container[str],
                 validate: Callable[[InstanceSettings], InstanceSettings],
                 parent: QWidget | None = None, *,
                 prefill: InstanceSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strategyInstanceDialog")
        self.setWindowTitle("Add strategy instance")
        self._strategies = strategies
        self._taken = taken
        self._validate = validate
        self._id_edited = False
        self._prefill = prefill
        self.settings: InstanceSettings | None = None
        self.strategy = QComboBox(self)
        self.strategy.setObjectName("instanceStrategy")
        for name in sorted(strategies):
            self.strategy.addItem(f"{name}  v{strategies[name].version}", name)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setStyleSheet(f"color: {theme.MUTED.name()}")
        self.instance_id = QLineEdit(self)
        self.instance_id.setObjectName("instanceId")
        self.instance_id.setToolTip("A unique name: letters, digits, '.', '_' or '-' "
                                    "(it tags the instance's orders, trades and log lines)")
        self.symbols = QListWidget(self)
        self.symbols.setObjectName("instanceSymbols")
        self.symbols.setToolTip("The instruments it trades (Space ticks the selected one)")
        for symbol in instruments:
            item = QListWidgetItem(symbol, self.symbols)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        self.symbols.setStyleSheet(CHECKS)
        rows = max(min(len(instruments), 6), 1)
        self.symbols.setFixedHeight(self.symbols.sizeHintForRow(0) * rows
                                    + 2 * self.symbols.frameWidth() + 4)
        self.timeframes = QLineEdit(self)
        self.timeframes.setObjectName("instanceTimeframes")
        self.timeframes.setToolTip("Comma-separated, e.g. 1m, 5m (also 1h, 1d, 500t ticks, "
                                   "1000v volume)")
        self.params = QLabel(self)
        self.params.setObjectName("instanceParams")
        self.params.setWordWrap(True)
        self.params.setToolTip("The parameters it starts with (edit them later in the panel)")
        self.start = QCheckBox("Start it now", self)
        self.start.setChecked(True)
        self.error = QLabel(self)
        self.error.setObjectName("instanceError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        self.error.hide()
        form = QFormLayout()
        form.addRow("&Strategy", self.strategy)
        form.addRow("", self.description)
        form.addRow("&Instance id", self.instance_id)
        form.addRow("S&ymbols", self.symbols)
        form.addRow("&Timeframes", self.timeframes)
        if prefill is not None:
            form.addRow("Parameters", self.params)
        form.addRow("", self.start)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.instance_id.textEdited.connect(self._edited)
        self.strategy.currentIndexChanged.connect(self._strategy_changed)
        if prefill is not None and self.strategy.findData(prefill.strategy) >= 0:
            self.strategy.setCurrentIndex(self.strategy.findData(prefill.strategy))
        self._strategy_changed()

    def _edited(self, _text: str) -> None:
        self._id_edited = True

    def _strategy_changed(self, *_: object) -> None:
        name = self.strategy.currentData()
        offered = self._strategies.get(name) if name else None
        if offered is None:
            self.description.setText("No strategy is loaded: add a plugin file first")
            return
        cls = offered.cls
        self.description.setText(cls.description or f"{offered.path.name}")
        self.description.setToolTip(f"{offered.path}")
        if not self._id_edited:
            self.instance_id.setText(suggest_id(name, self._taken))
        for row in range(self.symbols.count()):
            item = self.symbols.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in cls.symbols
                               else Qt.CheckState.Unchecked)
        self.timeframes.setText(", ".join(cls.timeframes))
        prefill = self._prefill
        if prefill is not None and prefill.strategy == name:
            for row in range(self.symbols.count()):
                item = self.symbols.item(row)
                item.setCheckState(Qt.CheckState.Checked if item.text() in prefill.symbols
                                   else Qt.CheckState.Unchecked)
            self.timeframes.setText(", ".join(prefill.timeframes))
        self.params.setText(", ".join(f"{k}={v}" for k, v in self._params().items())
                            or "defaults")

    def _params(self) -> dict[str, object]:
        """The prefilled parameters when the prefilled strategy is chosen (else defaults)."""
        prefill = self._prefill
        if prefill is None or prefill.strategy != self.strategy.currentData():
            return {}
        return dict(prefill.params)

    def chosen_symbols(self) -> list[str]:
        return [self.symbols.item(r).text() for r in range(self.symbols.count())
                if self.symbols.item(r).checkState() == Qt.CheckState.Checked]

    def build(self) -> InstanceSettings:
        """The settings as entered, validated; InstanceError says what is wrong."""
        name = self.strategy.currentData()
        if not name:
            raise InstanceError("no strategy is loaded")
        instance_id = self.instance_id.text().strip()
        if instance_id in self._taken:
            raise InstanceError(f"an instance named {instance_id} already exists")
        symbols = self.chosen_symbols()
        if not symbols:
            raise InstanceError("tick at least one symbol")
        timeframes = [t.strip() for t in self.timeframes.text().split(",") if t.strip()]
        try:
            settings = InstanceSettings.from_dict({
                "instance_id": instance_id, "strategy": name, "symbols": tuple(symbols),
                "timeframes": tuple(timeframes), "params": self._params()})
        except InstanceError as exc:
            raise InstanceError(_plain(str(exc))) from None
        return self._validate(settings)

    def accept(self) -> None:
        try:
            self.settings = self.build()
        except (InstanceError, ValueError) as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()


def _plain(message: str) -> str:
    """Pydantic's field messages, said for people."""
    message = message.replace("String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'",
                              "use letters, digits, '.', '_' or '-' (starting with a letter "
                              "or digit)")
    return message.replace("Value error, ", "")
