"""History on open: a fresh home's simulated market comes with five trading sessions of
1-minute bars before the start, in every timeframe made from them, stored, seeded, and
continued by the live feed without a seam."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from pathlib import Path

from tests.unit.strategy_desk import instance, write_plugin
from workstation.config import DATABASE_FILE, Settings
from workstation.engine import Engine, RunOptions, sim_feed_builder
from workstation.history import history_timeframes, load_limit, sim_history
from workstation.model import NS_PER_SECOND, BarFlag, datetime_to_ns, ns_to_datetime
from workstation.sessions import NEW_YORK

# Wednesday 2026-11-04, 09:30 ET: the CME session live since 18:00 ET the evening before
START = datetime_to_ns(datetime.combine(date(2026, 11, 4), time(9, 30), NEW_YORK))
MINUTE = 60 * NS_PER_SECOND


def engine_on(home: Path, seconds: float = 0.0, seed: int = 7, **more: object) -> Engine:
    settings = Settings()
    options = RunOptions(seed=seed, speed=None, start_ns=START, duration_s=seconds)
    return Engine(settings, home, sim_feed_builder(settings, options), **more)


def ny_day(ts: int) -> date:
    return ns_to_datetime(ts).astimezone(NEW_YORK).date()


def instrument(symbol: str):
    settings = Settings()
    item = next(i for i in settings.instruments if i.symbol == symbol)
    return item.instrument(), item.sim


def test_five_sessions_of_minute_bars_come_before_the_start_in_every_timeframe(tmp_path):
    engine = engine_on(tmp_path)
    run_briefly(engine)
    bars = engine.bars

    minute = bars.history("NQ", "1m")
    firsts = [ny_day(b.ts) for b in minute if b.flags & BarFlag.SESSION_FIRST]
    # each CME session opens at 18:00 ET the evening before its day; the sixth is live
    assert firsts == [date(2026, 10, 27), date(2026, 10, 28), date(2026, 10, 29),
                      date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert minute[-1].end == START  # up to the start, the overnight session included
    assert len(minute) == 5 * 23 * 60 + 15 * 60 + 30  # 18:00 to 09:30 of the live session
    assert {tf: len(bars.history("NQ", tf)) > 0 for tf in engine.timeframes} == {
        "5s": False, "1m": True, "5m": True, "15m": True, "1h": True, "1d": True}
    assert history_timeframes(engine.timeframes) == ["1m", "5m", "15m", "1h", "1d"]
    assert len(bars.history("AAPL", "1m")) == 5 * 390  # equities: regular hours only


def test_daily_bars_carry_the_date_of_their_session(tmp_path):
    engine = engine_on(tmp_path)
    run_briefly(engine)

    daily = engine.bars.history("NQ", "1d")

    assert [ny_day(b.end - 1) for b in daily] == [
        date(2026, 10, 28), date(2026, 10, 29), date(2026, 10, 30), date(2026, 11, 2),
        date(2026, 11, 3)]
    assert [ny_day(b.ts) for b in engine.bars.history("AAPL", "1d")] == [
        date(2026, 10, 28), date(2026, 10, 29), date(2026, 10, 30), date(2026, 11, 2),
        date(2026, 11, 3)]


def test_the_same_seed_and_start_give_the_same_history_and_another_seed_another(tmp_path):
    inst, params = instrument("ES")
    timeframes = ["1m", "1h", "1d"]

    first = sim_history(inst, params, timeframes, START, seed=7)
    again = sim_history(inst, params, timeframes, START, seed=7)
    other = sim_history(inst, params, timeframes, START, seed=8)

    assert first == again
    assert first.closed != other.closed
    assert all(inst.on_tick_grid(b.low) and inst.on_tick_grid(b.high) for b in first.closed)
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
               for b in first.closed)


def test_the_live_market_starts_from_the_history_last_close(tmp_path):
    engine = engine_on(tmp_path, seconds=60)
    reference = engine.feed.reference_prices()

    run_briefly(engine)

    minute = {s: engine.bars.history(s, "1m") for s in ("NQ", "ES", "BTC/USD")}
    last = {s: next(b for b in reversed(bars) if b.end <= START).close
            for s, bars in minute.items()}
    assert {s: reference[s] for s in last} == last
    first_live = next(b for b in engine.bars.history("NQ", "1m") if b.ts == START)
    tick = engine.instruments["NQ"].tick_size
    assert abs(first_live.open - last["NQ"]) <= 8 * tick  # the next trade, not a jump


def test_the_hour_and_the_day_the_start_cuts_through_go_on_forming_live(tmp_path):
    engine = engine_on(tmp_path, seconds=31 * 60)  # to 10:01 ET
    partial_day = engine.bars.partial("NQ", "1d")
    assert partial_day is not None and ny_day(partial_day.end - 1) == date(2026, 11, 4)

    run_briefly(engine)

    minute = engine.bars.history("NQ", "1m")
    nine = [b for b in minute if START - 30 * MINUTE <= b.ts < START]  # 09:00 to 09:29 ET
    hour = next(b for b in engine.bars.history("NQ", "1h") if b.ts == START - 30 * MINUTE)
    assert hour.end == START + 30 * MINUTE
    assert hour.open == nine[0].open  # the 09:00 minute, from the history
    assert hour.high >= max(b.high for b in nine) and hour.low <= min(b.low for b in nine)
    assert hour.volume > sum(b.volume for b in nine)  # and the live half hour
    day = engine.bars.partial("NQ", "1d")
    assert day is not None and day.ts == partial_day.ts and day.open == partial_day.open


def test_history_is_stored_once_and_a_relaunch_loads_it(tmp_path):
    engine = engine_on(tmp_path)
    run_briefly(engine)
    first = engine.bars.history("NQ", "1m")
    stored = count_bars(tmp_path)

    again = Engine(Settings(), tmp_path, sim_feed_builder(
        Settings(), RunOptions(seed=7, speed=None, duration_s=0.0)))

    assert count_bars(tmp_path) == stored  # nothing generated the second time
    run_briefly(again)
    assert again.bars.history("NQ", "1m")[:len(first)] == first


def test_a_strategy_warms_up_from_the_history_at_the_first_start(tmp_path):
    write_plugin(tmp_path / "plugins", "warm.py", """
        from workstation.strategy import Strategy

        class Warm(Strategy):
            name = "Warm"
            warmup = 50

            def on_bar(self, bar):
                if self.warming_up:
                    self.state.setdefault("warm", []).append(bar.end)
    """)
    engine = engine_on(tmp_path, strategies=[instance("w", "Warm")])

    run_briefly(engine)

    ends = engine.strategies.contexts["w"].state["warm"]
    assert ends == [START - (50 - k - 1) * MINUTE for k in range(50)]  # the last 50 minutes


def count_bars(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / DATABASE_FILE) as conn:
        return conn.execute("SELECT COUNT(*) FROM bars").fetchone()[0]


def run_briefly(engine: Engine) -> None:
    """Start the engine (it loads the stored bars), run its feed to the end, stop."""

    async def run() -> None:
        await engine.start()
        await engine.wait_feed()
        await engine.stop()

    asyncio.run(run())


def test_the_first_live_bar_inside_a_session_is_not_flagged_as_its_first(tmp_path):
    engine = engine_on(tmp_path, seconds=120)  # NQ mid-session; AAPL opens at the start

    run_briefly(engine)

    nq = next(b for b in engine.bars.history("NQ", "1m") if b.ts == START)
    aapl = next(b for b in engine.bars.history("AAPL", "1m") if b.ts == START)
    assert not nq.flags & BarFlag.SESSION_FIRST  # 18:00 ET opened it, in the history
    assert aapl.flags & BarFlag.SESSION_FIRST  # 09:30 ET is the equities' open


def test_a_start_loads_a_week_of_minute_and_longer_bars_and_hours_of_seconds_bars():
    assert [load_limit(tf) for tf in ("1m", "5m", "1h", "1d")] == [10_000] * 4
    assert [load_limit(tf) for tf in ("5s", "30s", "500t", "1000v")] == [2_000] * 4
