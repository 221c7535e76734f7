"""Invariant 4: every order transition and fill is committed before stop() returns,
and a second Engine on the same home restores working orders, positions and
active trades exactly, then trades on from there.

Two sessions run once for the module on a real SQLite store in a temporary
home: the first trades and stops, the second restores, is inspected before any
market event reaches it, then trades on and stops.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.unit.stored import rows
from workstation.config import DATABASE_FILE, Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.model import NS_PER_SECOND, Quote, Tick, datetime_to_ns
from workstation.orders import (
    Bracket,
    Fill,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
    TrailUnit,
)
from workstation.store import Store, open_store
from workstation.store.journal import restore
from workstation.trades import ActiveTrade, TradeClosed

# Tuesday 2026-01-13 15:00 UTC: CME Globex open until 22:00 UTC (16:00 CT)
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
NQ_CLOSE = datetime_to_ns(datetime(2026, 1, 13, 22, 0, tzinfo=UTC))
S = NS_PER_SECOND

BUY, SELL = OrderSide.BUY, OrderSide.SELL
ENTRY = OrderIntent("entry-1", "NQ", BUY, 1, OrderType.MARKET,
                    bracket=Bracket(stop_loss=20_990.00, take_profit=21_020.00))
# what a restart must bring back of an active trade (version and last price are display state)
TRADE_FIELDS = ("trade_id", "symbol", "direction", "qty", "entry", "entry_ts", "initial_stop",
                "stop", "target", "stop_order_id", "target_order_id", "max_qty", "mfe_points",
                "mae_points", "break_even_ts", "realized_pnl", "commission", "samples")


def replay_engine(home: Path, events: list[Tick] | None = None) -> Engine:
    """An engine replaying ``events`` at max speed; the test publishes the rest on its bus."""
    batches = [events] if events else []
    return Engine(Settings(), home,
                  lambda bus, clock, bp: ReplayFeed(batches, bus, clock, speed=None))


@dataclass
class Session:
    """One engine's run: what it published, and its state when it stopped."""

    engine: Engine
    updates: list[OrderUpdate] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    closed: list[TradeClosed] = field(default_factory=list)
    restored: dict[str, Any] = field(default_factory=dict)  # state right after start()
    at_stop: dict[str, Any] = field(default_factory=dict)  # state just before stop()
    results: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine.bus.subscribe(OrderUpdate, self.updates.append)
        self.engine.bus.subscribe(Fill, self.fills.append)
        self.engine.bus.subscribe(TradeClosed, self.closed.append)

    def quote(self, symbol: str, seconds: float, bid: float, ask: float) -> None:
        ts = T0 + int(seconds * S)
        self.engine.clock.advance_to(ts)
        self.engine.bus.publish(Quote(symbol, ts, bid, ask, 10, 10))

    def trade(self, symbol: str, seconds: float, price: float) -> None:
        ts = T0 + int(seconds * S)
        self.engine.clock.advance_to(ts)
        self.engine.bus.publish(Tick(symbol, ts, price, 1))

    def submit(self, intent: OrderIntent) -> OrderUpdate:
        return self.engine.router.submit(intent)


def state(engine: Engine) -> dict[str, Any]:
    broker, book = engine.broker, engine.portfolio
    orders = {}
    for update in broker.open_orders():
        live = broker.live_order(update.order_id)
        assert live is not None
        orders[update.order_id] = asdict(live)
    return {
        "orders": orders,
        "positions": {s: (p.qty, p.avg_price, p.realized_pnl, p.commission)
                      for s, p in book.positions.items()},
        "money": (book.cash, book.realized_pnl, book.commission),
        "trades": {t.trade_id: trade_fields(t) for t in engine.trades.active()},
    }


def trade_fields(trade: ActiveTrade) -> dict[str, Any]:
    return {name: copy.deepcopy(getattr(trade, name)) for name in TRADE_FIELDS}


