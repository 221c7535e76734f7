"""Secrets never reach a log line, however they were encoded.

A token can reach the log without anyone logging it on purpose: aiohttp once
echoed raw request bytes (``?token=...``) in its parser errors, and a JSON body
may spell the same token ``"s3cr\\u0065t"``, ``s3cr%65t`` or ``s3cr%2565t``.
Redaction therefore matches each character of a secret in any mix of its plain,
percent-encoded (also twice), backslash-escaped (``\\uXXXX``, ``\\xXX``, ``\\c``,
doubled backslashes as ``repr`` writes them) and form (``+`` for a space) forms.

Where it runs: :func:`protect` wraps the log-record factory
(``logging.setLogRecordFactory``). Every record of every logger is made there,
once, before any handler sees it, so handlers added later (the Log panel's
buffer, a test's file handler) are covered too; a filter on the root logger
would miss records propagated from child loggers, and filters on handlers would
miss handlers added after the call. The factory formats the message eagerly,
masks it and clears ``args``; an exception's traceback and a stack are formatted
and masked into ``exc_text`` / ``stack_info``, which every standard formatter
prints instead of formatting ``exc_info`` again; ``exc_info`` is dropped when its
text held a secret (so no other formatter can print the original).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

REDACTED = "***"
# Shorter secrets would mask ordinary words; the alert token needs at least 16 characters.
MIN_SECRET_CHARS = 8
# Longer ones (a wrong token of kilobytes in a header) are masked as written: a pattern for
# every encoding of 8,000 characters takes most of a second to compile.
MAX_ENCODED_CHARS = 256

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_formatter = logging.Formatter()


def protect(secret: str) -> None:
    """Keep ``secret`` out of every log record from now on (idempotent)."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"a secret to redact needs at least {MIN_SECRET_CHARS} characters")
    global _pattern
    with _lock:
        if secret not in _secrets:
            _secrets.add(secret)
            _pattern = _compile(tuple(sorted(_secrets, key=len, reverse=True)))
        current = logging.getLogRecordFactory()
        if getattr(current, "redacts", False) is not True:
            logging.setLogRecordFactory(_redacting(current))


def redact(text: str) -> str:
    """``text`` with every protected secret, in any encoding, replaced by ``***``."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(REDACTED, text)


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each of ``secrets`` (and every protected one), in any encoding,
    replaced by ``***``; for text that is stored rather than logged."""
    for secret in secrets:
        if secret and MIN_SECRET_CHARS <= len(secret) <= MAX_ENCODED_CHARS:
            text = _compile((secret,)).sub(REDACTED, text)
        elif secret:
            text = text.replace(secret, REDACTED)
    return redact(text)


def encoded(literal: str) -> str:
    """A regular expression matching ``literal`` written in any mix of the encodings above."""
    return "".join(_char(ch) for ch in literal)


@lru_cache(maxsize=64)
def _compile(secrets: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{encoded(secret)})" for secret in secrets))


def _char(ch: str) -> str:
    code = ord(ch)
    data = ch.encode("utf-8", "surrogatepass")
    forms = [re.escape(ch),
             "".join(f"%(?:25)*{_hex(byte, 2)}" for byte in data),
             "".join(rf"\\+x{_hex(byte, 2)}" for byte in data)]
    if code < 0x100:
        forms.append(rf"\\+x{_hex(code, 2)}")
    if code < 0x10000:
        forms.append(rf"\\+u{_hex(code, 4)}")
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms += [rf"\\+u{_hex(high, 4)}\\+u{_hex(low, 4)}", rf"\\+U{_hex(code, 8)}"]
    if not ch.isalnum():
        forms.append(rf"\\+{re.escape(ch)}")
    if ch == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(dict.fromkeys(forms)) + ")"


def _hex(number: int, width: int) -> str:
    """Hex digits that match in either case: 0x6f as ``6[fF]``."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _scrub(record)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    return factory


def _scrub(record: logging.LogRecord) -> None:
    """Mask the record's message, traceback and stack in place (see the module docstring)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - any __str__ may raise; the record must still be made
        message = (f"{_printable(record.msg, str)} (arguments that do not fit the message: "
                   f"{_printable(record.args, repr)})")
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        text = _formatter.formatException(record.exc_info)
        record.exc_text = redact(text)
        if record.exc_text != text:
            record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _printable(value: object, show: Callable[[object], str]) -> str:
    try:
        return show(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not stop the logging call
        return f"<{type(value).__name__} that cannot be shown>"
