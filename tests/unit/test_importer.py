"""Importing ticks and bars from CSV and Parquet: all or nothing, with clear messages.

Files are written by hand into tmp_path; the store is a real SQLite file. In a
CSV the header is line 1 and the first data row is line 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from workstation.config import Settings
from workstation.importer import ImportProblem, import_file, read_market_file
from workstation.model import NS_PER_SECOND
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

    assert "bars.csv line 2: high 6000.3 is off the tick grid of ES" in message


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
