"""Risk events: stored with time and values (the compliance history) and shown."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RiskLevelChanged:
    """A rule moved between safe / warning / danger / locked (a near miss or a breach)."""

    ts: int
    rule: str
    label: str
    old_level: str
    new_level: str
    value: float
    limit: float
    used_pct: float


@dataclass(frozen=True, slots=True)
class KillSwitchChanged:
    ts: int
    active: bool
    reason: str
    automatic: bool
    scope: str = "all"  # "all", or a strategy's name when only it is paused


@dataclass(frozen=True, slots=True)
class OrderBlocked:
    """The gate rejected an order: which rule, why, and the numbers."""

    ts: int
    client_order_id: str
    symbol: str
    rule: str
    reason: str
    values: dict[str, float] = field(default_factory=dict)  # the numbers the rule compared
