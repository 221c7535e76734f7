"""The alert endpoint under attack: the real AlertServer on 127.0.0.1, real HTTP clients
and raw sockets, a real log file and (for unstorable text) the real engine and store.

What was seen before: aiohttp's parser errors echoed raw request bytes (the token
included) with a traceback at ERROR; a JSON-escaped token was kept unmasked in a
refused alert's record; a half-sent request held its connection open for good; a
lone surrogate in an alert's ``source`` was accepted and broke every store batch."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from tests.unit.strategy_desk import StrategyDesk, desk_settings
from workstation.config import DATABASE_FILE, Settings
from workstation.model import Signal
from workstation.signals.settings import SignalSettings
from workstation.signals.webhook import AlertServer, BadAlert, WebhookSettings

TOKEN = "alert-t0ken_for.security-tests"
NOW_NS = 1_714_570_200_000_000_000
DEADLINE_S = 10.0
TIMEOUT_S = 0.2
LOGGER = "workstation.signals.webhook"


def percent_all(text: str, case: str = "upper") -> str:
    encoded = "".join(f"%{byte:02X}" for byte in text.encode())
    return encoded if case == "upper" else encoded.lower()


def json_escaped(text: str, every: int = 1) -> str:
    """Every ``every``-th character written as a JSON ``\\uXXXX`` escape."""
    return "".join(f"\\u{ord(ch):04x}" if index % every == 0 else ch
                   for index, ch in enumerate(text))


TOKEN_FORMS = {
    "plain": TOKEN,
    "quoted": quote(TOKEN, safe=""),
    "percent": percent_all(TOKEN),
    "percent-lower": percent_all(TOKEN, "lower"),
    "json": json_escaped(TOKEN),
    "json-mixed": json_escaped(TOKEN, every=2),
    "json-mixed-odd": json_escaped(TOKEN[1:], every=2),  # the other characters escaped
}


@contextmanager
def attached_log(path: Path) -> Iterator[Path]:
    """A file handler on the root logger at DEBUG for the length of a ``with`` block."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A real file handler on the root logger at DEBUG, as ``--verbose`` runs log."""
    with attached_log(tmp_path / "bracket.log") as path:
        yield path


@asynccontextmanager
async def serve(submit: Callable[[Signal], dict[str, object]] | None = None,
                **settings: object) -> AsyncIterator[tuple[AlertServer, list[BadAlert]]]:
    refused: list[BadAlert] = []
    fields = {"enabled": True, "port": 0, "token": TOKEN, **settings}
    server = AlertServer(WebhookSettings(**fields), Settings().instrument_map(),  # type: ignore[arg-type]
                         submit or (lambda signal: {"id": "sig-1"}), lambda: NOW_NS,
                         refused.append)
    await server.start()
    try:
        yield server, refused
    finally:
        await server.stop()


async def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), DEADLINE_S)
    finally:
        writer.close()


def port_of(server: AlertServer) -> int:
    return int(URL(server.url).port or 0)


# -- the log never holds the token ---------------------------------------------------------
MALFORMED = {
    "bad method": (b"GARBAGE /alert?token=" + TOKEN.encode() + b" HTTP/1.1\r\n\r\n",
                   "bad http method"),
    "bad request line": (b"POST /alert?token=" + TOKEN.encode() + b" HTTP/1.1 x\r\n\r\n",
                         "bad status line"),
    "oversized header": (b"POST /alert HTTP/1.1\r\nX-Bracket-Token: " + TOKEN.encode()
                         + b"\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", "line too long"),
    "garbage bytes": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + TOKEN.encode()
                      + b"\r\n\r\n", "bad http method"),
    "bad header name": (b"POST /alert HTTP/1.1\r\nHo st: " + TOKEN.encode() + b"\r\n\r\n",
                        "bad http message"),
}


