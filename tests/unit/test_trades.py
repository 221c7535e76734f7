"""Active trades on hand-written tick paths: MFE/MAE in points and R, break-even,
exit reasons, P&L, commission, duration and the decimated excursion samples.

NQ: tick 0.25, point value 20, commission 2.50 a side. Entries are long 1 NQ at
21000.00 (the ask) with a bracket stop 20990.00 (R = 10 points) and target
21020.00 unless a test says otherwise.
"""

from __future__ import annotations

from tests.unit.trading_desk import T0, wire_trading
from workstation.config import Settings
from workstation.model import NS_PER_SECOND, Quote, Tick
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderType
from workstation.trades import TradeChanged, TradeClosed, TradeRecord

# Tuesday 2026-01-13 15:00 UTC: CME Globex open
S = NS_PER_SECOND

BUY, SELL = OrderSide.BUY, OrderSide.SELL
BRACKET = Bracket(stop_loss=20_990.00, take_profit=21_020.00)


class Desk:
    """The engine's trading wiring on a SimClock: broker, router, tracker."""

    def __init__(self, break_even_r: float | None = 1.0) -> None:
        (self.bus, self.clock, self.portfolio, self.broker, self.router,
         self.tracker) = wire_trading(Settings(), break_even_r)
        self.closed: list[TradeClosed] = []
        self.changed: list[TradeChanged] = []
        self.bus.subscribe(TradeClosed, self.closed.append)
        self.bus.subscribe(TradeChanged, self.changed.append)

    def quote(self, seconds: float, bid: float, ask: float) -> None:
        ts = T0 + int(seconds * S)
        self.clock.advance_to(ts)
        self.bus.publish(Quote("NQ", ts, bid, ask, 10, 10))

    def trade(self, seconds: float, price: float) -> None:
        ts = T0 + int(seconds * S)
        self.clock.advance_to(ts)
        self.bus.publish(Tick("NQ", ts, price, 1))

    def enter(self, side: OrderSide = BUY, bracket: Bracket | None = BRACKET) -> None:
        """At T0, 1 NQ at 21000.00: bought at the ask or sold at the bid."""
        self.quote(0, 21_000.00 if side is SELL else 20_999.75,
                   21_000.25 if side is SELL else 21_000.00)
        update = self.router.submit(OrderIntent("entry", "NQ", side, 1, OrderType.MARKET,
                                                bracket=bracket))
        assert update.status is OrderStatus.FILLED and update.avg_fill_price == 21_000.00

    def record(self) -> TradeRecord:
        assert len(self.closed) == 1
        return self.closed[0].record


def test_a_bracket_entry_opens_a_trade_with_its_stop_target_and_one_r():
    desk = Desk()

    desk.enter()

    trade = desk.tracker.trade_for("NQ")
    assert trade is not None
    assert (trade.side, trade.qty, trade.entry, trade.entry_ts) == ("long", 1, 21_000.00, T0)
    assert (trade.initial_stop, trade.stop, trade.target) == (20_990.00, 20_990.00, 21_020.00)
    assert trade.r_points == 10.00  # 21000.00 - 20990.00
    assert trade.stop_order_id == desk.broker.open_orders()[0].order_id  # entry-SL
    assert trade.commission == 2.50
    assert trade.ticks_to_stop == 40  # 10.00 points / 0.25


def test_at_one_r_the_stop_moves_to_break_even_and_a_return_to_entry_exits_there():
    desk = Desk()
    desk.enter()

    desk.trade(10, 21_002.50)  # +2.50 points = +0.25R
    desk.trade(20, 20_997.00)  # -3.00 points = -0.3R
    desk.trade(30, 21_010.00)  # +10.00 points = +1R: stop to the entry

    trade = desk.tracker.trade_for("NQ")
    assert trade is not None
    assert trade.stop == 21_000.00 and trade.break_even_ts == T0 + 30 * S
    stop_order = desk.broker.order(trade.stop_order_id or "")
    assert stop_order is not None and stop_order.stop_price == 21_000.00
    assert trade.initial_stop == 20_990.00  # R is still measured from the first stop

    desk.quote(40, 20_995.00, 20_995.25)
    desk.trade(45, 20_995.00)  # through the stop at 21000.00: sold at the bid, 20995.00

    record = desk.record()
    assert record.exit_reason == "break_even"
    assert (record.entry, record.exit, record.stop, record.target) == (
        21_000.00, 20_995.00, 20_990.00, 21_020.00)
    assert record.mfe_points == 10.00 and record.mfe_r == 1.0
    # the worst price the trade saw was its exit: 20995.00 - 21000.00 = -5.00 points
    assert record.mae_points == -5.00 and record.mae_r == -0.5
    assert record.r_multiple == -0.5  # -5.00 / 10.00
    assert record.realized_pnl == -100.00  # 1 x -5.00 x 20
    assert record.commission == 5.00  # 2 x 2.50
    assert record.break_even_ts == T0 + 30 * S
    assert record.duration_s == 45.0
    assert desk.tracker.trade_for("NQ") is None
    assert desk.broker.open_orders() == []  # the target went with the OCO


def test_a_short_trade_moves_its_stop_down_to_break_even_and_exits_there_at_the_ask():
    desk = Desk()
    desk.enter(SELL, Bracket(stop_loss=21_010.00, take_profit=20_980.00))

    desk.trade(10, 20_990.00)  # +10.00 points for a short = +1R
    trade = desk.tracker.trade_for("NQ")
    assert trade is not None and trade.side == "short" and trade.stop == 21_000.00
    desk.quote(20, 21_000.00, 21_000.25)
    desk.trade(21, 21_000.00)

    record = desk.record()
    assert (record.side, record.exit_reason, record.exit) == ("short", "break_even", 21_000.25)
    assert record.r_multiple == -0.025  # (21000.00 - 21000.25) / 10.00
    assert record.realized_pnl == -5.00  # 1 x -0.25 x 20


