"""A space reserve beside the database, so trading events can still be stored on a
full disk.

At start Bracket keeps a file of a few megabytes next to ``bracket.sqlite``. When a
commit fails because the disk is full, the journal deletes it and retries: the
waiting fills and orders fit in the space it freed. New entries stay blocked and
market data is not stored until the reserve can be made again (space was freed).
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

RESERVE_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


class DiskReserve:
    def __init__(self, database: Path, size: int | None = None) -> None:
        self.path = database.with_name(database.name + ".reserve")
        self.size = RESERVE_BYTES if size is None else size

    @property
    def present(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except FileNotFoundError:
            return False

    def make(self) -> bool:
        """Write the reserve (real blocks, not a sparse file); False when there is no room."""
        if self.present:
            return True
        try:
            with self.path.open("wb") as handle:
                block = b"\0" * _CHUNK
                remaining = self.size
                while remaining > 0:
                    handle.write(block[:min(_CHUNK, remaining)])
                    remaining -= _CHUNK
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self.path.unlink(missing_ok=True)
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                log.warning("the space reserve %s could not be made: %s", self.path.name, exc)
            return False
        return True

    def release(self) -> bool:
        """Free the reserve's space; True when there was one to free."""
        if not self.path.exists():
            return False
        self.path.unlink()
        return True
