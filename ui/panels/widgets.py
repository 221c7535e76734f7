"""Small widgets the panels share: registry-backed buttons and captioned figures."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QLabel, QLayout, QToolButton, QWidget

from ui import fmt, theme


def action_button(parent: QWidget, layout: QLayout, action: QAction) -> QToolButton:
    """A button for a registered action, so it shares the action's hotkey and state."""
    button = QToolButton(parent)
    button.setDefaultAction(action)
    button.setObjectName(f"button_{action.objectName().removeprefix('action_')}")
    layout.addWidget(button)
    return button


def figure(parent: QWidget, name: str, caption: str, tip: str, font: QFont
           ) -> tuple[QLabel, QLabel]:
    """A muted caption and its value label (rich text, monospace), both with ``tip``."""
    title = QLabel(caption, parent)
    title.setStyleSheet(f"color: {theme.MUTED.name()}; font-size: 8pt")
    title.setToolTip(tip)
    value = QLabel(fmt.NONE, parent)
    value.setObjectName(name)
    value.setFont(font)
    value.setTextFormat(Qt.TextFormat.RichText)
    value.setToolTip(tip)
    return title, value
