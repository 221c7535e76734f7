"""The Alpaca feed under load: a fake Alpaca (its own thread, 127.0.0.1) streams trades
and quotes for 10 crypto symbols as msgpack frames; the real alpaca-py stream decodes
them, the feed validates them into Tick/Quote events, and the bus carries them to the
BarEngine (1m, 5m) and the market state.

The fake server shares the process (and the GIL) with the feed, so the figures are a
floor for the feed alone. Prints one JSON line: messages/s decoded and published at full
speed, and the loop lag (p50/p99) while a paced stream arrives.
Floor: 50,000 msg/s; loop lag p99 under 20 ms at 5,000 msg/s.

Run from the repository (it uses tests/fake_alpaca):
    python -m bench.alpaca_feed [--messages 300000] [--rate 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta

import msgpack

from tests.fake_alpaca import FakeAlpaca, quote_msg, trade_msg
from tests.fake_alpaca.server import CRYPTO_PATH
from workstation.alpaca.credentials import Credentials
from workstation.bars import BarEngine
from workstation.bus import EventBus
from workstation.clock import LiveClock
from workstation.config import InstrumentSettings, Settings
from workstation.feeds.alpaca import AlpacaFeed
from workstation.feeds.base import FeedState
from workstation.feeds.resilient import Resilience
from workstation.market import MarketState
from workstation.metrics import LoopLagMonitor
from workstation.model import AssetClass

SYMBOLS = [f"C{i}/USD" for i in range(10)]
PER_FRAME = 100


def settings_for(fake: FakeAlpaca) -> Settings:
    instruments = [InstrumentSettings(symbol=s, tick_size=0.01, lot_size=0.0001,
                                      asset_class=AssetClass.CRYPTO, schedule="crypto_24_7")
                   for s in SYMBOLS]
    return Settings(instruments=instruments, watchlist=SYMBOLS[:1], alpaca={"endpoints": {
        "crypto_stream": fake.crypto_url, "stock_stream": fake.stock_url,
        "data": fake.http_url, "trading": fake.http_url, "trade_stream": fake.trade_url}})


def frames(count: int, start: datetime, seed: int = 1) -> list[bytes]:
    """``count`` messages (3 trades to 1 quote) in frames of PER_FRAME, 1 ms apart from
    ``start`` (so 1m bars close along the way)."""
    rng = random.Random(seed)
    prices = dict.fromkeys(SYMBOLS, 100.0)
    out, batch = [], []
    for n in range(count):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        price = prices[symbol] = round(max(1.0, prices[symbol] + rng.choice((-0.01, 0.01))), 2)
        ts = start + timedelta(milliseconds=n)
        if n % 4 == 3:
            batch.append(quote_msg(symbol, price - 0.01, price + 0.01, ts, 2, 3))
        else:
            batch.append(trade_msg(symbol, price, 1, ts, n))
        if len(batch) == PER_FRAME:
            out.append(msgpack.packb(batch, datetime=True))
            batch = []
    if batch:
        out.append(msgpack.packb(batch, datetime=True))
    return out


async def send(fake: FakeAlpaca, packed: list[bytes], rate: float | None) -> None:
    """On the fake's loop: every frame to every crypto client, paced or flat out."""
    interval = PER_FRAME / rate if rate else 0.0
    start = time.perf_counter()
    for i, frame in enumerate(packed):
        for client in list(fake.data_clients):
            if client.path == CRYPTO_PATH:
                await client.ws.send_bytes(frame)
        if interval:
            delay = start + (i + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)


async def measure(fake: FakeAlpaca, messages: int, rate: int, seconds: float) -> dict:
    settings = settings_for(fake)
    bus, clock = EventBus(), LiveClock()
    MarketState(bus)
    bars = BarEngine(bus, clock)
    instruments = settings.instrument_map()
    for symbol in SYMBOLS:
        for timeframe in ("1m", "5m"):
            bars.add(instruments[symbol], timeframe)
    feed = AlpacaFeed(Credentials(fake.key, fake.secret, "environment"), settings.alpaca,
                      instruments, SYMBOLS, bus, clock, resilience=Resilience(stale_after_s=None))
    task = asyncio.ensure_future(feed.run())
    while fake.subscriptions() != set(SYMBOLS) or feed.state is not FeedState.LIVE:
        await asyncio.sleep(0.01)

    def received() -> int:
        return feed.ticks + feed.quotes + feed.validator.total

    # 1. flat out
    start = datetime.now(UTC)
    packed = frames(messages, start)
    sent = asyncio.run_coroutine_threadsafe(send(fake, packed, None), fake.loop)
    while received() == 0:
        await asyncio.sleep(0.0005)
    started = time.perf_counter()
    while received() < messages:
        await asyncio.sleep(0.01)
    flat_s = time.perf_counter() - started
    sent.result()
    # 2. paced, with the loop-lag monitor on
    before = received()
    paced = frames(int(rate * seconds), start + timedelta(milliseconds=messages), seed=2)
    lag = LoopLagMonitor(interval_s=0.01)
    lag.start()
    sent = asyncio.run_coroutine_threadsafe(send(fake, paced, rate), fake.loop)
    while received() < before + int(rate * seconds):
        await asyncio.sleep(0.05)
    lag.stop()
    sent.result()
    feed.stop()
    await task
    return {"messages": messages, "decoded_published_per_s": round(messages / flat_s),
            "paced_rate_per_s": rate, "paced_seconds": seconds,
            "loop_lag_p50_ms": round(lag.percentile_ms(50), 3),
            "loop_lag_p99_ms": round(lag.percentile_ms(99), 3),
            "loop_lag_max_ms": round(lag.percentile_ms(100), 3),
            "bars_closed": bars.bars_closed, "quarantined": feed.validator.total,
            "floor_ok": messages / flat_s >= 50_000 and lag.percentile_ms(99) < 20}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with FakeAlpaca() as fake:
        print(json.dumps(asyncio.run(measure(fake, args.messages, args.rate, args.seconds))))


if __name__ == "__main__":
    main()
