"""Start the GUI: QApplication, the qasync loop, the engine and the main window.

``--smoke`` runs the real app for a few seconds, saves a screenshot and prints
one JSON line, so CI and people can check the whole stack in one command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from ui.bridge import EngineBridge, LogBuffer
from ui.main_window import DEFAULT_SIZE, MainWindow
from ui.panels.log import stamp_engine_time
from ui.theme import apply_theme
from workstation.accounts import DEFAULT_ACCOUNT, check_account_name
from workstation.config import Settings
from workstation.engine import Engine, FeedBuilder
from workstation.qt_check import EXIT_MISSING, check_before_qt
from workstation.strategies.instances import InstanceSettings

log = logging.getLogger(__name__)
SMOKE_SECONDS = 6.0
ACCOUNT_FILE = "account.txt"  # the workstation's last account, opened at the next launch


def last_account(home: Path) -> str:
    """The account the workstation used last, or Paper."""
    try:
        return check_account_name((home / ACCOUNT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_ACCOUNT


def remember_account(home: Path, account: str) -> None:
    try:
        (home / ACCOUNT_FILE).write_text(account, encoding="utf-8")
    except OSError as exc:
        log.warning("could not remember the account %s: %s", account, exc.strerror)


def run_gui(home: Path, settings: Settings, *, feed_builder: FeedBuilder, demo: bool = False,
            smoke: bool = False, strategies: list[InstanceSettings] | None = None,
            screenshot: Path | None = None, seconds: float | None = None,
            report: Path | None = None, account: str | None = None,
            scratch: bool = False) -> int:
    """``account``: the paper account to open (None: the one used last, Paper at first).
    The trader may switch accounts from the window: the engine is then started again on
    the chosen account, in the same process."""
    if QApplication.instance() is None:
        problem = check_before_qt()  # Qt would abort with a misleading hint
        if problem is not None:
            print(problem, file=sys.stderr, flush=True)
            return EXIT_MISSING
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Bracket")
    app.setOrganizationName("Bracket")
    app.setQuitOnLastWindowClosed(False)  # closing the window ends _main, which cleans up
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    log_buffer = LogBuffer()
    logging.getLogger().addHandler(log_buffer)
    try:
        with loop:
            def make_engine(name: str) -> Engine:
                return Engine(settings, home, feed_builder, demo=demo, strategies=strategies,
                              account=name, scratch=scratch)

            chosen = account or last_account(home)
            return loop.run_until_complete(_main(home, make_engine, log_buffer, smoke,
                                                 screenshot, seconds, report, chosen,
                                                 remember=not scratch))
    finally:
        logging.getLogger().removeHandler(log_buffer)


async def _main(home: Path, make_engine: Callable[[str], Engine], log_buffer: LogBuffer,
                smoke: bool, screenshot: Path | None, seconds: float | None,
                report: Path | None, account: str, *, remember: bool) -> int:
    while True:
        engine = make_engine(account)
        stamp = stamp_engine_time(engine.clock.now_ns)  # the Log shows the engine's time
        log_buffer.addFilter(stamp)
        if remember:
            remember_account(home, account)
        bridge = EngineBridge(engine, log_buffer)
        # a screenshot shows the default layout at its default size, whatever the screen
        window = MainWindow(engine, bridge, home,
                            DEFAULT_SIZE if smoke or screenshot is not None else None)
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        await engine.start()
        bridge.start()
        window.show()
        log.info("Bracket started on account %s; data and settings in %s", account, home)
        if smoke:
            await asyncio.sleep(seconds or SMOKE_SECONDS)
            if screenshot is not None:
                window.grab().save(str(screenshot))
        if smoke or screenshot is not None:
            window.close()
        await closed.wait()
        bridge.stop()
        await engine.stop()
        log_buffer.removeFilter(stamp)
        if window.switch_to is None:
            break
        account = window.switch_to
        window.deleteLater()
    summary = engine.report()
    summary["frames"] = bridge.frames
    if report is not None:
        report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if smoke:
        keys = ("ticks", "bars", "events_per_s", "loop_lag_p99_ms", "frames", "handler_errors")
        print(json.dumps({k: summary[k] for k in keys}), flush=True)
    return 0
