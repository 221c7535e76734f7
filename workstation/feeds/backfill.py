"""Filling a feed's gap with bars from a history source, without duplicates.

After a reconnect, minute bars for the gap are fetched and rolled up into each time
timeframe the BarEngine builds (on the same session-aligned buckets it uses). A bucket
is published only when it lies wholly inside the gap (after the last tick heard before
the loss, before the first heard after) and overlaps no bar the engine already has,
closed or forming: so bars get no holes and no duplicates. Sub-minute timeframes cannot
be rebuilt from minute bars and keep their hole.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from workstation.bars import BarEngine, Timeframe
from workstation.bus import EventBus
from workstation.model import NS_PER_SECOND, Bar, BarFlag, Instrument
from workstation.sessions import get_schedule

log = logging.getLogger(__name__)

MINUTE_NS = 60 * NS_PER_SECOND
FetchMinutes = Callable[[list[str], int, int], Awaitable[dict[str, list[Bar]]]]


class GapFiller:
    def __init__(self, fetch: FetchMinutes, bars: BarEngine, bus: EventBus,
                 instruments: dict[str, Instrument], timeframes: list[str]) -> None:
        self._fetch = fetch
        self._bars = bars
        self._bus = bus
        self._instruments = instruments
        self._timeframes = [tf for tf in (Timeframe.parse(t) for t in timeframes)
                            if tf.kind == "time" and tf.size % 60 == 0]
        self.published = 0

    async def fill(self, symbols: list[str], since_ns: int, until_ns: int) -> int:
        """Publish the missing bars of [since, until); how many were published."""
        wanted = [s for s in symbols if s in self._instruments]
        if not wanted or until_ns - since_ns < MINUTE_NS or not self._timeframes:
            return 0
        start = since_ns - since_ns % MINUTE_NS
        minutes = await self._fetch(wanted, start, until_ns)
        count = 0
        for symbol in wanted:
            rows = [b for b in minutes.get(symbol, []) if since_ns <= b.ts and
                    b.ts + MINUTE_NS <= until_ns]
            for timeframe in self._timeframes:
                for bar in self.roll_up(self._instruments[symbol], timeframe, rows):
                    if bar.ts >= since_ns and bar.end <= until_ns and self._missing(bar):
                        self._bus.publish(bar)
                        count += 1
        self.published += count
        if count:
            log.info("backfilled %d bar(s) of %s between %d and %d", count,
                     ", ".join(wanted), since_ns, until_ns)
        return count

    def _missing(self, bar: Bar) -> bool:
        for have in self._bars.history(bar.symbol, bar.timeframe):
            if have.ts < bar.end and bar.ts < have.end:
                return False
        forming = self._bars.partial(bar.symbol, bar.timeframe)
        return forming is None or not (forming.ts < bar.end and bar.ts < forming.end)

    @staticmethod
    def roll_up(instrument: Instrument, timeframe: Timeframe, minutes: list[Bar]) -> list[Bar]:
        """Minute bars into complete session-aligned buckets of ``timeframe``."""
        schedule = get_schedule(instrument.schedule)
        interval = timeframe.interval_ns
        buckets: dict[int, list[Bar]] = {}
        ends: dict[int, tuple[int, int]] = {}
        for minute in minutes:
            session = schedule.session_at(minute.ts)
            if session is None:
                continue
            start = session.open_ns + (minute.ts - session.open_ns) // interval * interval
            buckets.setdefault(start, []).append(minute)
            ends[start] = (min(start + interval, session.close_ns), session.close_ns)
        out = []
        for start in sorted(buckets):
            rows = buckets[start]
            end, close = ends[start]
            flags = BarFlag.SESSION_LAST if end >= close else BarFlag.NONE
            out.append(Bar(instrument.symbol, timeframe.label, start, end, rows[0].open,
                           max(r.high for r in rows), min(r.low for r in rows), rows[-1].close,
                           sum(r.volume for r in rows), sum(r.trades for r in rows),
                           int(flags)))
        return out
