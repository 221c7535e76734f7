"""The engine's trading wiring on a SimClock, with a chosen fill model: paper broker,
permissive risk gate, router and trade tracker (no store, no feed).

NQ: tick 0.25, 20 per point, commission 2.50 a side. T0 is Tuesday 2026-01-13 15:00
UTC, inside the CME Globex session.
"""

from __future__ import annotations

from datetime import UTC, datetime

from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import FillModel, PaperSettings, Settings
from workstation.model import NS_PER_SECOND, Quote, Tick, datetime_to_ns
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderType, OrderUpdate
from workstation.portfolio import Portfolio
from workstation.risk.router import OrderRouter
from workstation.risk.wiring import PERMISSIVE, build_risk
from workstation.trades import TradeClosed, TradeTracker

T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
S = NS_PER_SECOND


def wire_trading(settings: Settings, break_even_r: float | None
                 ) -> tuple[EventBus, SimClock, Portfolio, PaperBroker, OrderRouter, TradeTracker]:
    """The engine's trading parts on a SimClock at T0: bus, clock, portfolio, broker,
    router (a permissive gate) and trade tracker."""
    instruments = settings.instrument_map()
    bus, clock = EventBus(), SimClock(T0)
    margins = {s: settings.margin(i) for s, i in instruments.items()}
    portfolio = Portfolio(instruments, margins, settings.paper.starting_cash, T0)
    broker = PaperBroker(instruments, settings, bus, clock, portfolio)
    router = build_risk(settings.model_copy(update={"risk": PERMISSIVE}), instruments,
                        portfolio, broker, bus, clock).router
    tracker = TradeTracker(instruments, portfolio, router, bus, clock, break_even_r)
    return bus, clock, portfolio, broker, router, tracker


class TradingDesk:
    def __init__(self, fills: FillModel | None = None,
                 break_even_r: float | None = None) -> None:
        settings = Settings(paper=PaperSettings(fills=fills or FillModel()))
        self.nq = settings.instrument_map()["NQ"]
        (self.bus, self.clock, self.portfolio, self.broker, self.router,
         self.tracker) = wire_trading(settings, break_even_r)
        self.closed: list[TradeClosed] = []
        self.updates: list[OrderUpdate] = []
        self.bus.subscribe(TradeClosed, self.closed.append)
        self.bus.subscribe(OrderUpdate, self.updates.append)
        self._seconds = 0.0

    def _tick_clock(self) -> int:
        self._seconds += 1
        ts = T0 + int(self._seconds * S)
        self.clock.advance_to(ts)
        return ts

    def quote(self, bid: float, ask: float, size: float = 10) -> None:
        self.bus.publish(Quote("NQ", self._tick_clock(), bid, ask, size, size))

    def trade(self, price: float) -> None:
        self.bus.publish(Tick("NQ", self._tick_clock(), price, 1))

    def buy(self, client_id: str, qty: float = 1, bracket: Bracket | None = None,
            side: OrderSide = OrderSide.BUY) -> OrderUpdate:
        return self.router.submit(OrderIntent(client_id, "NQ", side, qty, OrderType.MARKET,
                                              bracket=bracket))

    def legs(self, client_id: str) -> dict[str, tuple[float, float | None]]:
        """The entry's working legs now: "SL"/"TP" -> (qty, price)."""
        found = {}
        for order in self.broker.open_orders():
            if order.intent.parent_id == client_id:
                kind = order.client_order_id.rsplit("-", 1)[1]
                price = order.stop_price if kind == "SL" else order.limit_price
                found[kind] = (order.qty, price)
        return found
