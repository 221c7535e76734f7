"""Price alerts: a price on a symbol that tells the trader once when the market reaches it
(from below for a price set above the market, from above for one below). Set from the
chart's context menu, drawn as a line, listed under Chart → Price alerts…, and kept in
the window's settings file so they survive a restart. The book itself has no Qt."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class PriceAlert:
    symbol: str
    price: float
    above: bool  # set above the market: fires when the last trade is at or above it

    def reached(self, last: float) -> bool:
        return last >= self.price if self.above else last <= self.price

    def describe(self, decimals: int) -> str:
        return f"{self.symbol} {'≥' if self.above else '≤'} {self.price:,.{decimals}f}"


class AlertBook:
    def __init__(self, alerts: Iterable[PriceAlert] = ()) -> None:
        self.alerts: list[PriceAlert] = list(alerts)

    def add(self, symbol: str, price: float, last: float | None) -> PriceAlert:
        """An alert at ``price``; its side is where the market is now (above it with no
        market yet)."""
        alert = PriceAlert(symbol, price, last is None or price >= last)
        if alert not in self.alerts:
            self.alerts.append(alert)
        return alert

    def remove(self, alert: PriceAlert) -> bool:
        if alert in self.alerts:
            self.alerts.remove(alert)
            return True
        return False

    def of(self, symbol: str) -> list[PriceAlert]:
        return [a for a in self.alerts if a.symbol == symbol]

    def check(self, symbol: str, last: float) -> list[PriceAlert]:
        """The alerts ``last`` reaches; they fire once and leave the book."""
        if not last > 0:
            return []
        fired = [a for a in self.alerts if a.symbol == symbol and a.reached(last)]
        for alert in fired:
            self.alerts.remove(alert)
        return fired

    def symbols(self) -> set[str]:
        return {a.symbol for a in self.alerts}

    def dump(self) -> str:
        return json.dumps([asdict(a) for a in self.alerts])

    @classmethod
    def load(cls, text: str, known: Iterable[str]) -> tuple[AlertBook, list[str]]:
        """The saved book, and a message for each entry left out (unreadable, or on a
        symbol no longer configured)."""
        try:
            items = json.loads(text) if text else []
        except ValueError as exc:
            return cls(), [f"saved price alerts unreadable ({exc.msg}); none restored"]
        symbols = set(known)
        alerts, problems = [], []
        for number, item in enumerate(items if isinstance(items, list) else [], start=1):
            try:
                alert = PriceAlert(str(item["symbol"]), float(item["price"]),
                                   bool(item["above"]))
            except (TypeError, KeyError, ValueError):
                problems.append(f"price alert {number} left out: unreadable {item!r:.60}")
                continue
            if alert.symbol not in symbols or not math.isfinite(alert.price) \
                    or alert.price <= 0:
                problems.append(f"price alert {number} left out: {alert.symbol} "
                                f"{alert.price:g} is not a configured symbol and price")
                continue
            alerts.append(alert)
        return cls(alerts), problems
