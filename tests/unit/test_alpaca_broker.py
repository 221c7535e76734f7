"""The Alpaca broker through the real TradingClient and TradingStream, against a fake
Alpaca on 127.0.0.1: submit, partial fills, modify, cancel, rejects, brackets, a
duplicate client id after a timeout, a silent server, and 429 answers."""

from __future__ import annotations

import asyncio

import pytest

from tests.fake_alpaca import FakeAlpaca
from tests.fake_alpaca.helpers import credentials_for, eventually, settings_for
from workstation.alpaca.rest import RateLimiter, RestRunner
from workstation.brokers.alpaca import AlpacaBroker
from workstation.bus import EventBus
from workstation.clock import LiveClock
from workstation.feeds.base import FeedState
from workstation.orders import (
    Bracket,
    Fill,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)
from workstation.portfolio import Portfolio

FAST_RETRIES = (0.01, 0.01, 0.01)


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


class Desk:
    def __init__(self, fake: FakeAlpaca, tmp_path, timeout_s: float = 5.0) -> None:
        self.fake = fake
        self.settings = settings_for(fake, tmp_path, f"rest_timeout_s = {timeout_s}")
        instruments = self.settings.instrument_map()
        self.bus = EventBus()
        self.clock = LiveClock()
        margins = {s: self.settings.margin(i) for s, i in instruments.items()}
        self.portfolio = Portfolio(instruments, margins, 100_000.0, self.clock.now_ns())
        runner = RestRunner("test", timeout_s, 200, FAST_RETRIES)
        self.broker = AlpacaBroker(credentials_for(fake), self.settings.alpaca, instruments,
                                   self.bus, self.clock, self.portfolio, runner=runner)
        self.events: list[object] = []
        self.bus.subscribe(OrderUpdate, self.events.append)
        self.bus.subscribe(Fill, self.events.append)

    async def start(self) -> None:
        await self.broker.start()
        await eventually(lambda: self.broker.updates.state is FeedState.LIVE
                         and self.fake.trade_stream_clients() == 1)

    def statuses(self, order_id: str) -> list[str]:
        return [e.status.value for e in self.events
                if isinstance(e, OrderUpdate) and e.order_id == order_id]

    def fills(self) -> list[tuple[str, str, float, float]]:
        return [(f.order_id, f.side.value, f.qty, f.price) for f in self.events
                if isinstance(f, Fill)]

    def order(self, order_id: str):
        return self.broker.order(order_id)

    async def remote(self, cid: str) -> dict:
        return await asyncio.to_thread(self.fake.order_by_client_id, f"bk-{cid}")


def buy(cid: str, qty: float = 100, **kwargs) -> OrderIntent:
    return OrderIntent(cid, "AAPL", OrderSide.BUY, qty, **kwargs)


