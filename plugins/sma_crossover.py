"""SMA crossover: the classic trend-following starter strategy.

Two simple moving averages of the close: a fast one that follows the price closely
and a slow one that shows the trend. When the fast average crosses above the slow
one the trend has turned up: go long. When it crosses below: go short (or just
step aside, with ``allow_short`` off). The strategy is always in the market in the
direction of the last crossing, except when shorting is off.

Everything here is per series (symbol and timeframe), so one instance can run the
same rules on NQ and ES at once: give it ``symbols = ["NQ", "ES"]``.
"""

from __future__ import annotations

from workstation.indicators import SMA, CrossAbove, CrossBelow
from workstation.strategy import Bar, Param, Strategy


class SmaCrossover(Strategy):
    name = "SMA crossover"
    version = "1.0"
    description = "Long when the fast SMA crosses above the slow one; short (or flat) below."
    symbols = ("NQ",)
    timeframes = ("1m",)
    # Enough bars for the longest slow average the parameters allow (200), plus one
    # more: a crossing compares this bar with the previous one.
    warmup = 201

    fast = Param(10, min=2, max=100, step=1, doc="fast SMA length (bars)")
    slow = Param(30, min=3, max=200, step=5, doc="slow SMA length (bars)")
    qty = Param(1, min=1, max=100, step=1, doc="contracts (or shares) per trade")
    allow_short = Param(True, doc="sell short on a cross below (off: only go flat)")
    # On by default: an entry without a stop is one bad fill from a large loss (NQ: 20
    # points is $400 a contract). 0 turns it off; not advised for unattended trading.
    stop_points = Param(20.0, min=0.0, max=1000.0, step=5.0,
                        doc="protective stop this many points from the close (0 = none)")

    def on_start(self) -> None:
        if self.fast >= self.slow:
            self.log.warning("fast (%d) is not shorter than slow (%d): the signals are "
                             "reversed", self.fast, self.slow)
        # One pair of crossing detectors per (symbol, timeframe), created when the first
        # bar of that series arrives. CrossAbove(a, b) is 1.0 on the bar where a goes from
        # <= b to > b; it feeds every bar to both averages itself. An indicator may have
        # only one parent, so each detector gets its own two SMAs.
        self.crosses: dict[tuple[str, str], tuple[CrossAbove, CrossBelow]] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        if key not in self.crosses:
            self.crosses[key] = (CrossAbove(SMA(self.fast), SMA(self.slow)),
                                 CrossBelow(SMA(self.fast), SMA(self.slow)))
        up, down = self.crosses[key]
        up.update(bar)
        down.update(bar)
        if not up.ready or self.warming_up:
            # Not enough bars yet for both averages on two bars in a row; or replaying
            # history before going live, where the indicators catch up but orders would
            # be ignored anyway (buy/sell/flatten do nothing while self.warming_up).
            return

        symbol = bar.symbol
        position = self.position(symbol)  # this instance's signed quantity: +long, -short
        if up.crossed and position <= 0:
            if position < 0:
                # Reversing a short: close it first, then open the long as its own order
                # (one order of qty + |short| would do the same; two read more plainly).
                # flatten() cancels this instance's working orders (the short's stop) and
                # buys back the short.
                self.flatten(symbol)
            self.buy(symbol, self.qty, stop_loss=self._stop(bar.close, below=True))
            self.log.info("%s fast SMA crossed above slow at %g: long %d", symbol, bar.close,
                          self.qty)
        elif down.crossed and position >= 0:
            if position > 0:
                self.flatten(symbol)  # close the long (and cancel its stop)
            if self.allow_short:
                self.sell(symbol, self.qty, stop_loss=self._stop(bar.close, below=False))
            self.log.info("%s fast SMA crossed below slow at %g: %s", symbol, bar.close,
                          f"short {self.qty}" if self.allow_short else "flat")

    def _stop(self, price: float, *, below: bool) -> float | None:
        """The protective stop price, or None for no stop. The engine rounds it to the
        instrument's tick (NQ: 0.25)."""
        if self.stop_points <= 0:
            return None
        return price - self.stop_points if below else price + self.stop_points
