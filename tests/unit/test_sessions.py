"""Trading sessions: regular and extended US equity hours, CME Globex, crypto.

Every expected time below was worked out by hand from the exchange rules:
NYSE trades 09:30-16:00 ET (13:00 ET on early-close days); US DST in 2026 runs
from Sunday 2026-03-08 to Sunday 2026-11-01, so ET is UTC-4 in between and UTC-5
outside; CT is one hour behind ET. CME Globex equity futures trade 17:00 CT the
evening before to 16:00 CT, closing 12:00 CT on Thanksgiving and the day after.
Thanksgiving 2026 is Thursday 2026-11-26 (the fourth Thursday: 5, 12, 19, 26);
2026-12-25 is a Friday.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from workstation.sessions import SCHEDULE_NAMES, Session, SessionError, get_schedule


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 10**9


def session(day: date, opens: int, closes: int, early_close: bool = False) -> Session:
    return Session(day, opens, closes, early_close)


# -- us_equity: NYSE regular hours -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc"),
    [
        (date(2026, 3, 6), (14, 30), (21, 0)),  # Friday before DST: EST, UTC-5
        (date(2026, 3, 9), (13, 30), (20, 0)),  # Monday after DST starts: EDT, UTC-4
        (date(2026, 10, 30), (13, 30), (20, 0)),  # Friday before DST ends: EDT
        (date(2026, 11, 2), (14, 30), (21, 0)),  # Monday after DST ends: EST
    ],
)
def test_us_equity_regular_hours_follow_new_york_across_dst_changes(day, open_utc, close_utc):
    schedule = get_schedule("us_equity")
    opens = utc(day.year, day.month, day.day, *open_utc)
    closes = utc(day.year, day.month, day.day, *close_utc)

    assert schedule.session_at(utc(day.year, day.month, day.day, 17)) == session(
        day, opens, closes
    )


def test_us_equity_session_contains_its_open_but_not_its_close():
    schedule = get_schedule("us_equity")
    opens, closes = utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 21)

    assert schedule.session_at(opens - 1) is None
    assert schedule.session_at(opens).open_ns == opens
    assert schedule.session_at(closes - 1).close_ns == closes
    assert schedule.session_at(closes) is None


def test_us_equity_has_no_session_on_thanksgiving_and_next_session_is_the_friday():
    schedule = get_schedule("us_equity")
    thanksgiving_noon_et = utc(2026, 11, 26, 17)

    assert schedule.session_at(thanksgiving_noon_et) is None
    assert schedule.next_session(thanksgiving_noon_et) == session(
        date(2026, 11, 27), utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 18), early_close=True
    )


def test_us_equity_has_no_session_on_christmas_and_next_session_is_the_monday():
    schedule = get_schedule("us_equity")
    christmas_morning_et = utc(2026, 12, 25, 15)

    assert schedule.session_at(christmas_morning_et) is None
    assert schedule.next_session(christmas_morning_et) == session(
        date(2026, 12, 28), utc(2026, 12, 28, 14, 30), utc(2026, 12, 28, 21)
    )


def test_us_equity_day_after_thanksgiving_closes_early_at_13_et():
    schedule = get_schedule("us_equity")

    friday = schedule.session_at(utc(2026, 11, 27, 15))

    assert friday == session(
        date(2026, 11, 27), utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 18), early_close=True
    )
    assert schedule.session_at(utc(2026, 11, 27, 18)) is None


def test_us_equity_normal_day_is_not_an_early_close():
    assert get_schedule("us_equity").session_at(utc(2026, 11, 24, 15)).early_close is False


def test_us_equity_previous_session_is_the_last_one_opened():
    schedule = get_schedule("us_equity")

    # Saturday after Thanksgiving week: the last session is the early-close Friday.
    assert schedule.previous_session(utc(2026, 11, 28, 12)).day == date(2026, 11, 27)
    # Thanksgiving itself: the last session is Wednesday's.
    assert schedule.previous_session(utc(2026, 11, 26, 17)).day == date(2026, 11, 25)


# -- us_equity_extended ------------------------------------------------------------


def test_us_equity_extended_runs_from_04_to_20_new_york_time_in_winter():
    schedule = get_schedule("us_equity_extended")

    # 04:00 EST = 09:00 UTC; 20:00 EST = 01:00 UTC the next day.
    assert schedule.session_at(utc(2026, 11, 2, 12)) == session(
        date(2026, 11, 2), utc(2026, 11, 2, 9), utc(2026, 11, 3, 1)
    )
    assert schedule.session_at(utc(2026, 11, 2, 9) - 1) is None


def test_us_equity_extended_runs_from_04_to_20_new_york_time_in_summer():
    schedule = get_schedule("us_equity_extended")

    # 04:00 EDT = 08:00 UTC; 20:00 EDT = 00:00 UTC the next day.
    assert schedule.session_at(utc(2026, 10, 30, 12)) == session(
        date(2026, 10, 30), utc(2026, 10, 30, 8), utc(2026, 10, 31, 0)
    )


def test_us_equity_extended_closes_at_17_new_york_time_after_an_early_close():
    schedule = get_schedule("us_equity_extended")

    # 17:00 EST = 22:00 UTC on the day after Thanksgiving.
    assert schedule.session_at(utc(2026, 11, 27, 12)) == session(
        date(2026, 11, 27), utc(2026, 11, 27, 9), utc(2026, 11, 27, 22), early_close=True
    )
    assert schedule.session_at(utc(2026, 11, 27, 22)) is None


def test_us_equity_extended_has_no_session_on_thanksgiving():
    assert get_schedule("us_equity_extended").session_at(utc(2026, 11, 26, 12)) is None


# -- cme_globex --------------------------------------------------------------------


def test_cme_globex_monday_session_opens_sunday_at_17_chicago_time():
    schedule = get_schedule("cme_globex")
    monday = session(date(2026, 11, 30), utc(2026, 11, 29, 23), utc(2026, 11, 30, 22))

    assert schedule.session_at(utc(2026, 11, 29, 23)) == monday
    assert schedule.session_at(utc(2026, 11, 29, 23) - 1) is None
    assert schedule.session_at(utc(2026, 11, 28, 12)) is None  # Saturday
    assert schedule.next_session(utc(2026, 11, 28, 12)) == monday


def test_cme_globex_closes_at_16_chicago_time_in_winter_and_summer():
    schedule = get_schedule("cme_globex")

    # CST (UTC-6): 17:00 CT = 23:00 UTC, 16:00 CT = 22:00 UTC.
    assert schedule.session_at(utc(2026, 12, 2, 12)) == session(
        date(2026, 12, 2), utc(2026, 12, 1, 23), utc(2026, 12, 2, 22)
    )
    # CDT (UTC-5): 17:00 CT = 22:00 UTC, 16:00 CT = 21:00 UTC.
    assert schedule.session_at(utc(2026, 7, 15, 12)) == session(
        date(2026, 7, 15), utc(2026, 7, 14, 22), utc(2026, 7, 15, 21)
    )


def test_cme_globex_daily_halt_is_outside_any_session():
    schedule = get_schedule("cme_globex")
    tuesday_halt = utc(2026, 12, 1, 22, 30)  # 16:30 CST

    assert schedule.session_at(tuesday_halt) is None
    assert schedule.session_at(utc(2026, 12, 1, 22)) is None
    assert schedule.next_session(tuesday_halt).open_ns == utc(2026, 12, 1, 23)
    assert schedule.next_session(tuesday_halt).day == date(2026, 12, 2)


def test_cme_globex_sunday_open_follows_the_dst_change():
    # DST starts 02:00 Sunday 2026-03-08, so Sunday's 17:00 CT is already CDT.
    assert get_schedule("cme_globex").session_at(utc(2026, 3, 9, 12)) == session(
        date(2026, 3, 9), utc(2026, 3, 8, 22), utc(2026, 3, 9, 21)
    )


def test_cme_globex_closes_early_at_12_chicago_time_on_thanksgiving():
    schedule = get_schedule("cme_globex")

    thanksgiving = schedule.session_at(utc(2026, 11, 26, 12))

    assert thanksgiving == session(
        date(2026, 11, 26), utc(2026, 11, 25, 23), utc(2026, 11, 26, 18), early_close=True
    )
    assert schedule.session_at(utc(2026, 11, 26, 18)) is None
    # Trading resumes at the usual 17:00 CT for Friday's session.
    assert schedule.next_session(utc(2026, 11, 26, 18)).open_ns == utc(2026, 11, 26, 23)


# -- crypto_24_7 -------------------------------------------------------------------


def test_crypto_trades_on_christmas_in_a_utc_day_session():
    schedule = get_schedule("crypto_24_7")
    christmas = session(date(2026, 12, 25), utc(2026, 12, 25), utc(2026, 12, 26))

    assert schedule.session_at(utc(2026, 12, 25, 12)) == christmas
    assert schedule.session_at(utc(2026, 12, 25)) == christmas
    assert schedule.session_at(utc(2026, 12, 26) - 1) == christmas
    assert schedule.next_session(utc(2026, 12, 25, 12)) == christmas
    assert schedule.previous_session(utc(2026, 12, 25, 12)) == christmas


def test_crypto_trades_on_weekends():
    schedule = get_schedule("crypto_24_7")

    assert schedule.session_at(utc(2026, 11, 28, 3)) == session(
        date(2026, 11, 28), utc(2026, 11, 28), utc(2026, 11, 29)
    )
    assert schedule.session_at(utc(2026, 11, 29, 23, 59)) == session(
        date(2026, 11, 29), utc(2026, 11, 29), utc(2026, 11, 30)
    )


# -- errors ------------------------------------------------------------------------


def test_time_beyond_the_calendar_range_raises_a_clear_session_error():
    schedule = get_schedule("us_equity")
    pattern = (
        r"^us_equity: 2100-01-01T00:00:00\+00:00 is outside the calendar's range "
        r"2015-01-02\.\.\d{4}-\d{2}-\d{2}$"
    )

    with pytest.raises(SessionError, match=pattern):
        schedule.session_at(utc(2100, 1, 1))
    with pytest.raises(SessionError, match=pattern):
        schedule.next_session(utc(2100, 1, 1))


def test_time_before_the_calendar_range_raises_a_clear_session_error():
    pattern = r"^cme_globex: 2010-06-01T00:00:00\+00:00 is outside the calendar's range"
    schedule = get_schedule("cme_globex")

    with pytest.raises(SessionError, match=pattern):
        schedule.session_at(utc(2010, 6, 1))
    with pytest.raises(SessionError, match=pattern):
        schedule.previous_session(utc(2010, 6, 1))


def test_previous_session_beyond_the_calendar_range_raises_session_error():
    with pytest.raises(SessionError, match="outside the calendar's range"):
        get_schedule("us_equity").previous_session(utc(2100, 1, 1))


def test_unknown_schedule_name_raises_session_error_listing_the_known_ones():
    expected = (
        "unknown session schedule 'nyse'; known: "
        "us_equity, us_equity_extended, cme_globex, crypto_24_7"
    )

    with pytest.raises(SessionError, match=f"^{re.escape(expected)}$"):
        get_schedule("nyse")
    assert set(SCHEDULE_NAMES) == {"us_equity", "us_equity_extended", "cme_globex",
                                   "crypto_24_7"}


def test_a_cached_calendar_gives_the_same_sessions_as_one_built_from_exchange_calendars(
        tmp_path, monkeypatch):
    from workstation import sessions

    monkeypatch.setenv(sessions.CACHE_ENV, str(tmp_path))
    built = sessions._cached_calendar("cme_globex", sessions._cme_globex)
    (cached_file,) = (tmp_path / "calendars").iterdir()
    cached = sessions._cached_calendar("cme_globex", lambda: pytest.fail("built again"))

    assert cached_file.name.startswith("cme_globex-")
    assert cached.as_record() == built.as_record()
    moment = 1_764_000_000 * 10**9
    assert cached.next_session(moment) == built.next_session(moment)
    assert cached.previous_session(moment) == built.previous_session(moment)


def test_an_unreadable_calendar_cache_is_built_again_and_replaced(tmp_path, monkeypatch):
    from workstation import sessions

    monkeypatch.setenv(sessions.CACHE_ENV, str(tmp_path))
    path = sessions._cache_file("us_equity")
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")

    schedule = sessions._cached_calendar("us_equity", lambda: sessions._us_equity(False))

    assert schedule.name == "us_equity"
    assert json.loads(path.read_text(encoding="utf-8")) == schedule.as_record()


def test_calendars_are_not_cached_when_the_cache_is_off(tmp_path, monkeypatch):
    from workstation import sessions

    monkeypatch.setenv(sessions.CACHE_ENV, "off")

    assert sessions._cache_file("us_equity") is None
