"""The SQLite store: opening, migrating, and the plain reads and writes.

SQLAlchemy 2 over SQLite in WAL mode. pysqlite's own transaction handling is
switched off so that BEGIN/COMMIT are explicit and DDL is transactional: a
migration or an import either lands whole or not at all. These methods block;
the loop calls them through the writer thread or an executor (invariant 2).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.exc import DBAPIError

from workstation.model import Bar
from workstation.store import schema
from workstation.store.ticks import TickColumns, TickRecord, merge_chunks, pack, unpack

log = logging.getLogger(__name__)

BarRow = tuple[str, str, int, int, float, float, float, float, float, int, int]
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another program's lock before it fails
OPEN_LOCK_TIMEOUT_S = 2.0  # how long opening for writing waits for a lock before refusing


class StoreError(RuntimeError):
    """The database cannot be used; the message says which file and why."""


def bar_row(bar: Bar) -> BarRow:
    return (bar.symbol, bar.timeframe, bar.ts, bar.end, bar.open, bar.high, bar.low,
            bar.close, bar.volume, bar.trades, bar.flags)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = _make_engine(path)
        with self._translated_errors("open"):
            raw = self.engine.raw_connection()  # autocommit (see _make_engine)
            try:
                self._version = raw.cursor().execute("PRAGMA user_version").fetchone()[0]
                if self._version <= schema.SCHEMA_VERSION:  # never touch a newer file
                    raw.cursor().execute("PRAGMA journal_mode=WAL")  # persists in the file
            finally:
                raw.close()
        if self._version > schema.SCHEMA_VERSION:
            self.engine.dispose()
            raise StoreError(
                f"{path} has schema version {self._version}, newer than this Bracket "
                f"understands ({schema.SCHEMA_VERSION}); it was left untouched. "
                "Update Bracket, or point --home at another folder."
            )

    @property
    def version(self) -> int:
        return self._version

    def check_writable(self) -> None:
        """Refuse, clearly, a file another program holds a write lock on (instead of
        starting and then failing every commit)."""
        try:
            raw = sqlite3.connect(self.path, timeout=OPEN_LOCK_TIMEOUT_S, isolation_level=None)
            try:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("ROLLBACK")
            finally:
                raw.close()
        except sqlite3.Error as exc:
            raise StoreError(_explain(self.path, "open for writing", exc)) from exc

    def check_integrity(self, *, full: bool = False) -> None:
        """SQLite's quick check (every page and record readable; linear in the file size)
        or, with ``full``, the integrity check (also every index against its table)."""
        pragma = "integrity_check" if full else "quick_check"
        with self._translated_errors(pragma.replace("_", " ")):
            raw = self.engine.raw_connection()
            try:
                problems = [row[0] for row in raw.cursor().execute(f"PRAGMA {pragma}(10)")]
            finally:
                raw.close()
        if problems != ["ok"]:
            raise StoreError(
                f"{self.path} is damaged ({'; '.join(problems[:3])}). Nothing was changed in "
                "it. Move it aside (or restore a backup beside it, *.bak-v*) to start a fresh "
                "store, or point --home at another folder.")

    def backup(self) -> Path:
        """A copy of the database as it is now, beside it, named after its schema version
        (taken before migrations, which change the file in place)."""
        target = self.path.with_name(f"{self.path.name}.bak-v{self._version}")
        with self._translated_errors("backup"):
            raw = self.engine.raw_connection()
            try:
                destination = sqlite3.connect(target)
                try:
                    raw.driver_connection.backup(destination)
                finally:
                    destination.close()
            finally:
                raw.close()
        return target

    def migrate(self) -> list[int]:
        """Apply every pending migration, each in its own transaction."""
        applied = []
        for version, description, statements in schema.MIGRATIONS:
            if version <= self._version:
                continue
            with (self._translated_errors(f"migration {version} ({description})"),
                  self.engine.begin() as conn):
                for statement in statements:
                    conn.exec_driver_sql(statement)
                conn.exec_driver_sql(f"PRAGMA user_version = {version}")
            self._version = version
            applied.append(version)
            log.info("store %s: migrated to schema %d: %s", self.path.name, version, description)
        return applied

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._translated_errors("write"), self.engine.begin() as conn:
            yield conn

    # -- writes -------------------------------------------------------------------
    def write(self, ticks: Iterable[tuple[str, TickColumns]], bars: Sequence[BarRow]) -> None:
        """Commit one batch: each (symbol, columns) pair becomes one tick chunk."""
        with self.transaction() as conn:
            self.write_in(conn, ticks, bars)

    @staticmethod
    def write_in(conn: Connection, ticks: Iterable[tuple[str, TickColumns]],
                 bars: Sequence[BarRow]) -> None:
        chunks = [pack(symbol, columns) for symbol, columns in ticks if len(columns)]
        if chunks:
            conn.exec_driver_sql(schema.INSERT_TICK_CHUNK_SQL, chunks)
        if bars:
            conn.exec_driver_sql(schema.UPSERT_BAR_SQL, list(bars))

    # -- reads --------------------------------------------------------------------
    def load_bars(self, symbol: str, timeframe: str, limit: int = 2_000) -> list[Bar]:
        """The latest ``limit`` bars, oldest first."""
        table = schema.bars
        query = (select(table).where(table.c.symbol == symbol, table.c.timeframe == timeframe)
                 .order_by(table.c.ts.desc()).limit(limit))
        with self._translated_errors("read bars"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Bar(r.symbol, r.timeframe, r.ts, r.end_ts, r.open, r.high, r.low, r.close,
                    r.volume, r.trades, r.flags) for r in reversed(rows)]

    def bars_between(self, symbol: str, timeframe: str, start_ns: int, end_ns: int) -> list[Bar]:
        """Bars opening in ``start_ns <= ts < end_ns``, oldest first."""
        table = schema.bars
        query = (select(table).where(table.c.symbol == symbol, table.c.timeframe == timeframe,
                                     table.c.ts >= start_ns, table.c.ts < end_ns)
                 .order_by(table.c.ts))
        with self._translated_errors("read bars"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Bar(r.symbol, r.timeframe, r.ts, r.end_ts, r.open, r.high, r.low, r.close,
                    r.volume, r.trades, r.flags) for r in rows]

    def iter_ticks(self, symbols: Iterable[str], start_ns: int | None = None,
                   end_ns: int | None = None) -> Iterator[list[TickRecord]]:
        """Stored ticks of ``symbols`` as (symbol, ts, price, size, side), in time order."""
        table = schema.tick_chunks
        query = select(table.c.symbol, table.c.start_ts, table.c.ts, table.c.price,
                       table.c.size, table.c.side).where(table.c.symbol.in_(list(symbols)))
        if start_ns is not None:
            query = query.where(table.c.end_ts >= start_ns)
        if end_ns is not None:
            query = query.where(table.c.start_ts < end_ns)
        query = query.order_by(table.c.start_ts, table.c.id)
        with self._translated_errors("read ticks"), self.engine.connect() as conn:
            rows = conn.execution_options(yield_per=256).execute(query)
            chunks = (unpack(*row) for row in rows)
            yield from merge_chunks(chunks, start_ns, end_ns)

    def tick_count(self, symbol: str | None = None) -> int:
        table = schema.tick_chunks
        query = select(func.coalesce(func.sum(table.c.count), 0))
        if symbol is not None:
            query = query.where(table.c.symbol == symbol)
        with self._translated_errors("count ticks"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def bar_count(self) -> int:
        with self._translated_errors("count bars"), self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.bars)).scalar_one())

    @contextmanager
    def _translated_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, sqlite3.Error) as exc:
            raise StoreError(_explain(self.path, action, exc)) from exc


def open_store(path: Path, *, write: bool = True) -> Store:
    """Open (creating if needed) and migrate the database at ``path``. For a command that
    writes, a file locked by another program or damaged is refused before anything is
    written, and an existing file is backed up before its schema is migrated."""
    existed = path.exists() and path.stat().st_size > 0
    store = Store(path)
    try:
        if write and existed:
            store.check_writable()
            store.check_integrity()
            if store.version < schema.SCHEMA_VERSION and store.version > 0:
                log.info("store %s: backed up to %s before migrating", path.name,
                         store.backup().name)
        store.migrate()
    except StoreError:
        store.close()
        raise
    return store



def _explain(path: Path, action: str, exc: DBAPIError | sqlite3.Error) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    detail = str(original if original is not None else exc)
    lowered = detail.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return (f"{path} is damaged or is not a Bracket database ({detail}) during {action}. "
                "Nothing was changed: move the file aside to start a fresh store, "
                "or point --home at another folder.")
    if "locked" in lowered or "busy" in lowered:
        return (f"{path} is locked by another program during {action} ({detail}). "
                "Is another Bracket using this home folder?")
    return f"{path}: database error during {action}: {detail}"


def _make_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine
