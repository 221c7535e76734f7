"""The built-in demo strategy, so that a headless or smoke run trades.

On each closed bar of its symbol and timeframe, when flat with nothing working:
a bar that closes above the previous bar's high buys at market with a bracket
(stop two ticks under the bar's low, target at 2R of the distance from the
actual fill to that stop); a close below the previous low sells the mirror
image. It is deliberately simple; it exists to exercise the order path
(router -> gate -> paper broker), fills, trades and MFE.
"""

from __future__ import annotations

import logging

from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.model import Bar, Instrument
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderType
from workstation.risk.router import OrderRouter

log = logging.getLogger(__name__)

STOP_OFFSET_TICKS = 2
TARGET_R = 2.0


class DemoStrategy:
    name = "demo"

    def __init__(self, instrument: Instrument, router: OrderRouter, broker: PaperBroker,
                 bus: EventBus, timeframe: str = "1m", qty: float = 1.0) -> None:
        self._instrument = instrument
        self._router = router
        self._broker = broker
        self._timeframe = timeframe
        self._qty = qty
        self._previous: Bar | None = None
        self.orders = 0
        bus.subscribe(Bar, self.on_bar, "DemoStrategy.on_bar")

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol != self._instrument.symbol or bar.timeframe != self._timeframe:
            return
        previous, self._previous = self._previous, bar
        if previous is None or self._busy():
            return
        inst = self._instrument
        offset = STOP_OFFSET_TICKS * inst.tick_size
        if bar.close > previous.high:
            side, stop = OrderSide.BUY, inst.round_price(bar.low - offset)
        elif bar.close < previous.low:
            side, stop = OrderSide.SELL, inst.round_price(bar.high + offset)
        else:
            return
        risk = abs(bar.close - stop)
        target = inst.round_price(bar.close + side.sign * TARGET_R * risk)
        intent = OrderIntent(self._router.next_client_id(self.name), inst.symbol, side,
                             self._qty, OrderType.MARKET,
                             bracket=Bracket(stop_loss=stop, take_profit=target,
                                             target_r=TARGET_R),
                             source=self.name)
        update = self._router.submit(intent)
        self.orders += 1
        if update.status is OrderStatus.REJECTED:
            log.info("demo order rejected: %s", update.reason)

    def _busy(self) -> bool:
        symbol = self._instrument.symbol
        return (self._broker.portfolio.position(symbol) != 0
                or any(o.symbol == symbol for o in self._broker.open_orders()))
