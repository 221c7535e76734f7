"""Small widgets the panels share: registry-backed buttons, captions, captioned figures
and a panel's status line."""

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


def caption(text: str, parent: QWidget, top: int = 0) -> QLabel:
    """A section heading inside a panel (muted, bold); ``top``: space above it, in px
    (a heading between groups of form fields)."""
    label = QLabel(text, parent)
    padding = f"{top}px 4px 0" if top else "0 4px"
    label.setStyleSheet(f"color: {theme.MUTED.name()}; font-weight: bold; padding: {padding}")
    return label


def show_status(label: QLabel, text: str, error: bool = False) -> None:
    """A panel's status line: muted, or red for an error; hidden when empty."""
    color = theme.DOWN if error else theme.MUTED
    label.setStyleSheet(f"color: {color.name()}; padding: 0 6px")
    label.setText(text)
    label.setVisible(bool(text))
