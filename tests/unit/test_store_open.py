"""Opening the store for writing: a file locked by another program or damaged is refused
before anything is written, and a file is backed up before its schema is migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workstation.store import StoreError, database, open_store, schema


@pytest.fixture(autouse=True)
def short_lock_waits(monkeypatch):
    monkeypatch.setattr(database, "OPEN_LOCK_TIMEOUT_S", 0.2)


def a_store_with_bars(path: Path, count: int = 2_000) -> None:
    store = open_store(path)
    rows = [("NQ", "1m", i * 60, i * 60 + 60, 21_000.0, 21_001.0, 20_999.0, 21_000.5, 10.0, 3, 0)
            for i in range(count)]
    store.write([], rows)
    store.close()


def test_a_lock_held_by_another_program_at_start_is_refused_clearly(tmp_path):
    path = tmp_path / "bracket.sqlite"
    a_store_with_bars(path, 10)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="is locked by another program during open for "
                                             "writing"):
            open_store(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_file_with_random_bytes_in_the_middle_is_refused_and_left_byte_for_byte_as_it_was(
        tmp_path):
    path = tmp_path / "bracket.sqlite"
    a_store_with_bars(path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes((i * 37) % 256 for i in range(4096))
    path.write_bytes(bytes(data))

    with pytest.raises(StoreError, match="is damaged") as refused:
        open_store(path)

    assert "Nothing was changed" in str(refused.value)
    assert path.read_bytes() == bytes(data)


def test_a_damaged_file_can_still_be_opened_for_reading(tmp_path):
    """Only commands that write are refused (a replay may still read what it can)."""
    path = tmp_path / "bracket.sqlite"
    a_store_with_bars(path, 10)

    store = open_store(path, write=False)
    store.close()


def test_an_older_file_is_backed_up_before_it_is_migrated(tmp_path):
    path = tmp_path / "bracket.sqlite"
    conn = sqlite3.connect(path)
    for version, _, statements in schema.MIGRATIONS[:6]:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO account (epoch, starting_cash, started_ts) VALUES (1, 50000, 7)")
    conn.commit()
    conn.close()

    open_store(path).close()

    backup = tmp_path / "bracket.sqlite.bak-v6"
    old = sqlite3.connect(backup)
    new = sqlite3.connect(path)
    try:
        assert old.execute("PRAGMA user_version").fetchone() == (6,)
        assert old.execute("SELECT starting_cash FROM account").fetchall() == [(50_000.0,)]
        assert new.execute("SELECT account, epoch, starting_cash FROM account_epochs"
                           ).fetchall() == [("Paper", 1, 50_000.0)]
        assert new.execute("SELECT name, created_ts FROM accounts").fetchall() == [("Paper", 7)]
    finally:
        old.close()
        new.close()


def test_a_current_file_is_not_backed_up_again(tmp_path):
    path = tmp_path / "bracket.sqlite"
    a_store_with_bars(path, 1)
    open_store(path).close()

    assert sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name) == []