async def first_session(home: Path) -> Session:
    opening = [Tick("NQ", T0, 21_000.00, 1), Tick("ES", T0 + S // 2, 6_000.00, 1)]
    run = Session(replay_engine(home, opening))
    await run.engine.start()
    await run.engine.wait_feed()

    run.quote("NQ", 1, 20_999.75, 21_000.00)
    run.quote("ES", 1, 5_999.75, 6_000.00)
    run.submit(ENTRY)  # P1 at 21000.00 (F1); legs P2 entry-1-SL, P3 entry-1-TP; trade T1
    run.submit(OrderIntent("es-1", "ES", BUY, 2))  # P4 at 6000.00 (F2); trade T2
    run.quote("ES", 2, 6_004.75, 6_005.00)
    run.submit(OrderIntent("es-2", "ES", SELL, 1))  # P5 at the bid 6004.75 (F3)
    run.submit(OrderIntent("lim-1", "NQ", BUY, 1, OrderType.LIMIT,
                           limit_price=20_950.00))  # P6, DAY, resting
    # P7: 8 ticks (2.00) under the last ES trade 6000.00 = 5998.00; T2's first stop
    run.submit(OrderIntent("trail-1", "ES", SELL, 1, OrderType.TRAILING_STOP, trail=8,
                           trail_unit=TrailUnit.TICKS, tif=TimeInForce.GTC))
    await asyncio.sleep(0)  # a loop turn between market events, as with a live feed:
    run.trade("NQ", 3, 20_998.00)  # the journal commits what happened in each turn
    await asyncio.sleep(0)  # T1: -2.00 points (sample)
    run.trade("NQ", 4, 21_006.00)  # T1: +6.00 points (sample)
    await asyncio.sleep(0)
    run.trade("NQ", 5, 21_006.50)  # T1: MFE +6.50, less than 0.1R past the last sample
    await asyncio.sleep(0)
    run.trade("ES", 6, 6_003.00)  # P7 trails up: 6003.00 - 2.00 = 6001.00
    await asyncio.sleep(0)
    run.at_stop = state(run.engine)
    await run.engine.stop()
    return run


async def second_session(home: Path) -> Session:
    run = Session(replay_engine(home))
    await run.engine.start()
    run.restored = state(run.engine)

    run.quote("NQ", 60, 21_001.00, 21_001.25)
    run.quote("ES", 60, 6_002.75, 6_003.00)
    run.results["resubmitted"] = run.submit(ENTRY)
    run.results["new_order"] = run.submit(OrderIntent("lim-2", "NQ", BUY, 1, OrderType.LIMIT,
                                                      limit_price=20_940.00))
    run.trade("NQ", 61, 21_010.00)  # T1 reaches +1R: its stop P2 moves to 21000.00
    run.results["stop_after_break_even"] = run.engine.broker.order("P2")
    run.quote("NQ", 62, 21_019.75, 21_020.00)
    run.trade("NQ", 63, 21_020.25)  # through the target P3: T1 exits at 21020.00 (F4)
    run.submit(OrderIntent("again-1", "NQ", BUY, 1))  # P9 at the ask 21020.00 (F5): T3
    run.engine.clock.advance_to(NQ_CLOSE + S)  # the DAY orders P6 and P8 expire

    await asyncio.sleep(0)
    run.at_stop = state(run.engine)
    await run.engine.stop()
    return run


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[Path, Session, Session]:
    home = tmp_path_factory.mktemp("restart")
    first = asyncio.run(first_session(home))
    second = asyncio.run(second_session(home))
    return home, first, second


# -- the first session ------------------------------------------------------------------------
def test_the_first_session_traded_as_worked_out_by_hand(sessions):
    _, first, _ = sessions

    assert [(f.fill_id, f.order_id, f.side, f.qty, f.price) for f in first.fills] == [
        ("F1", "P1", BUY, 1, 21_000.00),
        ("F2", "P4", BUY, 2, 6_000.00),
        ("F3", "P5", SELL, 1, 6_004.75),
    ]
    assert sorted(first.at_stop["orders"]) == ["P2", "P3", "P6", "P7"]
    assert first.at_stop["positions"] == {
        "NQ": (1, 21_000.00, 0.0, 2.50),
        "ES": (1, 6_000.00, 237.50, 7.50),  # 1 x (6004.75 - 6000.00) x 50; 3 x 2.50
    }
    # 100,000 + 237.50 realized - 4 contracts x 2.50 commission
    assert first.at_stop["money"] == (100_227.50, 237.50, 10.00)
    t1 = first.at_stop["trades"]["T1"]
    assert (t1["entry"], t1["stop"], t1["target"]) == (21_000.00, 20_990.00, 21_020.00)
    assert (t1["mfe_points"], t1["mae_points"]) == (6.50, -2.00)
    trail = first.at_stop["orders"]["P7"]
    assert (trail["stop_price"], trail["trail_anchor"]) == (6_001.00, 6_003.00)


def test_every_transition_and_fill_was_committed_before_stop_returned(sessions):
    home, first, second = sessions

    published = [u for u in first.updates + second.updates if u.order_id]
    events = rows(home, "SELECT order_id, status, filled_qty, ts FROM order_events ORDER BY id")
    assert len(events) == len(published)
    assert events == [(u.order_id, str(u.status), u.filled_qty, u.ts) for u in published]
    fills = rows(home, "SELECT fill_id, order_id, price FROM fills ORDER BY rowid")
    assert fills == [(f.fill_id, f.order_id, f.price) for f in first.fills + second.fills]


def test_the_store_holds_each_orders_last_state(sessions):
    home, first, second = sessions

    last: dict[str, str] = {}
    for update in first.updates + second.updates:
        if update.order_id:
            last[update.order_id] = str(update.status)
    assert dict(rows(home, "SELECT order_id, status FROM orders")) == last
    assert last["P2"] == "canceled" and last["P3"] == "filled"  # OCO
    assert last["P6"] == last["P8"] == "expired"


# -- the restore ------------------------------------------------------------------------------
def test_finished_orders_of_the_account_come_back_for_the_orders_panel(sessions):
    _, _, second = sessions

    # P1 (entry), P4 and P5 (ES) filled in the first session; P2, P3, P6, P7 still working
    assert [o.order_id for o in second.engine.restored.recent_done] == ["P1", "P4", "P5"]
    assert [o.status for o in second.engine.restored.recent_done] == [OrderStatus.FILLED] * 3
    assert second.engine.restored.closed_trades == []  # T1 and T2 were still open


def test_trades_finished_before_a_restart_come_back_for_the_trades_panel(sessions):
    home, _, second = sessions

    found = restore(Store(home / DATABASE_FILE))

    # the second session closed T1 at its target: +20.00 points on 1 NQ = $400
    assert [(c.record.trade_id, c.record.exit, c.record.exit_reason, c.record.realized_pnl)
            for c in found.closed_trades] == [("T1", 21_020.00, "target", 400.00)]
    assert found.closed_trades[0].samples == second.closed[0].samples


def test_working_orders_come_back_with_the_same_ids_prices_and_status(sessions):
    _, first, second = sessions

    assert second.restored["orders"] == first.at_stop["orders"]
    stop_leg = second.restored["orders"]["P2"]
    assert (stop_leg["status"], stop_leg["stop_price"]) == (OrderStatus.ACCEPTED, 20_990.00)
    assert stop_leg["intent"]["oco_group"] == "entry-1-OCO"


def test_positions_cash_and_realized_pnl_are_rebuilt_from_the_fills(sessions):
    _, first, second = sessions

    assert second.restored["positions"] == first.at_stop["positions"]
    assert second.restored["money"] == first.at_stop["money"] == (100_227.50, 237.50, 10.00)


def test_active_trades_come_back_with_their_entry_stop_and_excursions_so_far(sessions):
    _, first, second = sessions

    assert second.restored["trades"] == first.at_stop["trades"]
    assert sorted(second.restored["trades"]) == ["T1", "T2"]
    t1 = second.restored["trades"]["T1"]
    assert (t1["entry"], t1["stop"], t1["stop_order_id"]) == (21_000.00, 20_990.00, "P2")
    assert t1["mfe_points"] == 6.50  # the high of the first session, not the last sample's
    t2 = second.restored["trades"]["T2"]
    assert (t2["qty"], t2["entry"], t2["stop"], t2["initial_stop"]) == (1, 6_000.00, 6_001.00,
                                                                         5_998.00)


# -- trading on after the restart ----------------------------------------------------------------
def test_resubmitting_a_client_order_id_from_before_the_restart_creates_nothing(sessions):
    _, _, second = sessions

    again = second.results["resubmitted"]
    assert (again.order_id, again.status, again.avg_fill_price) == ("P1", OrderStatus.FILLED,
                                                                    21_000.00)
    assert [u.client_order_id for u in second.updates].count("entry-1") == 0


def test_new_order_fill_and_trade_ids_continue_after_the_old_ones(sessions):
    _, _, second = sessions

    assert second.results["new_order"].order_id == "P8"
    assert [(f.fill_id, f.order_id, f.price) for f in second.fills] == [
        ("F4", "P3", 21_020.00),
        ("F5", "P9", 21_020.00),
    ]
    assert list(second.at_stop["trades"]) == ["T2", "T3"]


def test_a_restored_trade_moves_to_break_even_and_exits_at_its_restored_target(sessions):
    _, _, second = sessions

    moved = second.results["stop_after_break_even"]
    assert moved.stop_price == 21_000.00
    [closed] = second.closed
    record = closed.record
    assert (record.trade_id, record.exit_reason, record.exit) == ("T1", "target", 21_020.00)
    assert record.entry_ts == T0 + S  # from the first session
    assert record.r_multiple == 2.0  # (21020.00 - 21000.00) / 10.00
    assert record.realized_pnl == 400.00  # 1 x 20.00 x 20
    assert record.commission == 5.00  # 2.50 in each session
    assert record.mae_points == -2.00  # from the first session's path


def test_restored_day_orders_expire_at_the_close_of_the_session_they_were_placed_in(sessions):
    home, _, second = sessions

    expired = {u.order_id: u for u in second.updates if u.status is OrderStatus.EXPIRED}
    assert sorted(expired) == ["P6", "P8"]
    assert all(u.ts == NQ_CLOSE for u in expired.values())
    assert sorted(second.at_stop["orders"]) == ["P7"]
    found = restore(store := open_store(home / DATABASE_FILE))
    store.close()
    assert [order.order_id for order in found.working] == ["P7"]
    assert [trade.trade_id for trade in found.trades] == ["T2", "T3"]
    assert len(found.fills) == 5


# -- engine-made client ids after a restart ----------------------------------------------------
async def flatten_session(home: Path, seconds: int, *, buy_again: bool) -> float:
    run = Session(replay_engine(home))
    await run.engine.start()
    run.quote("NQ", seconds, 20_999.75, 21_000.00)
    if buy_again:
        run.submit(OrderIntent(f"buy-{seconds}", "NQ", BUY, 1))
    run.engine.router.flatten("NQ")
    if buy_again:  # later than the gate's 2 s duplicate-order guard
        run.quote("NQ", seconds + 3, 20_999.75, 21_000.00)
        run.submit(OrderIntent(f"buy-{seconds}-2", "NQ", BUY, 1))
    position = run.engine.portfolio.position("NQ")
    await run.engine.stop()
    return position


def test_a_flatten_after_a_restart_closes_the_position(tmp_path):
    assert asyncio.run(flatten_session(tmp_path, 1, buy_again=True)) == 1  # flatten-1 used

    assert asyncio.run(flatten_session(tmp_path, 10, buy_again=False)) == 0


async def reset_session(home: Path) -> dict[str, Any]:
    run = Session(replay_engine(home))
    await run.engine.start()
    run.quote("NQ", 1, 20_999.75, 21_000.00)
    run.submit(ENTRY)  # fills at the ask 21,000.00, with its stop and target working
    await run.engine.reset_account()
    result = {"position": run.engine.portfolio.position("NQ"),
              "cash": run.engine.portfolio.cash,
              "working": len(run.engine.broker.open_orders()),
              "trades": len(run.engine.trades.active()),
              "reasons": sorted({u.reason for u in run.updates if u.status == "canceled"})}
    await run.engine.stop()
    return result


def test_an_account_reset_cancels_orders_forgets_trades_and_survives_a_restart(tmp_path):
    after_reset = asyncio.run(reset_session(tmp_path))
    assert after_reset == {"position": 0, "cash": 100_000.0, "working": 0, "trades": 0,
                           "reasons": ["account reset"]}

    found = restore(Store(tmp_path / "bracket.sqlite"))
    assert (found.epoch, found.starting_cash) == (2, 100_000.0)
    assert (found.fills, found.working, found.trades) == ([], [], [])
