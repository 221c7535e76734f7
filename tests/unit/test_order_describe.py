"""An order described for people: its type once (no "limit limit"), prices in full."""

from __future__ import annotations

import pytest

from workstation.orders import OrderIntent, OrderSide, OrderType, TimeInForce

BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.mark.parametrize(("fields", "text"), [
    ({}, "buy 1 NQ market day"),
    ({"type": OrderType.LIMIT, "limit_price": 20_884.0}, "buy 1 NQ limit 20,884 day"),
    ({"type": OrderType.LIMIT, "limit_price": 20_884.25}, "buy 1 NQ limit 20,884.25 day"),
    ({"type": OrderType.STOP, "stop_price": 20_900.75, "tif": TimeInForce.GTC},
     "buy 1 NQ stop 20,900.75 gtc"),
    ({"type": OrderType.STOP_LIMIT, "stop_price": 20_900.0, "limit_price": 20_901.0},
     "buy 1 NQ stop 20,900 limit 20,901 day"),
    ({"type": OrderType.TRAILING_STOP, "trail": 8.0}, "buy 1 NQ trailing stop 8 ticks day"),
])
def test_an_order_reads_with_its_type_once_and_its_prices_whole(fields, text):
    assert OrderIntent("t-1", "NQ", BUY, 1, **fields).describe() == text
