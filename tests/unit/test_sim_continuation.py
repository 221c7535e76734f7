"""The simulated market of a home only moves forward: a relaunch continues from where
the last run stopped, each instrument from its last price, and the account, positions,
P&L, today's P&L and the risk levels are exactly what they were. Scratch runs (seeded
headless and smoke runs on a fresh account) keep their market to themselves."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import asdict
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from tests.unit.stored import rows
from workstation.config import ConfigError, Settings
from workstation.engine import Engine, RunOptions, sim_feed_builder
from workstation.model import NS_PER_SECOND, datetime_to_ns
from workstation.orders import OrderIntent, OrderSide
from workstation.sessions import NEW_YORK

START = datetime_to_ns(datetime.combine(date(2026, 11, 2), time(9, 30), NEW_YORK))
S = NS_PER_SECOND


def engine_on(home: Path, *, start_ns: int | None, seconds: float, account: str = "Paper",
              scratch: bool = False) -> Engine:
    settings = Settings()
    options = RunOptions(seed=7, speed=None, start_ns=start_ns, duration_s=seconds)
    return Engine(settings, home, sim_feed_builder(settings, options), account=account,
                  scratch=scratch)


def snapshot(engine: Engine) -> dict[str, Any]:
    book = engine.portfolio
    return {
        "account": asdict(book.account()),
        "positions": {s: (p.qty, p.avg_price, p.last_price) for s, p in book.positions.items()},
        "risk": asdict(engine.risk.snapshot()),
    }


async def first_run(home: Path) -> dict[str, Any]:
    engine = engine_on(home, start_ns=START, seconds=600)
    await engine.start()
    await engine.wait_feed()  # 10 simulated minutes from the 2026-11-02 open
    engine.router.submit(OrderIntent("short-1", "NQ", OrderSide.SELL, 2))
    await asyncio.sleep(0)
    seen = {"clock": engine.clock.now_ns(), "last": engine.market.get("NQ").last,
            "state": snapshot(engine)}
    await engine.stop()
    return seen


async def second_run(home: Path) -> dict[str, Any]:
    engine = engine_on(home, start_ns=None, seconds=600)
    seen: dict[str, Any] = {"clock": engine.clock.now_ns(),
                            "reference": engine.feed.reference_prices()["NQ"]}
    await engine.start()
    seen["state"] = snapshot(engine)  # before any market event of this run
    await engine.wait_feed()
    seen["end"] = engine.clock.now_ns()
    await engine.stop()
    return seen


@pytest.fixture(scope="module")
def relaunch(tmp_path_factory) -> tuple[Path, dict[str, Any], dict[str, Any], int]:
    home = tmp_path_factory.mktemp("continue")
    first = asyncio.run(first_run(home))
    first_max_bar_end = rows(home, "SELECT MAX(end_ts) FROM bars")[0][0]
    second = asyncio.run(second_run(home))
    return home, first, second, first_max_bar_end


def test_a_relaunch_continues_the_market_where_the_last_run_stopped(relaunch):
    _, first, second, _ = relaunch

    assert first["clock"] == START + 600 * S
    assert second["clock"] == first["clock"]
    assert second["end"] == first["clock"] + 600 * S
    assert second["reference"] == first["last"]  # NQ resumes from its last price


def test_the_account_positions_pnl_and_risk_levels_are_exactly_what_they_were(relaunch):
    _, first, second, _ = relaunch

    assert first["state"]["positions"]["NQ"][0] == -2
    assert second["state"] == first["state"]


def test_no_stored_timestamp_goes_backwards_across_the_relaunch(relaunch):
    home, first, _, first_max_bar_end = relaunch

    assert first_max_bar_end == first["clock"]
    # twenty minutes of NQ 1-minute bars, one after the other, ten from each run, after
    # the history generated before the first (test_history.py)
    stored = rows(home, "SELECT ts FROM bars WHERE symbol = 'NQ' AND timeframe = '1m' "
                        "ORDER BY ts")
    assert [row for row in stored if row[0] >= START] == [
        (START + 60 * k * S,) for k in range(20)]
    assert stored[-21] == (START - 60 * S,)  # the history's last minute, before the start
    chunks = rows(home, "SELECT start_ts, end_ts FROM tick_chunks WHERE symbol = 'NQ' "
                        "ORDER BY id")
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(chunks))
    fills = [ts for (ts,) in rows(home, "SELECT ts FROM fills ORDER BY rowid")]
    assert fills == sorted(fills)


def test_a_start_that_would_move_the_home_market_back_is_refused(relaunch):
    home, *_ = relaunch

    with pytest.raises(ConfigError, match="would move it back"):
        engine_on(home, start_ns=START, seconds=60)


def test_a_scratch_run_on_a_used_home_neither_reads_nor_writes_its_market(relaunch):
    home, *_ = relaunch
    before = rows(home, "SELECT (SELECT COUNT(*) FROM bars), (SELECT COUNT(*) FROM tick_chunks), "
                        "(SELECT data FROM sim_state)")

    async def scratch() -> tuple[int, list[str]]:
        engine = engine_on(home, start_ns=START, seconds=120, account="run-a", scratch=True)
        await engine.start()
        await engine.wait_feed()
        clock = engine.clock.now_ns()
        await engine.stop()
        return clock, list(engine.portfolio.positions)

    clock, positions = asyncio.run(scratch())

    assert clock == START + 120 * S  # its own start, not the home's market
    assert positions == []  # the Paper account's short is not in it
    assert rows(home, "SELECT (SELECT COUNT(*) FROM bars), (SELECT COUNT(*) FROM tick_chunks), "
                      "(SELECT data FROM sim_state)") == before