def test_a_target_exit_is_a_two_r_winner():
    desk = Desk()
    desk.enter()

    desk.trade(10, 21_012.00)  # +1.2R: stop to break-even on the way
    desk.trade(20, 21_020.25)  # through the 21020.00 target

    record = desk.record()
    assert record.exit_reason == "target"
    assert record.exit == 21_020.00
    assert record.r_multiple == 2.0  # 20.00 / 10.00
    assert record.mfe_points == 20.00 and record.mfe_r == 2.0  # the exit was the best price
    assert record.mae_points == 0.0 and record.mae_r == 0.0
    assert record.realized_pnl == 400.00  # 1 x 20.00 x 20
    assert record.commission == 5.00
    assert record.duration_s == 20.0


def test_a_stop_exit_before_break_even_loses_a_little_more_than_one_r_at_the_bid():
    desk = Desk()
    desk.enter()

    desk.trade(10, 21_004.00)  # +0.4R
    desk.trade(20, 20_992.00)  # -0.8R
    desk.quote(30, 20_989.75, 20_990.00)
    desk.trade(31, 20_990.00)  # at the stop: sold at the bid, 20989.75

    record = desk.record()
    assert record.exit_reason == "stop"
    assert record.exit == 20_989.75
    assert record.r_multiple == -1.025  # -10.25 / 10.00
    assert record.mfe_r == 0.4 and record.mae_r == -1.025
    assert record.realized_pnl == -205.00  # 1 x -10.25 x 20
    assert record.break_even_ts is None


def test_a_flatten_through_the_router_is_a_manual_exit():
    desk = Desk()
    desk.enter()
    desk.trade(10, 21_005.00)  # +0.5R
    desk.quote(20, 21_004.75, 21_005.00)

    updates = desk.router.flatten("NQ")

    assert [(u.client_order_id, u.status) for u in updates] == [("flatten-1",
                                                                  OrderStatus.FILLED)]
    record = desk.record()
    assert record.exit_reason == "manual"
    assert record.exit == 21_004.75  # the bid
    assert record.r_multiple == 0.475  # 4.75 / 10.00
    assert record.realized_pnl == 95.00  # 1 x 4.75 x 20
    assert record.commission == 5.00
    assert desk.broker.open_orders() == []


def test_a_trade_without_a_stop_has_no_r():
    desk = Desk()
    desk.enter(bracket=None)
    desk.trade(10, 21_006.00)
    desk.trade(20, 20_998.00)
    desk.quote(30, 21_002.00, 21_002.25)

    desk.router.submit(OrderIntent("exit", "NQ", SELL, 1))

    record = desk.record()
    assert record.stop is None and record.target is None
    assert (record.mfe_points, record.mae_points) == (6.00, -2.00)
    assert record.mfe_r is None and record.mae_r is None and record.r_multiple is None
    assert record.realized_pnl == 40.00  # 1 x 2.00 x 20
    assert record.exit_reason == "manual"


def test_excursion_samples_are_decimated_to_a_point_per_tenth_of_r():
    desk = Desk()
    desk.enter()

    # R = 10.00 points: a sample whenever price moves 1.00 point from the last sample
    for second, price in enumerate([21_000.25, 21_000.50, 21_000.75, 21_001.00, 21_001.75,
                                    21_002.00, 21_001.25, 21_001.00], start=1):
        desk.trade(second, price)

    trade = desk.tracker.trade_for("NQ")
    assert trade is not None
    assert trade.samples == [
        (T0, 0.0, 0.0, 0.0),  # the entry
        (T0 + 4 * S, 1.00, 1.00, 0.0),
        (T0 + 6 * S, 2.00, 2.00, 0.0),
        (T0 + 8 * S, 1.00, 2.00, 0.0),  # 1.00 back from the 2.00 sample
    ]
    assert trade.mfe_points == 2.00 and trade.last_price == 21_001.00


def test_with_break_even_disabled_the_stop_stays_where_it_was_placed():
    desk = Desk(break_even_r=None)
    desk.enter()

    desk.trade(10, 21_015.00)  # +1.5R

    trade = desk.tracker.trade_for("NQ")
    assert trade is not None
    assert trade.stop == 20_990.00 and trade.break_even_ts is None
    stop_order = desk.broker.order(trade.stop_order_id or "")
    assert stop_order is not None and stop_order.stop_price == 20_990.00


def test_the_tracker_publishes_a_change_when_the_stop_moves_to_break_even():
    desk = Desk()
    desk.enter()
    before = len(desk.changed)

    desk.trade(10, 21_010.00)

    stops = [event.trade.stop for event in desk.changed[before:]]
    assert 21_000.00 in stops


def test_a_new_high_between_samples_is_published_so_the_journal_keeps_it():
    desk = Desk()
    desk.enter()
    desk.trade(10, 21_006.00)  # a sample
    before = len(desk.changed)

    desk.trade(11, 21_006.50)  # +0.05R past the sample: no new sample, but a new MFE

    trade = desk.tracker.trade_for("NQ")
    assert trade is not None and len(trade.samples) == 2
    assert len(desk.changed) == before + 1
    assert desk.changed[-1].trade.mfe_points == 6.50
    desk.trade(12, 21_006.25)  # neither a sample nor a new extreme: nothing published
    assert len(desk.changed) == before + 1
