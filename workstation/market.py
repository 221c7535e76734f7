"""Latest market state per symbol: what the watchlist shows.

Updated by bus handlers in O(1); readers (the UI bridge, at most ~30 times a
second) look at ``version`` to know whether anything changed since last time.
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.bus import EventBus
from workstation.model import Bar, Quote, Tick


@dataclass(slots=True)
class SymbolState:
    symbol: str
    last: float = 0.0
    last_size: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    bid_size: float = 0.0
    ask_size: float = 0.0
    volume: float = 0.0
    trades: int = 0
    reference: float = 0.0  # previous close, or the first trade seen
    last_ts: int = 0
    direction: int = 0  # +1 last trade up-tick, -1 down-tick
    version: int = 0

    @property
    def change(self) -> float:
        return self.last - self.reference if self.last and self.reference else 0.0

    @property
    def change_pct(self) -> float:
        return 100.0 * self.change / self.reference if self.reference else 0.0


class MarketState:
    def __init__(self, bus: EventBus) -> None:
        self._states: dict[str, SymbolState] = {}
        bus.subscribe(Tick, self.on_tick, "MarketState.on_tick")
        bus.subscribe(Quote, self.on_quote, "MarketState.on_quote")
        bus.subscribe(Bar, self.on_bar, "MarketState.on_bar")

    def get(self, symbol: str) -> SymbolState:
        state = self._states.get(symbol)
        if state is None:
            state = self._states[symbol] = SymbolState(symbol)
        return state

    def set_reference(self, symbol: str, price: float) -> None:
        self.get(symbol).reference = price

    def on_tick(self, tick: Tick) -> None:
        state = self._states.get(tick.symbol) or self.get(tick.symbol)
        price = tick.price
        if state.last:
            if price > state.last:
                state.direction = 1
            elif price < state.last:
                state.direction = -1
        elif not state.reference:
            state.reference = price
        state.last = price
        state.last_size = tick.size
        state.volume += tick.size
        state.trades += 1
        state.last_ts = tick.ts
        state.version += 1

    def on_quote(self, quote: Quote) -> None:
        state = self._states.get(quote.symbol) or self.get(quote.symbol)
        state.bid, state.ask = quote.bid, quote.ask
        state.bid_size, state.ask_size = quote.bid_size, quote.ask_size
        state.version += 1

    def on_bar(self, bar: Bar) -> None:
        """Bars replayed without ticks still move the watchlist."""
        state = self.get(bar.symbol)
        if state.trades:
            return  # this symbol has live ticks; its bars add nothing new
        if not state.reference:
            state.reference = bar.open
        state.direction = 1 if bar.close > state.last else -1 if bar.close < state.last else 0
        state.last = bar.close
        state.volume += bar.volume
        state.last_ts = bar.end
        state.version += 1
