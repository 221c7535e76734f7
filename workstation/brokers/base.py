"""The Broker protocol: what the paper simulator implements now and the Alpaca
adapter later.

Commands return at once with the order's state as the broker knows it then
(accepted or rejected, for the simulator; new, for a remote broker); every
later change arrives as OrderUpdate and Fill events on the bus. That keeps the
engine deterministic on simulated time and never blocks the loop on a network
call. Only the OrderRouter calls these commands (invariant 1).
"""

from __future__ import annotations

from typing import Protocol

from workstation.orders import OrderIntent, OrderUpdate
from workstation.portfolio import AccountView, PositionView


class BrokerError(ValueError):
    """A command the broker cannot carry out (unknown order, order already done)."""


class Broker(Protocol):
    name: str

    def submit(self, intent: OrderIntent) -> OrderUpdate: ...

    def cancel(self, order_id: str, reason: str = "canceled by user") -> OrderUpdate: ...

    def replace(self, order_id: str, *, qty: float | None = None,
                limit_price: float | None = None,
                stop_price: float | None = None) -> OrderUpdate: ...

    def open_orders(self) -> list[OrderUpdate]: ...

    def positions(self) -> list[PositionView]: ...

    def account(self) -> AccountView: ...
