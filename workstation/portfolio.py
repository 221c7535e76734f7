"""Positions, P&L and the account, from fills and marks.

P&L uses each instrument's point value (invariant 7). Futures move cash only by
realized P&L and commissions and tie up margin per contract; equities and
crypto are bought with cash. Commissions are tracked apart from trading P&L.
The trading day rolls at 17:00 New York time (the CME day), which is where
"today's P&L" starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from workstation.model import AssetClass, Instrument, datetime_to_ns, ns_to_datetime
from workstation.orders import Fill, OrderSide
from workstation.sessions import NEW_YORK

DAY_ROLL = time(17, 0)


@dataclass(slots=True)
class Position:
    symbol: str
    qty: float = 0.0  # signed: long > 0, short < 0
    avg_price: float = 0.0
    realized_pnl: float = 0.0  # money, before commissions
    commission: float = 0.0
    last_price: float = 0.0

    @property
    def side(self) -> str:
        return "long" if self.qty > 0 else "short" if self.qty < 0 else "flat"


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    qty: float
    avg_price: float
    last_price: float
    unrealized_pnl: float
    realized_pnl: float
    commission: float


@dataclass(frozen=True, slots=True)
class AccountReset:
    """The paper account started over (positions and active trades forgotten)."""

    ts: int
    starting_cash: float


@dataclass(frozen=True, slots=True)
class AccountView:
    starting_cash: float
    cash: float
    equity: float
    realized_pnl: float
    unrealized_pnl: float
    commission: float
    margin_used: float
    buying_power: float
    day_pnl: float


class Portfolio:
    def __init__(self, instruments: dict[str, Instrument], margins: dict[str, float],
                 starting_cash: float, now_ns: int = 0) -> None:
        self._instruments = instruments
        self.margins = margins
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.realized_pnl = 0.0
        self.commission = 0.0
        self.positions: dict[str, Position] = {}
        self._day_start_equity = starting_cash
        self._next_roll = next_day_roll(now_ns)

    # -- updates ----------------------------------------------------------------------
    def apply_fill(self, fill: Fill) -> float:
        """Book a fill; returns the realized P&L (money, before commission) it made."""
        if fill.ts >= self._next_roll:  # a fill before the new day's first tick is the new day's
            self._roll_day(fill.ts)
        inst = self._instruments[fill.symbol]
        pos = self.positions.get(fill.symbol)
        if pos is None:
            pos = self.positions[fill.symbol] = Position(fill.symbol, last_price=fill.price)
        signed = fill.qty if fill.side is OrderSide.BUY else -fill.qty
        realized = 0.0
        old = pos.qty
        if old == 0 or (old > 0) == (signed > 0):
            total = abs(old) + abs(signed)
            pos.avg_price = (abs(old) * pos.avg_price + abs(signed) * fill.price) / total
        else:
            closing = min(abs(signed), abs(old))
            direction = 1.0 if old > 0 else -1.0
            realized = closing * (fill.price - pos.avg_price) * direction * inst.point_value
            if abs(signed) > abs(old):
                pos.avg_price = fill.price  # flipped: the rest opens at the fill price
        pos.qty = inst.round_size(old + signed)
        if pos.qty == 0:
            pos.avg_price = 0.0
        pos.realized_pnl += realized
        pos.commission += fill.commission
        pos.last_price = fill.price
        self.realized_pnl += realized
        self.commission += fill.commission
        if inst.asset_class is AssetClass.FUTURE:
            self.cash += realized - fill.commission
        else:
            self.cash -= signed * fill.price * inst.point_value + fill.commission
        return realized

    def mark(self, symbol: str, price: float, ts: int) -> None:
        if ts >= self._next_roll:
            self._roll_day(ts)
        pos = self.positions.get(symbol)
        if pos is not None:
            pos.last_price = price

    def _roll_day(self, ts: int) -> None:
        self._day_start_equity = self.equity()
        self._next_roll = next_day_roll(ts)

    def day_state(self) -> dict[str, float | int]:
        """Where today's P&L starts, kept with the risk state so a restart shows the same."""
        return {"start_equity": self._day_start_equity, "next_roll": self._next_roll}

    def restore_day(self, start_equity: float, next_roll: int, now_ns: int) -> None:
        """Today's starting equity as stored, unless the trading day rolled meanwhile."""
        if now_ns < next_roll:
            self._day_start_equity, self._next_roll = start_equity, next_roll
        else:
            self._roll_day(now_ns)

    def reset(self, now_ns: int) -> None:
        self.cash = self.starting_cash
        self.realized_pnl = self.commission = 0.0
        self.positions.clear()
        self._day_start_equity = self.starting_cash
        self._next_roll = next_day_roll(now_ns)

    # -- views ------------------------------------------------------------------------
    def unrealized(self, pos: Position) -> float:
        if pos.qty == 0:
            return 0.0
        inst = self._instruments[pos.symbol]
        return pos.qty * (pos.last_price - pos.avg_price) * inst.point_value

    def equity(self) -> float:
        value = self.cash
        for pos in self.positions.values():
            inst = self._instruments[pos.symbol]
            if inst.asset_class is AssetClass.FUTURE:
                value += self.unrealized(pos)
            else:
                value += pos.qty * pos.last_price * inst.point_value
        return value

    def margin_used(self) -> float:
        return sum(abs(p.qty) * self.margins.get(p.symbol, 0.0)
                   for p in self.positions.values()
                   if self._instruments[p.symbol].asset_class is AssetClass.FUTURE)

    def buying_power(self) -> float:
        """Cash plus open futures P&L, less futures margin and short-sale proceeds."""
        power = self.cash - self.margin_used()
        for pos in self.positions.values():
            inst = self._instruments[pos.symbol]
            if inst.asset_class is AssetClass.FUTURE:
                power += self.unrealized(pos)
            elif pos.qty < 0:
                power += 2 * pos.qty * pos.last_price * inst.point_value
        return power

    def required_for(self, symbol: str, side: OrderSide, qty: float, price: float) -> float:
        """Buying power an order needs: only the part that opens or adds to a position."""
        pos = self.positions.get(symbol)
        current = pos.qty if pos else 0.0
        signed = qty * side.sign
        if current != 0 and (current > 0) != (signed > 0):
            opening = max(0.0, abs(signed) - abs(current))
        else:
            opening = abs(signed)
        inst = self._instruments[symbol]
        if inst.asset_class is AssetClass.FUTURE:
            return opening * self.margins.get(symbol, 0.0)
        return opening * price * inst.point_value

    def position(self, symbol: str) -> float:
        pos = self.positions.get(symbol)
        return pos.qty if pos else 0.0

    def position_views(self) -> list[PositionView]:
        return [PositionView(p.symbol, p.qty, p.avg_price, p.last_price, self.unrealized(p),
                             p.realized_pnl, p.commission)
                for p in self.positions.values() if p.qty != 0 or p.realized_pnl != 0]

    def account(self) -> AccountView:
        equity = self.equity()
        unrealized = sum(self.unrealized(p) for p in self.positions.values())
        return AccountView(self.starting_cash, self.cash, equity, self.realized_pnl, unrealized,
                           self.commission, self.margin_used(), self.buying_power(),
                           equity - self._day_start_equity)


def next_day_roll(ts: int) -> int:
    """The next 17:00 New York time after ``ts``."""
    local = ns_to_datetime(ts).astimezone(NEW_YORK)
    roll = datetime.combine(local.date(), DAY_ROLL, NEW_YORK)
    if roll <= local:
        roll = datetime.combine(local.date() + timedelta(days=1), DAY_ROLL, NEW_YORK)
    return datetime_to_ns(roll)
