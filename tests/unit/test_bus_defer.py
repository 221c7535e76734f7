"""The bus's deferred work: what the strategy host uses so that a plugin sees a fill only
after the broker has finished handling the event that produced it."""

from __future__ import annotations

from workstation.bus import EventBus


class Outer:
    pass


class Inner:
    pass


def test_deferred_work_runs_after_the_outermost_publish_returns_in_order():
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(Inner, lambda e: (seen.append("inner"), bus.defer(lambda: seen.append("a"))))
    bus.subscribe(Outer, lambda e: (bus.publish(Inner()), bus.defer(lambda: seen.append("b")),
                                    seen.append("outer done")))

    bus.publish(Outer())

    assert seen == ["inner", "outer done", "a", "b"]


def test_work_deferred_outside_any_publish_runs_at_once():
    bus = EventBus()
    seen: list[str] = []
    bus.defer(lambda: seen.append("now"))
    assert seen == ["now"]


def test_a_deferring_block_holds_work_until_it_ends_and_work_it_defers_runs_too():
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(Inner, lambda e: bus.defer(lambda: seen.append("from deferred publish")))

    def first() -> None:
        seen.append("first")
        bus.publish(Inner())  # inside deferred work: its own deferral runs in the same pass

    with bus.deferring():
        bus.defer(first)
        seen.append("block")

    assert seen == ["block", "first", "from deferred publish"]


def test_a_failing_deferred_function_is_counted_and_the_rest_still_run():
    bus = EventBus()
    seen: list[str] = []

    def broken() -> None:
        raise ValueError("broken")

    with bus.deferring():
        bus.defer(broken)
        bus.defer(lambda: seen.append("after"))

    assert (seen, bus.errors) == (["after"], 1)
