"""What a plugin freeze leaves for the next start, and how the next start reads it.

When the watchdog ends a frozen process it records the instance as disabled with a
tiny write of its own (the engine thread, the writer and the loop cannot be relied on
any more). If that write fails, a marker file beside the database says the same. A
freeze inside a C call that held the GIL leaves only faulthandler's stack dump
(``guard.TRACE_FILE``); the guarded call's code name carries the instance id, so the
dump says which instance it was, and the plugin frame above it says where.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

from workstation.strategies.guard import CALL_PREFIX, TRACE_FILE

log = logging.getLogger(__name__)

MARKER_FILE = "plugin-freeze.json"
_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<name>\S+)')


def record(database: Path, account: str, instance_id: str, reason: str) -> None:
    """Mark the account's instance disabled in the store (a short connection of its own),
    or in the marker file when the store cannot be written."""
    try:
        conn = sqlite3.connect(database, timeout=2.0)
        try:
            with conn:
                done = conn.execute(
                    "UPDATE strategy_instances SET status = 'error', reason = ? "
                    "WHERE account = ? AND instance_id = ?",
                    (reason, account, instance_id)).rowcount
        finally:
            conn.close()
        if done:
            return
    except sqlite3.Error as exc:
        log.critical("could not record the freeze in %s (%s): writing %s", database.name, exc,
                     MARKER_FILE)
    marker = database.parent / MARKER_FILE
    found = _read_marker(marker)
    found.setdefault(account, {})[instance_id] = reason
    marker.write_text(json.dumps(found), encoding="utf-8")


def take(database: Path, account: str) -> dict[str, str]:
    """The account's instances a previous run's freeze disabled (id -> reason) that the
    store may not know about yet. The marker's entries for the account are removed once
    read; a trace (which cannot name the account) goes to the account that starts next."""
    found: dict[str, str] = {}
    marker = database.parent / MARKER_FILE
    if marker.exists():
        entries = _read_marker(marker)
        found.update(entries.pop(account, {}))
        if entries:
            marker.write_text(json.dumps(entries), encoding="utf-8")
        else:
            marker.unlink(missing_ok=True)
    trace = database.parent / TRACE_FILE
    if trace.exists():
        try:
            text = trace.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        found.update(read_trace(text))
        trace.unlink(missing_ok=True)
    return found


def read_trace(text: str) -> dict[str, str]:
    """Instances in a guarded call in a faulthandler dump, with where each one was."""
    found: dict[str, str] = {}
    above: list[tuple[str, str, str]] = []  # frames of this thread so far, innermost first
    for line in text.splitlines():
        if line.startswith(("Thread ", "Current thread ")):
            above = []
            continue
        match = _FRAME.match(line)
        if match is None:
            continue
        file, number, name = match["file"], match["line"], match["name"]
        if name.startswith(CALL_PREFIX) and above:
            callback = above[-1][2]
            plugin = next((f, n) for f, n, _ in above if f == above[-1][0])
            where = f"{Path(plugin[0]).name} line {plugin[1]}"
            found[name.removeprefix(CALL_PREFIX)] = (
                f"{callback} froze the engine ({where}) inside a call that held the "
                "interpreter: the app was ended")
        above.append((file, number, name))
    return found


def _read_marker(marker: Path) -> dict[str, dict[str, str]]:
    """account -> instance -> reason."""
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(account): {str(k): str(v) for k, v in entries.items()}
            for account, entries in data.items() if isinstance(entries, dict)}
