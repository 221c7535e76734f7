"""History on open: the simulated market's previous sessions, so the chart opens with
context and strategies warm up from real bars instead of waiting.

The first time a home's simulated market runs an instrument (no 1-minute bars of it are
stored), the backtester's generator (``backtest.data.sim_bars``) makes HISTORY_DAYS
trading sessions of 1-minute bars before the live start, plus the part of the live
session before it (a futures market opened at 18:00 ET the day before), seeded from the
run's seed: the same seed and start give the same bars. They are resampled to every
timeframe the engine builds from 1-minute bars up (5m, 1h, 1d ...) and stored like live
bars, so a relaunch loads them from the store. The live feed continues from the
history's last close at the start (``SimFeed(resume_prices=...)``), and the bars the
start cuts through (the forming 1h and daily bars) carry on in the live aggregators, so
there is no seam.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from workstation.backtest.data import BarData, resample, sessions_between, sim_bars
from workstation.bars import HISTORY_BARS, Timeframe
from workstation.config import SimParams
from workstation.feeds.sim import default_start_ns
from workstation.model import NS_PER_SECOND, Bar, Instrument
from workstation.sessions import get_schedule
from workstation.store.database import BarRow
from workstation.store.sim_state import SimResume, load_sim_resume

if TYPE_CHECKING:
    from workstation.bars import BarEngine
    from workstation.engine import SimFeedBuilder
    from workstation.store import Store

log = logging.getLogger(__name__)

HISTORY_DAYS = 5  # whole trading sessions before the live one
SHORT_BARS = 2_000  # stored bars loaded of a series shorter than a minute (tick bars too)
_LOOKBACK_DAYS = 21  # calendar days searched for them (weekends, holidays)
_COLUMNS = ("ts", "end", "open", "high", "low", "close", "volume", "trades", "flags")


@dataclass(frozen=True, slots=True)
class History:
    """One instrument's generated history up to ``start_ns``."""

    closed: list[Bar]  # every timeframe, each bar wholly before the start
    forming: list[Bar]  # per timeframe, the bar the start cuts through (if any)
    last_close: float


def load_limit(timeframe: str) -> int:
    """How many stored bars of a series a start loads: a week of minutes and longer bars,
    a few hours of seconds bars (they pile up fastest and no history makes them)."""
    frame = Timeframe.parse(timeframe)
    if frame.kind in ("tick", "volume") or (frame.kind == "time"
                                             and frame.interval_ns < 60 * NS_PER_SECOND):
        return SHORT_BARS
    return HISTORY_BARS


def history_timeframes(timeframes: list[str]) -> list[str]:
    """The timeframes 1-minute bars can make: 1m itself (always), longer time bars, daily."""
    chosen = ["1m"]
    for label in timeframes:
        frame = Timeframe.parse(label)
        if frame.label in chosen:
            continue
        if frame.kind == "session" or (frame.kind == "time" and
                                       frame.interval_ns % (60 * NS_PER_SECOND) == 0):
            chosen.append(frame.label)
    return chosen


def sim_history(instrument: Instrument, params: SimParams, timeframes: list[str],
                start_ns: int, *, seed: int, days: int = HISTORY_DAYS) -> History:
    """The ``days`` sessions before the one live at ``start_ns`` (or opening next), and that
    session up to ``start_ns``, as bars of ``timeframes`` (see history_timeframes)."""
    schedule = get_schedule(instrument.schedule)
    live = schedule.session_at(start_ns) or schedule.next_session(start_ns)
    sessions = sessions_between(instrument.schedule, live.day - timedelta(days=_LOOKBACK_DAYS),
                                live.day)
    sessions = [s for s in sessions if s.open_ns <= live.open_ns][-(days + 1):]
    minute = sim_bars(instrument, params, "1m", sessions[0].day, sessions[-1].day, seed=seed)
    minute = _keep(minute, minute.end <= start_ns)  # whole minutes before the start
    minute = _rounded(minute, instrument.price_decimals)
    closed: list[Bar] = []
    forming: list[Bar] = []
    for label in history_timeframes(timeframes):
        data = resample(minute, label, sessions)
        done = data.end <= start_ns
        closed.extend(_keep(data, done).bars())
        if len(data) and not done[-1]:
            forming.append(next(_keep(data, ~done).bars()))
    last_close = float(minute.close[-1]) if len(minute) else params.price
    return History(closed, forming, instrument.round_price(last_close))


def _rounded(data: BarData, decimals: int) -> BarData:
    """Prices as the feed prints them (whole ticks times the tick size carry float noise)."""
    return replace(data, **{c: np.round(getattr(data, c), decimals)
                            for c in ("open", "high", "low", "close")})


def _keep(data: BarData, mask: np.ndarray) -> BarData:
    return BarData(data.symbol, data.timeframe, *(getattr(data, c)[mask] for c in _COLUMNS))


def _row(bar: Bar) -> BarRow:
    return (bar.symbol, bar.timeframe, bar.ts, bar.end, bar.open, bar.high, bar.low,
            bar.close, bar.volume, bar.trades, bar.flags)


def with_history(store: Store, builder: SimFeedBuilder, account: str, bars: BarEngine,
                 timeframes: list[str], now_ns: int | None = None) -> SimFeedBuilder:
    """``builder`` continuing the home's stored market, after giving every instrument that
    has no stored 1-minute bars its generated history (stored in one transaction): the
    feed then starts each of them from its history's last close, and the bars the start
    cuts through go on forming in ``bars``."""
    resume = load_sim_resume(store, account)
    builder = builder.resumed(resume)  # refuses a start before the stored market's clock
    missing = [(inst, params) for inst, params in builder.instruments
               if not store.load_bars(inst.symbol, "1m", limit=1)]
    if not missing:
        return builder
    start = builder.options.start_ns
    if start is None:
        start = resume.clock_ns if resume else default_start_ns(now_ns or time.time_ns())
    prices = dict(resume.prices) if resume else {}
    rows: list[BarRow] = []
    forming: list[Bar] = []
    for instrument, params in missing:
        history = sim_history(instrument, params, timeframes, start, seed=builder.options.seed)
        rows.extend(_row(bar) for bar in history.closed)
        forming.extend(history.forming)
        prices[instrument.symbol] = history.last_close
    store.write([], rows)
    for bar in forming:
        bars.continue_bar(bar)
    for instrument, _ in missing:  # a start inside a session continues its bars
        live = get_schedule(instrument.schedule).session_at(start)
        if live is not None and live.open_ns < start:
            bars.resume_session(instrument.symbol, start)
    log.info("generated %d bars of history for %s", len(rows),
             ", ".join(inst.symbol for inst, _ in missing))
    return replace(builder, resume=SimResume(start, prices))
