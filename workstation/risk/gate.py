"""The RiskGate: every order intent is checked here before any broker sees it.

Until the risk rules land (prop-firm limits, kill switch) the gate approves
every intent; the path itself is what matters now, and it already exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workstation.orders import OrderIntent
from workstation.portfolio import AccountView, PositionView


@dataclass(frozen=True, slots=True)
class GateState:
    account: AccountView
    positions: list[PositionView]


@dataclass(frozen=True, slots=True)
class Approved:
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class Rejected:
    rule: str
    reason: str
    values: dict[str, float] = field(default_factory=dict)


Verdict = Approved | Rejected


class RiskGate:
    def check(self, intent: OrderIntent, state: GateState) -> Verdict:
        return Approved(intent)
