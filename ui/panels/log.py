"""Log dock: what the engine is doing, newest at the bottom, colored by level."""

from __future__ import annotations

import html
import logging
from datetime import datetime

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ui import theme

MAX_LINES = 5_000
_LEVELS = {"Debug": logging.DEBUG, "Info": logging.INFO, "Warning": logging.WARNING,
           "Error": logging.ERROR}
_COLORS = {logging.DEBUG: theme.MUTED, logging.INFO: theme.NEUTRAL, logging.WARNING: theme.WARN,
           logging.ERROR: theme.DOWN, logging.CRITICAL: theme.DOWN}


class LogPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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

    @staticmethod
    def _format(record: logging.LogRecord) -> str:
        color = _COLORS.get(record.levelno, theme.NEUTRAL).name()
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        source = record.name.removeprefix("workstation.")
        message = html.escape(record.getMessage())
        return (f'<span style="color:{theme.MUTED.name()}">{when}</span> '
                f'<span style="color:{color}">{record.levelname[0]} {source}: {message}</span>')
