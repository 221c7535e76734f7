"""Risk settings: a prop-firm preset and account size, and/or the trader's own limits.

The dialog shows what is set now, what a preset means for the chosen size (the
engine's own presets, so the numbers match what will be enforced), validates with
the engine's settings models and writes ``[risk]`` to settings.toml. The rules and
the paper account's size are fixed when the engine starts, so it says plainly that
a restart applies the change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from workstation.config import ConfigError
from workstation.risk.rules import prop_defaults
from workstation.risk.settings import PropFirm, RiskSettings
from workstation.risk.settings_file import save_risk, validated_risk

STYLES = (("topstep", "Topstep-style (end-of-day trailing drawdown)"),
          ("ftmo", "FTMO-style (daily loss and max loss from the start)"),
          ("intraday_trailing", "Intraday trailing drawdown"))
SIZES = (25_000, 50_000, 100_000, 150_000, 200_000)
MONEY_LIMITS = (("daily_loss", "Daily loss", "Realized + unrealized loss since the 17:00 New "
                 "York day roll; at 90% new entries are blocked"),
                ("max_drawdown", "Drawdown from high", "From the equity high-water mark: "
                 "reaching it turns the kill switch on"))
COUNT_LIMITS = (("max_contracts", "Futures contracts", "All symbols together"),
                ("max_open_positions", "Open positions", "Symbols held at once"),
                ("loss_streak", "Losses in a row", "Then no new entries for the cooldown"))
RESTART_NOTE = "Restart Bracket to apply: the rules and the paper account's size are set at start."


def _money_box(parent: QWidget, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(parent)
    box.setRange(0, 100_000_000)
    box.setDecimals(2)
    box.setSingleStep(100)
    box.setGroupSeparatorShown(True)
    box.setSpecialValueText("off")  # 0: the limit is not enforced
    box.setAlignment(Qt.AlignmentFlag.AlignRight)
    box.setToolTip(f"{tip}. 0 turns it off.")
    return box


def _count_box(parent: QWidget, tip: str) -> QSpinBox:
    box = QSpinBox(parent)
    box.setRange(0, 100_000)
    box.setSpecialValueText("off")
    box.setAlignment(Qt.AlignmentFlag.AlignRight)
    box.setToolTip(f"{tip}. 0 turns it off.")
    return box


class RiskSettingsDialog(QDialog):
    def __init__(self, current: RiskSettings, settings_file: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskSettings")
        self.setWindowTitle("Risk settings")
        self._current = current
        self._file = settings_file
        self.saved: RiskSettings | None = None

        self.prop_group = QGroupBox("Prop-firm evaluation preset", self)
        self.prop_group.setObjectName("propGroup")
        self.prop_group.setCheckable(True)
        self.prop_group.setToolTip("The rules of a common evaluation style for your account "
                                   "size; check them against your firm's current rules")
        self.style = QComboBox(self.prop_group)
        self.style.setObjectName("propStyle")
        for key, label in STYLES:
            self.style.addItem(label, key)
        self.size = QComboBox(self.prop_group)
        self.size.setObjectName("propSize")
        self.size.setEditable(True)
        for size in SIZES:
            self.size.addItem(f"{size:,}", size)
        self.preview = QLabel(self.prop_group)
        self.preview.setObjectName("propPreview")
        self.preview.setWordWrap(True)
        self.preview.setStyleSheet(f"color: {theme.MUTED.name()}")
        prop_form = QFormLayout(self.prop_group)
        prop_form.addRow("&Style", self.style)
        prop_form.addRow("Account &size", self.size)
        prop_form.addRow(self.preview)

        own = QGroupBox("Your own limits (0 = off)", self)
        own_form = QFormLayout(own)
        self.limits: dict[str, QDoubleSpinBox | QSpinBox] = {}
        for key, label, tip in MONEY_LIMITS:
            self.limits[key] = _money_box(own, tip)
            own_form.addRow(label, self.limits[key])
        for key, label, tip in COUNT_LIMITS:
            self.limits[key] = _count_box(own, tip)
            own_form.addRow(label, self.limits[key])
        for key, box in self.limits.items():
            box.setObjectName(f"limit_{key}")
        self.flatten = QCheckBox("The kill switch also closes every position "
                                 "(a breached prop rule always does)", self)
        self.flatten.setObjectName("flattenOnKill")

        self.error = QLabel(self)
        self.error.setObjectName("riskSettingsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        note = QLabel(f"Saved to {settings_file}. {RESTART_NOTE}", self)
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.MUTED.name()}; font-size: 8pt")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prop_group)
        layout.addWidget(own)
        layout.addWidget(self.flatten)
        layout.addWidget(self.error)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

        self._show(current)
        self.prop_group.toggled.connect(self._update_preview)
        self.style.currentIndexChanged.connect(self._update_preview)
        self.size.currentTextChanged.connect(self._update_preview)
        self._update_preview()

    def _show(self, risk: RiskSettings) -> None:
        prop = risk.prop
        self.prop_group.setChecked(prop is not None)
        if prop is not None:
            self.style.setCurrentIndex(max(0, self.style.findData(prop.style)))
            self.size.setCurrentText(f"{prop.account_size:,.0f}")
        else:
            self.size.setCurrentText(f"{SIZES[1]:,}")
        portfolio = risk.portfolio
        for key, box in self.limits.items():
            value = getattr(portfolio, key)
            box.setValue(value or 0)
        self.flatten.setChecked(risk.flatten_on_kill)

    def _account_size(self) -> float | None:
        text = self.size.currentText().replace(",", "").replace("_", "").strip()
        try:
            return float(text)
        except ValueError:
            return None

    def chosen(self) -> dict[str, Any]:
        """The settings as the dialog shows them, as plain data (the other risk settings -
        order limits, strategies, sessions - are kept as they are)."""
        data = self._current.model_dump(mode="json")
        for key, box in self.limits.items():
            data["portfolio"][key] = box.value() or None
        data["flatten_on_kill"] = self.flatten.isChecked()
        keep = self._current.prop
        if not self.prop_group.isChecked():
            data["prop"] = None
        elif keep is not None and keep.style == self.style.currentData() and \
                keep.account_size == self._account_size():
            data["prop"] = keep.model_dump(mode="json")  # its own overrides stay
        else:
            data["prop"] = {"style": self.style.currentData(),
                            "account_size": self._account_size() or self.size.currentText()}
        return data

    def _update_preview(self) -> None:
        if not self.prop_group.isChecked():
            self.preview.setText("")
            return
        size = self._account_size()
        if size is None or size <= 0:
            self.preview.setText("Type an account size such as 50,000")
            return
        prop = prop_defaults(PropFirm(style=self.style.currentData(), account_size=size))
        parts = [f"daily loss {prop.daily_loss:,.0f}" if prop.daily_loss else "",
                 f"max loss {prop.max_loss:,.0f}" if prop.max_loss else "",
                 f"profit target {prop.profit_target:,.0f}" if prop.profit_target else "",
                 f"{prop.max_contracts} contracts" if prop.max_contracts else "",
                 f"{prop.min_trading_days} trading days" if prop.min_trading_days else ""]
        self.preview.setText("Enforces " + ", ".join(p for p in parts if p)
                             + f". The paper account starts at {size:,.0f}. A breach turns "
                               "the kill switch on and closes every position.")

    def save(self) -> bool:
        """Validate and write; a problem is shown and nothing is written."""
        try:
            risk = validated_risk(self.chosen())
            save_risk(self._file, risk)
        except ConfigError as exc:
            self.error.setText(f"Not saved: {exc}")
            return False
        self.saved = risk
        self.accept()
        return True
