"""The ``[alpaca]`` settings section: paper or live, the data feed, and every endpoint.

Keys never belong here (invariant 8): a key or secret in this section is refused with a
message pointing at the keyring and the environment variables. Endpoints may be plain
``http://`` / ``ws://`` only on the local machine (a fake server in tests, a local proxy).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from workstation.settings_types import Strict

PAPER_TRADING_URL = "https://paper-api.alpaca.markets"
LIVE_TRADING_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
STREAM_URL = "wss://stream.data.alpaca.markets"
PAPER_TRADE_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
LIVE_TRADE_STREAM_URL = "wss://api.alpaca.markets/stream"
CRYPTO_STREAM_PATH = "/v1beta3/crypto/us"

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
KEYS_REFUSED = ("keys do not belong in settings.toml (they would be stored in plain text): "
                "remove {names} and use File > Connections (the OS keyring) or the "
                "environment variables APCA_API_KEY_ID and APCA_API_SECRET_KEY")


def _url(secure: str, plain: str) -> Any:
    def check(value: str) -> str:
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            raise ValueError(f"{value!r} is not a URL") from None
        if not host:
            raise ValueError(f"{value!r} is not a URL ({secure}://host...)")
        if parts.scheme == plain and host not in LOCAL_HOSTS:
            raise ValueError(f"{value!r}: {plain}:// is allowed only on 127.0.0.1; use "
                             f"{secure}://")
        if parts.scheme not in (secure, plain):
            raise ValueError(f"{value!r} must start with {secure}://")
        return value.rstrip("/")

    return AfterValidator(check)


HttpUrl = Annotated[str, Field(max_length=500), _url("https", "http")]
WsUrl = Annotated[str, Field(max_length=500), _url("wss", "ws")]


class AlpacaEndpoints(Strict):
    """Each endpoint on its own (None: Alpaca's, for paper or live). Stream URLs are whole:
    nothing is appended to them."""

    trading: HttpUrl | None = None
    data: HttpUrl | None = None
    stock_stream: WsUrl | None = None
    crypto_stream: WsUrl | None = None
    trade_stream: WsUrl | None = None


class AlpacaSettings(Strict):
    paper: bool = True  # live money needs this false AND a typed confirmation in the UI
    feed: Literal["iex", "sip"] = "iex"
    endpoints: AlpacaEndpoints = AlpacaEndpoints()
    rest_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    requests_per_minute: Annotated[int, Field(ge=1, le=200)] = 200
    stale_after_s: Annotated[float, Field(ge=1, le=3_600)] = 30.0  # silence in market hours
    max_reconnects_per_hour: Annotated[int, Field(ge=1, le=1_000)] = 30
    max_jump_pct: Annotated[float, Field(gt=0, le=100)] = 10.0  # a tick further is quarantined
    backfill: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            found = sorted(f"alpaca.{name}" for name in data
                           if isinstance(name, str)
                           and any(w in name.lower() for w in ("key", "secret", "password",
                                                               "token")))
            if found:
                raise ValueError(KEYS_REFUSED.format(names=", ".join(found)))
        return data

    def trading_url(self) -> str:
        return self.endpoints.trading or (PAPER_TRADING_URL if self.paper else LIVE_TRADING_URL)

    def data_url(self) -> str:
        return self.endpoints.data or DATA_URL

    def stock_stream_url(self) -> str:
        return self.endpoints.stock_stream or f"{STREAM_URL}/v2/{self.feed}"

    def crypto_stream_url(self) -> str:
        return self.endpoints.crypto_stream or f"{STREAM_URL}{CRYPTO_STREAM_PATH}"

    def trade_stream_url(self) -> str:
        return self.endpoints.trade_stream or (PAPER_TRADE_STREAM_URL if self.paper
                                               else LIVE_TRADE_STREAM_URL)
