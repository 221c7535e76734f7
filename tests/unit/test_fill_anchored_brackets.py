"""Brackets given as distances are priced from the entry's actual average fill, not from
the market when the order was reviewed (issue 10, part 3).

The ticket's example: NQ (tick 0.25, 20 per point); a market buy of 1 with a stop 5.00
points under the fill and a target at 2R (10.00 points over). It was reviewed when the
ask was 20,995.50 (estimates: stop 20,990.50, target 21,005.50); by the time it is sent
the ask is 20,999.50.
"""

from __future__ import annotations

from tests.unit.trading_desk import TradingDesk
from workstation.config import FillModel
from workstation.orders import Bracket, OrderSide, OrderStatus

REVIEWED = Bracket(stop_loss=20_990.50, take_profit=21_005.50, stop_offset=5.0,
                   target_offset=10.0)


def test_a_market_buy_places_its_stop_and_target_from_the_ask_it_filled_at():
    desk = TradingDesk()
    desk.quote(20_999.25, 20_999.50)

    update = desk.buy("manual-1", bracket=REVIEWED)

    assert (update.status, update.avg_fill_price) == (OrderStatus.FILLED, 20_999.50)
    # 20,999.50 - 5.00 and + 10.00, not the reviewed 20,990.50 / 21,005.50
    assert desk.legs("manual-1") == {"SL": (1, 20_994.50), "TP": (1, 21_009.50)}
    trade = desk.tracker.trade_for_entry("manual-1")
    assert trade is not None
    assert (trade.entry, trade.initial_stop, trade.stop, trade.target) == (
        20_999.50, 20_994.50, 20_994.50, 21_009.50)
    assert trade.r_points * trade.point_value * trade.qty == 100.0  # $100 a contract


def test_a_slipped_fill_moves_the_stop_and_target_with_it():
    desk = TradingDesk(FillModel(slippage="fixed", slippage_ticks=2))
    desk.quote(20_999.25, 20_999.50)

    update = desk.buy("manual-1", bracket=REVIEWED)

    # 2 ticks of slippage: 20,999.50 + 0.50 = 21,000.00; stop 20,995.00, target 21,010.00
    assert update.avg_fill_price == 21_000.00
    assert desk.legs("manual-1") == {"SL": (1, 20_995.00), "TP": (1, 21_010.00)}
    trade = desk.tracker.trade_for_entry("manual-1")
    assert (trade.initial_stop, trade.target, trade.r_points) == (20_995.00, 21_010.00, 5.0)


def test_a_later_partial_fill_re_prices_the_legs_from_the_new_average():
    desk = TradingDesk(FillModel(partial_fills=True))
    desk.quote(20_999.75, 21_000.00, size=1)  # one contract shown at the ask

    update = desk.buy("manual-1", qty=2, bracket=REVIEWED)

    assert (update.status, update.filled_qty) == (OrderStatus.PARTIALLY_FILLED, 1)
    assert desk.legs("manual-1") == {"SL": (1, 20_995.00), "TP": (1, 21_010.00)}
    desk.quote(21_000.75, 21_001.00, size=5)  # the second contract at 21,001.00
    # average 21,000.50: stop 20,995.50, target 21,010.50, both for 2
    assert desk.broker.order(update.order_id).avg_fill_price == 21_000.50
    assert desk.legs("manual-1") == {"SL": (2, 20_995.50), "TP": (2, 21_010.50)}
    trade = desk.tracker.trade_for_entry("manual-1")
    assert (trade.qty, trade.entry, trade.initial_stop, trade.stop, trade.r_points) == (
        2, 21_000.50, 20_995.50, 20_995.50, 5.0)


def test_a_leg_the_trader_moved_is_not_re_priced_by_a_later_fill():
    desk = TradingDesk(FillModel(partial_fills=True))
    desk.quote(20_999.75, 21_000.00, size=1)
    update = desk.buy("manual-1", qty=2, bracket=REVIEWED)
    stop_leg = next(o for o in desk.broker.open_orders() if o.client_order_id == "manual-1-SL")
    desk.router.replace(stop_leg.order_id, stop_price=20_980.00)

    desk.quote(21_000.75, 21_001.00, size=5)

    assert desk.broker.order(update.order_id).avg_fill_price == 21_000.50
    assert desk.legs("manual-1") == {"SL": (2, 20_980.00), "TP": (2, 21_010.50)}


def test_a_structural_stop_stays_and_r_targets_follow_the_fill():
    """A signal setup priced at the confirmation close (entry 100.00, stop 98.00, R 2.00,
    targets 102.00 and 104.00) whose entry fills at 100.50: R 2.50, targets 103.00 and
    105.50."""
    round_price = TradingDesk().nq.round_price
    first = Bracket(stop_loss=98.00, take_profit=102.00, target_r=1.0)
    second = Bracket(stop_loss=98.00, take_profit=104.00, target_r=2.0)

    assert first.at_fill(OrderSide.BUY, 100.50, round_price) == (98.00, 103.00)
    assert second.at_fill(OrderSide.BUY, 100.50, round_price) == (98.00, 105.50)
    assert second.at_fill(OrderSide.BUY, 100.00, round_price) == (98.00, 104.00)


def test_a_sell_is_anchored_the_other_way():
    desk = TradingDesk()
    desk.quote(20_999.25, 20_999.50)

    desk.buy("manual-1", side=OrderSide.SELL,
             bracket=Bracket(21_004.50, 20_985.50, stop_offset=5.0, target_offset=10.0))

    # sold at the bid 20,999.25: stop 5.00 over, target 10.00 under
    assert desk.legs("manual-1") == {"SL": (1, 21_004.25), "TP": (1, 20_989.25)}


def test_an_anchored_bracket_with_a_non_positive_distance_is_refused_with_the_field():
    desk = TradingDesk()
    desk.quote(20_999.25, 20_999.50)

    update = desk.buy("manual-1", bracket=Bracket(20_999.50, None, stop_offset=0.0))

    assert update.status is OrderStatus.REJECTED
    assert update.reason == "bracket stop offset 0 must be positive"
