"""Property tests of the importer's row validation (issue 11): whatever a CSV row holds
(text, numbers, nan, inf, huge, negative, control characters, line breaks), importing the
file either stores its rows or raises ImportProblem naming a file line, never another
exception, and the real SQLite file never holds a non-finite or out-of-range value.

Each example imports into a fresh database file; the rows mix well-formed ticks or bars
with junk rows, and blank lines are scattered between them so the reported line numbers
must be the file's physical lines.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.config import Settings
from workstation.importer import (
    FIRST_NS,
    LAST_NS,
    MAX_TRADES,
    MAX_VOLUME,
    ImportProblem,
    ImportSummary,
    import_file,
)
from workstation.settings_types import MAX_QTY
from workstation.store import open_store

INSTRUMENTS = Settings().instrument_map()
T0 = 1_793_629_800  # 2026-11-02 14:30:00 UTC, in seconds
LINE = re.compile(r"^  \S+\.csv line (\d+): ", re.MULTILINE)
EMPTY_TIMES = re.compile(r"^\S+\.csv: the time column is empty: none of its [\d,]+ rows has a "
                         r"time$")

junk_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
junk_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["nan", "inf", "-inf", "Infinity", "1e308", "1e300", "-1e300", "1e400",
                     "0", "-0", "1e-300", "2.5", "0.1", "", " ", "1_000", "0x10", "+5"]),
)
junk_time = st.one_of(
    st.sampled_from(["", "1500-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "0001-01-01T00:00:00Z",
                     "9999-12-31T23:59:59+00:00", "2026-13-45T00:00:00Z", "2026-11-02 09:30:00",
                     "2026-03-08T02:30:00", "nan", "NaT", "None"]),
    st.integers(min_value=-(2**62), max_value=2**62).map(str),
    junk_text,
)
junk_cell = st.one_of(junk_text, junk_number, junk_time)
junk_row = st.lists(junk_cell, min_size=3, max_size=7)

# (symbol, tick size, price decimals, lot size decimals)
MARKETS = [("NQ", 0.25, 2, 0), ("ES", 0.25, 2, 0), ("AAPL", 0.01, 2, 0),
           ("BTC/USD", 0.01, 2, 4)]


@st.composite
def good_tick(draw: st.DrawFn) -> tuple[str, float, float]:
    symbol, tick, decimals, lot_decimals = draw(st.sampled_from(MARKETS))
    price = draw(st.integers(min_value=1, max_value=10_000_000)) * tick
    size = draw(st.integers(min_value=1, max_value=10_000)) / 10**lot_decimals
    return symbol, round(price, decimals), size


def tick_cells(seconds: int, row: tuple[str, float, float]) -> list[str]:
    symbol, price, size = row
    return [_stamp(seconds), symbol, repr(price), repr(size)]


def _stamp(seconds: int) -> str:
    return np.datetime64(seconds, "s").astype(str) + "Z"


@st.composite
def good_bar(draw: st.DrawFn, seconds: int) -> list[str]:
    low = draw(st.integers(min_value=1, max_value=100_000)) * 0.25
    high = low + draw(st.integers(min_value=0, max_value=40)) * 0.25
    volume = draw(st.integers(min_value=0, max_value=10**9))
    trades = draw(st.integers(min_value=0, max_value=10**6))
    return [_stamp(seconds), "NQ", repr(low), repr(high), repr(low), repr(high), str(volume),
            str(trades)]


@st.composite
def mutated(draw: st.DrawFn, good: st.SearchStrategy[list[str]]) -> list[str]:
    """A good row with one cell replaced by junk, so the later checks (grid, lots, order,
    duplicates) are reached too."""
    cells = draw(good)
    cells[draw(st.integers(min_value=0, max_value=len(cells) - 1))] = draw(junk_cell)
    return cells


def _with_junk(draw: st.DrawFn, rows: list[list[str]], good: st.SearchStrategy[list[str]],
               width: int) -> bool:
    """Insert junk rows (random cells, or a good row with one cell spoiled) into ``rows``
    at random places; whether any was inserted."""
    junk = draw(st.lists(st.one_of(st.lists(junk_cell, min_size=width - 1, max_size=width + 1),
                                   mutated(good)), max_size=3))
    if not rows and not junk:
        junk.append(draw(mutated(good)))
    for cells in junk:
        rows.insert(draw(st.integers(min_value=0, max_value=len(rows))), cells)
    return bool(junk)


@st.composite
def tick_files(draw: st.DrawFn) -> tuple[str, list[tuple], bool]:
    """(CSV text, the good ticks it holds, whether it also holds junk rows)."""
    goods = draw(st.lists(good_tick(), max_size=6))
    rows: list[list[str]] = [tick_cells(T0 + i, row) for i, row in enumerate(goods)]
    any_time = st.builds(tick_cells, st.integers(min_value=T0 - 2, max_value=T0 + 8), good_tick())
    has_junk = _with_junk(draw, rows, any_time, 4)
    expected = [(s, (T0 + i) * 10**9, p, z, 0) for i, (s, p, z) in enumerate(goods)]
    return _csv(draw, ["ts", "symbol", "price", "size"], rows), expected, has_junk


@st.composite
def bar_files(draw: st.DrawFn) -> tuple[str, int, bool]:
    """(CSV text, how many good bars it holds, whether it also holds junk rows)."""
    count = draw(st.integers(min_value=0, max_value=4))
    rows = [draw(good_bar(T0 + 60 * i)) for i in range(count)]
    any_time = st.integers(min_value=T0 - 120, max_value=T0 + 300).flatmap(good_bar)
    has_junk = _with_junk(draw, rows, any_time, 8)
    header = ["ts", "symbol", "open", "high", "low", "close", "volume", "trades"]
    return _csv(draw, header, rows), count, has_junk


def _csv(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> str:
    """The rows as CSV, with blank (or whitespace-only) lines drawn in between."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for cells in rows:
        out.write(draw(st.sampled_from(["", "", "\n", "   \n"])))
        writer.writerow(cells)
    return out.getvalue()


