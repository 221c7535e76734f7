"""The typed in-process event bus.

Handlers subscribe to an event type and are called synchronously, in
subscription order, on the loop thread. One failing handler is logged with its
context and counted; delivery to the others always goes on (invariant 3).
Per-handler call counts are exact; handler time is sampled (see _SAMPLE_MASK).

``defer(fn)`` runs ``fn`` once the outermost publish (or ``deferring()`` block) in
progress has returned, in the order deferred: the strategy host hands fills to
plugin code this way, so the broker has finished handling the event that produced
a fill (its protective legs are working) before any plugin sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]

_MAX_LOGGED_ERRORS_PER_HANDLER = 20
# Time one publish in 8 of each event type: timing every call cost ~20% of the tick path.
# Counts stay exact; the loop-lag monitor catches any single slow call.
_SAMPLE_MASK = 7


@dataclass(slots=True)
class HandlerStats:
    name: str
    event_type: str
    calls: int = 0  # brought up to date by EventBus.stats()
    errors: int = 0
    sampled: int = 0
    sampled_ns: int = 0
    max_ns: int = 0  # the slowest sampled call
    last_error: str = ""
    since: int = 0  # publishes of its type before it subscribed

    @property
    def mean_us(self) -> float:
        return self.sampled_ns / self.sampled / 1_000 if self.sampled else 0.0

    @property
    def total_s(self) -> float:
        """Estimated time spent in this handler (sampled mean x calls)."""
        return self.mean_us * self.calls / 1e6


class EventBus:
    def __init__(self) -> None:
        self._subs: dict[type, list[tuple[Handler, HandlerStats]]] = {}
        self._counts: dict[type, int] = {}  # publishes per event type
        self.published = 0
        self.errors = 0
        self._depth = 0  # publishes (and deferring blocks) in progress
        self._deferred: list[Callable[[], None]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None], name: str = "") -> None:
        label = name or getattr(handler, "__qualname__", repr(handler))
        stats = HandlerStats(label, event_type.__name__)
        stats.since = self._counts.get(event_type, 0)
        self._subs.setdefault(event_type, []).append((handler, stats))

    def unsubscribe(self, event_type: type, handler: Handler) -> None:
        subs = self._subs.get(event_type, [])
        self._subs[event_type] = [sub for sub in subs if sub[0] != handler]

    def publish(self, event: object) -> None:
        """Every handler of the event's type, in order; one publish in eight of a type is
        timed (per handler). Counting per type rather than per handler keeps the untimed
        path to a bare loop: a bar backtest publishes two events per bar."""
        self.published += 1
        kind = type(event)
        subs = self._subs.get(kind)
        if not subs:
            return
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        self._depth += 1
        try:
            if count & _SAMPLE_MASK:
                for handler, stats in subs:
                    try:
                        handler(event)
                    except Exception as exc:  # noqa: BLE001 - isolation is the point
                        self._record_failure(stats, event, exc)
            else:
                self._publish_timed(event, subs)
        finally:
            self._depth -= 1
        if not self._depth and self._deferred:
            self._run_deferred()

    def _publish_timed(self, event: object, subs: list[tuple[Handler, HandlerStats]]) -> None:
        for handler, stats in subs:
            started = perf_counter_ns()
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._record_failure(stats, event, exc)
            elapsed = perf_counter_ns() - started
            stats.sampled += 1
            stats.sampled_ns += elapsed
            if elapsed > stats.max_ns:
                stats.max_ns = elapsed

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the outermost publish in progress returns (now, if none is)."""
        if self._depth:
            self._deferred.append(fn)
        else:
            fn()

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Hold deferred work until the block ends, as an outermost publish would (for work
        that starts outside any publish: a timer, a strategy's start)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if not self._depth and self._deferred:
            self._run_deferred()

    def _run_deferred(self) -> None:
        """Deferred work in order; what it defers in turn runs in the same pass."""
        self._depth += 1
        try:
            while self._deferred:
                batch, self._deferred = self._deferred, []
                for fn in batch:
                    try:
                        fn()
                    except Exception:  # isolation, as for handlers
                        self.errors += 1
                        log.exception("deferred %r failed", fn)
        finally:
            self._depth -= 1

    def _record_failure(self, stats: HandlerStats, event: object, exc: Exception) -> None:
        self.errors += 1
        stats.errors += 1
        stats.last_error = f"{type(exc).__name__}: {exc}"
        if stats.errors <= _MAX_LOGGED_ERRORS_PER_HANDLER:
            log.error(
                "handler %s failed on %s (%d errors so far): %s",
                stats.name,
                _describe(event),
                stats.errors,
                stats.last_error,
                exc_info=exc,
            )
        elif stats.errors == _MAX_LOGGED_ERRORS_PER_HANDLER + 1:
            log.error("handler %s keeps failing; further errors are only counted", stats.name)

    def stats(self) -> list[HandlerStats]:
        """Every handler's figures; call counts are exact (publishes since it subscribed)."""
        found = []
        for kind, subs in self._subs.items():
            count = self._counts.get(kind, 0)
            for _, stats in subs:
                stats.calls = count - stats.since
                found.append(stats)
        return found


def _describe(event: object) -> str:
    text = repr(event)
    return text if len(text) <= 160 else text[:157] + "..."
