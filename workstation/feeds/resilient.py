"""What every websocket connection shares: states on the bus, jittered exponential
backoff, a cap on reconnects per hour, and a stale-data watchdog.

A subclass supplies one connection's life (``_session``: connect, authenticate,
subscribe, consume until it ends) and a way to end it (``_abort``); this base decides
when to try again. Time comes from ``now`` and ``sleep`` (the loop's by default), so
the backoff sequence and the cap are tested on a fake clock.

Why our own loop rather than the SDK's ``_run_forever``: the SDK reconnects by itself,
but says nothing about it (no states to show), never gives up, and cannot be driven by
a fake clock; and a reconnect is where the gap backfill and reconciliation must run.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.feeds.base import FeedState

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
HOUR_S = 3_600.0
STALE_BACKOFF_MAX = 16  # a silent connection is retried at most every 16 x stale_after_s


class FatalConnectionError(RuntimeError):
    """Trying again cannot help (keys refused, no subscription): stop and say why."""


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """A connection's state for the status bar and the log (published on every change)."""

    name: str
    state: FeedState
    ts: int
    detail: str = ""
    retry_in_s: float | None = None


@dataclass(frozen=True, slots=True)
class Resilience:
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    jitter: float = 0.2  # each delay is its step times a uniform factor in [1-j, 1+j]
    max_reconnects_per_hour: int = 30
    stable_s: float = 60.0  # a connection live this long starts the backoff over
    stale_after_s: float | None = 15.0  # None: no watchdog
    check_every_s: float = 1.0


class Backoff:
    """Delays 1, 2, 4, ... capped at 30 s, each jittered, and never outside [first, max]."""

    def __init__(self, params: Resilience, rng: Callable[[], float] | None = None) -> None:
        self._params = params
        self._random = rng or random.Random().random

    def delay(self, attempt: int) -> float:
        p = self._params
        step = min(p.max_delay_s, p.first_delay_s * 2.0 ** (attempt - 1))
        factor = 1.0 + p.jitter * (2.0 * self._random() - 1.0)
        return min(p.max_delay_s, max(p.first_delay_s, step * factor))


class ReconnectBudget:
    """At most ``limit`` reconnects in any hour."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        while self._times and now - self._times[0] >= HOUR_S:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


class ResilientConnection:
    """One websocket connection kept alive; subclasses implement ``_session``/``_abort``."""

    def __init__(self, name: str, bus: EventBus, clock: Clock, params: Resilience, *,
                 now: Callable[[], float] | None = None, sleep: Sleep = asyncio.sleep,
                 rng: Callable[[], float] | None = None) -> None:
        self.name = name
        self._bus = bus
        self._clock = clock
        self._params = params
        self._now = now or (lambda: asyncio.get_running_loop().time())
        self._sleep = sleep
        self._backoff = Backoff(params, rng)
        self._budget = ReconnectBudget(params.max_reconnects_per_hour)
        self.state = FeedState.IDLE
        self.detail = ""
        self.heard = 0  # messages received (the watchdog watches it move)
        self.reconnects = 0
        self.delays: list[float] = []  # every backoff delay waited, in order
        self._stopping = False
        self._wake = asyncio.Event()
        self._live_since: float | None = None
        self._was_live = False
        self._abort_reason = ""  # why the watchdog ended the session under way
        self._tasks: set[asyncio.Task[None]] = set()

    # -- for subclasses ----------------------------------------------------------------
    async def _session(self) -> None:
        """Connect, authenticate, subscribe, call ``_live()``, consume until the end."""
        raise NotImplementedError

    async def _abort(self) -> None:
        """End the session under way (it then returns or raises)."""
        raise NotImplementedError

    def _should_hear(self) -> bool:
        """Whether silence means trouble now (markets open); the watchdog asks."""
        return True

    async def _resumed(self) -> None:
        """Called when a connection is live again after a loss (backfill, reconcile)."""

    def _live(self) -> None:
        self._live_since = self._now()
        resumed = self._was_live
        self._was_live = True
        self._set_state(FeedState.LIVE, "")
        if resumed:
            self._spawn(self._run_resumed())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Until stopped (a stop before the run starts counts) or failed for good."""
        watchdog = None
        if self._params.stale_after_s is not None:
            watchdog = asyncio.get_running_loop().create_task(self._watch())
        attempt = 0
        try:
            while not self._stopping:
                self._set_state(FeedState.CONNECTING, self.detail)
                self._live_since = None
                self._abort_reason = ""
                try:
                    await self._session()
                    reason = self._abort_reason or "the server closed the connection"
                except FatalConnectionError as exc:
                    self._set_state(FeedState.ERROR, f"failed: {exc}")
                    log.error("%s: %s; not reconnecting", self.name, exc)
                    return
                except Exception as exc:  # noqa: BLE001 - any loss of the link is retried
                    reason = self._abort_reason or _describe(exc)
                if self._stopping:
                    break
                now = self._now()
                if self._live_since is not None and now - self._live_since >= \
                        self._params.stable_s:
                    attempt = 0
                attempt += 1
                if not self._budget.allow(now):
                    limit = self._budget.limit
                    self._set_state(FeedState.ERROR,
                                    f"failed: {limit} reconnects in the last hour ({reason}); "
                                    "stopped so as not to hammer the server")
                    log.error("%s: %s", self.name, self.detail)
                    return
                delay = self._backoff.delay(attempt)
                self.delays.append(delay)
                self.reconnects += 1
                self._set_state(FeedState.RECONNECTING,
                                f"{reason}; reconnecting in {delay:.0f} s", retry_in_s=delay)
                log.warning("%s: %s", self.name, self.detail)
                await self._pause(delay)
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if self.state is not FeedState.ERROR:
            self._set_state(FeedState.STOPPED, "")

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, or until stopped."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, waker):
            task.cancel()

    async def _watch(self) -> None:
        """No message for ``stale_after_s`` while one is expected: reconnect. A connection
        still silent after that waits twice as long before the next try (up to
        STALE_BACKOFF_MAX times), so a quiet symbol is not mistaken for a dead link until
        the reconnect cap stops the feed; any message starts over at ``stale_after_s``."""
        base = self._params.stale_after_s
        assert base is not None
        streak = 0
        seen, since = self.heard, self._now()
        while not self._stopping:
            await self._sleep(self._params.check_every_s)
            now = self._now()
            if self.heard != seen:
                streak = 0
            if self.heard != seen or self.state is not FeedState.LIVE:
                seen, since = self.heard, now
                continue
            limit = base * min(2 ** streak, STALE_BACKOFF_MAX)
            if now - since >= limit and self._should_hear():
                self._abort_reason = f"no data for {limit:g} s"
                self._set_state(FeedState.STALE, self._abort_reason)
                log.warning("%s: %s; reconnecting", self.name, self.detail)
                await self._abort()
                streak += 1
                seen, since = self.heard, now

    async def _run_resumed(self) -> None:
        try:
            await self._resumed()
        except Exception:
            log.exception("%s: the work after a reconnect failed", self.name)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._spawn(self._abort())

    def _set_state(self, state: FeedState, detail: str, retry_in_s: float | None = None,
                   ) -> None:
        if state is self.state and detail == self.detail:
            return
        self.state, self.detail = state, detail
        self._bus.publish(ConnectionStatus(self.name, state, self._clock.now_ns(), detail,
                                           retry_in_s))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