def test_a_market_order_is_sent_accepted_and_filled_in_two_parts(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        first = desk.broker.submit(buy("manual-1"))
        await desk.broker.settled()
        remote = await desk.remote("manual-1")
        await asyncio.to_thread(fake.fill, remote["id"], 40, 230.10)
        await asyncio.to_thread(fake.fill, remote["id"], 60, 230.20)
        await eventually(lambda: desk.order("A-manual-1").status is OrderStatus.FILLED)
        await desk.broker.close()
        return desk, first, remote

    desk, first, remote = asyncio.run(scenario())
    assert (first.status, first.order_id, first.reason) == (OrderStatus.NEW, "A-manual-1",
                                                            "sent to Alpaca")
    assert remote["client_order_id"] == "bk-manual-1"
    assert (remote["symbol"], remote["side"], remote["type"]) == ("AAPL", "buy", "market")
    assert desk.statuses("A-manual-1") == ["new", "accepted", "partially_filled", "filled"]
    assert desk.fills() == [("A-manual-1", "buy", 40.0, 230.10),
                            ("A-manual-1", "buy", 60.0, 230.20)]
    done = desk.order("A-manual-1")
    assert (done.filled_qty, round(done.avg_fill_price, 6)) == (100.0, 230.16)
    assert desk.portfolio.position("AAPL") == 100.0


def test_a_resubmitted_client_id_returns_the_same_order_and_sends_nothing(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-1"))
        again = desk.broker.submit(buy("manual-1"))
        await desk.broker.settled()
        await desk.broker.close()
        return again

    again = asyncio.run(scenario())
    assert again.order_id == "A-manual-1"
    assert fake.orders_with_client_id("bk-manual-1") == 1


def test_a_limit_order_is_modified_then_canceled(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-2", type=OrderType.LIMIT, limit_price=229.5))
        await desk.broker.settled()
        desk.broker.replace("A-manual-2", limit_price=229.0)
        await desk.broker.settled()
        modified = desk.order("A-manual-2")
        desk.broker.cancel("A-manual-2")
        await eventually(lambda: desk.order("A-manual-2").status is OrderStatus.CANCELED)
        await desk.broker.close()
        return desk, modified

    desk, modified = asyncio.run(scenario())
    assert (modified.limit_price, modified.reason) == (229.0, "modified: limit 229.5 -> 229.0")
    replaced = next(o for o in fake.orders.values() if o["client_order_id"] == "bk-manual-2")
    assert replaced["status"] == "replaced"
    new = fake.order_by_client_id("bk-manual-2-r1")
    assert (new["limit_price"], new["status"]) == ("229.0", "canceled")
    assert desk.order("A-manual-2").reason == "canceled by user"
    assert desk.statuses("A-manual-2") == ["new", "accepted", "accepted", "canceled"]


def test_an_order_rejected_on_the_stream_is_rejected_in_bracket(fake, tmp_path):
    fake.reject_orders = "insufficient buying power"

    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-3"))
        await eventually(lambda: desk.order("A-manual-3").status is OrderStatus.REJECTED)
        await desk.broker.close()
        return desk

    desk = asyncio.run(scenario())
    assert desk.order("A-manual-3").reason == "rejected by Alpaca"
    assert desk.statuses("A-manual-3") == ["new", "rejected"]


def test_an_order_refused_by_the_rest_api_is_rejected_with_alpacas_message(fake, tmp_path):
    fake.fail_next = [(403, 40310000, "insufficient buying power")]

    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-4"))
        await desk.broker.settled()
        await desk.broker.close()
        return desk

    desk = asyncio.run(scenario())
    assert desk.order("A-manual-4").status is OrderStatus.REJECTED
    assert desk.order("A-manual-4").reason == (
        "Alpaca refused the order: submit buy 100 AAPL market day: insufficient buying power "
        "(HTTP 403)")


def test_a_timed_out_submission_is_looked_up_by_client_id_and_never_sent_twice(
        fake, tmp_path):
    fake.order_response_delay_s = 1.5  # the order is made, the answer comes too late

    async def scenario():
        desk = Desk(fake, tmp_path, timeout_s=0.3)
        await desk.start()
        desk.broker.submit(buy("manual-5"))
        await desk.broker.settled()
        await desk.broker.close()
        return desk

    desk = asyncio.run(scenario())
    assert fake.orders_with_client_id("bk-manual-5") == 1
    assert desk.order("A-manual-5").status is OrderStatus.ACCEPTED
    calls = [c for c in fake.requests if c[1].startswith("/v2/orders")]
    assert calls == [("POST", "/v2/orders"), ("GET", "/v2/orders:by_client_order_id")]


def test_a_silent_server_times_out_and_the_order_is_refused_with_what_to_check(
        fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path, timeout_s=0.3)
        await desk.start()
        fake.silent_rest = True
        desk.broker.submit(buy("manual-6"))
        await desk.broker.settled()
        await desk.broker.close()
        return desk

    desk = asyncio.run(scenario())
    order = desk.order("A-manual-6")
    assert order.status is OrderStatus.REJECTED
    assert order.reason == (
        "Alpaca did not answer and the order could not be looked up (look up order "
        "bk-manual-6: no answer from Alpaca within 0.3 s); check the account before "
        "trading on")


def test_a_rate_limited_request_is_retried_from_the_loop(fake, tmp_path):
    fake.fail_next = [(429, 42910000, "rate limit exceeded")] * 2

    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-7"))
        await desk.broker.settled()
        await desk.broker.close()
        return desk

    desk = asyncio.run(scenario())
    assert desk.order("A-manual-7").status is OrderStatus.ACCEPTED
    assert desk.broker.rest.rate_limited == 2
    assert [c for c in fake.requests if c == ("POST", "/v2/orders")] == [("POST",
                                                                           "/v2/orders")] * 3


def test_the_rate_limiter_spends_200_requests_a_minute_then_spaces_them():
    now = [0.0]
    limiter = RateLimiter(200, now=lambda: now[0])
    waits = [limiter.wait_s() for _ in range(201)]
    assert waits[:200] == [0.0] * 200
    assert waits[200] == pytest.approx(0.3)  # one token comes back every 60/200 s
    now[0] = 0.6  # two tokens back: one paid the wait above, one is free
    assert [limiter.wait_s(), limiter.wait_s()] == [0.0, pytest.approx(0.3)]


def test_a_bracket_entry_gets_its_legs_and_a_filled_target_cancels_the_stop(fake, tmp_path):
    async def scenario():
        desk = Desk(fake, tmp_path)
        await desk.start()
        desk.broker.submit(buy("manual-8", bracket=Bracket(stop_loss=225.0,
                                                           take_profit=240.0)))
        await desk.broker.settled()
        entry = await desk.remote("manual-8")
        await asyncio.to_thread(fake.fill, entry["id"], 100, 230.0)
        await eventually(lambda: desk.order("A-manual-8-TP") is not None)
        take_profit = next(leg for leg in entry["legs"] if leg["type"] == "limit")
        await asyncio.to_thread(fake.fill, take_profit["id"], 100, 240.0)
        await eventually(lambda: desk.order("A-manual-8-SL").status is OrderStatus.CANCELED)
        await desk.broker.close()
        return desk, entry

    desk, entry = asyncio.run(scenario())
    assert entry["order_class"] == "bracket"
    assert (desk.order("A-manual-8-SL").stop_price, desk.order("A-manual-8-TP").limit_price) \
        == (225.0, 240.0)
    assert desk.order("A-manual-8-TP").status is OrderStatus.FILLED
    assert desk.fills() == [("A-manual-8", "buy", 100.0, 230.0),
                            ("A-manual-8-TP", "sell", 100.0, 240.0)]
    assert desk.portfolio.position("AAPL") == 0.0


@pytest.mark.parametrize(("intent", "reason"), [
    (OrderIntent("m-9", "NQ", OrderSide.BUY, 1), "Alpaca does not trade future instruments "
                                                  "such as NQ"),
    (OrderIntent("m-10", "AAPL", OrderSide.SELL, 5, OrderType.LIMIT, limit_price=240.0,
                 oco_group="g"), "Alpaca takes OCO exits only as a bracket order's legs; "
                                 "stand-alone OCO groups are not supported"),
    (OrderIntent("m-11", "BTC/USD", OrderSide.BUY, 0.01, OrderType.TRAILING_STOP, trail=10),
     "Alpaca has no trailing stop orders for crypto"),
])
def test_what_alpaca_cannot_do_is_refused_at_once_with_a_reason(fake, tmp_path, intent,
                                                                  reason):
    async def scenario():
        desk = Desk(fake, tmp_path)
        update = desk.broker.submit(intent)
        await desk.broker.close()
        return update

    update = asyncio.run(scenario())
    assert (update.status, update.reason) == (OrderStatus.REJECTED, reason)
    assert fake.requests == []
