"""An optional local HTTP endpoint that turns TradingView-style JSON alerts into signals.

TradingView (and tools like it) can POST an alert's message to a URL. The message
is whatever JSON the user typed into the alert, for example::

    {"symbol": "{{ticker}}", "action": "{{strategy.order.action}}",
     "price": {{close}}, "time": "{{timenow}}", "token": "..."}

``parse_alert`` turns that JSON into a :class:`~workstation.model.Signal` (a pure
function, tested without HTTP); :class:`AlertServer` serves it on one path.

Why it looks the way it does:

- Loopback only. The endpoint listens on 127.0.0.1 / ::1 / localhost and the
  settings refuse anything else: it is never exposed to a network. Reaching it
  from TradingView's servers takes a tunnel the user sets up on purpose.
- A token is required when it is on. TradingView cannot set HTTP headers, so the
  token may also come in the JSON body (``"token"``) or the query string, besides
  ``Authorization: Bearer`` and ``X-Bracket-Token``. It is compared in constant
  time and never logged: the access log is off (it would print the query string),
  starting the server protects the token in every log record however it was
  encoded (:mod:`workstation.redaction`), and a request aiohttp cannot parse is
  logged as one WARNING line with the address and the kind of error, never with
  aiohttp's message, which quotes the raw bytes. The body excerpt kept for a
  refused alert has the value of any key that decodes to ``token`` replaced by
  ``***`` (in the raw text too when the body is not JSON), and the token itself
  however it was encoded.
- Text that could not be stored is refused. A lone surrogate (JSON ``"\ud800"``)
  or a control character in any key or string of the alert is a 400 naming the
  field: one such signal once made every store batch holding its orders fail.
- Slow clients are cut off: the request head and the body must each arrive within
  ``client_timeout_s`` (a stalled body is answered 408), then the connection closes.
- TradingView sends ``text/plain``; the body is decoded as UTF-8 JSON whatever
  the content type says.
- Every refused request (4xx) is reported through ``on_bad`` so the engine can
  record it, and answered with JSON ``{"error": message}``.

Checks run in this order: rate limit (429), body size (413) and time (408), UTF-8
and JSON (400), token (401 missing, 403 wrong), then text that cannot be stored (400)
and fields (400 missing, 422 invalid).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator, model_validator

from workstation import redaction
from workstation.model import NS_PER_SECOND, Direction, Instrument, Signal
from workstation.settings_types import Strict, Text
from workstation.text import UnstorableText, check_storable, storable

if TYPE_CHECKING:  # aiohttp (~0.2 s) loads only when the endpoint starts: it is off by default
    from aiohttp import web

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MIN_TOKEN_CHARS = 16
MAX_REQUESTS_PER_SECOND = 20
NOTES_MAX_CHARS = 200
SOURCE_MAX_CHARS = 64
EXCERPT_MAX_CHARS = 500
DEFAULT_SOURCE = "webhook"
REDACTED = redaction.REDACTED
FIELD_NAME_MAX_CHARS = 60
MAX_TIME_NS = 2**63 - 1  # 2262-04-11T23:47:16Z: the last moment an int64 of nanoseconds holds

# Epoch times are told apart by magnitude: below 1e11 they are seconds (1e11 s is
# the year 5138), below 1e14 milliseconds (1e11 ms is March 1973); larger values
# are refused rather than guessed at.
_EPOCH_SECONDS_BELOW = Decimal(10) ** 11
_EPOCH_MILLIS_BELOW = Decimal(10) ** 14

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CONTINUOUS_SUFFIX = re.compile(r"\d+!$")  # TradingView continuous futures: NQ1!, ES2!
# A "token" member's value in raw JSON text (the key in any case and JSON escaping): a
# string, even one cut short, or a bare value.
_TOKEN_KEY = "".join(f"(?:{redaction.encoded(ch)}|{redaction.encoded(ch.upper())})"
                     for ch in "token")
_BODY_TOKEN = re.compile(rf'("{_TOKEN_KEY}"\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|[^\s,}}\]]+)')
_CAPITALS = re.compile(r"(?<!^)(?=[A-Z])")

_DIRECTIONS = {"long": Direction.LONG, "buy": Direction.LONG,
               "short": Direction.SHORT, "sell": Direction.SHORT}
_DIRECTION_FIELDS = ("direction", "action", "side")
_NOTES_FIELDS = ("notes", "comment", "message")
_KNOWN_FIELDS = frozenset({"symbol", "price", "time", "source", "token",
                           *_DIRECTION_FIELDS, *_NOTES_FIELDS})


# -- settings --------------------------------------------------------------------------------
class WebhookSettings(Strict):
    """``[signals.webhook]``: the local alert endpoint; off unless enabled. Strict like every
    settings model (``enabled = "yes"`` is refused)."""

    enabled: bool = False
    host: Text = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8787  # 0: any free port (tests)
    token: Text | None = None
    path: Text = "/alert"
    max_body_bytes: Annotated[int, Field(ge=1, le=10 * 1024 * 1024)] = 65536
    # Seconds a client may take to send the request head, and again the body.
    client_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        host = value.strip().lower()
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"signals.webhook.host: only a loopback address is allowed "
                f"({', '.join(LOOPBACK_HOSTS)}), got {value!r}; the alert endpoint is "
                f"never exposed to the network")
        return host

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/") or any(ch in value for ch in "?# "):
            raise ValueError(f"signals.webhook.path: must start with '/' and hold no '?', '#' "
                             f"or spaces, got {value!r}")
        return value

    @model_validator(mode="after")
    def _token_when_enabled(self) -> WebhookSettings:
        if self.enabled and (self.token is None or len(self.token) < MIN_TOKEN_CHARS):
            raise ValueError(f"signals.webhook.token: set a token of at least "
                             f"{MIN_TOKEN_CHARS} characters to enable the endpoint")
        return self


# -- values ----------------------------------------------------------------------------------
class AlertError(ValueError):
    """An alert that cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedAlert:
    """A valid alert: the signal, the ticker as sent, and fields that were ignored."""

    signal: Signal
    ticker: str
    ignored_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BadAlert:
    """A refused request, for the engine to record. Holds no token."""

    ts_ns: int
    remote: str
    status: int
    message: str
    body_excerpt: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# -- parsing (pure) --------------------------------------------------------------------------
