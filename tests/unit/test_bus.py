"""The event bus: typed delivery, exact counts, and isolation of failing handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from workstation.bus import EventBus, HandlerStats


@dataclass(frozen=True)
class Ping:
    n: int


@dataclass(frozen=True)
class Pong:
    n: int


def stats_named(bus: EventBus, name: str) -> HandlerStats:
    [stats] = [s for s in bus.stats() if s.name == name]
    return stats


def bus_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "workstation.bus"]


def raise_on_ping(event: Ping) -> None:
    raise ValueError(f"bad ping {event.n}")


def test_failing_handler_is_logged_with_its_name_the_event_and_the_error(caplog):
    bus = EventBus()
    bus.subscribe(Ping, raise_on_ping, name="broken")

    with caplog.at_level(logging.ERROR, logger="workstation.bus"):
        bus.publish(Ping(7))

    [record] = bus_records(caplog)
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message == (
        "handler broken failed on Ping(n=7) (1 errors so far): ValueError: bad ping 7"
    )
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError


def test_failing_handler_is_counted_on_the_bus_and_in_its_stats(caplog):
    bus = EventBus()
    bus.subscribe(Ping, raise_on_ping, name="broken")
    bus.subscribe(Ping, lambda event: None, name="healthy")

    with caplog.at_level(logging.ERROR, logger="workstation.bus"):
        bus.publish(Ping(1))
        bus.publish(Ping(2))

    broken = stats_named(bus, "broken")
    healthy = stats_named(bus, "healthy")
    assert bus.errors == 2
    assert bus.published == 2
    assert (broken.calls, broken.errors) == (2, 2)
    assert broken.last_error == "ValueError: bad ping 2"
    assert broken.event_type == "Ping"
    assert (healthy.calls, healthy.errors, healthy.last_error) == (2, 0, "")


def test_delivery_continues_to_later_handlers_in_order_after_one_fails(caplog):
    bus = EventBus()
    received: list[tuple[str, int]] = []
    bus.subscribe(Ping, lambda event: received.append(("first", event.n)), name="first")
    bus.subscribe(Ping, raise_on_ping, name="broken")
    bus.subscribe(Ping, lambda event: received.append(("third", event.n)), name="third")
    bus.subscribe(Ping, lambda event: received.append(("fourth", event.n)), name="fourth")

    with caplog.at_level(logging.ERROR, logger="workstation.bus"):
        bus.publish(Ping(1))
        bus.publish(Ping(2))

    assert received == [
        ("first", 1), ("third", 1), ("fourth", 1),
        ("first", 2), ("third", 2), ("fourth", 2),
    ]
    assert len(bus_records(caplog)) == 2


def test_handlers_receive_only_the_event_type_they_subscribed_to():
    bus = EventBus()
    pings: list[int] = []
    pongs: list[int] = []
    bus.subscribe(Ping, lambda event: pings.append(event.n))
    bus.subscribe(Pong, lambda event: pongs.append(event.n))

    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.publish(Ping(3))
    bus.publish("an event type nobody subscribed to")

    assert pings == [1, 3]
    assert pongs == [2]
    assert bus.published == 4
    assert bus.errors == 0


def test_per_handler_call_counts_are_exact_although_timing_is_sampled():
    bus = EventBus()
    bus.subscribe(Ping, lambda event: None, name="ping_a")
    bus.subscribe(Ping, lambda event: None, name="ping_b")
    bus.subscribe(Pong, lambda event: None, name="pong")

    for n in range(1_001):
        bus.publish(Ping(n))
    for n in range(3):
        bus.publish(Pong(n))

    assert stats_named(bus, "ping_a").calls == 1_001
    assert stats_named(bus, "ping_b").calls == 1_001
    assert stats_named(bus, "pong").calls == 3
    # One call in eight is timed: calls 8, 16, ..., 1000.
    assert stats_named(bus, "ping_a").sampled == 125
    assert stats_named(bus, "pong").sampled == 0
    assert bus.published == 1_004


def test_handler_name_defaults_to_its_qualified_name():
    bus = EventBus()
    bus.subscribe(Ping, raise_on_ping)

    [stats] = bus.stats()
    assert stats.name == "raise_on_ping"


def test_unsubscribed_handler_receives_no_further_events():
    bus = EventBus()
    first: list[int] = []
    second: list[int] = []

    def on_first(event: Ping) -> None:
        first.append(event.n)

    bus.subscribe(Ping, on_first)
    bus.subscribe(Ping, lambda event: second.append(event.n))
    bus.publish(Ping(1))
    bus.unsubscribe(Ping, on_first)
    bus.publish(Ping(2))

    assert first == [1]
    assert second == [1, 2]


def test_bound_method_can_be_unsubscribed_with_a_fresh_reference():
    class Listener:
        def __init__(self) -> None:
            self.seen: list[int] = []

        def on_ping(self, event: Ping) -> None:
            self.seen.append(event.n)

    bus = EventBus()
    listener = Listener()
    bus.subscribe(Ping, listener.on_ping)
    bus.publish(Ping(1))
    bus.unsubscribe(Ping, listener.on_ping)  # a new bound-method object, equal to the first
    bus.publish(Ping(2))

    assert listener.seen == [1]
    assert bus.stats() == []


def test_unsubscribing_an_unknown_handler_changes_nothing():
    bus = EventBus()
    seen: list[int] = []
    bus.subscribe(Ping, lambda event: seen.append(event.n))

    bus.unsubscribe(Ping, raise_on_ping)
    bus.unsubscribe(Pong, raise_on_ping)
    bus.publish(Ping(1))

    assert seen == [1]


def test_handler_that_keeps_failing_stops_being_logged_after_20_errors_but_is_still_counted(
    caplog,
):
    bus = EventBus()
    healthy: list[int] = []
    bus.subscribe(Ping, raise_on_ping, name="broken")
    bus.subscribe(Ping, lambda event: healthy.append(event.n), name="healthy")

    with caplog.at_level(logging.ERROR, logger="workstation.bus"):
        for n in range(1, 26):
            bus.publish(Ping(n))

    messages = [r.getMessage() for r in bus_records(caplog)]
    assert len(messages) == 21
    for n, message in enumerate(messages[:20], start=1):
        assert message == (
            f"handler broken failed on Ping(n={n}) ({n} errors so far): "
            f"ValueError: bad ping {n}"
        )
    assert messages[20] == "handler broken keeps failing; further errors are only counted"

    broken = stats_named(bus, "broken")
    assert bus.errors == 25
    assert (broken.calls, broken.errors) == (25, 25)
    assert broken.last_error == "ValueError: bad ping 25"
    assert healthy == list(range(1, 26))


def test_long_event_descriptions_are_shortened_in_the_log(caplog):
    bus = EventBus()

    def fail(event: str) -> None:
        raise RuntimeError("nope")

    bus.subscribe(str, fail, name="fail")
    with caplog.at_level(logging.ERROR, logger="workstation.bus"):
        bus.publish("x" * 500)

    [record] = bus_records(caplog)
    described = repr("x" * 500)[:157] + "..."
    assert record.getMessage() == (
        f"handler fail failed on {described} (1 errors so far): RuntimeError: nope"
    )
