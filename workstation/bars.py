"""Tick -> bar aggregation: time, tick and volume bars, aligned to sessions.

Time bars are bucketed from the session open (a 1h bar on CME starts at 17:00
CT, not on the UTC hour), the last bar of a session is cut at the close and
flagged, and a bar closes on a clock timer at its end, not when the next tick
happens to arrive. Intervals with no trades produce no bar. An aggregator
whose forming bar someone displays (``BarEngine.watch_partial``) publishes it as
a PartialBar at most every 200 ms of clock time; the others publish none, so a
run at max speed does not pay for a display it does not have.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from workstation.bus import EventBus
from workstation.clock import Clock, TimerHandle
from workstation.model import NS_PER_SECOND, Bar, BarFlag, Instrument, PartialBar, Tick
from workstation.sessions import Session, SessionSchedule, get_schedule

log = logging.getLogger(__name__)

PARTIAL_INTERVAL_NS = 200_000_000
HISTORY_BARS = 10_000  # closed bars kept per series: a week of 1-minute bars of a 23 h market
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 0, "t": 1, "v": 1}
_TIMEFRAME = re.compile(r"^(\d+)([smhdtv])$")


@dataclass(frozen=True, slots=True)
class Timeframe:
    """``5s``, ``1m``, ``1h``, ``1d`` (one bar per session), ``500t`` (ticks) or
    ``1000v`` (volume)."""

    label: str
    kind: str  # "time" | "session" | "tick" | "volume"
    size: int  # seconds for time bars, trades for tick bars, volume for volume bars

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        match = _TIMEFRAME.match(text.strip().lower())
        if not match or int(match.group(1)) <= 0:
            raise ValueError(
                f"bad timeframe {text!r}: use a positive count and a unit, "
                "e.g. 5s, 1m, 15m, 1h, 1d, 500t (ticks), 1000v (volume)"
            )
        count, unit = int(match.group(1)), match.group(2)
        if unit == "d":
            if count != 1:
                raise ValueError(f"bad timeframe {text!r}: only 1d (one bar per session) "
                                 "is supported")
            return cls("1d", "session", 0)
        kind = {"t": "tick", "v": "volume"}.get(unit, "time")
        return cls(f"{count}{unit}", kind, count * _UNITS[unit])

    @property
    def interval_ns(self) -> int:
        return self.size * NS_PER_SECOND

    @property
    def nominal_ns(self) -> int:
        """How long a bar of this timeframe nominally lasts (a day for session bars), for
        bars that arrive closed, from a file, without their session."""
        return self.interval_ns if self.kind == "time" else 86_400 * NS_PER_SECOND


Publish = Callable[[object], None]


class _Aggregator:
    """Shared state of one (instrument, timeframe): session tracking and the forming bar."""

    def __init__(self, instrument: Instrument, timeframe: Timeframe, clock: Clock,
                 publish: Publish, schedule: SessionSchedule | None = None) -> None:
        self.instrument = instrument
        self.timeframe = timeframe
        self._clock = clock
        self._publish = publish
        self._schedule = schedule or get_schedule(instrument.schedule)
        self._session: Session | None = None
        self._bars_in_session = 0
        self._close_timer: TimerHandle | None = None
        self._active = False
        self._start = self._end = 0
        self._open = self._high = self._low = self._close = 0.0
        self._volume = 0.0
        self._trades = 0
        self._next_partial = 0
        self.publish_partial = False
        self.outside_session = 0

    # -- subclasses decide where bars start and end ------------------------------
    def on_tick(self, tick: Tick) -> None:
        raise NotImplementedError

    # -- shared mechanics --------------------------------------------------------
    def _enter_session(self, ts: int) -> bool:
        """Make sure ``self._session`` contains ``ts``; False if the market is closed."""
        session = self._session
        if session is not None and session.open_ns <= ts < session.close_ns:
            return True
        session = self._schedule.session_at(ts)
        if session is None:
            self.outside_session += 1
            if self.outside_session == 1:
                log.warning("%s %s: tick at %d is outside any session; not aggregated",
                            self.instrument.symbol, self.timeframe.label, ts)
            return False
        self._session = session
        self._bars_in_session = 0
        return True

    def _begin(self, start: int, end: int, price: float) -> None:
        self._active = True
        self._start, self._end = start, end
        self._open = self._high = self._low = self._close = price
        self._volume = 0.0
        self._trades = 0
        self._close_timer = self._clock.call_at(end, self._on_end_timer)

    def _add(self, ts: int, price: float, size: float) -> None:
        if price > self._high:
            self._high = price
        elif price < self._low:
            self._low = price
        self._close = price
        self._volume += size
        self._trades += 1
        if self.publish_partial and ts >= self._next_partial:
            self._next_partial = ts + PARTIAL_INTERVAL_NS
            self._publish(PartialBar(self._snapshot(self._end)))

    def _snapshot(self, end: int) -> Bar:
        flags = BarFlag.SESSION_FIRST if self._bars_in_session == 0 else BarFlag.NONE
        if self._session is not None and end >= self._session.close_ns:
            flags |= BarFlag.SESSION_LAST
        return Bar(self.instrument.symbol, self.timeframe.label, self._start, end, self._open,
                   self._high, self._low, self._close, self._volume, self._trades, int(flags))

    def _finish(self, end: int) -> None:
        bar = self._snapshot(end)
        self._active = False
        self._bars_in_session += 1
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._publish(bar)

    def _on_end_timer(self) -> None:
        """Clocks never run a timer before its time (LiveClock re-arms early wake-ups),
        so the bar's end has come."""
        self._close_timer = None
        if self._active:
            self._finish(self._end)

    def partial(self) -> Bar | None:
        return self._snapshot(self._end) if self._active else None

    def enter_session(self, ts: int) -> bool:
        return self._enter_session(ts)

    def already_in_session(self) -> None:
        self._bars_in_session = max(self._bars_in_session, 1)

    def continue_bar(self, bar: Bar) -> None:
        """Carry on ``bar``, formed from history up to now, with the ticks that follow (the
        history's forming 1h or daily bar and the live one are the same bar)."""
        if self._active or not self._enter_session(bar.ts):
            return
        self._begin(bar.ts, bar.end, bar.open)
        self._high, self._low, self._close = bar.high, bar.low, bar.close
        self._volume, self._trades = bar.volume, bar.trades
        self._bars_in_session = 0 if bar.flags & BarFlag.SESSION_FIRST else 1


