"""Paper-trading throughput.

1. orders/s: market orders through intent -> risk gate -> paper broker -> fill
   -> portfolio (and the trade tracker and journal listeners on the bus), on NQ
   with a live quote, alternating buy and sell so each order opens or closes.
2. ticks/s with 100 active trades: 100 futures, one open bracket trade each
   (stop and target far away, so none exits), ticks round-robin across them
   through the bus to the broker (two working legs each), the portfolio marks
   and the trade tracker (MFE/MAE, samples, break-even checks).

Target: tick path above 150,000 ticks/s with 100 active trades. The last line
printed is JSON with orders_per_s and ticks_per_s.
Run: python bench/paper.py [--orders 20000] [--ticks 500000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import InstrumentSettings, Settings, SimParams
from workstation.model import AssetClass, Quote, Tick, datetime_to_ns
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderType
from workstation.portfolio import Portfolio
from workstation.risk.router import OrderRouter
from workstation.risk.wiring import PERMISSIVE, build_risk
from workstation.trades import TradeTracker

START = datetime_to_ns(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))  # inside the CME session


def build(settings: Settings) -> tuple[EventBus, SimClock, OrderRouter, TradeTracker]:
    instruments = settings.instrument_map()
    bus, clock = EventBus(), SimClock(START)
    margins = {s: settings.margin(i) for s, i in instruments.items()}
    portfolio = Portfolio(instruments, margins, 1e12, START)
    broker = PaperBroker(instruments, settings, bus, clock, portfolio)
    router = build_risk(settings.model_copy(update={"risk": PERMISSIVE}), instruments,
                        portfolio, broker, bus, clock).router
    tracker = TradeTracker(instruments, portfolio, router, bus, clock, 1.0)
    return bus, clock, router, tracker


def orders_per_second(count: int) -> float:
    bus, clock, router, _ = build(Settings())
    clock.advance_to(START)
    bus.publish(Quote("NQ", START, 21000.00, 21000.25, 50, 50))
    sides = (OrderSide.BUY, OrderSide.SELL)
    started = time.perf_counter()
    for i in range(count):
        update = router.submit(OrderIntent(f"b{i}", "NQ", sides[i % 2], 1.0))
        assert update.status is OrderStatus.FILLED, update.reason
    return count / (time.perf_counter() - started)


def hundred_futures() -> Settings:
    rows = [InstrumentSettings(symbol=f"F{i:03d}", tick_size=0.25, point_value=20.0,
                               asset_class=AssetClass.FUTURE, schedule="cme_globex",
                               sim=SimParams(price=1000.0 + i))
            for i in range(100)]
    return Settings(instruments=rows, watchlist=[])


def ticks_per_second(count: int) -> tuple[float, int]:
    settings = hundred_futures()
    bus, clock, router, tracker = build(settings)
    symbols = [item.symbol for item in settings.instruments]
    ts = START
    for i, symbol in enumerate(symbols):
        price = 1000.0 + i
        bus.publish(Quote(symbol, ts, price, price + 0.25, 10, 10))
        router.submit(OrderIntent(f"open-{symbol}", symbol, OrderSide.BUY, 1.0,
                                  OrderType.MARKET,
                                  bracket=Bracket(stop_loss=price - 500, take_profit=price + 500)))
    assert len(tracker.active()) == 100
    # a random-walk-like path of +-1..3 ticks per symbol, prepared before timing
    events = []
    prices = [1000.0 + i for i in range(100)]
    steps = (0.25, -0.5, 0.75, -0.25, 0.5, -0.75)
    for n in range(count):
        k = n % 100
        prices[k] += steps[(n // 100) % len(steps)]
        ts += 1_000_000
        events.append(Tick(symbols[k], ts, prices[k], 1.0, 1))
    publish, advance = bus.publish, clock.advance_to
    started = time.perf_counter()
    for tick in events:
        advance(tick.ts)
        publish(tick)
    elapsed = time.perf_counter() - started
    assert len(tracker.active()) == 100
    return count / elapsed, len(tracker.active())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--ticks", type=int, default=500_000)
    args = parser.parse_args()
    orders = orders_per_second(args.orders)
    ticks, active = ticks_per_second(args.ticks)
    print(json.dumps({"orders_per_s": round(orders), "ticks_per_s": round(ticks),
                      "active_trades": active}))


if __name__ == "__main__":
    main()
