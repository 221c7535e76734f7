"""When a closed bar confirms a signal: the market has to agree with the idea
by closing beyond the signal bar in the trade's direction, with a bar that moved
that way itself (a bearish bar closing above the high is a rejection wick story,
not a confirmation)."""

from __future__ import annotations

from workstation.model import Bar, Direction


def confirms(direction: Direction, signal_bar: Bar, bar: Bar) -> bool:
    """Long: bullish bar closing strictly above the signal high. Short: bearish bar
    closing strictly below the signal low."""
    if direction is Direction.LONG:
        return bar.close > bar.open and bar.close > signal_bar.high
    return bar.close < bar.open and bar.close < signal_bar.low
