"""Two trades on one NQ position survive a restart as two trades: each keeps its entry,
its bracket legs and its R, and each is still closed by its own leg afterwards.

NQ: tick 0.25, 20 per point; the desk's trades are locked quotes, so market orders fill
at exactly the traded price. Entry A buys 1 at 21,000.00 with a stop 10.00 points under
the fill and a target 20.00 over (anchored); entry B buys 1 at 21,010.00 with a stop at
21,005.00 and a target at 21,030.00.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from tests.unit.strategy_desk import MINUTE, T0, StrategyDesk, desk_settings
from workstation.orders import Bracket, Order, OrderIntent, OrderSide, OrderType
from workstation.store.journal import order_from_dict, order_to_dict
from workstation.trades import ActiveTrade

A = Bracket(stop_loss=20_990.00, take_profit=21_020.00, stop_offset=10.0, target_offset=20.0)
B = Bracket(stop_loss=21_005.00, take_profit=21_030.00)


def open_desk(tmp_path) -> StrategyDesk:
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins", settings=desk_settings())


def entry(desk: StrategyDesk, client_id: str, bracket: Bracket) -> None:
    desk.engine.router.submit(OrderIntent(client_id, "NQ", OrderSide.BUY, 1, OrderType.MARKET,
                                          bracket=bracket))


def test_two_trades_on_one_position_come_back_as_two_and_close_by_their_own_legs(tmp_path):
    async def first():
        desk = await open_desk(tmp_path).start()
        desk.engine.trades.break_even_r = None
        desk.trade(21_000.0)
        entry(desk, "manual-1", A)
        desk.trade(21_010.0)
        entry(desk, "manual-2", B)
        await desk.stop()

    async def second():
        desk = await open_desk(tmp_path).start(at=T0 + MINUTE)
        desk.engine.trades.break_even_r = None
        tracker = desk.engine.trades
        restored = [(t.trade_id, t.qty, t.entry, t.initial_stop, t.entry_ids, len(t.leg_ids))
                    for t in tracker.trades_for("NQ")]
        desk.trade(21_004.75)  # through B's stop 21,005.00 only
        still = [t.trade_id for t in tracker.active()]
        desk.trade(21_020.25)  # through A's target 21,020.00
        await desk.stop()
        return restored, still, list(tracker.closed), desk.engine.portfolio.position("NQ")

    asyncio.run(first())
    restored, still, closed, position = asyncio.run(second())
    assert restored == [("T1", 1, 21_000.0, 20_990.0, ["manual-1"], 2),
                        ("T2", 1, 21_010.0, 21_005.0, ["manual-2"], 2)]
    assert still == ["T1"]
    assert [(c.trade_id, c.exit, c.exit_reason, c.r_multiple) for c in closed] == [
        ("T2", 21_004.75, "stop", -1.05), ("T1", 21_020.0, "target", 2.0)]
    assert position == 0


def test_orders_and_trades_stored_before_these_fields_existed_still_load():
    """An order and an active trade as an older Bracket stored them: no fill-anchored
    distances, no signal id, no entry or leg ids."""
    order = Order("P1", OrderIntent("manual-1", "NQ", OrderSide.BUY, 1, OrderType.MARKET,
                                    bracket=B), qty=1)
    stored = order_to_dict(order)
    for name in ("stop_offset", "target_offset", "target_r"):
        del stored["intent"]["bracket"][name]
    del stored["intent"]["signal_id"]
    trade = asdict(ActiveTrade("T1", "NQ", 1, 1, 21_010.0, T0, 20.0, 0.25,
                               initial_stop=21_005.0))
    for name in ("signal_id", "entry_ids", "leg_ids"):
        del trade[name]

    loaded = order_from_dict(stored)
    assert loaded.intent.bracket == B and loaded.intent.signal_id is None
    restored = ActiveTrade(**trade)
    assert (restored.entry_ids, restored.leg_ids, restored.r_points) == ([], [], 5.0)
