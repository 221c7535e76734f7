"""Indicator vote: four classic indicators each vote buy, sell or hold; the majority trades.

Each closed bar, every indicator casts one vote:

============  ===========================  ============================
indicator     buy (+1)                     sell (-1)
============  ===========================  ============================
RSI           RSI below ``oversold``       RSI above ``overbought``
MACD          histogram > 0 (MACD line     histogram < 0 (line below
              above its signal line)       its signal line)
Bollinger     close below the lower band   close above the upper band
Stochastic    %K below 20                  %K above 80
============  ===========================  ============================

and 0 (hold) otherwise. The net vote (sum) decides: at least ``min_votes`` -> be long,
at most ``-min_votes`` -> be short (or flat without ``allow_short``), in between ->
keep whatever is held. Note the mix: RSI, Bollinger and Stochastic vote against the
move (buy the dip) while MACD votes with it (buy strength), so a strong signal needs
the dip to be turning up already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from workstation.indicators import MACD, RSI, BollingerBands, Stochastic
from workstation.strategy import Bar, Param, Strategy

STOCH_LOW, STOCH_HIGH = 20.0, 80.0  # %K levels: below is "oversold", above "overbought"


@dataclass
class Panel:
    """The four indicators of one series (symbol and timeframe)."""

    rsi: RSI
    macd: MACD
    bands: BollingerBands
    stoch: Stochastic

    def update(self, bar: Bar) -> None:
        for indicator in (self.rsi, self.macd, self.bands, self.stoch):
            indicator.update(bar)

    @property
    def ready(self) -> bool:
        return self.rsi.ready and self.macd.ready and self.bands.ready and self.stoch.ready


def vote(buy: bool, sell: bool) -> int:
    """+1, -1 or 0."""
    return 1 if buy else -1 if sell else 0


class IndicatorVote(Strategy):
    name = "Indicator vote"
    version = "1.0"
    description = "RSI, MACD, Bollinger and Stochastic vote; trade when enough agree."
    symbols = ("NQ",)
    timeframes = ("1m",)
    # The slowest indicator the parameters allow: MACD(50 slow, 20 signal) needs
    # 50 + 20 - 1 = 69 bars.
    warmup = 70

    min_votes = Param(3, min=1, max=4, step=1, doc="net votes needed to take a side")
    qty = Param(1, min=1, max=100, step=1, doc="contracts (or shares) per trade")
    allow_short = Param(True, doc="go short on a sell majority (off: only go flat)")
    # On by default: an entry without a stop is one bad fill from a large loss (NQ: 20
    # points is $400 a contract). 0 turns it off; not advised for unattended trading.
    stop_points = Param(20.0, min=0.0, max=1000.0, step=5.0,
                        doc="protective stop this many points from the close (0 = none)")
    rsi_period = Param(14, min=2, max=50, step=1, doc="RSI length")
    oversold = Param(30.0, min=1.0, max=49.0, step=1.0, doc="RSI votes buy below this")
    overbought = Param(70.0, min=51.0, max=99.0, step=1.0, doc="RSI votes sell above this")
    macd_fast = Param(12, min=1, max=50, step=1, doc="MACD fast EMA")
    macd_slow = Param(26, min=2, max=50, step=1, doc="MACD slow EMA")
    macd_signal = Param(9, min=1, max=20, step=1, doc="MACD signal EMA")
    bb_period = Param(20, min=2, max=50, step=1, doc="Bollinger length")
    bb_k = Param(2.0, min=0.5, max=4.0, step=0.5, doc="Bollinger width in standard deviations")
    stoch_period = Param(14, min=2, max=50, step=1, doc="Stochastic %K length (%D is 3)")

    def on_start(self) -> None:
        self.panels: dict[tuple[str, str], Panel] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        panel = self.panels.get(key)
        if panel is None:
            panel = self.panels[key] = Panel(
                RSI(self.rsi_period),
                MACD(self.macd_fast, self.macd_slow, self.macd_signal),
                BollingerBands(self.bb_period, self.bb_k),
                Stochastic(self.stoch_period))
        panel.update(bar)
        if not panel.ready or self.warming_up:
            return

        votes = {
            "rsi": vote(panel.rsi.value < self.oversold, panel.rsi.value > self.overbought),
            "macd": vote(panel.macd.histogram > 0, panel.macd.histogram < 0),
            "bands": vote(bar.close < panel.bands.lower, bar.close > panel.bands.upper),
            "stoch": vote(panel.stoch.value < STOCH_LOW, panel.stoch.value > STOCH_HIGH),
        }
        net = sum(votes.values())
        symbol = bar.symbol
        position = self.position(symbol)

        if net >= self.min_votes:
            decision = "long"
        elif net <= -self.min_votes:
            decision = "short" if self.allow_short else "flat"
        else:
            decision = "hold"
        ballot = " ".join(f"{name}={v:+d}" for name, v in votes.items())
        # Every decision goes to the log with its votes: INFO when the votes pick a side,
        # DEBUG for the (many) bars where they do not.
        level = logging.DEBUG if decision == "hold" else logging.INFO
        self.log.log(level, "%s %s net=%+d -> %s (holding %g)", symbol, ballot, net, decision,
                     position)

        if decision == "long" and position <= 0:
            if position < 0:
                self.flatten(symbol)  # close the short first (see SMA crossover)
            self.buy(symbol, self.qty, stop_loss=self._stop(bar.close, below=True))
        elif decision in ("short", "flat") and position >= 0:
            if position > 0:
                self.flatten(symbol)
            if decision == "short":
                self.sell(symbol, self.qty, stop_loss=self._stop(bar.close, below=False))

    def _stop(self, price: float, *, below: bool) -> float | None:
        if self.stop_points <= 0:
            return None
        return price - self.stop_points if below else price + self.stop_points
