"""Alerts for events a trader must not miss (the kill switch, a setup awaiting
approval): a sound where the platform has one (critical alerts only), and a desktop
notification where a system tray exists. The log and the status bar always carry the
same message."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from ui.theme import DOWN


class Alerts:
    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self._tray: QSystemTrayIcon | None = None
        self.raised = 0

    def alert(self, title: str, text: str, *, critical: bool = True) -> None:
        """A critical alert (the kill switch) beeps and shows the critical icon; an
        informational one (a setup awaiting approval) only shows the message."""
        self.raised += 1
        if critical:
            QApplication.beep()
        tray = self._tray_icon()
        if tray is not None:
            icon = (QSystemTrayIcon.MessageIcon.Critical if critical
                    else QSystemTrayIcon.MessageIcon.Information)
            tray.showMessage(title, text, icon, 15_000 if critical else 8_000)

    def _tray_icon(self) -> QSystemTrayIcon | None:
        if self._tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(_dot(DOWN), self._parent)
            self._tray.setToolTip("Bracket")
            self._tray.show()
        if self._tray is None or not QSystemTrayIcon.supportsMessages():
            return None
        return self._tray


def _dot(color: QColor) -> QIcon:
    pixmap = QPixmap(32, 32)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(color)
    painter.setPen(color)
    painter.drawEllipse(4, 4, 24, 24)
    painter.end()
    return QIcon(pixmap)
