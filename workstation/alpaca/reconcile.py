"""Reconciliation: the journal against Alpaca's open orders and positions.

Run at the start and after every reconnect of the trade-update stream. Bracket's
working orders are brought to what Alpaca says (fills missed while Bracket was down or
disconnected are booked, so the journal ends up matching), and anything that had to be
changed, or that Bracket did not place, is a difference. Differences are logged, kept,
and put the account in safe mode (new entries blocked, exits allowed) until a person
acknowledges them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from workstation.alpaca.rest import RestError
from workstation.brokers.alpaca import NOT_FOUND, AlpacaBroker, RemoteOrder
from workstation.orders import OrderType
from workstation.portfolio import Portfolio
from workstation.risk.safe_mode import SafeMode

log = logging.getLogger(__name__)
_EPS = 1e-9


@dataclass(slots=True)
class Reconciliation:
    restored: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, object]:
        return {"matched": self.matched, "restored": self.restored,
                "differences": self.differences}


async def _leg_at_alpaca(broker: AlpacaBroker, by_cid: dict[str, dict[str, Any]],
                         remote: RemoteOrder) -> dict[str, Any] | None:
    """A restored bracket leg: Alpaca named it, so it is found in its entry's legs."""
    order = remote.order
    parent_cid = f"{broker.namespace}-{order.intent.parent_id}"
    parent = by_cid.get(parent_cid)
    if parent is None:
        try:
            parent = await broker.rest.call(
                lambda: broker.client.get_order_by_client_id(parent_cid),
                f"look up order {parent_cid}")
        except RestError as exc:
            if exc.status != NOT_FOUND:
                raise
            return None
    stop = order.intent.type is OrderType.STOP
    for leg in (parent or {}).get("legs") or []:
        if bool(leg.get("stop_price")) == stop:
            broker.relink(remote, leg)
            return leg
    return None


async def reconcile(broker: AlpacaBroker, portfolio: Portfolio, safe_mode: SafeMode,
                    when: str) -> Reconciliation:
    """Compare, fix what can be fixed from Alpaca's side, report the rest."""
    result = Reconciliation()
    request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=True)
    remote_open = await broker.rest.call(lambda: broker.client.get_orders(request),
                                         "list open orders")
    by_cid = {str(raw.get("client_order_id")): raw for raw in remote_open or []}
    matched = 0
    for remote in broker.working():
        order = remote.order
        raw = by_cid.get(remote.remote_cid)
        if raw is None and order.intent.parent_id is not None:
            raw = await _leg_at_alpaca(broker, by_cid, remote)
        if raw is None:
            try:
                raw = await broker.rest.call(
                    lambda r=remote: broker.client.get_order_by_client_id(r.remote_cid),
                    f"look up order {remote.remote_cid}")
            except RestError as exc:
                if exc.status != NOT_FOUND:
                    raise
                broker.forget(remote, "Alpaca has no such order (never placed)")
                result.differences.append(f"order {order.order_id} ({order.intent.describe()}) "
                                          "is not known at Alpaca: marked not working")
                continue
        while raw.get("status") == "replaced" and raw.get("replaced_by"):
            newer = str(raw["replaced_by"])  # modified: the order lives on under a new id
            raw = await broker.rest.call(lambda i=newer: broker.client.get_order_by_id(i),
                                         f"look up order {newer}")
            broker.relink(remote, raw)
        filled_before, status_before = order.filled_qty, order.status
        broker.adopt(remote, raw)
        if order.filled_qty > filled_before + _EPS:
            result.differences.append(
                f"order {order.order_id} ({order.intent.describe()}) filled "
                f"{order.filled_qty - filled_before:g} at Alpaca while Bracket was not "
                f"watching; now {order.status}")
        elif order.status.terminal and not status_before.terminal:
            result.differences.append(f"order {order.order_id} ({order.intent.describe()}) "
                                      f"is {order.status} at Alpaca")
        else:
            matched += 1
    for raw in remote_open or []:
        if not broker.owns(raw):
            result.differences.append(
                f"order at Alpaca that Bracket did not place: {raw.get('side')} "
                f"{raw.get('qty')} {raw.get('symbol')} {raw.get('type') or raw.get('order_type')}"
                f" (client id {raw.get('client_order_id')})")
    positions = await broker.rest.call(broker.client.get_all_positions, "list positions")
    remote_qty: dict[str, float] = {}
    for raw in positions or []:
        qty = float(raw.get("qty") or 0)
        if raw.get("side") == "short" and qty > 0:
            qty = -qty
        remote_qty[str(raw.get("symbol"))] = qty
    symbols = set(remote_qty) | {s for s, p in portfolio.positions.items() if p.qty != 0}
    held = []
    for symbol in sorted(symbols):
        theirs = remote_qty.get(symbol, 0.0)
        ours = portfolio.position(symbol) if symbol in portfolio.positions else 0.0
        if abs(theirs - ours) > _EPS:
            result.differences.append(f"position {symbol}: Alpaca holds {theirs:g}, the "
                                      f"journal {ours:g}")
        elif theirs:
            held.append(f"{symbol} {theirs:g}")
    result.restored.append(f"{matched} working order(s) match Alpaca")
    result.restored.append(f"positions match: {', '.join(held)}" if held
                           else "no positions, as at Alpaca")
    if result.differences:
        safe_mode.enter(f"reconciliation {when} found {len(result.differences)} "
                        "difference(s) with Alpaca", result.differences)
    else:
        log.info("reconciliation %s: the journal matches Alpaca (%s)", when,
                 "; ".join(result.restored))
    return result
