"""The versioned schema: explicit, append-only migrations.

Ticks are stored as columnar chunks (one row per symbol per writer batch, each
column a packed little-endian array): an order of magnitude faster to write and
smaller than a row per tick, which is what lets the writer keep up with the
feed at hundreds of thousands of ticks per second.

Each migration is plain DDL frozen at the version it introduced, so upgrading an
old database replays exactly what that version did. Never edit a released
migration; add the next one. The SQLAlchemy Core tables below describe the
current schema for queries.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, String, Table, Text

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "market data: trade ticks (columnar chunks) and closed bars", [
        """CREATE TABLE tick_chunks (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            count INTEGER NOT NULL,
            ts BLOB NOT NULL,
            price BLOB NOT NULL,
            size BLOB NOT NULL,
            side BLOB NOT NULL
        )""",
        "CREATE INDEX ix_tick_chunks_symbol_start ON tick_chunks (symbol, start_ts)",
        """CREATE TABLE bars (
            symbol TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            open REAL NOT NULL,
            high REAL NOT NULL,
            low REAL NOT NULL,
            close REAL NOT NULL,
            volume REAL NOT NULL,
            trades INTEGER NOT NULL,
            flags INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (symbol, timeframe, ts)
        ) WITHOUT ROWID""",
    ]),
    (2, "import log: which file was loaded when", [
        """CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            file_name TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            rows INTEGER NOT NULL,
            imported_at INTEGER NOT NULL
        )""",
    ]),
    (3, "paper trading: orders, their transitions, fills, trades, the account", [
        """CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            client_order_id TEXT NOT NULL UNIQUE,
            symbol TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX ix_orders_status ON orders (status)",
        """CREATE TABLE order_events (
            id INTEGER PRIMARY KEY,
            order_id TEXT NOT NULL,
            status TEXT NOT NULL,
            filled_qty REAL NOT NULL,
            reason TEXT NOT NULL,
            ts INTEGER NOT NULL
        )""",
        """CREATE TABLE fills (
            fill_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            qty REAL NOT NULL,
            price REAL NOT NULL,
            commission REAL NOT NULL,
            ts INTEGER NOT NULL,
            source TEXT NOT NULL,
            epoch INTEGER NOT NULL
        )""",
        """CREATE TABLE trades (
            trade_id TEXT PRIMARY KEY,
            symbol TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            data TEXT NOT NULL,
            samples TEXT NOT NULL
        )""",
        """CREATE TABLE account (
            epoch INTEGER PRIMARY KEY,
            starting_cash REAL NOT NULL,
            started_ts INTEGER NOT NULL
        )""",
    ]),
    (4, "risk: compliance history (levels, kill switch, blocked orders) and rule state", [
        """CREATE TABLE risk_events (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            kind TEXT NOT NULL,
            rule TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX ix_risk_events_ts ON risk_events (ts)",
        """CREATE TABLE risk_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            data TEXT NOT NULL
        )""",
    ]),
    (5, "strategy plugins: instances with their settings, status and state; runs; file hashes", [
        """CREATE TABLE strategy_instances (
            instance_id TEXT PRIMARY KEY,
            strategy TEXT NOT NULL,
            settings TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_ts INTEGER NOT NULL
        )""",
        """CREATE TABLE strategy_runs (
            id INTEGER PRIMARY KEY,
            instance_id TEXT NOT NULL,
            strategy TEXT NOT NULL,
            version TEXT NOT NULL,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            started_ts INTEGER NOT NULL,
            stopped_ts INTEGER
        )""",
        "CREATE INDEX ix_strategy_runs_instance ON strategy_runs (instance_id, started_ts)",
        """CREATE TABLE plugin_files (
            file TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            seen_ts INTEGER NOT NULL
        )""",
    ]),
    (6, "signals: each signal's record and every transition; refused alerts", [
        """CREATE TABLE signals (
            signal_id TEXT PRIMARY KEY,
            symbol TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX ix_signals_state ON signals (state)",
        """CREATE TABLE signal_events (
            id INTEGER PRIMARY KEY,
            signal_id TEXT NOT NULL,
            state TEXT NOT NULL,
            ts INTEGER NOT NULL,
            reason TEXT NOT NULL
        )""",
        "CREATE INDEX ix_signal_events_signal ON signal_events (signal_id, id)",
        """CREATE TABLE refused_alerts (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            remote TEXT NOT NULL,
            status INTEGER NOT NULL,
            message TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
    ]),
    (7, "named paper accounts: every trading record says its account (ids are unique within "
        "an account); simulated market state; replayed recovery files", [
        """CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_ts INTEGER NOT NULL
        )""",
        "INSERT INTO accounts (name, kind, created_ts) "
        "SELECT 'Paper', 'paper', MIN(started_ts) FROM account HAVING COUNT(*) > 0",
        """CREATE TABLE account_epochs (
            account TEXT NOT NULL DEFAULT 'Paper',
            epoch INTEGER NOT NULL,
            starting_cash REAL NOT NULL,
            started_ts INTEGER NOT NULL,
            PRIMARY KEY (account, epoch)
        )""",
        "INSERT INTO account_epochs SELECT 'Paper', epoch, starting_cash, started_ts FROM account",
        "DROP TABLE account",
        """CREATE TABLE orders_v7 (
            account TEXT NOT NULL DEFAULT 'Paper',
            order_id TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (account, order_id),
            UNIQUE (account, client_order_id)
        )""",
        "INSERT INTO orders_v7 SELECT 'Paper', order_id, client_order_id, symbol, status, "
        "updated_ts, epoch, data FROM orders",
        "DROP TABLE orders",
        "ALTER TABLE orders_v7 RENAME TO orders",
        "CREATE INDEX ix_orders_status ON orders (account, status)",
        "ALTER TABLE order_events ADD COLUMN account TEXT NOT NULL DEFAULT 'Paper'",
        """CREATE TABLE fills_v7 (
            account TEXT NOT NULL DEFAULT 'Paper',
            fill_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            qty REAL NOT NULL,
            price REAL NOT NULL,
            commission REAL NOT NULL,
            ts INTEGER NOT NULL,
            source TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            PRIMARY KEY (account, fill_id)
        )""",
        "INSERT INTO fills_v7 SELECT 'Paper', fill_id, order_id, client_order_id, symbol, side, "
        "qty, price, commission, ts, source, epoch FROM fills",
        "DROP TABLE fills",
        "ALTER TABLE fills_v7 RENAME TO fills",
        """CREATE TABLE trades_v7 (
            account TEXT NOT NULL DEFAULT 'Paper',
            trade_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            data TEXT NOT NULL,
            samples TEXT NOT NULL,
            PRIMARY KEY (account, trade_id)
        )""",
        "INSERT INTO trades_v7 SELECT 'Paper', trade_id, symbol, status, updated_ts, epoch, "
        "data, samples FROM trades",
        "DROP TABLE trades",
        "ALTER TABLE trades_v7 RENAME TO trades",
        "ALTER TABLE risk_events ADD COLUMN account TEXT NOT NULL DEFAULT 'Paper'",
        """CREATE TABLE risk_state_v7 (
            account TEXT PRIMARY KEY,
            data TEXT NOT NULL
        )""",
        "INSERT INTO risk_state_v7 SELECT 'Paper', data FROM risk_state",
        "DROP TABLE risk_state",
        "ALTER TABLE risk_state_v7 RENAME TO risk_state",
        """CREATE TABLE signals_v7 (
            account TEXT NOT NULL DEFAULT 'Paper',
            signal_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (account, signal_id)
        )""",
        "INSERT INTO signals_v7 SELECT 'Paper', signal_id, symbol, state, updated_ts, data "
        "FROM signals",
        "DROP TABLE signals",
        "ALTER TABLE signals_v7 RENAME TO signals",
        "CREATE INDEX ix_signals_state ON signals (account, state)",
        "ALTER TABLE signal_events ADD COLUMN account TEXT NOT NULL DEFAULT 'Paper'",
        "ALTER TABLE refused_alerts ADD COLUMN account TEXT NOT NULL DEFAULT 'Paper'",
        """CREATE TABLE strategy_instances_v7 (
            account TEXT NOT NULL DEFAULT 'Paper',
            instance_id TEXT NOT NULL,
            strategy TEXT NOT NULL,
            settings TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            PRIMARY KEY (account, instance_id)
        )""",
        "INSERT INTO strategy_instances_v7 SELECT 'Paper', instance_id, strategy, settings, "
        "status, reason, state, updated_ts FROM strategy_instances",
        "DROP TABLE strategy_instances",
        "ALTER TABLE strategy_instances_v7 RENAME TO strategy_instances",
        "ALTER TABLE strategy_runs ADD COLUMN account TEXT NOT NULL DEFAULT 'Paper'",
        """CREATE TABLE sim_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            data TEXT NOT NULL
        )""",
        """CREATE TABLE recovered_files (
            sha256 TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            replayed_ts INTEGER NOT NULL
        )""",
    ]),
    (8, "backtest runs: what was tested, its figures, trades and equity", [
        # AUTOINCREMENT: a deleted run's number is never given to another
        """CREATE TABLE backtest_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_ts INTEGER NOT NULL,
            strategy TEXT NOT NULL,
            strategy_version TEXT NOT NULL,
            file_hash TEXT NOT NULL,
            params TEXT NOT NULL,
            symbols TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            source TEXT NOT NULL,
            settings TEXT NOT NULL,
            metrics TEXT NOT NULL,
            trades TEXT NOT NULL,
            curve_ts BLOB NOT NULL,
            curve_equity BLOB NOT NULL,
            daily TEXT NOT NULL,
            bars INTEGER NOT NULL,
            wall_s REAL NOT NULL,
            problems TEXT NOT NULL,
            extra TEXT NOT NULL
        )""",
    ]),
    (9, "optimisations, walk-forwards (their trials and windows) and challenge odds", [
        # AUTOINCREMENT: a deleted optimisation's or challenge's number is never reused
        """CREATE TABLE optimizations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            created_ts INTEGER NOT NULL,
            strategy TEXT NOT NULL,
            strategy_version TEXT NOT NULL,
            file_hash TEXT NOT NULL,
            symbols TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            first_day TEXT NOT NULL,
            last_day TEXT NOT NULL,
            source TEXT NOT NULL,
            inputs TEXT NOT NULL,
            summary TEXT NOT NULL,
            result TEXT NOT NULL,
            wall_s REAL NOT NULL,
            workers INTEGER NOT NULL
        )""",
        """CREATE TABLE optimization_trials (
            run_id INTEGER NOT NULL,
            window INTEGER NOT NULL,
            number INTEGER NOT NULL,
            params TEXT NOT NULL,
            status TEXT NOT NULL,
            score REAL,
            metrics TEXT NOT NULL,
            reason TEXT,
            PRIMARY KEY (run_id, window, number)
        ) WITHOUT ROWID""",
        """CREATE TABLE challenge_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_ts INTEGER NOT NULL,
            name TEXT NOT NULL,
            rules TEXT NOT NULL,
            source TEXT NOT NULL,
            trades INTEGER NOT NULL,
            days TEXT NOT NULL,
            paths INTEGER NOT NULL,
            seed INTEGER,
            pass_probability REAL NOT NULL,
            fail_daily_probability REAL NOT NULL,
            fail_max_probability REAL NOT NULL,
            timeout_probability REAL NOT NULL,
            days_to_pass TEXT NOT NULL,
            sample_paths TEXT NOT NULL,
            wall_s REAL NOT NULL
        )""",
    ]),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

metadata = MetaData()

tick_chunks = Table(
    "tick_chunks", metadata,
    Column("id", Integer, primary_key=True),
    Column("symbol", Text, nullable=False),
    Column("start_ts", Integer, nullable=False),
    Column("end_ts", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("ts", LargeBinary, nullable=False),
    Column("price", LargeBinary, nullable=False),
    Column("size", LargeBinary, nullable=False),
    Column("side", LargeBinary, nullable=False),
)

bars = Table(
    "bars", metadata,
    Column("symbol", Text, primary_key=True),
    Column("timeframe", Text, primary_key=True),
    Column("ts", Integer, primary_key=True),
    Column("end_ts", Integer, nullable=False),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    Column("trades", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True),
    Column("file_name", String, nullable=False),
    Column("sha256", String, nullable=False, unique=True),
    Column("kind", String, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported_at", Integer, nullable=False),
)

INSERT_TICK_CHUNK_SQL = (
    "INSERT INTO tick_chunks (symbol, start_ts, end_ts, count, ts, price, size, side) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_BAR_SQL = (
    "INSERT OR REPLACE INTO bars (symbol, timeframe, ts, end_ts, open, high, low, close, "
    "volume, trades, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
