"""Risk state survives a restart: the kill switch, a Topstep-style end-of-day high and its
threshold, the losing streak and the rules' levels; the compliance history is in the
risk_events table.

Two engine sessions run once for the module on a real SQLite store in a temporary home,
a Topstep-style 50k evaluation (2,000 trailing, 1,000 daily, 5 contracts) with a 3-loss
streak rule, commission 0 and 500 margin: P&L is NQ points x 20.
Session 1: Tuesday +1,000 (balance 51,000: the day's close moves the threshold to 49,000),
Wednesday two -200 losses (50,600, a streak of 2), then the kill switch, then stop.
Session 2: restores, is inspected before any market event, resets the switch, loses a third
time and cools down.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.unit.risk_desk import MINUTE, S, utc
from tests.unit.stored import rows
from workstation.config import FillModel, PaperSettings, Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
from workstation.model import Quote, Tick
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderUpdate
from workstation.risk.events import KillSwitchChanged, RiskLevelChanged
from workstation.risk.settings import PortfolioLimits, PropFirm, RiskSettings

BUY, SELL = OrderSide.BUY, OrderSide.SELL
TUESDAY = utc(2026, 1, 13, 15, 0)  # 10:00 New York
TUESDAY_EVENING = utc(2026, 1, 13, 22, 30)  # 17:30 New York: after the 17:00 roll
WEDNESDAY = utc(2026, 1, 14, 15, 0)


def engine(home: Path, prop: PropFirm) -> Engine:
    config = Settings(paper=PaperSettings(fills=FillModel(commission=0.0, margin=500.0)),
                      risk=RiskSettings(prop=prop, portfolio=PortfolioLimits(loss_streak=3)))
    return Engine(config, home, lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None),
                  timeframes=[])


@dataclass
class Session:
    engine: Engine
    levels: list[RiskLevelChanged] = field(default_factory=list)
    kills: list[KillSwitchChanged] = field(default_factory=list)
    restored: dict[str, Any] = field(default_factory=dict)
    at_stop: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    _ids: int = 0

    def __post_init__(self) -> None:
        self.engine.bus.subscribe(RiskLevelChanged, self.levels.append)
        self.engine.bus.subscribe(KillSwitchChanged, self.kills.append)

    async def market(self, ts: int, price: float) -> None:
        """A locked quote and a trade at ``price``, then a loop turn (the journal commits)."""
        self.engine.clock.advance_to(ts)
        self.engine.bus.publish(Quote("NQ", ts, price, price, 10, 10))
        self.engine.bus.publish(Tick("NQ", ts, price, 1))
        await asyncio.sleep(0)

    def submit(self, side: OrderSide, name: str, **fields: Any) -> OrderUpdate:
        self._ids += 1
        return self.engine.router.submit(OrderIntent(f"{name}-{self._ids}", "NQ", side, 1,
                                                     **fields))

    async def round_trip(self, ts: int, exit_price: float) -> None:
        """Buy 1 NQ at 21,000.00 at ``ts``, sell it at ``exit_price`` 5 s later."""
        await self.market(ts, 21_000.00)
        assert self.submit(BUY, "in").status is OrderStatus.FILLED
        await self.market(ts + 5 * S, exit_price)
        assert self.submit(SELL, "out").status is OrderStatus.FILLED


def risk_state(run: Session) -> dict[str, Any]:
    monitor, kill = run.engine.risk, run.engine.kill_switch
    return {"kill": (kill.active, kill.reason, kill.since, kill.automatic),
            "eod_high": monitor.eod_high_balance, "threshold": monitor.trailing_threshold,
            "day_start": monitor.day_start_balance, "balance": monitor.balance,
            "streak": monitor.consecutive_losses,
            "levels": {s.rule: monitor.level_of(s.rule).label for s in monitor.statuses}}


TOPSTEP = PropFirm(style="topstep", account_size=50_000)


async def first_session(home: Path) -> Session:
    run = Session(engine(home, TOPSTEP))
    await run.engine.start()
    await run.round_trip(TUESDAY, 21_050.00)  # +50 points: +1,000 -> 51,000
    await run.market(TUESDAY_EVENING, 21_050.00)  # the day rolls: high 51,000
    await run.round_trip(WEDNESDAY, 20_990.00)  # -10 points: -200
    await run.round_trip(WEDNESDAY + MINUTE, 20_990.00)  # -200 again: 50,600, 2 in a row
    run.engine.clock.advance_to(WEDNESDAY + 2 * MINUTE)
    run.engine.kill_switch.activate("done for the day")
    run.results["blocked"] = run.submit(BUY, "in")
    run.at_stop = risk_state(run)
    run.results["bus_errors"] = run.engine.bus.errors
    await run.engine.stop()
    return run


async def second_session(home: Path) -> Session:
    run = Session(engine(home, TOPSTEP))
    await run.engine.start()
    run.restored = risk_state(run)
    run.results["levels_at_restore"] = list(run.levels)
    run.results["history_at_restore"] = [(type(e).__name__, e.ts)
                                         for e in run.engine.restored_history]

    await run.market(WEDNESDAY + 10 * MINUTE, 21_000.00)
    run.results["still_blocked"] = run.submit(BUY, "in")
    run.engine.kill_switch.reset("RESET")
    await run.round_trip(WEDNESDAY + 10 * MINUTE, 20_990.00)  # the third loss in a row
    await run.market(WEDNESDAY + 11 * MINUTE, 21_000.00)
    run.results["cooling_down"] = run.submit(BUY, "in")
    run.at_stop = risk_state(run)
    run.results["bus_errors"] = run.engine.bus.errors
    await run.engine.stop()
    return run


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[Path, Session, Session]:
    home = tmp_path_factory.mktemp("risk-restart")
    first = asyncio.run(first_session(home))
    second = asyncio.run(second_session(home))
    return home, first, second


@pytest.fixture(autouse=True)
def no_handler_fails(caplog):
    """A bus handler that raises is logged and counted, not raised: fail the test on one."""
    yield
    failed = [r.getMessage() for when in ("setup", "call") for r in caplog.get_records(when)
              if r.name == "workstation.bus"]
    assert failed == []


KILLED = (True, "done for the day", WEDNESDAY + 2 * MINUTE, False)


def test_the_first_session_ends_with_the_numbers_worked_out_by_hand(sessions):
    _, first, _ = sessions

    assert first.at_stop == {
        "kill": KILLED,
        "eod_high": 51_000.0, "threshold": 49_000.0,  # 51,000 - 2,000
        "day_start": 51_000.0, "balance": 50_600.0,  # 51,000 - 2 x 200
        "streak": 2,
        # 2 of 3 losses: 67%; the day's 400 and the trailing 2,000 - (50,600 - 49,000) = 400
        # are under half their limits; 0 contracts
        "levels": {"loss_streak": "warning", "prop_daily_loss": "safe",
                   "prop_trailing_drawdown": "safe", "prop_contracts": "safe"},
    }
    assert first.results["blocked"].status is OrderStatus.REJECTED
    assert first.results["bus_errors"] == 0


def test_the_kill_switch_is_still_on_after_a_restart_with_its_reason_and_time(sessions):
    _, _, second = sessions

    assert second.restored["kill"] == KILLED
    blocked = second.results["still_blocked"]
    assert blocked.status is OrderStatus.REJECTED
    assert blocked.reason == ("risk: kill_switch: kill switch on since 10:02:00 ET (done for "
                              "the day): only orders that reduce a position pass")


def test_the_end_of_day_high_threshold_day_start_and_streak_survive_a_restart(sessions):
    _, first, second = sessions

    assert second.restored == first.at_stop
    # a fresh account would trail from 50,000 - 2,000 = 48,000 and have no streak
    assert (second.restored["threshold"], second.restored["streak"]) == (49_000.0, 2)


def test_a_restart_publishes_no_level_changes_of_its_own(sessions):
    _, _, second = sessions

    assert second.results["levels_at_restore"] == []  # "loss_streak" was warning already


def test_the_restored_streak_counts_on_into_a_cooldown(sessions):
    _, _, second = sessions

    # third loss exits at 10:10:05 ET: cooldown until 10:40:05; at 10:11:00, 29 min 5 s left
    cooling = second.results["cooling_down"]
    assert cooling.reason == ("risk: loss_streak: 3 losing trades in a row: cooling down for "
                              "29.1 more minutes")
    assert second.at_stop["streak"] == 3
    assert second.at_stop["kill"] == (False, "", WEDNESDAY + 2 * MINUTE, False)
    assert second.results["bus_errors"] == 0


def test_the_compliance_history_is_in_the_risk_events_table(sessions):
    home, _, _ = sessions

    stored = rows(home, "SELECT ts, kind, rule, data FROM risk_events ORDER BY id")

    assert [(ts, kind, rule) for ts, kind, rule, _ in stored] == [
        # session 1, Wednesday
        (WEDNESDAY + MINUTE + 5 * S, "RiskLevelChanged", "loss_streak"),  # 2 of 3
        (WEDNESDAY + 2 * MINUTE, "KillSwitchChanged", "all"),
        (WEDNESDAY + 2 * MINUTE, "OrderBlocked", "kill_switch"),
        # session 2
        (WEDNESDAY + 10 * MINUTE, "OrderBlocked", "kill_switch"),
        (WEDNESDAY + 10 * MINUTE, "KillSwitchChanged", "all"),  # the reset
        (WEDNESDAY + 10 * MINUTE + 5 * S, "RiskLevelChanged", "prop_daily_loss"),  # 600
        (WEDNESDAY + 10 * MINUTE + 5 * S, "RiskLevelChanged", "loss_streak"),  # 3 of 3
        (WEDNESDAY + 11 * MINUTE, "OrderBlocked", "loss_streak"),
    ]
    data = [json.loads(row[3]) for row in stored]
    assert data[0] == {"ts": WEDNESDAY + MINUTE + 5 * S, "rule": "loss_streak",
                       "label": "Consecutive losses", "old_level": "safe",
                       "new_level": "warning", "value": 2.0, "limit": 3, "used_pct": 66.67}
    assert (data[1]["active"], data[1]["reason"], data[1]["automatic"]) == (
        True, "done for the day", False)
    assert data[4]["reason"] == "reset by user (was: done for the day)"
    # today started at 51,000: 2 x 200 closed + 200 open = 600 of 1,000
    assert (data[5]["old_level"], data[5]["new_level"], data[5]["value"]) == (
        "safe", "warning", 600.0)
    assert (data[6]["old_level"], data[6]["new_level"]) == ("warning", "locked")


def test_a_restart_hands_the_stored_compliance_history_back_for_display(sessions):
    _, _, second = sessions

    assert second.results["history_at_restore"] == [
        ("RiskLevelChanged", WEDNESDAY + MINUTE + 5 * S),
        ("KillSwitchChanged", WEDNESDAY + 2 * MINUTE),
        ("OrderBlocked", WEDNESDAY + 2 * MINUTE),
    ]


# -- a restart of an account in open profit ------------------------------------------------------
async def open_profit_session(home: Path) -> dict[str, Any]:
    """Intraday trailing 50k (2,500): long 1 NQ from 21,000.00 with a protective stop; open
    profit +130 points takes equity to 52,600 and the threshold to 50,000 (capped)."""
    prop = PropFirm(style="intraday_trailing", account_size=50_000)
    run = Session(engine(home, prop))
    await run.engine.start()
    await run.market(TUESDAY, 21_000.00)
    run.submit(BUY, "in", bracket=Bracket(stop_loss=20_900.00))
    await run.market(TUESDAY + S, 21_130.00)
    await run.engine.stop()

    run = Session(engine(home, prop))
    await run.engine.start()
    found = {"kill": run.engine.kill_switch.active,
             "threshold": run.engine.risk.trailing_threshold,
             "working": [o.client_order_id for o in run.engine.broker.open_orders()],
             "kills_at_restore": list(run.kills)}
    await run.market(TUESDAY + 60 * S, 21_130.00)  # the market: equity 52,600 again
    found["after_first_trade"] = run.engine.kill_switch.active
    await run.market(TUESDAY + 61 * S, 21_000.00)  # equity 50,000: a real breach
    found["kills"] = [(k.ts, k.reason) for k in run.kills]
    found["bus_errors"] = run.engine.bus.errors
    await run.engine.stop()
    return found


def test_a_restart_in_open_profit_does_not_read_a_breach_from_the_fill_prices(tmp_path):
    # bug: the restore measured the position at its fill price (equity 50,000) against the
    # restored threshold 50,000, fired the kill switch at time 0 and canceled the stop
    found = asyncio.run(open_profit_session(tmp_path))

    assert (found["kill"], found["threshold"]) == (False, 50_000.0)
    assert found["working"] == ["in-1-SL"]
    assert found["kills_at_restore"] == []
    assert found["after_first_trade"] is False
    assert found["bus_errors"] == 0
    assert found["kills"] == [(TUESDAY + 61 * S, "Intraday-trailing trailing drawdown "
                                                 "breached: 2,500.00 of 2,500.00 limit")]
