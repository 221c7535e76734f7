"""The signal confirmation engine in a real engine, on hand-built 1-minute NQ bars.

NQ: tick 0.25, 20 per point. Sizing is a fixed 2,000 per trade unless a test says
otherwise, so sizes are easy to work out; targets at 1R and 2R; expiry after 3 bars.
T0 is Tuesday 2026-01-13 15:00 UTC, inside NQ's session (which closes 22:00 UTC).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import aiohttp

from tests.unit.strategy_desk import (
    MINUTE,
    NQ_CLOSE,
    T0,
    StrategyDesk,
    desk_settings,
)
from workstation.config import (
    DATABASE_FILE,
    FillModel,
    PaperSettings,
    Settings,
    StrategiesSettings,
)
from workstation.model import Bar, Direction, Signal
from workstation.orders import OrderSide, OrderStatus, OrderType
from workstation.signals.lifecycle import SignalState
from workstation.signals.settings import SignalSettings
from workstation.signals.setup import Sizing
from workstation.signals.webhook import WebhookSettings

S = SignalState
LONG, SHORT = Direction.LONG, Direction.SHORT
TOKEN = "a-token-of-twenty-chars"


def signal_settings(**fields: object) -> SignalSettings:
    values = {"sizing": Sizing.FIXED_MONEY, "risk_amount": 2_000.0, "expiry_bars": 3}
    values.update(fields)
    return SignalSettings(**values)  # type: ignore[arg-type]


def open_desk(tmp_path, **fields: object) -> StrategyDesk:
    settings = desk_settings(signals=signal_settings(**fields))
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins", settings=settings)


def run(scenario):
    return asyncio.run(scenario)


def states(record) -> list[str]:
    return [step.state.value for step in record.history]


def long_setup_bars(desk: StrategyDesk) -> Bar:
    """m0 context; m1 the signal bar (high 21,006, low 20,990); m2 bullish but closes below
    the signal high; m3 bullish, closes 21,010 above 21,006: confirms. Lowest low of the
    range m1..m3 is m2's 20,986, below m1's 20,990 and m3's 20,995: a pivot low."""
    desk.trade(21_002.0)
    desk.bar(0, 21_000, 21_004, 20_996, 21_002)
    signal_bar = desk.bar(1, 21_002, 21_006, 20_990, 20_994)
    desk.trade(20_994.0)
    return signal_bar


def submit(desk: StrategyDesk, direction: Direction, bar: Bar | None, price: float | None,
           source: str = "manual"):
    return desk.engine.signals.submit(Signal("NQ", direction, desk.clock.now_ns(), source,
                                             price, bar))


# -- confirmation ---------------------------------------------------------------------------
def test_a_long_confirms_on_a_bullish_bar_closing_above_the_signal_high(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)
        record = submit(desk, LONG, signal_bar, 20_994.0)
        desk.bar(2, 20_994, 21_000, 20_986, 20_998)  # bullish, 20,998 < 21,006: waits
        after_m2 = (record.state, record.bars_waited)
        desk.bar(3, 20_998, 21_012, 20_995, 21_010)  # bullish, 21,010 > 21,006: confirms
        await desk.stop()
        return record, after_m2

    record, after_m2 = run(scenario())
    assert after_m2 == (S.PENDING, 1)
    assert states(record) == ["received", "pending", "confirmed", "awaiting_approval"]
    assert record.history[2].reason == ("bullish bar closed 21,010.00 above the signal high "
                                        "21,006.00")
    setup = record.setup
    # stop: the pivot low 20,986 - 25 = 20,961; entry ~ the confirmation close 21,010;
    # 1R = 49 points = 980 a contract: 2,000 buys 2; targets 21,059 (1R) and 21,108 (2R)
    assert (setup.entry, setup.stop, setup.stop_rule) == (21_010.0, 20_961.0, "range_pivot")
    assert (setup.risk_points, setup.risk_money_per_contract, setup.qty) == (49.0, 980.0, 2)
    assert setup.targets == (21_059.0, 21_108.0)
    assert record.history[3].reason == ("long 2 NQ entry ~21,010.00, stop 20,961.00 (range "
                                        "pivot), 1R 49.00 points")
    assert record.gate_verdict == "ok"


