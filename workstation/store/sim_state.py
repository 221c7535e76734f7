"""Where the simulated market of a home stands, so a relaunch continues it.

Simulated exchange time in a home only moves forward: a relaunch resumes at the
latest of the stored market clock, the stored market data and the account's own
records, each instrument from its last stored price. Runs on a scratch account
(seeded headless and smoke runs) neither read nor write this state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from workstation.store.database import Store


@dataclass(frozen=True, slots=True)
class SimResume:
    clock_ns: int
    prices: dict[str, float] = field(default_factory=dict)


def load_sim_resume(store: Store, account: str) -> SimResume | None:
    """The stored market's clock and last prices, or None for a fresh home."""
    with store.transaction() as conn:
        data = conn.execute(text("SELECT data FROM sim_state WHERE id = 1")).scalar()
        stored = json.loads(data) if data else {"clock_ns": 0, "prices": {}}
        latest = max(int(stored["clock_ns"]), _latest_record_ns(conn, account))
        prices = dict(stored["prices"])
        for symbol, close in conn.execute(text(
                "SELECT symbol, close FROM bars b WHERE timeframe = '1m' AND ts = "
                "(SELECT MAX(ts) FROM bars WHERE symbol = b.symbol AND timeframe = '1m')")):
            prices.setdefault(symbol, float(close))
    if latest == 0:
        return None
    return SimResume(latest, prices)


def save_sim_resume(conn: Connection, resume: SimResume) -> None:
    conn.execute(text("INSERT OR REPLACE INTO sim_state (id, data) VALUES (1, :d)"),
                 {"d": json.dumps({"clock_ns": resume.clock_ns, "prices": resume.prices})})


def _latest_record_ns(conn: Connection, account: str) -> int:
    """The latest time on the home's market data and on the account's trading records."""
    latest = 0
    for query in ("SELECT MAX(end_ts) FROM bars",
                  "SELECT MAX(end_ts) FROM tick_chunks",
                  "SELECT MAX(ts) FROM fills WHERE account = :a",
                  "SELECT MAX(updated_ts) FROM orders WHERE account = :a",
                  "SELECT MAX(ts) FROM order_events WHERE account = :a",
                  "SELECT MAX(updated_ts) FROM trades WHERE account = :a",
                  "SELECT MAX(updated_ts) FROM signals WHERE account = :a",
                  "SELECT MAX(ts) FROM risk_events WHERE account = :a"):
        value = conn.execute(text(query), {"a": account}).scalar()
        latest = max(latest, int(value or 0))
    return latest
