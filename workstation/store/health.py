"""Whether trading events can be stored right now.

The journal is the only writer of trading events. When a commit fails it keeps the
events queued and retries; meanwhile this object says why, and the risk gate reads
it: new entries are refused while the journal cannot store them (exits still pass,
so a trader can always get flat). The same holds while the disk is full, even once
the space reserve let the waiting events be stored. The UI shows the reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreHealthChanged:
    """Published on the bus when the store becomes unavailable or available again."""

    ts: int
    available: bool
    reason: str
    queued: int  # trading events waiting to be stored


class StoreHealth:
    def __init__(self) -> None:
        self.failing = False
        self.low_disk = False  # the disk filled up: the space reserve is in use
        self.reason = ""
        self.queued = 0
        self.failures = 0

    @property
    def available(self) -> bool:
        return not self.failing and not self.low_disk

    def failed(self, reason: str, queued: int) -> bool:
        """Record a failed commit; True when this turned the store unavailable."""
        was = self.available
        self.failures += 1
        self.failing, self.reason, self.queued = True, reason, queued
        return was

    def committed(self) -> bool:
        """Record a successful commit; True when the store became available."""
        was = self.available
        self.failing, self.queued = False, 0
        return not was and self.available

    def disk_full(self, reason: str) -> bool:
        """The disk is full; True when this turned the store unavailable."""
        was = self.available
        self.low_disk, self.reason = True, reason
        return was

    def disk_ok(self) -> bool:
        """Space is back (the reserve was re-created); True when the store became available."""
        was = self.available
        self.low_disk = False
        return not was and self.available

    def describe(self) -> str:
        if self.available:
            return "store ok"
        if self.failing:
            return (f"trading journal cannot be saved ({self.reason}); {self.queued} event(s) "
                    "waiting, retrying")
        return f"disk full ({self.reason}): trading events are being kept in the space reserve"
