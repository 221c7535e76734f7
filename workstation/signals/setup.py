"""The trade setup a trader approves: entry, stop, risk in points and money, a
suggested size and R-multiple targets. Pure arithmetic, checked so that an
impossible setup is refused with the numbers instead of reaching the risk gate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from workstation.model import Bar, Direction, Instrument
from workstation.signals.pivots import StopChoice

ENTRY_KINDS = ("next_open", "limit_at_close")
_EPS = 1e-9  # float slack so 0.3 / 0.1 counts as 3 lots, not 2


class SetupError(ValueError):
    """The setup cannot be traded as asked; the message names the numbers."""


class Sizing(StrEnum):
    FIXED_MONEY = "fixed_money"  # risk_amount is money per trade
    EQUITY_PCT = "equity_pct"  # risk_amount is a percent of equity per trade


@dataclass(frozen=True, slots=True)
class TradeSetup:
    symbol: str
    direction: Direction
    entry: float
    stop: float
    risk_points: float
    risk_money_per_contract: float
    qty: float
    risk_money: float
    targets: tuple[float, ...]
    target_r: tuple[float, ...]
    entry_kind: str
    stop_rule: str
    signal_bar_ts: int
    confirm_bar_ts: int
    pivot_bar_ts: int


def allowed_risk(sizing: Sizing, risk_amount: float, equity: float) -> float:
    """Money the trader allows to lose on one trade."""
    if not risk_amount > 0:
        raise SetupError(f"risk per trade must be > 0, got {risk_amount:g}")
    if sizing is Sizing.FIXED_MONEY:
        return risk_amount
    if not equity > 0:
        raise SetupError(f"equity must be > 0 to size at {risk_amount:g}% of it, "
                         f"got {equity:.2f}")
    return equity * risk_amount / 100.0


def floor_to_lot(qty: float, instrument: Instrument) -> float:
    """Round a size DOWN to the lot grid: sizing must never add risk."""
    lots = math.floor(qty / instrument.lot_size + _EPS)
    return round(lots * instrument.lot_size, instrument.size_decimals)


def build_setup(direction: Direction, entry: float, stop: StopChoice, instrument: Instrument,
                *, sizing: Sizing, risk_amount: float, equity: float,
                target_r: Sequence[float] = (1.0, 2.0), max_qty: float | None = None,
                entry_kind: str = "next_open", signal_bar: Bar,
                confirm_bar: Bar) -> TradeSetup:
    """Size and price a confirmed signal; raise SetupError when it cannot be traded."""
    if entry_kind not in ENTRY_KINDS:
        raise ValueError(f"entry kind must be one of {ENTRY_KINDS}, got {entry_kind!r}")
    if any(not r > 0 for r in target_r):
        raise ValueError(f"target R multiples must be > 0, got {tuple(target_r)}")
    if max_qty is not None and not max_qty > 0:
        raise ValueError(f"max_qty must be > 0, got {max_qty:g}")
    decimals = instrument.price_decimals
    entry = instrument.round_price(entry)
    stop_price = instrument.round_price(stop.price)
    sign = direction.sign
    if not (entry - stop_price) * sign > 0:
        side = "below" if direction is Direction.LONG else "above"
        raise SetupError(f"{direction} stop {stop_price:.{decimals}f} is not {side} the "
                         f"entry {entry:.{decimals}f}")
    risk_points = round(abs(entry - stop_price), decimals)
    per_contract = risk_points * instrument.point_value
    allowed = allowed_risk(sizing, risk_amount, equity)
    qty = floor_to_lot(allowed / per_contract, instrument)
    if qty <= 0:
        raise SetupError(f"risk per contract {per_contract:,.2f} exceeds the {allowed:,.2f} "
                         "allowed per trade")
    if max_qty is not None:
        qty = min(qty, floor_to_lot(max_qty, instrument))
        if qty <= 0:
            raise SetupError(f"max size {max_qty:g} is below one lot "
                             f"({instrument.lot_size:g}) of {instrument.symbol}")
    targets = tuple(instrument.round_price(entry + sign * r * risk_points) for r in target_r)
    return TradeSetup(
        symbol=instrument.symbol, direction=direction, entry=entry, stop=stop_price,
        risk_points=risk_points, risk_money_per_contract=per_contract, qty=qty,
        risk_money=qty * per_contract, targets=targets,
        target_r=tuple(float(r) for r in target_r), entry_kind=entry_kind,
        stop_rule=stop.rule, signal_bar_ts=signal_bar.ts, confirm_bar_ts=confirm_bar.ts,
        pivot_bar_ts=stop.bar.ts)
