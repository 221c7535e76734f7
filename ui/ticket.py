"""What the order ticket computes, kept out of the widgets (and free of Qt) so it
can be tested by hand: the entry reference price, bracket distances in ticks,
points or R turned into distances on the tick grid, the intent, and the summary a
trader confirms before anything is sent.

A bracket given as distances is anchored to the fill: the intent carries the
distances (the broker prices the legs from the entry's actual average fill), and
the prices estimated from the current market, which the risk gate judges before
the fill and the confirmation shows as estimates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workstation.market import SymbolState
from workstation.model import Instrument
from workstation.orders import (
    Bracket,
    OrderIntent,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailUnit,
)


class Distance(StrEnum):
    TICKS = "ticks"
    POINTS = "points"
    R = "R"  # a multiple of the stop distance: targets only


NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


@dataclass(frozen=True, slots=True)
class TicketForm:
    """Everything typed into the ticket, as plain values."""

    symbol: str
    side: OrderSide
    qty: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    trail: float | None = None
    trail_unit: TrailUnit = TrailUnit.TICKS
    tif: TimeInForce = TimeInForce.DAY
    bracket: bool = False
    stop_distance: float = 0.0  # 0: no stop-loss leg
    stop_unit: Distance = Distance.TICKS
    target_distance: float = 0.0  # 0: no take-profit leg
    target_unit: Distance = Distance.R


@dataclass(frozen=True, slots=True)
class Priced:
    """A ticket turned into prices on the tick grid; ``reference`` is the entry estimate,
    ``stop_loss`` / ``take_profit`` the legs estimated from it, ``stop_points`` /
    ``target_points`` their distances from the fill (what the broker uses)."""

    form: TicketForm
    reference: float
    reference_source: str
    limit_price: float | None
    stop_price: float | None
    stop_loss: float | None
    take_profit: float | None
    stop_points: float | None = None
    target_points: float | None = None

    @property
    def r_points(self) -> float | None:
        return self.stop_points or None


def entry_reference(form: TicketForm, market: SymbolState, inst: Instrument
                    ) -> tuple[float, str]:
    """The price a bracket is measured from, chosen as the paper broker checks it:
    the limit, else the stop trigger, else the touch a market order takes."""
    if form.type in NEEDS_LIMIT and form.limit_price:
        return inst.round_price(form.limit_price), "limit"
    if form.type in NEEDS_STOP and form.stop_price:
        return inst.round_price(form.stop_price), "stop"
    touch, name = (market.ask, "ask") if form.side is OrderSide.BUY else (market.bid, "bid")
    if touch > 0:
        return touch, name
    return (market.last, "last") if market.last > 0 else (0.0, "no market data")


def to_points(distance: float, unit: Distance, inst: Instrument, r_points: float | None = None
              ) -> float | None:
    if unit is Distance.TICKS:
        return distance * inst.tick_size
    if unit is Distance.POINTS:
        return distance
    return distance * r_points if r_points else None


def price_ticket(form: TicketForm, market: SymbolState, inst: Instrument) -> Priced:
    """Round every price and distance to the tick (invariant 7); bracket legs at their
    distances from the entry reference (the estimate of the fill), R the stop's."""
    reference, source = entry_reference(form, market, inst)
    limit = inst.round_price(form.limit_price) if (form.type in NEEDS_LIMIT
                                                    and form.limit_price) else None
    stop = inst.round_price(form.stop_price) if (form.type in NEEDS_STOP
                                                  and form.stop_price) else None
    stop_loss = take_profit = stop_points = target_points = None
    if form.bracket and reference > 0:
        sign = form.side.sign
        if form.stop_distance > 0 and form.stop_unit is not Distance.R:
            stop_points = inst.round_price(to_points(form.stop_distance, form.stop_unit, inst)
                                           or 0.0) or None
        if stop_points is not None:
            stop_loss = inst.round_price(reference - sign * stop_points)
        points = (to_points(form.target_distance, form.target_unit, inst, stop_points)
                  if form.target_distance > 0 else None)
        target_points = inst.round_price(points) if points else None
        if target_points:
            take_profit = inst.round_price(reference + sign * target_points)
        else:
            target_points = None
    return Priced(form, reference, source, limit, stop, stop_loss, take_profit, stop_points,
                  target_points)


