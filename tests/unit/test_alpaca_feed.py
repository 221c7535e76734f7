"""The Alpaca market-data feed through the real alpaca-py streams, against a fake
Alpaca on 127.0.0.1: ticks, quotes and bars, subscriptions, auth failure, reconnects,
a disconnect storm on a fake clock, the stale watchdog, quarantine and gap backfill."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest

from tests.fake_alpaca import FakeAlpaca, quote_msg, trade_msg
from tests.fake_alpaca.helpers import FakeTime, credentials_for, eventually, settings_for
from workstation.bars import BarEngine
from workstation.bus import EventBus
from workstation.clock import LiveClock
from workstation.feeds.alpaca import AlpacaFeed
from workstation.feeds.backfill import GapFiller
from workstation.feeds.base import FeedState
from workstation.feeds.resilient import (
    Backoff,
    ConnectionStatus,
    ReconnectBudget,
    Resilience,
)
from workstation.feeds.validation import TickQuarantined, TickValidator
from workstation.model import NS_PER_SECOND, Bar, Quote, Tick

T0 = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)  # 09:30 New York, a Monday: the open
NS = NS_PER_SECOND
NO_WATCHDOG = Resilience(stale_after_s=None)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


class Desk:
    """A feed wired to a bus, a live clock and a bar engine, recording what it publishes."""

    def __init__(self, fake: FakeAlpaca, tmp_path, symbols: list[str],
                 resilience: Resilience = NO_WATCHDOG, time: FakeTime | None = None,
                 timeframes: tuple[str, ...] = ("1m",), backfill: bool = False) -> None:
        self.fake = fake
        self.settings = settings_for(fake, tmp_path)
        self.instruments = self.settings.instrument_map()
        self.bus = EventBus()
        self.clock = LiveClock()
        self.bars = BarEngine(self.bus, self.clock)
        for symbol in symbols:
            for timeframe in timeframes:
                self.bars.add(self.instruments[symbol], timeframe)
        self.events: list[object] = []
        for kind in (Tick, Quote, Bar, TickQuarantined, ConnectionStatus):
            self.bus.subscribe(kind, self.events.append)
        self.time = time
        options = {"now": time.now, "sleep": time.sleep} if time else {}
        self.feed = AlpacaFeed(credentials_for(fake), self.settings.alpaca, self.instruments,
                               symbols, self.bus, self.clock, resilience=resilience,
                               rng=lambda: 0.5, **options)
        if backfill:
            from workstation.alpaca.history import AlpacaHistory
            from workstation.alpaca.rest import RestRunner
            from workstation.bars import Timeframe

            history = AlpacaHistory(credentials_for(fake), self.settings.alpaca,
                                    RestRunner("test", 5.0, 200))

            async def minutes(symbols, start, end):
                return await history.bars(symbols, Timeframe.parse("1m"), start, end)

            self.feed.gap_filler = GapFiller(minutes, self.bars, self.bus, self.instruments,
                                             list(timeframes))
        self.task: asyncio.Task[None] | None = None

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self, name: str = "alpaca stocks") -> list[tuple[FeedState, str]]:
        return [(e.state, e.detail) for e in self.of(ConnectionStatus) if e.name == name]

    async def start(self, channel_symbols: set[str]) -> None:
        self.task = asyncio.ensure_future(self.feed.run())
        await eventually(lambda: self.fake.subscriptions() == channel_symbols)

    async def push(self, messages: list[dict], path: str = "/v2/iex") -> None:
        await asyncio.to_thread(self.fake.push, messages, path)

    async def stop(self) -> None:
        self.feed.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


def test_trades_and_quotes_become_ticks_quotes_and_bars(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        await desk.start({"AAPL"})
        await desk.push([
            quote_msg("AAPL", 99.98, 100.02, T0 + timedelta(seconds=5), 3, 4),
            trade_msg("AAPL", 100.0, 10, T0 + timedelta(seconds=10), 1),
            trade_msg("AAPL", 101.5, 5, T0 + timedelta(seconds=50), 2),
            trade_msg("AAPL", 100.5, 7, T0 + timedelta(seconds=65), 3),
        ])
        await eventually(lambda: desk.feed.ticks == 3 and desk.of(Bar))
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    assert desk.of(Quote) == [Quote("AAPL", ns(T0) + 5 * NS, 99.98, 100.02, 3.0, 4.0)]
    assert desk.of(Tick) == [Tick("AAPL", ns(T0) + 10 * NS, 100.0, 10.0, 0),
                             Tick("AAPL", ns(T0) + 50 * NS, 101.5, 5.0, 0),
                             Tick("AAPL", ns(T0) + 65 * NS, 100.5, 7.0, 0)]
    bar = desk.of(Bar)[0]
    assert (bar.timeframe, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume,
            bar.trades) == ("1m", ns(T0), 100.0, 101.5, 100.0, 101.5, 15.0, 2)
    assert (desk.feed.quotes, desk.feed.state) == (1, FeedState.STOPPED)


def test_crypto_streams_on_its_own_connection(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL", "BTC/USD"])
        await desk.start({"AAPL", "BTC/USD"})
        await desk.push([trade_msg("BTC/USD", 95_000.0, 0.01, T0, 9)], "/v1beta3/crypto/us")
        await eventually(lambda: desk.feed.ticks == 1)
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    assert desk.of(Tick) == [Tick("BTC/USD", ns(T0), 95_000.0, 0.01, 0)]
    assert fake.data_connections == 2


def test_refused_keys_stop_the_feed_with_a_reason_and_no_retry(fake, tmp_path):
    fake.refuse_data_auth = True

    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        await asyncio.wait_for(desk.feed.run(), 10)
        return desk

    desk = asyncio.run(scenario())
    assert desk.feed.state is FeedState.ERROR
    assert desk.states()[-1] == (
        FeedState.ERROR, "failed: Alpaca refused the connection (auth failed); check the keys "
        "in File > Connections")
    assert fake.data_connections == 1


def test_subscribe_and_unsubscribe_follow_the_watchlist_while_the_loop_keeps_turning(
        fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        await desk.start({"AAPL"})
        turns = 0

        async def heartbeat():
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        beat = asyncio.ensure_future(heartbeat())
        await desk.feed.subscribe(["MSFT"])
        after_subscribe = (fake.subscriptions(), fake.subscriptions("quotes"), turns > 0)
        await desk.feed.unsubscribe(["AAPL"])
        await eventually(lambda: fake.subscriptions() == {"MSFT"})
        await desk.push([trade_msg("MSFT", 480.0, 1, T0, 1)])
        await eventually(lambda: desk.feed.ticks == 1)
        beat.cancel()
        await desk.stop()
        return desk, after_subscribe

    desk, after_subscribe = asyncio.run(scenario())
    assert after_subscribe == ({"AAPL", "MSFT"}, {"AAPL", "MSFT"}, True)
    assert desk.of(Tick) == [Tick("MSFT", ns(T0), 480.0, 1.0, 0)]


def test_a_dropped_connection_reconnects_after_a_second_and_subscribes_again(fake, tmp_path):
    async def scenario():
        time = FakeTime()
        desk = Desk(fake, tmp_path, ["AAPL"], time=time)
        await desk.start({"AAPL"})
        await asyncio.to_thread(fake.drop_data_clients)
        await eventually(lambda: fake.data_connections == 2
                         and fake.subscriptions() == {"AAPL"})
        await eventually(lambda: desk.feed.state is FeedState.LIVE)
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    states = [state for state, _ in desk.states()]
    assert states == [FeedState.CONNECTING, FeedState.LIVE, FeedState.RECONNECTING,
                      FeedState.CONNECTING, FeedState.LIVE, FeedState.STOPPED]
    assert desk.states()[2][1].endswith("reconnecting in 1 s")
    assert desk.feed.stocks.delays == [1.0]


def test_a_disconnect_storm_backs_off_exponentially_then_stops_at_the_hourly_cap(
        fake, tmp_path):
    fake.drop_after_subscribe = True

    async def scenario():
        time = FakeTime()
        desk = Desk(fake, tmp_path, ["AAPL"], time=time,
                    resilience=Resilience(stale_after_s=None, max_reconnects_per_hour=7))
        await asyncio.wait_for(desk.feed.run(), 30)
        return desk, time

    desk, time = asyncio.run(scenario())
    assert desk.feed.stocks.delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert time.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert fake.data_connections == 8  # the first connection and seven reconnects
    state, detail = desk.states()[-1]
    assert state is FeedState.ERROR
    assert detail.startswith("failed: 7 reconnects in the last hour (")
    assert detail.endswith("); stopped so as not to hammer the server")


def test_backoff_delays_are_jittered_within_a_fifth_and_kept_between_1_and_30_seconds():
    low = Backoff(Resilience(), rng=lambda: 0.0)
    high = Backoff(Resilience(), rng=lambda: 1.0)
    assert [low.delay(n) for n in range(1, 8)] == [1.0, 1.6, 3.2, 6.4, 12.8, 24.0, 24.0]
    assert [high.delay(n) for n in range(1, 8)] == [1.2, 2.4, 4.8, 9.6, 19.2, 30.0, 30.0]


def test_the_reconnect_cap_counts_only_the_last_hour():
    budget = ReconnectBudget(2)
    assert [budget.allow(t) for t in (0.0, 10.0, 20.0, 3_599.0, 3_600.0, 3_610.0, 3_611.0)] \
        == [True, True, False, False, True, True, False]


def test_a_silent_server_is_reconnected_by_the_watchdog_which_waits_longer_each_time(
        fake, tmp_path):
    fake.mute_data = True

    async def scenario():
        time = FakeTime()
        desk = Desk(fake, tmp_path, ["BTC/USD"], time=time,  # crypto: always in session
                    resilience=Resilience(stale_after_s=5.0, check_every_s=1.0))
        desk.task = asyncio.ensure_future(desk.feed.run())
        await eventually(lambda: fake.data_connections >= 4)
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    states = desk.states("alpaca crypto")
    assert states[:4] == [(FeedState.CONNECTING, ""), (FeedState.LIVE, ""),
                          (FeedState.STALE, "no data for 5 s"),
                          (FeedState.RECONNECTING, "no data for 5 s; reconnecting in 1 s")]
    stale = [detail for state, detail in states if state is FeedState.STALE]
    assert stale[:3] == ["no data for 5 s", "no data for 10 s", "no data for 20 s"]


def test_bad_prints_are_quarantined_counted_and_never_published(fake, tmp_path):
    t = [T0 + timedelta(seconds=s) for s in range(10)]

    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        await desk.start({"AAPL"})
        await desk.push([
            trade_msg("AAPL", 100.0, 10, t[1], 1),
            trade_msg("AAPL", math.nan, 10, t[2], 2),
            trade_msg("AAPL", -5.0, 10, t[2], 3),
            trade_msg("AAPL", 150.0, 10, t[3], 4),  # 50% from 100
            trade_msg("AAPL", 100.5, 10, t[0], 5),  # before the last print
            trade_msg("AAPL", 100.0, 10, t[1], 1),  # a resend
            trade_msg("AAPL", 100.25, 10, t[4], 6),
            quote_msg("AAPL", 0.0, 100.3, t[4]),
        ])
        await eventually(lambda: len(desk.of(TickQuarantined)) == 6)
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    assert [tick.price for tick in desk.of(Tick)] == [100.0, 100.25]
    assert [(q.reason, q.total) for q in desk.of(TickQuarantined)] == [
        ("bad price", 1), ("bad price", 2), ("jump", 3), ("out of order", 4),
        ("duplicate", 5), ("bad quote", 6)]
    assert desk.feed.validator.counts == {"bad price": 2, "jump": 1, "out of order": 1,
                                          "duplicate": 1, "bad quote": 1}


def test_a_real_jump_is_accepted_once_three_prints_agree_on_the_new_level():
    validator = TickValidator(max_jump_pct=10.0)
    results = [validator.trade("X", i, price, 1.0, i)[0]
               for i, price in enumerate([100.0, 130.0, 131.0, 130.5, 131.5])]
    assert results == ["", "jump", "jump", "", ""]


def test_a_gap_after_a_reconnect_is_backfilled_with_no_duplicate_bars(fake, tmp_path):
    minute = timedelta(minutes=1)
    fake.bars["AAPL"] = [
        {"t": (T0 + i * minute).isoformat().replace("+00:00", "Z"), "o": 100.0 + i,
         "h": 100.5 + i, "l": 99.5 + i, "c": 100.25 + i, "v": 100, "n": 4, "vw": 100.0 + i}
        for i in range(10)]

    async def scenario():
        time = FakeTime()
        desk = Desk(fake, tmp_path, ["AAPL"], time=time, timeframes=("1m", "5m"),
                    backfill=True)
        await desk.start({"AAPL"})
        await desk.push([trade_msg("AAPL", 100.0, 10, T0 + timedelta(seconds=10), 1),
                         trade_msg("AAPL", 101.0, 10, T0 + timedelta(seconds=70), 2)])
        await eventually(lambda: desk.feed.ticks == 2)
        await asyncio.to_thread(fake.drop_data_clients)
        await eventually(lambda: desk.feed.gap_filler.published == 9)
        again = await desk.feed.gap_filler.fill(["AAPL"], ns(T0) + 70 * NS,
                                                ns(T0 + 10 * minute))
        await desk.stop()
        return desk, again

    desk, again = asyncio.run(scenario())
    one = [(b.ts - ns(T0)) // (60 * NS) for b in desk.bars.history("AAPL", "1m")]
    assert one == list(range(10))  # 14:30 and 14:31 live, 14:32-14:39 from history
    five = desk.bars.history("AAPL", "5m")
    assert [(b.ts - ns(T0)) // (60 * NS) for b in five] == [0, 5]
    filled = five[1]
    assert (filled.open, filled.high, filled.low, filled.close, filled.volume, filled.trades) \
        == (105.0, 109.5, 104.5, 109.25, 500.0, 20)
    assert again == 0


def test_a_stop_before_the_feed_runs_is_honoured_and_nothing_connects(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL", "BTC/USD"])
        desk.feed.stop()
        await asyncio.wait_for(desk.feed.run(), 10)
        return desk

    desk = asyncio.run(scenario())
    assert desk.feed.state is FeedState.STOPPED
    assert fake.data_connections == 0


def test_a_malformed_message_is_quarantined_and_the_stream_goes_on(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        await desk.start({"AAPL"})
        broken = trade_msg("AAPL", 100.0, 1, T0, 1)
        broken["p"] = "a hundred"
        missing = trade_msg("AAPL", 100.0, 1, T0, 2)
        del missing["s"]
        await desk.push([broken, missing, trade_msg("AAPL", 100.5, 2, T0, 3)])
        await eventually(lambda: desk.feed.ticks == 1)
        await desk.stop()
        return desk

    desk = asyncio.run(scenario())
    assert [(q.reason, q.detail) for q in desk.of(TickQuarantined)] == [
        ("malformed", "malformed trade (ValueError: could not convert string to float: "
                      "'a hundred')"),
        ("malformed", "malformed trade (KeyError: 's')")]
    assert desk.of(Tick) == [Tick("AAPL", ns(T0), 100.5, 2.0, 0)]
    assert fake.data_connections == 1  # no reconnect


def test_a_symbol_added_as_the_feed_starts_is_subscribed_once_it_is_live(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, ["AAPL"])
        desk.task = asyncio.ensure_future(desk.feed.run())
        await desk.feed.subscribe(["MSFT"])  # before the connection is live
        await eventually(lambda: fake.subscriptions() == {"AAPL", "MSFT"})
        await desk.stop()

    asyncio.run(scenario())