def test_a_short_confirms_and_takes_the_pivot_high_to_the_left(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        desk.trade(21_004.0)
        desk.bar(0, 21_000, 21_010, 20_998, 21_004)
        desk.bar(1, 21_004, 21_016, 21_002, 21_008)  # a pivot high: 21,016 > 21,010, 21,012
        signal_bar = desk.bar(2, 21_008, 21_012, 21_000, 21_002)
        desk.trade(21_002.0)
        record = submit(desk, SHORT, signal_bar, 21_002.0)
        desk.bar(3, 21_002, 21_014, 20_997, 20_999)  # bearish, 20,999 < 21,000: confirms
        await desk.stop()
        return record

    record = run(scenario())
    setup = record.setup
    # the range's highest high is the confirmation bar's (no right neighbour: no pivot);
    # to the left, m1's 21,016 is a pivot: stop 21,016 + 25 = 21,041; 1R = 42 points
    assert (record.state, setup.stop, setup.stop_rule) == (S.AWAITING_APPROVAL, 21_041.0,
                                                          "left_pivot")
    assert (setup.entry, setup.risk_points, setup.qty) == (20_999.0, 42.0, 2)
    assert setup.targets == (20_957.0, 20_915.0)


def test_without_a_pivot_the_stop_goes_under_the_first_bearish_bar_of_the_range(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        desk.trade(20_992.0)
        desk.bar(0, 20_990, 20_995, 20_985, 20_992)  # no left neighbour: never a pivot
        signal_bar = desk.bar(1, 20_992, 21_000, 20_980, 20_998)
        desk.trade(20_998.0)
        record = submit(desk, LONG, signal_bar, 20_998.0)
        desk.bar(2, 20_998, 21_001, 20_984, 20_986)  # bearish: the first opposing bar
        desk.bar(3, 20_986, 21_006, 20_975, 21_005)  # confirms; its low 20,975 is no pivot
        await desk.stop()
        return record

    setup = run(scenario()).setup
    assert (setup.stop, setup.stop_rule) == (20_959.0, "first_opposing_bar")  # 20,984 - 25


def test_a_bearish_bar_closing_above_the_signal_high_does_not_confirm(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)
        record = submit(desk, LONG, signal_bar, 20_994.0)
        desk.bar(2, 21_012, 21_014, 21_007, 21_008)  # closes above 21,006 but bearish
        await desk.stop()
        return record

    record = run(scenario())
    assert (record.state, record.bars_waited, record.setup) == (S.PENDING, 1, None)


def test_a_pending_signal_expires_after_the_configured_number_of_bars(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)
        record = submit(desk, LONG, signal_bar, 20_994.0)
        for minute in (2, 3):
            desk.bar(minute, 20_994, 21_000, 20_990, 20_996)
        waiting = record.state
        desk.bar(4, 20_994, 21_000, 20_990, 20_996)  # the third bar without confirmation
        await desk.stop()
        return waiting, record

    waiting, record = run(scenario())
    assert waiting is S.PENDING
    assert (record.state, record.history[-1].reason) == (S.EXPIRED, "not confirmed within 3 bars")


def test_open_signals_expire_at_the_session_close(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)
        record = submit(desk, LONG, signal_bar, 20_994.0)
        desk.clock.advance_to(NQ_CLOSE - MINUTE)
        before = record.state
        desk.clock.advance_to(NQ_CLOSE)
        await desk.stop()
        return before, record

    before, record = run(scenario())
    assert before is S.PENDING
    assert (record.state, record.history[-1].ts, record.history[-1].reason) == (
        S.EXPIRED, NQ_CLOSE, "session closed")


def test_an_opposing_signal_cancels_the_open_one(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)
        first = submit(desk, LONG, signal_bar, 20_994.0)
        second = submit(desk, SHORT, signal_bar, 20_994.0)
        await desk.stop()
        return first, second

    first, second = run(scenario())
    assert (first.state, first.history[-1].reason) == (S.CANCELLED,
                                                       "opposing short signal sig-2")
    assert second.state is S.PENDING


# -- validation on arrival -------------------------------------------------------------------
def test_signals_are_rejected_on_arrival_with_the_reason(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        signal_bar = long_setup_bars(desk)  # the market is at 20,994
        kept = submit(desk, LONG, signal_bar, 20_994.0)
        reasons = [
            submit(desk, LONG, signal_bar, 20_994.0).history[-1].reason,
            submit(desk, SHORT, signal_bar, 21_000.0).history[-1].reason,  # 6 points off
            desk.engine.signals.submit(Signal("ZZ", LONG, desk.clock.now_ns(), "manual",
                                              1.0)).history[-1].reason,
        ]
        desk.clock.advance_to(NQ_CLOSE + 10 * MINUTE)  # the 16:00-17:00 CT halt
        reasons.append(submit(desk, LONG, None, None).history[-1].reason)
        await desk.stop()
        return kept, reasons

    kept, reasons = run(scenario())
    assert reasons == [
        "duplicate of open long signal sig-1",
        "stale: signal price 21,000.00 is 6.00 from the market 20,994.00 (max 5 points)",
        "unknown instrument 'ZZ'",
        "NQ: the market is closed",
    ]
    assert kept.state is S.EXPIRED  # the session closed under it


def test_signals_in_the_first_minutes_of_the_session_are_rejected_when_configured(tmp_path):
    from workstation.signals.settings import SignalRules

    async def scenario():
        desk = await open_desk(tmp_path, rules={"NQ": SignalRules(skip_first_minutes=30)}) \
            .start(at=NQ_CLOSE + 70 * MINUTE)  # 23:10 UTC: Globex reopened at 23:00
        desk.trade(21_000.0)
        record = submit(desk, LONG, None, 21_000.0)
        await desk.stop()
        return record

    assert run(scenario()).history[-1].reason == ("inside the first 30 minutes of the NQ "
                                                  "session")


def test_signals_outside_the_instrument_or_strategy_windows_are_rejected(tmp_path):
    from datetime import time

    from workstation.signals.settings import SignalRules, Window

    # T0 + 2 min is 09:02 in Chicago (NQ's exchange time)
    rules = {"NQ": SignalRules(windows=[Window(start=time(8, 30), end=time(15, 0))])}
    strategy = {"sma-nq": [Window(start=time(9, 30), end=time(11, 0))]}

    async def scenario():
        desk = await open_desk(tmp_path, rules=rules, source_windows=strategy).start()
        signal_bar = long_setup_bars(desk)
        inside = submit(desk, LONG, signal_bar, 20_994.0)
        outside = submit(desk, SHORT, signal_bar, 20_994.0, source="sma-nq")
        await desk.stop()
        return inside, outside

    inside, outside = run(scenario())
    assert inside.state is S.PENDING
    assert outside.history[-1].reason == ("09:02 America/Chicago is outside sma-nq's signal "
                                          "windows 09:30-11:00")


# -- approval, orders and trades -------------------------------------------------------------
def confirmed_long(desk: StrategyDesk):
    signal_bar = long_setup_bars(desk)
    record = submit(desk, LONG, signal_bar, 20_994.0)
    desk.bar(2, 20_994, 21_000, 20_986, 20_998)
    desk.bar(3, 20_998, 21_012, 20_995, 21_010)
    return record


def test_approval_sends_one_bracket_per_target_at_the_next_bar_open(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        record = confirmed_long(desk)
        desk.trade(21_011.0, ts=T0 + 4 * MINUTE + 1)  # the next bar's first trade
        desk.engine.signals.approve(record.id)
        await desk.stop()
        return desk, record

    desk, record = run(scenario())
    entries = [u for u in desk.updates if u.status is OrderStatus.FILLED and not u.intent.parent_id]
    assert [(u.client_order_id, u.side, u.qty, u.avg_fill_price) for u in entries] == [
        ("sig-1-1", OrderSide.BUY, 1, 21_011.0), ("sig-1-2", OrderSide.BUY, 1, 21_011.0)]
    legs = {(u.client_order_id, u.type, u.stop_price or u.limit_price) for u in desk.updates
            if u.intent.parent_id and u.status is OrderStatus.ACCEPTED}
    # the pivot stop stays; the targets are re-anchored to the fill one point above the
    # setup's 21,010: R = 21,011 - 20,961 = 50 points, 1R 21,061 and 2R 21,111
    assert legs == {("sig-1-1-SL", OrderType.STOP, 20_961.0),
                    ("sig-1-1-TP", OrderType.LIMIT, 21_061.0),
                    ("sig-1-2-SL", OrderType.STOP, 20_961.0),
                    ("sig-1-2-TP", OrderType.LIMIT, 21_111.0)}
    assert states(record)[-2:] == ["approved", "active"]
    assert record.history[-2].reason == "approved by trader 0.0 s after confirmation"
    assert record.history[-1].reason == ("entry filled 1 @ 21011 (trade T1); from the fill: "
                                         "1R 50.00 points, targets 21,061.00 / 21,111.00")
    assert record.order_client_ids == ["sig-1-1", "sig-1-2"]
    assert record.approved_ts - record.confirmed_ts == 1  # 1 ns: approved at the next trade
    assert record.as_report()["approval_s"] == 1e-9


def test_the_signal_closes_with_its_trade_and_the_exit_reason(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        desk.engine.trades.break_even_r = None  # the stop stays where the setup put it
        record = confirmed_long(desk)
        desk.trade(21_011.0, ts=T0 + 4 * MINUTE + 1)
        desk.engine.signals.approve(record.id)
        # targets from the fill at 21,011 (R 50): 21,061 and 21,111
        desk.trade(21_062.0)  # through the first target (limits fill on a trade through)
        desk.trade(21_112.0)  # through the second: flat
        await desk.stop()
        return record

    record = run(scenario())
    assert (record.state, record.exit_reason) == (S.CLOSED, "target")
    assert record.history[-1].reason.startswith("target at ")


def test_a_setup_the_risk_gate_refuses_is_rejected_with_the_gate_reason(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        record = confirmed_long(desk)
        desk.engine.kill_switch.activate("test")
        desk.engine.signals.approve(record.id)
        await desk.stop()
        return record

    record = run(scenario())
    assert record.state is S.REJECTED
    assert record.history[-1].reason.startswith("risk: kill_switch: ")
    assert record.order_client_ids == []


def test_the_trader_can_reject_a_setup(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        record = confirmed_long(desk)
        desk.engine.signals.reject(record.id)
        await desk.stop()
        return desk, record

    desk, record = run(scenario())
    assert (record.state, record.history[-1].reason) == (S.REJECTED, "rejected by the trader")
    assert desk.updates == []


def test_setups_from_auto_approved_sources_are_sent_without_a_click(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path, auto_approve=("momentum*",)).start()
        signal_bar = long_setup_bars(desk)
        auto = submit(desk, LONG, signal_bar, 20_994.0, source="momentum-nq")
        desk.bar(2, 20_994, 21_000, 20_986, 20_998)
        desk.bar(3, 20_998, 21_012, 20_995, 21_010)
        await desk.stop()
        return auto

    auto = run(scenario())
    assert states(auto)[-3:] == ["awaiting_approval", "approved", "active"]
    assert auto.history[-2].reason == "approved by auto-approval 0.0 s after confirmation"


def test_a_slipped_entry_keeps_the_pivot_stop_and_re_anchors_r_and_the_targets(tmp_path):
    async def scenario():
        settings = Settings(timeframes=["1m"], signals=signal_settings(),
                            paper=PaperSettings(fills=FillModel(
                                commission=0.0, slippage="fixed", slippage_ticks=2)),
                            strategies=StrategiesSettings(hot_reload=False))
        desk = await StrategyDesk(tmp_path / "home", tmp_path / "plugins",
                                  settings=settings).start()
        record = confirmed_long(desk)
        desk.trade(21_011.0, ts=T0 + 4 * MINUTE + 1)
        desk.engine.signals.approve(record.id)
        trade = desk.engine.trades.trade_for_entry("sig-1-1")
        await desk.stop()
        return desk, record, trade

    desk, record, trade = run(scenario())
    # priced at the close 21,010 (stop 20,961, R 49, targets 21,059 / 21,108); filled at
    # the ask 21,011 + 2 ticks = 21,011.50: R 50.50, targets 21,062.00 and 21,112.50
    legs = {(u.client_order_id, u.stop_price or u.limit_price) for u in desk.updates
            if u.intent.parent_id and u.status is OrderStatus.ACCEPTED}
    assert legs == {("sig-1-1-SL", 20_961.0), ("sig-1-1-TP", 21_062.0),
                    ("sig-1-2-SL", 20_961.0), ("sig-1-2-TP", 21_112.5)}
    setup = record.setup
    assert (setup.entry, setup.stop, setup.risk_points, setup.targets) == (
        21_011.5, 20_961.0, 50.5, (21_062.0, 21_112.5))
    assert (setup.risk_money_per_contract, setup.risk_money) == (1_010.0, 2_020.0)
    assert record.history[-1].reason == ("entry filled 1 @ 21011.5 (trade T1); from the fill: "
                                         "1R 50.50 points, targets 21,062.00 / 21,112.50")
    # one trade for the setup's two brackets, its R from the fill to the pivot stop
    assert (trade.trade_id, trade.qty, trade.entry, trade.initial_stop, trade.r_points) == (
        "T1", 2, 21_011.5, 20_961.0, 50.5)
    assert (trade.signal_id, trade.source) == ("sig-1", "manual")


def test_two_signals_on_one_symbol_are_two_trades_each_closed_by_its_own_leg(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path, target_r=(2.0,), max_qty=1.0).start()
        desk.engine.trades.break_even_r = None
        first = confirmed_long(desk)  # stop 20,961; filled at 21,011: R 50, target 21,111
        desk.trade(21_011.0, ts=T0 + 4 * MINUTE + 1)
        desk.engine.signals.approve(first.id)
        # the second: signal bar m4 (high 21,020); m5 dips to 21,002, a pivot low once
        # m6 (low 21,004) closes bullish at 21,025 above 21,020: stop 21,002 - 25
        signal_bar = desk.bar(4, 21_011, 21_020, 21_008, 21_015)
        second = submit(desk, LONG, signal_bar, None)
        desk.bar(5, 21_015, 21_018, 21_002, 21_006)
        desk.bar(6, 21_006, 21_030, 21_004, 21_025)
        desk.trade(21_026.0)
        desk.engine.signals.approve(second.id)  # filled at 21,026: R 49, target 21,124
        trades = [(t.trade_id, t.signal_id, t.entry, t.initial_stop, t.target)
                  for t in desk.engine.trades.trades_for("NQ")]
        position = desk.engine.portfolio.position("NQ")
        desk.trade(20_976.0)  # through the second's stop 20,977, above the first's
        desk.trade(21_112.0)  # through the first's target 21,111
        await desk.stop()
        return first, second, trades, position, desk.engine.trades.closed

    first, second, trades, position, closed = run(scenario())
    assert trades == [("T1", "sig-1", 21_011.0, 20_961.0, 21_111.0),
                      ("T2", "sig-2", 21_026.0, 20_977.0, 21_124.0)]
    assert position == 2
    assert [(c.trade_id, c.exit, c.exit_reason, c.r_multiple) for c in closed] == [
        ("T2", 20_976.0, "stop", round(-50 / 49, 6)),  # sold at 20,976: -50 points on R 49
        ("T1", 21_111.0, "target", 2.0)]
    assert (first.trade_id, first.state, first.exit_reason) == ("T1", S.CLOSED, "target")
    assert (second.trade_id, second.state, second.exit_reason) == ("T2", S.CLOSED,
                                                                   "stopped out")


def test_a_restored_setup_shows_the_gate_verdict_of_now_not_the_stored_one(tmp_path):
    async def first():
        desk = await open_desk(tmp_path).start()
        record = confirmed_long(desk)
        verdict = record.gate_verdict
        desk.engine.kill_switch.activate("test")  # after the setup was judged "ok"
        await desk.stop()
        return verdict

    async def second():
        desk = await open_desk(tmp_path).start(at=T0 + 4 * MINUTE)
        record = desk.engine.signals.records["sig-1"]
        at_restore = record.gate_verdict
        desk.trade(21_011.0)  # the market is back
        await desk.stop()
        return at_restore, record.gate_verdict

    stored = run(first())
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        (data,) = conn.execute("SELECT data FROM signals WHERE signal_id = 'sig-1'").fetchone()
    at_restore, now = run(second())
    assert stored == json.loads(data)["gate_verdict"] == "ok"
    assert at_restore != "ok"
    assert now == ("blocked: kill_switch: kill switch on since 10:04:00 ET (test): only orders "
                   "that reduce a position pass")
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        (data,) = conn.execute("SELECT data FROM signals WHERE signal_id = 'sig-1'").fetchone()
    assert json.loads(data)["gate_verdict"] == now  # and the journal keeps the new one


# -- persistence ---------------------------------------------------------------------------
def test_pending_and_awaiting_signals_survive_a_restart_and_resume(tmp_path):
    async def first():
        desk = await open_desk(tmp_path).start()
        awaiting = confirmed_long(desk)  # NQ, awaiting approval
        desk.trade(6_000.0, symbol="ES")
        pending = desk.engine.signals.submit(Signal("ES", SHORT, desk.clock.now_ns(),
                                                    "manual", 6_000.0))
        await desk.stop()
        return awaiting.id, pending.id

    async def second():
        desk = await open_desk(tmp_path).start(at=T0 + 4 * MINUTE)
        signals = desk.engine.signals
        restored = {r.id: r.state for r in signals.records.values()}
        desk.trade(21_011.0)
        signals.approve("sig-1")
        # ES: the bar the signal came in closes (its signal bar, bullish: the stop's
        # fallback), then a bearish bar closes under its low 5,995: confirmed
        desk.bar(4, 5_996, 6_002, 5_995, 5_998, symbol="ES")
        desk.trade(5_998.0, symbol="ES")
        desk.bar(5, 5_998, 5_999, 5_990, 5_992, symbol="ES")
        fresh = submit(desk, LONG, None, None)
        await desk.stop()
        return restored, signals.records, fresh.id

    ids = run(first())
    restored, records, fresh = run(second())
    assert ids == ("sig-1", "sig-2")
    assert restored == {"sig-1": S.AWAITING_APPROVAL, "sig-2": S.PENDING}
    assert records["sig-1"].state is S.ACTIVE
    assert records["sig-2"].state is S.AWAITING_APPROVAL
    assert records["sig-2"].setup.stop == 6_008.0  # ES: 6,002 + its 6-point offset
    assert fresh == "sig-3"  # ids go on counting
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        events = conn.execute("SELECT state FROM signal_events WHERE signal_id = 'sig-1' "
                              "ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["received", "pending", "confirmed",
                                      "awaiting_approval", "approved", "active"]


def test_an_opposing_signal_also_cancels_a_setup_awaiting_approval(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        awaiting = confirmed_long(desk)
        submit(desk, SHORT, None, None)
        await desk.stop()
        return awaiting

    awaiting = run(scenario())
    assert (awaiting.state, awaiting.history[-1].reason) == (S.CANCELLED,
                                                             "opposing short signal sig-2")


def test_the_report_lists_each_signal_with_its_lifecycle(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        confirmed_long(desk)
        await desk.stop()
        return desk.engine.report()["signals"]

    (row,) = run(scenario())
    assert {k: row[k] for k in ("id", "symbol", "direction", "source", "state", "entry",
                                "stop")} == {
        "id": "sig-1", "symbol": "NQ", "direction": "long", "source": "manual",
        "state": "awaiting_approval", "entry": 21_010.0, "stop": 20_961.0}
    assert [h["state"] for h in row["history"]] == ["received", "pending", "confirmed",
                                                    "awaiting_approval"]
    assert row["history"][1]["time"] == "2026-01-13T15:02:01+00:00"  # at the trade after m1
    json.dumps(row)


# -- the alert endpoint ----------------------------------------------------------------------
def test_an_alert_posted_to_the_endpoint_becomes_a_pending_signal(tmp_path):
    webhook = WebhookSettings(enabled=True, port=0, token=TOKEN)

    async def scenario():
        desk = await open_desk(tmp_path, webhook=webhook).start()
        desk.trade(21_000.0)
        url = desk.engine.alerts.url
        async with aiohttp.ClientSession() as http:
            good = await http.post(url, data=json.dumps(
                {"symbol": "CME_MINI:NQ1!", "action": "buy", "price": 21_001, "token": TOKEN}))
            good_body = await good.json()
            bad = await http.post(url, data=json.dumps({"symbol": "NQ", "token": TOKEN}))
            wrong = await http.post(url, data=json.dumps({"symbol": "NQ", "action": "buy",
                                                          "token": "not-the-token-at-all"}))
        await desk.stop()
        return desk, good.status, good_body, bad.status, wrong.status

    desk, status, body, bad, wrong = run(scenario())
    assert (status, body) == (202, {"id": "sig-1", "state": "pending",
                                    "reason": "waiting for a 1m bar to confirm"})
    record = desk.engine.signals.records["sig-1"]
    assert (record.signal.source, record.signal.price) == ("webhook", 21_001.0)
    assert (bad, wrong) == (400, 403)
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        refused = conn.execute("SELECT status, message, body FROM refused_alerts "
                               "ORDER BY id").fetchall()
    assert [(s, m) for s, m, _ in refused] == [
        (400, "missing required field: direction/action/side"), (403, "wrong token")]
    assert "not-the-token-at-all" not in refused[1][2]


def test_a_setup_left_waiting_expires_when_the_market_reaches_its_stop_or_target(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path, approval_bars=2).start()
        stopped = confirmed_long(desk)  # stop 20,961, 1R target 21,059
        desk.bar(4, 21_010, 21_020, 20_960, 20_970)  # its low reaches the stop
        await desk.stop()
        return stopped

    record = run(scenario())
    assert (record.state, record.history[-1].reason) == (
        S.EXPIRED, "the market reached the stop 20,961.00 before approval")


def test_a_setup_not_approved_within_the_approval_bars_expires(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path, approval_bars=2).start()
        record = confirmed_long(desk)
        desk.bar(4, 21_010, 21_020, 21_000, 21_012)
        waiting = record.state
        desk.bar(5, 21_012, 21_030, 21_005, 21_025)
        await desk.stop()
        return waiting, record

    waiting, record = run(scenario())
    assert waiting is S.AWAITING_APPROVAL
    assert (record.state, record.history[-1].reason) == (S.EXPIRED,
                                                         "not approved within 2 bars")
    assert (record.bars_waited, record.bars_since_confirm) == (2, 2)


def test_a_setup_left_waiting_expires_when_the_market_reaches_its_first_target(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path).start()
        record = confirmed_long(desk)  # 1R target 21,059
        desk.bar(4, 21_010, 21_060, 21_000, 21_050)
        await desk.stop()
        return record

    record = run(scenario())
    assert (record.state, record.history[-1].reason) == (
        S.EXPIRED, "the market reached the 1R target 21,059.00 before approval")


def test_with_limit_entries_each_bracket_rests_at_the_confirmation_close(tmp_path):
    async def scenario():
        desk = await open_desk(tmp_path, entry="limit_at_close").start()
        record = confirmed_long(desk)
        desk.trade(21_015.0)  # the market ran on: the limits wait at 21,010
        desk.engine.signals.approve(record.id)
        working = [(o.client_order_id, o.type, o.limit_price, o.qty)
                   for o in desk.engine.broker.open_orders()]
        await desk.stop()
        return record, working

    record, working = run(scenario())
    assert record.state is S.APPROVED
    assert record.history[3].reason.startswith("long 2 NQ entry @21,010.00")
    assert working == [("sig-1-1", OrderType.LIMIT, 21_010.0, 1),
                       ("sig-1-2", OrderType.LIMIT, 21_010.0, 1)]


def test_an_odd_size_gives_the_extra_contract_to_the_first_target(tmp_path):
    async def scenario():
        # 1R = 49 points = 980 a contract: 3,000 allows 3
        desk = await open_desk(tmp_path, risk_amount=3_000.0).start()
        record = confirmed_long(desk)
        desk.trade(21_011.0, ts=T0 + 4 * MINUTE + 1)
        desk.engine.signals.approve(record.id)
        entries = [(u.client_order_id, u.qty, u.intent.bracket.take_profit) for u in desk.updates
                   if u.status is OrderStatus.FILLED and not u.intent.parent_id]
        await desk.stop()
        return entries

    assert run(scenario()) == [("sig-1-1", 2, 21_059.0), ("sig-1-2", 1, 21_108.0)]


def warned_desk(tmp_path, **fields: object) -> StrategyDesk:
    """A 5,000 daily loss limit, 2,600 of it already lost: the gate warns (52%)."""
    from workstation.risk.settings import PortfolioLimits, RiskSettings

    risk = RiskSettings(portfolio=PortfolioLimits(daily_loss=5_000.0))
    settings = desk_settings(signals=signal_settings(**fields), risk=risk)
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins", settings=settings)


def lose_2600(desk: StrategyDesk) -> None:
    from workstation.orders import OrderIntent

    desk.trade(21_000.0)
    desk.engine.router.submit(OrderIntent("loss-1", "NQ", OrderSide.BUY, 1))
    desk.trade(20_870.0)  # 130 points x 20 = 2,600 lost
    desk.engine.router.submit(OrderIntent("loss-2", "NQ", OrderSide.SELL, 1))


def test_approving_a_setup_the_gate_warns_about_needs_the_warnings_accepted(tmp_path):
    from workstation.signals.engine import RiskWarnings

    async def scenario():
        desk = await warned_desk(tmp_path).start()
        lose_2600(desk)
        record = confirmed_long(desk)
        verdict = record.gate_verdict
        try:
            desk.engine.signals.approve(record.id)
        except RiskWarnings as exc:
            refused = str(exc)
        still = record.state
        desk.engine.signals.approve(record.id, accept_warnings=True)
        await desk.stop()
        return verdict, refused, still, record

    verdict, refused, still, record = run(scenario())
    assert verdict.startswith("warning: ")
    assert refused.startswith("signal sig-1: the risk gate warns: ")
    assert still is S.AWAITING_APPROVAL
    assert record.state is S.ACTIVE
    assert record.history[-2].reason.endswith("(risk warnings accepted)")


def test_auto_approval_holds_a_setup_the_gate_warns_about_for_a_person(tmp_path):
    async def scenario():
        desk = await warned_desk(tmp_path, auto_approve=("*",)).start()
        lose_2600(desk)
        record = confirmed_long(desk)
        await desk.stop()
        return record

    record = run(scenario())
    assert record.state is S.AWAITING_APPROVAL
    assert record.gate_verdict.startswith("warning: ")
