"""Whether trading events can be stored right now.

The journal is the only writer of trading events. When a commit fails it keeps the
events queued and retries; meanwhile this object says why, and the risk gate reads
it: new entries are refused while the journal cannot store them (exits still pass,
so a trader can always get flat). The UI shows the reason in the status bar.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreHealthChanged:
    """Published on the bus when the journal loses or regains the store."""

    ts: int
    available: bool
    reason: str
    queued: int  # trading events waiting to be stored


class StoreHealth:
    def __init__(self) -> None:
        self.available = True
        self.reason = ""
        self.queued = 0
        self.failures = 0
        self.since_ns: int | None = None

    def failed(self, reason: str, queued: int, now_ns: int) -> bool:
        """Record a failed commit; True when this turned the store unavailable."""
        self.failures += 1
        self.reason, self.queued = reason, queued
        if not self.available:
            return False
        self.available, self.since_ns = False, now_ns
        return True

    def recovered(self) -> bool:
        """Record a successful commit; True when the store came back."""
        self.queued = 0
        if self.available:
            return False
        self.available, self.reason, self.since_ns = True, "", None
        return True

    def describe(self) -> str:
        if self.available:
            return "store ok"
        return (f"trading journal cannot be saved ({self.reason}); {self.queued} event(s) "
                "waiting, retrying")
