"""Pivot detection and the protective-stop rule of the confirmation engine.

A pivot is judged only on completed bars: a bar needs a closed neighbour on each
side, so the newest bar (the confirmation bar) can never be one. Nothing after
the confirmation bar is looked at, so a replay cannot peek into the future.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workstation.model import Bar, Direction, Instrument

RANGE_PIVOT = "range_pivot"
LEFT_PIVOT = "left_pivot"
FIRST_OPPOSING_BAR = "first_opposing_bar"
STOP_RULES = (RANGE_PIVOT, LEFT_PIVOT, FIRST_OPPOSING_BAR)


def is_pivot_low(bars: Sequence[Bar], i: int) -> bool:
    """Bar i's low is strictly below both neighbours' lows; an edge bar lacks a
    completed neighbour, so it is not a pivot."""
    if i <= 0 or i >= len(bars) - 1:
        return False
    low = bars[i].low
    return low < bars[i - 1].low and low < bars[i + 1].low


def is_pivot_high(bars: Sequence[Bar], i: int) -> bool:
    """Mirror of :func:`is_pivot_low` on highs."""
    if i <= 0 or i >= len(bars) - 1:
        return False
    high = bars[i].high
    return high > bars[i - 1].high and high > bars[i + 1].high


@dataclass(frozen=True, slots=True)
class StopChoice:
    """Where the stop goes and why: ``bar`` is the bar whose extreme (``anchor``)
    was used, ``price`` the anchor moved by the offset and rounded to the tick."""

    price: float
    rule: str  # one of STOP_RULES
    bar: Bar
    anchor: float


def pivot_stop(direction: Direction, bars: Sequence[Bar], signal_index: int,
               confirm_index: int, offset: float, instrument: Instrument,
               lookback: int = 5) -> StopChoice | None:
    """The stop behind the setup's structure, or None when there is none.

    Long (short mirrors with highs, bullish bars and ``+ offset``):
    1. the lowest low of bars[signal_index..confirm_index]; on a tie the EARLIEST
       bar wins (the extreme the market set first), if it is a pivot low;
    2. else the nearest pivot low among the ``lookback`` bars left of the range;
    3. else the low of the first bearish bar (close < open) in the range.
    The stop's side relative to the entry is the setup builder's check, not this.
    """
    if not 0 <= signal_index <= confirm_index < len(bars):
        raise ValueError(f"bad confirmation range [{signal_index}, {confirm_index}] "
                         f"for {len(bars)} bars")
    if offset < 0:
        raise ValueError(f"stop offset must be >= 0, got {offset}")
    if lookback < 0:
        raise ValueError(f"pivot lookback must be >= 0, got {lookback}")
    # The confirmation bar is the last completed bar: later bars are not yet known.
    known = bars[:confirm_index + 1]
    long = direction is Direction.LONG
    extreme: Callable[[Bar], float] = (lambda b: b.low) if long else (lambda b: b.high)
    is_pivot = is_pivot_low if long else is_pivot_high
    sign = direction.sign

    def choice(index: int, rule: str) -> StopChoice:
        anchor = extreme(known[index])
        price = instrument.round_price(anchor - sign * offset)
        return StopChoice(price=price, rule=rule, bar=known[index], anchor=anchor)

    found = _range_extreme_index(known, signal_index, confirm_index, long)
    if is_pivot(known, found):
        return choice(found, RANGE_PIVOT)
    for index in range(signal_index - 1, max(signal_index - lookback, 0) - 1, -1):
        if is_pivot(known, index):
            return choice(index, LEFT_PIVOT)
    for index in range(signal_index, confirm_index + 1):
        if _opposes(direction, known[index]):
            return choice(index, FIRST_OPPOSING_BAR)
    return None


def _range_extreme_index(bars: Sequence[Bar], first: int, last: int, long: bool) -> int:
    """Index of the lowest low (long) or highest high (short); the earliest on a tie."""
    best = first
    for index in range(first + 1, last + 1):
        bar = bars[index]
        if (bar.low < bars[best].low) if long else (bar.high > bars[best].high):
            best = index
    return best


def _opposes(direction: Direction, bar: Bar) -> bool:
    """A bar moving against the trade: bearish for a long, bullish for a short."""
    return bar.close < bar.open if direction is Direction.LONG else bar.close > bar.open
