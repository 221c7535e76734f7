"""pytest-qt with a qasync loop (QT_NOTES.md): one loop for the session, made
current with already_running=True; coroutines are driven with ``run``; never
loop.stop(), which would quit the QApplication for every later test.

Offscreen, the screen is a desktop's 1920 x 1080 (Qt's own default is 800 x 800, where
the window would shrink to fit and every panel test would see a cramped layout)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
import shiboken6

from ui.bridge import EngineBridge, LogBuffer
from ui.main_window import MainWindow
from ui.theme import apply_theme
from workstation.config import Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":  # set before pytest-qt makes the app
    os.environ["QT_QPA_PLATFORM"] = (
        f"offscreen:configfile={Path(__file__).with_name('offscreen_screen.json')}")


@pytest.fixture(scope="module")
def qloop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    apply_theme(qapp)
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    # already_running=True marks the loop as running for the whole thread; leave no
    # running loop behind, or every later asyncio.run() in the session refuses to start.
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def run(qloop, qtbot):
    """Run a coroutine on the qasync loop from a sync test and return its result."""

    def _run(coro: Coroutine[Any, Any, Any], timeout_ms: int = 10_000) -> Any:
        future = asyncio.ensure_future(coro, loop=qloop)
        qtbot.waitUntil(future.done, timeout=timeout_ms)
        return future.result()

    yield _run
    pending = [t for t in asyncio.all_tasks(qloop) if not t.done()]
    for task in pending:
        task.cancel()
    qtbot.waitUntil(lambda: all(t.done() for t in pending), timeout=5_000)


def replay_engine(home: Path | None, events: list | None = None,
                  settings: Settings | None = None) -> Engine:
    """An engine replaying ``events`` at max speed; with none, tests publish on its bus.
    Default settings unless a test brings its own (risk limits, say)."""
    settings = settings if settings is not None else Settings()
    batches = [events] if events else []
    return Engine(settings, home,
                  lambda bus, clock, bp: ReplayFeed(batches, bus, clock, speed=None))


@pytest.fixture
def workstation(tmp_path, qtbot, run):
    """The real main window over an idle engine with a real store in tmp_path."""
    windows: list[MainWindow] = []

    def _open(home: Path = tmp_path, events: list | None = None,
              paused: bool = False, settings: Settings | None = None) -> MainWindow:
        window = open_window(replay_engine(home, events, settings), home, qtbot, run,
                             paused=paused)
        windows.append(window)
        return window

    yield _open
    close_windows(windows, run)


def open_window(engine: Engine, home: Path, qtbot, run, *,
                paused: bool = False) -> MainWindow:
    """The real main window over ``engine``, started and shown."""
    bridge = EngineBridge(engine, LogBuffer())
    window = MainWindow(engine, bridge, home)
    qtbot.addWidget(window)
    if paused:
        window.actions["replay_pause"].setChecked(True)
    run(engine.start())
    bridge.start()
    window.show()
    return window


def close_windows(windows: list[MainWindow], run) -> None:
    """Close what the test left open, then stop each window's engine."""
    for window in windows:
        if shiboken6.isValid(window) and window.isVisible():
            window.close()
        run(window.engine.stop())
