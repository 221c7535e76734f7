"""Tick -> bar aggregation on a SimClock, driven exactly as the feeds drive it.

Session times used below (worked out from the exchange rules, see test_sessions):
- us_equity 2026-11-02 (Monday, EST): 14:30-21:00 UTC.
- us_equity 2026-11-27 (day after Thanksgiving, early close): 14:30-18:00 UTC.
- cme_globex Monday 2026-11-30: 2026-11-29 23:00 UTC (17:00 CT Sunday) - 22:00 UTC.
- cme_globex Tuesday 2026-12-01: 2026-11-30 23:00 UTC - 2026-12-01 22:00 UTC.
- cme_globex Wednesday 2026-07-15 (CDT): 2026-07-14 22:00 UTC - 21:00 UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from workstation.bars import BarEngine, Timeframe, make_aggregator
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.model import AssetClass, Bar, BarFlag, Instrument, PartialBar, Tick

NQ = Instrument("NQ", 0.25, 20.0, 1.0, AssetClass.FUTURE, "USD", "cme_globex")
SPY = Instrument("SPY", 0.01, 1.0, 1.0, AssetClass.EQUITY, "USD", "us_equity")

FIRST = BarFlag.SESSION_FIRST
LAST = BarFlag.SESSION_LAST
NONE = BarFlag.NONE
MS = 1_000_000


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * 10**9


class Rig:
    """A SimClock, a bus and a BarEngine, fed the way the feeds feed them."""

    def __init__(self, start_ns: int, *series: tuple[Instrument, str],
                 clock_type: type[SimClock] = SimClock) -> None:
        self.clock = clock_type(start_ns)
        self.bus = EventBus()
        self.engine = BarEngine(self.bus, self.clock)
        self.bars: list[Bar] = []
        self.partials: list[PartialBar] = []
        self.bus.subscribe(Bar, self.bars.append)
        self.bus.subscribe(PartialBar, self.partials.append)
        for instrument, timeframe in series:
            self.engine.add(instrument, timeframe)

    def trade(self, symbol: str, ts: int, price: float, size: float) -> None:
        self.clock.advance_to(ts)
        self.bus.publish(Tick(symbol, ts, price, size))
        assert self.bus.errors == 0, [s.last_error for s in self.bus.stats() if s.errors]

    def advance_to(self, ts: int) -> None:
        self.clock.advance_to(ts)


def bar(symbol: str, timeframe: str, ts: int, end: int, ohlc: tuple[float, float, float, float],
        volume: float, trades: int, flags: int) -> Bar:
    return Bar(symbol, timeframe, ts, end, *ohlc, volume, trades, int(flags))


# -- time bars -----------------------------------------------------------------------


def test_one_minute_bar_has_exact_ohlcv_and_trade_count():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 0), 100.00, 5)
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 15), 100.50, 3)
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 30), 99.75, 2)
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 59) + 500 * MS, 100.25, 10)

    rig.advance_to(utc(2026, 11, 2, 14, 31))

    assert rig.bars == [
        bar("SPY", "1m", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 31),
            (100.00, 100.50, 99.75, 100.25), 20.0, 4, FIRST),
    ]
    assert rig.engine.history("SPY", "1m") == rig.bars
    assert rig.engine.bars_closed == 1


def test_bar_closes_on_timer_when_no_tick_follows():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 35, 10), 101.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 14, 35, 40), 101.50, 2)

    rig.advance_to(utc(2026, 11, 2, 14, 36) - 1)
    assert rig.bars == []
    assert rig.engine.partial("SPY", "1m") == bar(
        "SPY", "1m", utc(2026, 11, 2, 14, 35), utc(2026, 11, 2, 14, 36),
        (101.00, 101.50, 101.00, 101.50), 3.0, 2, FIRST)

    rig.advance_to(utc(2026, 11, 2, 14, 36))
    assert rig.bars == [
        bar("SPY", "1m", utc(2026, 11, 2, 14, 35), utc(2026, 11, 2, 14, 36),
            (101.00, 101.50, 101.00, 101.50), 3.0, 2, FIRST),
    ]
    assert rig.engine.partial("SPY", "1m") is None

    rig.advance_to(utc(2026, 11, 2, 16))
    assert len(rig.bars) == 1


def test_bar_closes_on_timer_even_when_the_clock_jumps_far_past_its_end():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "5m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 31), 100.00, 1)

    rig.advance_to(utc(2026, 11, 2, 19))

    assert [(b.ts, b.end) for b in rig.bars] == [
        (utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 35)),
    ]


def test_tick_exactly_on_a_bar_boundary_opens_the_next_bar():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 30), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 14, 31), 100.10, 2)
    rig.advance_to(utc(2026, 11, 2, 14, 32))

    assert rig.bars == [
        bar("SPY", "1m", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 31),
            (100.00,) * 4, 1.0, 1, FIRST),
        bar("SPY", "1m", utc(2026, 11, 2, 14, 31), utc(2026, 11, 2, 14, 32),
            (100.10,) * 4, 2.0, 1, NONE),
    ]


class EarlyTimerClock(SimClock):
    """A clock whose timers run 1 ms before they are due, as LiveClock's may: it turns a
    wall-clock time into an asyncio delay, and asyncio runs a callback up to one clock
    resolution early (15.6 ms on Windows before Python 3.13), on a monotonic clock that
    NTP slewing or stepping moves apart from the wall clock the engine reads."""

    def call_at(self, ts_ns: int, callback):
        return super().call_at(ts_ns - MS, callback)


def test_bar_still_closes_when_a_live_timer_fires_slightly_early():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"), clock_type=EarlyTimerClock)
    rig.trade("SPY", utc(2026, 11, 2, 14, 35, 10), 101.00, 1)

    rig.advance_to(utc(2026, 11, 2, 14, 40))

    assert [(b.ts, b.end) for b in rig.bars] == [
        (utc(2026, 11, 2, 14, 35), utc(2026, 11, 2, 14, 36)),
    ]


def test_interval_without_ticks_makes_no_bar_and_next_bar_starts_on_its_own_boundary():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 5), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 14, 33, 20), 101.00, 2)
    rig.trade("SPY", utc(2026, 11, 2, 14, 33, 50), 100.50, 4)

    rig.advance_to(utc(2026, 11, 2, 14, 40))

    assert rig.bars == [
        bar("SPY", "1m", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 31),
            (100.00, 100.00, 100.00, 100.00), 1.0, 1, FIRST),
        bar("SPY", "1m", utc(2026, 11, 2, 14, 33), utc(2026, 11, 2, 14, 34),
            (101.00, 101.00, 100.50, 100.50), 6.0, 2, NONE),
    ]


def test_one_hour_bars_on_us_equity_start_at_the_session_open_not_the_utc_hour():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1h"))
    rig.trade("SPY", utc(2026, 11, 2, 15, 10), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 15, 29, 59), 102.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 16, 45), 103.00, 1)

    rig.advance_to(utc(2026, 11, 2, 17, 30))

    assert [(b.ts, b.end, b.close) for b in rig.bars] == [
        (utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 15, 30), 102.00),
        (utc(2026, 11, 2, 16, 30), utc(2026, 11, 2, 17, 30), 103.00),
    ]


def test_one_hour_bars_on_cme_start_at_17_chicago_time_the_evening_before():
    rig = Rig(utc(2026, 11, 29, 20), (NQ, "1h"))
    rig.trade("NQ", utc(2026, 11, 29, 23, 0), 21000.00, 2)  # Sunday 17:00 CT, Monday's session
    rig.trade("NQ", utc(2026, 11, 29, 23, 20), 21004.25, 1)

    rig.advance_to(utc(2026, 11, 30, 0))

    assert rig.bars == [
        bar("NQ", "1h", utc(2026, 11, 29, 23), utc(2026, 11, 30, 0),
            (21000.00, 21004.25, 21000.00, 21004.25), 3.0, 2, FIRST),
    ]


def test_one_hour_bars_on_cme_in_summer_start_at_22_utc():
    rig = Rig(utc(2026, 7, 14, 20), (NQ, "1h"))
    rig.trade("NQ", utc(2026, 7, 14, 22, 5), 20000.00, 1)  # 17:05 CDT

    rig.advance_to(utc(2026, 7, 14, 23))

    assert [(b.ts, b.end) for b in rig.bars] == [(utc(2026, 7, 14, 22), utc(2026, 7, 14, 23))]


def test_four_hour_bars_on_cme_are_counted_from_the_session_open_and_cut_at_the_halt():
    # Monday's session 23:00-22:00 UTC: 4h buckets start at 23, 03, 07, 11, 15 and 19 UTC;
    # the last one, 19:00-23:00, is cut to 19:00-22:00 by the daily halt.
    rig = Rig(utc(2026, 11, 29, 20), (NQ, "4h"))
    rig.trade("NQ", utc(2026, 11, 30, 2, 30), 21000.00, 1)
    rig.trade("NQ", utc(2026, 11, 30, 21, 15), 21010.50, 1)

    rig.advance_to(utc(2026, 11, 30, 23))

    assert rig.bars == [
        bar("NQ", "4h", utc(2026, 11, 29, 23), utc(2026, 11, 30, 3),
            (21000.00, 21000.00, 21000.00, 21000.00), 1.0, 1, FIRST),
        bar("NQ", "4h", utc(2026, 11, 30, 19), utc(2026, 11, 30, 22),
            (21010.50, 21010.50, 21010.50, 21010.50), 1.0, 1, LAST),
    ]


def test_last_bar_is_cut_at_the_session_close_and_flagged_session_last():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1h"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 40), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 20, 45), 104.00, 3)
    rig.trade("SPY", utc(2026, 11, 2, 20, 59, 59), 103.50, 2)

    rig.advance_to(utc(2026, 11, 2, 21) - 1)
    assert len(rig.bars) == 1

    rig.advance_to(utc(2026, 11, 2, 21))
    assert rig.bars == [
        bar("SPY", "1h", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 15, 30),
            (100.00, 100.00, 100.00, 100.00), 1.0, 1, FIRST),
        bar("SPY", "1h", utc(2026, 11, 2, 20, 30), utc(2026, 11, 2, 21),
            (104.00, 104.00, 103.50, 103.50), 5.0, 2, LAST),
    ]


def test_last_bar_is_cut_at_an_early_close():
    rig = Rig(utc(2026, 11, 27, 14), (SPY, "1h"))
    rig.trade("SPY", utc(2026, 11, 27, 14, 35), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 27, 17, 45), 101.00, 1)

    rig.advance_to(utc(2026, 11, 27, 18))

    assert [(b.ts, b.end, b.flags) for b in rig.bars] == [
        (utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 15, 30), FIRST),
        (utc(2026, 11, 27, 17, 30), utc(2026, 11, 27, 18), LAST),
    ]


def test_first_bar_of_each_session_is_flagged_session_first():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1h"))
    rig.trade("SPY", utc(2026, 11, 2, 15, 0), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 16, 0), 101.00, 1)
    rig.trade("SPY", utc(2026, 11, 3, 14, 30), 102.00, 1)  # Tuesday's open

    rig.advance_to(utc(2026, 11, 3, 15, 30))

    assert [(b.ts, b.flags) for b in rig.bars] == [
        (utc(2026, 11, 2, 14, 30), FIRST),
        (utc(2026, 11, 2, 15, 30), NONE),
        (utc(2026, 11, 3, 14, 30), FIRST),
    ]


def test_daily_bar_spans_the_session_open_to_close():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1d"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 30), 100.00, 1)
    rig.trade("SPY", utc(2026, 11, 2, 16, 0), 105.00, 2)
    rig.trade("SPY", utc(2026, 11, 2, 18, 0), 98.00, 3)
    rig.trade("SPY", utc(2026, 11, 2, 20, 59, 59), 101.00, 4)

    rig.advance_to(utc(2026, 11, 2, 21) - 1)
    assert rig.bars == []

    rig.advance_to(utc(2026, 11, 2, 21))
    assert rig.bars == [
        bar("SPY", "1d", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 21),
            (100.00, 105.00, 98.00, 101.00), 10.0, 4, FIRST | LAST),
    ]


def test_daily_bar_on_cme_runs_from_sunday_evening_to_the_monday_halt():
    rig = Rig(utc(2026, 11, 29, 20), (NQ, "1d"))
    rig.trade("NQ", utc(2026, 11, 30, 1), 21000.00, 1)
    rig.trade("NQ", utc(2026, 11, 30, 21, 59, 59), 20990.25, 1)

    rig.advance_to(utc(2026, 11, 30, 22))

    assert rig.bars == [
        bar("NQ", "1d", utc(2026, 11, 29, 23), utc(2026, 11, 30, 22),
            (21000.00, 21000.00, 20990.25, 20990.25), 2.0, 2, FIRST | LAST),
    ]


def test_bar_engine_feeds_every_timeframe_of_a_symbol_and_ignores_other_symbols():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "1m"), (SPY, "5m"), (NQ, "1m"))
    rig.trade("SPY", utc(2026, 11, 2, 14, 30, 10), 100.00, 1)
    rig.trade("QQQ", utc(2026, 11, 2, 14, 30, 20), 400.00, 1)  # no aggregator
    rig.trade("SPY", utc(2026, 11, 2, 14, 31, 10), 100.50, 2)

    rig.advance_to(utc(2026, 11, 2, 14, 35))

    assert rig.engine.history("SPY", "1m") == [
        bar("SPY", "1m", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 31),
            (100.00,) * 4, 1.0, 1, FIRST),
        bar("SPY", "1m", utc(2026, 11, 2, 14, 31), utc(2026, 11, 2, 14, 32),
            (100.50,) * 4, 2.0, 1, NONE),
    ]
    assert rig.engine.history("SPY", "5m") == [
        bar("SPY", "5m", utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 35),
            (100.00, 100.50, 100.00, 100.50), 3.0, 2, FIRST),
    ]
    assert rig.engine.history("NQ", "1m") == []


# -- tick and volume bars ----------------------------------------------------------------


def test_tick_bars_close_every_n_trades_and_the_rest_is_cut_at_the_close():
    rig = Rig(utc(2026, 11, 2, 14), (SPY, "3t"))
    prices = [100.00, 101.00, 99.00, 102.00, 103.00, 104.00, 105.00]
    times = [utc(2026, 11, 2, 14, 30, second) for second in range(1, 8)]
    for size, (ts, price) in enumerate(zip(times, prices, strict=True), start=1):
        rig.trade("SPY", ts, price, size)

    assert rig.bars == [
        bar("SPY", "3t", times[0], times[2], (100.00, 101.00, 99.00, 99.00), 6.0, 3, FIRST),
        bar("SPY", "3t", times[3], times[5], (102.00, 104.00, 102.00, 104.00), 15.0, 3, NONE),
    ]

    rig.advance_to(utc(2026, 11, 2, 21))
    assert rig.bars[2:] == [
        bar("SPY", "3t", times[6], utc(2026, 11, 2, 21), (105.00, 105.00, 105.00, 105.00),
            7.0, 1, LAST),
    ]


def test_volume_bar_splits_an_overfilling_trade_and_carries_the_rest_at_the_same_price():
    rig = Rig(utc(2026, 12, 1, 14), (NQ, "10v"))
    t1, t2, t3, t4 = (utc(2026, 12, 1, 14, 30, second) for second in range(4))
    rig.trade("NQ", t1, 21000.00, 4)
    rig.trade("NQ", t2, 21000.25, 4)
    rig.trade("NQ", t3, 21000.50, 5)

    assert rig.bars == [
        bar("NQ", "10v", t1, t3, (21000.00, 21000.50, 21000.00, 21000.50), 10.0, 3, FIRST),
    ]
    forming = rig.engine.partial("NQ", "10v")
    assert forming is not None
    assert (forming.ts, forming.open, forming.high, forming.low, forming.close) == (
        t3, 21000.50, 21000.50, 21000.50, 21000.50)
    assert (forming.volume, forming.trades) == (3.0, 1)

    rig.trade("NQ", t4, 20999.75, 7)
    assert rig.bars[1:] == [
        bar("NQ", "10v", t3, t4, (21000.50, 21000.50, 20999.75, 20999.75), 10.0, 2, NONE),
    ]
    assert rig.engine.partial("NQ", "10v") is None


def test_a_trade_several_times_the_volume_bar_size_fills_whole_bars():
    rig = Rig(utc(2026, 12, 1, 14), (NQ, "10v"))
    ts = utc(2026, 12, 1, 15)
    rig.trade("NQ", ts, 21000.00, 25)

    assert rig.bars == [
        bar("NQ", "10v", ts, ts, (21000.00,) * 4, 10.0, 1, FIRST),
        bar("NQ", "10v", ts, ts, (21000.00,) * 4, 10.0, 1, NONE),
    ]
    forming = rig.engine.partial("NQ", "10v")
    assert forming is not None
    assert (forming.ts, forming.volume, forming.trades) == (ts, 5.0, 1)


# -- outside sessions --------------------------------------------------------------------


def test_tick_outside_any_session_is_not_aggregated_and_is_counted():
    clock = SimClock(utc(2026, 12, 1, 20))
    bus = EventBus()
    bars: list[Bar] = []
    bus.subscribe(Bar, bars.append)
    aggregator = make_aggregator(NQ, Timeframe.parse("1m"), clock, bus.publish)
    bus.subscribe(Tick, aggregator.on_tick)

    def trade(ts: int, price: float, size: float) -> None:
        clock.advance_to(ts)
        bus.publish(Tick("NQ", ts, price, size))

    trade(utc(2026, 12, 1, 22, 30), 21000.00, 1)  # 16:30 CT: the daily halt
    trade(utc(2026, 12, 1, 22, 59, 59), 21001.00, 1)
    clock.advance_to(utc(2026, 12, 1, 23))

    assert bars == []
    assert aggregator.outside_session == 2
    assert aggregator.partial() is None

    trade(utc(2026, 12, 1, 23, 0, 30), 21002.00, 1)  # Wednesday's session has opened
    clock.advance_to(utc(2026, 12, 1, 23, 1))

    assert bars == [
        bar("NQ", "1m", utc(2026, 12, 1, 23), utc(2026, 12, 1, 23, 1),
            (21002.00,) * 4, 1.0, 1, FIRST),
    ]
    assert aggregator.outside_session == 2
    assert bus.errors == 0


def test_count_bars_ignore_ticks_outside_any_session():
    clock = SimClock(utc(2026, 11, 28, 0))
    bus = EventBus()
    bars: list[Bar] = []
    bus.subscribe(Bar, bars.append)
    aggregator = make_aggregator(SPY, Timeframe.parse("2t"), clock, bus.publish)
    bus.subscribe(Tick, aggregator.on_tick)

    for minute in range(3):  # Saturday: no session
        ts = utc(2026, 11, 28, 15, minute)
        clock.advance_to(ts)
        bus.publish(Tick("SPY", ts, 100.0, 1))

    assert bars == []
    assert aggregator.outside_session == 3
    assert bus.errors == 0


# -- timeframes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", Timeframe("5s", "time", 5)),
        ("1m", Timeframe("1m", "time", 60)),
        ("15m", Timeframe("15m", "time", 900)),
        ("1h", Timeframe("1h", "time", 3600)),
        ("1d", Timeframe("1d", "session", 0)),
        ("500t", Timeframe("500t", "tick", 500)),
        ("1000v", Timeframe("1000v", "volume", 1000)),
    ],
)
def test_timeframe_parse_accepts_supported_units(text, expected):
    assert Timeframe.parse(text) == expected


def test_timeframe_interval_is_its_size_in_nanoseconds():
    assert Timeframe.parse("5s").interval_ns == 5_000_000_000
    assert Timeframe.parse("1h").interval_ns == 3_600_000_000_000


@pytest.mark.parametrize("text", ["", "m", "5", "0m", "-1m", "1.5m", "5x", "m5", "1 m", "2d"])
def test_timeframe_parse_rejects_bad_text_with_a_message_naming_it(text):
    with pytest.raises(ValueError, match=rf"^bad timeframe {re.escape(repr(text))}: "):
        Timeframe.parse(text)


# -- partial bars ----------------------------------------------------------------------------


def test_partial_bar_is_published_only_after_watch_partial_and_at_most_every_200_ms():
    t0 = utc(2026, 12, 1, 15)
    rig = Rig(t0 - 1, (NQ, "1m"), (NQ, "5m"))
    rig.trade("NQ", t0, 21000.00, 1)
    assert rig.partials == []

    rig.engine.watch_partial("NQ", "1m")
    offsets_ms = [100, 250, 300, 449, 450, 500, 650]
    for i, offset in enumerate(offsets_ms, start=1):
        rig.trade("NQ", t0 + offset * MS, 21000.00 + i * 0.25, 1)

    minute = (utc(2026, 12, 1, 15), utc(2026, 12, 1, 15, 1))
    assert rig.partials == [
        PartialBar(bar("NQ", "1m", *minute, (21000.00, 21000.25, 21000.00, 21000.25),
                       2.0, 2, FIRST)),
        PartialBar(bar("NQ", "1m", *minute, (21000.00, 21000.75, 21000.00, 21000.75),
                       4.0, 4, FIRST)),
        PartialBar(bar("NQ", "1m", *minute, (21000.00, 21001.50, 21000.00, 21001.50),
                       7.0, 7, FIRST)),
    ]

    rig.engine.watch_partial("NQ", "1m", on=False)
    rig.trade("NQ", t0 + 900 * MS, 21002.00, 1)
    assert len(rig.partials) == 3
