"""Tick validation: a bad print is quarantined and counted, never published.

Quarantined: a price that is not a positive finite number, a negative or non-finite
size, a trade id already seen (a resend), a time before the last one, and a price
further than ``max_jump_pct`` from the last accepted one. A real jump is accepted once
``confirm_after`` prints in a row agree on the new level, so a feed never freezes on a
gap the market really made.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RECENT_IDS = 512  # per symbol: enough to recognise a resend after a reconnect
LOGGED_PER_REASON = 10


@dataclass(frozen=True, slots=True)
class TickQuarantined:
    """A print that was not published, and how many have been so far (all reasons)."""

    symbol: str
    ts: int
    reason: str
    detail: str
    total: int


@dataclass(slots=True)
class _SymbolState:
    last_price: float = 0.0
    last_ts: int = 0
    last_size: float = -1.0
    ids: set[object] = field(default_factory=set)
    order: deque[object] = field(default_factory=deque)
    pending_level: float = 0.0
    pending_count: int = 0


class TickValidator:
    def __init__(self, max_jump_pct: float, confirm_after: int = 3) -> None:
        self.max_jump = max_jump_pct / 100.0
        self.confirm_after = confirm_after
        self.counts: dict[str, int] = {}
        self.total = 0
        self._symbols: dict[str, _SymbolState] = {}

    def trade(self, symbol: str, ts: int, price: float, size: float,
              trade_id: object = None) -> tuple[str, str]:
        """("", "") to publish, else (reason, detail) to quarantine."""
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = _SymbolState()
        if not (price > 0 and math.isfinite(price)):
            return "bad price", f"price {price!r}"
        if not (size >= 0 and math.isfinite(size)):
            return "bad size", f"size {size!r}"
        if trade_id is not None:
            if trade_id in state.ids:
                return "duplicate", f"trade id {trade_id!r} already seen"
        elif ts == state.last_ts and price == state.last_price and size == state.last_size:
            return "duplicate", f"same time, price and size as the last print ({price:g})"
        if ts < state.last_ts:
            return "out of order", f"time {ts} before the last print's {state.last_ts}"
        last = state.last_price
        if last and abs(price - last) > self.max_jump * last:
            if state.pending_level and abs(price - state.pending_level) <= \
                    self.max_jump * state.pending_level:
                state.pending_count += 1
            else:
                state.pending_level, state.pending_count = price, 1
            if state.pending_count < self.confirm_after:
                return "jump", (f"{price:g} is {abs(price / last - 1) * 100:.1f}% from the "
                                f"last {last:g}")
        state.pending_level, state.pending_count = 0.0, 0
        state.last_price, state.last_ts, state.last_size = price, ts, size
        if trade_id is not None:
            state.ids.add(trade_id)
            state.order.append(trade_id)
            if len(state.order) > RECENT_IDS:
                state.ids.discard(state.order.popleft())
        return "", ""

    @staticmethod
    def quote(bid: float, ask: float, bid_size: float, ask_size: float) -> tuple[str, str]:
        if not (bid > 0 and ask > 0 and math.isfinite(bid) and math.isfinite(ask)):
            return "bad quote", f"bid {bid!r} ask {ask!r}"
        if not (bid_size >= 0 and ask_size >= 0 and math.isfinite(bid_size + ask_size)):
            return "bad quote", f"sizes {bid_size!r} x {ask_size!r}"
        return "", ""

    def count(self, symbol: str, ts: int, reason: str, detail: str) -> TickQuarantined:
        seen = self.counts.get(reason, 0) + 1
        self.counts[reason] = seen
        self.total += 1
        if seen <= LOGGED_PER_REASON or seen % 1_000 == 0:
            log.warning("quarantined %s print #%d (%s): %s", symbol, seen, reason, detail)
        return TickQuarantined(symbol, ts, reason, detail, self.total)
