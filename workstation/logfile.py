"""The log file: a handler that survives a disk that fills or a file that cannot be written.

The standard handlers print a ``--- Logging error ---`` traceback for every record
they fail to write: on a full disk that was hundreds of tracebacks on the console,
burying the one message that mattered. Here the first failure is reported once, on
one line, and later ones are only counted.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

LOG_FILE = Path("logs") / "bracket.log"


class QuietFailures(logging.Handler):
    """A handler mixin: a record that cannot be written is reported once, then counted."""

    dropped: int = 0

    def handleError(self, record: logging.LogRecord) -> None:
        self.dropped += 1
        if self.dropped > 1:
            return
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        with contextlib.suppress(OSError, ValueError):  # no console either: nothing to tell
            sys.stderr.write(f"bracket: cannot write the log ({self.target()}): {reason}; "
                             "further log lines that fail are dropped and counted\n")

    def target(self) -> str:
        return getattr(self, "baseFilename", type(self).__name__)


class Console(QuietFailures, logging.StreamHandler):  # type: ignore[type-arg]
    """The console: a closed or broken stderr is reported (if it can be) once."""


class LogFile(QuietFailures, logging.handlers.RotatingFileHandler):
    """``logs/bracket.log`` in the home, rotated at 5 MB (three old files kept)."""

    def __init__(self, home: Path) -> None:
        path = home / LOG_FILE
        path.parent.mkdir(exist_ok=True)
        super().__init__(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
