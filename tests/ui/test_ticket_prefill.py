"""The order ticket prefills limit and stop prices at the touch, not at a stale last trade
(seen: a buy limit prefilled 14 points from the market); the Buy/Sell market hotkeys
attach the default bracket of the settings, priced from the actual fill."""

from __future__ import annotations

from tests.ui.test_main_window import at, publish
from workstation.config import FillModel, PaperSettings, Settings, TradingSettings
from workstation.model import Quote, Tick
from workstation.orders import OrderSide, OrderType


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


def test_the_buy_hotkey_brackets_from_the_slipped_fill(workstation, qtbot):
    """Default bracket 20 ticks / 2R; the fill slips 2 ticks to 21,000.75 (ask 21,000.25):
    stop 21,000.75 - 5.00 = 20,995.75, target 21,000.75 + 10.00 = 21,010.75."""
    settings = Settings(paper=PaperSettings(fills=FillModel(slippage="fixed", slippage_ticks=2)))
    window = workstation(settings=settings)
    publish(window, Tick("NQ", at(15, 0, 0), 21_000.00, 1, 1),
            Quote("NQ", at(15, 0, 1), 21_000.00, 21_000.25, 10, 10))

    window.actions["buy_market"].trigger()

    (trade,) = window.engine.trades.active()
    assert (trade.entry, trade.stop, trade.target) == (21_000.75, 20_995.75, 21_010.75)


def test_without_a_default_bracket_the_hotkey_sends_a_plain_market_order(workstation, qtbot):
    window = workstation(settings=Settings(trading=TradingSettings(default_stop_ticks=0)))
    publish(window, Tick("NQ", at(15, 0, 0), 21_000.00, 1, 1),
            Quote("NQ", at(15, 0, 1), 21_000.00, 21_000.25, 10, 10))

    update = window.market_order(OrderSide.BUY)

    assert update.intent.bracket is None and update.status == "filled"
