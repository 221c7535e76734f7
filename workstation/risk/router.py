"""The OrderRouter: the only path from an order intent to a broker (invariant 1).

Manual orders, one-click approvals, strategies, break-even moves and
flatten-all all come through here; the router asks the RiskGate first and
hands the broker only approved intents. Cancels always pass: they reduce risk.
"""

from __future__ import annotations

import itertools
import logging

from workstation.brokers.base import Broker, BrokerError
from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.orders import (
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
from workstation.risk.events import OrderBlocked
from workstation.risk.gate import Approved, Rejected, RiskGate
from workstation.risk.monitor import RiskMonitor

log = logging.getLogger(__name__)


class RiskRejected(BrokerError):
    """The gate refused an order modification; the message names the rule and numbers."""


class OrderRouter:
    def __init__(self, gate: RiskGate, state: RiskMonitor, broker: Broker, bus: EventBus,
                 clock: Clock) -> None:
        self._gate = gate
        self._state = state
        self._broker = broker
        self._bus = bus
        self._clock = clock
        self._ids: dict[str, itertools.count[int]] = {}

    def next_client_id(self, source: str) -> str:
        """Deterministic ids for engine-made orders: ``source-1``, ``source-2``..."""
        counter = self._ids.setdefault(source, itertools.count(1))
        return f"{source}-{next(counter)}"

    def resume_ids(self, client_ids: list[str]) -> None:
        """After a restart, engine-made ids continue after the stored ones (a repeated
        id would be taken for a resubmission of the old order)."""
        highest: dict[str, int] = {}
        for client_id in client_ids:
            source, _, number = client_id.rpartition("-")
            if source and number.isdigit():
                highest[source] = max(highest.get(source, 0), int(number))
        for source, number in highest.items():
            self._ids[source] = itertools.count(number + 1)

    def submit(self, intent: OrderIntent) -> OrderUpdate:
        verdict = self._gate.check(intent, self._state)
        if isinstance(verdict, Rejected):
            log.warning("risk gate rejected %s: %s", intent.describe(), verdict.reason)
            self._bus.publish(OrderBlocked(self._clock.now_ns(), intent.client_order_id,
                                           intent.symbol, verdict.rule, verdict.reason,
                                           dict(verdict.values)))
            update = OrderUpdate("", intent.client_order_id, intent.symbol, intent.side,
                                 intent.type, OrderStatus.REJECTED, intent.qty, 0.0, 0.0,
                                 intent.limit_price, intent.stop_price,
                                 f"risk: {verdict.rule}: {verdict.reason}",
                                 self._clock.now_ns(), intent)
            self._bus.publish(update)
            return update
        return self._broker.submit(verdict.intent)

    def cancel(self, order_id: str, reason: str = "canceled by user") -> OrderUpdate:
        return self._broker.cancel(order_id, reason)

    def replace(self, order_id: str, *, qty: float | None = None,
                limit_price: float | None = None,
                stop_price: float | None = None) -> OrderUpdate:
        """Modify a working order; the gate checks the change (RiskRejected if refused)."""
        current = next((o for o in self._broker.open_orders() if o.order_id == order_id), None)
        if current is not None:
            verdict = self._gate.check_replace(current, self._state, qty=qty,
                                               limit_price=limit_price, stop_price=stop_price)
            if isinstance(verdict, Rejected):
                log.warning("risk gate refused a change to %s: %s", order_id, verdict.reason)
                self._bus.publish(OrderBlocked(self._clock.now_ns(), current.client_order_id,
                                               current.symbol, verdict.rule, verdict.reason,
                                               dict(verdict.values)))
                raise RiskRejected(f"risk: {verdict.rule}: {verdict.reason}")
        return self._broker.replace(order_id, qty=qty, limit_price=limit_price,
                                    stop_price=stop_price)

    def flatten(self, symbol: str | None = None, source: str = "flatten") -> list[OrderUpdate]:
        """Cancel working orders and close positions (one symbol, or all)."""
        for order in self._broker.open_orders():
            if symbol is None or order.symbol == symbol:
                self._broker.cancel(order.order_id, "canceled by flatten")
        updates = []
        for position in self._broker.positions():
            if position.qty == 0 or (symbol is not None and position.symbol != symbol):
                continue
            side = OrderSide.SELL if position.qty > 0 else OrderSide.BUY
            intent = OrderIntent(self.next_client_id(source), position.symbol, side,
                                 abs(position.qty), OrderType.MARKET, tif=TimeInForce.IOC,
                                 source=source)
            updates.append(self.submit(intent))
        return updates

    def check(self, intent: OrderIntent) -> Approved | Rejected:
        """What the gate would say, without sending (the ticket's warning step)."""
        return self._gate.preview(intent, self._state)

    def working_orders(self) -> list[OrderUpdate]:
        return self._broker.open_orders()
