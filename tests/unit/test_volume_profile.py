"""Volume at price (the ladder's Volume column, without Qt): each price's size this
session, in whole ticks, counted again from the first tick of the next session."""

from __future__ import annotations

from datetime import datetime

from workstation.bus import EventBus
from workstation.config import Settings
from workstation.model import Tick, datetime_to_ns
from workstation.sessions import NEW_YORK, get_schedule
from workstation.volume_profile import VolumeAtPrice

NQ_TICK = 0.25


def counter() -> tuple[EventBus, VolumeAtPrice]:
    bus = EventBus()
    return bus, VolumeAtPrice(bus, Settings().instrument_map())


def at(hour: int, minute: int, day: int = 3) -> int:
    """New York time on 2026-12-<day> (a Thursday)."""
    return datetime_to_ns(datetime(2026, 12, day, hour, minute, tzinfo=NEW_YORK))


def test_each_price_sums_the_sizes_traded_there_and_other_symbols_stay_apart():
    bus, volume = counter()
    for price, size in ((21_000.00, 2), (21_000.25, 3), (21_000.00, 1), (20_999.75, 4),
                        (21_000.25, 5)):
        bus.publish(Tick("NQ", at(10, 0), price, size, 0))
    bus.publish(Tick("ES", at(10, 0), 5_000.00, 9, 0))

    assert volume.prices("NQ") == {84_000: 3.0, 84_001: 8.0, 83_999: 4.0}
    assert volume.at("NQ", round(21_000.25 / NQ_TICK)) == 8.0
    assert volume.at("NQ", round(21_000.50 / NQ_TICK)) == 0.0
    assert volume.prices("ES") == {20_000: 9.0}
    assert volume.at("YM", 1) == 0.0 and volume.version("YM") == -1


def test_the_count_starts_again_with_the_next_session():
    bus, volume = counter()
    session = get_schedule("cme_globex").next_session(at(10, 0))
    bus.publish(Tick("NQ", session.close_ns - 1, 21_000.00, 2, 0))  # the session's last
    before = volume.version("NQ")

    bus.publish(Tick("NQ", session.close_ns + 3_600 * 10**9, 21_010.00, 1, 0))  # the next

    assert volume.prices("NQ") == {84_040: 1.0}
    assert volume.version("NQ") > before


def test_a_symbol_without_an_instrument_is_not_counted():
    bus, volume = counter()
    bus.publish(Tick("ZZZ", at(10, 0), 1.0, 1, 0))
    assert volume.prices("ZZZ") == {}
