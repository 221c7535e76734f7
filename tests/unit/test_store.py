"""The SQLite store: migrations, tick chunks, bars, damaged files and the writer task.

Every test uses a real SQLite file in tmp_path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from workstation.bus import EventBus
from workstation.model import NS_PER_SECOND, Bar, Tick
from workstation.store import Store, StoreError, open_store, schema
from workstation.store.database import bar_row
from workstation.store.ticks import TickColumns
from workstation.store.writer import StoreWriter

# 2026-11-02 14:30:00 UTC, the US equity open that day (09:30 EST).
T0 = 1_793_629_800 * NS_PER_SECOND
S = NS_PER_SECOND
MINUTE = 60 * S


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        conn.close()
    return {name for (name,) in rows}


def all_ticks(store: Store, symbols: list[str], start_ns: int | None = None,
              end_ns: int | None = None) -> list[tuple]:
    return [row for batch in store.iter_ticks(symbols, start_ns, end_ns) for row in batch]


@pytest.fixture
def store(tmp_path: Path):
    opened = open_store(tmp_path / "bracket.sqlite")
    yield opened
    opened.close()


def minute_bar(symbol: str, minute: int, close: float, *, volume: float = 10.0) -> Bar:
    ts = T0 + minute * MINUTE
    return Bar(symbol, "1m", ts, ts + MINUTE, 21_000.0, 21_001.0, 20_999.0, close, volume, 4)


# -- migrations ---------------------------------------------------------------------------
def test_migrations_are_numbered_one_to_schema_version_without_gaps():
    versions = [version for version, _, _ in schema.MIGRATIONS]

    assert versions == list(range(1, schema.SCHEMA_VERSION + 1))


def test_an_empty_database_is_migrated_through_every_migration_in_order(tmp_path):
    path = tmp_path / "bracket.sqlite"
    store = Store(path)
    try:
        assert store.version == 0

        applied = store.migrate()

        assert applied == [1, 2, 3, 4, 5, 6, 7, 8, 9]
        assert store.version == schema.SCHEMA_VERSION == 9
    finally:
        store.close()
    assert user_version(path) == 9
    assert {"tick_chunks", "bars", "imports", "orders", "order_events", "fills", "trades",
            "accounts", "account_epochs", "risk_events", "risk_state", "sim_state",
            "recovered_files", "backtest_runs", "optimizations", "optimization_trials",
            "challenge_runs"} <= table_names(path)


def test_reopening_a_migrated_database_applies_nothing(tmp_path):
    path = tmp_path / "bracket.sqlite"
    open_store(path).close()

    store = Store(path)
    try:
        assert store.version == schema.SCHEMA_VERSION
        assert store.migrate() == []
    finally:
        store.close()
    assert user_version(path) == schema.SCHEMA_VERSION


def test_a_database_at_version_one_gets_only_the_later_migrations(tmp_path):
    path = tmp_path / "bracket.sqlite"
    conn = sqlite3.connect(path)
    version, _, statements = schema.MIGRATIONS[0]
    for statement in statements:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()

    store = Store(path)
    try:
        assert store.version == 1
        assert store.migrate() == [2, 3, 4, 5, 6, 7, 8, 9]
    finally:
        store.close()
    assert user_version(path) == 9
    assert {"imports", "orders", "fills"} <= table_names(path)


def test_stored_rows_survive_closing_and_reopening(tmp_path):
    path = tmp_path / "bracket.sqlite"
    first = open_store(path)
    first.write([("NQ", TickColumns([T0], [21_000.25], [1.0], [1]))], [])
    first.close()

    second = open_store(path)
    try:
        assert second.tick_count() == 1
        assert all_ticks(second, ["NQ"]) == [("NQ", T0, 21_000.25, 1.0, 1)]
    finally:
        second.close()


# -- ticks --------------------------------------------------------------------------------
def write_two_symbols(store: Store) -> None:
    """NQ at +1, +4, +7 s and +5, +6, +9 s (two batches); ES at +2, +3, +8 s."""
    store.write([
        ("NQ", TickColumns([T0 + 1 * S, T0 + 4 * S, T0 + 7 * S], [21_000.00, 21_000.25, 21_000.50],
                           [1.0, 2.0, 3.0], [1, -1, 0])),
        ("ES", TickColumns([T0 + 2 * S, T0 + 3 * S, T0 + 8 * S], [6_000.00, 6_000.25, 5_999.75],
                           [4.0, 5.0, 6.0], [-1, 1, 1])),
    ], [])
    store.write([
        ("NQ", TickColumns([T0 + 5 * S, T0 + 6 * S, T0 + 9 * S], [21_000.75, 21_001.00, 20_999.75],
                           [7.0, 8.0, 9.0], [1, 1, -1])),
    ], [])


ALL_NINE = [
    ("NQ", T0 + 1 * S, 21_000.00, 1.0, 1),
    ("ES", T0 + 2 * S, 6_000.00, 4.0, -1),
    ("ES", T0 + 3 * S, 6_000.25, 5.0, 1),
    ("NQ", T0 + 4 * S, 21_000.25, 2.0, -1),
    ("NQ", T0 + 5 * S, 21_000.75, 7.0, 1),
    ("NQ", T0 + 6 * S, 21_001.00, 8.0, 1),
    ("NQ", T0 + 7 * S, 21_000.50, 3.0, 0),
    ("ES", T0 + 8 * S, 5_999.75, 6.0, 1),
    ("NQ", T0 + 9 * S, 20_999.75, 9.0, -1),
]


def test_ticks_of_two_symbols_read_back_merged_in_exact_time_order(store):
    write_two_symbols(store)

    assert all_ticks(store, ["NQ", "ES"]) == ALL_NINE


def test_tick_counts_are_per_symbol_and_in_total(store):
    write_two_symbols(store)

    assert store.tick_count() == 9
    assert store.tick_count("NQ") == 6
    assert store.tick_count("ES") == 3
    assert store.tick_count("AAPL") == 0


def test_reading_one_symbol_returns_only_its_ticks(store):
    write_two_symbols(store)

    assert all_ticks(store, ["ES"]) == [row for row in ALL_NINE if row[0] == "ES"]


def test_start_filter_is_inclusive_and_end_filter_is_exclusive(store):
    write_two_symbols(store)

    ticks = all_ticks(store, ["NQ", "ES"], start_ns=T0 + 3 * S, end_ns=T0 + 7 * S)

    assert [(symbol, ts) for symbol, ts, *_ in ticks] == [
        ("ES", T0 + 3 * S), ("NQ", T0 + 4 * S), ("NQ", T0 + 5 * S), ("NQ", T0 + 6 * S),
    ]


def test_start_filter_alone_keeps_everything_from_that_time_on(store):
    write_two_symbols(store)

    ticks = all_ticks(store, ["NQ", "ES"], start_ns=T0 + 8 * S)

    assert ticks == ALL_NINE[-2:]


def test_end_filter_alone_keeps_everything_before_that_time(store):
    write_two_symbols(store)

    ticks = all_ticks(store, ["NQ", "ES"], end_ns=T0 + 3 * S)

    assert ticks == ALL_NINE[:2]


def test_ticks_written_out_of_order_within_a_batch_read_back_sorted(store):
    store.write([("NQ", TickColumns([T0 + 3 * S, T0 + 1 * S, T0 + 2 * S],
                                    [21_000.75, 21_000.25, 21_000.50], [3.0, 1.0, 2.0],
                                    [1, -1, 0]))], [])

    assert all_ticks(store, ["NQ"]) == [
        ("NQ", T0 + 1 * S, 21_000.25, 1.0, -1),
        ("NQ", T0 + 2 * S, 21_000.50, 2.0, 0),
        ("NQ", T0 + 3 * S, 21_000.75, 3.0, 1),
    ]


def test_an_empty_tick_column_set_writes_no_chunk(store):
    store.write([("NQ", TickColumns())], [])

    assert store.tick_count() == 0
    assert all_ticks(store, ["NQ"]) == []


# -- bars ---------------------------------------------------------------------------------
def test_bars_round_trip_oldest_first(store):
    bars = [minute_bar("NQ", 2, 21_000.75), minute_bar("NQ", 0, 21_000.25),
            minute_bar("NQ", 1, 21_000.50)]
    store.write([], [bar_row(bar) for bar in bars])

    loaded = store.load_bars("NQ", "1m")

    assert loaded == [minute_bar("NQ", 0, 21_000.25), minute_bar("NQ", 1, 21_000.50),
                      minute_bar("NQ", 2, 21_000.75)]
    assert store.bar_count() == 3


def test_load_bars_limit_keeps_the_newest_bars(store):
    store.write([], [bar_row(minute_bar("NQ", m, 21_000.0 + m)) for m in range(5)])

    loaded = store.load_bars("NQ", "1m", limit=2)

    assert [bar.ts for bar in loaded] == [T0 + 3 * MINUTE, T0 + 4 * MINUTE]
    assert [bar.close for bar in loaded] == [21_003.0, 21_004.0]


def test_load_bars_only_returns_the_asked_symbol_and_timeframe(store):
    five_minute = Bar("NQ", "5m", T0, T0 + 5 * MINUTE, 1.0, 2.0, 0.5, 1.5, 3.0, 2)
    store.write([], [bar_row(minute_bar("NQ", 0, 21_000.25)), bar_row(minute_bar("ES", 0, 6_000.0)),
                     bar_row(five_minute)])

    assert store.load_bars("NQ", "1m") == [minute_bar("NQ", 0, 21_000.25)]
    assert store.load_bars("NQ", "5m") == [five_minute]
    assert store.load_bars("ES", "5m") == []


def test_writing_a_bar_again_replaces_the_same_symbol_timeframe_and_time(store):
    store.write([], [bar_row(minute_bar("NQ", 0, 21_000.25, volume=10.0))])

    store.write([], [bar_row(minute_bar("NQ", 0, 21_000.75, volume=25.0))])

    assert store.bar_count() == 1
    (bar,) = store.load_bars("NQ", "1m")
    assert (bar.close, bar.volume) == (21_000.75, 25.0)


def test_bar_flags_and_end_time_are_kept(store):
    bar = Bar("AAPL", "5m", T0, T0 + 5 * MINUTE, 230.0, 230.5, 229.9, 230.1, 900.0, 12, 3)
    store.write([], [bar_row(bar)])

    assert store.load_bars("AAPL", "5m") == [bar]


# -- damaged and foreign files ------------------------------------------------------------
def test_a_file_that_is_not_a_database_raises_store_error_naming_it_and_is_unchanged(tmp_path):
    path = tmp_path / "bracket.sqlite"
    garbage = b"these bytes are not an SQLite database\x00\x01\x02" * 200
    path.write_bytes(garbage)

    with pytest.raises(StoreError) as caught:
        open_store(path)

    assert str(path) in str(caught.value)
    assert "not a Bracket database" in str(caught.value)
    assert path.read_bytes() == garbage


def test_a_database_from_a_newer_bracket_raises_store_error_and_is_left_byte_identical(tmp_path):
    path = tmp_path / "bracket.sqlite"
    store = open_store(path)
    store.write([("NQ", TickColumns([T0], [21_000.25], [1.0], [1]))], [])
    store.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StoreError) as caught:
        open_store(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"schema version {schema.SCHEMA_VERSION + 1}" in message
    assert path.read_bytes() == before
    assert user_version(path) == schema.SCHEMA_VERSION + 1


def test_a_newer_database_keeps_its_rows_and_version_after_being_refused(tmp_path):
    path = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future_things (a INTEGER)")
    conn.execute("INSERT INTO future_things VALUES (42)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()

    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT a FROM future_things").fetchall() == [(42,)]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    finally:
        conn.close()


def test_a_newer_rollback_journal_database_is_left_byte_identical(tmp_path):
    path = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future_things (a INTEGER)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StoreError, match="left untouched"):
        Store(path)

    assert path.read_bytes() == before


# -- the writer task ----------------------------------------------------------------------
def nq_tick(i: int) -> Tick:
    return Tick("NQ", T0 + i * S, 21_000.0 + 0.25 * i, 1.0 + i, 1 if i % 2 else -1)


def test_writer_batches_published_ticks_and_bars_and_drain_commits_them(store):
    async def scenario() -> StoreWriter:
        bus = EventBus()
        writer = StoreWriter(store, bus, flush_rows=4, flush_interval_s=60.0)
        writer.start()
        for i in range(10):
            bus.publish(nq_tick(i))
        bus.publish(Tick("ES", T0 + 20 * S, 6_000.25, 3.0, 1))
        bus.publish(minute_bar("NQ", 0, 21_000.5))
        bus.publish(minute_bar("NQ", 1, 21_000.75))
        await writer.drain()
        assert store.tick_count() == 11
        assert store.bar_count() == 2
        await writer.close()
        return writer

    writer = asyncio.run(scenario())

    # 11 ticks with flush_rows=4: batches at the 4th and 8th tick, the rest on drain.
    assert writer.batches == 3
    assert writer.rows_written == 13
    assert writer.failures == 0
    assert store.tick_count("NQ") == 10
    assert all_ticks(store, ["NQ"]) == [tuple(nq_tick(i)) for i in range(10)]
    assert [bar.close for bar in store.load_bars("NQ", "1m")] == [21_000.5, 21_000.75]


def test_writer_close_commits_what_is_still_buffered(store):
    async def scenario() -> None:
        bus = EventBus()
        writer = StoreWriter(store, bus, flush_rows=1_000, flush_interval_s=60.0)
        writer.start()
        for i in range(3):
            bus.publish(nq_tick(i))
        bus.publish(minute_bar("NQ", 0, 21_000.5))
        assert store.tick_count() == 0  # still buffered: nothing reached the disk yet
        await writer.close()

    asyncio.run(scenario())

    assert store.tick_count() == 3
    assert store.bar_count() == 1


def test_writer_without_tick_storage_keeps_only_bars(store):
    async def scenario() -> None:
        bus = EventBus()
        writer = StoreWriter(store, bus, store_ticks=False)
        bus.publish(nq_tick(0))
        bus.publish(minute_bar("NQ", 0, 21_000.5))
        await writer.close()

    asyncio.run(scenario())

    assert store.tick_count() == 0
    assert store.bar_count() == 1


def test_writer_timer_commits_buffered_rows_without_an_explicit_drain(store):
    async def scenario() -> None:
        bus = EventBus()
        writer = StoreWriter(store, bus, flush_rows=1_000, flush_interval_s=0.01)
        writer.start()
        for i in range(5):
            bus.publish(nq_tick(i))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while store.tick_count() < 5 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert store.tick_count() == 5
        await writer.close()

    asyncio.run(scenario())


def test_backpressure_returns_at_once_when_the_queue_is_short(store):
    async def scenario() -> None:
        bus = EventBus()
        writer = StoreWriter(store, bus, flush_rows=1)
        bus.publish(nq_tick(0))  # one batch queued: well under the limit
        await asyncio.wait_for(writer.backpressure(), timeout=10.0)
        await writer.close()

    asyncio.run(scenario())

    assert store.tick_count() == 1


def test_backpressure_waits_until_the_queue_is_short_again(store):
    async def scenario() -> StoreWriter:
        bus = EventBus()
        writer = StoreWriter(store, bus, flush_rows=1)
        for i in range(12):
            bus.publish(nq_tick(i))  # twelve one-tick batches handed to the writer thread

        await asyncio.wait_for(writer.backpressure(), timeout=10.0)

        # At most 4 batches may still be queued, so the oldest 8 are committed.
        assert writer.batches >= 8
        await writer.close()
        return writer

    writer = asyncio.run(scenario())

    assert writer.batches == 12
    assert store.tick_count() == 12
