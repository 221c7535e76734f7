"""The strategy host: plugin catalog, instances, event dispatch, reloads, persistence.

Market and order events reach instances through one bus subscription each; the
host looks up who is interested (a dict per symbol and timeframe) so that a
hundred idle instances cost nothing per tick. Lifecycle changes (add, start,
pause, stop, new settings, a reloaded file) are async because a warm-up may
need bars from the store, read on the writer thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from workstation.model import Bar, Tick
from workstation.orders import Fill, OrderUpdate
from workstation.risk.events import KillSwitchChanged
from workstation.risk.kill_switch import KillSwitch
from workstation.risk.monitor import RiskMonitor
from workstation.risk.settings import StrategyLimits
from workstation.sessions import get_schedule
from workstation.store.database import Store
from workstation.store.writer import StoreWriter
from workstation.strategies import freeze
from workstation.strategies import instances as repo
from workstation.strategies.context import Services, StrategyContext
from workstation.strategies.instances import (
    InstanceError,
    InstanceSettings,
    InstanceStatus,
    StoredInstance,
    check_instance,
)
from workstation.strategies.loader import (
    Catalog,
    PluginProblem,
    StrategyClass,
    load_file,
    plugin_files,
)
from workstation.strategies.watcher import FolderWatcher
from workstation.strategy import Strategy

log = logging.getLogger(__name__)


class OnStop(StrEnum):
    """What stopping an instance does with what it holds."""

    FLATTEN = "flatten"  # cancel its working orders, close its positions at market
    KEEP = "keep"  # positions and every working order stay
    CANCEL = "cancel"  # cancel its working entries; positions keep their protective legs

    def describe(self) -> str:
        return {"flatten": "its orders canceled and positions closed",
                "keep": "its positions and orders kept",
                "cancel": "its entries canceled; positions kept with their stops"}[self.value]


Listener = Callable[[], None]


@dataclass(frozen=True, slots=True)
class HostOptions:
    """How the plugin folders are watched (the plugin-code limits live in Services)."""

    watch_interval_s: float = 0.25
    reload_debounce_s: float = 0.3


class StrategyHost:
    def __init__(self, services: Services, risk: RiskMonitor, kill_switch: KillSwitch,
                 folders: list[Path], options: HostOptions, store: Store | None = None,
                 writer: StoreWriter | None = None) -> None:
        self.services = services
        self.folders = folders
        self.options = options
        self.catalog = Catalog()
        self.contexts: dict[str, StrategyContext] = {}
        self.stored_problems: list[str] = []
        self._risk = risk
        self._kill_switch = kill_switch
        self._store = store
        self._writer = writer
        self.account = "Paper"  # whose instances these are (the engine sets its account)
        self.stored_bars = True  # warm up from the home's stored bars (not in scratch runs)
        self._by_series: dict[tuple[str, str], list[StrategyContext]] = {}
        self._by_symbol_ticks: dict[str, list[StrategyContext]] = {}
        self._by_symbol: dict[str, list[StrategyContext]] = {}
        self._session_timers: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._watcher = FolderWatcher(folders, options.watch_interval_s,
                                      options.reload_debounce_s, self._on_files_changed)
        bus = services.bus
        bus.subscribe(Bar, self.on_bar, "StrategyHost.on_bar")
        bus.subscribe(Fill, self.on_fill, "StrategyHost.on_fill")
        bus.subscribe(OrderUpdate, self.on_order_update, "StrategyHost.on_order_update")
        bus.subscribe(KillSwitchChanged, self.on_kill_switch, "StrategyHost.on_kill_switch")
        self._ticks_subscribed = False
        self._sessions_armed = False
        self._restored: dict[str, dict[str, float]] = {}
        self._frozen: dict[str, str] = {}  # instances a freeze ended the last run in
        if store is not None:
            database = store.path
            services.watchdog.database = database
            services.watchdog.record_freeze = lambda iid, why: freeze.record(
                database, self.account, iid, why)

    # -- start and stop --------------------------------------------------------------------
    def load_plugins(self) -> None:
        self.services.watchdog.start()
        self.catalog.load(plugin_files(self.folders), self.services.watchdog)
        for problem in self.catalog.problems:
            log.error("plugin %s", problem)
        if self.catalog.strategies:
            log.info("strategies loaded: %s", ", ".join(self.catalog.names()))
        self._remember_files()

    async def start(self, *, watch: bool = True, fills: Iterable[Fill] = ()) -> None:
        """Load plugins, bring back stored instances in their stored status (and what they
        hold, from the account's stored fills), watch the plugin folders."""
        self._restored = holdings_by_source(fills)
        if self._store is not None:
            self._frozen = freeze.take(self._store.path, self.account)
        self.load_plugins()
        if self._writer is not None:
            stored, problems = await self._writer.call(lambda: self._read(repo.load_instances))
            self.stored_problems = problems
            for problem in problems:
                log.error("%s", problem)
            for item in stored:
                await self._restore(item)
        if watch:
            self._watcher.start()
        self._changed()

    async def stop(self) -> None:
        """Shutdown: on_stop for every active instance; their stored status stays, so a
        restart brings them back as they were."""
        self._watcher.stop()
        for ctx in self.contexts.values():
            if ctx.active:
                ctx.call("on_stop")
                self._save_state(ctx)
                self._record_stop(ctx)
        self.services.watchdog.stop()

    async def _restore(self, item: StoredInstance) -> None:
        settings = item.settings
        offered = self.catalog.strategies.get(settings.strategy)
        if offered is None:
            ctx = self._missing(settings, item.state)
            ctx.status, ctx.reason = InstanceStatus.ERROR, (
                f"strategy {settings.strategy!r} is not loaded (see the plugin errors)")
            ctx.wanted = item.status
            return
        ctx = self._new_context(settings, offered, item.state)
        self._register_limits(settings)
        frozen = self._frozen.pop(settings.instance_id, None)
        if frozen is not None:
            log.critical("strategy instance %s was disabled: %s", settings.instance_id, frozen)
            self._set_status(ctx, InstanceStatus.ERROR, frozen)
        elif item.status is InstanceStatus.RUNNING and not settings.resume_automatically:
            await self._activate(ctx, InstanceStatus.PAUSED)
            if ctx.active:
                self._set_status(ctx, InstanceStatus.PAUSED, "restored paused after a restart "
                                 "(tick 'resume automatically' to have it resume)")
        elif item.status in (InstanceStatus.RUNNING, InstanceStatus.PAUSED):
            await self._activate(ctx, item.status)
        else:
            ctx.status, ctx.reason = item.status, item.reason
        self._changed()

    def _missing(self, settings: InstanceSettings, state: dict[str, Any]) -> StrategyContext:
        """A stored instance whose strategy is not loaded: kept, shown, not run."""
        placeholder = StrategyClass(settings.strategy, Strategy, Path("?"), "", 0)
        return self._new_context(settings, placeholder, state)

    def _new_context(self, settings: InstanceSettings, offered: StrategyClass,
                     state: dict[str, Any]) -> StrategyContext:
        ctx = StrategyContext(self.services, settings, offered, state)
        ctx.positions = self._restored.pop(settings.instance_id, {})
        ctx.on_disabled.append(self._disabled)
        self.contexts[settings.instance_id] = ctx
        return ctx

    # -- managing instances ----------------------------------------------------------------
    def validate(self, settings: InstanceSettings, *,
                 drop_unknown: bool = False) -> InstanceSettings:
        """Check an instance against its strategy and the instruments; fill default params.
        ``drop_unknown``: forget parameters the strategy no longer declares (a new version
        of its file) instead of refusing them."""
        # settings built with model_copy(update=...) skip pydantic's checks: check them all
        settings = InstanceSettings.from_dict(settings.model_dump())
        offered = self.catalog.strategies.get(settings.strategy)
        return check_instance(settings, offered.cls if offered else None, self.catalog.names(),
                              self.services.instruments, drop_unknown=drop_unknown)

    async def add(self, settings: InstanceSettings, *, start: bool = True) -> StrategyContext:
        if settings.instance_id in self.contexts:
            raise InstanceError(f"strategy instance {settings.instance_id} already exists")
        settings = self.validate(settings)
        ctx = self._new_context(settings, self.catalog.strategies[settings.strategy], {})
        self._register_limits(settings)
        frozen = self._frozen.pop(settings.instance_id, None)
        if frozen is not None:  # it froze the last run before the store had it
            log.critical("strategy instance %s was disabled: %s", settings.instance_id, frozen)
            ctx.status, ctx.reason = InstanceStatus.ERROR, frozen
            start = False
        self._persist(ctx)
        if start:
            await self._activate(ctx, InstanceStatus.RUNNING)
        self._changed()
        return ctx

    async def start_instance(self, instance_id: str) -> None:
        ctx = self._get(instance_id)
        paused_by_risk = self._kill_switch.paused.get(instance_id)
        if paused_by_risk:
            raise InstanceError(f"{instance_id} is paused by the risk rules ({paused_by_risk}); "
                                "resume it in the Risk panel")
        if ctx.status is InstanceStatus.PAUSED:
            self._set_status(ctx, InstanceStatus.RUNNING, "resumed")
        elif ctx.status is not InstanceStatus.RUNNING:
            offered = self.catalog.strategies.get(ctx.settings.strategy)
            if offered is None:
                raise InstanceError(f"strategy {ctx.settings.strategy!r} is not loaded")
            ctx.offered = offered
            ctx.failing.clear()
            await self._activate(ctx, InstanceStatus.RUNNING)
        self._changed()

    def pause_instance(self, instance_id: str) -> None:
        ctx = self._get(instance_id)
        if ctx.status is InstanceStatus.RUNNING:
            self._set_status(ctx, InstanceStatus.PAUSED, "paused by the user")
            self._changed()

    def holds(self, instance_id: str) -> bool:
        """Whether the instance has a position or working orders (a stop should ask what
        becomes of them)."""
        ctx = self._get(instance_id)
        return bool(ctx.positions) or bool(ctx.working_orders(None))

    def stop_instance(self, instance_id: str, reason: str = "stopped by the user",
                      on_position: OnStop = OnStop.CANCEL) -> None:
        """Stop calling the plugin. What it holds: ``FLATTEN`` cancels its orders and closes
        its positions; ``KEEP`` leaves positions and every working order; ``CANCEL`` (the
        default, and what a headless run does) cancels its working entries and keeps its
        positions with their protective bracket legs."""
        ctx = self._get(instance_id)
        if ctx.active:
            self._deactivate(ctx)
        if on_position is OnStop.FLATTEN:
            ctx.flatten(None)
        elif on_position is OnStop.CANCEL:
            ctx.cancel_entries(f"{instance_id} stopped")
        self._set_status(ctx, InstanceStatus.STOPPED, f"{reason} ({on_position.describe()})")
        self._changed()

    async def update_settings(self, settings: InstanceSettings) -> None:
        """New parameters or limits: a running instance is stopped and started with them
        (its state is kept)."""
        ctx = self._get(settings.instance_id)
        settings = self.validate(settings)
        was = ctx.status
        if ctx.active:
            self._deactivate(ctx)
        ctx.settings = settings
        ctx.symbols, ctx.timeframes = settings.symbols, settings.timeframes
        self._register_limits(settings)
        self._persist(ctx)
        if was in (InstanceStatus.RUNNING, InstanceStatus.PAUSED):
            await self._activate(ctx, was)
        ctx.log.info("settings changed: %s", _describe(settings))
        self._changed()

    def remove(self, instance_id: str) -> None:
        ctx = self._get(instance_id)
        if ctx.active:
            self._deactivate(ctx)
        del self.contexts[instance_id]
        if self._writer is not None:
            self._writer.submit(lambda: self._write(repo.delete_instance, instance_id))
        self._changed()

    def _get(self, instance_id: str) -> StrategyContext:
        try:
            return self.contexts[instance_id]
        except KeyError:
            raise InstanceError(f"no strategy instance {instance_id!r}") from None

    # -- activation ------------------------------------------------------------------------
    async def _activate(self, ctx: StrategyContext, status: InstanceStatus) -> None:
        """Create the strategy object, call on_start, replay the warm-up bars, go live."""
        services = self.services
        for symbol in ctx.symbols:
            for timeframe in ctx.timeframes:
                services.bars.add(services.instruments[symbol], timeframe)
        try:
            settings = self.validate(ctx.settings, drop_unknown=True)
        except InstanceError as exc:
            ctx.wanted = status
            self._set_status(ctx, InstanceStatus.ERROR, str(exc))
            return
        if settings != ctx.settings:
            ctx.settings = settings
            self._persist(ctx)
        ctx.strategy = strategy = ctx.offered.cls(ctx, dict(settings.params))
        ctx.status, ctx.reason = status, ""
        ctx.failing.clear()
        count = ctx.warmup_count(strategy)
        if count is None:
            return
        warmup = await self._warmup_bars(ctx, count)
        with self.services.bus.deferring():
            if ctx.call("on_start") and warmup:
                ctx.warming_up = True
                for bar in warmup:
                    if not ctx.call("on_bar", bar) or not ctx.active:
                        break
                ctx.warming_up = False
        if not ctx.active:  # disabled during start or warm-up
            return
        self._index()
        self._persist(ctx)
        self._save_state(ctx)
        self._record_run(ctx)
        ctx.log.info("%s %s v%s on %s %s (%d warm-up bars)", status.value, ctx.offered.name,
                     ctx.offered.version, ",".join(ctx.symbols), ",".join(ctx.timeframes),
                     len(warmup))

    def _deactivate(self, ctx: StrategyContext) -> None:
        ctx.call("on_stop")
        self._save_state(ctx)
        self._record_stop(ctx)
        ctx.strategy = None
        ctx.status = InstanceStatus.STOPPED
        self._index()

    async def _warmup_bars(self, ctx: StrategyContext, count: int) -> list[Bar]:
        if count <= 0:
            return []
        bars: list[Bar] = []
        for symbol in ctx.symbols:
            for timeframe in ctx.timeframes:
                series = self.services.bars.history(symbol, timeframe)[-count:]
                if (len(series) < count and self.stored_bars and self._writer is not None
                        and self._store is not None):
                    stored = await self._writer.call(
                        lambda s=symbol, t=timeframe, db=self._store: db.load_bars(s, t,
                                                                                limit=count))
                    first = series[0].ts if series else None
                    older = [b for b in stored if first is None or b.ts < first]
                    series = (older + series)[-count:]
                bars.extend(series)
        bars.sort(key=lambda b: (b.end, b.ts))
        return bars

    def _index(self) -> None:
        """Who hears which bars and ticks: rebuilt on every lifecycle change."""
        by_series: dict[tuple[str, str], list[StrategyContext]] = {}
        by_symbol: dict[str, list[StrategyContext]] = {}
        ticks: dict[str, list[StrategyContext]] = {}
        for ctx in self.contexts.values():
            if not ctx.active:
                continue
            for symbol in ctx.symbols:
                by_symbol.setdefault(symbol, []).append(ctx)
                if ctx.offered.cls.wants_ticks:
                    ticks.setdefault(symbol, []).append(ctx)
                for timeframe in ctx.timeframes:
                    by_series.setdefault((symbol, timeframe), []).append(ctx)
        self._by_series, self._by_symbol, self._by_symbol_ticks = by_series, by_symbol, ticks
        if ticks and not self._ticks_subscribed:
            self.services.bus.subscribe(Tick, self.on_tick, "StrategyHost.on_tick")
        elif not ticks and self._ticks_subscribed:
            self.services.bus.unsubscribe(Tick, self.on_tick)
        self._ticks_subscribed = bool(ticks)
        if self._sessions_armed:
            self._plan_sessions(set(by_symbol))

    # -- events ----------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        if not self._sessions_armed:  # the clock has a real time once bars arrive
            self._sessions_armed = True
            self._plan_sessions(set(self._by_symbol))
        listeners = self._by_series.get((bar.symbol, bar.timeframe))
        if listeners:
            for ctx in listeners:
                if ctx.active:
                    ctx.call("on_bar", bar)
                    self._save_state(ctx)

    def on_tick(self, tick: Tick) -> None:
        listeners = self._by_symbol_ticks.get(tick.symbol)
        if listeners:
            for ctx in listeners:
                if ctx.active:
                    ctx.call("on_tick", tick)

    def on_fill(self, fill: Fill) -> None:
        if self.services.portfolio.position(fill.symbol) == 0:  # flat: nobody holds it now
            for other in self.contexts.values():
                other.positions.pop(fill.symbol, None)
        ctx = self.contexts.get(fill.source)
        if ctx is None:
            return
        if self.services.portfolio.position(fill.symbol) != 0:
            ctx.on_fill_position(fill.symbol, fill.signed_qty)
        if ctx.active:
            self.services.bus.defer(lambda: self._deliver_fill(ctx, fill))
        self._changed()

    def _deliver_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """on_fill once the broker has finished with the fill (its bracket legs placed):
        whatever the plugin does then, the position is protected."""
        if ctx.active:
            ctx.call("on_fill", fill)
            self._save_state(ctx)

    def on_order_update(self, update: OrderUpdate) -> None:
        ctx = self.contexts.get(update.intent.source)
        if ctx is not None and ctx.active:
            self.services.bus.defer(lambda: self._deliver_update(ctx, update))

    @staticmethod
    def _deliver_update(ctx: StrategyContext, update: OrderUpdate) -> None:
        if ctx.active:
            ctx.call("on_order_update", update)

    def on_kill_switch(self, event: KillSwitchChanged) -> None:
        """The risk monitor paused an instance (its daily loss or drawdown)."""
        ctx = self.contexts.get(event.scope)
        if ctx is None:
            return
        if event.active and ctx.status is InstanceStatus.RUNNING:
            self._set_status(ctx, InstanceStatus.PAUSED, f"risk: {event.reason}")
        elif not event.active and ctx.status is InstanceStatus.PAUSED:
            self._set_status(ctx, InstanceStatus.RUNNING, event.reason)
        self._changed()

    def _plan_sessions(self, symbols: set[str]) -> None:
        """A timer at each subscribed symbol's next session open or close."""
        for symbol in list(self._session_timers):
            if symbol not in symbols:
                self._session_timers.pop(symbol).cancel()
        for symbol in symbols - set(self._session_timers):
            self._arm_session_timer(symbol)

    def _arm_session_timer(self, symbol: str) -> None:
        clock = self.services.clock
        now = clock.now_ns()
        schedule = get_schedule(self.services.instruments[symbol].schedule)
        session = schedule.next_session(now)
        opening = session.open_ns > now
        at = session.open_ns if opening else session.close_ns

        def fire() -> None:
            self._session_timers.pop(symbol, None)
            for ctx in list(self._by_symbol.get(symbol, ())):
                if ctx.active:
                    with self.services.bus.deferring():
                        ctx.call("on_session_open" if opening else "on_session_close", symbol)
                    self._save_state(ctx)
            if symbol in self._by_symbol:
                self._arm_session_timer(symbol)

        self._session_timers[symbol] = clock.call_at(at, fire)

    # -- reloading -------------------------------------------------------------------------
    async def _on_files_changed(self, changed: list[Path], removed: list[Path]) -> None:
        for path in removed:
            await self.drop_file(path)
        for path in changed:
            await self.reload_file(path)

    async def reload_file(self, path: Path) -> None:
        """Import the new version and validate it before replacing the old one; running
        instances of its strategies restart with their state."""
        loaded = load_file(path, self.services.watchdog)
        self.catalog.replace(loaded)
        for problem in loaded.problems:
            log.error("plugin %s", problem)
        self._remember_files()
        if not loaded.classes:
            self._changed()
            return
        log.info("plugin %s reloaded: %s", path.name,
                 ", ".join(c.name for c in loaded.classes))
        names = {c.name: c for c in loaded.classes}
        for ctx in list(self.contexts.values()):
            offered = self.catalog.strategies.get(ctx.settings.strategy)
            if offered is None or offered.path != path:
                continue
            if offered is not names.get(ctx.settings.strategy):
                continue
            await self._swap(ctx, offered)
        self._changed()

    async def _swap(self, ctx: StrategyContext, offered: StrategyClass) -> None:
        held = {s: q for s, q in ctx.positions.items() if q}
        if held:
            ctx.log.warning("reloading with open positions (%s); their orders stay working",
                            ", ".join(f"{q:+g} {s}" for s, q in held.items()))
        status = ctx.status
        if ctx.active:
            self._deactivate(ctx)
        ctx.offered = offered
        wanted = ctx.wanted
        if status in (InstanceStatus.RUNNING, InstanceStatus.PAUSED):
            await self._activate(ctx, status)
        elif status is InstanceStatus.ERROR and wanted is not None:
            ctx.wanted = None  # its plugin failed to load before: now it can run
            await self._activate(ctx, wanted)
        else:
            ctx.status = status

    async def drop_file(self, path: Path) -> None:
        plugin = self.catalog.files.get(path)
        gone = [c.name for c in plugin.classes] if plugin is not None else []
        self.catalog.remove(path)
        for ctx in self.contexts.values():
            if ctx.settings.strategy in gone and ctx.active:
                self._deactivate(ctx)
                self._set_status(ctx, InstanceStatus.ERROR,
                                 f"plugin file {path.name} was removed")
        self._changed()

    # -- storage ---------------------------------------------------------------------------
    def _read(self, query: Callable[..., Any]) -> Any:
        """A read of this account's instances (``query(conn, account)``)."""
        assert self._store is not None
        with self._store.transaction() as conn:
            return query(conn, self.account)

    def _write(self, command: Callable[..., Any], *args: Any) -> None:
        """A write of one of this account's instances (``command(conn, account, ...)``)."""
        assert self._store is not None
        with self._store.transaction() as conn:
            command(conn, self.account, *args)

    def _persist(self, ctx: StrategyContext) -> None:
        if self._writer is None:
            return
        settings, status, reason = ctx.settings, ctx.status, ctx.reason
        now = self.services.clock.now_ns()
        self._writer.submit(lambda: self._write(repo.save_instance, settings, status, reason,
                                                now))

    def tick_symbols(self) -> list[str]:
        """Symbols that a running instance wants every trade of."""
        return list(self._by_symbol_ticks)

    def _save_state(self, ctx: StrategyContext) -> None:
        if self._writer is None:  # no store (a backtest): nothing to save, nothing to encode
            return
        encoded = ctx.state_to_save()
        if encoded is not None:
            instance_id = ctx.instance_id
            self._writer.submit(lambda: self._write(repo.save_state, instance_id, encoded))

    def _record_run(self, ctx: StrategyContext) -> None:
        if self._writer is None:
            return
        offered, now = ctx.offered, self.services.clock.now_ns()
        self._writer.submit(lambda: self._write(
            repo.record_run, ctx.instance_id, offered.name, offered.version,
            offered.path.name, offered.sha256, now))

    def _record_stop(self, ctx: StrategyContext) -> None:
        if self._writer is not None:
            instance_id, now = ctx.instance_id, self.services.clock.now_ns()
            self._writer.submit(lambda: self._write(repo.record_stop, instance_id, now))

    def _remember_files(self) -> None:
        if self._writer is None:
            return
        now = self.services.clock.now_ns()
        files = [(p, f.sha256) for p, f in self.catalog.files.items() if f.classes]

        def write() -> None:
            assert self._store is not None
            with self._store.transaction() as conn:
                for path, sha in files:
                    before = repo.remember_file(conn, str(path.name), sha, now)
                    if before is not None:
                        log.warning("plugin %s changed since it last ran (sha256 %s... -> "
                                    "%s...)", path.name, before[:12], sha[:12])

        self._writer.submit(write)

    def _set_status(self, ctx: StrategyContext, status: InstanceStatus, reason: str) -> None:
        ctx.status, ctx.reason = status, reason
        ctx.log.info("%s: %s", status.value, reason)
        self._persist(ctx)

    def _disabled(self, ctx: StrategyContext) -> None:
        self._index()
        self._persist(ctx)
        self._record_stop(ctx)
        self._changed()

    def _register_limits(self, settings: InstanceSettings) -> None:
        """The account-wide monitor tracks the instance's allocation and daily loss."""
        if settings.allocation is not None or settings.risk.max_daily_loss is not None:
            self._risk.set_strategy_limits(settings.instance_id, StrategyLimits(
                allocation=settings.allocation, daily_loss=settings.risk.max_daily_loss))

    # -- reading ---------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Called after any change an instance list would show (UI refresh)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a display's failure must not break the engine's handlers
                log.exception("strategy host listener %r failed", listener)

    @property
    def problems(self) -> list[PluginProblem]:
        return self.catalog.problems

    def pnl_today(self, instance_id: str) -> float:
        """Realized today (after commissions) plus the open positions' unrealized P&L."""
        ctx = self._get(instance_id)
        realized = self._risk.strategy_pnl.get(instance_id, 0.0) - \
            self._risk.strategy_day_start.get(instance_id, 0.0)
        portfolio = self.services.portfolio
        unrealized = 0.0
        for symbol, qty in ctx.positions.items():
            position = portfolio.positions.get(symbol)
            if position is not None and position.qty:
                unrealized += portfolio.unrealized(position) * qty / position.qty
        return realized + unrealized

    def report(self) -> dict[str, Any]:
        return {
            "loaded": self.catalog.names(),
            "errors": [p.as_dict() for p in self.catalog.problems],
            "instances": [{
                "id": ctx.instance_id, "strategy": ctx.settings.strategy,
                "version": ctx.offered.version, "sha256": ctx.offered.sha256,
                "status": ctx.status.value, "reason": ctx.reason,
                "signals": ctx.signals, "orders": ctx.orders_sent,
                "refused": ctx.orders_refused, "errors": ctx.errors,
                "bars": ctx.stats["on_bar"].calls,
            } for ctx in self.contexts.values()],
        }


def holdings_by_source(fills: Iterable[Fill]) -> dict[str, dict[str, float]]:
    """What each source holds after these fills; a symbol the account is flat in is held by
    nobody (a manual flatten closes what a strategy opened)."""
    account: dict[str, float] = {}
    held: dict[str, dict[str, float]] = {}
    for fill in fills:
        account[fill.symbol] = account.get(fill.symbol, 0.0) + fill.signed_qty
        if abs(account[fill.symbol]) < 1e-9:
            for holdings in held.values():
                holdings.pop(fill.symbol, None)
            continue
        mine = held.setdefault(fill.source, {})
        qty = mine.get(fill.symbol, 0.0) + fill.signed_qty
        if abs(qty) < 1e-9:
            mine.pop(fill.symbol, None)
        else:
            mine[fill.symbol] = qty
    return held


def _describe(settings: InstanceSettings) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.params.items()) or "no parameters"
