"""Strategy plugin throughput and the cost of running plugin code guarded.

1. bars/s: ten instances of the shipped example plugins (two of each: NQ on 5-second
   bars, ES on 1-minute bars) running in a real engine (router, risk gate, paper
   broker, trade tracker; no store). Closed bars recorded from a seeded simulated
   session are replayed through the bus (a quote at the bar's close first, so orders
   fill) with the clock moved to each bar's end, so the figure is bars through the
   host and the plugins (indicators, orders, fills),
   not the tick path. Also: the whole engine on the simulated feed at max speed with
   and without the ten instances, in ticks/s.
2. guard overhead: a plugin whose on_bar does nothing, called a million times
   directly and through ``StrategyContext.call`` (exception guard, watchdog
   bookkeeping, timing, stats, per-callback failure counts); the difference per call,
   median of 5 rounds. Also the metered call (RSS read before and after), which the
   guard uses only while process memory is far above its start.

Target: guard overhead under 1 microsecond per callback. The last line printed is
JSON with bars_per_s and guard_overhead_us.
Run: python bench/strategies.py [--seconds 3600] [--calls 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from workstation.config import Settings
from workstation.engine import Engine, RunOptions, sim_feed_builder
from workstation.feeds.replay import ReplayFeed
from workstation.model import Bar, Quote
from workstation.strategies.instances import InstanceSettings

SHIPPED = ["SMA crossover", "RSI mean reversion", "Indicator vote", "Donchian breakout",
           "Momentum signals"]
TIMEFRAMES = ["5s", "1m"]


def ten_instances() -> list[InstanceSettings]:
    instances = []
    for symbol, timeframe in (("NQ", "5s"), ("ES", "1m")):
        for name in SHIPPED:
            slug = name.lower().replace(" ", "-")
            instances.append(InstanceSettings(instance_id=f"{slug}-{symbol.lower()}",
                                              strategy=name, symbols=(symbol,),
                                              timeframes=(timeframe,)))
    return instances


def settings() -> Settings:
    return Settings(timeframes=TIMEFRAMES).model_copy(update={
        "strategies": Settings().strategies.model_copy(update={"hot_reload": False})})


async def engine_run(seconds: float, instances: list[InstanceSettings]) -> tuple[float, list[Bar]]:
    """The simulated feed at max speed: ticks/s, and the closed bars it made."""
    options = RunOptions(seed=7, speed=None, duration_s=seconds)
    engine = Engine(settings(), None, sim_feed_builder(settings(), options),
                    timeframes=TIMEFRAMES, strategies=instances)
    bars: list[Bar] = []
    engine.bus.subscribe(Bar, bars.append)
    await engine.start()
    await engine.wait_feed()
    await engine.stop()
    report = engine.report()
    return report["ticks_per_s"], relevant(bars)


async def bars_through_host(bars: list[Bar]) -> tuple[float, int, dict[str, int]]:
    """Replay recorded bars through ten instances; (bars/s, callbacks, orders by instance)."""
    home = Path(tempfile.mkdtemp(prefix="bracket-bench-"))
    engine = Engine(settings(), None,
                    lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None),
                    timeframes=TIMEFRAMES, strategies=ten_instances())
    engine.clock.advance_to(bars[0].ts)
    await engine.start()
    await engine.wait_feed()
    engine.bus.unsubscribe(Bar, engine.bars._remember)  # history is not what is measured
    publish, advance = engine.bus.publish, engine.clock.advance_to
    ticks = {s: i.tick_size for s, i in engine.instruments.items()}
    quotes = [Quote(b.symbol, b.end, b.close, b.close + ticks[b.symbol], 50, 50) for b in bars]
    started = time.perf_counter()
    for bar, quote in zip(bars, quotes, strict=True):
        advance(bar.end)
        publish(quote)
        publish(bar)
    elapsed = time.perf_counter() - started
    await engine.stop()
    home.rmdir()
    contexts = engine.strategies.contexts.values()
    errors = sum(ctx.errors for ctx in contexts)
    assert errors == 0, f"{errors} plugin errors"
    calls = sum(ctx.stats["on_bar"].calls for ctx in contexts)
    return len(bars) / elapsed, calls, {c.instance_id: c.orders_sent for c in contexts}


def relevant(bars: list[Bar]) -> list[Bar]:
    """The series the ten instances listen to."""
    return [b for b in bars if (b.symbol, b.timeframe) in (("NQ", "5s"), ("ES", "1m"))]


async def guard_overhead(calls: int) -> tuple[float, float, float]:
    """(direct, guarded, guarded and metered) ns per call for an on_bar that does nothing."""
    engine = Engine(settings(), None,
                    lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None),
                    timeframes=["1m"], strategies=[InstanceSettings(
                        instance_id="idle", strategy="SMA crossover", symbols=("NQ",))])
    await engine.start()
    ctx = engine.strategies.contexts["idle"]
    strategy = ctx.strategy
    assert strategy is not None
    type(strategy).on_bar = lambda self, bar: None  # the callback itself costs nothing
    bar = Bar("NQ", "1m", 0, 60, 1.0, 1.0, 1.0, 1.0, 1.0, 1)
    direct_rounds, guarded_rounds, metered_rounds = [], [], []
    watchdog = engine.strategies.services.watchdog
    for _ in range(5):
        on_bar = strategy.on_bar
        started = time.perf_counter_ns()
        for _ in range(calls):
            on_bar(bar)
        direct_rounds.append((time.perf_counter_ns() - started) / calls)
        call = ctx.call
        started = time.perf_counter_ns()
        for _ in range(calls):
            call("on_bar", bar)
        guarded_rounds.append((time.perf_counter_ns() - started) / calls)
        watchdog.metering = True  # as when memory is high (the watchdog may reset it)
        started = time.perf_counter_ns()
        for _ in range(calls // 10):
            call("on_bar", bar)
        metered_rounds.append((time.perf_counter_ns() - started) / (calls // 10))
        watchdog.metering = False
    await engine.stop()
    return (statistics.median(direct_rounds), statistics.median(guarded_rounds),
            statistics.median(metered_rounds))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the plugins' order logs are not measured

    plain_tps, bars = await engine_run(args.seconds, [])
    loaded_tps, _ = await engine_run(args.seconds, ten_instances())
    print(f"engine on the simulated feed: {plain_tps:,.0f} ticks/s without strategies, "
          f"{loaded_tps:,.0f} ticks/s with 10 instances ({loaded_tps / plain_tps:.2f}x)")
    rate, callbacks, orders = await bars_through_host(bars)
    print(f"{len(bars):,} bars (NQ 5s, ES 1m) -> {callbacks:,} on_bar calls in 10 instances: "
          f"{rate:,.0f} bars/s, {sum(orders.values())} orders")
    direct, guarded, metered = await guard_overhead(args.calls)
    overhead_us = (guarded - direct) / 1000
    print(f"on_bar direct {direct:.0f} ns, guarded {guarded:.0f} ns: "
          f"{overhead_us:.3f} us overhead per callback (target < 1 us); "
          f"metered (memory high) {metered:.0f} ns")
    print(json.dumps({"bars_per_s": round(rate, 1), "guard_overhead_us": round(overhead_us, 3),
                      "guarded_ns": round(guarded), "metered_ns": round(metered),
                      "on_bar_calls": callbacks, "ticks_per_s_plain": round(plain_tps, 1),
                      "ticks_per_s_with_strategies": round(loaded_tps, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
