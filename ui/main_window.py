"""The main window: docks, menus and hotkeys from one action registry, the
status bar, and layout save/restore (stable objectNames, a Reset action).

Trading commands (ticket, market buttons, close, flatten) all go through the
engine's router; what they lead to is shown from committed journal events.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QWidget,
)

from ui.actions import ActionRegistry, ActionSpec
from ui.alerts import Alerts
from ui.bridge import EngineBridge
from ui.chart_alerts import ChartAlerts
from ui.chart_trading import ChartTrading
from ui.dialogs.accounts import AccountsDialog
from ui.dialogs.indicators import IndicatorsDialog
from ui.dialogs.kill_switch import ResetKillSwitchDialog
from ui.dialogs.order_ticket import OrderTicketDialog
from ui.dialogs.price_alerts import PriceAlertsDialog
from ui.dialogs.risk_settings import RiskSettingsDialog
from ui.dialogs.shortcuts import ShortcutsDialog
from ui.ladder_trading import Atm, LadderTrading
from ui.layouts import LayoutMenu, LayoutStore
from ui.models.ladder_model import LadderModel
from ui.models.watchlist_model import WatchlistModel
from ui.panels.account import AccountPanel
from ui.panels.chart import DISPLAY_ZONE, ChartPanel
from ui.panels.chart_indicators import dump_specs, load_specs
from ui.panels.ladder import LadderPanel
from ui.panels.lazy import LazyPanel
from ui.panels.log import LogPanel
from ui.panels.orders import OrdersPanel
from ui.panels.risk import RiskIndicator, RiskPanel, worst
from ui.panels.signals import SignalsPanel
from ui.panels.strategies import StrategiesPanel
from ui.panels.tables import ROW_HEIGHT, price_sample
from ui.panels.trades import TradesPanel
from ui.panels.watchlist import WatchlistPanel
from ui.startup import FRAME, LAYOUT_FILE
from ui.theme import DOWN, MUTED, NEUTRAL, UP, WARN
from ui.ticket import Distance, TicketForm, build_intent, price_ticket
from workstation.accounts import account_in_use
from workstation.brokers.base import BrokerError
from workstation.config import SETTINGS_FILE
from workstation.engine import Engine
from workstation.feeds.base import FeedState
from workstation.feeds.replay import SPEEDS, ReplayFeed
from workstation.metrics import RateMeter
from workstation.model import Bar, ns_to_datetime
from workstation.orders import OrderSide, OrderStatus, OrderType, OrderUpdate
from workstation.risk.events import KillSwitchChanged
from workstation.signals.lifecycle import SignalRecord
from workstation.store.accounts import list_accounts
from workstation.volume_profile import VolumeAtPrice

if TYPE_CHECKING:
    from ui.panels.backtest import BacktestPanel

log = logging.getLogger(__name__)

# 2: trades, orders, account; 3: risk; 4: strategies; 5: signals; 6: backtest; 7: the
# chart-first layout; 8: the price ladder (older ones are ignored)
LAYOUT_VERSION = 8
NOTICE_MS = 8_000
TABLES_SHARE = 0.36  # of the window's height for the trades and orders, at least
REVIEW_TABLES_SHARE = 0.55  # the same in the Review layout
LADDER_ROOM = 300  # px of the left column under the watchlist: the ladder shows in front
# View menu order and Alt+N (the tenth is Alt+0): panels keep the numbers they had
PANELS = (("watchlist", "Watchlist"), ("chart", "Chart"), ("log", "Log"), ("trades", "Trades"),
          ("excursion", "Trade excursion"), ("orders", "Orders"), ("account", "Account"),
          ("risk", "Risk"), ("strategies", "Strategies"), ("signals", "Signals"),
          ("backtest", "Backtest"), ("ladder", "Price ladder"))
_STATE_COLORS = {FeedState.LIVE: UP, FeedState.PAUSED: WARN, FeedState.MARKET_CLOSED: WARN,
                 FeedState.ERROR: DOWN, FeedState.STOPPED: MUTED, FeedState.FINISHED: MUTED}


class NoticeLabel(QLabel):
    """The status bar's note: elided to the room it has (never widening the window), the
    whole sentence in its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._color = NEUTRAL
        self.setMinimumWidth(80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def show_text(self, text: str, color: QColor) -> None:
        self._text, self._color = text, color
        self.setToolTip(text)
        self._elide()

    def clear_text(self) -> None:
        self.show_text("", NEUTRAL)

    def text(self) -> str:  # type: ignore[override]
        """The whole note in its color markup (what is painted may be elided)."""
        return f"<span style='color:{self._color.name()}'>{self._text}</span>"

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight,
                                              max(0, self.width() - 4))
        super().setText(f"<span style='color:{self._color.name()}'>{html.escape(shown)}</span>")


def scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` in a frameless scroll area: a narrow dock scrolls it instead of forcing
    the whole window wider than the screen."""
    area = QScrollArea()
    area.setObjectName(f"{panel.objectName() or 'panel'}Scroll")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(panel)
    return area


def default_atm(engine: Engine) -> Atm:
    """The ladder's bracket to start with: the settings' default stop ([trading]) and its
    target in R turned into ticks."""
    default = engine.settings.trading
    stop = default.default_stop_ticks
    return Atm(bool(stop), stop, round(stop * default.default_target_r))


def first_size(available: QRect) -> QSize:
    """The first window fills what the screen can show with its frame: the chart is where
    a trader works, and it gets the room."""
    return available.size() - FRAME


def fit_on(frame: QRect, available: QRect, size: QSize) -> QRect:
    """Where the window (``size`` inside ``frame``) goes so that all of it, frame included,
    is on the available area: shrunk if too big, moved in (centred) if it sticks out."""
    size = size.boundedTo(available.size() - FRAME)
    placed = QRect(frame.topLeft(), size + FRAME)
    if not available.contains(placed):
        placed.moveCenter(available.center())
        placed.moveTopLeft(QPoint(max(placed.left(), available.left()),
                                  max(placed.top(), available.top())))
    return QRect(placed.topLeft(), size)


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, engine: Engine, bridge: EngineBridge, home: Path,
                 size: QSize | None = None) -> None:
        """``size``: this size whatever the screen (screenshot runs); else it fits the
        screen."""
        super().__init__()
        self._home = home
        self._fixed_size = size
        self.setObjectName("mainWindow")
        source = "replay" if isinstance(engine.feed, ReplayFeed) else "simulated market"
        self.setWindowTitle(f"Bracket — {source} · paper account {engine.account}")
        self.engine = engine
        self.bridge = bridge
        self.switch_to: str | None = None  # an account chosen in the selector: run it next
        self._settings = QSettings(str(home / LAYOUT_FILE), QSettings.Format.IniFormat)
        self._rate = RateMeter()
        self.alerts = Alerts(self)
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        instruments = engine.instruments
        watch = self._settings.value("watchlist/symbols", engine.settings.watchlist, type=list)
        self.watchlist_model = WatchlistModel(engine.market, instruments,
                                              [s for s in watch if s in instruments])
        live = engine.live
        finds = live is not None and hasattr(live, "add_symbol")
        self.watchlist = WatchlistPanel(
            self.watchlist_model, list(instruments),
            find=(lambda symbol: live.add_symbol(engine, symbol)) if finds else None,
            search=live.search if finds else None)
        self.chart = ChartPanel(instruments, engine.timeframes)
        if finds:  # symbols added from the market's asset list: charted, and kept
            self.watchlist.symbol_added.connect(self.chart.symbol_box.addItem)
            self.watchlist.problem.connect(lambda text: self.notify(text, True))
            self.watchlist.find_all([s for s in watch if s not in instruments])
        if live is not None and hasattr(live, "release_symbol"):
            # off the watchlist and not charted: the market may stop streaming it
            self.watchlist.symbol_removed.connect(lambda symbol: None if (
                symbol == self.chart.symbol) else self.watchlist.run(
                    live.release_symbol(engine, symbol)))
        self.log_panel = LogPanel(engine.clock.now_ns)
        price = price_sample(instruments, lambda s: engine.market.get(s).reference)
        self.trades = TradesPanel(instruments, engine.clock.now_ns, price)
        self.orders = OrdersPanel(instruments, engine.router, price)
        self.account = AccountPanel(instruments, engine.broker.account, engine.broker.positions,
                                    lambda: bridge.uncommitted_fills <= 0, price)
        self.risk_panel = RiskPanel(engine.risk, engine.kill_switch, engine.clock.now_ns,
                                    lambda: bridge.uncommitted_fills <= 0)
        self.strategies_panel = StrategiesPanel(engine.strategies, list(instruments),
                                                home / "plugins")
        self.signals_panel = SignalsPanel(engine, price)
        self.backtest = LazyPanel("backtestHolder", self._make_backtest_panel)
        self.chart_trading = ChartTrading(engine, self.chart, self.notify, self.next_client_id,
                                          lambda: bridge.uncommitted_fills <= 0)
        self.price_alerts = ChartAlerts(self.chart, self._settings, instruments,
                                        lambda s: engine.market.get(s).last, self.alerts,
                                        self.notify)
        self.watchlist.price_alerts = self.price_alerts  # its "Alert at price…"
        self.volume_at_price = VolumeAtPrice(engine.bus, instruments)
        self.ladder = LadderPanel(
            LadderModel(engine.market, self.volume_at_price, instruments,
                        engine.broker.positions, lambda: bridge.uncommitted_fills <= 0),
            LadderTrading(engine, self.next_client_id), self.notify, self._flatten,
            default_atm(engine), price)
        self.ladder.load(self._settings)
        self.ticket: OrderTicketDialog | None = None
        self.reset_dialog: ResetKillSwitchDialog | None = None
        self.risk_dialog: RiskSettingsDialog | None = None
        self._settings_file = home / SETTINGS_FILE
        self.docks = {
            "watchlist": self._dock("dock.watchlist", "Watchlist", self.watchlist),
            "chart": self._dock("dock.chart", "Chart", self.chart),
            "trades": self._dock("dock.trades", "Trades", self.trades),
            "excursion": self._dock("dock.excursion", "Trade excursion", self.trades.chart),
            "orders": self._dock("dock.orders", "Orders", self.orders),
            "account": self._dock("dock.account", "Account", self.account),
            "risk": self._dock("dock.risk", "Risk", self.risk_panel),
            # its row of command buttons is wider than a small screen's share: it scrolls
            "strategies": self._dock("dock.strategies", "Strategies",
                                     scrolling(self.strategies_panel)),
            "signals": self._dock("dock.signals", "Signals", self.signals_panel),
            "log": self._dock("dock.log", "Log", self.log_panel),
            "backtest": self._dock("dock.backtest", "Backtest", self.backtest),
            # a short dock scrolls the ladder's controls rather than push the window taller
            "ladder": self._dock("dock.ladder", "Ladder", scrolling(self.ladder)),
        }
        self.backtest.build_with(self.docks["backtest"])
        self.resize(size or first_size(self._available()))
        self._default_layout()
        self.actions = ActionRegistry(self)
        self.layouts_menu = LayoutMenu(
            LayoutStore(self._settings, LAYOUT_VERSION),
            {"Trading": self.reset_layout, "Review": self.review_layout},
            lambda: self.saveState(LAYOUT_VERSION), self.restore_named, self.notify, self)
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
        bridge.plot_points.connect(self.chart.strategy_plots.add)
        bridge.log_records.connect(self.log_panel.append)
        bridge.trading_events.connect(self._on_trading_events)
        self.orders.message.connect(self.notify)
        self.strategies_panel.message.connect(self.notify)
        self.signals_panel.message.connect(self.notify)
        self.signals_panel.awaiting.connect(self._on_signal_awaiting)
        bridge.bars_closed.connect(self.signals_panel.on_bars)
        engine.signals.approval_listeners.append(self._on_setup_awaiting)
        self.chart.on_new_signal = self.new_signal_at_bar
        symbol = str(self._settings.value("chart/symbol", next(iter(instruments))))
        timeframe = str(self._settings.value("chart/timeframe", "1m"))
        if symbol not in instruments:
            symbol = next(iter(instruments))
        if timeframe not in engine.timeframes:
            timeframe = engine.timeframes[0]
        self.show_series(symbol, timeframe)
        self._history_shown = False
        specs, problems = load_specs(str(self._settings.value("chart/indicators", "")))
        self.chart.indicators.set_specs(specs)
        for problem in [*problems, *self.price_alerts.problems]:
            log.warning("%s", problem)

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
        """The chart takes most of the window: the watchlist over the account in a column on
        the left, the chart beside them, and below across the window the trades (tabbed
        with strategies and signals) and the orders (tabbed with the selected trade's
        excursion, risk and the log). Every table keeps rows to show on a 1366 x 768
        laptop."""
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea,
                               Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        docks = self.docks
        self.addDockWidget(left, docks["watchlist"])
        self.addDockWidget(right, docks["chart"])
        self.addDockWidget(bottom, docks["trades"], Qt.Orientation.Vertical)
        self.splitDockWidget(docks["watchlist"], docks["account"], Qt.Orientation.Vertical)
        self.splitDockWidget(docks["trades"], docks["orders"], Qt.Orientation.Horizontal)
        self.tabifyDockWidget(docks["orders"], docks["log"])
        self.tabifyDockWidget(docks["orders"], docks["excursion"])
        self.tabifyDockWidget(docks["excursion"], docks["risk"])
        self.tabifyDockWidget(docks["risk"], docks["log"])
        self.tabifyDockWidget(docks["trades"], docks["strategies"])
        self.tabifyDockWidget(docks["strategies"], docks["signals"])
        self.tabifyDockWidget(docks["strategies"], docks["backtest"])
        self.tabifyDockWidget(docks["account"], docks["ladder"])
        # the left column's tabs on its side: a laptop has width to spare, not height
        self.setTabPosition(left, QTabWidget.TabPosition.West)
        for dock in docks.values():
            dock.setFloating(False)
            dock.show()
        docks["orders"].raise_()
        docks["trades"].raise_()
        docks["account"].raise_()
        self._default_sizes()

    def _default_sizes(self) -> None:
        """Dock sizes fitted to the window: the chart gets what the tables do not need."""
        docks = self.docks
        width, height = self.width(), self.height()
        watch = min(self.watchlist.preferred_width(), 700, round(width * 0.3))
        self.resizeDocks([docks["watchlist"], docks["chart"]], [watch, width - watch],
                         Qt.Orientation.Horizontal)
        orders = max(docks[d].minimumSizeHint().width()
                     for d in ("orders", "excursion", "risk", "log"))
        trades = min(self.trades.preferred_width(), 1000, width - orders)
        self.resizeDocks([docks["trades"], docks["orders"]], [trades, width - trades],
                         Qt.Orientation.Horizontal)
        tables = max(round(height * TABLES_SHARE),
                     *(docks[d].minimumSizeHint().height() for d in ("trades", "orders", "risk")))
        chart = height - tables
        self.resizeDocks([docks["chart"], docks["trades"]], [chart, tables],
                         Qt.Orientation.Vertical)
        rows = self.watchlist_model.rowCount() + 1
        watchlist = max(docks["watchlist"].minimumSizeHint().height(),
                        min(round(chart * 0.45), 60 + rows * ROW_HEIGHT))
        self.resizeDocks([docks["watchlist"], docks["account"]],
                         [watchlist, chart - watchlist], Qt.Orientation.Vertical)
        # the ladder in front where it has room for its rows, else the account (a laptop)
        docks["ladder" if chart - watchlist >= LADDER_ROOM else "account"].raise_()

    def _available(self) -> QRect:
        """The usable area (without panels and docks of the desktop) of this window's screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def _restore_layout(self) -> None:
        geometry = self._settings.value("window/geometry")
        state = self._settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if self._fixed_size is not None:
            self.resize(self._fixed_size)
        elif not isinstance(geometry, QByteArray) or not self.isMaximized():
            # a first start, or a layout saved on a larger screen: fit this one
            available = self._available()
            placed = fit_on(self.frameGeometry(), available, self.geometry().size())
            self.resize(placed.size())
            self.move(placed.topLeft())
        restored = isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)
        room = self._available().size() - FRAME
        if restored and self._fixed_size is None and \
                room.expandedTo(self.minimumSizeHint()) != room:
            # panels arranged on a larger screen need more than this one has: start over
            # with the layout made for this screen
            log.info("the saved panel layout does not fit this screen: default layout used")
            self.restoreState(self._default_state, LAYOUT_VERSION)
            restored = False
        if not restored:  # sizes set before the first show are only proportions: again
            QTimer.singleShot(0, self._default_sizes)

    def save_layout(self) -> None:
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self._settings.setValue("watchlist/symbols", self.watchlist_model.symbols())
        self._settings.setValue("chart/symbol", self.chart.symbol)
        self._settings.setValue("chart/timeframe", self.chart.timeframe)
        self._settings.setValue("chart/indicators", dump_specs(self.chart.indicators.specs))
        self.ladder.save(self._settings)
        self._settings.sync()

    def reset_layout(self) -> None:
        """The default layout ("Trading"), sized for the window as it is now."""
        for dock in self.docks.values():
            dock.setFloating(False)
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self._default_sizes()

    def review_layout(self) -> None:
        """The built-in "Review" layout: the default with the trades, their excursion and
        the tables given more than half the height."""
        self.reset_layout()
        self.docks["trades"].raise_()
        self.docks["excursion"].raise_()
        QTimer.singleShot(0, self._review_sizes)  # once the restored arrangement is laid out

    def _review_sizes(self) -> None:
        docks = self.docks
        total = docks["chart"].height() + docks["trades"].height()
        tables = round(total * REVIEW_TABLES_SHARE)
        watchlist = docks["watchlist"].height()
        # the left column shrinks with the chart, or it holds the tables down
        self.resizeDocks([docks["chart"], docks["account"], docks["trades"]],
                         [total - tables, total - tables - watchlist, tables],
                         Qt.Orientation.Vertical)

    def restore_named(self, state: QByteArray) -> bool:
        """A saved layout's arrangement (False: saved by an older layout version)."""
        for dock in self.docks.values():
            dock.setFloating(False)
        return self.restoreState(state, LAYOUT_VERSION)

    # -- actions ----------------------------------------------------------------------
    def _register_actions(self) -> None:
        add = self.actions.add
        add(ActionSpec("connections", "&Connections…", "&File",
                       tip="Alpaca keys (kept in the OS keyring), paper or live, data feed"),
            self.open_connections)
        if self.engine.live is not None:
            add(ActionSpec("acknowledge_safe_mode", "Acknowledge &reconciliation…", "&Trade",
                           tip="Review what reconciliation found and allow entries again"),
                self.acknowledge_safe_mode)
        add(ActionSpec("quit", "&Quit", "&File", "Ctrl+Q"), self.close)
        for key, (dock_id, title) in enumerate(PANELS, start=1):
            keys = f"Alt+{key % 10}" if key <= 10 else ""  # the tenth is Alt+0, then none
            toggle = self.docks[dock_id].toggleViewAction()
            toggle.setText(f"{title}\t{keys}" if keys else title)  # the Go action's keys
            self.actions.add_existing("&View", toggle)
            add(ActionSpec(f"focus_{dock_id}", f"Go to {title}", "&Go", keys),
                lambda _=False, d=dock_id: self.focus_dock(d))
        add(ActionSpec("reset_layout", "&Reset layout", "&View", "Ctrl+Shift+R",
                       "Put every panel back where it starts"), self.reset_layout)
        add(ActionSpec("chart_follow", "Follow newest bar", "&Chart", "F"),
            lambda: self.chart.follow_button.setChecked(True))
        add(ActionSpec("chart_next_tf", "Next timeframe", "&Chart", "]"),
            lambda: self._step_timeframe(1))
        add(ActionSpec("chart_prev_tf", "Previous timeframe", "&Chart", "["),
            lambda: self._step_timeframe(-1))
        add(ActionSpec("chart_indicators", "&Indicators…", "&Chart", "Ctrl+I",
                       "SMA, EMA, VWAP and Bollinger bands on the price pane"),
            self.open_indicators)
        add(ActionSpec("price_alerts", "Price &alerts…", "&Chart",
                       tip="Alerts set on the chart (right-click a price to set one)"),
            self.open_price_alerts)
        self._register_trade_actions()
        self._register_ladder_actions()
        self._register_signal_actions()
        add(ActionSpec("backtest_new", "&New backtest…", "&Backtest", "Ctrl+Shift+T",
                       "Test a strategy on history: its parameters, the data, fills and "
                       "costs"), self.new_backtest)
        self.strategies_panel.register_actions(self.actions)
        if isinstance(self.engine.feed, ReplayFeed):
            self._register_replay_actions(self.engine.feed)
        add(ActionSpec("shortcuts", "&Keyboard shortcuts", "&Help", "F1",
                       "Every action and its keys"), self.show_shortcuts)
        add(ActionSpec("about", "&About Bracket", "&Help"), self._about)

    def _register_trade_actions(self) -> None:
        add = self.actions.add
        add(ActionSpec("new_order", "&New order…", "&Trade", "F2",
                       "Open the order ticket for the chart's symbol"), self.open_ticket)
        add(ActionSpec("buy_market", "&Buy market", "&Trade", "Shift+B",
                       "Buy one lot of the chart's symbol at market"),
            lambda: self.market_order(OrderSide.BUY))
        add(ActionSpec("sell_market", "&Sell market", "&Trade", "Shift+S",
                       "Sell one lot of the chart's symbol at market"),
            lambda: self.market_order(OrderSide.SELL))
        close = add(ActionSpec("close_trade", "&Close trade", "&Trade", "Shift+X",
                               "Flatten the selected trade's symbol (else the chart's)"),
                    self.close_trade)
        flatten = add(ActionSpec("flatten_all", "&Flatten all", "&Trade", "Ctrl+Shift+F",
                                 "Cancel every working order and close every position"),
                      self.flatten_all)
        add(ActionSpec("accounts", "Paper &accounts…", "&Trade",
                       tip="List, create and switch paper accounts"), self.choose_account)
        add(ActionSpec("reset_account", "&Reset paper account…", "&Trade",
                       tip="Cancel working orders, forget positions and trades, start over "
                           "at the starting cash"), self.reset_account)
        kill = add(ActionSpec("kill_switch", "&Kill switch…", "&Trade", "Ctrl+Shift+K",
                              "Cancel every working order and block new entries until a "
                              "typed reset"), self.kill_switch)
        reset = add(ActionSpec("reset_kill_switch", "Reset kill s&witch…", "&Trade",
                               tip="Turn the kill switch off (type RESET to confirm)"),
                    self.reset_kill_switch)
        self.trades.add_action_button(close)
        self.trades.add_action_button(flatten).setObjectName("flattenAllButton")
        settings = add(ActionSpec("risk_settings", "Risk &settings…", "Ris&k",
                                  tip="A prop-firm preset and account size, or your own "
                                      "limits (saved to settings.toml)"),
                       self.open_risk_settings)
        self.actions.add_existing("Ris&k", kill)
        self.actions.add_existing("Ris&k", reset)
        self.risk_panel.add_action_button(kill).setObjectName("killSwitchButton")
        self.risk_panel.add_action_button(reset).setObjectName("resetKillSwitchButton")
        self.risk_panel.add_action_button(settings).setObjectName("riskSettingsButton")
        self._update_kill_actions()

    def _register_ladder_actions(self) -> None:
        """Keys that work while the ladder has the focus (there F flattens, elsewhere it
        follows the chart); from the menu they act on the ladder's symbol."""
        add = self.actions.add
        ladder = self.ladder
        self.ladder.use_actions([
            add(ActionSpec("ladder_centre", "&Centre", "&Ladder", "C",
                           "Centre the ladder on the last trade", local=True),
                ladder.centre),
            add(ActionSpec("ladder_flatten", "&Flatten", "&Ladder", "F",
                           "Cancel the ladder symbol's orders and close its position",
                           local=True), ladder.flatten),
            add(ActionSpec("ladder_cancel_all", "Cancel &all", "&Ladder", "X",
                           "Cancel every working order of the ladder's symbol", local=True),
                ladder.cancel_all)])

    def _register_signal_actions(self) -> None:
        add = self.actions.add
        panel = self.signals_panel
        add(ActionSpec("signal_approve", "&Approve selected signal", "&Signals", "Ctrl+Shift+A",
                       "Send the selected setup's bracket order(s) through the risk gate"),
            lambda: panel.approve_selected())
        add(ActionSpec("signal_reject", "&Reject selected signal", "&Signals", "Ctrl+Shift+J",
                       "Reject the selected setup awaiting approval"),
            lambda: panel.reject_selected())
        add(ActionSpec("signal_cancel", "&Cancel selected signal", "&Signals",
                       tip="Withdraw the selected signal before it is approved"),
            lambda: panel.cancel_selected())
        add(ActionSpec("signal_new", "&New signal…", "&Signals", "F3",
                       "Submit a manual signal for the chart's symbol"),
            lambda: panel.open_new_signal(self.chart.symbol))

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
            if title == "&View":
                menu.addMenu(self.layouts_menu)
        for action in self.actions.window_wide():
            self.addAction(action)  # hotkeys work even while the menu bar is hidden

    def open_indicators(self) -> IndicatorsDialog:
        dialog = IndicatorsDialog(self.chart.indicators, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_price_alerts(self) -> PriceAlertsDialog:
        dialog = PriceAlertsDialog(self.price_alerts, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.actions.menus(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def focus_dock(self, dock_id: str) -> None:
        dock = self.docks[dock_id]
        dock.show()
        dock.raise_()
        target = {"watchlist": self.watchlist.table, "chart": self.chart.graphics,
                  "trades": self.trades.active_table, "excursion": self.trades.chart.plot,
                  "orders": self.orders.working_table,
                  "account": self.account.positions_table, "log": self.log_panel.text,
                  "risk": self.risk_panel.rules_table,
                  "strategies": self.strategies_panel.table,
                  "signals": self.signals_panel.table,
                  "ladder": self.ladder.table}.get(dock_id)
        if dock_id == "backtest":
            target = self.backtest_panel().runs_table
        assert target is not None
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- backtests ----------------------------------------------------------------------
    def _make_backtest_panel(self) -> BacktestPanel:
        """Built when the Backtest dock is first shown or used (it imports pandas)."""
        from ui.panels.backtest import BacktestPanel

        engine = self.engine
        writer = engine.writer
        panel = BacktestPanel(engine.store, writer.call if writer is not None else
                              asyncio.to_thread, self._home,
                              lambda: engine.strategies.catalog.strategies,
                              engine.instruments, list(engine.timeframes),
                              settings=engine.settings)
        panel.message.connect(self.notify)
        panel.refresh()
        return panel

    def backtest_panel(self) -> BacktestPanel:
        return cast("BacktestPanel", self.backtest.panel())

    def new_backtest(self) -> None:
        """Backtest → New backtest…: the dock comes forward and the dialog opens."""
        self.focus_dock("backtest")
        self.backtest_panel().open_new_backtest()

    # -- trading commands (all through the router) --------------------------------------
    def next_client_id(self) -> str:
        """``manual-N``: the router resumes the numbering after a restart."""
        return self.engine.router.next_client_id("manual")

    def open_ticket(self) -> OrderTicketDialog:
        if self.ticket is not None and self.ticket.isVisible():
            self.ticket.raise_()
            self.ticket.activateWindow()
            return self.ticket
        if self.ticket is not None:
            self.ticket.deleteLater()  # one ticket at a time; none pile up under the window
        ticket = OrderTicketDialog(self.engine, self.chart.symbol, self.next_client_id,
                                   parent=self)
        ticket.submitted.connect(self._on_submitted)
        self.ticket = ticket
        ticket.open()
        return ticket

    def market_order(self, side: OrderSide) -> OrderUpdate:
        """One lot of the chart's symbol at market, with the default bracket of the settings
        (``[trading]``), its stop and target priced from the actual fill."""
        symbol = self.chart.symbol
        engine = self.engine
        inst = engine.instruments[symbol]
        default = engine.settings.trading
        form = TicketForm(symbol, side, inst.lot_size, OrderType.MARKET,
                          bracket=bool(default.default_stop_ticks),
                          stop_distance=default.default_stop_ticks, stop_unit=Distance.TICKS,
                          target_distance=default.default_target_r, target_unit=Distance.R)
        # without a quote nothing can be priced, and the gate refuses the order for that
        priced = price_ticket(form, engine.market.get(symbol), inst)
        update = engine.router.submit(build_intent(priced, self.next_client_id()))
        if update.status is OrderStatus.REJECTED:
            self.notify(f"{side.value.capitalize()} {symbol} rejected: {update.reason}", True)
        else:
            self._on_submitted(update)
        return update

    def close_trade(self) -> None:
        """Close the selected trade (else the latest on the chart's symbol) and only it:
        other trades on the same symbol keep their size and their legs."""
        trade_id = self.trades.selected_trade_id()
        if trade_id is None:
            latest = self.engine.trades.trade_for(self.chart.symbol)
            trade_id = latest.trade_id if latest is not None else None
        if trade_id is None:
            self.notify("No trade to close: select one in Trades", True)
            return
        update = self.engine.trades.close_trade(trade_id, self.next_client_id())
        if update.status is OrderStatus.REJECTED:
            self.notify(f"Close trade {trade_id}: {update.reason}", True)
        else:
            self.notify(f"Close trade {trade_id}: {update.intent.describe()} sent")

    def flatten_all(self) -> None:
        self._flatten(None)

    def choose_account(self) -> None:
        """The account selector; the list is read on the store's thread."""
        self._accounts_task = asyncio.ensure_future(self._choose_account())

    async def _choose_account(self) -> None:
        engine = self.engine
        store, writer = engine.store, engine.writer
        accounts = [] if store is None or writer is None else await writer.call(
            lambda: list_accounts(store))
        home = self._home
        dialog = AccountsDialog(accounts, engine.account, self,
                                in_use=lambda name: account_in_use(home, name))
        dialog.chosen.connect(self._switch_account)
        dialog.open()

    def _switch_account(self, name: str) -> None:
        """Close this window; the app starts the engine again on ``name``."""
        self.switch_to = name
        self.notify(f"Switching to account {name}…")
        self.close()

    def reset_account(self) -> None:
        cash = self.engine.portfolio.starting_cash
        answer = QMessageBox.question(
            self, "Reset paper account",
            f"Start the paper account over at {cash:,.2f}?\n\nWorking orders are canceled; "
            "positions and active trades are forgotten (history is kept).")
        if answer == QMessageBox.StandardButton.Yes:
            self._reset_task = asyncio.ensure_future(self.engine.reset_account())
            self.notify(f"Paper account reset to {cash:,.2f}")

    def kill_switch(self) -> None:
        """Confirmed, then on: the engine cancels working entry orders (and flattens, when
        set to) and blocks new entries; the notice counts what it canceled."""
        kill = self.engine.kill_switch
        if kill.active:
            self.focus_dock("risk")
            return
        what = ("Every working order is canceled and every open position is closed at "
                "market (flatten_on_kill)." if kill.flatten_on_kill else
                "Working entry orders are canceled; open positions keep their protective "
                "stop and target orders.")
        answer = QMessageBox.question(
            self, "Kill switch",
            f"Turn the kill switch on?\n\n{what} New entries are blocked: only orders that "
            "reduce a position pass. It stays on (also after a restart) until you reset it "
            "by typing RESET.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        before = len(self.engine.router.working_orders())
        kill.activate("turned on by the user")
        kept = len(self.engine.router.working_orders())
        self._update_kill_actions()
        self.notify(f"Kill switch ON: {before - kept} working order(s) canceled"
                    + (f", {kept} kept" if kept else "") + ", new entries blocked", True)

    def reset_kill_switch(self) -> ResetKillSwitchDialog | None:
        """The typed-RESET dialog (one at a time); None while the switch is off."""
        if not self.engine.kill_switch.active:
            self.notify("The kill switch is off")
            return None
        if self.reset_dialog is not None and self.reset_dialog.isVisible():
            self.reset_dialog.raise_()
            return self.reset_dialog
        if self.reset_dialog is not None:
            self.reset_dialog.deleteLater()
        dialog = ResetKillSwitchDialog(self.engine.kill_switch, self)
        dialog.accepted.connect(self._on_kill_reset)
        self.reset_dialog = dialog
        dialog.open()
        return dialog

    def open_risk_settings(self) -> RiskSettingsDialog:
        """The Risk settings dialog (one at a time), showing what settings.toml holds."""
        if self.risk_dialog is not None and self.risk_dialog.isVisible():
            self.risk_dialog.raise_()
            return self.risk_dialog
        if self.risk_dialog is not None:
            self.risk_dialog.deleteLater()
        dialog = RiskSettingsDialog(self.engine.settings.risk, self._settings_file, self)
        dialog.accepted.connect(self._on_risk_saved)
        self.risk_dialog = dialog
        dialog.open()
        return dialog

    def _on_risk_saved(self) -> None:
        self.risk_panel.show_pending_restart()
        self.notify(f"Risk settings saved to {SETTINGS_FILE} (the previous file is kept as "
                    f"{SETTINGS_FILE}.bak): restart Bracket to apply them")

    def _on_kill_reset(self) -> None:
        self._update_kill_actions()
        self.notify("Kill switch reset: new entries allowed within the risk limits")

    def _update_kill_actions(self) -> None:
        active = self.engine.kill_switch.active
        self.actions["kill_switch"].setEnabled(not active)
        self.actions["reset_kill_switch"].setEnabled(active)

    def _flatten(self, symbol: str | None) -> tuple[str, bool]:
        """Told in the status bar; returns what was said and whether it is an error."""
        what = symbol or "all"
        try:
            updates = self.engine.router.flatten(symbol)
        except BrokerError as exc:
            said = f"Flatten {what} failed: {exc}", True
        else:
            rejected = [u for u in updates if u.status is OrderStatus.REJECTED]
            said = (f"Flatten {what}: " + "; ".join(u.reason for u in rejected), True) \
                if rejected else (f"Flatten {what}: working orders canceled, "
                                  f"{len(updates)} closing order(s) sent", False)
        self.notify(*said)
        return said

    def _on_submitted(self, update: OrderUpdate) -> None:
        self.notify(f"Sent {update.intent.describe()} ({update.client_order_id}): "
                    f"{update.status.value.replace('_', ' ')}")

    def _on_trading_events(self, events: list[object]) -> None:
        self.trades.apply(events)
        self.orders.apply(events)
        self.risk_panel.apply(events)
        self.signals_panel.apply(events)
        self.chart_trading.apply(events)
        self.ladder.model.apply(events)
        for event in events:
            if isinstance(event, KillSwitchChanged) and event.active and event.automatic:
                what = "KILL SWITCH ON" if event.scope == "all" else f"{event.scope} paused"
                self.notify(f"{what}: {event.reason}", True)
                self.alerts.alert(f"Bracket: {what}", event.reason)

    # -- signals ------------------------------------------------------------------------
    def new_signal_at_bar(self, symbol: str, bar: Bar) -> None:
        """The chart's "New signal at this bar…": the dialog, prefilled with the bar's close."""
        self.signals_panel.open_new_signal(symbol, bar.close, bar)

    def _on_setup_awaiting(self, record: SignalRecord) -> None:
        """The engine's approval listener (called inside its bar handler): tell the trader
        now, on the desktop too when notify_on_confirm is set. Never raises into the engine."""
        try:
            setup = record.setup
            signal = record.signal
            text = f"{signal.direction} {signal.symbol} from {signal.source} ({record.id})"
            if setup is not None:
                d = self.engine.instruments[signal.symbol].price_decimals
                text += (f": {setup.qty:g} @ ~{setup.entry:,.{d}f}, stop {setup.stop:,.{d}f}, "
                         f"risk {setup.risk_money:,.2f}")
            settings = self.engine.settings.signals
            if settings.auto_approves(signal.source):
                return  # approved at once: nobody needs to be called
            log.info("signal awaiting approval: %s", text)
            if settings.notify_on_confirm:
                self.alerts.alert("Bracket: signal awaiting approval", text, critical=False)
                self.notify(f"Awaiting approval: {text} (Ctrl+Shift+A approves)")
        except Exception:
            log.exception("signal notification failed for %s", record.id)

    def _on_signal_awaiting(self, _signal_id: str) -> None:
        """The committed row is selected and flashing; bring its dock to the front."""
        dock = self.docks["signals"]
        if self.engine.settings.signals.notify_on_confirm and not dock.isHidden():
            dock.raise_()

    def notify(self, text: str, error: bool = False) -> None:
        """A short note in the status bar (the paper badge stays visible)."""
        self.notice.show_text(text, DOWN if error else NEUTRAL)
        self._notice_timer.start(NOTICE_MS)

    def _step_timeframe(self, step: int) -> None:
        frames = self.engine.timeframes
        index = (frames.index(self.chart.timeframe) + step) % len(frames)
        self.show_series(self.chart.symbol, frames[index])

    def open_connections(self) -> None:
        """Alpaca keys and a test; the market choice applies at the next start."""
        from ui.dialogs.connections import ConnectionsDialog  # loads alpaca-py on demand

        market = "alpaca" if self.engine.live is not None else "sim"
        dialog = ConnectionsDialog(self.engine.settings.alpaca, self, market=market)
        dialog.market_chosen.connect(self._choose_market)
        dialog.open()

    def _choose_market(self, market: str) -> None:
        self._settings.setValue("session/market", market)
        self.notify(f"Market for the next start: {'Alpaca' if market == 'alpaca' else 'Simulated'}"
                    " (or start with --market)")

    def acknowledge_safe_mode(self) -> None:
        live = self.engine.live
        safe = live.safe_mode if live is not None else None
        if safe is None or not safe.active:
            self.notify("Not in safe mode: nothing to acknowledge")
            return
        answer = QMessageBox.question(
            self, "Acknowledge reconciliation",
            f"{safe.reason}:\n\n" + "\n".join(f"• {d}" for d in safe.differences)
            + "\n\nAllow new entries again?")
        if answer == QMessageBox.StandardButton.Yes:
            safe.acknowledge("user")
            self.notify("Safe mode off: new entries allowed")

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
        self.ladder.set_symbol(symbol)

    # -- status bar ---------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        market = "REPLAY" if isinstance(self.engine.feed, ReplayFeed) else "SIM"
        live = self.engine.live
        if live is not None:
            market = "ALPACA"
        self.badge = QLabel(f"PAPER · {market} · {self.engine.account}", self)
        self.badge.setObjectName("badgePaper")
        self.badge.setToolTip("Paper trading on the simulated market: no real orders")
        if live is not None:
            self.badge.setToolTip("Alpaca paper trading: real quotes, paper orders")
        if live is not None and not live.paper:
            self.badge.setText(f"LIVE MONEY · ALPACA · {self.engine.account}")
            self.badge.setObjectName("badgeLive")
            self.badge.setStyleSheet(f"background: {DOWN.name()}; color: white; "
                                     "font-weight: bold; padding: 0 6px")
            self.badge.setToolTip("Orders go to Alpaca with real money")
        self.feed_label = QLabel(self)
        self.feed_label.setObjectName("feedState")
        self.clock_label = QLabel(self)
        self.clock_label.setObjectName("clockLabel")
        self.rate_label = QLabel(self)
        self.rate_label.setObjectName("rateLabel")
        self.lag_label = QLabel(self)
        self.lag_label.setObjectName("lagLabel")
        self.notice = NoticeLabel(self)
        self.notice.setObjectName("notice")
        self.store_label = QLabel(self)  # shown only while trading events cannot be stored
        self.store_label.setObjectName("storeHealth")
        self.store_label.setStyleSheet(f"color: {DOWN.name()}; font-weight: bold")
        self.store_label.hide()
        self._store_available = True
        self.risk_indicator = RiskIndicator(self)
        self.risk_indicator.clicked.connect(lambda: self.focus_dock("risk"))
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.clear_text)
        status.addWidget(self.badge)
        status.addWidget(self.risk_indicator)
        status.addWidget(self.store_label)
        status.addWidget(self.feed_label)
        status.addWidget(self.notice, 1)
        status.addPermanentWidget(self.rate_label)
        status.addPermanentWidget(self.lag_label)
        status.addPermanentWidget(self.clock_label)

    def _show_store_health(self) -> None:
        """Loud while the journal cannot store trading events (entries are blocked)."""
        health = self.engine.store_health
        if health.available == self._store_available:
            if not health.available:
                self.store_label.setToolTip(health.describe())
            return
        self._store_available = health.available
        if health.available:
            self.store_label.hide()
            self.notify("Trading events are being stored again; new entries allowed")
            return
        text = health.describe()
        self.store_label.setText("STORE UNAVAILABLE · entries blocked")
        self.store_label.setToolTip(text)
        self.store_label.show()
        self.alerts.alert("Bracket: trading journal cannot be saved", text)

    def _on_frame(self) -> None:
        if not self._history_shown:  # the engine is up: its stored bars are loaded now
            self._history_shown = True
            self.show_series(self.chart.symbol, self.chart.timeframe)
        self._show_store_health()
        self.watchlist_model.refresh()
        self.trades.refresh()
        self.account.refresh()
        self.chart_trading.refresh()
        self.ladder.refresh()
        self.price_alerts.check()
        self._refresh_risk()
        if self.ticket is not None and self.ticket.isVisible():
            self.ticket.update_preview()
        engine = self.engine
        state = engine.feed.state
        color = _STATE_COLORS.get(state, MUTED).name()
        describe = getattr(engine.feed, "describe", None)
        said = html.escape(describe() if describe is not None else str(state))
        if engine.live is not None and engine.live.status_text():
            said += " · " + html.escape(engine.live.status_text())
        self.feed_label.setText(f"<span style='color:{color}'>●</span> "
                                f"{engine.feed.name} feed: {said}")
        sim = ns_to_datetime(engine.clock.now_ns()).astimezone(DISPLAY_ZONE)
        local = datetime.now().astimezone()
        self.clock_label.setText(f"Exchange {sim:%a %Y-%m-%d %H:%M:%S} ET   "
                                 f"Local {local:%H:%M:%S}")
        rate = self._rate.update(engine.bus.published)
        self.rate_label.setText(f"{rate:,.0f} events/s")
        lag = engine.lag.recent_ms()
        lag_color = (UP if lag < 20 else WARN if lag < 50 else DOWN).name()
        self.lag_label.setText(f"loop lag <span style='color:{lag_color}'>{lag:.1f} ms</span>")

    def _refresh_risk(self) -> None:
        """The Risk panel and the status bar's indicator, once a frame."""
        if not self.risk_panel.refresh():
            return
        risk, kill = self.engine.risk, self.engine.kill_switch
        level, status = worst(risk.statuses, risk.level_of)
        self.risk_indicator.show_state(level, status, kill.active, kill.paused)
        self._update_kill_actions()

    def closeEvent(self, event: QCloseEvent) -> None:
        listeners = self.engine.signals.approval_listeners
        if self._on_setup_awaiting in listeners:
            listeners.remove(self._on_setup_awaiting)
        self.save_layout()
        if self.backtest.built is not None:  # running backtests, optimizations, walk-forwards
            self.backtest_panel().stop_all()  # and challenges are killed, never orphaned
        self.bridge.stop()
        super().closeEvent(event)
        self.closed.emit()

