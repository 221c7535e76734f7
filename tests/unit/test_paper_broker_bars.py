"""The paper broker on bar data (a bar backtest), each fill worked by hand.

A bar's intrabar path is open -> nearer extreme -> farther extreme -> close. Between
bars the market is closed: a market order placed at a bar's close fills at the next
bar's open (or at that close, when configured). NQ: tick 0.25, point value 20,
commission 2.50 a side; no spread and no slippage unless a test sets them.
"""

from __future__ import annotations

from tests.unit.test_paper_broker import T0, Desk, paper
from workstation.model import NS_PER_SECOND, Bar, MarketBar
from workstation.orders import Bracket, OrderSide, OrderStatus, OrderType

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MINUTE = 60 * NS_PER_SECOND


def bar_desk(**fills: object) -> Desk:
    desk = Desk(paper(typical_spread_ticks=0, **fills))
    desk.minute = 0
    return desk


def bar(desk: Desk, o: float, h: float, lo: float, c: float) -> None:
    """The next one-minute bar, published as the bar feed does: the market data at its
    open, then the closed bar at its close."""
    ts = T0 + desk.minute * MINUTE
    desk.minute += 1
    desk.clock.advance_to(ts)
    desk.bus.publish(MarketBar("NQ", "1m", ts, ts + MINUTE, o, h, lo, c, 10.0, 5))
    desk.clock.advance_to(ts + MINUTE)
    desk.bus.publish(Bar("NQ", "1m", ts, ts + MINUTE, o, h, lo, c, 10.0, 5))


def test_a_market_order_placed_at_a_close_fills_at_the_next_open():
    desk = bar_desk()
    bar(desk, 21_000.00, 21_004.00, 20_998.00, 21_002.00)

    order = desk.submit(BUY, 1)
    assert order.status is OrderStatus.ACCEPTED  # the market is closed between bars
    bar(desk, 21_003.50, 21_006.00, 21_001.00, 21_005.00)

    assert desk.prices() == [21_003.50]
    assert desk.fills[0].ts == T0 + MINUTE  # at the second bar's open
    # marked at the close: (21,005.00 - 21,003.50) x 20 = 30, less 2.50 commission
    assert desk.portfolio.equity() == 1_000_000 + 30.0 - 2.50


def test_with_close_fills_a_market_order_fills_at_the_bar_close_it_was_placed_on():
    desk = bar_desk(bar_market_fill="close")
    bar(desk, 21_000.00, 21_004.00, 20_998.00, 21_002.00)

    desk.submit(BUY, 1)

    assert desk.prices() == [21_002.00]


def test_a_stop_inside_the_range_fills_at_its_price_and_a_gapped_stop_at_the_open():
    desk = bar_desk()
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    desk.submit(SELL, 1, OrderType.STOP, stop_price=20_995.00)
    desk.submit(SELL, 1, OrderType.STOP, stop_price=20_990.00)

    bar(desk, 20_999.00, 21_000.00, 20_993.00, 20_994.00)  # passes 20,995 on the way down
    bar(desk, 20_985.00, 20_987.00, 20_980.00, 20_986.00)  # opens below 20,990: gapped

    assert desk.prices() == [20_995.00, 20_985.00]


def test_the_path_goes_to_the_nearer_extreme_first():
    """Open 21,000; the high 21,002 is nearer than the low 20,990: the buy stop at 21,001
    fills on the way up, the sell stop at 20,995 after it, on the way down to the low."""
    desk = bar_desk()
    bar(desk, 21_000.00, 21_000.50, 20_999.50, 21_000.00)
    buy_stop = desk.submit(BUY, 1, OrderType.STOP, stop_price=21_001.00)
    sell_stop = desk.submit(SELL, 2, OrderType.STOP, stop_price=20_995.00)

    bar(desk, 21_000.00, 21_002.00, 20_990.00, 20_991.00)

    assert [(f.order_id, f.price) for f in desk.fills] == [
        (buy_stop.order_id, 21_001.00), (sell_stop.order_id, 20_995.00)]
    assert desk.fills[0].ts < desk.fills[1].ts


def test_a_limit_fills_at_its_price_only_when_the_range_goes_through_it():
    desk = bar_desk()
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    touched = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_996.00)
    through = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_997.00)

    bar(desk, 21_000.00, 21_000.00, 20_996.00, 20_998.00)  # low exactly at 20,996

    assert [(f.order_id, f.price) for f in desk.fills] == [(through.order_id, 20_997.00)]
    assert desk.status(touched.order_id).status is OrderStatus.ACCEPTED


def test_a_limit_the_bar_opens_through_fills_at_the_open_the_better_price():
    """The bar traded at its open first: a buy limit at 20,996 that the next bar opens
    below, at 20,990, is bought there; a sell limit at 21,004 that the bar after opens
    above, at 21,010, is sold there; a buy limit above the market (21,002 with the close
    at 21,000) is bought at the next open, 21,000.50, not at its limit."""
    desk = bar_desk()
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    gapped_buy = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=20_996.00)
    bar(desk, 20_990.00, 20_995.00, 20_985.00, 20_992.00)
    gapped_sell = desk.submit(SELL, 1, OrderType.LIMIT, limit_price=21_004.00)
    bar(desk, 21_010.00, 21_012.00, 21_000.00, 21_000.00)
    marketable = desk.submit(BUY, 1, OrderType.LIMIT, limit_price=21_002.00)
    bar(desk, 21_000.50, 21_003.00, 20_999.00, 21_001.00)

    assert [(f.order_id, f.price) for f in desk.fills] == [
        (gapped_buy.order_id, 20_990.00), (gapped_sell.order_id, 21_010.00),
        (marketable.order_id, 21_000.50)]


def test_a_bracket_entered_at_the_open_is_stopped_out_in_the_same_bar_at_the_stop():
    desk = bar_desk()
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    desk.submit(BUY, 1, bracket=Bracket(stop_offset=10.0, target_offset=20.0))

    bar(desk, 21_002.00, 21_004.00, 20_980.00, 20_985.00)  # entry 21,002; stop 20,992

    assert desk.prices() == [21_002.00, 20_992.00]
    assert desk.portfolio.position("NQ") == 0
    # (20,992 - 21,002) x 20 = -200, two commissions of 2.50
    assert desk.portfolio.equity() == 1_000_000 - 200.0 - 5.0


def test_slippage_in_ticks_and_basis_points_is_paid_against_the_trader():
    desk = bar_desk(slippage="fixed", slippage_ticks=2, slippage_bps=1.0)
    bar(desk, 20_000.00, 20_001.00, 19_999.00, 20_000.00)

    desk.submit(BUY, 1)
    bar(desk, 20_000.00, 20_001.00, 19_999.00, 20_000.00)

    # 2 ticks = 0.50, 1 bp of 20,000 = 2.00: 20,002.50
    assert desk.prices() == [20_002.50]


def test_a_bar_no_order_can_reach_fills_nothing_and_marks_the_close():
    desk = bar_desk()
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    desk.submit(BUY, 1)
    bar(desk, 21_000.00, 21_001.00, 20_999.00, 21_000.00)
    desk.submit(SELL, 1, OrderType.STOP, stop_price=20_900.00)

    bar(desk, 21_000.00, 21_010.00, 20_950.00, 21_008.00)

    assert desk.prices() == [21_000.00]
    assert desk.portfolio.equity() == 1_000_000 + 8.0 * 20 - 2.50
