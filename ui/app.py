"""Start the GUI: QApplication, the qasync loop, the engine and the main window.

``--smoke`` runs the real app for a few seconds, saves a screenshot and prints
one JSON line, so CI and people can check the whole stack in one command.

The first window is painted before the engine, the main window and their imports
(pandas, SQLAlchemy, pyqtgraph: most of the start) are loaded: a placeholder that says
"Starting…", replaced by the main window, which says so too until the engine is up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import qasync
from PySide6.QtWidgets import QApplication

from ui.bridge import LogBuffer
from ui.startup import DEFAULT_SIZE, FirstPaint, StartingWindow, process_age_ms
from ui.theme import apply_chart_theme, apply_theme
from workstation.accounts import DEFAULT_ACCOUNT, check_account_name
from workstation.config import Settings
from workstation.qt_check import EXIT_MISSING, check_before_qt
from workstation.strategies.instances import InstanceSettings

if TYPE_CHECKING:
    from workstation.engine import Engine, FeedBuilder
    from workstation.live import LiveMarket

log = logging.getLogger(__name__)
SMOKE_SECONDS = 6.0
STARTING_NOTE = "Starting…"
FIRST_PAINT_WAIT_S = 2.0  # at most this long for the placeholder's paint before going on
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


def run_gui(home: Path, settings: Settings, *, feed_builder: Callable[[], FeedBuilder],
            demo: bool = False,
            smoke: bool = False, strategies: list[InstanceSettings] | None = None,
            screenshot: Path | None = None, seconds: float | None = None,
            report: Path | None = None, account: str | None = None,
            scratch: bool = False, market: str | None = None) -> int:
    """``account``: the paper account to open (None: the one used last, Paper at first).
    The trader may switch accounts from the window: the engine is then started again on
    the chosen account, in the same process. ``feed_builder`` makes the feed's builder
    once the first window is painted (it loads the engine)."""
    if QApplication.instance() is None:
        problem = check_before_qt()  # Qt would abort with a misleading hint
        if problem is not None:
            print(problem, file=sys.stderr, flush=True)
            return EXIT_MISSING
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Bracket")
    app.setOrganizationName("Bracket")
    app.setQuitOnLastWindowClosed(False)  # closing the window ends _main, which cleans up
    apply_theme(app, charts=False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    log_buffer = LogBuffer()
    logging.getLogger().addHandler(log_buffer)
    screen = app.primaryScreen()
    starting = StartingWindow(home, screen.availableGeometry() if screen else None,
                              fixed=smoke or screenshot is not None)
    first_paint = FirstPaint()
    first_paint.watch(starting)
    starting.show()
    builder: list[FeedBuilder] = []
    live = _live_market(home, settings, market)

    def make_engine(name: str) -> Engine:
        from workstation.engine import Engine

        if live is not None:
            chosen = live(name)
            return Engine(settings, home, chosen.feed, strategies=strategies, account=name,
                          live=chosen)
        if not builder:
            builder.append(feed_builder())
        return Engine(settings, home, builder[0], demo=demo, strategies=strategies,
                      account=name, scratch=scratch)

    try:
        with loop:
            chosen = account or last_account(home)
            return loop.run_until_complete(_main(home, make_engine, log_buffer, smoke,
                                                 screenshot, seconds, report, chosen,
                                                 remember=not scratch, starting=starting,
                                                 first_paint=first_paint))
    finally:
        starting.close()
        starting.deleteLater()
        logging.getLogger().removeHandler(log_buffer)


def _live_market(home: Path, settings: Settings, market: str | None
                 ) -> Callable[[str], LiveMarket] | None:
    """The Alpaca market when asked for (``--market``, else the Connections dialog's choice
    for the next start); the simulated one when it cannot start, saying why in the log.
    Live money needs LIVE typed at every start."""
    if market is None:
        from PySide6.QtCore import QSettings

        from ui.startup import LAYOUT_FILE

        market = str(QSettings(str(home / LAYOUT_FILE), QSettings.Format.IniFormat).value(
            "session/market", "sim"))
    if market != "alpaca":
        return None
    from workstation.alpaca.cli import market_factory
    from workstation.config import ConfigError

    try:
        factory = market_factory(home, settings)
    except ConfigError as exc:
        log.error("the Alpaca market cannot start (%s); trading the simulated market", exc)
        return None
    if not settings.alpaca.paper:
        from ui.dialogs.connections import confirm_live

        if not confirm_live():
            log.warning("live trading not confirmed; trading the simulated market")
            return None
    return factory


async def _painted(first_paint: FirstPaint) -> None:
    """Let the loop paint the placeholder before the heavy imports hold it up."""
    deadline = asyncio.get_running_loop().time() + FIRST_PAINT_WAIT_S
    while first_paint.ms is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)


async def _main(home: Path, make_engine: Callable[[str], Engine], log_buffer: LogBuffer,
                smoke: bool, screenshot: Path | None, seconds: float | None,
                report: Path | None, account: str, *, remember: bool,
                starting: StartingWindow, first_paint: FirstPaint) -> int:
    await _painted(first_paint)
    from ui.bridge import EngineBridge
    from ui.main_window import MainWindow
    from ui.panels.log import stamp_engine_time

    apply_chart_theme()
    ready_ms: float | None = None  # process start to the first engine being up
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
        window.feed_label.setText(STARTING_NOTE)  # the first frame after the start replaces it
        window.setEnabled(False)  # no orders, menus or hotkeys before the account is restored
        window.show()
        starting.close()
        try:
            await engine.start()
        except BaseException:
            window.close()  # the start failed: the error is reported once the window is gone
            raise
        window.setEnabled(True)
        if ready_ms is None:
            ready_ms = process_age_ms()
        bridge.start()
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
    # process start to the first painted window, and to the first engine being up
    ready = ready_ms if ready_ms is not None else process_age_ms()
    summary["startup_ms"] = round(first_paint.ms if first_paint.ms is not None else ready, 1)
    summary["ready_ms"] = round(ready, 1)
    if report is not None:
        report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if smoke:
        keys = ("ticks", "bars", "events_per_s", "loop_lag_p99_ms", "frames", "handler_errors",
                "startup_ms", "ready_ms")
        print(json.dumps({k: summary[k] for k in keys}), flush=True)
    return 0
