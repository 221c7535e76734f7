"""The engine on the Alpaca market (a fake Alpaca on 127.0.0.1): reconciliation at the
start that matches, one that finds differences and enters safe mode (entries blocked,
exits allowed, kept in the compliance history), and a restart that books the fill made
while Bracket was down."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.fake_alpaca import FakeAlpaca, trade_msg
from tests.fake_alpaca.helpers import credentials_for, eventually, settings_for
from workstation.alpaca.market import AlpacaMarket, namespace_for
from workstation.engine import Engine
from workstation.model import Bar
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderType
from workstation.risk.wiring import PERMISSIVE
from workstation.store import open_store

ACCOUNT = "alpaca-paper"


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


def engine_on(fake: FakeAlpaca, tmp_path) -> tuple[Engine, AlpacaMarket]:
    settings = settings_for(fake, tmp_path).model_copy(update={"risk": PERMISSIVE})
    market = AlpacaMarket(settings, credentials_for(fake), namespace_for(tmp_path, ACCOUNT))
    engine = Engine(settings, tmp_path, market.feed, account=ACCOUNT, live=market,
                    plugin_folders=[])
    return engine, market


async def prices(fake: FakeAlpaca, engine: Engine) -> None:
    """A print for AAPL and MSFT now (the gate prices orders from the market)."""
    await eventually(lambda: fake.subscriptions() >= {"AAPL", "MSFT"})
    now = datetime.now(UTC)
    await asyncio.to_thread(fake.push, [trade_msg("AAPL", 200.5, 1, now, 1),
                                        trade_msg("MSFT", 480.0, 1, now, 2)])
    await eventually(lambda: engine.feed.ticks >= 2)


def test_a_fresh_account_that_matches_alpaca_trades_without_safe_mode(fake, tmp_path):
    fake.cash = 25_000.0

    async def scenario():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        report = market.report()
        report["starting_cash"] = engine.portfolio.starting_cash
        update = engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 10,
                                                  OrderType.LIMIT, limit_price=200.0))
        await engine.broker.settled()
        await engine.stop()
        return report, update

    report, update = asyncio.run(scenario())
    assert report["reconciliations"] == [{
        "when": "at the start", "matched": True, "differences": [],
        "restored": ["0 working order(s) match Alpaca", "no positions, as at Alpaca"]}]
    assert report["safe_mode"]["active"] is False
    assert report["account"] == {"account_number": "PA3FAKE0001", "status": "ACTIVE",
                                 "equity": 25_000.0, "buying_power": 50_000.0}
    assert report["starting_cash"] == 25_000.0  # a new journal starts at Alpaca's equity
    assert update.status is OrderStatus.NEW
    assert fake.orders_with_client_id(f"{namespace_for(tmp_path, ACCOUNT)}-manual-1") == 1


def test_a_position_and_an_order_opened_elsewhere_put_the_account_in_safe_mode(
        fake, tmp_path):
    fake.set_position("AAPL", 10, 230.0)
    fake.add_order("MSFT", "sell", 5, client_order_id="phone-app-1", limit_price=500.0)

    async def scenario():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        blocked = engine.router.submit(OrderIntent("manual-1", "MSFT", OrderSide.BUY, 1))
        market.safe_mode.acknowledge("tester")
        passed = engine.router.submit(OrderIntent("manual-2", "MSFT", OrderSide.BUY, 1))
        await engine.broker.settled()
        report = market.report()
        await engine.stop()
        return report, blocked, passed

    report, blocked, passed = asyncio.run(scenario())
    differences = [
        "order at Alpaca that Bracket did not place: sell 5 MSFT limit (client id phone-app-1)",
        "position AAPL: Alpaca holds 10, the journal 0"]
    assert report["reconciliations"][0]["differences"] == differences
    assert blocked.status is OrderStatus.REJECTED
    assert blocked.reason == (
        "risk: safe_mode: safe mode (reconciliation at the start found 2 difference(s) with "
        "Alpaca): new entries are blocked until the differences are acknowledged; exits "
        "still pass")
    assert passed.status is OrderStatus.NEW
    store = open_store(tmp_path / "bracket.sqlite")
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, data FROM risk_events WHERE account = :a "
                                 "ORDER BY id"), {"a": ACCOUNT}).all()
    store.close()
    history = [json.loads(data) for kind, data in rows if kind == "SafeModeChanged"]
    assert [entry["active"] for entry in history] == [True, False]
    assert history[0]["differences"] == differences
    assert history[1]["reason"] == ("acknowledged by tester (was: reconciliation at the start "
                                    "found 2 difference(s) with Alpaca)")


def test_a_restart_books_the_fill_made_while_bracket_was_down_and_enters_safe_mode(
        fake, tmp_path):
    cid = f"{namespace_for(tmp_path, ACCOUNT)}-manual-1"

    async def first_run():
        engine, _ = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 10,
                                         OrderType.LIMIT, limit_price=200.0))
        await engine.broker.settled()
        remote = fake.order_by_client_id(cid)
        await asyncio.to_thread(fake.fill, remote["id"], 4, 200.0)
        await eventually(lambda: engine.portfolio.position("AAPL") == 4)
        await engine.stop()
        return remote

    async def second_run():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        order = engine.broker.order("A-manual-1")
        position = engine.portfolio.position("AAPL")
        report = market.report()
        await engine.stop()
        return order, position, report

    remote = asyncio.run(first_run())
    fake.fill(remote["id"], 6, 199.5)  # while Bracket is down
    order, position, report = asyncio.run(second_run())
    assert (order.status, order.filled_qty, round(order.avg_fill_price, 6)) == (
        OrderStatus.FILLED, 10.0, 199.7)
    assert position == 10.0
    assert report["reconciliations"][0]["differences"] == [
        "order A-manual-1 (buy 10 AAPL limit 200 day) filled 6 at Alpaca while Bracket was "
        "not watching; now filled"]
    assert report["safe_mode"]["active"] is True


def test_recent_history_is_loaded_from_alpaca_stored_and_charted_but_not_published(
        fake, tmp_path):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - timedelta(hours=2) - timedelta(minutes=(now.minute % 5))  # a 5m boundary
    fake.bars["BTC/USD"] = [
        {"t": (first + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
         "o": 95_000.0 + i, "h": 95_010.0 + i, "l": 94_990.0 + i, "c": 95_005.0 + i,
         "v": 1.5, "n": 3, "vw": 95_000.0} for i in range(10)]

    async def run_once():
        engine, _ = engine_on(fake, tmp_path)
        published = []
        engine.bus.subscribe(Bar, published.append)
        await engine.start()
        one = engine.bars.history("BTC/USD", "1m")
        five = engine.bars.history("BTC/USD", "5m")
        await engine.stop()
        return one, five, published

    one, five, published = asyncio.run(run_once())
    assert [b.ts for b in one] == [ns(first + timedelta(minutes=i)) for i in range(10)]
    assert [(b.ts, b.open, b.high, b.low, b.close, b.volume, b.trades) for b in five] == [
        (ns(first), 95_000.0, 95_014.0, 94_990.0, 95_009.0, 7.5, 15),
        (ns(first + timedelta(minutes=5)), 95_005.0, 95_019.0, 94_995.0, 95_014.0, 7.5, 15)]
    assert published == []
    store = open_store(tmp_path / "bracket.sqlite")
    stored = len(store.load_bars("BTC/USD", "1m"))
    store.close()
    assert stored == 10
    requests_before = len(fake.bar_requests)
    one_again, _, _ = asyncio.run(run_once())  # the next start asks only for what is new
    assert [b.ts for b in one_again] == [b.ts for b in one]
    (asked,) = [r for r in fake.bar_requests[requests_before:] if r["symbols"] == "BTC/USD"]
    assert asked["start"].startswith((first + timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M"))


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def test_a_fill_missed_while_the_trade_stream_was_down_is_booked_on_reconnect(fake, tmp_path):
    cid = f"{namespace_for(tmp_path, ACCOUNT)}-manual-1"

    async def scenario():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 10,
                                         OrderType.LIMIT, limit_price=200.0))
        await engine.broker.settled()
        await asyncio.to_thread(fake.drop_trade_clients)
        await eventually(lambda: fake.trade_stream_clients() == 0)
        remote = fake.order_by_client_id(cid)
        await asyncio.to_thread(fake.fill, remote["id"], 10, 199.0)  # nobody listening
        await eventually(lambda: len(market.reconciliations) == 2)
        order = engine.broker.order("A-manual-1")
        position = engine.portfolio.position("AAPL")
        await engine.stop()
        return market, order, position

    market, order, position = asyncio.run(scenario())
    assert market.reconciliations[1]["when"] == "after a reconnect"
    assert market.reconciliations[1]["differences"] == [
        "order A-manual-1 (buy 10 AAPL limit 200 day) filled 10 at Alpaca while Bracket was "
        "not watching; now filled"]
    assert (order.status, order.filled_qty, position) == (OrderStatus.FILLED, 10.0, 10.0)
    assert market.safe_mode.active


def test_a_symbol_added_while_running_is_known_again_before_the_journal_is_restored(
        fake, tmp_path):
    async def first_run():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        assert await market.add_symbol(engine, "NVDA") == ""
        await eventually(lambda: "NVDA" in fake.subscriptions())
        await asyncio.to_thread(fake.push, [trade_msg("NVDA", 181.0, 1, datetime.now(UTC), 1)])
        await eventually(lambda: engine.feed.ticks >= 1)
        engine.router.submit(OrderIntent("manual-1", "NVDA", OrderSide.BUY, 3))
        await engine.broker.settled()
        remote = fake.order_by_client_id(f"{namespace_for(tmp_path, ACCOUNT)}-manual-1")
        await asyncio.to_thread(fake.fill, remote["id"], 3, 181.0)
        await eventually(lambda: engine.portfolio.position("NVDA") == 3)
        await engine.stop()

    async def second_run():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        found = (engine.instruments["NVDA"].description, engine.portfolio.position("NVDA"))
        await eventually(lambda: "NVDA" in fake.subscriptions())
        report = market.report()
        await engine.stop()
        return found, report

    asyncio.run(first_run())
    found, report = asyncio.run(second_run())
    assert found == ("NVIDIA Corporation", 3.0)
    assert report["reconciliations"][0]["differences"] == []


def test_bracket_legs_restored_after_a_restart_are_found_at_alpaca_and_still_work(
        fake, tmp_path):
    async def first_run():
        engine, _ = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 10,
                                         bracket=Bracket(stop_loss=190.0, take_profit=215.0)))
        await engine.broker.settled()
        entry = fake.order_by_client_id(f"{namespace_for(tmp_path, ACCOUNT)}-manual-1")
        await asyncio.to_thread(fake.fill, entry["id"], 10, 200.0)
        await eventually(lambda: engine.broker.order("A-manual-1-TP") is not None
                         and engine.portfolio.position("AAPL") == 10)
        await engine.stop()
        return entry

    async def second_run(entry):
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        report = market.report()
        take_profit = next(leg for leg in entry["legs"] if leg["type"] == "limit")
        await asyncio.to_thread(fake.fill, take_profit["id"], 10, 215.0)
        await eventually(lambda: engine.broker.order("A-manual-1-SL").status
                         is OrderStatus.CANCELED)
        result = (engine.broker.order("A-manual-1-TP").status,
                  engine.portfolio.position("AAPL"))
        await engine.stop()
        return report, result

    entry = asyncio.run(first_run())
    report, result = asyncio.run(second_run(entry))
    assert report["reconciliations"][0] == {
        "when": "at the start", "matched": True, "differences": [],
        "restored": ["2 working order(s) match Alpaca", "positions match: AAPL 10"]}
    assert result == (OrderStatus.FILLED, 0.0)


def test_a_modified_order_is_followed_to_its_new_id_after_a_restart_and_can_be_canceled(
        fake, tmp_path):
    ns = namespace_for(tmp_path, ACCOUNT)

    async def first_run():
        engine, _ = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 10,
                                         OrderType.LIMIT, limit_price=200.0))
        await engine.broker.settled()
        engine.router.replace("A-manual-1", limit_price=199.0)
        await engine.broker.settled()
        await engine.stop()

    async def second_run():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        report = market.report()
        engine.router.cancel("A-manual-1")
        await eventually(lambda: engine.broker.order("A-manual-1").status
                         is OrderStatus.CANCELED)
        await engine.stop()
        return report

    asyncio.run(first_run())
    report = asyncio.run(second_run())
    assert report["reconciliations"][0]["differences"] == []
    assert fake.order_by_client_id(f"{ns}-manual-1-r1")["status"] == "canceled"
    assert fake.order_by_client_id(f"{ns}-manual-1")["status"] == "replaced"


def test_a_symbol_taken_off_the_watchlist_stops_streaming_unless_it_is_held(fake, tmp_path):
    async def scenario():
        engine, market = engine_on(fake, tmp_path)
        await engine.start()
        await prices(fake, engine)
        engine.router.submit(OrderIntent("manual-1", "AAPL", OrderSide.BUY, 5))
        await engine.broker.settled()
        remote = fake.order_by_client_id(f"{namespace_for(tmp_path, ACCOUNT)}-manual-1")
        await asyncio.to_thread(fake.fill, remote["id"], 5, 200.5)
        await eventually(lambda: engine.portfolio.position("AAPL") == 5)
        held = await market.release_symbol(engine, "AAPL")  # a position: keeps streaming
        released = await market.release_symbol(engine, "MSFT")
        await eventually(lambda: fake.subscriptions() == {"AAPL", "BTC/USD"})  # MSFT gone
        await engine.stop()
        return held, released

    held, released = asyncio.run(scenario())
    assert (held, released) == (False, True)
