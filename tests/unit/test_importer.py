"""Importing ticks and bars from CSV and Parquet: all or nothing, with clear messages.

Files are written by hand into tmp_path; the store is a real SQLite file. In a
CSV the header is line 1 and the first data row is line 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workstation.config import Settings
from workstation.importer import ImportProblem, import_file, read_market_file
from workstation.model import NS_PER_SECOND, AssetClass, Instrument
from workstation.store import open_store

pytestmark = pytest.mark.filterwarnings(
    "ignore:This pattern is interpreted as a regular expression:UserWarning")

# 2026-11-02 14:30:00 UTC = 09:30 EST (US daylight saving time ended on 2026-11-01).
T0 = 1_793_629_800 * NS_PER_SECOND
S = NS_PER_SECOND
MINUTE = 60 * S


@pytest.fixture
def instruments():
    return Settings().instrument_map()


@pytest.fixture
def store(tmp_path: Path):
    opened = open_store(tmp_path / "bracket.sqlite")
    yield opened
    opened.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(store, path: Path, instruments, **options) -> str:
    """Import ``path``, expect ImportProblem, check nothing was stored; return the message."""
    with pytest.raises(ImportProblem) as caught:
        import_file(store, path, instruments, **options)
    assert store.tick_count() == 0
    assert store.bar_count() == 0
    return str(caught.value)


def stored_ticks(store, symbols: list[str]) -> list[tuple]:
    return [row for batch in store.iter_ticks(symbols) for row in batch]


GOOD_TICKS = """\
ts,symbol,price,size,side
2026-11-02T14:30:00Z,NQ,21000.25,2,buy
2026-11-02T14:30:01Z,ES,6000.50,1,sell
2026-11-02T14:30:02+00:00,NQ,21000.50,3,
2026-11-02T09:30:03-05:00,ES,6000.75,4,b
"""

BAR_HEADER = "ts,symbol,open,high,low,close,volume\n"


# -- good files ---------------------------------------------------------------------------
def test_a_good_tick_csv_imports_every_row_with_its_symbols_and_time_range(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", GOOD_TICKS)

    summary = import_file(store, path, instruments)

    assert summary.kind == "ticks"
    assert summary.rows == 4
    assert summary.symbols == ["ES", "NQ"]
    assert summary.first_ns == T0
    assert summary.last_ns == T0 + 3 * S
    assert stored_ticks(store, ["NQ", "ES"]) == [
        ("NQ", T0, 21_000.25, 2.0, 1),
        ("ES", T0 + 1 * S, 6_000.50, 1.0, -1),
        ("NQ", T0 + 2 * S, 21_000.50, 3.0, 0),
        ("ES", T0 + 3 * S, 6_000.75, 4.0, 1),
    ]
    assert store.bar_count() == 0


def test_a_tick_file_without_a_symbol_column_takes_the_symbol_option(
        tmp_path, store, instruments):
    path = write(tmp_path, "nq.csv", "timestamp,last,qty\n"
                                     "2026-11-02T14:30:00Z,21000.25,1\n"
                                     "2026-11-02T14:30:05Z,21000.00,2\n")

    summary = import_file(store, path, instruments, symbol="NQ")

    assert (summary.rows, summary.symbols) == (2, ["NQ"])
    assert stored_ticks(store, ["NQ"]) == [("NQ", T0, 21_000.25, 1.0, 0),
                                           ("NQ", T0 + 5 * S, 21_000.0, 2.0, 0)]


def test_a_tick_file_without_a_symbol_column_or_option_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "nq.csv", "ts,price,size\n2026-11-02T14:30:00Z,21000.25,1\n")

    message = refused(store, path, instruments)

    assert "nq.csv" in message
    assert "--symbol" in message


def test_a_good_bar_csv_imports_with_its_timeframe(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n"
                 + "2026-11-02T14:31:00Z,NQ,21001.25,21001.50,21000.50,21000.75,80\n")

    summary = import_file(store, path, instruments, timeframe="1m")

    assert summary.kind == "bars"
    assert (summary.rows, summary.symbols) == (2, ["NQ"])
    assert (summary.first_ns, summary.last_ns) == (T0, T0 + MINUTE)
    assert store.tick_count() == 0
    bars = store.load_bars("NQ", "1m")
    assert [(b.ts, b.end, b.open, b.high, b.low, b.close, b.volume, b.trades) for b in bars] == [
        (T0, T0 + MINUTE, 21_000.00, 21_002.00, 20_999.75, 21_001.25, 120.0, 0),
        (T0 + MINUTE, T0 + 2 * MINUTE, 21_001.25, 21_001.50, 21_000.50, 21_000.75, 80.0, 0),
    ]


def test_a_bar_file_keeps_its_trades_column(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", "ts,symbol,open,high,low,close,volume,trades\n"
                 "2026-11-02T14:30:00Z,AAPL,230.00,230.10,229.95,230.05,1500,37\n")

    import_file(store, path, instruments, timeframe="5m")

    (bar,) = store.load_bars("AAPL", "5m")
    assert (bar.ts, bar.end, bar.trades) == (T0, T0 + 5 * MINUTE, 37)


def test_a_good_parquet_tick_file_imports(tmp_path, store, instruments):
    frame = pd.DataFrame({
        "timestamp": pd.to_datetime(["2026-11-02T14:30:00.000", "2026-11-02T14:30:01.500"],
                                    utc=True, format="ISO8601"),
        "symbol": ["AAPL", "AAPL"],
        "price": [230.01, 230.02],
        "size": [100.0, 50.0],
    })
    path = tmp_path / "aapl.parquet"
    frame.to_parquet(path)

    summary = import_file(store, path, instruments)

    assert (summary.kind, summary.rows, summary.symbols) == ("ticks", 2, ["AAPL"])
    assert (summary.first_ns, summary.last_ns) == (T0, T0 + 1_500_000_000)
    assert stored_ticks(store, ["AAPL"]) == [("AAPL", T0, 230.01, 100.0, 0),
                                             ("AAPL", T0 + 1_500_000_000, 230.02, 50.0, 0)]


def test_a_parquet_file_with_naive_times_needs_a_time_zone(tmp_path, store, instruments):
    frame = pd.DataFrame({
        "ts": pd.to_datetime(["2026-11-02 09:30:00", "2026-11-02 09:30:01"]),
        "symbol": ["NQ", "NQ"], "price": [21_000.25, 21_000.5], "size": [1.0, 1.0],
    })
    path = tmp_path / "naive.parquet"
    frame.to_parquet(path)

    message = refused(store, path, instruments)
    assert "naive.parquet" in message
    assert "no time zone" in message

    summary = import_file(store, path, instruments, tz="America/New_York")
    assert (summary.first_ns, summary.last_ns) == (T0, T0 + S)


def test_parquet_problems_are_located_by_row(tmp_path, store, instruments):
    frame = pd.DataFrame({
        "ts": pd.to_datetime(["2026-11-02 14:30:00", "2026-11-02 14:30:01"], utc=True),
        "symbol": ["NQ", "NQ"], "price": [21_000.25, 21_000.10], "size": [1.0, 1.0],
    })
    path = tmp_path / "ticks.parquet"
    frame.to_parquet(path)

    message = refused(store, path, instruments)

    assert "ticks.parquet row 2: price 21000.1 is not a multiple of NQ's tick size 0.25" in message


# -- bad files: each names the file, the line and the problem -------------------------------
def test_a_tick_file_missing_its_size_column_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price\n2026-11-02T14:30:00Z,NQ,21000.25\n")

    message = refused(store, path, instruments)

    assert message == "ticks.csv: ticks need a size column (size, qty or volume)"


def test_a_file_missing_its_time_column_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "symbol,price,size\nNQ,21000.25,1\n")

    message = refused(store, path, instruments)

    assert message.startswith("ticks.csv: missing a time column")


def test_a_bar_file_missing_its_volume_column_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", "ts,symbol,open,high,low,close\n"
                 "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert message == "bars.csv: bars need a volume column"


def test_a_non_numeric_price_is_reported_with_its_line(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,NQ,21000.x,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 3: price '21000.x' is not a number" in message
    assert "line 2" not in message


def test_naive_timestamps_are_refused_without_a_time_zone(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02 09:30:00,NQ,21000.25,1\n"
                 "2026-11-02 09:30:01,NQ,21000.50,1\n")

    message = refused(store, path, instruments)

    assert ("ticks.csv line 2: time '2026-11-02 09:30:00' has no time zone offset" in message)
    assert ("ticks.csv line 3: time '2026-11-02 09:30:01' has no time zone offset" in message)


def test_naive_timestamps_import_in_the_given_time_zone_converted_to_utc(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02 09:30:00,NQ,21000.25,1\n"
                 "2026-11-02 09:30:01,NQ,21000.50,1\n")

    summary = import_file(store, path, instruments, tz="America/New_York")

    # 09:30 EST (UTC-5) on 2026-11-02 is 14:30 UTC.
    assert pd.Timestamp(summary.first_ns, unit="ns", tz="UTC") == pd.Timestamp(
        "2026-11-02 14:30:00", tz="UTC")
    assert (summary.first_ns, summary.last_ns) == (T0, T0 + S)
    assert [ts for _, ts, *_ in stored_ticks(store, ["NQ"])] == [T0, T0 + S]


def test_an_unparseable_time_is_reported_with_its_line(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,NQ,21000.50,1\n"
                 "2026-13-45T14:30:02Z,NQ,21000.75,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 4: cannot read time '2026-13-45T14:30:02Z'" in message


def test_time_going_backwards_is_reported_with_its_line(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:05Z,NQ,21000.50,1\n"
                 "2026-11-02T14:30:03Z,NQ,21000.75,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 4: time goes backwards" in message
    assert "for NQ" in message


def test_time_order_is_checked_per_symbol_so_interleaved_symbols_are_fine(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:05Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,ES,6000.00,1\n"
                 "2026-11-02T14:30:06Z,NQ,21000.50,1\n")

    summary = import_file(store, path, instruments)

    assert (summary.rows, summary.first_ns, summary.last_ns) == (3, T0 + S, T0 + 6 * S)


def test_a_duplicate_tick_row_is_reported_at_the_second_copy(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size,side\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1,buy\n"
                 "2026-11-02T14:30:01Z,NQ,21000.50,2,sell\n"
                 "2026-11-02T14:30:01Z,NQ,21000.50,2,sell\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 4: exact duplicate of an earlier row" in message
    assert "line 3" not in message


def test_two_bars_with_the_same_symbol_and_time_are_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n"
                 + "2026-11-02T14:30:00Z,NQ,21001.25,21001.50,21000.50,21000.75,80\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert "bars.csv line 3: a second bar with the same symbol and time" in message


def test_a_non_positive_price_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,NQ,0,1\n"
                 "2026-11-02T14:30:02Z,NQ,-21000.25,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 3: price 0.0 is not positive" in message
    assert "ticks.csv line 4: price -21000.25 is not positive" in message


def test_a_price_off_the_tick_grid_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,NQ,21000.10,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 3: price 21000.1 is not a multiple of NQ's tick size 0.25" in message


def test_a_bar_with_its_high_below_its_close_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n"
                 + "2026-11-02T14:31:00Z,NQ,21001.25,21001.50,21000.50,21002.00,80\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert ("bars.csv line 3: high/low do not contain open and close "
            "(o=21001.25 h=21001.5 l=21000.5 c=21002.0)") in message


def test_a_bar_with_a_price_off_the_grid_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,ES,6000.00,6000.30,5999.75,6000.25,10\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert "bars.csv line 2: high 6000.3 is not a multiple of ES's tick size 0.25" in message


def test_an_unknown_symbol_is_refused_with_its_line(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,ZZZ,10.00,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 3: unknown symbol 'ZZZ'" in message


def test_a_bar_file_without_a_timeframe_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n")

    message = refused(store, path, instruments)

    assert message == "bars.csv holds bars: pass --timeframe (e.g. 1m, 5m, 1d)"


def test_every_problem_message_names_the_full_path_of_the_file(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.10,1\n")

    message = refused(store, path, instruments)

    assert message.startswith(f"cannot import {path}:")


def test_many_problems_are_summarised_after_the_first_twelve(tmp_path, store, instruments):
    rows = "".join(f"2026-11-02T14:30:{i:02d}Z,NQ,21000.10,1\n" for i in range(20))
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n" + rows)

    message = refused(store, path, instruments)

    assert len(re.findall(r"ticks\.csv line \d+: price", message)) == 12
    assert "ticks.csv line 13: price" in message
    assert "ticks.csv line 14: price" not in message
    assert message.endswith("... and 8 more problem(s)")


def test_an_unsupported_file_type_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.txt", GOOD_TICKS)

    message = refused(store, path, instruments)

    assert message == "ticks.txt: unsupported file type '.txt'; use .csv or .parquet"


def test_a_missing_file_is_refused(tmp_path, store, instruments):
    message = refused(store, tmp_path / "nowhere.csv", instruments)

    assert message == f"{tmp_path / 'nowhere.csv'}: no such file"


# -- never twice, never half ---------------------------------------------------------------
def test_the_same_file_is_refused_the_second_time_and_nothing_is_added(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", GOOD_TICKS)
    import_file(store, path, instruments)

    with pytest.raises(ImportProblem) as caught:
        import_file(store, path, instruments)

    assert "ticks.csv was already imported" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert store.tick_count() == 4


def test_the_same_content_under_another_name_is_refused_too(tmp_path, store, instruments):
    import_file(store, write(tmp_path, "ticks.csv", GOOD_TICKS), instruments)

    with pytest.raises(ImportProblem, match=r"copy\.csv was already imported .*\(as ticks\.csv\)"):
        import_file(store, write(tmp_path, "copy.csv", GOOD_TICKS), instruments)

    assert store.tick_count() == 4


def test_a_failed_import_does_not_block_importing_the_corrected_file(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.10,1\n")
    refused(store, path, instruments)

    path.write_text("ts,symbol,price,size\n2026-11-02T14:30:00Z,NQ,21000.25,1\n",
                    encoding="utf-8")
    summary = import_file(store, path, instruments)

    assert summary.rows == 1
    assert store.tick_count() == 1


def test_a_bad_row_anywhere_means_no_row_of_the_file_is_stored(tmp_path, store, instruments):
    good_rows = "".join(f"2026-11-02T14:30:{i:02d}Z,NQ,21000.25,1\n" for i in range(50))
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n" + good_rows
                 + "2026-11-02T14:31:00Z,NQ,-1,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 52: price -1.0 is not positive" in message


def test_read_market_file_returns_validated_utc_nanoseconds(tmp_path, instruments):
    path = write(tmp_path, "ticks.csv", GOOD_TICKS)

    data = read_market_file(path, instruments)

    assert data.kind == "ticks"
    assert data.frame["ts"].tolist() == [T0, T0 + S, T0 + 2 * S, T0 + 3 * S]
    assert data.frame["side"].tolist() == [1, -1, 0, 1]


# -- known bugs ---------------------------------------------------------------------------
def test_a_tick_file_may_call_its_size_column_volume(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,volume\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,3\n")

    summary = import_file(store, path, instruments)

    assert summary.rows == 1
    assert stored_ticks(store, ["NQ"]) == [("NQ", T0, 21_000.25, 3.0, 0)]


def test_an_empty_trades_cell_in_a_bar_file_is_reported_as_an_import_problem(
        tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", "ts,symbol,open,high,low,close,volume,trades\n"
                 "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120,\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert "bars.csv line 2" in message
    assert "trades" in message


def test_a_csv_with_only_a_header_is_refused_as_an_import_problem(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n")

    message = refused(store, path, instruments)

    assert "ticks.csv" in message


# -- missing and unrepresentable times (issue 11, items 4 and 10) ----------------------------
def write_parquet(tmp_path: Path, name: str, columns: dict) -> Path:
    path = tmp_path / name
    pd.DataFrame(columns).to_parquet(path)
    return path


def test_an_empty_time_cell_is_refused_on_its_line_never_stored_as_1677(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 ",NQ,21000.50,1\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 3: the time is missing" in message


def test_a_null_parquet_time_is_refused_with_its_row(tmp_path, store, instruments):
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": pd.to_datetime(["2026-11-02T14:30:00Z", None, "2026-11-02T14:30:02Z"], utc=True),
        "symbol": ["NQ"] * 3, "price": [21_000.25] * 3, "size": [1.0, 2.0, 3.0]})

    message = refused(store, path, instruments)

    assert message == f"cannot import {path}:\n  ticks.parquet row 2: the time is missing"


def test_an_all_null_parquet_time_column_says_so_rather_than_duplicate(
        tmp_path, store, instruments):
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": pd.Series([None, None], dtype="datetime64[ns, UTC]"),
        "symbol": ["NQ", "NQ"], "price": [21_000.25, 21_000.25], "size": [1.0, 1.0]})

    message = refused(store, path, instruments)

    assert message == (f"cannot import {path}:\n  ticks.parquet: the time column is empty: "
                       "none of its 2 rows has a time")
    assert "duplicate" not in message


def test_a_parquet_time_column_of_nothing_but_nulls_says_so_too(tmp_path, store, instruments):
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": [None, None], "symbol": ["NQ", "NQ"], "price": [21_000.25, 21_000.5],
        "size": [1.0, 1.0]})

    message = refused(store, path, instruments)

    assert "ticks.parquet: the time column is empty: none of its 2 rows has a time" in message


def test_times_before_1677_or_after_2262_are_refused_on_their_lines(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "1500-01-01T00:00:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2262-04-12T00:00:00+00:00,NQ,21000.25,2\n")

    message = refused(store, path, instruments)

    assert ("ticks.csv line 2: time '1500-01-01T00:00:00Z' is outside 1677-09-21 to "
            "2262-04-11 UTC, the range of nanosecond timestamps") in message
    assert "ticks.csv line 4: time '2262-04-12T00:00:00+00:00' is outside" in message
    assert "line 3" not in message


def test_a_naive_time_before_1677_is_refused_on_its_line_with_a_time_zone(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02 09:30:00,NQ,21000.25,1\n"
                 "1600-01-01 09:30:00,NQ,21000.25,1\n")

    message = refused(store, path, instruments, tz="America/New_York")

    assert "ticks.csv line 3: time '1600-01-01 09:30:00' is outside 1677-09-21" in message


def test_a_parquet_time_beyond_2262_is_refused_with_its_row(tmp_path, store, instruments):
    stamps = pd.Series(pd.to_datetime(["2026-11-02T14:30:00", "2300-01-01T00:00:00"]),
                       dtype="datetime64[us]").dt.tz_localize("UTC")
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": stamps, "symbol": ["NQ", "NQ"], "price": [21_000.25] * 2, "size": [1.0, 1.0]})

    message = refused(store, path, instruments)

    assert "ticks.parquet row 2: time '2300-01-01 00:00:00+00:00' is outside 1677-09-21" in message


def test_a_time_that_a_clock_change_skips_is_named_as_such(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-03-08 02:30:00,NQ,21000.25,1\n")

    message = refused(store, path, instruments, tz="America/New_York")

    assert ("ticks.csv line 2: time '2026-03-08 02:30:00' does not exist or is ambiguous in "
            "America/New_York (a clock change)") in message


@pytest.mark.parametrize("tz", ["", "Nowhere/City", "America", "../etc", " UTC", "A" * 300])
def test_an_unknown_or_empty_time_zone_is_refused_naming_the_value(
        tmp_path, store, instruments, tz):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02 09:30:00,NQ,21000.25,1\n")

    message = refused(store, path, instruments, tz=tz)

    assert message == (f"--tz {tz!r} is not a known time zone; use a name such as "
                       "America/New_York or UTC")


def test_line_numbers_count_blank_lines_above_the_row(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "\nts,symbol,price,size\n\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "   \n\n"
                 "2026-11-02T14:30:01Z,NQ,21000.10,1\n")

    message = refused(store, path, instruments)

    assert message == (f"cannot import {path}:\n  ticks.csv line 7: price 21000.1 is not a "
                       "multiple of NQ's tick size 0.25")


def test_line_numbers_count_line_breaks_inside_quoted_fields(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size,side\n"
                 '2026-11-02T14:30:00Z,NQ,21000.25,1,"b\nuy"\n'
                 "2026-11-02T14:30:01Z,NQ,-1,1,buy\n")

    message = refused(store, path, instruments)

    assert "ticks.csv line 2: side 'b\\nuy' is not buy or sell" in message
    assert "ticks.csv line 4: price -1.0 is not positive" in message


def test_a_row_with_more_fields_than_the_header_is_refused_on_its_line(
        tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 "2026-11-02T14:30:01Z,NQ,21000.25,1,9\n")

    message = refused(store, path, instruments)

    assert message == "ticks.csv line 4: 5 fields, but the header has 4"


def test_every_row_with_one_field_too_many_is_not_read_as_an_index(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1,9\n")

    message = refused(store, path, instruments)

    assert message == "ticks.csv line 2: 5 fields, but the header has 4"


# -- every number checked for type and range -------------------------------------------------
@pytest.mark.parametrize(("cell", "problem"), [
    ("", "price is missing"),
    ("abc", "price 'abc' is not a number"),
    ("nan", "price 'nan' is not a finite number"),
    ("inf", "price 'inf' is not a finite number"),
    ("-Infinity", "price '-Infinity' is not a finite number"),
    ("1e400", "price '1e400' is not a finite number"),
    ("1e308", "price 1e+308 is above the largest price Bracket stores (1,000,000,000)"),
    ("1000000000.25", "price 1000000000.25 is above the largest price Bracket stores"),
    ("-0.25", "price -0.25 is not positive"),
])
def test_a_price_that_is_not_a_sane_finite_number_is_refused(
        tmp_path, store, instruments, cell, problem):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 f"2026-11-02T14:30:00Z,NQ,{cell},1\n")

    message = refused(store, path, instruments)

    assert f"ticks.csv line 2: {problem}" in message


def test_a_price_too_many_ticks_from_zero_fails_the_grid_check_rather_than_passing_it(
        tmp_path, store):
    fine = Instrument("FINE", 1e-8, 1.0, 1.0, AssetClass.CRYPTO, "USD", "crypto_24_7")
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,FINE,100000,1\n")

    message = refused(store, path, {"FINE": fine})

    assert ("ticks.csv line 2: price 100000.0 is more than 8,796,093,022,208 ticks of 1e-08"
            in message)


@pytest.mark.parametrize(("cell", "problem"), [
    ("2.5", "size 2.5 is not a whole number of NQ contracts"),
    ("1e300", "size 1e+300 is above the largest size per row (1,000,000,000)"),
    ("0", "size 0.0 is not positive"),
    ("-3", "size -3.0 is not positive"),
    ("nan", "size 'nan' is not a finite number"),
    ("", "size is missing"),
])
def test_a_futures_size_must_be_a_sane_whole_number_of_contracts(
        tmp_path, store, instruments, cell, problem):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n"
                 f"2026-11-02T14:30:00Z,NQ,21000.25,{cell}\n")

    message = refused(store, path, instruments)

    assert f"ticks.csv line 2: {problem}" in message


def test_a_size_off_the_lot_size_is_refused_and_a_multiple_of_it_imports(
        tmp_path, store, instruments):
    bad = write(tmp_path, "bad.csv", "ts,symbol,price,size\n"
                "2026-11-02T14:30:00Z,BTC/USD,95000.00,0.00005\n")
    assert ("bad.csv line 2: size 5e-05 is not a multiple of BTC/USD's lot size 0.0001"
            in refused(store, bad, instruments))

    good = write(tmp_path, "good.csv", "ts,symbol,price,size\n"
                 "2026-11-02T14:30:00Z,BTC/USD,95000.01,0.0501\n")
    import_file(store, good, instruments)
    assert stored_ticks(store, ["BTC/USD"]) == [("BTC/USD", T0, 95_000.01, 0.0501, 0)]


@pytest.mark.parametrize(("cell", "problem"), [
    ("1e30", "trades 1e+30 is above the largest count per bar (9,007,199,254,740,992)"),
    ("2.5", "trades 2.5 is not a whole number"),
    ("-1", "trades -1.0 is negative"),
    ("inf", "trades 'inf' is not a finite number"),
    ("many", "trades 'many' is not a number"),
])
def test_a_bar_trade_count_must_be_a_whole_number_within_range(
        tmp_path, store, instruments, cell, problem):
    path = write(tmp_path, "bars.csv", "ts,symbol,open,high,low,close,volume,trades\n"
                 f"2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120,{cell}\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert f"bars.csv line 2: {problem}" in message


@pytest.mark.parametrize(("cell", "problem"), [
    ("-1", "volume -1.0 is negative"),
    ("nan", "volume 'nan' is not a finite number"),
    ("1e16", "volume 1e+16 is above the largest volume per bar (1,000,000,000,000,000)"),
])
def test_a_bar_volume_must_be_finite_non_negative_and_bounded(
        tmp_path, store, instruments, cell, problem):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + f"2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,{cell}\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert f"bars.csv line 2: {problem}" in message


def test_a_bar_price_of_1e308_is_refused_rather_than_passing_the_grid_check(
        tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2026-11-02T14:30:00Z,NQ,21000.00,1e308,20999.75,21001.25,120\n")

    message = refused(store, path, instruments, timeframe="1m")

    assert "bars.csv line 2: high 1e+308 is above the largest price Bracket stores" in message


def test_a_bar_that_would_end_after_2262_is_refused(tmp_path, store, instruments):
    path = write(tmp_path, "bars.csv", BAR_HEADER
                 + "2262-04-11T23:00:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n")

    message = refused(store, path, instruments, timeframe="1d")

    assert "bars.csv line 2: the bar would end after 2262-04-11" in message


def test_parquet_booleans_and_nans_are_not_numbers(tmp_path, store, instruments):
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": pd.to_datetime(["2026-11-02T14:30:00Z", "2026-11-02T14:30:01Z"], utc=True),
        "symbol": ["NQ", "NQ"], "price": [float("nan"), 21_000.25], "size": [True, False]})

    message = refused(store, path, instruments)

    assert "ticks.parquet row 1: price is missing" in message
    assert "ticks.parquet row 1: size True is not a number" in message
    assert "ticks.parquet row 2: size False is not a number" in message


# -- data already stored ---------------------------------------------------------------------
def test_the_same_ticks_with_one_more_trailing_newline_are_refused_naming_the_stored_range(
        tmp_path, store, instruments):
    import_file(store, write(tmp_path, "ticks.csv", GOOD_TICKS), instruments)

    again = write(tmp_path, "again.csv", GOOD_TICKS + "\n")
    with pytest.raises(ImportProblem) as caught:
        import_file(store, again, instruments)

    assert str(caught.value) == (
        f"cannot import {again}:\n  again.csv line 3: ES ticks from "
        "2026-11-02 14:30:01 UTC to 2026-11-02 14:30:03 UTC overlap 2 ES ticks "
        "already stored from 2026-11-02 14:30:01 UTC to 2026-11-02 14:30:03 UTC; "
        "nothing was written (import only the time range that is not stored yet)")
    assert store.tick_count() == 4


def test_ticks_overlapping_only_part_of_a_stored_range_are_refused(tmp_path, store, instruments):
    import_file(store, write(tmp_path, "first.csv", "ts,symbol,price,size\n"
                             "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                             "2026-11-02T14:30:10Z,NQ,21000.50,1\n"), instruments)
    later = write(tmp_path, "later.csv", "ts,symbol,price,size\n"
                  "2026-11-02T14:29:00Z,NQ,21000.00,1\n"
                  "2026-11-02T14:30:05Z,NQ,21000.75,2\n")

    with pytest.raises(ImportProblem, match=r"later\.csv line 3: NQ ticks from .* overlap 2 NQ "
                                            r"ticks already stored"):
        import_file(store, later, instruments)

    assert store.tick_count() == 2


def test_ticks_next_to_a_stored_range_import_and_other_symbols_are_not_affected(
        tmp_path, store, instruments):
    import_file(store, write(tmp_path, "first.csv", "ts,symbol,price,size\n"
                             "2026-11-02T14:30:00Z,NQ,21000.25,1\n"), instruments)

    summary = import_file(store, write(tmp_path, "next.csv", "ts,symbol,price,size\n"
                                       "2026-11-02T14:30:00Z,ES,6000.00,1\n"
                                       "2026-11-02T14:30:00.000000001Z,NQ,21000.50,1\n"),
                          instruments)

    assert summary.rows == 2
    assert stored_ticks(store, ["NQ", "ES"]) == [("NQ", T0, 21_000.25, 1.0, 0),
                                                 ("ES", T0, 6_000.0, 1.0, 0),
                                                 ("NQ", T0 + 1, 21_000.5, 1.0, 0)]


TWO_BARS = (BAR_HEADER
            + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n"
            + "2026-11-02T14:31:00Z,NQ,21001.25,21001.50,21000.50,21000.75,80\n")


def test_bars_identical_to_stored_ones_are_reported_as_already_stored_and_new_ones_added(
        tmp_path, store, instruments):
    import_file(store, write(tmp_path, "bars.csv", TWO_BARS), instruments, timeframe="1m")
    more = write(tmp_path, "more.csv", TWO_BARS
                 + "2026-11-02T14:32:00Z,NQ,21000.75,21001.00,21000.00,21000.25,60\n")

    summary = import_file(store, more, instruments, timeframe="1m")

    assert (summary.rows, summary.already_stored) == (1, 2)
    assert [b.ts for b in store.load_bars("NQ", "1m")] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]


def test_a_bar_file_entirely_stored_already_is_refused_as_such(tmp_path, store, instruments):
    import_file(store, write(tmp_path, "bars.csv", TWO_BARS), instruments, timeframe="1m")

    with pytest.raises(ImportProblem) as caught:
        import_file(store, write(tmp_path, "again.csv", TWO_BARS + "\n"), instruments,
                    timeframe="1m")

    assert str(caught.value) == "again.csv: all 2 bars are already stored; nothing was written"
    assert store.bar_count() == 2


def test_a_bar_differing_from_the_stored_one_is_refused_naming_it_and_nothing_is_written(
        tmp_path, store, instruments):
    import_file(store, write(tmp_path, "bars.csv", TWO_BARS), instruments, timeframe="1m")
    changed = write(tmp_path, "changed.csv", BAR_HEADER
                    + "2026-11-02T14:29:00Z,NQ,21000.00,21000.00,21000.00,21000.00,1\n"
                    + "2026-11-02T14:30:00Z,NQ,21000.00,21002.00,20999.75,21001.25,120\n"
                    + "2026-11-02T14:31:00Z,NQ,21001.25,21001.50,21000.50,21000.75,81\n")

    with pytest.raises(ImportProblem) as caught:
        import_file(store, changed, instruments, timeframe="1m")

    assert str(caught.value) == (
        f"cannot import {changed}:\n  changed.csv line 4: the NQ 1m bar at "
        "2026-11-02 14:31:00 UTC differs from the one already stored (stored "
        "o=21001.25 h=21001.5 l=21000.5 c=21000.75 volume=80.0 trades=0); nothing was written")
    assert store.bar_count() == 2
    assert [b.volume for b in store.load_bars("NQ", "1m")] == [120.0, 80.0]


# -- the Parquet engine --------------------------------------------------------------------
def test_a_missing_parquet_engine_gives_a_clean_message_on_how_to_install_it(tmp_path):
    """A real interpreter in which fastparquet (and pyarrow) cannot be imported."""
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": pd.to_datetime(["2026-11-02T14:30:00Z"], utc=True), "symbol": ["NQ"],
        "price": [21_000.25], "size": [1.0]})
    script = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "sys.modules['fastparquet'] = None\n"
        "from pathlib import Path\n"
        "from workstation.config import Settings\n"
        "from workstation.importer import ImportProblem, read_market_file\n"
        "try:\n"
        "    read_market_file(Path(sys.argv[1]), Settings().instrument_map())\n"
        "except ImportProblem as exc:\n"
        "    print(exc)\n")

    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parents[2], check=False)

    assert done.stderr == ""
    assert done.stdout == ("ticks.parquet: reading Parquet needs the fastparquet package, which "
                           "is not installed; install it with `pip install fastparquet` (or "
                           "reinstall Bracket), or convert the file to CSV\n")


# -- through the command line: one line, exit 2, or the summary -----------------------------
def bracket_import(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    return subprocess.run([sys.executable, "-m", "workstation", "--home", str(home), "import",
                           *args], cwd=Path(__file__).parents[2], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_command_line_says_how_many_bars_were_already_stored(tmp_path):
    home = tmp_path / "home"
    first = write(tmp_path, "bars.csv", TWO_BARS)
    more = write(tmp_path, "more.csv", TWO_BARS
                 + "2026-11-02T14:32:00Z,NQ,21000.75,21001.00,21000.00,21000.25,60\n")

    assert bracket_import(home, str(first), "--timeframe", "1m").returncode == 0
    result = bracket_import(home, str(more), "--timeframe", "1m")

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ("imported 1 bars for NQ (2026-11-02 14:30:00 to 2026-11-02 14:32:00 "
                             "UTC) from more.csv; 2 already stored\n")


def test_an_unknown_time_zone_on_the_command_line_exits_2_in_one_line(tmp_path):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n2026-11-02 09:30:00,NQ,21000.25,1\n")

    result = bracket_import(tmp_path / "home", str(path), "--tz", "Mars/Olympus")

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("bracket: --tz 'Mars/Olympus' is not a known time zone; use a name "
                             "such as America/New_York or UTC\n")


def test_an_empty_csv_symbol_is_reported_as_missing(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n2026-11-02T14:30:00Z, ,21000.25,1\n")

    message = refused(store, path, instruments)

    assert message == f"cannot import {path}:\n  ticks.csv line 2: the symbol is missing"


def test_a_null_parquet_symbol_is_reported_as_missing(tmp_path, store, instruments):
    path = write_parquet(tmp_path, "ticks.parquet", {
        "ts": pd.to_datetime(["2026-11-02T14:30:00Z", "2026-11-02T14:30:01Z"], utc=True),
        "symbol": ["NQ", None], "price": [21_000.25, 21_000.25], "size": [1.0, 1.0]})

    message = refused(store, path, instruments)

    assert message == f"cannot import {path}:\n  ticks.parquet row 2: the symbol is missing"


def test_a_quote_never_closed_is_refused_on_the_line_it_opens(tmp_path, store, instruments):
    path = write(tmp_path, "ticks.csv", "ts,symbol,price,size\n\n"
                 "2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                 '2026-11-02T14:30:01Z,NQ,"21000.25,1\n'
                 "2026-11-02T14:30:02Z,NQ,21000.25,1\n")

    message = refused(store, path, instruments)

    assert message == 'ticks.csv line 4: a quoted field is never closed (a " without its pair)'


def test_bytes_that_are_not_utf8_are_refused_on_their_line(tmp_path, store, instruments):
    path = tmp_path / "ticks.csv"
    path.write_bytes(b"ts,symbol,price,size\n2026-11-02T14:30:00Z,NQ,21000.25,1\n"
                     b"2026-11-02T14:30:01Z,N\xffQ,21000.25,1\n")

    message = refused(store, path, instruments)

    assert message == "ticks.csv line 3: not UTF-8 text; save the file as UTF-8"


def test_a_file_whose_name_cannot_be_stored_as_text_still_imports(tmp_path, store, instruments):
    path = tmp_path / os.fsdecode(b"t\xffcks.csv")  # a lone surrogate in the str
    path.write_text(GOOD_TICKS, encoding="utf-8")

    summary = import_file(store, path, instruments)

    assert summary.rows == 4
    with store.transaction() as conn:
        stored_name = conn.exec_driver_sql("SELECT file_name FROM imports").scalar_one()
    assert stored_name == "t\ufffdcks.csv"
