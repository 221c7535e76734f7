"""One trade per entry (issue 10, part 4): each entry that carries its own stop is its own
trade, with its own R, excursions and exit, while the portfolio nets the position.

NQ: tick 0.25, 20 per point, commission 2.50 a side. Entry A buys 1 at 21,000.00 with
a stop at 20,990.00 (R 10 points) and a target at 21,020.00; entry B buys 1 at
21,010.00 with a stop at 21,005.00 (R 5 points) and a target at 21,030.00.
"""

from __future__ import annotations

import pytest

from tests.unit.trading_desk import TradingDesk
from workstation.orders import Bracket, OrderSide, OrderStatus

A = Bracket(stop_loss=20_990.00, take_profit=21_020.00)
B = Bracket(stop_loss=21_005.00, take_profit=21_030.00)


def two_entries() -> TradingDesk:
    desk = TradingDesk()
    desk.quote(20_999.75, 21_000.00)
    assert desk.buy("manual-1", bracket=A).avg_fill_price == 21_000.00
    desk.quote(21_009.75, 21_010.00)
    desk.trade(21_010.00)
    assert desk.buy("manual-2", bracket=B).avg_fill_price == 21_010.00
    return desk


def test_two_bracket_entries_on_one_symbol_are_two_trades_on_one_netted_position():
    desk = two_entries()

    trades = desk.tracker.trades_for("NQ")
    assert [(t.trade_id, t.qty, t.entry, t.initial_stop, t.r_points, t.target)
            for t in trades] == [("T1", 1, 21_000.00, 20_990.00, 10.0, 21_020.00),
                                 ("T2", 1, 21_010.00, 21_005.00, 5.0, 21_030.00)]
    position = desk.portfolio.positions["NQ"]
    assert (position.qty, position.avg_price) == (2, 21_005.00)
    assert desk.tracker.trade_for("NQ").trade_id == "T2"  # the latest


def test_each_trade_is_closed_by_its_own_leg_with_its_own_r_multiple():
    desk = two_entries()

    desk.quote(21_004.75, 21_005.00)
    desk.trade(21_004.75)  # through B's stop 21,005.00: sold at the bid 21,004.75
    after_stop = [t.trade_id for t in desk.tracker.active()]
    desk.quote(21_020.00, 21_020.25)
    desk.trade(21_020.25)  # through A's target 21,020.00: a limit fills at its price

    assert after_stop == ["T1"]
    first, second = (c.record for c in desk.closed)
    # B: -5.25 points on R 5 = -1.05R, -105.00 gross
    assert (first.trade_id, first.exit, first.exit_reason) == ("T2", 21_004.75, "stop")
    assert (first.r_multiple, first.realized_pnl) == (-1.05, -105.00)
    # A: +20 points on R 10 = +2R, +400.00 gross (the trade through its target fills it
    # before the tracker sees that tick: MFE is the exit, 2R)
    assert (second.trade_id, second.exit, second.exit_reason) == ("T1", 21_020.00, "target")
    assert (second.r_multiple, second.realized_pnl, second.mfe_r) == (2.0, 400.00, 2.0)
    assert (first.commission, second.commission) == (5.00, 5.00)
    assert desk.portfolio.position("NQ") == 0
    assert desk.broker.open_orders() == []


def test_an_entry_without_a_stop_joins_the_latest_trade_on_its_side():
    desk = two_entries()
    desk.quote(21_011.75, 21_012.00)

    desk.buy("manual-3")  # no bracket: adds 1 at 21,012.00 to T2

    t1, t2 = desk.tracker.trades_for("NQ")
    assert (t1.qty, t1.entry) == (1, 21_000.00)
    assert (t2.qty, t2.entry, t2.entry_ids) == (2, 21_011.00, ["manual-2", "manual-3"])
    assert desk.portfolio.position("NQ") == 3