def parse_alert(payload: object, instruments: Mapping[str, Instrument],
                now_ns: int) -> ParsedAlert:
    """Turn decoded alert JSON into a signal; raises :class:`AlertError` (400 for a
    wrong shape, text that cannot be stored or missing fields, 422 for a value that
    cannot be used) and nothing else."""
    if not isinstance(payload, dict):
        raise AlertError(400, f"alert must be a JSON object, got {_json_type(payload)}")
    _check_text(payload)
    direction_field = next((name for name in _DIRECTION_FIELDS
                            if not _blank(payload.get(name))), None)
    missing = ["symbol"] if _blank(payload.get("symbol")) else []
    if direction_field is None:
        missing.append("/".join(_DIRECTION_FIELDS))
    if missing or direction_field is None:
        plural = "s" if len(missing) > 1 else ""
        raise AlertError(400, f"missing required field{plural}: {', '.join(missing)}")
    ticker = payload["symbol"]
    signal = Signal(
        symbol=resolve_symbol(ticker, instruments),
        direction=_direction(direction_field, payload[direction_field]),
        ts=now_ns if _blank(payload.get("time")) else _time_ns(payload["time"]),
        source=_source(payload.get("source")),
        price=None if _blank(payload.get("price")) else _price(payload["price"]),
        bar=None,
        notes=_notes(payload),
    )
    ignored = tuple(sorted(str(key) for key in payload if key not in _KNOWN_FIELDS))
    return ParsedAlert(signal, str(ticker), ignored)


