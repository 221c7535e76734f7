"""The local alert endpoint: parsing TradingView-style JSON into signals (pure), and
the real HTTP server on 127.0.0.1 driven by a real aiohttp client."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
from pydantic import ValidationError

from workstation.config import Settings
from workstation.model import Direction, Signal
from workstation.signals.webhook import (
    AlertError,
    AlertServer,
    BadAlert,
    ParsedAlert,
    WebhookSettings,
    parse_alert,
)

INSTRUMENTS = Settings().instrument_map()
NOW_NS = 1_714_570_200_000_000_000  # 2024-05-01T13:30:00Z
TOKEN = "s3cret-token-0123456789"
WRONG = "not-the-token-9876543210"
SETTINGS = WebhookSettings(enabled=True, port=0, token=TOKEN)


def parse(payload: object) -> ParsedAlert:
    return parse_alert(payload, INSTRUMENTS, NOW_NS)


def refusal(payload: object) -> AlertError:
    with pytest.raises(AlertError) as caught:
        parse(payload)
    return caught.value


# -- parse_alert: good alerts ------------------------------------------------------------------
def test_good_alert_becomes_a_signal_with_exactly_the_fields_sent():
    parsed = parse({"symbol": "NQ", "action": "buy", "price": 21012.25,
                    "time": "2024-05-01T13:30:05Z", "comment": "breakout",
                    "source": "tv-momentum", "token": TOKEN, "qty": 2})

    assert parsed.signal == Signal("NQ", Direction.LONG, NOW_NS + 5_000_000_000,
                                   "webhook:tv-momentum", 21012.25, bar=None, notes="breakout")
    assert parsed.ticker == "NQ"
    assert parsed.ignored_fields == ("qty",)


@pytest.mark.parametrize(("ticker", "symbol"), [
    ("CME_MINI:NQ1!", "NQ"),
    ("nasdaq:aapl", "AAPL"),
    ("ES2!", "ES"),
    ("msft", "MSFT"),
    ("btc/usd", "BTC/USD"),
    ("COINBASE:BTCUSD", "BTC/USD"),
])
def test_tradingview_tickers_map_to_configured_symbols(ticker, symbol):
    assert parse({"symbol": ticker, "side": "buy"}).signal.symbol == symbol


@pytest.mark.parametrize(("name", "word", "direction"), [
    ("action", "buy", Direction.LONG),
    ("action", "SELL", Direction.SHORT),
    ("direction", "long", Direction.LONG),
    ("direction", "Short", Direction.SHORT),
    ("side", " sell ", Direction.SHORT),
])
def test_buy_and_long_mean_long_sell_and_short_mean_short(name, word, direction):
    assert parse({"symbol": "ES", name: word}).signal.direction is direction


def test_price_may_be_a_numeric_string():
    assert parse({"symbol": "NQ", "side": "buy", "price": "21012.25"}).signal.price == 21012.25


@pytest.mark.parametrize(("sent", "ts"), [
    ("2024-05-01T13:30:00Z", 1_714_570_200_000_000_000),
    ("2024-05-01T15:30:00.250+02:00", 1_714_570_200_250_000_000),
    (1714570200, 1_714_570_200_000_000_000),  # epoch seconds
    ("1714570200.5", 1_714_570_200_500_000_000),  # epoch seconds as text
    (1714570200.123, 1_714_570_200_123_000_000),  # the float read back exactly as sent
    (1714570200123, 1_714_570_200_123_000_000),  # epoch milliseconds (>= 1e11)
    ("1714570200123", 1_714_570_200_123_000_000),  # epoch milliseconds as text
])
def test_time_reads_iso_with_zone_and_epoch_seconds_or_milliseconds(sent, ts):
    assert parse({"symbol": "NQ", "side": "buy", "time": sent}).signal.ts == ts


def test_alert_without_time_is_stamped_now_without_price_notes_or_source():
    signal = parse({"symbol": "AAPL", "side": "sell"}).signal

    assert (signal.ts, signal.price, signal.notes, signal.source) == (NOW_NS, None, "",
                                                                      "webhook")


def test_notes_come_from_message_and_are_cut_to_200_characters():
    assert parse({"symbol": "NQ", "side": "buy", "message": "x" * 500}).signal.notes == "x" * 200


def test_source_webhook_is_not_prefixed_twice():
    assert parse({"symbol": "NQ", "side": "buy", "source": "webhook"}).signal.source == "webhook"


def test_token_is_not_kept_anywhere_in_the_parsed_alert():
    parsed = parse({"symbol": "NQ", "side": "buy", "token": TOKEN})

    assert TOKEN not in repr(parsed)


# -- parse_alert: bad alerts -------------------------------------------------------------------
KNOWN = "(known: AAPL, BTC/USD, ES, MSFT, NQ)"


@pytest.mark.parametrize(("payload", "status", "message"), [
    ({"side": "buy"}, 400, "missing required field: symbol"),
    ({"symbol": "NQ"}, 400, "missing required field: direction/action/side"),
    ({"symbol": " ", "note": 1}, 400,
     "missing required fields: symbol, direction/action/side"),
    ({"symbol": "XYZ", "side": "buy"}, 422, f"unknown symbol 'XYZ' {KNOWN}"),
    ({"symbol": "NASDAQ:XYZ", "side": "buy"}, 422, f"unknown symbol 'NASDAQ:XYZ' {KNOWN}"),
    ({"symbol": 5, "side": "buy"}, 422, "symbol must be a string, got number"),
    ({"symbol": "NQ", "action": "hold"}, 422, "action 'hold' is not one of long, buy, short, sell"),
    ({"symbol": "NQ", "side": 1}, 422, "side 1 is not one of long, buy, short, sell"),
    ({"symbol": "NQ", "side": "buy", "price": -5}, 422,
     "price must be a finite number > 0, got -5"),
    ({"symbol": "NQ", "side": "buy", "price": 0}, 422, "price must be a finite number > 0, got 0"),
    ({"symbol": "NQ", "side": "buy", "price": "abc"}, 422,
     "price must be a finite number > 0, got 'abc'"),
    ({"symbol": "NQ", "side": "buy", "price": math.inf}, 422,
     "price must be a finite number > 0, got inf"),
    ({"symbol": "NQ", "side": "buy", "price": True}, 422,
     "price must be a finite number > 0, got True"),
    ({"symbol": "NQ", "side": "buy", "time": "2024-05-01T13:30:00"}, 422,
     "time '2024-05-01T13:30:00' has no time zone; add Z or an offset such as +00:00"),
    ({"symbol": "NQ", "side": "buy", "time": "yesterday"}, 422,
     "time 'yesterday' is neither ISO-8601 nor epoch seconds/milliseconds"),
    ({"symbol": "NQ", "side": "buy", "time": -1}, 422, "time -1 is not after 1970-01-01"),
    ({"symbol": "NQ", "side": "buy", "time": 10**15}, 422,
     "time 1000000000000000 is too large for epoch seconds or milliseconds"),
    ({"symbol": "NQ", "side": "buy", "comment": 7}, 422, "comment must be a string, got number"),
    ([{"symbol": "NQ"}], 400, "alert must be a JSON object, got array"),
    ("NQ buy", 400, "alert must be a JSON object, got string"),
])
def test_bad_alert_is_refused_with_status_and_message_naming_the_problem(payload, status,
                                                                         message):
    error = refusal(payload)

    assert (error.status, str(error)) == (status, message)


@pytest.mark.parametrize(("payload", "message"), [
    ({"symbol": "N\x00Q", "side": "buy"},
     "symbol: a control character (U+0000) at character 2 cannot be stored"),
    ({"symbol": "NQ", "action": "bu\ud800y"},
     "action: a lone surrogate (U+D800) at character 3 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "source": "tv\ud800"},
     "source: a lone surrogate (U+D800) at character 3 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "message": "ok\x1b[31m"},
     "message: a control character (U+001B) at character 3 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "time": "2024\udfff"},
     "time: a lone surrogate (U+DFFF) at character 5 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "price": "1\x7f"},
     "price: a control character (U+007F) at character 2 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "qty": {"a": ["ok", "\x7f"]}},
     "qty.a[1]: a control character (U+007F) at character 1 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "bad\ud800key": 1},
     "a field name in the alert: a lone surrogate (U+D800) at character 4 cannot be stored"),
    ({"symbol": "NQ", "side": "buy", "a" * 70: "\x01"},
     f"...{'a' * 57}: a control character (U+0001) at character 1 cannot be stored"),
])
def test_text_that_cannot_be_stored_is_refused_400_naming_the_field(payload, message):
    error = refusal(payload)

    assert (error.status, str(error)) == (400, message)


@pytest.mark.parametrize(("time", "message"), [
    ("9999-12-31T23:59:59+00:00",
     "time '9999-12-31T23:59:59+00:00' is after 2262-04-11, the last time that can be stored"),
    (99_999_999_999,
     "time 99999999999 is after 2262-04-11, the last time that can be stored"),
    ("1970-01-01T00:00:00Z", "time '1970-01-01T00:00:00Z' is not after 1970-01-01"),
    ("0001-01-01T00:00:00+00:00", "time '0001-01-01T00:00:00+00:00' is not after 1970-01-01"),
    ("-1e999999999", "time '-1e999999999' is not after 1970-01-01"),
])
def test_a_time_the_store_cannot_hold_is_refused_422(time, message):
    error = refusal({"symbol": "NQ", "side": "buy", "time": time})

    assert (error.status, str(error)) == (422, message)


def test_the_last_storable_moment_is_accepted():
    assert parse({"symbol": "NQ", "side": "buy", "time": "2262-04-11T23:47:16.854775Z"}
                 ).signal.ts == 9_223_372_036_854_775_000


# -- settings ----------------------------------------------------------------------------------
def test_endpoint_is_off_by_default_and_needs_no_token_then():
    settings = WebhookSettings()

    assert (settings.enabled, settings.host, settings.port, settings.path) == (
        False, "127.0.0.1", 8787, "/alert")


@pytest.mark.parametrize("token", [None, "short-token"])
def test_enabling_without_a_long_enough_token_is_refused_with_a_clear_message(token):
    with pytest.raises(ValidationError) as caught:
        WebhookSettings(enabled=True, token=token)

    assert ("signals.webhook.token: set a token of at least 16 characters to enable the "
            "endpoint") in str(caught.value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_non_loopback_host_is_refused(host):
    with pytest.raises(ValidationError) as caught:
        WebhookSettings(host=host)

    assert "signals.webhook.host: only a loopback address is allowed" in str(caught.value)
    assert repr(host) in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host):
    assert WebhookSettings(host=host).host == host


@pytest.mark.parametrize("port", [-1, 65536])
def test_port_out_of_range_is_refused(port):
    with pytest.raises(ValidationError):
        WebhookSettings(port=port)


# -- the server --------------------------------------------------------------------------------
@dataclass
class Recorder:
    submitted: list[Signal] = field(default_factory=list)
    bad: list[BadAlert] = field(default_factory=list)

    def submit(self, signal: Signal) -> dict[str, object]:
        self.submitted.append(signal)
        return {"id": f"sig-{len(self.submitted)}", "state": "pending", "reason": ""}


@dataclass
class Endpoint:
    server: AlertServer
    record: Recorder
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.server.url

    async def post(self, body: object = None, *, data: bytes | None = None,
                   **kwargs: object) -> tuple[int, dict[str, object]]:
        raw = json.dumps(body).encode() if data is None else data
        async with self.session.post(self.url, data=raw, **kwargs) as response:
            return response.status, await response.json(content_type=None)


class FixedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def endpoint(settings: WebhookSettings = SETTINGS,
                   submit: Callable[[Signal], dict[str, object]] | None = None,
                   monotonic: Callable[[], float] | None = None) -> AsyncIterator[Endpoint]:
    record = Recorder()
    extra = {} if monotonic is None else {"monotonic": monotonic}
    server = AlertServer(settings, INSTRUMENTS, submit or record.submit, lambda: NOW_NS,
                         record.bad.append, **extra)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Endpoint(server, record, session)
    finally:
        await server.stop()


GOOD = {"symbol": "CME_MINI:NQ1!", "action": "buy", "price": 21012.25}


def test_good_alert_is_accepted_with_202_and_the_submit_result():
    async def scenario():
        async with endpoint() as ep:
            status, answer = await ep.post({**GOOD, "token": TOKEN})
            return status, answer, ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (202, {"id": "sig-1", "state": "pending", "reason": ""})
    assert record.submitted == [Signal("NQ", Direction.LONG, NOW_NS, "webhook", 21012.25)]
    assert record.bad == []


@pytest.mark.parametrize("how", ["body", "bearer", "x-bracket-token", "query"])
def test_token_is_accepted_in_body_header_or_query(how):
    body, headers, params = dict(GOOD), {}, {}
    if how == "body":
        body["token"] = TOKEN
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {TOKEN}"
    elif how == "x-bracket-token":
        headers["X-Bracket-Token"] = TOKEN
    else:
        params["token"] = TOKEN

    async def scenario():
        async with endpoint() as ep:
            return await ep.post(body, headers=headers, params=params)

    assert asyncio.run(scenario())[0] == 202


def test_tradingview_text_plain_body_is_read_as_json():
    async def scenario():
        async with endpoint() as ep:
            return await ep.post(data=json.dumps({**GOOD, "token": TOKEN}).encode(),
                                 headers={"Content-Type": "text/plain; charset=utf-8"})

    assert asyncio.run(scenario())[0] == 202


def test_alert_without_token_is_refused_401_and_recorded():
    async def scenario():
        async with endpoint() as ep:
            return *(await ep.post(GOOD)), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (401, {"error": "missing token"})
    assert [(bad.status, bad.message, bad.remote) for bad in record.bad] == [
        (401, "missing token", "127.0.0.1")]
    assert record.bad[0].ts_ns == NOW_NS
    assert json.loads(record.bad[0].body_excerpt) == GOOD
    assert record.submitted == []


@pytest.mark.parametrize("how", ["body", "bearer", "query"])
def test_wrong_token_is_refused_403_and_never_recorded_or_logged(how, caplog):
    caplog.set_level(logging.DEBUG)
    body, headers, params = dict(GOOD), {}, {}
    if how == "body":
        body["token"] = WRONG
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {WRONG}"
    else:
        params["token"] = WRONG

    async def scenario():
        async with endpoint() as ep:
            return *(await ep.post(body, headers=headers, params=params)), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (403, {"error": "wrong token"})
    [bad] = record.bad
    assert (bad.status, bad.message) == (403, "wrong token")
    assert WRONG not in repr(bad.as_dict())
    assert WRONG not in caplog.text and TOKEN not in caplog.text
    if how == "body":
        assert '"token": "***"' in bad.body_excerpt


def test_right_token_is_masked_in_the_record_of_an_otherwise_bad_alert(caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with endpoint() as ep:
            return *(await ep.post({"symbol": "XYZ", "side": "buy", "token": TOKEN})), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (422, {"error": f"unknown symbol 'XYZ' {KNOWN}"})
    [bad] = record.bad
    assert (bad.status, bad.message) == (422, f"unknown symbol 'XYZ' {KNOWN}")
    assert json.loads(bad.body_excerpt) == {"symbol": "XYZ", "side": "buy", "token": "***"}
    assert TOKEN not in caplog.text


def test_body_that_is_not_json_is_refused_400_before_the_token_is_judged():
    async def scenario():
        async with endpoint() as ep:
            return *(await ep.post(data=b"NQ buy now")), ep.record

    status, answer, record = asyncio.run(scenario())

    assert status == 400
    assert answer == {"error": "body is not JSON: Expecting value: line 1 column 1 (char 0)"}
    assert [(bad.status, bad.body_excerpt) for bad in record.bad] == [(400, "NQ buy now")]


def test_a_number_with_too_many_digits_is_refused_400_not_500():
    async def scenario():
        async with endpoint() as ep:
            body = b'{"symbol": "NQ", "price": ' + b"1" * 5000 + b"}"
            return await ep.post(data=body)

    assert asyncio.run(scenario()) == (400, {
        "error": "body is not JSON this endpoint can read: a number has too many digits"})


def test_a_token_holding_a_lone_surrogate_is_a_wrong_token_not_a_server_error():
    async def scenario():
        async with endpoint() as ep:
            body = b'{"symbol": "NQ", "side": "buy", "token": "s3cret\\ud800"}'
            return *(await ep.post(data=body)), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (403, {"error": "wrong token"})
    assert [bad.body_excerpt for bad in record.bad] == [
        '{"symbol": "NQ", "side": "buy", "token": "***"}']


def test_body_that_is_not_utf8_is_refused_400():
    async def scenario():
        async with endpoint() as ep:
            return await ep.post(data=b'{"symbol": "\xff"}',
                                 headers={"Authorization": f"Bearer {TOKEN}"})

    status, answer = asyncio.run(scenario())

    assert status == 400
    assert answer == {"error": "body is not UTF-8 text: invalid start byte at byte 12"}


def test_fields_are_judged_only_after_the_token():
    async def scenario():
        async with endpoint() as ep:
            return await ep.post({"symbol": "XYZ"})

    assert asyncio.run(scenario()) == (401, {"error": "missing token"})


def test_body_larger_than_the_limit_is_refused_413():
    settings = WebhookSettings(enabled=True, port=0, token=TOKEN, max_body_bytes=1024)
    big = {**GOOD, "token": TOKEN, "comment": "x" * 5000}

    async def scenario():
        async with endpoint(settings) as ep:
            return *(await ep.post(big)), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (413, {"error": "body is larger than 1024 bytes"})
    assert [bad.status for bad in record.bad] == [413]
    assert record.submitted == []


def test_chunked_body_larger_than_the_limit_is_refused_413():
    settings = WebhookSettings(enabled=True, port=0, token=TOKEN, max_body_bytes=1024)

    async def chunks():
        for _ in range(10):
            yield b" " * 500

    async def scenario():
        async with endpoint(settings) as ep, ep.session.post(ep.url, data=chunks()) as response:
            return response.status, await response.json()

    assert asyncio.run(scenario()) == (413, {"error": "body is larger than 1024 bytes"})


def test_get_is_refused_405_with_a_json_error():
    async def scenario():
        async with endpoint() as ep, ep.session.get(ep.url) as response:
            return (response.status, response.headers.get("Allow"), await response.json(),
                    ep.record)

    status, allow, answer, record = asyncio.run(scenario())

    assert (status, allow) == (405, "POST")
    assert answer == {"error": "method GET not allowed; send alerts as POST /alert"}
    assert [(bad.status, bad.message) for bad in record.bad] == [(405, answer["error"])]


def test_other_path_is_refused_404_with_a_json_error():
    async def scenario():
        async with endpoint() as ep:
            url = ep.url.replace("/alert", "/orders")
            async with ep.session.post(url, json=GOOD) as response:
                return response.status, await response.json(), ep.record

    status, answer, record = asyncio.run(scenario())

    assert status == 404
    assert answer == {"error": "no such path '/orders'; send alerts as POST /alert"}
    assert [(bad.status, bad.message) for bad in record.bad] == [(404, answer["error"])]


def test_every_refusal_is_recorded_with_its_status_and_message():
    sends = [
        {"data": b"[1, 2"},
        {"body": GOOD},
        {"body": {**GOOD, "token": WRONG}},
        {"body": {"side": "buy", "token": TOKEN}},
        {"body": {**GOOD, "price": "-1", "token": TOKEN}},
        {"body": [GOOD], "params": {"token": TOKEN}},
    ]

    async def scenario():
        async with endpoint() as ep:
            answers = [await ep.post(send.get("body"), data=send.get("data"),
                                     params=send.get("params", {})) for send in sends]
            return answers, ep.record

    answers, record = asyncio.run(scenario())

    assert [status for status, _ in answers] == [400, 401, 403, 400, 422, 400]
    assert [(bad.status, bad.message) for bad in record.bad] == [
        (status, answer["error"]) for status, answer in answers]
    assert record.submitted == []


def test_21st_request_within_a_second_is_refused_429_and_the_next_second_is_open():
    clock = FixedClock()

    async def scenario():
        async with endpoint(monotonic=clock) as ep:
            body = {**GOOD, "token": TOKEN}
            first = [(await ep.post(body))[0] for _ in range(20)]
            refused = await ep.post(body)
            clock.now += 1.0
            later = await ep.post(body)
            return first, refused, later, ep.record

    first, refused, later, record = asyncio.run(scenario())

    assert first == [202] * 20
    assert refused == (429, {"error": "too many requests: at most 20 per second"})
    assert later[0] == 202
    assert [bad.status for bad in record.bad] == [429]
    assert len(record.submitted) == 21


def test_submit_failure_answers_500_internal_error_and_is_logged(caplog):
    def broken(signal: Signal) -> dict[str, object]:
        raise RuntimeError("engine is gone")

    async def scenario():
        async with endpoint(submit=broken) as ep:
            return *(await ep.post({**GOOD, "token": TOKEN})), ep.record

    status, answer, record = asyncio.run(scenario())

    assert (status, answer) == (500, {"error": "internal error"})
    assert "engine is gone" in caplog.text
    assert record.bad == []


def test_start_returns_the_port_and_logs_the_url_without_the_token(caplog):
    caplog.set_level(logging.INFO)

    async def scenario():
        async with endpoint() as ep:
            return ep.server.url, ep.server.running

    url, running = asyncio.run(scenario())

    assert running
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert port > 0 and url == f"http://127.0.0.1:{port}/alert"
    assert f"alert endpoint listening on {url}" in caplog.text
    assert TOKEN not in caplog.text


def test_start_refuses_when_the_endpoint_is_not_enabled():
    server = AlertServer(WebhookSettings(port=0), INSTRUMENTS, Recorder().submit,
                         lambda: NOW_NS, Recorder().bad.append)

    with pytest.raises(RuntimeError, match=r"signals\.webhook\.enabled is false"):
        asyncio.run(server.start())


def test_bad_alert_as_dict_holds_every_field():
    bad = BadAlert(NOW_NS, "127.0.0.1", 403, "wrong token", '{"token": "***"}')

    assert bad.as_dict() == {"ts_ns": NOW_NS, "remote": "127.0.0.1", "status": 403,
                             "message": "wrong token", "body_excerpt": '{"token": "***"}'}
