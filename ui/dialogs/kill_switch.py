"""Resetting the kill switch: a deliberate act, so the trader types RESET.

The dialog only collects the word; the engine's KillSwitch decides (a wrong
word raises KillSwitchError, whose message is shown and the dialog stays open)
and records the reset in the compliance history.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from workstation.risk.kill_switch import RESET_PHRASE, KillSwitch, KillSwitchError


class ResetKillSwitchDialog(QDialog):
    def __init__(self, kill_switch: KillSwitch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resetKillSwitch")
        self.setWindowTitle("Reset kill switch")
        self._kill = kill_switch
        how = "automatic" if kill_switch.automatic else "manual"
        explain = QLabel(
            f"<p style='color:{theme.DOWN.name()}; font-weight:bold'>The kill switch is ON "
            f"since {fmt.local_time(kill_switch.since)} ET ({how}).</p>"
            f"<p>{html.escape(kill_switch.reason)}</p>"
            f"<p>Turning it off allows new entries again. Type <b>{RESET_PHRASE}</b> to "
            "confirm; the reset is recorded in the compliance history.</p>", self)
        explain.setWordWrap(True)
        self.phrase = QLineEdit(self)
        self.phrase.setObjectName("resetPhrase")
        self.phrase.setPlaceholderText(RESET_PHRASE)
        self.error = QLabel(self)
        self.error.setObjectName("resetError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        self.confirm_button = QPushButton("&Reset kill switch", self)
        self.confirm_button.setObjectName("resetConfirm")
        self.confirm_button.setDefault(True)
        cancel = QPushButton("Cancel", self)
        cancel.clicked.connect(self.reject)
        self.confirm_button.clicked.connect(self.confirm)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.phrase)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.setMinimumWidth(420)
        self.phrase.setFocus()

    def confirm(self) -> bool:
        """Reset with the typed word; a wrong word is refused and said so."""
        try:
            self._kill.reset(self.phrase.text())
        except KillSwitchError as exc:
            self.error.setText(f"Not reset: {exc}.")
            self.phrase.selectAll()
            self.phrase.setFocus()
            return False
        self.accept()
        return True
