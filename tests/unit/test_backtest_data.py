"""Bars for a backtest: generated, stored, from a file; resampled from each session's open."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from workstation.backtest.data import (
    DataProblem,
    file_bars,
    from_rows,
    resample,
    sessions_between,
    sim_bars,
    store_bars,
)
from workstation.config import Settings
from workstation.model import NS_PER_SECOND, Bar, BarFlag, datetime_to_ns
from workstation.store import open_store

MINUTE = 60 * NS_PER_SECOND
SETTINGS = Settings()
NQ = SETTINGS.instrument_map()["NQ"]
NQ_SIM = next(i.sim for i in SETTINGS.instruments if i.symbol == "NQ")
AAPL = SETTINGS.instrument_map()["AAPL"]


def utc(*parts: int) -> int:
    return datetime_to_ns(datetime(*parts, tzinfo=UTC))


def test_a_date_range_is_the_sessions_whose_trading_day_is_in_it():
    sessions = sessions_between("us_equity", date(2026, 11, 26), date(2026, 11, 30))

    # Thanksgiving (26th) is closed, Friday the 27th closes early, the 28th-29th are a weekend
    assert [s.day for s in sessions] == [date(2026, 11, 27), date(2026, 11, 30)]
    assert sessions[0].close_ns == utc(2026, 11, 27, 18, 0)  # 13:00 New York
    with pytest.raises(DataProblem, match="empty date range"):
        sessions_between("us_equity", date(2026, 11, 30), date(2026, 11, 27))


def test_minute_bars_resample_into_buckets_from_the_session_open():
    """NYSE opens 14:30 UTC on 2026-11-02: 5m buckets are 14:30-14:35, 14:35-14:40."""
    sessions = sessions_between("us_equity", date(2026, 11, 2), date(2026, 11, 2))
    rows = [Bar("AAPL", "1m", utc(2026, 11, 2, 14, 30 + i), utc(2026, 11, 2, 14, 31 + i),
                o, h, lo, c, 10.0, 2)
            for i, (o, h, lo, c) in enumerate([(10.0, 10.5, 9.9, 10.2), (10.2, 10.8, 10.1, 10.7),
                                               (10.7, 10.7, 10.0, 10.1), (10.1, 10.2, 9.5, 9.8),
                                               (9.8, 10.0, 9.7, 9.9), (9.9, 11.0, 9.9, 10.9)])]

    five = resample(from_rows("AAPL", "1m", rows), "5m", sessions)

    assert five.ts.tolist() == [utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 14, 35)]
    assert five.end.tolist() == [utc(2026, 11, 2, 14, 35), utc(2026, 11, 2, 14, 40)]
    assert five.open.tolist() == [10.0, 9.9]
    assert five.high.tolist() == [10.8, 11.0]
    assert five.low.tolist() == [9.5, 9.9]
    assert five.close.tolist() == [9.9, 10.9]
    assert five.volume.tolist() == [50.0, 10.0] and five.trades.tolist() == [10, 2]
    assert five.flags.tolist() == [BarFlag.SESSION_FIRST, 0]


def test_a_daily_bar_is_one_session_and_carries_its_dates():
    bars = sim_bars(AAPL, next(i.sim for i in SETTINGS.instruments if i.symbol == "AAPL"),
                    "1d", date(2026, 11, 2), date(2026, 11, 4), seed=3)
    minutes = sim_bars(AAPL, next(i.sim for i in SETTINGS.instruments if i.symbol == "AAPL"),
                       "1m", date(2026, 11, 2), date(2026, 11, 4), seed=3)

    assert len(bars) == 3 and len(minutes) == 3 * 390
    assert bars.ts.tolist() == [utc(2026, 11, d, 14, 30) for d in (2, 3, 4)]
    assert bars.end.tolist() == [utc(2026, 11, d, 21, 0) for d in (2, 3, 4)]
    assert bars.open[0] == minutes.open[0] and bars.close[-1] == minutes.close[-1]
    assert bars.high[1] == minutes.high[390:780].max()


def test_simulated_history_is_the_same_for_the_same_seed_and_on_the_tick_grid():
    first = sim_bars(NQ, NQ_SIM, "1m", date(2026, 11, 2), date(2026, 11, 3), seed=7)
    again = sim_bars(NQ, NQ_SIM, "1m", date(2026, 11, 2), date(2026, 11, 3), seed=7)
    other = sim_bars(NQ, NQ_SIM, "1m", date(2026, 11, 2), date(2026, 11, 3), seed=8)

    assert np.array_equal(first.close, again.close) and not np.array_equal(first.close,
                                                                           other.close)
    prices = np.concatenate([first.open, first.high, first.low, first.close])
    assert np.array_equal(np.round(prices / 0.25) * 0.25, prices)
    assert (first.high >= np.maximum(first.open, first.close)).all()
    assert (first.low <= np.minimum(first.open, first.close)).all()
    assert len(first) == 2 * 23 * 60  # two 23-hour Globex sessions


def test_stored_bars_are_read_as_they_are_or_built_from_stored_minutes(tmp_path):
    store = open_store(tmp_path / "bracket.sqlite")
    start = utc(2026, 11, 2, 14, 30)
    minutes = [Bar("AAPL", "1m", start + i * MINUTE, start + (i + 1) * MINUTE,
                   100.0 + i, 100.5 + i, 99.5 + i, 100.25 + i, 5.0, 1) for i in range(10)]
    try:
        store.write([], [tuple(b) for b in minutes])
        built = store_bars(store, AAPL, "5m", date(2026, 11, 2), date(2026, 11, 2))
        store.write([], [("AAPL", "5m", start, start + 5 * MINUTE, 1.0, 2.0, 0.5, 1.5, 9.0, 3,
                          0)])
        stored = store_bars(store, AAPL, "5m", date(2026, 11, 2), date(2026, 11, 2))
        with pytest.raises(DataProblem, match="no AAPL 5m or 1m bars in the store"):
            store_bars(store, AAPL, "5m", date(2026, 11, 3), date(2026, 11, 3))
    finally:
        store.close()

    assert built.close.tolist() == [104.25, 109.25] and built.open.tolist() == [100.0, 105.0]
    assert stored.close.tolist() == [1.5]  # the stored 5m bar itself


def test_a_futures_file_is_kept_to_trading_days_whose_session_opens_the_evening_before(
        tmp_path):
    """NQ's trading day of 3 November opens at 17:00 Chicago on the 2nd (23:00 UTC): a bar
    then belongs to the 3rd, one at 14:00 Chicago on the 2nd (20:00 UTC) to the 2nd, and
    one at 17:00 Chicago on the 3rd to the 4th, as with simulated and stored bars."""
    path = tmp_path / "nq.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2026-11-02T20:00:00Z,21000,21001,20999,21000.25,5\n"
                    "2026-11-02T23:00:00Z,21001,21002,21000,21001.25,6\n"
                    "2026-11-03T20:00:00Z,21002,21003,21001,21002.25,7\n"
                    "2026-11-03T23:00:00Z,21003,21004,21002,21003.25,8\n", encoding="utf-8")

    bars = file_bars(path, NQ, "1m", date(2026, 11, 3), date(2026, 11, 3))

    assert bars.ts.tolist() == [utc(2026, 11, 2, 23, 0), utc(2026, 11, 3, 20, 0)]
    assert bars.close.tolist() == [21001.25, 21002.25]


def test_a_bar_file_is_validated_and_kept_to_the_range(tmp_path):
    path = tmp_path / "aapl.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2026-11-02T14:30:00Z,100,101,99,100.5,10\n"
                    "2026-11-03T14:30:00Z,100.5,102,100,101.5,12\n", encoding="utf-8")

    bars = file_bars(path, AAPL, "1m", date(2026, 11, 3), date(2026, 11, 3))

    assert bars.ts.tolist() == [utc(2026, 11, 3, 14, 30)] and bars.close.tolist() == [101.5]
    with pytest.raises(DataProblem, match="no AAPL bars between"):
        file_bars(path, AAPL, "1m", date(2026, 11, 5), date(2026, 11, 6))
