"""The accounts of a home, as the account selector lists them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from workstation.store.database import Store


@dataclass(frozen=True, slots=True)
class AccountSummary:
    name: str
    created_ts: int
    epochs: int  # 1 + the number of resets
    starting_cash: float  # of the current epoch
    fills: int  # in the current epoch
    realized_pnl: float  # closed trades of the current epoch, before commission
    commission: float


def list_accounts(store: Store) -> list[AccountSummary]:
    """Every account of the home, oldest first, with its current epoch's figures."""
    query = text("""
        SELECT a.name, a.created_ts, e.epoch, e.starting_cash,
               (SELECT COUNT(*) FROM fills f WHERE f.account = a.name AND f.epoch = e.epoch),
               (SELECT COALESCE(SUM(json_extract(t.data, '$.realized_pnl')), 0) FROM trades t
                 WHERE t.account = a.name AND t.epoch = e.epoch AND t.status = 'closed'),
               (SELECT COALESCE(SUM(f.commission), 0) FROM fills f
                 WHERE f.account = a.name AND f.epoch = e.epoch)
        FROM accounts a JOIN account_epochs e ON e.account = a.name
        WHERE e.epoch = (SELECT MAX(epoch) FROM account_epochs WHERE account = a.name)
        ORDER BY a.created_ts, a.name""")
    with store.transaction() as conn:
        return [AccountSummary(str(r[0]), int(r[1]), int(r[2]), float(r[3]), int(r[4]),
                               float(r[5]), float(r[6])) for r in conn.execute(query)]
