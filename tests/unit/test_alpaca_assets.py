"""Alpaca's asset list (from a fake Alpaca on 127.0.0.1): search by symbol then name,
only tradable stocks and crypto pairs, and the instruments they become."""

from __future__ import annotations

import asyncio

import pytest
from alpaca.trading.client import TradingClient

from tests.fake_alpaca import FakeAlpaca
from workstation.alpaca.assets import AssetDirectory
from workstation.alpaca.rest import RestRunner, bounded
from workstation.model import AssetClass, Instrument


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


def directory(fake: FakeAlpaca) -> AssetDirectory:
    client = bounded(TradingClient(fake.key, fake.secret, raw_data=True,
                                   url_override=fake.http_url), 5.0)
    return AssetDirectory(client, RestRunner("test", 5.0, 200))


def test_a_search_lists_symbols_that_start_with_the_text_then_names_that_hold_it(fake):
    async def scenario():
        assets = directory(fake)
        return ([a.symbol for a in await assets.search("ap")],
                [a.symbol for a in await assets.search("deli")])

    found, delisted = asyncio.run(scenario())
    assert found == ["APLD", "AAPL"]  # APLD by its symbol; Apple by its name
    assert delisted == []  # not tradable
    assert fake.requests.count(("GET", "/v2/assets")) == 1  # read once, searched in memory


def test_stocks_and_crypto_pairs_become_instruments_on_their_own_grids(fake):
    async def scenario():
        assets = directory(fake)
        return (await assets.find("nvda")).instrument(), (await assets.find("ETH/USD")
                                                          ).instrument()

    stock, crypto = asyncio.run(scenario())
    assert stock == Instrument("NVDA", 0.01, 1.0, 1.0, AssetClass.EQUITY, "USD", "us_equity",
                               "NVIDIA Corporation")
    assert crypto == Instrument("ETH/USD", 0.1, 1.0, 0.000000001, AssetClass.CRYPTO, "USD",
                                "crypto_24_7", "Ethereum / US Dollar")