def problems(priced: Priced, inst: Instrument) -> list[str]:
    """What stops the ticket from being reviewed, phrased for the trader."""
    form = priced.form
    found = []
    if form.qty <= 0 or inst.round_size(form.qty) != form.qty:
        found.append(f"quantity must be a positive multiple of {inst.lot_size:g}")
    if form.type in NEEDS_LIMIT and priced.limit_price is None:
        found.append(f"a {form.type.value.replace('_', '-')} order needs a limit price")
    if form.type in NEEDS_STOP and priced.stop_price is None:
        found.append(f"a {form.type.value.replace('_', '-')} order needs a stop price")
    if form.type is OrderType.TRAILING_STOP and not (form.trail and form.trail > 0):
        found.append("a trailing stop needs a trail greater than zero")
    if form.bracket:
        if priced.reference <= 0:
            found.append(f"no quote for {form.symbol} yet: the bracket cannot be priced")
        elif form.stop_distance > 0 and form.stop_unit is not Distance.R \
                and priced.stop_points is None:
            found.append("the stop-loss distance rounds to zero ticks")
        elif form.target_unit is Distance.R and form.target_distance > 0 \
                and priced.stop_loss is None:
            found.append("a target in R needs a stop-loss distance")
        elif priced.stop_loss is None and priced.take_profit is None:
            found.append("the bracket needs a stop-loss or a take-profit distance")
        elif priced.stop_loss is not None and priced.stop_loss <= 0:
            found.append("the stop-loss would be at or below zero")
    return found


def build_intent(priced: Priced, client_order_id: str, source: str = "manual") -> OrderIntent:
    """The order as confirmed: its bracket anchored to the fill, with today's estimates."""
    form = priced.form
    bracket = (Bracket(priced.stop_loss, priced.take_profit, stop_offset=priced.stop_points,
                       target_offset=priced.target_points)
               if form.bracket and (priced.stop_loss or priced.take_profit) else None)
    trailing = form.type is OrderType.TRAILING_STOP
    return OrderIntent(client_order_id, form.symbol, form.side, form.qty, form.type,
                       limit_price=priced.limit_price, stop_price=priced.stop_price,
                       trail=form.trail if trailing else None, trail_unit=form.trail_unit,
                       tif=form.tif, bracket=bracket, source=source)


def summary(priced: Priced, inst: Instrument, commission_per_unit: float
            ) -> tuple[str, list[tuple[str, str]]]:
    """The headline and (label, value) rows the confirmation step shows: exactly what
    will be sent, with the risk and reward in money."""
    form = priced.form
    d = inst.price_decimals
    money_per_point = inst.point_value * form.qty
    kind = form.type.value.replace("_", "-").replace("trailing-stop", "trailing stop")
    headline = (f"{form.side.value.upper()} {form.qty:g} {form.symbol} {kind} · "
                f"{form.tif.value.upper()}")
    rows: list[tuple[str, str]] = []
    if priced.limit_price is not None:
        rows.append(("Limit price", f"{priced.limit_price:,.{d}f}"))
    if priced.stop_price is not None:
        rows.append(("Stop trigger", f"{priced.stop_price:,.{d}f}"))
    if form.type is OrderType.TRAILING_STOP and form.trail:
        rows.append(("Trail", f"{form.trail:g} {form.trail_unit.value}"))
    if priced.reference > 0:
        rows.append(("Entry ≈", f"{priced.reference:,.{d}f} ({priced.reference_source})"))
    r = priced.r_points
    below, above = ("below", "above") if form.side is OrderSide.BUY else ("above", "below")
    if priced.stop_loss is not None and r:
        rows.append(("Stop loss", f"{r:,.{d}f} pts {below} the fill ≈ "
                                  f"{priced.stop_loss:,.{d}f} · {r / inst.tick_size:,.0f} "
                                  f"ticks · risk ${r * money_per_point:,.2f}"))
    if priced.take_profit is not None and priced.target_points:
        reward = priced.target_points
        multiple = f" ({round(reward / r, 2):g}R)" if r else ""
        rows.append(("Take profit", f"{reward:,.{d}f} pts {above} the fill{multiple} ≈ "
                                    f"{priced.take_profit:,.{d}f} · reward "
                                    f"${reward * money_per_point:,.2f}"))
    if commission_per_unit:
        rows.append(("Commission", f"${commission_per_unit * form.qty:,.2f} per side"))
    return headline, rows