def _check_text(payload: dict[Any, Any]) -> None:
    """Refuse (400) a key or string anywhere in the alert that cannot be stored, naming
    the field; top-level fields are judged first, in the order sent."""
    waiting: deque[tuple[str, object]] = deque([("", payload)])
    while waiting:
        path, value = waiting.popleft()
        try:
            if isinstance(value, str):
                check_storable(_field_name(path), value)
            elif isinstance(value, dict):
                for key, item in value.items():
                    name = str(key)
                    check_storable(f"a field name in {_field_name(path) or 'the alert'}", name)
                    waiting.append((f"{path}.{name}" if path else name, item))
            elif isinstance(value, list):
                waiting.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        except UnstorableText as exc:
            raise AlertError(400, str(exc)) from None


def _field_name(path: str) -> str:
    """A field's path as it can be shown and stored: ``notes``, ``extra.tags[2]``."""
    name = storable(path)
    if len(name) > FIELD_NAME_MAX_CHARS:
        return "..." + name[-(FIELD_NAME_MAX_CHARS - 3):]
    return name


def resolve_symbol(ticker: object, instruments: Mapping[str, Instrument]) -> str:
    """The configured symbol a ticker names, case-insensitively. TradingView tickers map:
    an exchange prefix (``CME_MINI:``) and a continuous-contract suffix (``1!``) are
    dropped, and ``BTCUSD`` finds ``BTC/USD``."""
    if not isinstance(ticker, str):
        raise AlertError(422, f"symbol must be a string, got {_json_type(ticker)}")
    exact = {symbol.upper(): symbol for symbol in instruments}
    compact: dict[str, list[str]] = {}
    for symbol in instruments:
        compact.setdefault(_compact(symbol), []).append(symbol)
    for candidate in _ticker_candidates(ticker):
        if candidate in exact:
            return exact[candidate]
        found = compact.get(_compact(candidate), [])
        if len(found) == 1:
            return found[0]
    known = ", ".join(sorted(instruments))
    raise AlertError(422, f"unknown symbol {_show(ticker)} (known: {known})")


def _ticker_candidates(ticker: str) -> list[str]:
    whole = ticker.strip().upper()
    bare = whole.rsplit(":", 1)[-1].strip()
    root = _CONTINUOUS_SUFFIX.sub("", bare)
    return [name for name in dict.fromkeys((whole, bare, root)) if name]


def _compact(symbol: str) -> str:
    return "".join(ch for ch in symbol.upper() if ch.isalnum())


def _direction(field: str, value: object) -> Direction:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in _DIRECTIONS:
        raise AlertError(422, f"{field} {_show(value)} is not one of "
                              f"{', '.join(_DIRECTIONS)}")
    return _DIRECTIONS[text]


def _price(value: object) -> float:
    number = _number(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise AlertError(422, f"price must be a finite number > 0, got {_show(value)}")
    return number


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value.strip())
    except OverflowError:  # an integer too large for a float
        return math.inf
    return None


