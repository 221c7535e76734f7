"""A trading desk wired as the engine wires it, with real risk settings, for the risk tests.

Bus, SimClock, Portfolio, PaperBroker, build_risk(...) (kill switch, monitor, gate, router)
and a TradeTracker (closed trades feed the loss streak and the strategies' P&L). The
market is driven as a feed drives it: the clock is advanced to an event's time, then the
Quote or Tick is published. Default instruments: NQ tick 0.25 x 20, ES tick 0.25 x 50
(futures, CME Globex), AAPL tick 0.01 (NYSE hours), BTC/USD lot 0.0001.
"""

from __future__ import annotations

from datetime import UTC, datetime

from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import FillModel, PaperSettings, Settings
from workstation.model import NS_PER_SECOND, Quote, Tick, datetime_to_ns
from workstation.orders import (
    Fill,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)
from workstation.portfolio import Portfolio
from workstation.risk.events import KillSwitchChanged, OrderBlocked, RiskLevelChanged
from workstation.risk.gate import Approved, Rejected
from workstation.risk.settings import RiskSettings
from workstation.risk.wiring import build_risk
from workstation.trades import TradeClosed, TradeTracker

S = NS_PER_SECOND
MINUTE = 60 * S
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def utc(*fields: int) -> int:
    return datetime_to_ns(datetime(*fields, tzinfo=UTC))  # type: ignore[misc]


# Tuesday 2026-01-13 15:00 UTC = 10:00 New York: CME Globex open (it closes at 16:00 CT =
# 17:00 ET = 22:00 UTC in winter, which is also where the trading day rolls) and NYSE open
# (09:30-16:00 ET = 14:30-21:00 UTC).
T0 = utc(2026, 1, 13, 15, 0)
NQ_CLOSE = utc(2026, 1, 13, 22, 0)


def settings(risk: RiskSettings, *, cash: float = 100_000.0, commission: float | None = 0.0,
             margin: float | None = None) -> Settings:
    """Default instruments with these risk settings; commission 0 unless a test wants it, so
    the hand-worked numbers are points x point value."""
    return Settings(paper=PaperSettings(starting_cash=cash, fills=FillModel(
        commission=commission, margin=margin)), risk=risk)


class Desk:
    def __init__(self, config: Settings, start: int = T0) -> None:
        self.settings = config
        self.instruments = config.instrument_map()
        self.bus = EventBus()
        self.clock = SimClock(start)
        margins = {s: config.margin(i) for s, i in self.instruments.items()}
        prop = config.risk.prop
        cash = prop.account_size if prop is not None else config.paper.starting_cash
        self.portfolio = Portfolio(self.instruments, margins, cash, start)
        self.broker = PaperBroker(self.instruments, config, self.bus, self.clock,
                                  self.portfolio)
        path = build_risk(config, self.instruments, self.portfolio, self.broker, self.bus,
                          self.clock)
        self.router, self.monitor = path.router, path.monitor
        self.kill_switch, self.gate = path.kill_switch, path.gate
        self.tracker = TradeTracker(self.instruments, self.portfolio, self.router, self.bus,
                                    self.clock, None)
        self.levels: list[RiskLevelChanged] = []
        self.kills: list[KillSwitchChanged] = []
        self.blocked: list[OrderBlocked] = []
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self.closed: list[TradeClosed] = []
        for kind, sink in ((RiskLevelChanged, self.levels), (KillSwitchChanged, self.kills),
                           (OrderBlocked, self.blocked), (Fill, self.fills),
                           (OrderUpdate, self.updates), (TradeClosed, self.closed)):
            self.bus.subscribe(kind, sink.append)
        self._ids = 0

    # -- the market --------------------------------------------------------------------------
    def at(self, ts: int | None) -> int:
        """Advance the clock to ``ts`` (default: one second on)."""
        ts = self.clock.now_ns() + S if ts is None else ts
        self.clock.advance_to(ts)
        return ts

    def market(self, price: float, symbol: str = "NQ", ts: int | None = None) -> None:
        """A locked quote at ``price`` (bid = ask = price), then a trade there: market orders
        fill at exactly ``price``, and the monitor measures on the trade, after the quote."""
        ts = self.at(ts)
        self.bus.publish(Quote(symbol, ts, price, price, 10, 10))
        self.bus.publish(Tick(symbol, ts, price, 1))

    # -- orders ------------------------------------------------------------------------------
    def intent(self, side: OrderSide, qty: float, kind: OrderType = OrderType.MARKET,
               symbol: str = "NQ", **fields: object) -> OrderIntent:
        self._ids += 1
        return OrderIntent(f"t-{self._ids}", symbol, side, qty, kind, **fields)  # type: ignore[arg-type]

    def submit(self, side: OrderSide, qty: float, kind: OrderType = OrderType.MARKET,
               symbol: str = "NQ", **fields: object) -> OrderUpdate:
        return self.router.submit(self.intent(side, qty, kind, symbol, **fields))

    def check(self, side: OrderSide, qty: float, kind: OrderType = OrderType.MARKET,
              symbol: str = "NQ", **fields: object) -> Approved | Rejected:
        """The gate's verdict without sending (nor counting toward rate or duplicates)."""
        return self.router.check(self.intent(side, qty, kind, symbol, **fields))

    def filled(self, side: OrderSide, qty: float, symbol: str = "NQ",
               **fields: object) -> OrderUpdate:
        update = self.submit(side, qty, symbol=symbol, **fields)
        assert update.status is OrderStatus.FILLED, update.reason
        return update

    def rejected(self, side: OrderSide, qty: float, kind: OrderType = OrderType.MARKET,
                 symbol: str = "NQ", **fields: object) -> str:
        """Submit an order the gate must reject; returns the rejection text after 'risk: '."""
        update = self.submit(side, qty, kind, symbol, **fields)
        assert update.status is OrderStatus.REJECTED and update.reason.startswith("risk: "), \
            update.reason
        return update.reason.removeprefix("risk: ")

    @property
    def errors(self) -> int:
        return self.bus.errors
