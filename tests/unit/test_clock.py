"""SimClock: timers fire in due order on simulated time, which never runs backwards."""

from __future__ import annotations

from collections.abc import Callable

from workstation.clock import SimClock


def recorder(clock: SimClock, fired: list[tuple[str, int]], label: str) -> Callable[[], None]:
    """A timer callback that notes its label and the clock's time while it runs."""

    def callback() -> None:
        fired.append((label, clock.now_ns()))

    return callback


def test_timers_fire_in_due_time_order_with_now_at_each_due_time():
    clock = SimClock(1_000)
    fired: list[tuple[str, int]] = []
    clock.call_at(3_000, recorder(clock, fired, "c"))
    clock.call_at(2_000, recorder(clock, fired, "a"))
    clock.call_at(2_500, recorder(clock, fired, "b"))

    clock.advance_to(5_000)

    assert fired == [("a", 2_000), ("b", 2_500), ("c", 3_000)]
    assert clock.now_ns() == 5_000


def test_timers_due_at_the_same_time_fire_in_the_order_they_were_set():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    for label in ("first", "second", "third"):
        clock.call_at(100, recorder(clock, fired, label))

    clock.advance_to(100)

    assert fired == [("first", 100), ("second", 100), ("third", 100)]


def test_advance_fires_only_timers_due_at_or_before_the_new_time():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    clock.call_at(100, recorder(clock, fired, "at_100"))
    clock.call_at(200, recorder(clock, fired, "at_200"))
    clock.call_at(201, recorder(clock, fired, "at_201"))

    clock.advance_to(99)
    assert fired == []
    assert clock.now_ns() == 99

    clock.advance_to(200)
    assert fired == [("at_100", 100), ("at_200", 200)]
    assert clock.now_ns() == 200

    clock.advance_to(201)
    assert fired == [("at_100", 100), ("at_200", 200), ("at_201", 201)]


def test_each_timer_fires_once():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    clock.call_at(10, recorder(clock, fired, "once"))

    clock.advance_to(10)
    clock.advance_to(20)
    clock.advance_to(30)

    assert fired == [("once", 10)]


def test_cancelled_timer_does_not_fire():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    clock.call_at(100, recorder(clock, fired, "kept_early"))
    cancelled = clock.call_at(150, recorder(clock, fired, "cancelled"))
    clock.call_at(200, recorder(clock, fired, "kept_late"))

    cancelled.cancel()
    clock.advance_to(300)

    assert fired == [("kept_early", 100), ("kept_late", 200)]


def test_timer_cancelled_by_an_earlier_timer_in_the_same_advance_does_not_fire():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    victim = clock.call_at(200, recorder(clock, fired, "victim"))

    def cancel_victim() -> None:
        fired.append(("canceller", clock.now_ns()))
        victim.cancel()

    clock.call_at(100, cancel_victim)
    clock.advance_to(300)

    assert fired == [("canceller", 100)]


def test_advance_to_an_earlier_time_never_moves_the_clock_backwards():
    clock = SimClock(5_000)

    clock.advance_to(4_000)
    assert clock.now_ns() == 5_000

    clock.advance_to(6_000)
    clock.advance_to(5_500)
    assert clock.now_ns() == 6_000


def test_timer_set_for_a_past_time_fires_on_the_next_advance_without_moving_time_back():
    clock = SimClock(1_000)
    fired: list[tuple[str, int]] = []
    clock.call_at(500, recorder(clock, fired, "late"))

    clock.advance_to(1_000)

    assert fired == [("late", 1_000)]
    assert clock.now_ns() == 1_000


def test_timer_scheduled_in_a_callback_for_a_past_time_fires_in_the_same_advance():
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []

    def first() -> None:
        fired.append(("first", clock.now_ns()))
        clock.call_at(50, recorder(clock, fired, "past"))  # already behind now (100)
        clock.call_at(150, recorder(clock, fired, "later"))  # within this advance
        clock.call_at(300, recorder(clock, fired, "beyond"))  # after this advance

    clock.call_at(100, first)
    clock.advance_to(200)

    assert fired == [("first", 100), ("past", 100), ("later", 150)]
    assert clock.now_ns() == 200

    clock.advance_to(300)
    assert fired[-1] == ("beyond", 300)


def test_time_seen_by_timers_only_moves_forward():
    clock = SimClock(0)
    seen: list[int] = []

    def chain(depth: int) -> Callable[[], None]:
        def callback() -> None:
            seen.append(clock.now_ns())
            if depth:
                # each callback reschedules behind the current time
                clock.call_at(clock.now_ns() - 10, chain(depth - 1))

        return callback

    clock.call_at(40, chain(3))
    clock.call_at(60, recorder(clock, [], "other"))
    clock.advance_to(100)

    assert seen == [40, 40, 40, 40]
    assert clock.now_ns() == 100


def test_live_clock_timer_never_runs_before_its_time():
    """asyncio may wake a timer up to one clock tick early; LiveClock re-arms it, so the
    callback always sees a wall time at or after the requested time."""
    import asyncio

    from workstation.clock import LiveClock

    async def scenario() -> list[tuple[int, int]]:
        clock = LiveClock()
        seen: list[tuple[int, int]] = []
        done = asyncio.Event()
        due_times = [clock.now_ns() + offset_ms * 1_000_000 for offset_ms in (1, 5, 20)]
        for due in due_times:
            clock.call_at(due, lambda due=due: (seen.append((due, clock.now_ns())),
                                                len(seen) == 3 and done.set()))
        cancelled = clock.call_at(clock.now_ns() + 2_000_000, lambda: seen.append((0, 0)))
        cancelled.cancel()
        await asyncio.wait_for(done.wait(), timeout=5)
        return seen

    seen = asyncio.run(scenario())
    assert [due for due, _ in seen] == sorted(due for due, _ in seen)
    assert all(fired >= due for due, fired in seen)
    assert (0, 0) not in seen
