"""Donchian breakout: trade the break of the recent range (the "turtle" entry).

The Donchian channel is the highest high and the lowest low of the last ``channel``
bars. A close above the highest high breaks out of the range: buy, with a stop at
the other side of the channel (the lowest low), or ``atr_stop`` average true ranges
below the close. A close below the lowest low: sell short (or just exit a long
without ``allow_short``), the mirror image.

The one trap in coding this: the channel must be the one of the bars BEFORE this
bar. A channel that already includes this bar's high can never be exceeded by its
close (the close is at most the high), so the strategy would never trade. Read the
channel first, then add the bar to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.indicators import ATR, Field, Highest, Lowest
from workstation.strategy import Bar, Param, Strategy


@dataclass
class Channel:
    """The indicators of one series (symbol and timeframe)."""

    upper: Highest  # highest high of the last `channel` bars
    lower: Lowest  # lowest low of the last `channel` bars
    atr: ATR


class DonchianBreakout(Strategy):
    name = "Donchian breakout"
    version = "1.0"
    description = "Buy a close above the N-bar high, sell one below the N-bar low."
    symbols = ("NQ",)
    timeframes = ("1m",)
    # The longest channel allowed (100 bars) plus this bar, which is compared with it.
    warmup = 101

    channel = Param(20, min=2, max=100, step=1, doc="channel length (bars)")
    qty = Param(1, min=1, max=100, step=1, doc="contracts (or shares) per trade")
    allow_short = Param(True, doc="sell short on a downside breakout (off: only exit longs)")
    atr_stop = Param(0.0, min=0.0, max=10.0, step=0.5,
                     doc="stop this many ATRs from the close (0 = the other side of the channel)")
    atr_period = Param(14, min=2, max=50, step=1, doc="ATR length for atr_stop")

    def on_start(self) -> None:
        self.channels: dict[tuple[str, str], Channel] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        ch = self.channels.get(key)
        if ch is None:
            # Field("high") makes Highest look at the bars' highs (by default it would
            # take their closes).
            ch = self.channels[key] = Channel(Highest(self.channel, Field("high")),
                                              Lowest(self.channel, Field("low")),
                                              ATR(self.atr_period))
        # The channel of the previous `channel` bars, read BEFORE this bar goes in.
        ready = ch.upper.ready
        upper, lower = ch.upper.value, ch.lower.value
        for indicator in (ch.upper, ch.lower, ch.atr):
            indicator.update(bar)
        if not ready or self.warming_up:
            return
        if self.atr_stop > 0 and not ch.atr.ready:
            return  # a channel shorter than the ATR: wait for the ATR too

        symbol = bar.symbol
        position = self.position(symbol)
        if bar.close > upper and position <= 0:
            if position < 0:
                self.flatten(symbol)  # close the short first (see SMA crossover)
            stop = bar.close - self.atr_stop * ch.atr.value if self.atr_stop > 0 else lower
            self.log.info("%s close %g above the %d-bar high %g: long %d, stop %g", symbol,
                          bar.close, self.channel, upper, self.qty, stop)
            self.buy(symbol, self.qty, stop_loss=stop)
        elif bar.close < lower and position >= 0:
            if position > 0:
                self.log.info("%s close %g below the %d-bar low %g: exit long", symbol,
                              bar.close, self.channel, lower)
                self.flatten(symbol)
            if self.allow_short:
                stop = bar.close + self.atr_stop * ch.atr.value if self.atr_stop > 0 else upper
                self.log.info("%s close %g below the %d-bar low %g: short %d, stop %g", symbol,
                              bar.close, self.channel, lower, self.qty, stop)
                self.sell(symbol, self.qty, stop_loss=stop)
