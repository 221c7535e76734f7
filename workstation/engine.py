"""Wires the engine together: one object that the GUI, the headless runner and
the benchmarks all start the same way, so what a user watches is what runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from workstation.accounts import DEFAULT_ACCOUNT, AccountLock
from workstation.bars import BarEngine
from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import DATABASE_FILE, ConfigError, Settings, SimParams
from workstation.demo import DemoStrategy
from workstation.feeds.base import Backpressure, DataFeed
from workstation.feeds.sim import SimFeed, default_start_ns
from workstation.history import load_limit, with_history
from workstation.live import LiveMarket
from workstation.market import MarketState
from workstation.metrics import LoopLagMonitor
from workstation.model import NS_PER_SECOND, Bar, Instrument, Signal, ns_to_datetime
from workstation.orders import Fill, OrderUpdate
from workstation.portfolio import AccountReset, Portfolio
from workstation.risk.events import KillSwitchChanged, OrderBlocked, RiskLevelChanged
from workstation.risk.monitor import RiskSnapshot
from workstation.risk.wiring import build_risk
from workstation.signals.engine import SignalEngine
from workstation.signals.webhook import AlertServer, BadAlert
from workstation.store import Store, StoreError, open_store
from workstation.store.health import StoreHealth
from workstation.store.journal import (
    Journal,
    Restored,
    replay_recovery,
    restore,
)
from workstation.store.reserve import DiskReserve
from workstation.store.sim_state import SimResume, save_sim_resume
from workstation.store.writer import StoreWriter
from workstation.strategies.context import Services
from workstation.strategies.guard import Watchdog
from workstation.strategies.host import HostOptions, StrategyHost
from workstation.strategies.instances import InstanceError, InstanceSettings, InstanceStatus
from workstation.strategies.loader import plugin_folders as default_plugin_folders
from workstation.trades import TradeTracker

log = logging.getLogger(__name__)

FeedBuilder = Callable[[EventBus, SimClock, Backpressure], DataFeed]


@dataclass(frozen=True, slots=True)
class RunOptions:
    seed: int = 7
    speed: float | None = 1.0  # None: as fast as possible
    start_ns: int | None = None  # None: the latest US equity session open
    duration_s: float | None = None  # simulated seconds; None: until stopped


DEMO_SYMBOL = "NQ"
MARKET_SAVE_INTERVAL_S = 1.0  # wall seconds between saves of the simulated market's state
RESERVE_RETRY_S = 2.0  # while the disk is full, how often to try to make the reserve again


@dataclass(frozen=True, slots=True)
class SimFeedBuilder:
    """Builds the simulated market: from ``options``, or continuing a stored one."""

    instruments: list[tuple[Instrument, SimParams]]
    options: RunOptions
    resume: SimResume | None = None

    def resumed(self, resume: SimResume | None) -> SimFeedBuilder:
        """The same market continued from ``resume``; a --start before it is refused
        (simulated time in a home only moves forward)."""
        if resume is None:
            return self
        start = self.options.start_ns
        if start is not None and start < resume.clock_ns:
            raise ConfigError(
                f"the simulated market of this home is at {_fmt_ns(resume.clock_ns)}; a start "
                f"at {_fmt_ns(start)} would move it back. Leave --start out to continue, or use "
                "a new account (--account NAME) for a market of its own")
        return replace(self, resume=resume)

    def __call__(self, bus: EventBus, clock: SimClock, backpressure: Backpressure) -> SimFeed:
        options = self.options
        start = options.start_ns
        if start is None:
            start = self.resume.clock_ns if self.resume else default_start_ns(time.time_ns())
        duration = None if options.duration_s is None else int(options.duration_s * NS_PER_SECOND)
        return SimFeed(self.instruments, bus, clock, seed=options.seed, start_ns=start,
                       speed=options.speed, duration_ns=duration, backpressure=backpressure,
                       resume_prices=self.resume.prices if self.resume else None)


def sim_feed_builder(settings: Settings, options: RunOptions) -> SimFeedBuilder:
    instruments = [(item.instrument(), item.sim) for item in settings.instruments if item.sim]
    return SimFeedBuilder(instruments, options)


class Engine:
    def __init__(self, settings: Settings, home: Path | None, feed_builder: FeedBuilder,
                 *, timeframes: list[str] | None = None, demo: bool = False,
                 plugin_folders: list[Path] | None = None,
                 strategies: list[InstanceSettings] | None = None,
                 account: str = DEFAULT_ACCOUNT, scratch: bool = False,
                 bars_from_feed: bool = False,
                 live: LiveMarket | None = None) -> None:
        """``account``: the paper account traded. ``scratch``: a run with a market of its
        own (seeded headless and smoke runs): it neither continues nor stores the home's
        simulated market data, so the same seed gives the same records on any home.
        ``bars_from_feed``: the feed publishes closed bars (a bar backtest), none are built
        from ticks. ``live``: a real market (its LiveClock, feed and broker) instead of the
        simulator."""
        self.settings = settings
        self.live = live
        self.account = account
        self.scratch = scratch
        self.instruments: dict[str, Instrument] = settings.instrument_map()
        self.bus = EventBus()
        self.clock = live.clock if live is not None else SimClock()
        self.market = MarketState(self.bus)
        self.bars = BarEngine(self.bus, self.clock, from_ticks=not bars_from_feed)
        self.timeframes = timeframes if timeframes is not None else list(settings.timeframes)
        for instrument in self.instruments.values():
            for timeframe in self.timeframes:
                self.bars.add(instrument, timeframe)
        self.lag = LoopLagMonitor()
        self._home = home
        self.store: Store | None = None
        self.writer: StoreWriter | None = None
        self.store_health = StoreHealth()
        self._account_lock: AccountLock | None = None
        if home is not None:
            self._account_lock = AccountLock(home, account)
            self._account_lock.acquire()
            try:
                self.store = open_store(home / DATABASE_FILE)
            except StoreError:
                self._account_lock.release()
                raise
            self.writer = StoreWriter(self.store, self.bus,
                                      flush_rows=settings.store.flush_rows,
                                      flush_interval_s=settings.store.flush_interval_s,
                                      store_ticks=settings.store.store_ticks and not scratch,
                                      store_bars=not scratch, health=self.store_health)
            if isinstance(feed_builder, SimFeedBuilder) and not scratch:
                # the stored market continued; instruments new to it get days of history
                feed_builder = with_history(self.store, feed_builder, account, self.bars,
                                            self.timeframes)
        self._continues_market = isinstance(feed_builder, SimFeedBuilder) and not scratch
        self.feed = feed_builder(self.bus, self.clock, self._backpressure)
        for symbol, price in self.feed.reference_prices().items():
            self.market.set_reference(symbol, price)
        self._build_trading(settings, demo)
        self._build_strategies(settings, home, plugin_folders)
        self._extra_instances = strategies or []
        self.alerts: AlertServer | None = None
        self._restored_fills: list[Fill] = []
        self._feed_task: asyncio.Task[None] | None = None
        self._market_task: asyncio.Task[None] | None = None
        self._reserve_task: asyncio.Task[None] | None = None
        self._wall_start = 0.0
        self._wall_end: float | None = None
        self._stopped = False
        self.bars_by_timeframe: dict[str, int] = {}
        self._fills: list[Fill] = []
        self._risk_events: list[RiskLevelChanged | KillSwitchChanged | OrderBlocked] = []
        self.bus.subscribe(Bar, self._count_bar, "Engine.count_bar")
        self.bus.subscribe(Fill, self._fills.append, "Engine.report_fill")
        for kind in (RiskLevelChanged, KillSwitchChanged, OrderBlocked):
            self.bus.subscribe(kind, self._risk_events.append, f"Engine.report_{kind.__name__}")

    def _build_trading(self, settings: Settings, demo: bool) -> None:
        """Paper broker, risk gate and router, trade tracking, and the journal."""
        instruments = self.instruments
        margins = {s: settings.margin(i) for s, i in instruments.items()}
        prop = settings.risk.prop
        cash = prop.account_size if prop is not None else settings.paper.starting_cash
        self.portfolio = Portfolio(instruments, margins, cash, self.clock.now_ns())
        if self.live is not None:
            self.broker = self.live.broker(instruments, settings, self.bus, self.clock,
                                           self.portfolio)
        else:
            self.broker = PaperBroker(instruments, settings, self.bus, self.clock,
                                      self.portfolio)
        risk = build_risk(settings, instruments, self.portfolio, self.broker, self.bus,
                          self.clock, self.market)
        self.router, self.risk, self.kill_switch = risk.router, risk.monitor, risk.kill_switch
        risk.gate.store_health = self.store_health
        if self.live is not None:
            self.live.attach(risk.gate)
        self.trades = TradeTracker(instruments, self.portfolio, self.router, self.bus,
                                   self.clock, settings.paper.break_even_r or None)
        self.signals = SignalEngine(settings.signals, instruments, self.bus, self.clock,
                                    self.market, self.bars, self.router, self.portfolio,
                                    self.trades)
        self.journal = Journal(self.bus, self.store, self.writer, self.broker.live_order,
                               self.trades.trade_by_id, risk_state=self._risk_state,
                               account=self.account, health=self.store_health)
        self.journal.on_fatal = self._journal_failed
        if self.store is not None:
            self.journal.reserve = DiskReserve(self.store.path)
        self.restored_history: list[object] = []  # compliance events from earlier runs
        self.restored = Restored()  # what the store held for this account at the start
        self.demo = None
        if demo and DEMO_SYMBOL in instruments:
            self.demo = DemoStrategy(instruments[DEMO_SYMBOL], self.router, self.broker,
                                     self.bus)

    def _build_strategies(self, settings: Settings, home: Path | None,
                          folders: list[Path] | None) -> None:
        options = settings.strategies
        watchdog = Watchdog(options.hard_limit_s)
        watchdog.set_limits(freeze_exit_s=options.freeze_exit_s,
                            max_memory_mb=options.max_memory_mb)
        services = Services(self.bus, self.clock, self.bars, self.router, self.broker,
                            self.portfolio, self.market, self.trades, self.instruments,
                            watchdog, options.max_failures,
                            int(options.slow_callback_ms * 1e6))
        self.strategies = StrategyHost(
            services, self.risk, self.kill_switch,
            folders if folders is not None else default_plugin_folders(home),
            HostOptions(),
            self.store, self.writer)
        self.strategies.account = self.account
        self.strategies.stored_bars = not self.scratch

    async def _start_strategies(self) -> None:
        """Plugins and stored instances (they come back paused unless they resume
        automatically), then instances asked for by settings or the command line that do
        not exist yet. An instance named on the command line runs: asking is consent."""
        host = self.strategies
        await host.start(watch=self.settings.strategies.hot_reload, fills=self._restored_fills)
        asked = {instance.instance_id for instance in self._extra_instances}
        for instance in [*self.settings.strategies.instances, *self._extra_instances]:
            stored = host.contexts.get(instance.instance_id)
            if stored is not None:
                if instance.instance_id in asked and stored.status is InstanceStatus.PAUSED:
                    await host.start_instance(instance.instance_id)
                continue
            try:
                await host.add(instance)
            except InstanceError as exc:
                log.error("%s", exc)
                host.stored_problems.append(str(exc))

    async def _start_alert_endpoint(self) -> None:
        """The optional local endpoint for TradingView-style alerts (127.0.0.1, token)."""
        settings = self.settings.signals.webhook
        if not settings.enabled:
            return
        signals = self.signals

        def submit(signal: Signal) -> dict[str, object]:
            record = signals.submit(signal)
            return {"id": record.id, "state": record.state.value,
                    "reason": record.history[-1].reason}

        def refused(bad: BadAlert) -> None:
            signals.refused_alert(bad.ts_ns, bad.remote, bad.status, bad.message,
                                  bad.body_excerpt)

        self.alerts = AlertServer(settings, self.instruments, submit, self.clock.now_ns, refused)
        try:
            await self.alerts.start()
        except OSError as exc:
            self.alerts = None
            log.error("the alert endpoint could not start on %s:%d: %s", settings.host,
                      settings.port, exc.strerror or exc)

    def _journal_failed(self, reason: str) -> None:
        """Trading events that can never be stored: trading stops, and says why."""
        if not self.kill_switch.active:
            self.kill_switch.activate(reason, automatic=True)

    def _risk_state(self) -> dict[str, Any]:
        kill = self.kill_switch
        return {"kill_switch": {"active": kill.active, "reason": kill.reason,
                                "since": kill.since, "automatic": kill.automatic,
                                "paused": kill.paused},
                "monitor": asdict(self.risk.snapshot()),
                "day": self.portfolio.day_state(),
                # last prices of open positions: a restart values them where they were
                "marks": {p.symbol: p.last_price for p in self.portfolio.positions.values()
                          if p.qty != 0}}

    def _restore_risk(self, state: dict[str, Any] | None) -> None:
        if not state:
            return
        self.kill_switch.restore(**state["kill_switch"])
        for symbol, price in state.get("marks", {}).items():
            position = self.portfolio.positions.get(symbol)
            if position is not None and position.qty != 0:
                position.last_price = price
        day = state.get("day")
        if day is not None:
            self.portfolio.restore_day(day["start_equity"], day["next_roll"],
                                       self.clock.now_ns())
        snapshot = state["monitor"]
        snapshot["trading_days"] = tuple(snapshot["trading_days"])
        self.risk.restore(RiskSnapshot(**snapshot))
        if self.kill_switch.active:
            log.critical("the kill switch is ON (restored): %s", self.kill_switch.reason)

    async def _restore_trading(self) -> None:
        """Rebuild the account from the store: positions from fills, working orders,
        active trades; or open a new account on a fresh store."""
        assert self.store is not None and self.writer is not None
        store, account = self.store, self.account
        now = self.clock.now_ns()
        await self.writer.call(lambda: replay_recovery(store, now))
        found = await self.writer.call(lambda: restore(store, account))
        self.restored = found
        self.restored_history = found.risk_history
        self.signals.restore(found.signals, found.last_signal + 1)
        if found.starting_cash is None:
            cash, now = self.portfolio.starting_cash, self.clock.now_ns()
            await self.writer.call(lambda: self.journal.open_account(cash, now))
            self._restore_risk(found.risk_state)
            self.signals.recheck_verdicts()
            return
        self.journal.epoch = found.epoch
        self.portfolio.starting_cash = found.starting_cash
        self.portfolio.reset(self.clock.now_ns())
        self._restored_fills = found.fills
        for fill in found.fills:
            self.portfolio.apply_fill(fill)
        self.broker.restore(found.working)
        self.broker.remember_done(found.done, found.last_fill)
        self.router.resume_ids([o.intent.client_order_id for o in found.working + found.done])
        self.trades.restore(found.trades, found.last_trade + 1)
        self._restore_risk(found.risk_state)
        self.signals.recheck_verdicts()  # a setup shows the gate's verdict of now
        if found.fills or found.working or found.trades:
            log.info("restored from %s: %s", store.path.name, found.summary())

    async def reset_account(self) -> None:
        """Start over at the starting cash: cancel working orders, forget positions and
        active trades, and open a new account epoch in the store (history is kept)."""
        for order in self.broker.open_orders():
            self.router.cancel(order.order_id, "account reset")
        await self.journal.drain()  # the cancels belong to the old epoch
        if self.writer is not None:
            cash, now = self.portfolio.starting_cash, self.clock.now_ns()
            await self.writer.call(lambda: self.journal.open_account(cash, now))
        self.portfolio.reset(self.clock.now_ns())
        self.trades.clear()
        self.bus.publish(AccountReset(self.clock.now_ns(), self.portfolio.starting_cash))
        log.info("paper account reset to %.2f", self.portfolio.starting_cash)

    def add_instrument(self, instrument: Instrument) -> bool:
        """A symbol found while running (an Alpaca asset): every part shares the instrument
        map, so all see it at once; its bars are built from now on. False if known."""
        if instrument.symbol in self.instruments:
            return False
        self.instruments[instrument.symbol] = instrument
        self.portfolio.margins[instrument.symbol] = self.settings.margin(instrument)
        for timeframe in self.timeframes:
            self.bars.add(instrument, timeframe)
        return True

    def _count_bar(self, bar: Bar) -> None:
        self.bars_by_timeframe[bar.timeframe] = self.bars_by_timeframe.get(bar.timeframe, 0) + 1

    async def _backpressure(self) -> None:
        if self.writer is not None:
            await self.writer.backpressure()

    async def start(self) -> None:
        if self.writer is not None:
            try:
                if not self.scratch:
                    self.bars.seed_history(await self.writer.call(self._load_history))
                if self.live is not None:
                    await self.live.prepare(self)
                await self._restore_trading()
            except BaseException:
                await self._abandon()
                raise
            await self._make_reserve()
            self.writer.start()
            self._reserve_task = asyncio.get_running_loop().create_task(self._watch_reserve())
            if self._continues_market:
                self._market_task = asyncio.get_running_loop().create_task(
                    self._save_market_periodically())
        await self._start_strategies()
        await self._start_alert_endpoint()
        self.journal.start()
        if self.live is not None:
            await self.live.start(self)
        self.lag.start()
        self._wall_start = time.perf_counter()
        self._feed_task = asyncio.get_running_loop().create_task(self._run_feed())

    async def _make_reserve(self) -> None:
        reserve, writer = self.journal.reserve, self.writer
        if reserve is None or writer is None:
            return
        if await writer.call(reserve.make):
            self.journal.space_back()
        elif not self.store_health.low_disk:
            log.critical("the disk holding %s is full: no room for the %d MB space reserve; "
                         "new entries are blocked until space is freed", reserve.path.parent,
                         reserve.size // 2**20)
            self.journal.disk_full("no room for the space reserve")

    async def _watch_reserve(self) -> None:
        """While the disk is full, try to make the space reserve again now and then."""
        while True:
            await asyncio.sleep(RESERVE_RETRY_S)
            if self.store_health.low_disk:
                await self._make_reserve()

    def market_resume(self) -> SimResume:
        """Where the simulated market stands now: its clock and last prices."""
        prices = {}
        for symbol in self.instruments:
            last = self.market.get(symbol).last
            if last:
                prices[symbol] = last
        return SimResume(self.clock.now_ns(), prices)

    def _save_market(self) -> None:
        if self.writer is None or self.store is None or not self._continues_market:
            return
        resume, store = self.market_resume(), self.store

        def write() -> None:
            with store.transaction() as conn:
                save_sim_resume(conn, resume)

        self.writer.submit(write)

    async def _save_market_periodically(self) -> None:
        while True:
            await asyncio.sleep(MARKET_SAVE_INTERVAL_S)
            self._save_market()

    def _load_history(self) -> list[Bar]:
        assert self.store is not None
        bars: list[Bar] = []
        for symbol in self.instruments:
            for timeframe in self.timeframes:
                bars.extend(self.store.load_bars(symbol, timeframe, limit=load_limit(timeframe)))
        if bars:
            log.info("loaded %d stored bars for the charts", len(bars))
        return bars

    async def _run_feed(self) -> None:
        log.info("feed %s started at %s", self.feed.name, _fmt_ns(self.clock.now_ns()))
        try:
            await self.feed.run()
        except Exception:
            log.exception("feed %s failed", self.feed.name)
            raise
        finally:
            self._wall_end = time.perf_counter()
            log.info("feed %s %s: %d ticks, %d quotes", self.feed.name, self.feed.state,
                     self.feed.ticks, self.feed.quotes)

    async def wait_feed(self) -> None:
        if self._feed_task is not None:
            await self._feed_task

    async def _abandon(self) -> None:
        """The account could not be restored: close without writing anything."""
        self._stopped = True
        if self.writer is not None:
            await self.writer.close()
        if self.store is not None:
            self.store.close()
        if self._account_lock is not None:
            self._account_lock.release()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.feed.stop()
        if self._feed_task is not None:
            with contextlib.suppress(Exception):  # already logged by _run_feed
                await self._feed_task
        self.lag.stop()
        if self.live is not None:
            await self.live.stop()
        for task in (self._market_task, self._reserve_task):
            if task is not None:
                task.cancel()
        if self.alerts is not None:
            await self.alerts.stop()
        await self.strategies.stop()
        await self.journal.close()
        self._save_market()
        if self.writer is not None:
            await self.writer.close()
        if self.store is not None:
            self.store.close()
        if self._account_lock is not None:
            self._account_lock.release()

    @property
    def fills(self) -> list[Fill]:
        """Every fill of this run, in order."""
        return self._fills

    def report(self) -> dict[str, Any]:
        """Counts, timings and records; everything but the timings is deterministic."""
        wall = (self._wall_end or time.perf_counter()) - self._wall_start
        events = self.bus.published
        symbols = {}
        for symbol in self.instruments:
            state = self.market.get(symbol)
            symbols[symbol] = {"ticks": state.trades, "last": state.last, "volume": state.volume}
        return {
            "account_name": self.account,
            "feed": self.feed.name,
            "ticks": self.feed.ticks,
            "quotes": self.feed.quotes,
            "bars": sum(self.bars_by_timeframe.values()),
            "bars_by_timeframe": dict(sorted(self.bars_by_timeframe.items())),
            "events": events,
            "clock_end": _fmt_ns(self.clock.now_ns()),
            "symbols": symbols,
            "handler_errors": self.bus.errors,
            "wall_s": round(wall, 3),
            "events_per_s": round(events / wall, 1) if wall > 0 else 0.0,
            "ticks_per_s": round(self.feed.ticks / wall, 1) if wall > 0 else 0.0,
            "loop_lag_p50_ms": round(self.lag.percentile_ms(50), 3),
            "loop_lag_p99_ms": round(self.lag.percentile_ms(99), 3),
            "account": _rounded(asdict(self.portfolio.account())),
            "orders": [_order_record(o) for o in self.broker.all_orders()],
            "fills": [_rounded(asdict(f)) for f in self._fills],
            "trades": [_rounded(t.as_dict()) for t in self.trades.closed],
            "active_trades": [t.trade_id for t in self.trades.active()],
            "signals": self.signals.report(),
            "plugins": {key: value for key, value in self.strategies.report().items()
                        if key in ("loaded", "errors")},
            "strategies": self.strategies.report()["instances"],
            "risk_events": [{"kind": type(e).__name__, **_rounded(asdict(e))}
                            for e in self._risk_events],
        }


def _fmt_ns(ts: int) -> str:
    return ns_to_datetime(ts).isoformat()


def _rounded(record: dict[str, Any]) -> dict[str, Any]:
    """Report values: floats to 6 decimals (no 0.30000000000000004 noise)."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in record.items()}


def _order_record(order: OrderUpdate) -> dict[str, Any]:
    return _rounded({"order_id": order.order_id, "client_order_id": order.client_order_id,
                     "symbol": order.symbol, "side": order.side, "type": order.type,
                     "qty": order.qty, "filled_qty": order.filled_qty,
                     "avg_fill_price": order.avg_fill_price, "limit_price": order.limit_price,
                     "stop_price": order.stop_price, "status": order.status,
                     "reason": order.reason, "source": order.intent.source})
