"""A dock's contents built the first time they are needed (its tab raised, focused or used),
so a panel with heavy imports (the Backtest dock needs pandas) costs nothing at start-up."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget


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

    def build_with(self, dock: QDockWidget) -> None:
        """Build once ``dock`` is really on screen. A tabbed dock's widgets stay "visible"
        behind the raised tab (no show event when its tab is raised); its
        ``visibilityChanged`` says when the tab is raised, and the window's first show
        reports that for hidden tabs too, so the check waits for the layout to settle."""
        dock.visibilityChanged.connect(
            lambda on: on and self._panel is None and QTimer.singleShot(0, self._build_if_shown))

    def _build_if_shown(self) -> None:
        if self._panel is None and not self.visibleRegion().isEmpty():
            self.panel()
