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

from workstation.indicators import SMA
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
        # One pair of averages per (symbol, timeframe), created when the first bar of that
        # series arrives, and which side of the slow one the fast one was on at the last
        # bar: +1 above, -1 below, 0 level (touching is not crossing).
        self.averages: dict[tuple[str, str], tuple[SMA, SMA]] = {}
        self.sides: dict[tuple[str, str], int] = {}

    def on_bar(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        averages = self.averages.get(key)
        if averages is None:
            averages = self.averages[key] = (SMA(self.fast), SMA(self.slow))
        fast, slow = averages[0].update(bar.close), averages[1].update(bar.close)
        # Drawn on the chart of this symbol when one is open (nan, while warming up, is a
        # gap); in a backtest nothing listens and these cost next to nothing.
        self.plot("fast SMA", fast, bar, color="#4fc3f7")
        self.plot("slow SMA", slow, bar, color="#f472b6")
        if not averages[1].ready:
            return  # not enough bars for the slow average yet
        side = (fast > slow) - (fast < slow)
        before = self.sides.get(key)
        self.sides[key] = side
        # a cross above: the fast average goes from at or below the slow one to above it
        crossed_up = before is not None and before <= 0 < side
        crossed_down = before is not None and before >= 0 > side
        if not (crossed_up or crossed_down) or self.warming_up:
            # No crossing; or replaying history before going live, where the averages catch
            # up but orders would be ignored anyway (buy/sell/flatten do nothing then).
            return

        symbol = bar.symbol
        position = self.position(symbol)  # this instance's signed quantity: +long, -short
        if crossed_up and position <= 0:
            if position < 0:
                # Reversing a short: close it first, then open the long as its own order
                # (one order of qty + |short| would do the same; two read more plainly).
                # flatten() cancels this instance's working orders (the short's stop) and
                # buys back the short.
                self.flatten(symbol)
            self.buy(symbol, self.qty, stop_loss=self._stop(bar.close, below=True))
            self.log.info("%s fast SMA crossed above slow at %g: long %d", symbol, bar.close,
                          self.qty)
        elif crossed_down and position >= 0:
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
