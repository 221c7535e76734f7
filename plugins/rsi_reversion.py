"""RSI mean reversion: buy weakness, sell strength, get out once the price is back to normal.

The RSI (relative strength index, 0-100) measures how one-sided recent closes have
been. Below ``oversold`` (30) the market has fallen hard and often bounces; above
``overbought`` (70) it has risen hard and often pulls back. This strategy bets on
that snap-back: long when oversold, short when overbought (if allowed), and out
when the RSI is back through the middle (``exit_level``, 50).

Mean reversion works in ranges and loses in strong trends (oversold can get more
oversold): a protective stop (``stop_points``) caps the damage of a trend day.
"""

from __future__ import annotations

from workstation.indicators import RSI
from workstation.strategy import Bar, Param, Strategy


class RsiReversion(Strategy):
    name = "RSI mean reversion"
    version = "1.0"
    description = "Long below the oversold RSI, short above overbought; exit back at 50."
    symbols = ("NQ",)
    timeframes = ("1m",)
    # RSI(period) needs period + 1 closes; the largest period allowed is 50.
    warmup = 51

    period = Param(14, min=2, max=50, step=1, doc="RSI length (bars)")
    oversold = Param(30.0, min=1.0, max=49.0, step=1.0, doc="buy below this RSI")
    overbought = Param(70.0, min=51.0, max=99.0, step=1.0, doc="sell short above this RSI")
    exit_level = Param(50.0, min=1.0, max=99.0, step=1.0,
                       doc="exit a long when the RSI is back up to this, a short back down")
    qty = Param(1, min=1, max=100, step=1, doc="contracts (or shares) per trade")
    allow_short = Param(True, doc="also sell short when overbought")
    # On by default: an entry without a stop is one bad fill from a large loss (NQ: 20
    # points is $400 a contract). 0 turns it off; not advised for unattended trading.
    stop_points = Param(20.0, min=0.0, max=1000.0, step=5.0,
                        doc="protective stop this many points from the close (0 = none)")

    def on_start(self) -> None:
        # One RSI per (symbol, timeframe), created on the series' first bar.
        self.rsi: dict[tuple[str, str], RSI] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        rsi = self.rsi.get(key)
        if rsi is None:
            rsi = self.rsi[key] = RSI(self.period)
        value = rsi.update(bar)  # update() returns the new value (nan until ready)
        if not rsi.ready or self.warming_up:
            return

        symbol = bar.symbol
        position = self.position(symbol)

        # 1. Exits first. A long was opened below `oversold`, so an RSI at or above
        #    `exit_level` means it has crossed back up through it: the bounce is done.
        if position > 0 and value >= self.exit_level:
            self.log.info("%s RSI %.1f back to %g: exit long", symbol, value, self.exit_level)
            self.flatten(symbol)
            position = 0.0
        elif position < 0 and value <= self.exit_level:
            self.log.info("%s RSI %.1f back to %g: exit short", symbol, value, self.exit_level)
            self.flatten(symbol)
            position = 0.0

        # 2. Entries, only when flat: this strategy never adds to a position. (A jump from
        #    above 50 straight to oversold closes the short above and goes long here.)
        if position != 0:
            return
        if value < self.oversold:
            self.log.info("%s RSI %.1f < %g: long %d", symbol, value, self.oversold, self.qty)
            self.buy(symbol, self.qty, stop_loss=self._stop(bar.close, below=True))
        elif value > self.overbought and self.allow_short:
            self.log.info("%s RSI %.1f > %g: short %d", symbol, value, self.overbought,
                          self.qty)
            self.sell(symbol, self.qty, stop_loss=self._stop(bar.close, below=False))

    def _stop(self, price: float, *, below: bool) -> float | None:
        """The protective stop price, or None for no stop (rounded to the tick by the
        engine)."""
        if self.stop_points <= 0:
            return None
        return price - self.stop_points if below else price + self.stop_points
