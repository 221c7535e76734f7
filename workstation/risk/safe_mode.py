"""Safe mode: new entries blocked, exits allowed, until a person acknowledges why.

Entered when reconciliation finds the journal and the broker disagree (an order filled
while Bracket was down, a position opened elsewhere). Unlike the kill switch it cancels
nothing: the differences are for a person to look at. Every change is a
``SafeModeChanged`` event, which the journal keeps in the compliance history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from workstation.bus import EventBus
from workstation.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SafeModeChanged:
    ts: int
    active: bool
    reason: str
    differences: tuple[str, ...] = ()


class SafeMode:
    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self.active = False
        self.reason = ""
        self.differences: tuple[str, ...] = ()

    def enter(self, reason: str, differences: list[str]) -> None:
        """On (again, with the new differences added, if it already was)."""
        new = tuple(d for d in differences if d not in self.differences)
        if self.active and not new:
            return
        self.active, self.reason = True, reason
        self.differences += new
        log.critical("SAFE MODE: %s; new entries are blocked until acknowledged: %s", reason,
                     "; ".join(self.differences))
        self._bus.publish(SafeModeChanged(self._clock.now_ns(), True, reason, self.differences))

    def acknowledge(self, who: str = "user") -> None:
        if not self.active:
            return
        reason = f"acknowledged by {who} (was: {self.reason})"
        self.active, self.reason, self.differences = False, "", ()
        log.warning("safe mode off: %s", reason)
        self._bus.publish(SafeModeChanged(self._clock.now_ns(), False, reason))
