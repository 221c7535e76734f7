"""Live US equities and crypto from Alpaca's market-data streams (alpaca-py).

Trades and quotes become the same Tick and Quote events the simulated feed publishes;
the BarEngine builds bars from them. Stocks and crypto are two websocket connections
(two endpoints), each a ResilientConnection: this module supplies one connection's life
with the SDK's own stream (a fresh ``StockDataStream`` / ``CryptoDataStream`` per
connection, in raw mode: the SDK's msgpack decoding and dispatch, without building a
pydantic model per message) and leaves reconnecting to the base.

Subscriptions change without blocking the loop: the SDK's ``subscribe_*`` waits on the
loop, so it is called from a worker thread (shared ALPACA.md). Every print is validated
(``TickValidator``) and a bad one is quarantined, counted and published as
``TickQuarantined``. After a reconnect the gap is backfilled (``GapFiller``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alpaca.data.enums import DataFeed as AlpacaDataFeed
from alpaca.data.live import CryptoDataStream, StockDataStream

from workstation.alpaca.credentials import Credentials
from workstation.alpaca.history import is_crypto
from workstation.alpaca.settings import AlpacaSettings
from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.feeds.backfill import GapFiller
from workstation.feeds.base import FeedState
from workstation.feeds.resilient import (
    FatalConnectionError,
    Resilience,
    ResilientConnection,
    Sleep,
)
from workstation.feeds.validation import TickValidator
from workstation.model import Instrument, Quote, Side, Tick
from workstation.sessions import get_schedule
from workstation.text import storable

log = logging.getLogger(__name__)

_FATAL_WORDS = ("auth", "insufficient subscription")
# the feed's state is its worst connection's
_SEVERITY = [FeedState.ERROR, FeedState.RECONNECTING, FeedState.STALE, FeedState.CONNECTING,
             FeedState.LIVE, FeedState.IDLE, FeedState.STOPPED]


def resilience_from(settings: AlpacaSettings) -> Resilience:
    return Resilience(max_reconnects_per_hour=settings.max_reconnects_per_hour,
                      stale_after_s=settings.stale_after_s)


class AlpacaFeed:
    name = "alpaca"

    def __init__(self, credentials: Credentials, settings: AlpacaSettings,
                 instruments: dict[str, Instrument], symbols: list[str], bus: EventBus,
                 clock: Clock, *, resilience: Resilience | None = None,
                 gap_filler: GapFiller | None = None, now: Callable[[], float] | None = None,
                 sleep: Sleep = asyncio.sleep, rng: Callable[[], float] | None = None) -> None:
        self._bus = bus
        self._instruments = instruments
        self.validator = TickValidator(settings.max_jump_pct)
        self.gap_filler = gap_filler
        self.ticks = 0
        self.quotes = 0
        # subscription changes wait on the loop: they run here (not on the loop's default
        # executor, which under qasync is a QThread pool)
        self.subscriber = ThreadPoolExecutor(1, thread_name_prefix="alpaca-subscribe")
        params = resilience or resilience_from(settings)
        feed = AlpacaDataFeed.SIP if settings.feed == "sip" else AlpacaDataFeed.IEX

        def stocks() -> StockDataStream:
            return StockDataStream(credentials.key_id, credentials.secret, raw_data=True,
                                   feed=feed, url_override=settings.stock_stream_url())

        def crypto() -> CryptoDataStream:
            return CryptoDataStream(credentials.key_id, credentials.secret, raw_data=True,
                                    url_override=settings.crypto_stream_url())

        options: dict[str, Any] = {"now": now, "sleep": sleep, "rng": rng}
        self.stocks = MarketStream(self, "alpaca stocks", stocks, bus, clock, params, **options)
        self.crypto = MarketStream(self, "alpaca crypto", crypto, bus, clock, params, **options)
        for symbol in symbols:
            self._stream_for(symbol).symbols.add(symbol)

    @property
    def state(self) -> FeedState:
        states = {self.stocks.state, self.crypto.state}
        if len(states) > 1:
            states.discard(FeedState.IDLE)  # a connection with nothing to do
        return min(states, key=_SEVERITY.index)

    def describe(self) -> str:
        """For the status bar: the worst connection's state and why, and the quarantine."""
        state = self.state
        worst = next((s for s in self.streams if s.state is state), self.stocks)
        text = f"{state}: {worst.detail}" if worst.detail else str(state)
        total = self.validator.total
        return f"{text} · {total:,} quarantined" if total else text

    @property
    def streams(self) -> tuple[MarketStream, MarketStream]:
        return self.stocks, self.crypto

    async def run(self) -> None:
        """Both connections, until stopped; one that fails for good (keys refused, the
        reconnect cap) stops the other: the keys and the network are shared."""
        tasks = [asyncio.ensure_future(stream.run()) for stream in self.streams]
        pending = set(tasks)
        try:
            while pending:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(stream.state is FeedState.ERROR for stream in self.streams):
                    for stream in self.streams:
                        stream.stop()
        finally:
            self.subscriber.shutdown(wait=False, cancel_futures=True)
        for task in tasks:
            task.result()

    def stop(self) -> None:
        for stream in self.streams:
            stream.stop()

    def reference_prices(self) -> dict[str, float]:
        return {}

    async def subscribe(self, symbols: list[str]) -> None:
        """Start streaming ``symbols`` (without blocking the loop)."""
        for stream in self.streams:
            wanted = [s for s in symbols if self._stream_for(s) is stream]
            if wanted:
                await stream.add(wanted)

    async def unsubscribe(self, symbols: list[str]) -> None:
        for stream in self.streams:
            wanted = [s for s in symbols if self._stream_for(s) is stream]
            if wanted:
                await stream.remove(wanted)

    def _stream_for(self, symbol: str) -> MarketStream:
        instrument = self._instruments.get(symbol)
        crypto = (instrument.asset_class == "crypto") if instrument else is_crypto(symbol)
        return self.crypto if crypto else self.stocks


