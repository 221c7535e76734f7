"""Run one backtest: the live engine (strategy host, signal engine, risk gate, paper
broker, portfolio, trade tracker) on a SimClock driven by historical data.

A backtest never touches a paper account: it runs with no store (nothing of it is
written until it has finished, and then only as a run record), with the home's
settings and plugins, its fill model and costs from ``BacktestSettings``. Signals that
a strategy emits are approved automatically: nobody is there to click. The same data
and settings give the same run (invariant 6).
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workstation.backtest.data import (
    BarData,
    DataProblem,
    file_bars,
    sessions_between,
    sim_bars,
    store_bars,
)
from workstation.backtest.feed import BarFeed, Progress
from workstation.backtest.run import MAX_CURVE_POINTS, BacktestRun, BacktestSettings
from workstation.backtest.trade_bars import provenance
from workstation.config import DATABASE_FILE, FillModel, Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed, ticks_from_store
from workstation.model import Bar
from workstation.strategies.instances import InstanceSettings, InstanceStatus
from workstation.strategies.loader import plugin_folders
from workstation.trades import TradeClosed, TradeRecord

if TYPE_CHECKING:
    from workstation.store import Store

log = logging.getLogger(__name__)

SOURCES = ("sim", "store")  # or a file path


class BacktestCanceled(Exception):
    """Canceled before the end: nothing of the run is kept."""


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """What to test: one strategy instance on one timeframe over a date range."""

    instance: InstanceSettings
    timeframe: str
    first: date
    last: date
    source: str = "sim"  # "sim", "store" (imported or recorded bars, or ticks), or a file
    settings: BacktestSettings = field(default_factory=BacktestSettings)
    ticks: bool = False  # with source "store": replay stored ticks (bars built as live)


def backtest_settings(settings: Settings, options: BacktestSettings) -> Settings:
    """The home's settings with the backtest's fill model and costs, no hot reload, and
    signals approved automatically."""
    fills = FillModel(slippage="fixed" if options.slippage_ticks else "none",
                      slippage_ticks=options.slippage_ticks or 1,
                      slippage_bps=options.slippage_bps, typical_spread_ticks=0,
                      bar_market_fill=options.market_fill, commission=options.commission)
    margins = {s: settings.paper.fill_model(s).margin for s in settings.instrument_map()}
    per_instrument = {s: fills.model_copy(update={"margin": m})
                      for s, m in margins.items() if m is not None}
    paper = settings.paper.model_copy(update={
        "starting_cash": options.starting_cash, "seed": options.seed, "fills": fills,
        "per_instrument": per_instrument,
        "break_even_r": (settings.paper.break_even_r if options.break_even_r is None
                         else options.break_even_r)})
    return settings.model_copy(update={
        "paper": paper,
        "strategies": settings.strategies.model_copy(update={"hot_reload": False,
                                                             "instances": []}),
        "signals": settings.signals.model_copy(update={"auto_approve": ("*",)})})


class Backtest:
    def __init__(self, settings: Settings, home: Path | None, spec: BacktestSpec, *,
                 progress: Progress | None = None,
                 plugin_dirs: list[Path] | None = None,
                 series: list[BarData] | None = None) -> None:
        """``series``: bars given directly (benchmarks, tests) instead of the spec's source."""
        if spec.settings.break_even_r is None:  # the run records the value it was tested with
            spec = replace(spec, settings=replace(spec.settings,
                                                  break_even_r=settings.paper.break_even_r))
        self.spec = spec
        self.home = home
        self.settings = backtest_settings(settings, spec.settings)
        self.instruments = self.settings.instrument_map()
        self._progress = progress
        self._plugin_dirs = plugin_dirs if plugin_dirs is not None else plugin_folders(home)
        self._canceled = False
        self._engine: Engine | None = None
        self._equity_now: Callable[[], float] = lambda: 0.0  # the engine's, once built
        self._equity = array("d")  # at each bar's close: 8 bytes a bar, not a float object
        self._equity_ts = array("q")
        self._trades: list[TradeRecord] = []  # every one (the tracker keeps the latest only)
        self.series: list[BarData] = series or []
        self._given = series is not None
        self.feed_seconds = 0.0  # the feed loop's own time: what bars/s is measured on
        self._tick_store: Store | None = None  # the store stored ticks replay from

    # -- data ------------------------------------------------------------------------------
    def load(self, symbols: tuple[str, ...]) -> list[BarData]:
        """The bars of every symbol (or DataProblem saying what is missing where)."""
        spec = self.spec
        unknown = [s for s in symbols if s not in self.instruments]
        if unknown:
            raise DataProblem(f"unknown instrument {', '.join(unknown)}: add it to "
                              "[[instruments]] in settings.toml")
        series = []
        for symbol in symbols:
            item = next(i for i in self.settings.instruments if i.symbol == symbol)
            instrument = self.instruments[symbol]
            if spec.source == "sim":
                if item.sim is None:
                    raise DataProblem(f"{symbol} has no simulated market ([instruments.sim])")
                series.append(sim_bars(instrument, item.sim, spec.timeframe, spec.first,
                                       spec.last, seed=spec.settings.seed))
            elif spec.source == "store":
                series.append(self._from_store(lambda store, i=instrument: store_bars(
                    store, i, spec.timeframe, spec.first, spec.last)))
            else:
                series.append(file_bars(Path(spec.source), instrument, spec.timeframe,
                                        spec.first, spec.last))
        return series

    def _from_store(self, read: Callable[[Store], BarData]) -> BarData:
        store = self._open_store("bars")
        try:
            return read(store)
        finally:
            store.close()

    def _open_store(self, what: str) -> Store:
        """The home's store, read-only: where stored ``what`` (bars, ticks) come from."""
        from workstation.store import open_store

        if self.home is None or not (self.home / DATABASE_FILE).exists():
            raise DataProblem(f"no store to read {what} from: import some with "
                              "`bracket import`, or use --data sim")
        return open_store(self.home / DATABASE_FILE, write=False)

    # -- running ---------------------------------------------------------------------------
    def cancel(self) -> None:
        self._canceled = True
        if self._engine is not None:
            self._engine.feed.stop()

    async def run(self) -> BacktestRun:
        spec = self.spec
        started = time.perf_counter()
        instance = spec.instance
        symbols = instance.symbols or self._default_symbols(instance.strategy)
        instance = instance.model_copy(update={"symbols": tuple(symbols),
                                               "timeframes": (spec.timeframe,)})
        if spec.ticks:
            engine = self._tick_engine(instance)
        else:
            if not self._given:
                self.series = self.load(tuple(symbols))
            engine = self._bar_engine(instance)
        self._engine = engine
        self._equity_now = engine.portfolio.equity
        engine.trades.excursions = False  # no Trades panel to draw them, no journal to keep
        engine.bus.subscribe(TradeClosed, lambda event: self._trades.append(event.record),
                             "Backtest.trades")
        await engine.start()
        ctx = engine.strategies.contexts.get(instance.instance_id)
        try:
            if ctx is None or not ctx.active:
                reason = ctx.reason if ctx is not None else "it did not start"
                raise DataProblem(f"strategy {instance.strategy!r} could not start: {reason}")
            feed_started = time.perf_counter()
            await engine.wait_feed()
            self.feed_seconds = time.perf_counter() - feed_started
        finally:
            await engine.stop()
            if self._tick_store is not None:
                self._tick_store.close()
        if self._canceled:
            raise BacktestCanceled("backtest canceled")
        return self._result(engine, instance, time.perf_counter() - started)

    def _default_symbols(self, strategy: str) -> tuple[str, ...]:
        from workstation.strategies.guard import Watchdog
        from workstation.strategies.loader import Catalog, plugin_files

        catalog = Catalog()
        catalog.load(plugin_files(self._plugin_dirs), Watchdog(1.0))
        offered = catalog.strategies.get(strategy)
        if offered is None:
            raise DataProblem(f"unknown strategy {strategy!r}; loaded: "
                              f"{', '.join(catalog.names()) or 'none'}")
        return tuple(offered.cls.symbols)

    def _bar_engine(self, instance: InstanceSettings) -> Engine:
        def build(bus, clock, _backpressure):  # noqa: ANN001, ANN202 - FeedBuilder
            return BarFeed(self.series, bus, clock, tick_symbols=self._tick_symbols,
                           progress=self._report, after_bar=self._record)

        return Engine(self.settings, None, build, timeframes=[], strategies=[instance],
                      plugin_folders=self._plugin_dirs, scratch=True, bars_from_feed=True)

    def _tick_engine(self, instance: InstanceSettings) -> Engine:
        spec = self.spec
        instrument = self.instruments[instance.symbols[0]]
        sessions = sessions_between(instrument.schedule, spec.first, spec.last)
        if not sessions:
            raise DataProblem(f"no sessions between {spec.first} and {spec.last}")
        store = self._open_store("ticks")
        events = ticks_from_store(store, instance.symbols, sessions[0].open_ns,
                                  sessions[-1].close_ns)

        def build(bus, clock, _backpressure):  # noqa: ANN001, ANN202 - FeedBuilder
            return ReplayFeed(events, bus, clock, speed=None)

        engine = Engine(self.settings, None, build, timeframes=[], strategies=[instance],
                        plugin_folders=self._plugin_dirs, scratch=True)
        engine.bus.subscribe(Bar, lambda bar: self._record(bar.end), "Backtest.equity")
        self._tick_store = store
        return engine

    def _tick_symbols(self) -> set[str]:
        assert self._engine is not None
        return set(self._engine.strategies.tick_symbols())

    def _record(self, end: int) -> None:
        """The account's equity at a bar's close (called once a bar: kept lean)."""
        self._equity_ts.append(end)
        self._equity.append(self._equity_now())

    def _report(self, done: int, total: int) -> None:
        engine = self._engine
        if engine is not None:
            ctx = engine.strategies.contexts.get(self.spec.instance.instance_id)
            if ctx is not None and ctx.status is InstanceStatus.ERROR:
                engine.feed.stop()  # the only instance is out: the rest would test nothing
        if self._progress is not None:
            self._progress(done, total)

    # -- the result ------------------------------------------------------------------------
    def _result(self, engine: Engine, instance: InstanceSettings, wall_s: float) -> BacktestRun:
        from workstation.backtest.metrics import compute_metrics

        catalog = engine.strategies.catalog
        offered = catalog.strategies[instance.strategy]
        ctx = engine.strategies.contexts[instance.instance_id]
        starting = engine.portfolio.starting_cash
        ts = np.frombuffer(self._equity_ts, dtype=np.int64)
        equity = np.frombuffer(self._equity, dtype=np.float64)
        trades = tuple(self._trades)
        problems = [str(p) for p in catalog.problems if p.file == offered.path.name]
        if ctx.status is not InstanceStatus.RUNNING:
            problems.append(f"{instance.instance_id} {ctx.status.value}: {ctx.reason}")
        if engine.bus.errors:
            problems.append(f"{engine.bus.errors} handler errors (see the log)")
        start_ns = int(self.series[0].ts[0]) if self.series else int(ts[0]) if len(ts) else 0
        curve_series = _equity_series(ts, equity)
        metrics = compute_metrics(curve_series, trades, starting_cash=starting,
                                  exposure=_exposure(trades, engine, start_ns,
                                                     int(ts[-1]) if len(ts) else 0),
                                  commission_paid=engine.portfolio.commission)
        curve_ts, curve = downsample(ts, equity, MAX_CURVE_POINTS)
        from workstation.backtest.metrics import trading_day_closes

        days = trading_day_closes(curve_series)
        open_trades = [t.trade_id for t in engine.trades.active()]
        return BacktestRun(
            strategy=offered.name, strategy_version=offered.version, file_hash=offered.sha256,
            params=dict(ctx.settings.params), symbols=tuple(instance.symbols),
            timeframe=self.spec.timeframe, start_ns=start_ns,
            end_ns=int(ts[-1]) if len(ts) else start_ns, source=_source_name(self.spec),
            settings=self.spec.settings, metrics=metrics, trades=trades, curve_ts=curve_ts,
            curve_equity=curve,
            daily=tuple((day.date().isoformat(), float(value)) for day, value in days.items()),
            bars=len(ts), wall_s=round(wall_s, 3), problems=tuple(problems),
            created_ts=time.time_ns(),
            extra={"open_trades": open_trades, "orders": engine.broker.order_count(),
                   "fills": [[f.ts, f.order_id, f.side.value, f.qty, f.price, f.commission]
                             for f in engine.fills],
                   "final_equity": float(equity[-1]) if len(equity) else starting,
                   **({} if self.spec.ticks else {"data": provenance(
                       self.spec.first, self.spec.last, self.spec.source, self.series)})})


