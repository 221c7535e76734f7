"""What the trader sees while Bracket starts, and how long the start took.

The first window is painted before the engine, the store, pandas or pyqtgraph are
imported (they take most of a second): a plain window in the theme's colors whose
status bar says "Starting…". The main window replaces it once it is built. This module
imports only Qt widgets, so it costs nothing that the first paint does not need.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, QSize, Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

STARTING = "Starting… opening the account and the market"
LAYOUT_FILE = "ui.ini"  # the main window's geometry and panels, saved at close
DEFAULT_SIZE = QSize(1440, 860)  # the first window, where the screen has room for it
FRAME = QSize(16, 48)  # room kept for a window manager's borders and title bar
_FALLBACK_START = time.monotonic()  # when /proc is not there: the earliest this process knows


def process_age_ms() -> float:
    """Milliseconds since this process started (Linux: from the kernel's start time, so
    the interpreter's own start-up counts too; elsewhere from when this module loaded)."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()
            started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
            return (time.clock_gettime(time.CLOCK_BOOTTIME) - started) * 1000.0
        except (OSError, ValueError, IndexError):
            pass
    return (time.monotonic() - _FALLBACK_START) * 1000.0


class FirstPaint(QObject):
    """Notes the process's age at the first paint of the widgets it watches."""

    def __init__(self) -> None:
        super().__init__()
        self.ms: float | None = None

    def watch(self, widget: QWidget) -> None:
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.ms is None:
            self.ms = process_age_ms()
        return False


class StartingWindow(QMainWindow):
    """The placeholder shown while the engine and the main window are built: the same
    title and size as the main window, and the "Starting…" note in its status bar."""

    def __init__(self, home: Path, available: QRect | None, fixed: bool) -> None:
        """``fixed``: the default size whatever the screen (screenshot runs); else where the
        main window was left (``ui.ini``), or the default size fitted to the screen."""
        super().__init__()
        self.setObjectName("startingWindow")
        self.setWindowTitle("Bracket — starting…")
        note = QLabel("Bracket is starting…", self)
        note.setObjectName("startingNote")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(note)
        self.statusBar().setObjectName("statusBar")
        self.statusBar().showMessage(STARTING)
        geometry = QSettings(str(home / LAYOUT_FILE), QSettings.Format.IniFormat).value(
            "window/geometry")
        if not fixed and isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            return
        size = DEFAULT_SIZE
        if not fixed and available is not None:
            size = available.size() - FRAME  # as the main window's first size
        self.resize(size)
        if available is not None:
            frame = QRect(0, 0, size.width(), size.height())
            frame.moveCenter(available.center())
            self.move(frame.topLeft())
