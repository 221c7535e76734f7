"""Replaying ticks and bars through the bus: order, completeness, pause, step, resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import Settings
from workstation.feeds.base import FeedState
from workstation.feeds.replay import ReplayFeed, events_from_file, ticks_from_store
from workstation.model import NS_PER_SECOND, Bar, Tick
from workstation.store import open_store
from workstation.store.ticks import TickColumns

pytestmark = pytest.mark.filterwarnings(
    "ignore:This pattern is interpreted as a regular expression:UserWarning")

# 2026-11-02 14:30:00 UTC
T0 = 1_793_629_800 * NS_PER_SECOND
S = NS_PER_SECOND
MINUTE = 60 * S


def ten_ticks() -> list[Tick]:
    """NQ and ES alternating, one second apart, 0 to 9 s after T0."""
    return [Tick("NQ", T0 + i * S, 21_000.0 + 0.25 * i, 1.0, 1) if i % 2 == 0
            else Tick("ES", T0 + i * S, 6_000.0 + 0.25 * i, 2.0, -1) for i in range(10)]


class Recorder:
    """Subscribes to Tick and Bar; keeps each event with the clock time seen when it arrived."""

    def __init__(self, bus: EventBus, clock: SimClock) -> None:
        self.events: list[Tick | Bar] = []
        self.clock_seen: list[int] = []
        self._clock = clock
        bus.subscribe(Tick, self._record)
        bus.subscribe(Bar, self._record)

    def _record(self, event: Tick | Bar) -> None:
        self.events.append(event)
        self.clock_seen.append(self._clock.now_ns())


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Yield to the loop until ``condition`` holds; fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.001)


async def let_the_loop_run(turns: int = 50) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


def test_at_max_speed_every_tick_is_published_in_order_and_the_clock_follows():
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)
    feed = ReplayFeed([ten_ticks()], bus, clock, speed=None)

    asyncio.run(feed.run())

    assert seen.events == ten_ticks()
    assert seen.clock_seen == [T0 + i * S for i in range(10)]
    assert clock.now_ns() == T0 + 9 * S
    assert (feed.ticks, feed.bars) == (10, 0)
    assert feed.state is FeedState.FINISHED


def test_batches_are_replayed_one_after_another():
    ticks = ten_ticks()
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)

    asyncio.run(ReplayFeed([ticks[:3], [], ticks[3:]], bus, clock, speed=None).run())

    assert seen.events == ticks


def test_pause_then_step_two_publishes_exactly_two_more_and_resume_finishes():
    async def scenario() -> None:
        bus, clock = EventBus(), SimClock()
        seen = Recorder(bus, clock)
        feed = ReplayFeed([ten_ticks()], bus, clock, speed=None)

        def pause_after_third(_tick: Tick) -> None:
            if len(seen.events) == 3:
                feed.pause()

        bus.subscribe(Tick, pause_after_third)
        task = asyncio.get_running_loop().create_task(feed.run())
        await eventually(lambda: len(seen.events) == 3 and feed.state is FeedState.PAUSED)
        await let_the_loop_run()
        assert len(seen.events) == 3
        assert clock.now_ns() == T0 + 2 * S

        feed.step(2)
        await eventually(lambda: len(seen.events) == 5)
        await let_the_loop_run()

        assert seen.events == ten_ticks()[:5]
        assert clock.now_ns() == T0 + 4 * S
        assert feed.state is FeedState.PAUSED
        assert not task.done()

        feed.resume()
        await asyncio.wait_for(task, timeout=10.0)

        assert seen.events == ten_ticks()
        assert feed.state is FeedState.FINISHED

    asyncio.run(scenario())


def test_a_feed_paused_before_it_starts_publishes_only_what_is_stepped():
    async def scenario() -> None:
        bus, clock = EventBus(), SimClock()
        seen = Recorder(bus, clock)
        feed = ReplayFeed([ten_ticks()], bus, clock, speed=None)
        feed.pause()
        task = asyncio.get_running_loop().create_task(feed.run())
        await let_the_loop_run()
        assert seen.events == []
        assert feed.state is FeedState.PAUSED

        feed.step()
        await eventually(lambda: len(seen.events) == 1)
        feed.step(2)
        await eventually(lambda: len(seen.events) == 3)
        await let_the_loop_run()

        assert seen.events == ten_ticks()[:3]
        feed.stop()
        await asyncio.wait_for(task, timeout=10.0)
        assert feed.state is FeedState.STOPPED
        assert seen.events == ten_ticks()[:3]

    asyncio.run(scenario())


def test_stop_ends_a_paused_replay_without_publishing_more():
    async def scenario() -> None:
        bus, clock = EventBus(), SimClock()
        seen = Recorder(bus, clock)
        feed = ReplayFeed([ten_ticks()], bus, clock, speed=None)
        feed.pause()
        task = asyncio.get_running_loop().create_task(feed.run())
        await let_the_loop_run()

        feed.stop()
        await asyncio.wait_for(task, timeout=10.0)

        assert seen.events == []
        assert feed.state is FeedState.STOPPED

    asyncio.run(scenario())


def test_a_paced_replay_at_100x_publishes_everything_in_order():
    # Ten simulated seconds at 100x is about 0.1 s of wall time; only order and
    # completeness are asserted here (timing belongs in bench/).
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)
    last = Tick("NQ", T0 + 10 * S, 21_002.5, 1.0, 1)
    feed = ReplayFeed([[*ten_ticks(), last]], bus, clock, speed=100.0)

    asyncio.run(asyncio.wait_for(feed.run(), timeout=30.0))

    assert seen.events == [*ten_ticks(), last]
    assert seen.clock_seen == [T0 + i * S for i in range(11)]
    assert feed.speed == 100.0
    assert feed.state is FeedState.FINISHED


def test_the_backpressure_hook_is_awaited_after_every_2048_events():
    calls = []

    async def backpressure() -> None:
        calls.append(len(seen.events))

    ticks = [Tick("NQ", T0 + i * 1_000, 21_000.0, 1.0, 1) for i in range(5_000)]
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)

    asyncio.run(ReplayFeed([ticks], bus, clock, speed=None, backpressure=backpressure).run())

    assert calls == [2_048, 4_096]
    assert len(seen.events) == 5_000


# -- sources --------------------------------------------------------------------------------
def test_a_tick_csv_replays_in_time_order_across_symbols(tmp_path: Path):
    path = tmp_path / "ticks.csv"
    path.write_text("ts,symbol,price,size,side\n"
                    "2026-11-02T14:30:02Z,NQ,21000.50,2,buy\n"
                    "2026-11-02T14:30:01Z,ES,6000.25,1,sell\n"
                    "2026-11-02T14:30:03Z,ES,6000.50,3,buy\n"
                    "2026-11-02T14:30:04Z,NQ,21000.25,4,sell\n", encoding="utf-8")
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)
    source = events_from_file(path, Settings().instrument_map())

    asyncio.run(ReplayFeed(source, bus, clock, speed=None).run())

    assert seen.events == [
        Tick("ES", T0 + 1 * S, 6_000.25, 1.0, -1),
        Tick("NQ", T0 + 2 * S, 21_000.50, 2.0, 1),
        Tick("ES", T0 + 3 * S, 6_000.50, 3.0, 1),
        Tick("NQ", T0 + 4 * S, 21_000.25, 4.0, -1),
    ]
    assert clock.now_ns() == T0 + 4 * S


def test_a_bar_csv_replays_as_closed_bars(tmp_path: Path):
    path = tmp_path / "bars.csv"
    path.write_text("ts,symbol,open,high,low,close,volume,trades\n"
                    "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120,9\n"
                    "2026-11-02T14:31:00Z,NQ,21001.25,21001.50,21000.50,21000.75,80,7\n",
                    encoding="utf-8")
    bus, clock = EventBus(), SimClock()
    seen = Recorder(bus, clock)
    feed = ReplayFeed(events_from_file(path, Settings().instrument_map(), timeframe="1m"),
                      bus, clock, speed=None)

    asyncio.run(feed.run())

    assert seen.events == [
        Bar("NQ", "1m", T0, T0 + MINUTE, 21_000.00, 21_002.00, 20_999.75, 21_001.25, 120.0, 9),
        Bar("NQ", "1m", T0 + MINUTE, T0 + 2 * MINUTE, 21_001.25, 21_001.50, 21_000.50,
            21_000.75, 80.0, 7),
    ]
    assert (feed.ticks, feed.bars) == (0, 2)


def test_ticks_stored_in_the_database_replay_in_time_order(tmp_path: Path):
    store = open_store(tmp_path / "bracket.sqlite")
    try:
        store.write([("NQ", TickColumns([T0 + 0 * S, T0 + 3 * S], [21_000.0, 21_000.75],
                                        [1.0, 2.0], [1, -1])),
                     ("ES", TickColumns([T0 + 1 * S, T0 + 2 * S], [6_000.0, 6_000.25],
                                        [3.0, 4.0], [-1, 0]))], [])
        store.write([("NQ", TickColumns([T0 + 4 * S], [21_001.0], [5.0], [1]))], [])
        bus, clock = EventBus(), SimClock()
        seen = Recorder(bus, clock)

        asyncio.run(ReplayFeed(ticks_from_store(store, ["NQ", "ES"]), bus, clock,
                               speed=None).run())

        assert seen.events == [
            Tick("NQ", T0 + 0 * S, 21_000.0, 1.0, 1),
            Tick("ES", T0 + 1 * S, 6_000.0, 3.0, -1),
            Tick("ES", T0 + 2 * S, 6_000.25, 4.0, 0),
            Tick("NQ", T0 + 3 * S, 21_000.75, 2.0, -1),
            Tick("NQ", T0 + 4 * S, 21_001.0, 5.0, 1),
        ]
        assert clock.now_ns() == T0 + 4 * S
    finally:
        store.close()


def test_a_store_replay_honours_symbols_and_its_time_window(tmp_path: Path):
    store = open_store(tmp_path / "bracket.sqlite")
    try:
        store.write([("NQ", TickColumns([T0 + i * S for i in range(6)],
                                        [21_000.0 + 0.25 * i for i in range(6)],
                                        [1.0] * 6, [1] * 6)),
                     ("ES", TickColumns([T0 + 2 * S], [6_000.0], [1.0], [1]))], [])
        bus, clock = EventBus(), SimClock()
        seen = Recorder(bus, clock)

        source = ticks_from_store(store, ["NQ"], start_ns=T0 + 2 * S, end_ns=T0 + 4 * S)
        asyncio.run(ReplayFeed(source, bus, clock, speed=None).run())

        assert seen.events == [Tick("NQ", T0 + 2 * S, 21_000.5, 1.0, 1),
                               Tick("NQ", T0 + 3 * S, 21_000.75, 1.0, 1)]
    finally:
        store.close()
