"""Trading sessions from maintained exchange calendars.

Holidays and early closes come from ``exchange_calendars`` (NYSE for US
equities, CME for Globex futures), never from hand-written dates. Session
times are computed in the exchange's own time zone and handed to the engine
as UTC nanoseconds, so DST changes are handled by the calendar, not by us.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from workstation.model import NS_PER_SECOND

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # numpy and pandas load with the first calendar, off the start path
    import numpy as np
    import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
_CALENDAR_START = "2015-01-01"
_DAY_NS = 86_400 * NS_PER_SECOND


class SessionError(LookupError):
    """A time outside the range a calendar covers."""


@dataclass(frozen=True, slots=True)
class Session:
    day: date
    open_ns: int
    close_ns: int
    early_close: bool = False

    def contains(self, ts_ns: int) -> bool:
        return self.open_ns <= ts_ns < self.close_ns


class SessionSchedule(Protocol):
    name: str

    def session_at(self, ts_ns: int) -> Session | None:
        """The session trading at ``ts_ns`` (open <= ts < close), or None."""

    def next_session(self, ts_ns: int) -> Session:
        """The session in progress at ``ts_ns``, else the next one to open."""

    def previous_session(self, ts_ns: int) -> Session:
        """The last session that opened at or before ``ts_ns``."""


class CalendarSchedule:
    """Sessions held as sorted lists of UTC nanoseconds: lookups are a bisect."""

    def __init__(self, name: str, days: list[date], opens: list[int], closes: list[int],
                 early: list[bool]) -> None:
        self.name = name
        self._days = days
        self._opens = opens
        self._closes = closes
        self._early = early

    @classmethod
    def from_arrays(cls, name: str, days: list[date], opens: np.ndarray, closes: np.ndarray,
                    early: np.ndarray) -> CalendarSchedule:
        return cls(name, days, [int(v) for v in opens], [int(v) for v in closes],
                   [bool(v) for v in early])

    def as_record(self) -> dict[str, object]:
        """What the cache keeps: the whole schedule as plain JSON values."""
        return {"name": self.name, "days": [d.toordinal() for d in self._days],
                "opens": self._opens, "closes": self._closes, "early": self._early}

    @classmethod
    def from_record(cls, record: dict[str, list[int]], name: str) -> CalendarSchedule:
        days, opens, closes, early = (record["days"], record["opens"], record["closes"],
                                      record["early"])
        if not days or not len(days) == len(opens) == len(closes) == len(early) or \
                record.get("name") != name:
            raise ValueError("inconsistent schedule record")
        return cls(name, [date.fromordinal(d) for d in days], [int(v) for v in opens],
                   [int(v) for v in closes], [bool(v) for v in early])

    def _session(self, index: int) -> Session:
        return Session(self._days[index], self._opens[index], self._closes[index],
                       self._early[index])

    def _check_range(self, ts_ns: int, index: int) -> None:
        if index >= len(self._closes) or ts_ns < self._opens[0] - _DAY_NS * 7:
            first = self._days[0].isoformat()
            last = self._days[-1].isoformat()
            raise SessionError(
                f"{self.name}: {_fmt(ts_ns)} is outside the calendar's range {first}..{last}"
            )

    def next_session(self, ts_ns: int) -> Session:
        index = bisect.bisect_right(self._closes, ts_ns)
        self._check_range(ts_ns, index)
        return self._session(index)

    def session_at(self, ts_ns: int) -> Session | None:
        session = self.next_session(ts_ns)
        return session if session.open_ns <= ts_ns else None

    def previous_session(self, ts_ns: int) -> Session:
        index = bisect.bisect_right(self._opens, ts_ns) - 1
        beyond_end = ts_ns >= self._closes[-1]
        if index < 0 or beyond_end:
            self._check_range(ts_ns, len(self._closes))
        return self._session(index)


class Crypto247Schedule:
    """Crypto trades around the clock; sessions are UTC calendar days."""

    name = "crypto_24_7"

    def _day_session(self, day_start_ns: int) -> Session:
        day = datetime.fromtimestamp(day_start_ns / NS_PER_SECOND, tz=UTC).date()
        return Session(day, day_start_ns, day_start_ns + _DAY_NS)

    def session_at(self, ts_ns: int) -> Session:
        return self._day_session(ts_ns - ts_ns % _DAY_NS)

    def next_session(self, ts_ns: int) -> Session:
        return self.session_at(ts_ns)

    def previous_session(self, ts_ns: int) -> Session:
        return self.session_at(ts_ns)


def _fmt(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=UTC).isoformat()


def _to_ns(stamps: pd.Series) -> np.ndarray:
    return stamps.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy().copy()


def _local_ns(days: list[date], clock_time: time, zone: ZoneInfo) -> np.ndarray:
    import numpy as np

    moments = [datetime.combine(day, clock_time, zone) for day in days]
    return np.array([int(m.timestamp()) * NS_PER_SECOND for m in moments], dtype=np.int64)


def _calendar(code: str):  # noqa: ANN202 - exchange_calendars has no public base type hint
    import exchange_calendars as xcals  # imported lazily: it costs ~0.5 s

    return xcals.get_calendar(code, start=_CALENDAR_START)


def _us_equity(extended: bool) -> CalendarSchedule:
    """NYSE regular hours 09:30-16:00 ET; extended adds 04:00-09:30 and until 20:00
    (17:00 after an early 13:00 close)."""
    import numpy as np

    cal = _calendar("XNYS")
    schedule = cal.schedule
    days = [ts.date() for ts in schedule.index]
    early = schedule.index.isin(cal.early_closes)
    if not extended:
        return CalendarSchedule.from_arrays("us_equity", days, _to_ns(schedule["open"]),
                                            _to_ns(schedule["close"]), early)
    opens = _local_ns(days, time(4, 0), NEW_YORK)
    regular_close = _to_ns(schedule["close"])
    closes = np.where(early, regular_close + 4 * 3600 * NS_PER_SECOND,
                      _local_ns(days, time(20, 0), NEW_YORK))
    return CalendarSchedule.from_arrays("us_equity_extended", days, opens, closes, early)


def _cme_globex() -> CalendarSchedule:
    """CME Globex equity-index futures: Sunday-Friday 17:00-16:00 CT with a daily
    halt from 16:00 to 17:00 CT; holiday and early-close days from CME's calendar."""
    import numpy as np

    cal = _calendar("CMES")
    schedule = cal.schedule
    days = [ts.date() for ts in schedule.index]
    early = schedule.index.isin(cal.early_closes)
    halt_start = _local_ns(days, time(16, 0), CHICAGO)
    closes = np.minimum(_to_ns(schedule["close"]), halt_start)
    return CalendarSchedule.from_arrays("cme_globex", days, _to_ns(schedule["open"]), closes,
                                        early)


