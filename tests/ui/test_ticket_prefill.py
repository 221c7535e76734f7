"""The order ticket prefills limit and stop prices at the touch, not at a stale last trade
(seen: a buy limit prefilled 14 points from the market)."""

from __future__ import annotations

from tests.ui.test_main_window import at, publish
from workstation.model import Quote, Tick
from workstation.orders import OrderType


def test_a_limit_starts_at_its_own_touch_and_a_stop_at_the_other(workstation, qtbot):
    window = workstation()
    # the last trade printed 14 points below the market that is quoted now
    publish(window, Tick("NQ", at(15, 0, 0), 20_986.00, 1, -1),
            Quote("NQ", at(15, 0, 1), 21_000.00, 21_000.25, 10, 10))
    ticket = window.open_ticket()
    ticket.order_type.setCurrentIndex(ticket.order_type.findData(OrderType.STOP_LIMIT.value))

    buy = (ticket.limit_price.value(), ticket.stop_price.value())
    ticket.side.setCurrentIndex(1)  # sell
    sell = (ticket.limit_price.value(), ticket.stop_price.value())

    assert buy == (21_000.00, 21_000.25)  # a buy limit joins the bid; its stop at the ask
    assert sell == (21_000.25, 21_000.00)  # a sell limit joins the ask; its stop at the bid
