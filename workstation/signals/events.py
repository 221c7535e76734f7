"""What the signal engine publishes: the journal stores it, the UI shows it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from workstation.signals.lifecycle import SignalRecord, Transition


@dataclass(frozen=True, slots=True)
class SignalChanged:
    """A signal moved (``new`` holds the transitions since the last change) or its row
    changed (bars waited, the gate's verdict). ``record`` is a snapshot, safe to keep."""

    record: SignalRecord
    new: tuple[Transition, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertRefused:
    """An external alert the endpoint turned away (a 4xx), kept for the record."""

    ts: int
    remote: str
    status: int
    message: str
    body: str


def snapshot(record: SignalRecord) -> SignalRecord:
    """A copy of a record whose lists the engine will not mutate later."""
    copied = copy.copy(record)
    copied.history = list(record.history)
    copied.order_client_ids = list(record.order_client_ids)
    return copied
