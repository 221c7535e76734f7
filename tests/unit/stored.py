"""Reading what a home's database holds, as another program would (a test's view)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from workstation.config import DATABASE_FILE


def rows(home: Path, sql: str) -> list[tuple]:
    """The rows ``sql`` selects from the home's database, through a connection of its own."""
    conn = sqlite3.connect(home / DATABASE_FILE)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