def _source_name(spec: BacktestSpec) -> str:
    if spec.source in SOURCES:
        return f"{spec.source} ticks" if spec.ticks else spec.source
    return Path(spec.source).name


def _equity_series(ts: np.ndarray, equity: np.ndarray):  # noqa: ANN202 - pandas Series
    """The curve as a Series, one point per close time (the last, when several series close
    together). Done in numpy: pandas' duplicate check on a million points costs ~50 MB."""
    import pandas as pd

    keep = np.append(ts[1:] != ts[:-1], True) if len(ts) else np.empty(0, dtype=bool)
    times = np.ascontiguousarray(ts[keep]).view("datetime64[ns]")
    index = pd.DatetimeIndex(times, copy=False).tz_localize("UTC")
    return pd.Series(equity[keep], index=index, copy=False)


def _exposure(trades: tuple[TradeRecord, ...], engine: Engine, start: int, end: int) -> float:
    """The share of the tested time with a trade open (overlapping trades count once)."""
    if end <= start:
        return 0.0
    spans = sorted([(t.entry_ts, t.exit_ts) for t in trades]
                   + [(t.entry_ts, end) for t in engine.trades.active()])
    covered, reach = 0, start
    for begin, finish in spans:
        begin = max(begin, reach)
        if finish > begin:
            covered += finish - begin
            reach = finish
    return covered / (end - start)


def downsample(ts: np.ndarray, values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``points`` points that keep each bucket's low and high (a drawdown never
    disappears from the chart), plus the first and the last."""
    if len(ts) <= points:
        return ts.copy(), values.copy()
    buckets = np.array_split(np.arange(len(ts)), points // 2 - 1)
    keep = {0, len(ts) - 1}
    for bucket in buckets:
        chunk = values[bucket]
        keep.add(int(bucket[np.argmin(chunk)]))
        keep.add(int(bucket[np.argmax(chunk)]))
    index = np.array(sorted(keep))
    return ts[index], values[index]


def run_backtest(settings: Settings, home: Path | None, spec: BacktestSpec,
                 progress: Progress | None = None) -> BacktestRun:
    """Run to the end on a loop of its own (the CLI and worker processes)."""
    return asyncio.run(Backtest(settings, home, spec, progress=progress).run())