def test_an_exit_that_is_no_trades_own_closes_the_oldest_and_cancels_its_legs():
    desk = two_entries()

    desk.buy("manual-3", side=OrderSide.SELL)  # a plain market sell of 1 at 21,009.75

    (closed,) = desk.closed
    assert (closed.record.trade_id, closed.record.exit, closed.record.exit_reason) == (
        "T1", 21_009.75, "manual")
    assert [t.trade_id for t in desk.tracker.active()] == ["T2"]
    assert desk.legs("manual-1") == {}
    canceled = {u.client_order_id: u.reason for u in desk.updates
                if u.status is OrderStatus.CANCELED}
    assert canceled == {"manual-1-SL": "trade T1 closed by manual-3",
                        "manual-1-TP": "trade T1 closed by manual-3"}
    assert desk.legs("manual-2") == {"SL": (1, 21_005.00), "TP": (1, 21_030.00)}


def test_a_partial_exit_that_is_no_trades_own_shrinks_that_trades_legs():
    desk = TradingDesk()
    desk.quote(20_999.75, 21_000.00)
    desk.buy("manual-1", qty=2, bracket=A)
    desk.quote(21_009.75, 21_010.00)
    desk.buy("manual-2", bracket=B)

    desk.buy("manual-3", side=OrderSide.SELL)  # 1 of T1's 2

    t1, t2 = desk.tracker.trades_for("NQ")
    assert (t1.qty, t2.qty) == (1, 1)
    assert desk.legs("manual-1") == {"SL": (1, 20_990.00), "TP": (1, 21_020.00)}
    assert t1.realized_pnl == pytest.approx(9.75 * 20)


def test_a_bracket_entry_that_reverses_closes_the_old_trades_and_opens_its_own():
    desk = TradingDesk()
    desk.quote(20_999.75, 21_000.00)
    desk.buy("manual-1")  # long 1, no stop

    desk.buy("manual-2", qty=2, side=OrderSide.SELL,
             bracket=Bracket(stop_loss=21_009.75, take_profit=20_979.75))

    (closed,) = desk.closed
    assert (closed.record.trade_id, closed.record.exit_reason) == ("T1", "manual")
    (short,) = desk.tracker.active()
    assert (short.trade_id, short.direction, short.qty, short.entry, short.r_points) == (
        "T2", -1, 1, 20_999.75, 10.0)
    assert desk.legs("manual-2") == {"SL": (1, 21_009.75), "TP": (1, 20_979.75)}


def test_break_even_moves_only_the_trade_that_reached_one_r():
    desk = two_entries()
    desk.tracker.break_even_r = 1.0

    desk.quote(21_010.00, 21_010.25)
    desk.trade(21_010.25)  # T1 at +10.25 points: over its 1R of 10; T2 at +0.25 of its 5

    t1, t2 = desk.tracker.trades_for("NQ")
    assert (t1.stop, t1.break_even_ts is not None) == (21_000.00, True)
    assert (t2.stop, t2.break_even_ts) == (21_005.00, None)
    assert desk.legs("manual-1")["SL"] == (1, 21_000.00)
    assert desk.legs("manual-2")["SL"] == (1, 21_005.00)


def test_closing_one_trade_exits_only_what_it_holds_and_cancels_only_its_legs():
    desk = two_entries()

    update = desk.tracker.close_trade("T2", "manual-3")

    assert (update.status, update.side, update.qty, update.avg_fill_price) == (
        OrderStatus.FILLED, OrderSide.SELL, 1, 21_009.75)  # at the bid
    (closed,) = desk.closed
    assert (closed.record.trade_id, closed.record.exit, closed.record.exit_reason) == (
        "T2", 21_009.75, "manual")
    assert [t.trade_id for t in desk.tracker.active()] == ["T1"]
    assert desk.legs("manual-1") == {"SL": (1, 20_990.00), "TP": (1, 21_020.00)}
    assert desk.legs("manual-2") == {}
    assert desk.portfolio.position("NQ") == 1


def test_closing_a_trade_that_is_not_active_says_so():
    desk = two_entries()

    with pytest.raises(ValueError, match="no active trade 'T9'"):
        desk.tracker.close_trade("T9", "manual-3")