def test_the_token_never_reaches_the_log_file_however_a_client_sends_it(log_file):
    def submit(signal: Signal) -> dict[str, object]:
        raise RuntimeError(f"the engine choked on an alert with token {TOKEN}")

    async def scenario() -> list[int]:
        async with serve(submit) as (server, _), aiohttp.ClientSession() as http:
            good = {"symbol": "NQ", "action": "buy"}
            statuses = []
            for form in ("percent", "percent-lower", "json", "json-mixed"):
                url = URL(f"{server.url}?token={TOKEN_FORMS[form]}&form={form}", encoded=True)
                async with http.post(url, data=json.dumps(good)) as answer:
                    statuses.append(answer.status)
            escaped_body = (f'{{"tok\\u0065n": "{TOKEN_FORMS["json-mixed"]}", '
                            f'"symbol": "NQ", "notes": "{TOKEN_FORMS["json-mixed-odd"]}"}}')
            async with http.post(server.url, data=escaped_body.encode()) as answer:
                statuses.append(answer.status)
            async with http.post(f"{server.url}/elsewhere?token={TOKEN}") as answer:
                statuses.append(answer.status)
            for data, _reason in MALFORMED.values():
                response = await exchange(port_of(server), data)
                statuses.append(int(response.split(b" ")[1]))
            return statuses

    statuses = asyncio.run(scenario())

    # percent-encoded tokens decode to the right one (500: the engine failed); an escaped
    # JSON text in a query is a wrong token; the body lacks a direction; a path not served.
    assert statuses == [500, 500, 403, 403, 400, 404, 400, 400, 400, 400, 400]
    text = log_file.read_text(encoding="utf-8")
    for name, form in TOKEN_FORMS.items():
        assert form not in text, f"the token ({name}) is in the log"
    assert "RuntimeError: the engine choked on an alert with token ***" in text


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_malformed_request_is_one_warning_line_without_its_bytes(kind, tmp_path):
    data, reason = MALFORMED[kind]

    async def scenario() -> tuple[bytes, list[BadAlert], str]:
        async with serve() as (server, refused):
            with attached_log(tmp_path / "during.log") as path:  # only lines of this request
                response = await exchange(port_of(server), data)
                return response, refused, path.read_text(encoding="utf-8")

    response, refused, text = asyncio.run(scenario())

    assert response.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert text.splitlines() == [
        f"WARNING {LOGGER}: alert endpoint: malformed request from 127.0.0.1: {reason} "
        f"(HTTP 400)"]
    assert refused == []  # aiohttp answered before any handler ran


# -- refused alerts keep no token ------------------------------------------------------------
@pytest.mark.parametrize(("body", "excerpt"), [
    (f'{{"tok\\u0065n": "{TOKEN}", "symbol": "NQ"}}', '{"token": "***", "symbol": "NQ"}'),
    (f'{{"\\u0074\\u006f\\u006b\\u0065\\u006e": "{json_escaped(TOKEN, every=3)}"}}',
     '{"token": "***"}'),
    (f'{{"symbol": "NQ", "token": "{TOKEN}", "notes": "mine is {json_escaped(TOKEN)}"}}',
     '{"symbol": "NQ", "token": "***", "notes": "mine is ***"}'),
    (f'{{"symbol": "NQ", "extra": {{"Token": "{TOKEN}"}}}}',
     '{"symbol": "NQ", "extra": {"Token": "***"}}'),
    (f'{{"tok\\u0065n": "{TOKEN}", "symbol": ', '{"tok\\u0065n": "***", "symbol": '),
    (f'{{"TOK\\u0045N": "{TOKEN[:5]}', '{"TOK\\u0045N": "***"'),
    (f"symbol=NQ&token={percent_all(TOKEN)}&x=1", "symbol=NQ&token=***&x=1"),
], ids=["escaped-key", "escaped-key-and-value", "token-in-notes", "nested-key",
        "not-json-escaped-key", "not-json-cut-short", "form-encoded"])
def test_a_refused_alert_keeps_no_token_however_it_was_escaped(body, excerpt):
    async def scenario() -> tuple[int, list[BadAlert]]:
        async with serve() as (server, refused), aiohttp.ClientSession() as http, \
                http.post(server.url, data=body.encode()) as answer:
            return answer.status, refused

    status, refused = asyncio.run(scenario())

    assert status in (400, 401)
    assert [bad.body_excerpt for bad in refused] == [excerpt]


