"""The paper broker's fill rules, each worked by hand on a hand-written market.

The market is driven exactly as a feed drives it: the clock is advanced to an
event's time, then the Quote or Tick is published on the bus. Default
instruments: NQ tick 0.25, point value 20, margin 25,000, commission 2.50 a side.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from workstation.brokers.base import BrokerError
from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import FillModel, PaperSettings, Settings
from workstation.model import NS_PER_SECOND, Quote, Tick, datetime_to_ns
from workstation.orders import (
    Bracket,
    Fill,
    IllegalTransition,
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
    TrailUnit,
)
from workstation.portfolio import Portfolio
from workstation.risk.wiring import PERMISSIVE, build_risk

# Tuesday 2026-01-13 15:00 UTC: CME Globex is open (it closes at 16:00 CT = 22:00 UTC
# in winter); NYSE is open too (09:30-16:00 ET = 14:30-21:00 UTC).
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
NQ_CLOSE = datetime_to_ns(datetime(2026, 1, 13, 22, 0, tzinfo=UTC))
S = NS_PER_SECOND
MS = NS_PER_SECOND // 1_000

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def paper(**fills: object) -> Settings:
    """Default settings with one fill model for every instrument, and cash for 40 NQ."""
    return Settings(paper=PaperSettings(starting_cash=1_000_000, fills=FillModel(**fills)))


class Desk:
    """Bus, SimClock, portfolio, paper broker and router, wired as the engine wires them."""

    def __init__(self, settings: Settings | None = None, start: int = T0) -> None:
        self.settings = settings or Settings()
        self.instruments = self.settings.instrument_map()
        self.bus = EventBus()
        self.clock = SimClock(start)
        margins = {s: self.settings.margin(i) for s, i in self.instruments.items()}
        self.portfolio = Portfolio(self.instruments, margins, self.settings.paper.starting_cash,
                                   start)
        self.broker = PaperBroker(self.instruments, self.settings, self.bus, self.clock,
                                  self.portfolio)
        self.router = build_risk(self.settings.model_copy(update={"risk": PERMISSIVE}),
                                 self.instruments, self.portfolio, self.broker, self.bus,
                                 self.clock).router
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self.bus.subscribe(Fill, self.fills.append)
        self.bus.subscribe(OrderUpdate, self.updates.append)
        self._ids = 0

    def at(self, ts: int | None) -> int:
        """Advance the clock to ``ts`` (default: one second on)."""
        ts = self.clock.now_ns() + S if ts is None else ts
        self.clock.advance_to(ts)
        return ts

    def quote(self, bid: float, ask: float, bid_size: float = 10, ask_size: float = 10,
              symbol: str = "NQ", ts: int | None = None) -> None:
        ts = self.at(ts)
        self.bus.publish(Quote(symbol, ts, bid, ask, bid_size, ask_size))

    def trade(self, price: float, size: float = 1, symbol: str = "NQ",
              ts: int | None = None) -> None:
        ts = self.at(ts)
        self.bus.publish(Tick(symbol, ts, price, size))

    def submit(self, side: OrderSide, qty: float, kind: OrderType = OrderType.MARKET,
               symbol: str = "NQ", client_id: str | None = None, **fields: object) -> OrderUpdate:
        if client_id is None:
            self._ids += 1
            client_id = f"t-{self._ids}"
        return self.router.submit(OrderIntent(client_id, symbol, side, qty, kind, **fields))

    def status(self, order_id: str) -> OrderUpdate:
        update = self.broker.order(order_id)
        assert update is not None
        return update

    def leg(self, client_order_id: str) -> OrderUpdate:
        return next(o for o in self.broker.all_orders() if o.client_order_id == client_order_id)

    def prices(self) -> list[float]:
        return [fill.price for fill in self.fills]


@pytest.fixture
def desk() -> Desk:
    market = Desk()
    market.quote(21_000.00, 21_000.25)
    market.trade(21_000.00)
    return market


# -- market orders ------------------------------------------------------------------------
def test_a_market_buy_fills_at_the_ask_and_a_market_sell_at_the_bid(desk):
    buy = desk.submit(BUY, 1)
    sell = desk.submit(SELL, 1)

    assert buy.status is OrderStatus.FILLED and buy.avg_fill_price == 21_000.25
    assert sell.status is OrderStatus.FILLED and sell.avg_fill_price == 21_000.00
    assert desk.prices() == [21_000.25, 21_000.00]
    assert [f.commission for f in desk.fills] == [2.50, 2.50]  # 1 contract x 2.50 a side


def test_with_no_quote_a_market_order_fills_at_the_last_trade_plus_or_minus_half_the_spread():
    desk = Desk(paper(typical_spread_ticks=2))
    desk.trade(21_000.00)

    desk.submit(BUY, 1)
    desk.submit(SELL, 1)

    # half of 2 ticks = 0.25: buy 21000.00 + 0.25, sell 21000.00 - 0.25
    assert desk.prices() == [21_000.25, 20_999.75]


@pytest.mark.parametrize("last", [21_000.00, 21_000.25])
def test_with_no_quote_and_a_one_tick_spread_the_half_tick_rounds_against_the_trader(last):
    desk = Desk()  # typical_spread_ticks = 1: half a tick is 0.125, off the 0.25 grid
    desk.trade(last)

    desk.submit(BUY, 1)
    desk.submit(SELL, 1)

    # last + 0.125 rounds up to the next tick for the buyer, last - 0.125 down for the seller,
    # whatever the price (round-half-even would favour one side on every other tick)
    assert desk.prices() == [last + 0.25, last - 0.25]


def test_fixed_slippage_moves_every_market_fill_n_ticks_against_the_trader():
    desk = Desk(paper(slippage="fixed", slippage_ticks=2))
    desk.quote(21_000.00, 21_000.25)

    desk.submit(BUY, 1)
    desk.submit(SELL, 1)

    # 2 ticks x 0.25 = 0.50: buy 21000.25 + 0.50, sell 21000.00 - 0.50
    assert desk.prices() == [21_000.75, 20_999.50]


def random_slippage_prices(seed: int) -> list[float]:
    desk = Desk(Settings(paper=PaperSettings(seed=seed, fills=FillModel(slippage="random",
                                                                        slippage_ticks=4))))
    desk.quote(21_000.00, 21_000.25)
    for i in range(20):
        desk.submit(BUY if i % 2 == 0 else SELL, 1)
    return desk.prices()


def test_random_slippage_with_the_same_seed_gives_identical_fills():
    first, second = random_slippage_prices(5), random_slippage_prices(5)

    assert first == second
    buys, sells = first[0::2], first[1::2]
    # 0..4 ticks against the trader: buys in 21000.25..21001.25, sells in 20999.00..21000.00
    assert all(21_000.25 <= p <= 21_001.25 for p in buys)
    assert all(20_999.00 <= p <= 21_000.00 for p in sells)
    assert len(set(first)) > 2  # it really is random
    assert random_slippage_prices(6) != first


def test_with_latency_a_market_order_fills_at_the_quote_in_force_after_the_delay():
    desk = Desk(paper(latency_ms=100))
    desk.quote(21_000.00, 21_000.25, ts=T0)

    order = desk.submit(BUY, 1)  # at T0: reaches the market at T0 + 100 ms
    desk.quote(21_001.00, 21_001.25, ts=T0 + 50 * MS)
    assert desk.status(order.order_id).status is OrderStatus.ACCEPTED and desk.fills == []

    desk.quote(21_002.00, 21_002.25, ts=T0 + 150 * MS)

    # at T0 + 100 ms the quote in force was the one from T0 + 50 ms: ask 21001.25
    assert desk.prices() == [21_001.25]
    assert desk.fills[0].ts == T0 + 100 * MS


# -- limit orders -------------------------------------------------------------------------
def test_a_resting_limit_buy_fills_at_its_price_only_when_a_trade_goes_below_it(desk):
    order = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_995.00)

    desk.quote(20_994.50, 20_994.75)  # the ask below the limit is not a trade
    desk.trade(20_995.00)  # a trade AT the limit does not fill it
    assert desk.fills == [] and desk.status(order.order_id).status is OrderStatus.ACCEPTED

    desk.trade(20_994.75)

    assert desk.prices() == [20_995.00]
    assert desk.status(order.order_id).status is OrderStatus.FILLED


def test_with_fill_on_touch_a_trade_at_the_limit_fills_it():
    desk = Desk(paper(limit_fill_on_touch=True))
    desk.quote(21_000.00, 21_000.25)
    desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_995.00)

    desk.trade(20_995.00)

    assert desk.prices() == [20_995.00]


def test_a_marketable_limit_buy_takes_the_better_ask(desk):
    order = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=21_005.00)

    assert order.status is OrderStatus.FILLED
    assert desk.prices() == [21_000.25]  # the ask, not the 21005.00 limit


# -- stops ----------------------------------------------------------------------------------
def test_a_buy_stop_triggers_on_a_trade_at_the_stop_and_fills_at_the_ask(desk):
    desk.submit(BUY, 1, OrderType.STOP, stop_price=21_005.00)
    desk.quote(21_004.75, 21_005.00)
    desk.trade(21_004.75)
    assert desk.fills == []

    desk.quote(21_005.00, 21_005.25)
    desk.trade(21_005.00)

    assert desk.prices() == [21_005.25]


def test_a_sell_stop_gapped_through_fills_at_the_worse_bid_not_at_the_stop(desk):
    desk.submit(SELL, 1, OrderType.STOP, stop_price=20_990.00)

    desk.quote(20_980.00, 20_980.25)  # trigger "trade": a quote alone does not trigger
    assert desk.fills == []
    desk.trade(20_980.00)

    assert desk.prices() == [20_980.00]


def test_with_the_quote_trigger_a_sell_stop_triggers_when_the_bid_reaches_it():
    desk = Desk(paper(stop_trigger="quote"))
    desk.quote(21_000.00, 21_000.25)
    desk.trade(21_000.00)
    desk.submit(SELL, 1, OrderType.STOP, stop_price=20_990.00)
    desk.submit(BUY, 1, OrderType.STOP, stop_price=21_010.00)

    desk.trade(20_989.00)  # trades do not trigger in quote mode
    assert desk.fills == []
    desk.quote(20_990.00, 20_990.25)

    assert desk.prices() == [20_990.00]
    desk.quote(21_009.75, 21_010.00)
    assert desk.prices() == [20_990.00, 21_010.00]


def test_a_stop_limit_triggers_then_rests_at_its_limit_when_the_market_gaps_past_it(desk):
    order = desk.submit(SELL, 1, OrderType.STOP_LIMIT, stop_price=20_990.00,
                        limit_price=20_989.00)

    desk.quote(20_985.00, 20_985.25)
    desk.trade(20_985.00)  # triggered; the bid 20985.00 is below the 20989.00 limit: it rests
    assert desk.fills == [] and desk.status(order.order_id).status is OrderStatus.ACCEPTED
    desk.trade(20_989.00)  # at the limit: not through it
    assert desk.fills == []

    desk.trade(20_989.25)

    assert desk.prices() == [20_989.00]


def test_a_triggered_stop_limit_with_a_marketable_limit_takes_the_bid(desk):
    desk.submit(SELL, 1, OrderType.STOP_LIMIT, stop_price=20_990.00, limit_price=20_989.00)

    desk.quote(20_989.75, 20_990.00)
    desk.trade(20_990.00)

    assert desk.prices() == [20_989.75]


def test_a_trailing_sell_stop_in_ticks_ratchets_up_never_back_then_triggers(desk):
    order = desk.submit(SELL, 1, OrderType.TRAILING_STOP, trail=8, trail_unit=TrailUnit.TICKS)
    # anchor = last trade 21000.00; 8 ticks x 0.25 = 2.00 -> stop 20998.00
    assert desk.status(order.order_id).stop_price == 20_998.00

    desk.trade(21_003.00)  # new high: stop 21003.00 - 2.00 = 21001.00
    assert desk.status(order.order_id).stop_price == 21_001.00
    desk.trade(21_002.00)  # lower: the stop stays
    desk.trade(21_001.25)
    assert desk.status(order.order_id).stop_price == 21_001.00
    assert desk.fills == []

    desk.quote(21_000.75, 21_001.00)
    desk.trade(21_001.00)

    assert desk.prices() == [21_000.75]  # triggered at 21001.00, filled at the bid


def test_each_move_of_a_trailing_stop_is_published_like_a_modification(desk):
    order = desk.submit(SELL, 1, OrderType.TRAILING_STOP, trail=8, trail_unit=TrailUnit.TICKS)

    desk.trade(21_003.00)
    desk.trade(21_002.00)  # no move, nothing published

    moves = [(u.stop_price, u.reason) for u in desk.updates if u.order_id == order.order_id]
    assert moves == [(None, "accepted"),
                     (20_998.00, "trailing stop at 20998.0"),
                     (21_001.00, "trailed: stop 20998.0 -> 21001.0")]


def test_a_trailing_buy_stop_by_amount_follows_the_low(desk):
    order = desk.submit(BUY, 1, OrderType.TRAILING_STOP, trail=5.0, trail_unit=TrailUnit.AMOUNT)
    assert desk.status(order.order_id).stop_price == 21_005.00  # 21000.00 + 5.00

    desk.trade(20_990.50)  # new low: 20990.50 + 5.00
    desk.trade(20_994.00)
    assert desk.status(order.order_id).stop_price == 20_995.50
    assert desk.fills == []

    desk.quote(20_995.25, 20_995.50)
    desk.trade(20_995.50)

    assert desk.prices() == [20_995.50]


def test_a_trailing_sell_stop_by_percent_ratchets_with_the_high():
    desk = Desk()
    desk.quote(229.99, 230.00, symbol="AAPL")
    desk.trade(230.00, symbol="AAPL")
    order = desk.submit(SELL, 100, OrderType.TRAILING_STOP, symbol="AAPL", trail=1.0,
                        trail_unit=TrailUnit.PERCENT)
    assert desk.status(order.order_id).stop_price == 227.70  # 230.00 - 1% (2.30)

    desk.trade(240.00, symbol="AAPL")  # 240.00 - 2.40 = 237.60
    desk.trade(239.00, symbol="AAPL")  # 239.00 - 2.39 = 236.61 < 237.60: stays
    assert desk.status(order.order_id).stop_price == 237.60
    desk.quote(237.58, 237.61, symbol="AAPL")
    desk.trade(237.60, symbol="AAPL")

    assert desk.prices() == [237.58]


# -- partial fills ----------------------------------------------------------------------------
def test_partial_fills_are_capped_by_the_displayed_size():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25, ask_size=2)

    order = desk.submit(BUY, 5)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_qty == 2
    desk.quote(21_000.25, 21_000.50, ask_size=1)
    desk.quote(21_000.50, 21_000.75, ask_size=10)

    assert [(f.qty, f.price) for f in desk.fills] == [(2, 21_000.25), (1, 21_000.50),
                                                      (2, 21_000.75)]
    done = desk.status(order.order_id)
    assert done.status is OrderStatus.FILLED
    # (2 x 21000.25 + 1 x 21000.50 + 2 x 21000.75) / 5 = 105002.50 / 5
    assert done.avg_fill_price == 21_000.50


def test_once_the_displayed_size_is_taken_nothing_more_fills_until_the_next_quote():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25, ask_size=2)
    desk.submit(BUY, 5)  # takes the 2 shown

    desk.trade(21_000.25)  # a print, but no new size shown
    second = desk.submit(BUY, 1)
    third = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=21_000.50)  # marketable

    assert [f.qty for f in desk.fills] == [2]
    assert second.status is third.status is OrderStatus.ACCEPTED
    desk.quote(21_000.00, 21_000.25, ask_size=4)  # 3 for the first order, 1 for the second
    assert [f.qty for f in desk.fills] == [2, 3, 1]
    assert desk.status(third.order_id).status is OrderStatus.ACCEPTED
    desk.quote(21_000.00, 21_000.25, ask_size=1)
    assert [f.qty for f in desk.fills] == [2, 3, 1, 1]
    assert desk.status(third.order_id).avg_fill_price == 21_000.25


# -- brackets and OCO ---------------------------------------------------------------------
def test_a_bracket_entry_fill_creates_gtc_stop_and_target_legs_in_one_oco_group(desk):
    entry = desk.submit(BUY, 1, client_id="b1",
                        bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))

    assert entry.status is OrderStatus.FILLED
    sl, tp = desk.leg("b1-SL"), desk.leg("b1-TP")
    assert (sl.type, sl.side, sl.qty, sl.stop_price) == (OrderType.STOP, SELL, 1, 20_990.00)
    assert (tp.type, tp.side, tp.qty, tp.limit_price) == (OrderType.LIMIT, SELL, 1, 21_020.00)
    for leg in (sl, tp):
        assert leg.status is OrderStatus.ACCEPTED
        assert leg.intent.tif is TimeInForce.GTC
        assert leg.intent.oco_group == "b1-OCO"
        assert leg.intent.parent_id == "b1"


def test_a_take_profit_fill_cancels_the_stop_loss_as_oco(desk):
    desk.submit(BUY, 1, client_id="b1",
                bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))

    desk.trade(21_020.25)

    assert desk.prices() == [21_000.25, 21_020.00]
    assert desk.leg("b1-TP").status is OrderStatus.FILLED
    sl = desk.leg("b1-SL")
    assert sl.status is OrderStatus.CANCELED
    assert sl.reason == "OCO: b1-TP filled"
    assert desk.portfolio.position("NQ") == 0
    assert desk.broker.open_orders() == []


def test_a_partial_fill_of_an_oco_leg_reduces_its_sibling():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25)
    desk.trade(21_000.00)
    desk.submit(BUY, 3, client_id="b1",
                bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))

    desk.trade(21_020.25, size=1)  # through the target, 1 lot printed

    tp, sl = desk.leg("b1-TP"), desk.leg("b1-SL")
    assert (tp.status, tp.filled_qty, tp.remaining) == (OrderStatus.PARTIALLY_FILLED, 1, 2)
    assert (sl.status, sl.qty) == (OrderStatus.ACCEPTED, 2)  # 3 - 1 still to protect
    assert desk.portfolio.position("NQ") == 2


def test_bracket_legs_grow_with_each_partial_fill_of_the_entry():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25, ask_size=2)
    desk.submit(BUY, 3, client_id="b1",
                bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))
    assert desk.leg("b1-SL").qty == desk.leg("b1-TP").qty == 2

    desk.quote(21_000.00, 21_000.25, ask_size=5)

    assert desk.leg("b1-SL").qty == desk.leg("b1-TP").qty == 3


def test_bracket_legs_are_canceled_when_another_order_flattens_the_position(desk):
    desk.submit(BUY, 1, client_id="b1",
                bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))

    desk.submit(SELL, 1)

    for leg in (desk.leg("b1-SL"), desk.leg("b1-TP")):
        assert leg.status is OrderStatus.CANCELED
        assert leg.reason == "position is flat: bracket leg canceled"
    assert desk.broker.open_orders() == []


def test_a_bracket_order_that_reverses_a_position_protects_only_the_new_side(desk):
    desk.submit(SELL, 1, client_id="s1", bracket=Bracket(stop_loss=21_020.00))
    # buy 2 at the ask 21,000.25: the short of 1 is closed and 1 is left long
    desk.submit(BUY, 2, client_id="b2", bracket=Bracket(stop_loss=20_980.00))

    old, new = desk.leg("s1-SL"), desk.leg("b2-SL")
    assert (old.status, old.reason) == (
        OrderStatus.CANCELED, "position reversed: the closed side's bracket leg canceled")
    assert (new.status, new.side, new.qty) == (OrderStatus.ACCEPTED, SELL, 1)
    desk.quote(21_019.75, 21_020.00)
    desk.trade(21_020.00)  # where the old short's stop was: nothing fills
    assert desk.portfolio.position("NQ") == 1
    desk.quote(20_979.75, 20_980.00)
    desk.trade(20_980.00)  # the new stop exits the long 1, and no more
    assert desk.portfolio.position("NQ") == 0


# -- time in force --------------------------------------------------------------------------
def test_a_day_order_expires_at_the_session_close_and_a_gtc_order_does_not(desk):
    day = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_900.00)
    gtc = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_900.00, tif=TimeInForce.GTC)

    desk.at(NQ_CLOSE - 1)
    assert desk.status(day.order_id).status is OrderStatus.ACCEPTED
    desk.at(NQ_CLOSE + 60 * S)

    expired = desk.status(day.order_id)
    assert expired.status is OrderStatus.EXPIRED
    assert expired.reason == "DAY order expired at the session close"
    assert expired.ts == NQ_CLOSE  # 16:00 CT = 22:00 UTC in January
    assert desk.status(gtc.order_id).status is OrderStatus.ACCEPTED


def test_an_ioc_order_fills_what_it_can_and_cancels_the_remainder():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25, ask_size=2)

    order = desk.submit(BUY, 5, OrderType.LIMIT, limit_price=21_000.25, tif=TimeInForce.IOC)

    assert (order.status, order.filled_qty) == (OrderStatus.CANCELED, 2)
    assert order.reason == "IOC: unfilled remainder canceled"
    assert desk.prices() == [21_000.25]


def test_an_ioc_limit_that_cannot_fill_is_canceled_at_once(desk):
    order = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_990.00, tif=TimeInForce.IOC)

    assert (order.status, order.filled_qty) == (OrderStatus.CANCELED, 0)
    desk.trade(20_980.00)
    assert desk.fills == []


# -- commands -------------------------------------------------------------------------------
def test_resubmitting_the_same_client_order_id_returns_the_same_order_and_creates_nothing(desk):
    intent = OrderIntent("once", "NQ", BUY, 1)
    first = desk.router.submit(intent)
    published = len(desk.updates)

    again = desk.router.submit(intent)

    assert again.order_id == first.order_id and again.status is OrderStatus.FILLED
    assert len(desk.broker.all_orders()) == 1
    assert len(desk.fills) == 1 and len(desk.updates) == published
    assert desk.portfolio.position("NQ") == 1


@pytest.mark.parametrize(("fields", "reason"), [
    ({"qty": 1.5}, "quantity 1.5 must be a positive multiple of NQ's lot size 1"),
    ({"qty": 0}, "quantity 0 must be a positive multiple of NQ's lot size 1"),
    ({"type": OrderType.LIMIT}, "a limit order needs a positive limit price"),
    ({"type": OrderType.STOP_LIMIT, "stop_price": 21_010.0},
     "a stop_limit order needs a positive limit price"),
    ({"type": OrderType.TRAILING_STOP}, "a trailing stop needs a positive trail"),
    ({"symbol": "CL"}, "unknown symbol 'CL'"),
    ({"bracket": Bracket(stop_loss=21_005.00)},
     "bracket stop-loss 21005 must be below the entry (21,000.25) for a buy"),
    ({"bracket": Bracket(stop_loss=20_990.00, take_profit=20_995.00)},
     "bracket take-profit 20995 must be above the entry (21,000.25) for a buy"),
    ({"side": SELL, "bracket": Bracket(stop_loss=20_995.00)},
     "bracket stop-loss 20995 must be above the entry (21,000.00) for a sell"),
    # 4 contracts x 25,000 margin + 4 x 2.50 commission = 100,010.00 > 100,000.00 cash
    ({"qty": 4}, "insufficient buying power: buy 4 NQ market day needs 100,010.00, "
                 "available 100,000.00"),
])
def test_orders_that_cannot_be_accepted_are_rejected_with_a_clear_reason(desk, fields, reason):
    intent = OrderIntent(**{"client_order_id": "r", "symbol": "NQ", "side": BUY, "qty": 1,
                            **fields})

    update = desk.broker.submit(intent)  # the broker's own checks (the gate has its tests)

    assert update.status is OrderStatus.REJECTED
    assert update.reason == reason
    assert desk.updates[-1] == update
    assert desk.fills == [] and desk.broker.open_orders() == []


def test_buying_power_counts_the_margin_already_in_use(desk):
    assert desk.submit(BUY, 3).status is OrderStatus.FILLED  # 3 x 25,000 margin

    update = desk.submit(BUY, 1)

    # cash 100,000 - 3 x 2.50 = 99,992.50; less margin 75,000 -> 24,992.50 available
    # (marked at the 21000.25 fill: no open P&L); one more needs 25,000 + 2.50
    assert update.status is OrderStatus.REJECTED
    assert update.reason == ("insufficient buying power: buy 1 NQ market day needs 25,002.50, "
                             "available 24,992.50")
    # reducing a position needs no buying power
    assert desk.submit(SELL, 3).status is OrderStatus.FILLED


def test_an_order_with_no_market_data_yet_is_rejected():
    desk = Desk()

    update = desk.broker.submit(OrderIntent("m", "NQ", BUY, 1))  # the broker's own check

    assert update.status is OrderStatus.REJECTED
    assert update.reason == "no market data for NQ yet"


def test_illegal_state_transitions_raise_illegal_transition():
    order = Order("P1", OrderIntent("x", "NQ", BUY, 1), qty=1)

    with pytest.raises(IllegalTransition, match="new -> filled is not allowed"):
        order.transition(OrderStatus.FILLED, T0)
    order.transition(OrderStatus.ACCEPTED, T0)
    order.transition(OrderStatus.FILLED, T0)
    for later in (OrderStatus.CANCELED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
        with pytest.raises(IllegalTransition, match=f"filled -> {later} is not allowed"):
            order.transition(later, T0)
    assert order.status is OrderStatus.FILLED


def test_canceling_a_filled_or_unknown_order_raises_broker_error(desk):
    filled = desk.submit(BUY, 1)

    with pytest.raises(BrokerError, match=r"order P1 \(t-1\) is already filled"):
        desk.router.cancel(filled.order_id)
    with pytest.raises(BrokerError, match="no order 'P99'"):
        desk.router.cancel("P99")


def test_canceling_a_working_order_publishes_the_reason(desk):
    order = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_990.00)

    canceled = desk.router.cancel(order.order_id, "changed my mind")

    assert (canceled.status, canceled.reason) == (OrderStatus.CANCELED, "changed my mind")
    assert desk.updates[-1] == canceled
    assert desk.broker.open_orders() == []


def test_replace_moves_a_stop_onto_the_tick_grid_and_it_triggers_there(desk):
    order = desk.submit(SELL, 1, OrderType.STOP, stop_price=20_990.00)

    moved = desk.broker.replace(order.order_id, stop_price=20_995.10)  # the broker's rounding

    assert moved.stop_price == 20_995.00  # 20995.10 rounded to the 0.25 grid
    assert moved.reason == "modified: stop 20990.0 -> 20995.0"
    desk.quote(20_994.75, 20_995.00)
    desk.trade(20_995.00)
    assert desk.prices() == [20_994.75]


def test_replace_refuses_a_quantity_below_what_is_filled():
    desk = Desk(paper(partial_fills=True))
    desk.quote(21_000.00, 21_000.25, ask_size=2)
    order = desk.submit(BUY, 5)

    with pytest.raises(BrokerError, match="at least the 2 already filled"):
        desk.router.replace(order.order_id, qty=1)
    done = desk.router.replace(order.order_id, qty=2)  # nothing left to fill: done

    assert done.status is OrderStatus.FILLED


# -- grid and determinism -------------------------------------------------------------------
def busy_session(seed: int) -> list[Fill]:
    """Two hundred quotes and trades on a seeded walk, with orders of every kind."""
    settings = Settings(paper=PaperSettings(seed=seed, fills=FillModel(
        slippage="random", slippage_ticks=3, latency="random", latency_ms=5,
        latency_max_ms=400, partial_fills=True)))
    desk = Desk(settings)
    walk = random.Random(99)
    mid = 21_000.00
    for i in range(200):
        mid += walk.choice((-0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75))
        desk.quote(mid - 0.25, mid, bid_size=walk.randint(1, 4), ask_size=walk.randint(1, 4),
                   ts=T0 + i * 250 * MS)
        desk.trade(mid, size=walk.randint(1, 3), ts=T0 + i * 250 * MS + 100 * MS)
        if i % 10 == 0 and desk.portfolio.position("NQ") == 0:
            desk.submit(BUY, 2, bracket=Bracket(stop_loss=mid - 2.0, take_profit=mid + 2.0))
        elif i % 10 == 5:
            desk.submit(SELL, 1, OrderType.TRAILING_STOP, trail=3)
            desk.submit(BUY, 1, OrderType.LIMIT, limit_price=mid - 0.25)
    return desk.fills


def test_every_fill_price_is_on_the_tick_grid():
    fills = busy_session(seed=1)

    assert len(fills) > 20
    nq = Settings().instrument_map()["NQ"]
    assert all(nq.on_tick_grid(fill.price) for fill in fills)


def test_the_same_feed_and_the_same_seed_give_the_same_fills():
    first, second = busy_session(seed=3), busy_session(seed=3)

    assert first == second
    assert busy_session(seed=4) != first
