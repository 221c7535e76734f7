"""Alpaca's asset list: any tradable US stock or crypto pair, found by symbol or by name,
and made into an Instrument (tick and lot size, session schedule) the engine can trade."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from alpaca.trading.enums import AssetStatus
from alpaca.trading.requests import GetAssetsRequest

from workstation.alpaca.rest import RestRunner
from workstation.model import AssetClass, Instrument
from workstation.text import storable

log = logging.getLogger(__name__)

EQUITY_TICK = 0.01  # US stocks at or above $1 (Alpaca prices below $1 in 0.0001)
CRYPTO_FALLBACK_LOT = 0.0001


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    name: str
    crypto: bool
    min_increment: float  # the smallest order quantity step
    price_increment: float

    def instrument(self) -> Instrument:
        if self.crypto:
            return Instrument(self.symbol, self.price_increment or 0.01, 1.0,
                              self.min_increment or CRYPTO_FALLBACK_LOT, AssetClass.CRYPTO,
                              "USD", "crypto_24_7", self.name)
        return Instrument(self.symbol, EQUITY_TICK, 1.0, 1.0, AssetClass.EQUITY, "USD",
                          "us_equity", self.name)


def parse_asset(raw: dict[str, Any]) -> Asset | None:
    """A tradable, active stock or crypto pair; anything else (options, halted) is None."""
    kind = raw.get("class") or raw.get("asset_class")
    if kind not in ("us_equity", "crypto") or not raw.get("tradable") \
            or raw.get("status", "active") != "active":
        return None
    try:
        return Asset(storable(str(raw["symbol"])), storable(str(raw.get("name") or "")),
                     kind == "crypto", float(raw.get("min_trade_increment") or 0),
                     float(raw.get("price_increment") or 0))
    except (KeyError, TypeError, ValueError):
        return None


class AssetDirectory:
    """Read once (one request for the whole list), then searched in memory."""

    def __init__(self, client: Any, runner: RestRunner) -> None:
        self._client = client
        self._runner = runner
        self._assets: dict[str, Asset] | None = None

    async def load(self) -> dict[str, Asset]:
        if self._assets is None:
            request = GetAssetsRequest(status=AssetStatus.ACTIVE)
            raw = await self._runner.call(lambda: self._client.get_all_assets(request),
                                          "read Alpaca's asset list")
            found = (parse_asset(item) for item in raw or [])
            self._assets = {asset.symbol: asset for asset in found if asset is not None}
            log.info("Alpaca asset list: %d tradable stocks and crypto pairs",
                     len(self._assets))
        return self._assets

    async def find(self, symbol: str) -> Asset | None:
        return (await self.load()).get(symbol.strip().upper())

    async def search(self, text: str, limit: int = 20) -> list[Asset]:
        """Symbols starting with ``text`` first, then names containing it."""
        needle = text.strip().upper()
        if not needle:
            return []
        assets = (await self.load()).values()
        by_symbol = sorted((a for a in assets if a.symbol.startswith(needle)),
                           key=lambda a: (len(a.symbol), a.symbol))
        by_name = sorted((a for a in assets if needle in a.name.upper()
                          and not a.symbol.startswith(needle)), key=lambda a: a.symbol)
        return (by_symbol + by_name)[:limit]