class TimeBarAggregator(_Aggregator):
    def on_tick(self, tick: Tick) -> None:
        """The hot path (every tick, every timeframe): ``_add`` is inlined here."""
        ts, price = tick.ts, tick.price
        if ts >= self._end and self._active:
            self._finish(self._end)  # the end timer has not run yet (a late live timer)
        if not self._active:
            if not self._enter_session(ts):
                return
            self._begin(*self._bucket(ts), price)
        if price > self._high:
            self._high = price
        elif price < self._low:
            self._low = price
        self._close = price
        self._volume += tick.size
        self._trades += 1
        if self.publish_partial and ts >= self._next_partial:
            self._next_partial = ts + PARTIAL_INTERVAL_NS
            self._publish(PartialBar(self._snapshot(self._end)))

    def _bucket(self, ts: int) -> tuple[int, int]:
        session = self._session
        assert session is not None
        if self.timeframe.kind == "session":
            return session.open_ns, session.close_ns
        interval = self.timeframe.interval_ns
        start = session.open_ns + (ts - session.open_ns) // interval * interval
        return start, min(start + interval, session.close_ns)


class CountBarAggregator(_Aggregator):
    """Tick bars (every N trades) and volume bars (every N units of volume).

    A trade that overfills a volume bar is split: the bar closes at exactly N and
    the rest of the trade opens the next bar at the same price and time. The
    forming bar is cut at the session close.
    """

    def on_tick(self, tick: Tick) -> None:
        ts = tick.ts
        if self._active and ts >= self._end:
            self._finish(self._end)
        if not self._enter_session(ts):
            return
        if self.timeframe.kind == "tick":
            self._add_counted(ts, tick.price, tick.size)
        else:
            self._add_volume(ts, tick.price, tick.size)

    def _start_if_idle(self, ts: int, price: float) -> None:
        if not self._active:
            assert self._session is not None
            self._begin(ts, self._session.close_ns, price)

    def _add_counted(self, ts: int, price: float, size: float) -> None:
        self._start_if_idle(ts, price)
        self._add(ts, price, size)
        if self._trades >= self.timeframe.size:
            self._finish(ts)

    def _add_volume(self, ts: int, price: float, size: float) -> None:
        target = float(self.timeframe.size)
        remaining = size
        while True:
            self._start_if_idle(ts, price)
            room = target - self._volume
            take = min(room, remaining)
            self._add(ts, price, take)
            remaining -= take
            if self._volume >= target - 1e-12:
                self._finish(ts)
            if remaining <= 1e-12:
                return


