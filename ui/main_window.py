"""The main window: docks, menus and hotkeys from one action registry, the
status bar, and layout save/restore (stable objectNames, a Reset action)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from ui.actions import ActionRegistry, ActionSpec
from ui.bridge import EngineBridge
from ui.models.watchlist_model import WatchlistModel
from ui.panels.chart import DISPLAY_ZONE, ChartPanel
from ui.panels.log import LogPanel
from ui.panels.watchlist import WatchlistPanel
from ui.theme import DOWN, MUTED, UP, WARN
from workstation.engine import Engine
from workstation.feeds.base import FeedState
from workstation.feeds.replay import SPEEDS, ReplayFeed
from workstation.metrics import RateMeter
from workstation.model import ns_to_datetime

LAYOUT_FILE = "ui.ini"
LAYOUT_VERSION = 1
_STATE_COLORS = {FeedState.LIVE: UP, FeedState.PAUSED: WARN, FeedState.MARKET_CLOSED: WARN,
                 FeedState.ERROR: DOWN, FeedState.STOPPED: MUTED, FeedState.FINISHED: MUTED}


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, engine: Engine, bridge: EngineBridge, home: Path) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        source = "replay" if isinstance(engine.feed, ReplayFeed) else "simulated market"
        self.setWindowTitle(f"Bracket — {source} · paper")
        self.engine = engine
        self.bridge = bridge
        self._settings = QSettings(str(home / LAYOUT_FILE), QSettings.Format.IniFormat)
        self._rate = RateMeter()
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        instruments = engine.instruments
        watch = self._settings.value("watchlist/symbols", engine.settings.watchlist, type=list)
        self.watchlist_model = WatchlistModel(engine.market, instruments,
                                              [s for s in watch if s in instruments])
        self.watchlist = WatchlistPanel(self.watchlist_model, list(instruments))
        self.chart = ChartPanel(instruments, engine.timeframes)
        self.log_panel = LogPanel()
        self.docks = {
            "watchlist": self._dock("dock.watchlist", "Watchlist", self.watchlist),
            "chart": self._dock("dock.chart", "Chart", self.chart),
            "log": self._dock("dock.log", "Log", self.log_panel),
        }
        self._default_layout()
        self.actions = ActionRegistry(self)
        self._register_actions()
        self._build_menus()
        self._build_status_bar()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._restore_layout()

        self.watchlist.symbol_chosen.connect(lambda s: self.show_series(s, self.chart.timeframe))
        self.chart.series_changed.connect(self.show_series)
        bridge.frame.connect(self._on_frame)
        bridge.bars_closed.connect(self.chart.add_closed)
        bridge.partial_bar.connect(self.chart.set_partial)
        bridge.log_records.connect(self.log_panel.append)
        symbol = str(self._settings.value("chart/symbol", next(iter(instruments))))
        timeframe = str(self._settings.value("chart/timeframe", "1m"))
        if symbol not in instruments:
            symbol = next(iter(instruments))
        if timeframe not in engine.timeframes:
            timeframe = engine.timeframes[0]
        self.show_series(symbol, timeframe)

    # -- docks and layout ---------------------------------------------------------------
    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        return dock

    def _default_layout(self) -> None:
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea,
                               Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        self.addDockWidget(left, self.docks["watchlist"])
        self.addDockWidget(right, self.docks["chart"])
        self.addDockWidget(bottom, self.docks["log"])
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        watch_width = min(self.watchlist.preferred_width(), 700)
        self.resizeDocks([self.docks["watchlist"], self.docks["chart"]],
                         [watch_width, 1440 - watch_width], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["chart"], self.docks["log"]], [620, 150],
                         Qt.Orientation.Vertical)

    def _restore_layout(self) -> None:
        geometry = self._settings.value("window/geometry")
        state = self._settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 860)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self._settings.setValue("watchlist/symbols", self.watchlist_model.symbols())
        self._settings.setValue("chart/symbol", self.chart.symbol)
        self._settings.setValue("chart/timeframe", self.chart.timeframe)
        self._settings.sync()

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    # -- actions ----------------------------------------------------------------------
    def _register_actions(self) -> None:
        add = self.actions.add
        add(ActionSpec("quit", "&Quit", "&File", "Ctrl+Q"), self.close)
        for key, (dock_id, title) in enumerate(
                (("watchlist", "Watchlist"), ("chart", "Chart"), ("log", "Log")), start=1):
            self.actions.add_existing("&View", self.docks[dock_id].toggleViewAction())
            add(ActionSpec(f"focus_{dock_id}", f"Go to {title}", "&Go", f"Alt+{key}"),
                lambda _=False, d=dock_id: self.focus_dock(d))
        add(ActionSpec("reset_layout", "&Reset layout", "&View", "Ctrl+Shift+R",
                       "Put every panel back where it starts"), self.reset_layout)
        add(ActionSpec("chart_follow", "Follow newest bar", "&Chart", "F"),
            lambda: self.chart.follow_button.setChecked(True))
        add(ActionSpec("chart_next_tf", "Next timeframe", "&Chart", "]"),
            lambda: self._step_timeframe(1))
        add(ActionSpec("chart_prev_tf", "Previous timeframe", "&Chart", "["),
            lambda: self._step_timeframe(-1))
        if isinstance(self.engine.feed, ReplayFeed):
            self._register_replay_actions(self.engine.feed)
        add(ActionSpec("about", "&About Bracket", "&Help"), self._about)

    def _register_replay_actions(self, feed: ReplayFeed) -> None:
        add = self.actions.add
        add(ActionSpec("replay_pause", "&Pause", "&Replay", "Ctrl+P", checkable=True),
            lambda paused: feed.pause() if paused else feed.resume())
        add(ActionSpec("replay_step", "&Step one event", "&Replay", "Ctrl+."),
            lambda: feed.step(1))
        for speed in SPEEDS:
            label = "max" if speed is None else f"{speed:g}x"
            add(ActionSpec(f"replay_speed_{label}", f"Speed {label}", "&Replay"),
                lambda _=False, s=speed: feed.set_speed(s))

    def _build_menus(self) -> None:
        for title, actions in self.actions.menus().items():
            menu = self.menuBar().addMenu(title)
            if title == "&View":
                menu.addSection("Panels")
            for action in actions:
                menu.addAction(action)
        for action in self.actions.all():
            self.addAction(action)  # hotkeys work even while the menu bar is hidden

    def focus_dock(self, dock_id: str) -> None:
        dock = self.docks[dock_id]
        dock.show()
        dock.raise_()
        target = {"watchlist": self.watchlist.table, "chart": self.chart.graphics,
                  "log": self.log_panel.text}[dock_id]
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _step_timeframe(self, step: int) -> None:
        frames = self.engine.timeframes
        index = (frames.index(self.chart.timeframe) + step) % len(frames)
        self.show_series(self.chart.symbol, frames[index])

    def _about(self) -> None:
        QMessageBox.about(self, "About Bracket",
                          "Bracket trader workstation.\nPaper trading on a simulated market "
                          "unless configured otherwise.")

    def show_series(self, symbol: str, timeframe: str) -> None:
        bars = self.engine.bars
        if self.chart.symbol:
            bars.watch_partial(self.chart.symbol, self.chart.timeframe, False)
        bars.watch_partial(symbol, timeframe, True)
        self.chart.show_series(symbol, timeframe, bars.history(symbol, timeframe),
                               bars.partial(symbol, timeframe))

    # -- status bar ---------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.badge = QLabel("PAPER · REPLAY" if isinstance(self.engine.feed, ReplayFeed)
                            else "PAPER · SIM", self)
        self.badge.setObjectName("badgePaper")
        self.badge.setToolTip("Paper trading on the simulated market: no real orders")
        self.feed_label = QLabel(self)
        self.feed_label.setObjectName("feedState")
        self.clock_label = QLabel(self)
        self.clock_label.setObjectName("clockLabel")
        self.rate_label = QLabel(self)
        self.rate_label.setObjectName("rateLabel")
        self.lag_label = QLabel(self)
        self.lag_label.setObjectName("lagLabel")
        status.addWidget(self.badge)
        status.addWidget(self.feed_label)
        status.addPermanentWidget(self.rate_label)
        status.addPermanentWidget(self.lag_label)
        status.addPermanentWidget(self.clock_label)

    def _on_frame(self) -> None:
        self.watchlist_model.refresh()
        engine = self.engine
        state = engine.feed.state
        color = _STATE_COLORS.get(state, MUTED).name()
        self.feed_label.setText(f"<span style='color:{color}'>●</span> "
                                f"{engine.feed.name} feed: {state}")
        sim = ns_to_datetime(engine.clock.now_ns()).astimezone(DISPLAY_ZONE)
        local = datetime.now().astimezone()
        self.clock_label.setText(f"Exchange {sim:%a %Y-%m-%d %H:%M:%S} ET   "
                                 f"Local {local:%H:%M:%S}")
        rate = self._rate.update(engine.bus.published)
        self.rate_label.setText(f"{rate:,.0f} events/s")
        lag = engine.lag.recent_ms()
        lag_color = (UP if lag < 20 else WARN if lag < 50 else DOWN).name()
        self.lag_label.setText(f"loop lag <span style='color:{lag_color}'>{lag:.1f} ms</span>")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.bridge.stop()
        super().closeEvent(event)
        self.closed.emit()