_BUILDERS = {
    "us_equity": lambda: _us_equity(extended=False),
    "us_equity_extended": lambda: _us_equity(extended=True),
    "cme_globex": _cme_globex,
    "crypto_24_7": Crypto247Schedule,
}

SCHEDULE_NAMES = tuple(_BUILDERS)
_CALENDARS = {"us_equity", "us_equity_extended", "cme_globex"}  # built from exchange_calendars

_ZONES = {"us_equity": NEW_YORK, "us_equity_extended": NEW_YORK, "cme_globex": CHICAGO,
          "crypto_24_7": ZoneInfo("UTC")}


def exchange_zone(name: str) -> ZoneInfo:
    """The time zone a schedule's exchange keeps (trading windows are set in it)."""
    return _ZONES[name]


CACHE_ENV = "BRACKET_CACHE"  # where built calendars are kept; "off": never cached


def _cache_file(name: str) -> Path | None:
    """Where the built schedule ``name`` is kept, or None when it is not cached. The name
    holds exchange_calendars' version (new holidays come with new versions) and the month
    (the calendar's range ends a year after the day it was built)."""
    folder = os.environ.get(CACHE_ENV)
    if folder == "off":
        return None
    library = _calendar_library_version()
    if library is None:
        return None
    if folder is None:
        import platformdirs

        folder = platformdirs.user_cache_dir("Bracket", appauthor=False)
    month = datetime.now(UTC).strftime("%Y-%m")
    return Path(folder) / "calendars" / f"{name}-{library}-{month}.json"


def _calendar_library_version() -> str | None:
    """exchange_calendars' version without importing it; in a bundle without its metadata,
    the bundle's build (its executable's time stamp) stands for it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("exchange_calendars")
    except PackageNotFoundError:
        if not getattr(sys, "frozen", False):
            return None
    try:
        return f"bundle{os.stat(sys.executable).st_mtime_ns}"
    except OSError:
        return None


def _cached_calendar(name: str, build: Callable[[], CalendarSchedule]) -> CalendarSchedule:
    """The schedule from the cache (a few ms), else built from exchange_calendars (pandas:
    most of a second) and kept. A cache that cannot be read or written is only a miss."""
    path = _cache_file(name)
    if path is not None and path.exists():
        try:
            return CalendarSchedule.from_record(json.loads(path.read_text("utf-8")), name)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.debug("calendar cache %s unusable (%s): built again", path, exc)
    schedule = build()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(schedule.as_record()), encoding="utf-8")
            os.replace(partial, path)
        except OSError as exc:
            log.debug("calendar cache %s not written: %s", path, exc)
    return schedule


@functools.cache
def get_schedule(name: str) -> SessionSchedule:
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise SessionError(
            f"unknown session schedule {name!r}; known: {', '.join(SCHEDULE_NAMES)}"
        ) from None
    if name in _CALENDARS:
        return _cached_calendar(name, builder)  # type: ignore[arg-type]
    return builder()
