"""Log dock: what the engine is doing, newest at the bottom, colored by level.

Times are exchange time (New York), as in every table: a record carries the engine
clock's time when it was made (``ENGINE_NS``, stamped by the app's log filter), so a
simulated or replayed market logs its own time, not the desk's wall clock."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ui import fmt, theme
from workstation.model import NS_PER_SECOND

MAX_LINES = 5_000
ENGINE_NS = "engine_ns"  # the LogRecord attribute with the engine clock's time
ZONE_NOTE = "Times: exchange (ET)"
_LEVELS = {"Debug": logging.DEBUG, "Info": logging.INFO, "Warning": logging.WARNING,
           "Error": logging.ERROR}
_COLORS = {logging.DEBUG: theme.MUTED, logging.INFO: theme.NEUTRAL, logging.WARNING: theme.WARN,
           logging.ERROR: theme.DOWN, logging.CRITICAL: theme.DOWN}


def stamp_engine_time(now_ns: Callable[[], int]) -> Callable[[logging.LogRecord], bool]:
    """A logging filter that notes the engine clock's time on each record it passes."""
    def stamp(record: logging.LogRecord) -> bool:
        if not hasattr(record, ENGINE_NS):
            setattr(record, ENGINE_NS, now_ns())
        return True
    return stamp


class LogPanel(QWidget):
    def __init__(self, now_ns: Callable[[], int] | None = None,
                 parent: QWidget | None = None) -> None:
        """``now_ns``: the engine clock, for records that reach the panel unstamped."""
        super().__init__(parent)
        self._now_ns = now_ns
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("logText")
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.level = QComboBox(self)
        self.level.setObjectName("logLevel")
        self.level.addItems(list(_LEVELS))
        self.level.setCurrentText("Info")
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(QLabel("Show", self))
        top.addWidget(self.level)
        top.addStretch(1)
        zone = QLabel(ZONE_NOTE, self)
        zone.setObjectName("logZone")
        zone.setToolTip("Log times are exchange time (New York), the clock of the tables and "
                        "the status bar's Exchange clock")
        zone.setStyleSheet(f"color: {theme.MUTED.name()}")
        top.addWidget(zone)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.text)

    def append(self, records: list[logging.LogRecord]) -> None:
        threshold = _LEVELS[self.level.currentText()]
        lines = [self._format(r) for r in records if r.levelno >= threshold]
        if lines:
            self.text.appendHtml("<br>".join(lines))

    def _format(self, record: logging.LogRecord) -> str:
        color = _COLORS.get(record.levelno, theme.NEUTRAL).name()
        ts = getattr(record, ENGINE_NS, None)
        if not isinstance(ts, int):
            ts = self._now_ns() if self._now_ns is not None else \
                int(record.created * NS_PER_SECOND)
        when = fmt.local_time(ts)
        source = record.name.removeprefix("workstation.")
        message = html.escape(record.getMessage())
        return (f'<span style="color:{theme.MUTED.name()}">{when}</span> '
                f'<span style="color:{color}">{record.levelname[0]} {source}: {message}</span>')
