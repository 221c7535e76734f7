"""Property tests of the alert payload parser (issue 11): whatever a request body holds,
``decode_body`` + ``parse_alert`` give a signal or an ``AlertError``, never another
exception; an accepted signal holds only finite numbers and text that can be stored; a
refusal's message can be stored too; and a refused body's excerpt never holds the token."""

from __future__ import annotations

import json
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.config import Settings
from workstation.signals.webhook import (
    MAX_TIME_NS,
    AlertError,
    ParsedAlert,
    body_excerpt,
    decode_body,
    parse_alert,
)
from workstation.text import check_storable

INSTRUMENTS = Settings().instrument_map()
NOW_NS = 1_714_570_200_000_000_000
TOKEN = "prop-t0ken_0123456789"
PROPERTY = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates and control characters included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, 5e-324, 2**63, 10**11, 10**14, "1e999999999",
                     "-1e999999999", "1e-999999999", "nan", "inf", "", " ", "\ud800",
                     "\x00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00",
                     "2024-05-01T13:30:05Z", "2024-05-01T13:30:05"]),
    any_text,
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=20)
tickers = st.one_of(st.sampled_from(["NQ", "CME_MINI:NQ1!", "es", "BTCUSD", "btc/usd",
                                     "AAPL", "XYZ", "NQ\ud800", "N\x00Q"]), json_values)
words = st.one_of(st.sampled_from(["buy", "sell", "long", " Short ", "hold"]), json_values)
times = st.one_of(st.integers(min_value=-(10**20), max_value=10**20),
                  st.floats(allow_nan=True, allow_infinity=True),
                  st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
                  st.integers(min_value=0, max_value=10**16).map(str), json_values)
payloads = st.one_of(
    st.fixed_dictionaries({}, optional={
        "symbol": tickers, "action": words, "direction": words, "side": words,
        "price": st.one_of(st.floats(allow_nan=True, allow_infinity=True), json_values),
        "time": times, "source": json_values, "notes": json_values, "comment": json_values,
        "message": json_values, "token": json_values, "extra": json_values}),
    json_values,
)


def _parse(payload: object) -> ParsedAlert | None:
    """The parse, with the properties every outcome must have checked."""
    try:
        parsed = parse_alert(payload, INSTRUMENTS, NOW_NS)
    except AlertError as error:
        assert error.status in (400, 422)
        check_storable("message", error.message)
        return None
    signal = parsed.signal
    assert signal.symbol in INSTRUMENTS
    assert 0 < signal.ts <= MAX_TIME_NS
    assert signal.price is None or (math.isfinite(signal.price) and signal.price > 0)
    for name, text in (("source", signal.source), ("notes", signal.notes),
                       ("ticker", parsed.ticker), *(("field", f) for f in parsed.ignored_fields)):
        check_storable(name, text)
    return parsed


@PROPERTY
@given(payloads)
def test_any_decoded_payload_gives_a_storable_signal_or_an_alert_error(payload):
    _parse(payload)


@PROPERTY
@given(payloads)
def test_any_json_body_gives_a_storable_signal_or_an_alert_error(payload):
    # Python's json writes a lone surrogate as "\ud800" and non-finite floats as NaN/Infinity,
    # which decode back to what was sent.
    try:
        body = json.dumps(payload).encode()
    except ValueError:  # a circular or unsupported value: not a body a client can send
        return
    try:
        decoded = decode_body(body)
    except AlertError as error:
        assert error.status == 400
        return
    _parse(decoded)


@PROPERTY
@given(st.binary(max_size=200))
def test_any_bytes_decode_to_json_or_a_400_refusal(body):
    try:
        decode_body(body)
    except AlertError as error:
        assert error.status == 400
        check_storable("message", error.message)


def _unescaped(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda found: chr(int(found[1], 16)), text)


@st.composite
def bodies_holding_the_token(draw: st.DrawFn) -> bytes:
    """A JSON text whose ``token`` key and value have any mix of characters written as
    ``\\uXXXX``, among other fields; sometimes cut short (then it is no longer JSON)."""
    def written(text: str) -> str:
        escaped = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        return "".join(f"\\u{ord(ch):04x}" if flag else ch
                       for ch, flag in zip(text, escaped, strict=True))

    others = draw(st.dictionaries(st.sampled_from(["symbol", "notes", "x"]), scalars,
                                  max_size=2))
    key = draw(st.sampled_from(["token", "Token", "TOKEN"]))
    fields = [json.dumps(others)[1:-1]] if others else []
    fields.insert(draw(st.integers(0, len(fields))), f'"{written(key)}": "{written(TOKEN)}"')
    text = "{" + ", ".join(fields) + "}"
    cut = draw(st.one_of(st.just(len(text)), st.integers(0, len(text))))
    return text[:cut].encode()


@PROPERTY
@given(bodies_holding_the_token())
def test_a_refused_body_excerpt_never_holds_the_token(body):
    excerpt = body_excerpt(body, (TOKEN,))

    assert TOKEN not in _unescaped(excerpt)
    check_storable("excerpt", excerpt)
