"""The embedded simulated market: deterministic, on the tick grid, and session aware."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import Settings
from workstation.feeds.base import FeedState
from workstation.feeds.sim import SimFeed, default_start_ns
from workstation.model import NS_PER_SECOND, Quote, Tick, datetime_to_ns
from workstation.sessions import get_schedule

S = NS_PER_SECOND


def utc_ns(*parts: int) -> int:
    return datetime_to_ns(datetime(*parts, tzinfo=UTC))


# The 2026-11-02 US equity open: 09:30 EST = 14:30 UTC.
OPEN_2026_11_02 = utc_ns(2026, 11, 2, 14, 30)


def default_instruments():
    return [(item.instrument(), item.sim) for item in Settings().instruments if item.sim]


class Run:
    """One simulated run at max speed; every Tick and Quote in publication order."""

    def __init__(self, *, seed: int, start_ns: int, seconds: int) -> None:
        self.events: list[Tick | Quote] = []
        self.clock = SimClock()
        bus = EventBus()
        bus.subscribe(Tick, self.events.append)
        bus.subscribe(Quote, self.events.append)
        self.feed = SimFeed(default_instruments(), bus, self.clock, seed=seed, start_ns=start_ns,
                            speed=None, duration_ns=seconds * S)
        self.clock_at_publish: list[int] = []
        bus.subscribe(Tick, lambda tick: self.clock_at_publish.append(self.clock.now_ns()))
        asyncio.run(self.feed.run())

    @property
    def ticks(self) -> list[Tick]:
        return [event for event in self.events if type(event) is Tick]

    @property
    def quotes(self) -> list[Quote]:
        return [event for event in self.events if type(event) is Quote]


@pytest.fixture(scope="module")
def five_minutes() -> Run:
    return Run(seed=11, start_ns=OPEN_2026_11_02, seconds=300)


@pytest.fixture(scope="module")
def across_the_close() -> Run:
    """20:50 to 22:10 UTC on 2026-11-02: NYSE closes at 21:00, CME halts at 22:00."""
    return Run(seed=3, start_ns=utc_ns(2026, 11, 2, 20, 50), seconds=80 * 60)


def test_the_us_equity_open_on_2026_11_02_is_14_30_utc():
    session = get_schedule("us_equity").next_session(utc_ns(2026, 11, 2, 5, 0))

    assert session.open_ns == OPEN_2026_11_02
    assert session.close_ns == utc_ns(2026, 11, 2, 21, 0)


def test_the_same_seed_gives_the_identical_sequence_of_ticks_and_quotes(five_minutes):
    again = Run(seed=11, start_ns=OPEN_2026_11_02, seconds=300)

    assert len(five_minutes.events) > 1_000
    assert again.events == five_minutes.events
    assert [type(e) for e in again.events] == [type(e) for e in five_minutes.events]


def test_a_different_seed_gives_a_different_sequence(five_minutes):
    other = Run(seed=12, start_ns=OPEN_2026_11_02, seconds=300)

    assert other.events != five_minutes.events


def test_every_default_instrument_trades_in_the_first_five_minutes(five_minutes):
    counts = Counter(tick.symbol for tick in five_minutes.ticks)

    assert set(counts) == {"NQ", "ES", "AAPL", "MSFT", "BTC/USD"}
    assert five_minutes.feed.ticks == len(five_minutes.ticks)
    assert five_minutes.feed.quotes == len(five_minutes.quotes)


def test_events_are_published_in_time_order_within_the_run(five_minutes):
    times = [event.ts for event in five_minutes.events]

    assert times == sorted(times)
    assert times[0] >= OPEN_2026_11_02
    assert times[-1] < OPEN_2026_11_02 + 300 * S


def test_every_price_bid_and_ask_is_on_its_instruments_tick_grid(five_minutes):
    instruments = Settings().instrument_map()

    off_grid = [tick for tick in five_minutes.ticks
                if not instruments[tick.symbol].on_tick_grid(tick.price)]
    off_grid += [quote for quote in five_minutes.quotes
                 if not (instruments[quote.symbol].on_tick_grid(quote.bid)
                         and instruments[quote.symbol].on_tick_grid(quote.ask))]

    assert off_grid == []


def test_every_quote_has_its_ask_above_its_bid(five_minutes):
    crossed = [quote for quote in five_minutes.quotes if not quote.ask > quote.bid]

    assert crossed == []


def test_sizes_are_positive_multiples_of_the_lot_size(five_minutes):
    instruments = Settings().instrument_map()

    bad = [tick for tick in five_minutes.ticks
           if tick.size <= 0 or instruments[tick.symbol].round_size(tick.size) != tick.size]

    assert bad == []


def test_every_trade_prints_at_the_bid_or_ask_of_the_quote_in_force(five_minutes):
    in_force: dict[str, Quote] = {}
    mismatched = []
    for event in five_minutes.events:
        if type(event) is Quote:
            in_force[event.symbol] = event
            continue
        quote = in_force.get(event.symbol)
        expected = None if quote is None else quote.ask if event.side > 0 else quote.bid
        if quote is None or event.price != expected or event.side not in (1, -1):
            mismatched.append((event, quote))

    assert mismatched == []


def test_the_clock_is_at_each_ticks_time_when_it_is_published(five_minutes):
    assert five_minutes.clock_at_publish == [tick.ts for tick in five_minutes.ticks]


def test_the_clock_ends_at_the_end_time(five_minutes):
    assert five_minutes.clock.now_ns() == OPEN_2026_11_02 + 300 * S
    assert five_minutes.feed.state is FeedState.FINISHED


def test_equities_stop_trading_at_the_nyse_close(across_the_close):
    close = utc_ns(2026, 11, 2, 21, 0)
    equity = [tick for tick in across_the_close.ticks if tick.symbol in ("AAPL", "MSFT")]

    assert any(tick.ts < close for tick in equity)
    assert [tick for tick in equity if tick.ts >= close] == []
    assert [quote for quote in across_the_close.quotes
            if quote.symbol in ("AAPL", "MSFT") and quote.ts >= close] == []


def test_futures_trade_after_the_equity_close_until_the_cme_halt(across_the_close):
    halt = utc_ns(2026, 11, 2, 22, 0)
    nq = [tick.ts for tick in across_the_close.ticks if tick.symbol == "NQ"]

    assert any(utc_ns(2026, 11, 2, 21, 0) <= ts < utc_ns(2026, 11, 2, 21, 5) for ts in nq)
    assert any(utc_ns(2026, 11, 2, 21, 55) <= ts < halt for ts in nq)
    assert [ts for ts in nq if ts >= halt] == []


def test_crypto_keeps_trading_through_the_cme_halt(across_the_close):
    halt = utc_ns(2026, 11, 2, 22, 0)

    assert any(tick.ts >= halt for tick in across_the_close.ticks if tick.symbol == "BTC/USD")


def test_a_run_across_the_close_still_ends_at_its_end_time(across_the_close):
    assert across_the_close.clock.now_ns() == utc_ns(2026, 11, 2, 22, 10)


def test_the_start_time_moves_the_clock_before_the_feed_runs():
    clock = SimClock()

    SimFeed(default_instruments(), EventBus(), clock, seed=1, start_ns=OPEN_2026_11_02,
            speed=None, duration_ns=S)

    assert clock.now_ns() == OPEN_2026_11_02


def test_a_feed_without_instruments_is_refused():
    with pytest.raises(ValueError, match="at least one instrument"):
        SimFeed([], EventBus(), SimClock(), seed=1, start_ns=OPEN_2026_11_02)


def test_reference_prices_are_the_configured_prices_on_the_tick_grid():
    feed = SimFeed(default_instruments(), EventBus(), SimClock(), seed=1,
                   start_ns=OPEN_2026_11_02)

    assert feed.reference_prices() == {"NQ": 21_000.0, "ES": 6_000.0, "AAPL": 230.0,
                                       "MSFT": 480.0, "BTC/USD": 95_000.0}


# -- the default start ---------------------------------------------------------------------
@pytest.mark.parametrize(("now", "expected_open"), [
    # A Tuesday morning before the open: Monday's session.
    (utc_ns(2026, 11, 3, 10, 0), utc_ns(2026, 11, 2, 14, 30)),
    # Monday during the session: that session.
    (utc_ns(2026, 11, 2, 15, 0), utc_ns(2026, 11, 2, 14, 30)),
    # A Saturday: Friday's session.
    (utc_ns(2026, 11, 7, 12, 0), utc_ns(2026, 11, 6, 14, 30)),
    # Thanksgiving 2026 (NYSE closed): Wednesday's session.
    (utc_ns(2026, 11, 26, 18, 0), utc_ns(2026, 11, 25, 14, 30)),
    # Summer (EDT): 09:30 New York is 13:30 UTC.
    (utc_ns(2026, 7, 15, 20, 0), utc_ns(2026, 7, 15, 13, 30)),
])
def test_the_default_start_is_the_latest_us_equity_session_open(now, expected_open):
    start = default_start_ns(now)

    assert start == expected_open
    session = get_schedule("us_equity").session_at(start)
    assert session is not None
    assert session.open_ns == start


def test_when_every_market_is_closed_time_jumps_to_the_next_open():
    aapl = [(inst, sim) for inst, sim in default_instruments() if inst.symbol == "AAPL"]
    friday_close = utc_ns(2026, 11, 6, 21, 0)
    monday_open = utc_ns(2026, 11, 9, 14, 30)
    start = friday_close - 60 * S
    end = monday_open + 60 * S
    clock = SimClock()
    bus = EventBus()
    ticks: list[Tick] = []
    bus.subscribe(Tick, ticks.append)
    feed = SimFeed(aapl, bus, clock, seed=4, start_ns=start, speed=None, duration_ns=end - start)

    asyncio.run(feed.run())

    assert any(tick.ts < friday_close for tick in ticks)
    assert any(tick.ts >= monday_open for tick in ticks)
    assert [tick for tick in ticks if friday_close <= tick.ts < monday_open] == []
    assert clock.now_ns() == end
    assert feed.state is FeedState.FINISHED


def test_a_run_entirely_inside_a_closed_market_publishes_nothing_and_ends_on_time():
    aapl = [(inst, sim) for inst, sim in default_instruments() if inst.symbol == "AAPL"]
    saturday = utc_ns(2026, 11, 7, 12, 0)
    clock = SimClock()
    bus = EventBus()
    feed = SimFeed(aapl, bus, clock, seed=4, start_ns=saturday, speed=None,
                   duration_ns=3_600 * S)

    asyncio.run(feed.run())

    assert bus.published == 0
    assert clock.now_ns() == saturday + 3_600 * S
    assert feed.state is FeedState.FINISHED
