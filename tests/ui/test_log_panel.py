"""The Log shows exchange time, as the tables do, and says so."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QLabel

from tests.ui.test_main_window import at
from ui.bridge import LogBuffer
from ui.panels.log import ZONE_NOTE, LogPanel, stamp_engine_time


def record(message: str, created_s: float = 0.0) -> logging.LogRecord:
    made = logging.LogRecord("workstation.engine", logging.WARNING, __file__, 1, message,
                             None, None)
    made.created = created_s  # the wall clock: 1970, never what the Log shows
    return made


def test_log_lines_carry_the_engine_clocks_exchange_time(qtbot):
    clock = [at(15, 0, 3)]  # 10:00:03 New York on 2026-11-02
    buffer = LogBuffer()
    buffer.addFilter(stamp_engine_time(lambda: clock[0]))
    panel = LogPanel(lambda: at(15, 30, 0))
    qtbot.addWidget(panel)

    buffer.handle(record("stamped when made"))
    clock[0] = at(15, 0, 9)
    buffer.handle(record("a later one"))
    panel.append(list(buffer.records))
    panel.append([record("made outside the app's handler")])  # stamped on arrival

    lines = panel.text.toPlainText().splitlines()
    assert lines == ["10:00:03 W engine: stamped when made", "10:00:09 W engine: a later one",
                     "10:30:00 W engine: made outside the app's handler"]
    assert panel.findChild(QLabel, "logZone").text() == ZONE_NOTE == "Times: exchange (ET)"
