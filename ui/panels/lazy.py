"""A dock's contents built the first time they are needed (shown, focused or used), so a
panel with heavy imports (the Backtest dock needs pandas) costs nothing at start-up."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPanel(QWidget):
    def __init__(self, name: str, build: Callable[[], QWidget],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._build = build
        self._panel: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> QWidget | None:
        return self._panel

    def panel(self) -> QWidget:
        """The panel, built now if it was not yet."""
        if self._panel is None:
            self._panel = self._build()
            self._layout.addWidget(self._panel)
        return self._panel

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._panel is None:  # after this paint, so showing the tab is not held up
            QTimer.singleShot(0, self._build_if_shown)

    def _build_if_shown(self) -> None:
        """Only if still on screen: a window's first show also shows, for a moment, the
        docks that end up as hidden tabs."""
        if self._panel is None and self.isVisible():
            self.panel()
