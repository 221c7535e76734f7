"""Watching the plugin folders so an edited file reloads within about a second.

Polling ``stat`` a few times a second is enough for a handful of small files,
works the same on every OS and inside the packaged app, and needs no native
dependency. A change is acted on once the file has been still for the debounce
time, so an editor's save (truncate, write, rename) reloads once, complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from workstation.strategies.loader import plugin_files

log = logging.getLogger(__name__)

OnChange = Callable[[list[Path], list[Path]], Awaitable[None]]  # (changed, removed)
Signature = tuple[int, int]  # (mtime_ns, size)


class FolderWatcher:
    def __init__(self, folders: list[Path], interval_s: float, debounce_s: float,
                 on_change: OnChange) -> None:
        self._folders = folders
        self._interval = interval_s
        self._debounce = debounce_s
        self._on_change = on_change
        self._known: dict[Path, Signature] = {}
        self._pending: dict[Path, float] = {}  # path -> when it last changed (monotonic)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._known = self.scan()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def scan(self) -> dict[Path, Signature]:
        found = {}
        for path in plugin_files(self._folders):
            with contextlib.suppress(OSError):  # deleted between glob and stat
                stat = path.stat()
                found[path] = (stat.st_mtime_ns, stat.st_size)
        return found

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
            except Exception:
                log.exception("plugin folder watcher")

    async def poll(self) -> None:
        now = time.monotonic()
        current = self.scan()
        for path, signature in current.items():
            if self._known.get(path) != signature:
                self._pending[path] = now
        removed = [path for path in self._known if path not in current]
        self._known = current
        for path in removed:
            self._pending.pop(path, None)
        ready = [p for p, when in self._pending.items() if now - when >= self._debounce]
        for path in ready:
            del self._pending[path]
        if ready or removed:
            await self._on_change(sorted(ready), removed)