class MarketStream(ResilientConnection):
    """One market-data websocket (stocks or crypto), kept alive."""

    def __init__(self, feed: AlpacaFeed, name: str, make: Callable[[], Any], bus: EventBus,
                 clock: Clock, params: Resilience, **options: Any) -> None:
        super().__init__(name, bus, clock, params, **options)
        self._feed = feed
        self._make = make
        self._publish = bus.publish
        self._clock = clock
        self.symbols: set[str] = set()
        self._stream: Any = None
        self._has_symbols = asyncio.Event()
        self.last_ts = 0  # the latest accepted trade: where a gap starts
        self._gap_from = 0
        self._aborted = False

    # -- the connection ----------------------------------------------------------------
    async def _session(self) -> None:
        while not self.symbols:
            self._has_symbols.clear()
            self._set_state(FeedState.IDLE, "no symbols")
            await self._has_symbols.wait()
            if self._stopping:
                return
        stream = self._make()
        self._stream = stream
        self._aborted = False
        symbols = sorted(self.symbols)
        stream.subscribe_trades(self._on_trade, *symbols)  # not running yet: no blocking
        stream.subscribe_quotes(self._on_quote, *symbols)
        try:
            try:
                await stream._start_ws()  # connect and authenticate (the SDK's own code)
            except ValueError as exc:
                text = str(exc)
                if any(word in text.lower() for word in _FATAL_WORDS):
                    raise FatalConnectionError(f"Alpaca refused the connection ({text}); "
                                               "check the keys in File > Connections") from None
                raise
            # what the SDK's _run_forever sets before consuming: subscribe_* from a thread
            # then sends on this loop
            stream._loop = asyncio.get_running_loop()
            stream._running = True
            await stream._send_subscribe_msg()
            if self._aborted:  # ended while connecting, before there was a socket to close
                return
            if self.last_ts:
                self._gap_from = self.last_ts
            self._live()
            await self._sync(stream)  # symbols added or removed while this connected
            await stream._consume()
        finally:
            self._stream = None
            await stream.close()

    async def _abort(self) -> None:
        stream = self._stream
        self._aborted = True
        self._has_symbols.set()
        if stream is not None:
            await stream.close()

    def _should_hear(self) -> bool:
        """Silence is a problem only while some subscribed market is open."""
        now = self._clock.now_ns()
        for symbol in self.symbols:
            instrument = self._feed._instruments.get(symbol)
            schedule = instrument.schedule if instrument else (
                "crypto_24_7" if is_crypto(symbol) else "us_equity")
            if get_schedule(schedule).session_at(now) is not None:
                return True
        return False

    async def _resumed(self) -> None:
        filler = self._feed.gap_filler
        if filler is None or not self._gap_from:
            return
        await filler.fill(sorted(self.symbols), self._gap_from, self._clock.now_ns())

    # -- subscriptions -----------------------------------------------------------------
    async def add(self, symbols: list[str]) -> None:
        self.symbols.update(symbols)
        self._has_symbols.set()
        stream = self._stream
        if stream is not None and self.state is FeedState.LIVE:
            await self._sync(stream)

    async def remove(self, symbols: list[str]) -> None:
        self.symbols.difference_update(symbols)
        stream = self._stream
        if stream is not None and self.state is FeedState.LIVE:
            await self._sync(stream)

    async def _sync(self, stream: Any) -> None:
        """Make the connection's subscriptions what ``symbols`` says now."""
        have = set(stream._handlers["trades"])  # the SDK's subscribed symbols
        new, gone = sorted(self.symbols - have), sorted(have - self.symbols)
        if new:
            await self._in_thread(lambda: (stream.subscribe_trades(self._on_trade, *new),
                                           stream.subscribe_quotes(self._on_quote, *new)))
        if gone:
            await self._in_thread(lambda: (stream.unsubscribe_trades(*gone),
                                           stream.unsubscribe_quotes(*gone)))

    async def _in_thread(self, change: Callable[[], object]) -> None:
        """The SDK's subscribe/unsubscribe block until the loop has sent them: a thread."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._feed.subscriber, change)
        except Exception as exc:  # noqa: BLE001 - the next connection subscribes afresh
            log.warning("%s: changing subscriptions failed (%s); they apply on the next "
                        "connection", self.name, exc)

    # -- messages (the hot path) -------------------------------------------------------
    async def _on_trade(self, msg: dict[str, Any]) -> None:
        self.heard += 1
        feed = self._feed
        try:
            stamp = msg["t"]
            ts = stamp.seconds * 1_000_000_000 + stamp.nanoseconds
            symbol, price, size = msg["S"], float(msg["p"]), float(msg["s"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._malformed("trade", msg, exc)
            return
        reason, detail = feed.validator.trade(symbol, ts, price, size, msg.get("i"))
        if reason:
            self._publish(feed.validator.count(symbol, ts, reason, detail))
            return
        if ts > self.last_ts:
            self.last_ts = ts
        feed.ticks += 1
        self._publish(Tick(symbol, ts, price, size, Side.UNKNOWN))

    async def _on_quote(self, msg: dict[str, Any]) -> None:
        self.heard += 1
        feed = self._feed
        try:
            stamp = msg["t"]
            ts = stamp.seconds * 1_000_000_000 + stamp.nanoseconds
            symbol = msg["S"]
            bid, ask = float(msg["bp"]), float(msg["ap"])
            bid_size, ask_size = float(msg["bs"]), float(msg["as"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._malformed("quote", msg, exc)
            return
        reason, detail = feed.validator.quote(bid, ask, bid_size, ask_size)
        if reason:
            self._publish(feed.validator.count(symbol, ts, reason, detail))
            return
        feed.quotes += 1
        self._publish(Quote(symbol, ts, bid, ask, bid_size, ask_size))

    def _malformed(self, kind: str, msg: dict[str, Any], exc: Exception) -> None:
        """A message the feed cannot read is quarantined like a bad print, never fatal."""
        symbol = str(msg.get("S", "?")) if isinstance(msg, dict) else "?"
        detail = f"malformed {kind} ({type(exc).__name__}: {exc})"
        self._publish(self._feed.validator.count(storable(symbol), self._clock.now_ns(),
                                                 "malformed", storable(detail)))
