"""Momentum signals: spots strong bars crossing the trend line; never trades by itself.

A long signal is a close crossing above the EMA(``ema_period``) on a bar whose range
(high - low) is at least ``min_range_atr`` times the average true range of the bars
before it: the price moves through the average with conviction, not by drifting.
A short signal is the mirror: a close crossing below the EMA on a wide bar.

Instead of sending orders this strategy calls ``emit_signal``: the idea goes to the
signal confirmation engine, which waits for a confirming bar (one that moves the
signal's way and closes beyond the signal bar's high, or low for a short), places a
protective stop at a recent pivot, and asks the trader to approve the setup. That is
how to turn a rule into trade ideas a person keeps the last word on.
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.indicators import ATR, EMA, CrossAbove, CrossBelow, Field
from workstation.strategy import Bar, Param, Strategy


@dataclass
class Tracker:
    """The indicators of one series (symbol and timeframe)."""

    up: CrossAbove  # close crossing above the EMA
    down: CrossBelow  # close crossing below the EMA
    atr: ATR


class MomentumSignals(Strategy):
    name = "Momentum signals"
    version = "1.0"
    description = "Signals (no orders) on wide bars closing through the EMA."
    symbols = ("NQ",)
    timeframes = ("1m",)
    # The longest EMA allowed (100) plus one bar to see a crossing.
    warmup = 101

    ema_period = Param(20, min=2, max=100, step=1, doc="EMA length (bars)")
    atr_period = Param(14, min=2, max=50, step=1, doc="ATR length (bars)")
    min_range_atr = Param(1.0, min=0.0, max=5.0, step=0.25,
                          doc="signal bar range at least this many ATRs (0 = any bar)")

    def on_start(self) -> None:
        self.trackers: dict[tuple[str, str], Tracker] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        t = self.trackers.get(key)
        if t is None:
            # Field("close") turns the bar's close into an indicator, so CrossAbove can
            # compare it with the EMA. Each side gets its own EMA (an indicator has one
            # parent): they see the same bars, so they hold the same value.
            t = self.trackers[key] = Tracker(CrossAbove(Field("close"), EMA(self.ema_period)),
                                             CrossBelow(Field("close"), EMA(self.ema_period)),
                                             ATR(self.atr_period))
        # The ATR of the bars BEFORE this one: the yardstick this bar's range is measured
        # against (with this bar in it, a huge bar would raise its own bar).
        atr_before = t.atr.value if t.atr.ready else None
        t.up.update(bar)
        t.down.update(bar)
        t.atr.update(bar)
        if not t.up.ready or atr_before is None or self.warming_up:
            return

        bar_range = bar.high - bar.low
        if bar_range < self.min_range_atr * atr_before:
            return  # a narrow bar: no conviction
        size = f"{bar_range / atr_before:.2f} ATR" if atr_before > 0 else "flat ATR"
        notes = f"range {bar_range:g} = {size}"
        if t.up.crossed:
            self.emit_signal(bar.symbol, "long", bar, notes=f"close above EMA, {notes}")
        elif t.down.crossed:
            self.emit_signal(bar.symbol, "short", bar, notes=f"close below EMA, {notes}")
