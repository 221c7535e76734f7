"""A real engine for the strategy tests: a SQLite store in a temporary home, plugins from a
temporary folder, and a market the test drives by hand.

The engine's feed replays nothing; the test publishes hand-built closed Bars (after moving
the SimClock to the bar's end, as the bar engine would) and trades at chosen prices (a
locked quote then a tick, so market orders fill at exactly that price). Everything else is
the engine as it runs (except that ticks no longer build bars): the plugin host, router,
risk gate, paper broker, portfolio, trade tracker and store.

Instruments are the defaults: NQ (tick 0.25, 20 per point, CME Globex), ES, AAPL, MSFT,
BTC/USD. T0 is Tuesday 2026-01-13 15:00 UTC, inside NQ's session (it closes 22:00 UTC).
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from workstation.config import FillModel, PaperSettings, Settings, StrategiesSettings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.model import NS_PER_SECOND, Bar, Quote, Signal, Tick, datetime_to_ns
from workstation.orders import Fill, OrderUpdate
from workstation.strategies.context import StrategyContext
from workstation.strategies.instances import InstanceSettings

S = NS_PER_SECOND
MINUTE = 60 * S
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
NQ_CLOSE = datetime_to_ns(datetime(2026, 1, 13, 22, 0, tzinfo=UTC))


def write_plugin(folder: Path, name: str, source: str) -> Path:
    """Write a plugin file (dedented) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def instance(instance_id: str, strategy: str, symbols: Iterable[str] = ("NQ",),
             timeframes: Iterable[str] = ("1m",), **fields: object) -> InstanceSettings:
    return InstanceSettings(instance_id=instance_id, strategy=strategy, symbols=tuple(symbols),
                            timeframes=tuple(timeframes), **fields)  # type: ignore[arg-type]


def desk_settings(*, max_failures: int = 3, hard_limit_s: float = 2.0,
                  max_memory_mb: float = 1024.0, commission: float = 0.0,
                  **fields: object) -> Settings:
    """Defaults, commission 0 (hand-worked P&L is points x point value), no hot reload
    (tests reload explicitly or start the watcher themselves)."""
    return Settings(timeframes=["1m"], paper=PaperSettings(fills=FillModel(
        commission=commission)), strategies=StrategiesSettings(
        max_failures=max_failures, hard_limit_s=hard_limit_s, max_memory_mb=max_memory_mb,
        hot_reload=False), **fields)  # type: ignore[arg-type]


class StrategyDesk:
    def __init__(self, home: Path, plugins: Path, *, settings: Settings | None = None,
                 instances: list[InstanceSettings] | None = None) -> None:
        plugins.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        self.engine = Engine(settings or desk_settings(), home,
                             lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None),
                             timeframes=["1m"], plugin_folders=[plugins], strategies=instances)
        self.host = self.engine.strategies
        limits = self.engine.settings.strategies
        self.host.services.watchdog.set_limits(freeze_exit_s=limits.freeze_exit_s,
                                               max_memory_mb=limits.max_memory_mb)
        self.bus = self.engine.bus
        self.clock = self.engine.clock
        self.signals: list[Signal] = []
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self.bus.subscribe(Signal, self.signals.append)
        self.bus.subscribe(Fill, self.fills.append)
        self.bus.subscribe(OrderUpdate, self.updates.append)

    async def start(self, at: int = T0) -> StrategyDesk:
        self.clock.advance_to(at)
        await self.engine.start()
        await self.engine.wait_feed()
        # bars are hand-built here: ticks only move prices and fill orders
        self.bus.unsubscribe(Tick, self.engine.bars.on_tick)
        return self

    async def stop(self) -> None:
        await self.engine.stop()

    def ctx(self, instance_id: str) -> StrategyContext:
        return self.host.contexts[instance_id]

    # -- the market --------------------------------------------------------------------------
    def bar(self, minute: int, open_: float, high: float, low: float, close: float,
            symbol: str = "NQ", volume: float = 100.0) -> Bar:
        """Close the 1-minute bar that opened ``minute`` minutes after T0."""
        start = T0 + minute * MINUTE
        bar = Bar(symbol, "1m", start, start + MINUTE, open_, high, low, close, volume, 10)
        self.clock.advance_to(bar.end)
        self.bus.publish(bar)
        return bar

    def bars(self, closes: Iterable[float], first_minute: int = 0,
             symbol: str = "NQ") -> list[Bar]:
        """One bar per close: open at the previous close, high/low one point around."""
        made = []
        previous = None
        for offset, close in enumerate(closes):
            open_ = close if previous is None else previous
            made.append(self.bar(first_minute + offset, open_, max(open_, close) + 1,
                                 min(open_, close) - 1, close, symbol))
            previous = close
        return made

    def trade(self, price: float, symbol: str = "NQ", ts: int | None = None) -> None:
        """A locked quote at ``price`` then a trade there (one second on by default)."""
        ts = self.clock.now_ns() + S if ts is None else ts
        self.clock.advance_to(ts)
        self.bus.publish(Quote(symbol, ts, price, price, 10, 10))
        self.bus.publish(Tick(symbol, ts, price, 1))


async def settle() -> None:
    """Let queued loop work (journal commits) run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait (on the running loop) until ``condition()`` holds, or fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s:g} s")
        await asyncio.sleep(0.02)
