"""What a click on the price ladder sends, kept out of the widgets (and free of Qt): a click
on the bid side buys at that price, on the ask side sells; a limit when the price is on
the resting side of the market, a stop when it is through it (a buy above the ask, a sell
below the bid), as NinjaTrader's SuperDOM does. Entries carry the ladder's default bracket
in ticks (its "ATM"); an order that reduces the position carries none.

Every order is priced by the ticket's code (ui/ticket.py) and sent through the router,
so the risk gate judges it as it judges the ticket's and the chart's; each command says
what it did in one line, which the ladder shows in its footer and the status bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ui.ticket import Distance, TicketForm, build_intent, price_ticket, problems
from workstation.brokers.base import BrokerError
from workstation.engine import Engine
from workstation.market import SymbolState
from workstation.model import Instrument
from workstation.orders import OrderSide, OrderStatus, OrderType, OrderUpdate


@dataclass(frozen=True, slots=True)
class Atm:
    """The default bracket of the ladder's entries, in ticks from the fill (0: no leg)."""

    on: bool
    stop_ticks: int
    target_ticks: int

    @property
    def active(self) -> bool:
        return self.on and (self.stop_ticks > 0 or self.target_ticks > 0)


@dataclass(frozen=True, slots=True)
class Said:
    """One command's outcome, as the trader reads it."""

    text: str
    error: bool = False
    update: OrderUpdate | None = None


def click_type(side: OrderSide, price: float, market: SymbolState) -> OrderType:
    """A limit on the resting side, a stop through the market: a buy above the ask (the
    last trade without a quote), a sell below the bid. Without any price: a limit."""
    if side is OrderSide.BUY:
        touch = market.ask if market.ask > 0 else market.last
        return OrderType.STOP if touch > 0 and price > touch else OrderType.LIMIT
    touch = market.bid if market.bid > 0 else market.last
    return OrderType.STOP if touch > 0 and price < touch else OrderType.LIMIT


def reduces(side: OrderSide, position_qty: float) -> bool:
    """True when an order on ``side`` works against the position (an exit: no bracket)."""
    return position_qty * side.sign < 0


class LadderTrading:
    def __init__(self, engine: Engine, next_client_id: Callable[[], str]) -> None:
        self.engine = engine
        self._next_client_id = next_client_id

    def position_qty(self, symbol: str) -> float:
        return next((p.qty for p in self.engine.broker.positions() if p.symbol == symbol), 0.0)

    def place(self, symbol: str, side: OrderSide, price: float, qty: float, atm: Atm) -> Said:
        """A buy or sell at ``price`` (snapped to the tick): limit or stop as
        :func:`click_type` says, with the ATM bracket unless it reduces the position."""
        engine = self.engine
        inst: Instrument = engine.instruments[symbol]
        market = engine.market.get(symbol)
        price = inst.round_price(price)
        kind = click_type(side, price, market)
        bracket = atm.active and not reduces(side, self.position_qty(symbol))
        form = TicketForm(symbol, side, qty, kind,
                          limit_price=price if kind is OrderType.LIMIT else None,
                          stop_price=price if kind is OrderType.STOP else None,
                          bracket=bracket,
                          stop_distance=atm.stop_ticks, stop_unit=Distance.TICKS,
                          target_distance=atm.target_ticks, target_unit=Distance.TICKS)
        priced = price_ticket(form, market, inst)
        found = problems(priced, inst)
        if found:
            return Said(f"{side.value.capitalize()} {symbol} not sent: {found[0]}", True)
        intent = build_intent(priced, self._next_client_id())
        try:
            update = engine.router.submit(intent)
        except BrokerError as exc:
            return Said(f"{intent.describe()}: not sent: {exc}", True)
        if update.status is OrderStatus.REJECTED:
            return Said(f"{intent.describe()} rejected: {update.reason}", True, update)
        return Said(f"Sent {intent.describe()} ({update.client_order_id})", False, update)

    def cancel(self, orders: Iterable[OrderUpdate]) -> Said:
        """Cancel ``orders`` (those still working); says how many were canceled."""
        router = self.engine.router
        done: list[str] = []
        for order in orders:
            if not any(o.order_id == order.order_id for o in router.working_orders()):
                continue  # already gone (a bracket's legs go with their entry)
            try:
                router.cancel(order.order_id)
            except BrokerError as exc:
                return Said(f"Not canceled: {order.client_order_id}: {exc}", True)
            done.append(order.client_order_id)
        if not done:
            return Said("No working order to cancel there")
        return Said(f"Cancel sent for {', '.join(done)}")

    def cancel_all(self, symbol: str) -> Said:
        """Every working order of ``symbol``, bracket legs included."""
        working = [o for o in self.engine.router.working_orders() if o.symbol == symbol]
        if not working:
            return Said(f"No working {symbol} order to cancel")
        said = self.cancel(working)
        if said.error:
            return said
        return Said(f"Cancel all {symbol}: {said.text.removeprefix('Cancel sent for ')}")
