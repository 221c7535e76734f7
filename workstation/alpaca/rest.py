"""Running alpaca-py's blocking REST clients without blocking the loop (invariant 2).

Every call goes to one dedicated thread, in order, bounded twice: the HTTP session has a
timeout (the SDK sets none, so a silent server would hold the thread forever) and the
loop waits no longer than that. Alpaca's 200 requests a minute are spent from a token
bucket before each call; a 429 is retried from the loop with backoff, never by the SDK
sleeping in the thread (its own retries are switched off).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from alpaca.common.exceptions import APIError

log = logging.getLogger(__name__)

T = TypeVar("T")
RATE_LIMITED = 429
RETRY_429_DELAYS_S = (1.0, 2.0, 4.0)


class RestTimeout(TimeoutError):
    """The server did not answer in time (the request may still have been carried out)."""


class RestError(RuntimeError):
    """A refusal from Alpaca: the HTTP status, Alpaca's code and its message."""

    def __init__(self, status: int | None, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TimeoutSession(requests.Session):
    """A requests session whose every request has a timeout unless one is given."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, *args, **kwargs)


def bounded(client: Any, timeout_s: float) -> Any:
    """An SDK REST client with a timeout on every request and no sleeping retries."""
    client._session = TimeoutSession(timeout_s)  # the SDK's RESTClient keeps it here
    client._retry = 0  # a 429 is raised at once; RestRunner retries it from the loop
    return client


class RateLimiter:
    """A token bucket: ``per_minute`` requests a minute, bursts up to that many."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._tokens = self.capacity
        self._now = now
        self._last = now()

    def wait_s(self) -> float:
        """Take a token; how long to wait first (0 when one was there)."""
        now = self._now()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class RestRunner:
    def __init__(self, name: str, timeout_s: float, per_minute: int,
                 retry_delays_s: tuple[float, ...] = RETRY_429_DELAYS_S) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self.limiter = RateLimiter(per_minute)
        self.retry_delays_s = retry_delays_s
        self.rate_limited = 0  # 429 answers seen
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-rest")

    async def call(self, fn: Callable[[], T], what: str) -> T:
        """``fn()`` on the REST thread; RestTimeout or RestError with a clear message."""
        loop = asyncio.get_running_loop()
        for attempt in range(len(self.retry_delays_s) + 1):
            wait = self.limiter.wait_s()
            if wait > 0:
                await asyncio.sleep(wait)
            future = loop.run_in_executor(self._executor, fn)
            try:
                return await asyncio.wait_for(future, self.timeout_s + 1.0)
            except (TimeoutError, requests.Timeout):
                raise RestTimeout(f"{what}: no answer from Alpaca within "
                                  f"{self.timeout_s:g} s") from None
            except requests.RequestException as exc:
                raise RestError(None, None, f"{what}: cannot reach Alpaca "
                                f"({type(exc).__name__})") from None
            except APIError as exc:
                status = _status(exc)
                if status == RATE_LIMITED and attempt < len(self.retry_delays_s):
                    self.rate_limited += 1
                    delay = self.retry_delays_s[attempt]
                    log.warning("%s: %s: rate limited by Alpaca (429); retrying in %g s",
                                self.name, what, delay)
                    await asyncio.sleep(delay)
                    continue
                if status == RATE_LIMITED:
                    self.rate_limited += 1
                raise RestError(status, _code(exc), f"{what}: {_message(exc)}"
                                f"{f' (HTTP {status})' if status else ''}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _status(exc: APIError) -> int | None:
    try:
        return exc.status_code
    except AttributeError:
        return None


def _code(exc: APIError) -> int | None:
    try:
        return int(exc.code)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (AttributeError, KeyError, TypeError, ValueError):
        return str(exc)