def make_aggregator(instrument: Instrument, timeframe: Timeframe, clock: Clock,
                    publish: Publish, schedule: SessionSchedule | None = None) -> _Aggregator:
    kind = CountBarAggregator if timeframe.kind in ("tick", "volume") else TimeBarAggregator
    return kind(instrument, timeframe, clock, publish, schedule)


class BarEngine:
    """Routes ticks to each symbol's aggregators and keeps recent closed bars."""

    def __init__(self, bus: EventBus, clock: Clock, history: int = HISTORY_BARS, *,
                 from_ticks: bool = True) -> None:
        """``from_ticks`` False: the feed publishes closed bars itself (a bar backtest); this
        engine then only keeps their history."""
        self._bus = bus
        self._clock = clock
        self._history_len = history
        self._by_symbol: dict[str, list[_Aggregator]] = {}
        self._aggregators: dict[tuple[str, str], _Aggregator] = {}
        self._history: dict[tuple[str, str], deque[Bar]] = {}
        self.bars_closed = 0
        if from_ticks:
            bus.subscribe(Tick, self.on_tick, "BarEngine.on_tick")
        bus.subscribe(Bar, self._remember, "BarEngine.remember")

    def add(self, instrument: Instrument, timeframe: Timeframe | str) -> None:
        tf = Timeframe.parse(timeframe) if isinstance(timeframe, str) else timeframe
        key = (instrument.symbol, tf.label)
        if key in self._aggregators:
            return
        aggregator = make_aggregator(instrument, tf, self._clock, self._bus.publish)
        self._aggregators[key] = aggregator
        self._by_symbol.setdefault(instrument.symbol, []).append(aggregator)
        self._history.setdefault(key, deque(maxlen=self._history_len))

    def on_tick(self, tick: Tick) -> None:
        aggregators = self._by_symbol.get(tick.symbol)
        if aggregators:
            for aggregator in aggregators:
                aggregator.on_tick(tick)

    def _remember(self, bar: Bar) -> None:
        self.bars_closed += 1
        history = self._history.get((bar.symbol, bar.timeframe))
        if history is not None:
            history.append(bar)

    def seed_history(self, bars: list[Bar]) -> None:
        """Preload bars loaded from the store (oldest first)."""
        for bar in bars:
            history = self._history.get((bar.symbol, bar.timeframe))
            if history is not None:
                history.append(bar)

    def continue_bar(self, bar: Bar) -> None:
        """Start the forming bar of ``bar``'s series from ``bar`` (see _Aggregator)."""
        aggregator = self._aggregators.get((bar.symbol, bar.timeframe))
        if isinstance(aggregator, TimeBarAggregator):
            aggregator.continue_bar(bar)

    def resume_session(self, symbol: str, ts: int) -> None:
        """The session holding ``ts`` already has bars (from history): the next bar of each
        series is not its first (no SESSION_FIRST flag, a session VWAP does not restart)."""
        for aggregator in self._by_symbol.get(symbol, []):
            if not aggregator.partial() and aggregator.enter_session(ts):
                aggregator.already_in_session()

    def history(self, symbol: str, timeframe: str) -> list[Bar]:
        return list(self._history.get((symbol, timeframe), ()))

    def watch_partial(self, symbol: str, timeframe: str, on: bool = True) -> None:
        """Publish (or stop publishing) the forming bar of one series for display."""
        aggregator = self._aggregators.get((symbol, timeframe))
        if aggregator is not None:
            aggregator.publish_partial = on

    def partial(self, symbol: str, timeframe: str) -> Bar | None:
        aggregator = self._aggregators.get((symbol, timeframe))
        return aggregator.partial() if aggregator else None