def _time_ns(value: object) -> int:
    """ISO-8601 with a zone, or epoch seconds / milliseconds (see the magnitudes above)."""
    if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
        return _iso_ns(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AlertError(422, f"time must be ISO-8601 text or epoch seconds/milliseconds, "
                              f"got {_json_type(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise AlertError(422, f"time must be a finite number, got {_show(value)}")
    # repr of a float is the shortest text that reads back as it: what the JSON said.
    epoch = Decimal(value.strip() if isinstance(value, str) else repr(value))
    if epoch <= 0:  # before the multiplication: -1e999999999 would make a huge integer
        raise AlertError(422, f"time {_show(value)} is not after 1970-01-01")
    if epoch < _EPOCH_SECONDS_BELOW:
        return _in_range(int(epoch * NS_PER_SECOND), value)
    if epoch < _EPOCH_MILLIS_BELOW:
        return _in_range(int(epoch * (NS_PER_SECOND // 1000)), value)
    raise AlertError(422, f"time {_show(value)} is too large for epoch seconds or "
                          f"milliseconds")


def _in_range(ns: int, value: object) -> int:
    """``ns`` if the store can hold it (after 1970, before 2262: an int64 of nanoseconds)."""
    if ns <= 0:
        raise AlertError(422, f"time {_show(value)} is not after 1970-01-01")
    if ns > MAX_TIME_NS:
        raise AlertError(422, f"time {_show(value)} is after 2262-04-11, the last time "
                              f"that can be stored")
    return ns


def _iso_ns(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AlertError(422, f"time {_show(text)} is neither ISO-8601 nor epoch "
                              f"seconds/milliseconds") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AlertError(422, f"time {_show(text)} has no time zone; add Z or an offset "
                              f"such as +00:00")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return _in_range((delta.days * 86_400 + delta.seconds) * NS_PER_SECOND
                     + delta.microseconds * 1_000, text)


def _source(value: object) -> str:
    if _blank(value):
        return DEFAULT_SOURCE
    if not isinstance(value, str):
        raise AlertError(422, f"source must be a string, got {_json_type(value)}")
    name = value.strip()[:SOURCE_MAX_CHARS]
    return DEFAULT_SOURCE if name == DEFAULT_SOURCE else f"{DEFAULT_SOURCE}:{name}"


def _notes(payload: dict[Any, Any]) -> str:
    field = next((name for name in _NOTES_FIELDS if not _blank(payload.get(name))), None)
    if field is None:
        return ""
    value = payload[field]
    if not isinstance(value, str):
        raise AlertError(422, f"{field} must be a string, got {_json_type(value)}")
    return value.strip()[:NOTES_MAX_CHARS]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[:limit] + ("...'" if isinstance(value, str) else "...")


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean",
             int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# -- auth ------------------------------------------------------------------------------------
def _presented_token(request: web.Request, payload: object) -> str | None:
    """The token the caller sent: Authorization Bearer, X-Bracket-Token, ?token=, or the
    body's ``token`` field, in that order. A body token that is not text is still a
    token (a wrong one)."""
    outside = _header_tokens(request)
    if outside:
        return outside
    if isinstance(payload, dict) and payload.get("token") is not None:
        token = payload["token"]
        return token if isinstance(token, str) else json.dumps(token)
    return None


def _check_token(presented: str | None, expected: str) -> None:
    if not presented:
        raise AlertError(401, "missing token")
    # surrogatepass: a JSON "\ud800" (or a header byte aiohttp escaped) is a wrong token,
    # not an encoding error.
    if not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass")):
        raise AlertError(403, "wrong token")


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` with any ``"token": "..."`` value (the key however it was escaped) and
    each secret (however it was encoded) replaced by ***."""
    return redaction.mask(_BODY_TOKEN.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text),
                          secrets)


def body_excerpt(body: bytes, secrets: tuple[str | None, ...]) -> str:
    """What a refused alert's record keeps of its body: the decoded JSON with every
    ``token`` value masked (a key that decodes to "token", however it was escaped),
    or the raw text masked when it is not JSON; storable and at most 500 characters."""
    text = body.decode("utf-8", errors="replace")
    with suppress(ValueError, RecursionError):  # not JSON, or too deep: mask the raw text
        text = json.dumps(_mask_tokens(json.loads(text)), ensure_ascii=False)
    return storable(redact(text, secrets)[:EXCERPT_MAX_CHARS])


def _mask_tokens(value: object) -> object:
    if isinstance(value, dict):
        return {key: REDACTED if str(key).lower() == "token" else _mask_tokens(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_tokens(item) for item in value]
    return value


# -- server ----------------------------------------------------------------------------------
class _RateLimiter:
    """At most ``limit`` admitted requests in any one-second window (refused ones are
    not counted, so a flood does not lock out the next second)."""

    def __init__(self, limit: int, monotonic: Callable[[], float]) -> None:
        self._limit = limit
        self._monotonic = monotonic
        self._admitted: deque[float] = deque()

    def admit(self) -> bool:
        now = self._monotonic()
        while self._admitted and now - self._admitted[0] >= 1.0:
            self._admitted.popleft()
        if len(self._admitted) >= self._limit:
            return False
        self._admitted.append(now)
        return True


class _Refused(Exception):
    """A refusal with the body excerpt already known."""

    def __init__(self, error: AlertError, body: bytes = b"") -> None:
        super().__init__(error.message)
        self.error = error
        self.body = body


class AlertServer:
    """Serves ``POST settings.path`` on a loopback address; see the module docstring."""

    def __init__(self, settings: WebhookSettings, instruments: Mapping[str, Instrument],
                 submit: Callable[[Signal], dict[str, object]], now_ns: Callable[[], int],
                 on_bad: Callable[[BadAlert], None],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._instruments = instruments
        self._submit = submit
        self._now_ns = now_ns
        self._on_bad = on_bad
        self._limiter = _RateLimiter(MAX_REQUESTS_PER_SECOND, monotonic)
        self._runner: web.AppRunner | None = None
        self._port = settings.port

    @property
    def url(self) -> str:
        """Where alerts go (the actual port once started)."""
        host = _bind_host(self._settings.host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._port}{self._settings.path}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> int:
        """Listen; returns the actual port (useful with port 0)."""
        if self._runner is not None:
            raise RuntimeError("alert endpoint is already running")
        if not self._settings.enabled or self._settings.token is None:
            raise RuntimeError("alert endpoint: signals.webhook.enabled is false")
        from aiohttp import web

        redaction.protect(self._settings.token)
        app = web.Application(middlewares=[self._guard])
        app.router.add_post(self._settings.path, self._handle_alert)
        # No access log: it would print the query string, which may hold the token.
        # keepalive_timeout bounds a stalled request head (aiohttp closes a connection
        # still waiting for one then); lingering_time bounds reading the rest of a body
        # that was refused.
        timeout = self._settings.client_timeout_s
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               logger=_ServerLog(logging.getLogger("aiohttp.server"), {}),
                               keepalive_timeout=timeout, lingering_time=timeout)
        await runner.setup()
        host = _bind_host(self._settings.host)
        try:
            await web.TCPSite(runner, host, self._settings.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(exc.errno, f"alert endpoint: cannot listen on "
                                     f"{host}:{self._settings.port}: {exc.strerror}") from None
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("alert endpoint listening on %s", self.url)
        return self._port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("alert endpoint stopped")

    # -- request handling ------------------------------------------------------------------
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Rate limit, then turn every refusal (ours or aiohttp's 404/405) into JSON."""
        from aiohttp import web

        try:
            if not self._limiter.admit():
                raise _Refused(AlertError(429, f"too many requests: at most "
                                               f"{MAX_REQUESTS_PER_SECOND} per second"))
            return await handler(request)
        except _Refused as refused:
            return self._refuse(request, refused.error, refused.body)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return self._refuse(request, AlertError(exc.status,
                                                    self._http_message(request, exc)))
        except Exception:
            log.exception("alert endpoint: handling %s %s failed", request.method, request.path)
            return web.json_response({"error": "internal error"}, status=500)

    # what aiohttp's ``@web.middleware`` sets, without importing aiohttp at module load
    _guard.__middleware_version__ = 1  # type: ignore[attr-defined]

    def _http_message(self, request: web.Request, exc: web.HTTPException) -> str:
        where = f"send alerts as POST {self._settings.path}"
        if exc.status == 404:
            return f"no such path {request.path!r}; {where}"
        if exc.status == 405:
            return f"method {request.method} not allowed; {where}"
        return exc.reason

    async def _handle_alert(self, request: web.Request) -> web.Response:
        from aiohttp import web

        body = await self._read_body(request)
        try:
            payload = decode_body(body)
            _check_token(_presented_token(request, payload), self._settings.token or "")
            parsed = parse_alert(payload, self._instruments, self._now_ns())
        except AlertError as error:
            raise _Refused(error, body) from None
        try:
            result = self._submit(parsed.signal)
            return web.json_response(result, status=202)
        except Exception:
            log.exception("alert endpoint: submitting %s %s failed", parsed.signal.symbol,
                          parsed.signal.direction)
            return web.json_response({"error": "internal error"}, status=500)

    async def _read_body(self, request: web.Request) -> bytes:
        from aiohttp import web

        limit = self._settings.max_body_bytes
        too_large = AlertError(413, f"body is larger than {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise _Refused(too_large)
        body = bytearray()
        timeout = self._settings.client_timeout_s
        try:
            async with asyncio.timeout(timeout):
                async for chunk in request.content.iter_chunked(16_384):
                    body.extend(chunk)
                    if len(body) > limit:
                        raise _Refused(too_large, bytes(body))
        except TimeoutError:
            raise _Refused(AlertError(408, f"body not received within {timeout:g} s"),
                           bytes(body)) from None
        except web.RequestPayloadError as exc:  # broken chunks or compression
            raise _Refused(AlertError(400, f"body could not be read: {_reason(exc)}"),
                           bytes(body)) from None
        except ConnectionError:
            raise _Refused(AlertError(400, "the client closed the connection before the "
                                           "whole body arrived"), bytes(body)) from None
        return bytes(body)

    def _refuse(self, request: web.Request, error: AlertError,
                body: bytes = b"") -> web.Response:
        from aiohttp import web

        secrets = (self._settings.token, _header_tokens(request))
        message = storable(redact(error.message, secrets))
        bad = BadAlert(self._now_ns(), storable(request.remote or ""), error.status, message,
                       body_excerpt(body, secrets))
        log.warning("alert refused from %s: %d %s", bad.remote, bad.status, message)
        try:
            self._on_bad(bad)
        except Exception:
            log.exception("alert endpoint: recording a refused alert failed")
        headers = {"Allow": "POST"} if error.status == 405 else None
        response = web.json_response({"error": message}, status=error.status, headers=headers)
        if error.status == 408:
            response.force_close()  # the client stalled: do not wait for its next request
        return response


class _ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger for the endpoint. A request aiohttp cannot parse (a bad
    request line, oversized headers, garbage bytes) is the client's doing: it becomes
    one WARNING line with the address and the kind of error, never aiohttp's message
    (which quotes the raw bytes, token included) nor a traceback at ERROR. Anything
    else goes on to ``aiohttp.server`` unchanged."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        from aiohttp import web
        from aiohttp.http_exceptions import HttpProcessingError

        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            remote = args[0] if args and isinstance(args[0], str) else "an unknown address"
            log.warning("alert endpoint: malformed request from %s: %s (HTTP %s)",
                        remote, _reason(exc), exc.code)
        elif isinstance(exc, web.RequestPayloadError):
            # A broken body, already refused (and logged) by the handler; aiohttp meets the
            # error again while draining the rest of the body before closing.
            log.debug("alert endpoint: dropped the rest of a malformed body")
        else:
            super().log(level, msg, *args, **kwargs)


def _reason(exc: Exception) -> str:
    """A short reason that quotes nothing the client sent: ``LineTooLong`` -> line too long
    (for aiohttp's payload error, the parser error that caused it)."""
    from aiohttp import web
    from aiohttp.http_exceptions import HttpProcessingError

    cause = exc.__cause__ if isinstance(exc, web.RequestPayloadError) else exc
    if not isinstance(cause, HttpProcessingError):
        return "malformed body"
    return _CAPITALS.sub(" ", type(cause).__name__).lower()


def decode_body(body: bytes) -> object:
    """A request body as JSON; raises :class:`AlertError` (400) and nothing else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AlertError(400, f"body is not UTF-8 text: {exc.reason} at byte {exc.start}"
                         ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlertError(400, f"body is not JSON: {exc}") from None
    except RecursionError:
        raise AlertError(400, "body is not JSON this endpoint can read: nested too deeply"
                         ) from None
    except ValueError:  # an integer of more digits than Python converts
        raise AlertError(400, "body is not JSON this endpoint can read: a number has too "
                              "many digits") from None


def _header_tokens(request: web.Request) -> str | None:
    """A token sent outside the body (possibly a wrong one): Authorization Bearer, then
    X-Bracket-Token, then ``?token=``."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-Bracket-Token") or request.query.get("token")


def _bind_host(host: str) -> str:
    # "localhost" may resolve to two addresses, which with port 0 get two ports.
    return "127.0.0.1" if host == "localhost" else host
