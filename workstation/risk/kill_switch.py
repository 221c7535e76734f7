"""The kill switch: system-wide, or per strategy.

On: working orders are canceled (except the stop-loss and take-profit legs that
protect open positions, unless everything is being flattened), new entries are
blocked (only orders that reduce a position pass the gate), optionally every
position is flattened (always when a prop-firm rule is breached: the firm closes
the account's positions), and an alert is raised. It is persisted and survives a
restart; it is turned off only by a deliberate reset with a typed confirmation,
and the reset is recorded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.risk.events import KillSwitchChanged

if TYPE_CHECKING:
    from workstation.risk.router import OrderRouter

log = logging.getLogger(__name__)

RESET_PHRASE = "RESET"


class KillSwitchError(ValueError):
    """A reset without the typed confirmation."""


class KillSwitch:
    def __init__(self, bus: EventBus, clock: Clock, flatten_on_kill: bool = False) -> None:
        self._bus = bus
        self._clock = clock
        self.flatten_on_kill = flatten_on_kill
        self.active = False
        self.reason = ""
        self.since = 0
        self.automatic = False
        self.flattened = False  # this session's switch closed every position
        self.paused: dict[str, str] = {}  # strategy -> why
        self._router: OrderRouter | None = None

    def attach(self, router: OrderRouter) -> None:
        self._router = router

    def activate(self, reason: str, *, automatic: bool = False,
                 flatten: bool | None = None) -> None:
        """On; ``flatten`` closes every position too (None: as ``flatten_on_kill`` says; a
        breached prop-firm rule passes True, since the firm would close them)."""
        if self.active:
            return
        flatten = self.flatten_on_kill if flatten is None else flatten
        self.active, self.reason, self.automatic = True, reason, automatic
        self.flattened = flatten and self._router is not None
        self.since = self._clock.now_ns()
        log.critical("KILL SWITCH ON (%s): %s", "automatic" if automatic else "manual", reason)
        self._bus.publish(KillSwitchChanged(self.since, True, reason, automatic))
        if self._router is not None:
            for order in self._router.working_orders():
                # nothing left: the order is filling right now (its fill fired this switch)
                if order.remaining <= 1e-9:
                    continue
                # without a flatten, a position keeps its protective bracket legs
                if order.intent.parent_id is not None and not flatten:
                    continue
                self._router.cancel(order.order_id, "kill switch")
            if flatten:
                self._router.flatten(None, source="kill-switch")

    def reset(self, typed: str, who: str = "user") -> None:
        """Turn the switch off: requires typing RESET exactly."""
        if typed.strip() != RESET_PHRASE:
            raise KillSwitchError(f"type {RESET_PHRASE} to reset the kill switch")
        if not self.active:
            return
        reason = f"reset by {who} (was: {self.reason})"
        self.active, self.reason, self.automatic, self.flattened = False, "", False, False
        log.warning("kill switch reset: %s", reason)
        self._bus.publish(KillSwitchChanged(self._clock.now_ns(), False, reason, False))

    def pause_strategy(self, strategy: str, reason: str) -> None:
        if strategy in self.paused:
            return
        self.paused[strategy] = reason
        log.error("strategy %s paused: %s", strategy, reason)
        self._bus.publish(KillSwitchChanged(self._clock.now_ns(), True, reason, True, strategy))

    def resume_strategy(self, strategy: str, typed: str) -> None:
        if typed.strip() != RESET_PHRASE:
            raise KillSwitchError(f"type {RESET_PHRASE} to resume {strategy}")
        if self.paused.pop(strategy, None) is not None:
            self._bus.publish(KillSwitchChanged(self._clock.now_ns(), False,
                                                f"{strategy} resumed", False, strategy))

    def restore(self, active: bool, reason: str, since: int, automatic: bool,
                paused: dict[str, str]) -> None:
        self.active, self.reason, self.since, self.automatic = active, reason, since, automatic
        self.paused = dict(paused)
