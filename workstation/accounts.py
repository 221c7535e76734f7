"""Named paper accounts in one Bracket home (like NinjaTrader's Sim101).

The desktop trades one account ("Paper" unless the trader picks another). Headless
and smoke runs get a fresh account of their own unless ``--account`` names one, so a
seeded run is reproducible on any home and never touches the trader's account. A lock
file per account keeps two running Brackets from trading the same account.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from workstation.text import UnstorableText, check_storable

DEFAULT_ACCOUNT = "Paper"
MAX_NAME = 40
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]*")


class AccountError(ValueError):
    """An account name that cannot be used, or an account already in use."""


def check_account_name(name: str) -> str:
    """``name`` stripped, or ``AccountError`` saying what a name may hold."""
    try:
        cleaned = check_storable("account name", name).strip()
    except UnstorableText as exc:
        raise AccountError(str(exc)) from None
    if not cleaned or len(cleaned) > MAX_NAME or not _NAME.fullmatch(cleaned):
        raise AccountError(f"account name {name!r}: use 1 to {MAX_NAME} letters, digits, "
                           "spaces, '.', '_' or '-', starting with a letter or digit")
    return cleaned


def fresh_account_name(kind: str, now: datetime | None = None) -> str:
    """A new account for one run, e.g. ``run-20261203-101500-4f2a``: unique per process
    and second, readable in the account selector."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{moment}-{os.getpid() & 0xFFFF:04x}"


class AccountLock:
    """Held while an engine trades ``account`` from ``home``; a second holder is refused."""

    def __init__(self, home: Path, account: str) -> None:
        slug = re.sub(r"[^a-z0-9]+", "-", account.lower()).strip("-") or "account"
        (home / "locks").mkdir(parents=True, exist_ok=True)
        self.account = account
        self._lock = FileLock(home / "locks" / f"{slug}.lock")

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise AccountError(f"account {self.account!r} is in use by another Bracket on this "
                               "home; close it, or pick another account (--account NAME)"
                               ) from None

    def release(self) -> None:
        self._lock.release()


def account_in_use(home: Path, account: str) -> bool:
    """Whether another engine (in this process or another) trades ``account`` now."""
    lock = AccountLock(home, account)
    try:
        lock.acquire()
    except AccountError:
        return True
    lock.release()
    return False