# -- slow clients are cut off ----------------------------------------------------------------
def test_a_client_that_stalls_in_the_request_head_is_disconnected():
    async def scenario() -> bytes:
        async with serve(client_timeout_s=TIMEOUT_S) as (server, _):
            return await exchange(port_of(server), b"POST /alert HTTP/1.1\r\nHost: x\r\n")

    assert asyncio.run(scenario()) == b""  # closed without an answer: no request was made


def test_a_client_trickling_the_request_head_is_disconnected_all_the_same():
    async def scenario() -> tuple[bool, bytes]:
        async with serve(client_timeout_s=TIMEOUT_S) as (server, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            writer.write(b"POST /alert HTTP/1.1\r\nX-Slow: ")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DEADLINE_S
            received = b""
            try:
                while loop.time() < deadline:  # one byte per 50 ms: never idle for long
                    writer.write(b"a")
                    await writer.drain()
                    try:
                        received = await asyncio.wait_for(reader.read(1), 0.05)
                    except TimeoutError:
                        continue
                    return True, received  # b"": the server closed the connection
            except ConnectionError:
                return True, received
            finally:
                writer.close()
            return False, received

    assert asyncio.run(scenario()) == (True, b"")


def test_a_client_that_stalls_in_the_body_is_answered_408_and_disconnected():
    head = b"POST /alert HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"

    async def scenario() -> tuple[bytes, list[BadAlert]]:
        async with serve(client_timeout_s=TIMEOUT_S) as (server, refused):
            response = await exchange(port_of(server), head + b'{"token": "' + TOKEN.encode())
            return response, refused

    response, refused = asyncio.run(scenario())

    assert response.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert response.endswith(b'{"error": "body not received within 0.2 s"}')
    assert [(bad.status, bad.message, bad.body_excerpt) for bad in refused] == [
        (408, "body not received within 0.2 s", '{"token": "***"')]


def test_the_client_timeout_is_a_setting_with_a_ten_second_default():
    assert WebhookSettings().client_timeout_s == 10.0
    for bad in (0, -1, float("inf"), float("nan"), 601):
        with pytest.raises(ValueError, match="client_timeout_s"):
            WebhookSettings(client_timeout_s=bad)


# -- text that cannot be stored never gets in ------------------------------------------------
def test_an_alert_with_unstorable_text_reaches_neither_the_signal_engine_nor_the_store(
        tmp_path):
    webhook = WebhookSettings(enabled=True, port=0, token=TOKEN)
    settings = desk_settings(signals=SignalSettings(webhook=webhook))
    head = f'{{"symbol": "NQ", "action": "buy", "token": "{TOKEN}", '
    bodies = [head + '"source": "tv\\ud800"}', head + '"comment": "a\\u0007b"}',
              head + '"extra": ["x", "\\udfff"]}']

    async def scenario() -> tuple[StrategyDesk, list[tuple[int, object]]]:
        desk = await StrategyDesk(tmp_path / "home", tmp_path / "plugins",
                                  settings=settings).start()
        answers = []
        async with aiohttp.ClientSession() as http:
            for body in bodies:
                async with http.post(desk.engine.alerts.url, data=body.encode()) as answer:
                    answers.append((answer.status, await answer.json()))
        await desk.stop()
        return desk, answers

    desk, answers = asyncio.run(scenario())

    messages = ["source: a lone surrogate (U+D800) at character 3 cannot be stored",
                "comment: a control character (U+0007) at character 2 cannot be stored",
                "extra[1]: a lone surrogate (U+DFFF) at character 1 cannot be stored"]
    assert answers == [(400, {"error": message}) for message in messages]
    assert desk.engine.signals.records == {}
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM signals").fetchone() == (0,)
        refused = conn.execute("SELECT status, message, body FROM refused_alerts "
                               "ORDER BY id").fetchall()
    stored = '{"symbol": "NQ", "action": "buy", "token": "***", '
    assert refused == [(400, messages[0], stored + '"source": "tv\ufffd"}'),
                       (400, messages[1], stored + '"comment": "a\\u0007b"}'),  # JSON escapes it
                       (400, messages[2], stored + '"extra": ["x", "\ufffd"]}')]