def _import(folder: Path, text: str, **options: str) -> ImportSummary | ImportProblem:
    """Import ``text`` from a file into a fresh database in ``folder``."""
    path = folder / "data.csv"
    path.write_text(text, encoding="utf-8")
    store = open_store(folder / "bracket.sqlite")
    try:
        return import_file(store, path, INSTRUMENTS, **options)
    except ImportProblem as exc:
        return exc
    finally:
        store.close()


def _assert_names_data_lines(problem: ImportProblem, text: str) -> None:
    """Every problem names a line of the file holding (the start of) a data row."""
    message = str(problem)
    if EMPTY_TIMES.match(message.splitlines()[-1].strip()):
        return
    lines = [int(n) for n in LINE.findall(message)] or [
        int(n) for n in re.findall(r"^\S+\.csv line (\d+): ", message)]
    assert lines, message
    physical = re.split(r"\r\n|\r|\n", text)  # the line breaks of csv and pandas
    for number in lines:
        assert 2 <= number <= len(physical), message
        assert physical[number - 1].strip(" \t"), (number, message)  # as pandas skips


def _stored_ticks(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        chunks = conn.execute("SELECT symbol, start_ts, end_ts, count, ts, price, size, side "
                              "FROM tick_chunks").fetchall()
    rows = []
    for symbol, start, end, count, ts, price, size, side in chunks:
        stamps = np.frombuffer(ts, "<i8")
        prices, sizes = np.frombuffer(price, "<f8"), np.frombuffer(size, "<f8")
        assert len(stamps) == count and FIRST_NS <= start <= end <= LAST_NS
        assert np.isfinite(prices).all() and (prices > 0).all() and (prices <= 1e9).all()
        assert np.isfinite(sizes).all() and (sizes > 0).all() and (sizes <= MAX_QTY).all()
        rows += zip([symbol] * count, stamps.tolist(), prices.tolist(), sizes.tolist(),
                    np.frombuffer(side, "<i1").tolist(), strict=True)
    return sorted(rows)


def _stored_bars(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT ts, end_ts, open, high, low, close, volume, trades "
                            "FROM bars").fetchall()
    for ts, end, *prices, volume, trades in rows:
        assert FIRST_NS <= ts < end <= LAST_NS
        assert all(np.isfinite(p) and 0 < p <= 1e9 for p in prices)
        assert np.isfinite(volume) and 0 <= volume <= MAX_VOLUME
        assert isinstance(trades, int) and 0 <= trades <= MAX_TRADES
    return len(rows)


@settings(max_examples=80, deadline=None)
@given(tick_files())
def test_any_tick_csv_imports_its_rows_or_names_a_line_and_stores_nothing_non_finite(
        drawn: tuple[str, list[tuple], bool]) -> None:
    text, expected, has_junk = drawn

    with tempfile.TemporaryDirectory() as folder:
        outcome = _import(Path(folder), text)
        stored = _stored_ticks(Path(folder) / "bracket.sqlite")

    if isinstance(outcome, ImportProblem):
        assert stored == []
        _assert_names_data_lines(outcome, text)
        assert has_junk, f"good rows refused: {outcome}"
    else:
        assert outcome.rows == len(stored)
        if not has_junk:
            assert stored == sorted(expected)


@settings(max_examples=60, deadline=None)
@given(bar_files())
def test_any_bar_csv_imports_its_rows_or_names_a_line_and_stores_nothing_non_finite(
        drawn: tuple[str, int, bool]) -> None:
    text, good, has_junk = drawn

    with tempfile.TemporaryDirectory() as folder:
        outcome = _import(Path(folder), text, timeframe="1m")
        stored = _stored_bars(Path(folder) / "bracket.sqlite")

    if isinstance(outcome, ImportProblem):
        assert stored == 0
        _assert_names_data_lines(outcome, text)
        assert has_junk, f"good rows refused: {outcome}"
    else:
        assert outcome.rows == stored
        if not has_junk:
            assert stored == good
