"""The Alpaca market for the engine: a LiveClock, the Alpaca feed and broker, gap
backfill from history, and reconciliation at the start and after every reconnect."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.alpaca.assets import AssetDirectory
from workstation.alpaca.credentials import Credentials
from workstation.alpaca.history import AlpacaHistory, is_crypto
from workstation.alpaca.reconcile import Reconciliation, reconcile
from workstation.alpaca.rest import RestError, RestRunner, RestTimeout
from workstation.bars import Timeframe
from workstation.brokers.alpaca import AlpacaBroker
from workstation.bus import EventBus
from workstation.clock import Clock, LiveClock
from workstation.config import Settings
from workstation.feeds.alpaca import AlpacaFeed
from workstation.feeds.backfill import GapFiller
from workstation.feeds.base import Backpressure, FeedState
from workstation.model import NS_PER_SECOND, AssetClass, Bar, Instrument
from workstation.portfolio import Portfolio
from workstation.risk.safe_mode import SafeMode
from workstation.store.database import bar_row

if TYPE_CHECKING:
    from workstation.engine import Engine
    from workstation.risk.gate import RiskGate

log = logging.getLogger(__name__)

HISTORY_DAYS = 1  # a first start loads this much history per symbol
DAY_NS = 86_400 * NS_PER_SECOND
MINUTE_NS = 60 * NS_PER_SECOND
CONNECT_WAIT_S = 15.0  # how long the start waits for the trade stream before reconciling
_MINUTE = Timeframe.parse("1m")


def namespace_for(home: Path | None, account: str) -> str:
    """A short prefix for client order ids, one per Bracket home and account."""
    digest = hashlib.sha256(f"{home}|{account}".encode()).hexdigest()[:8]
    return f"bk{digest}"


def provisional(symbol: str) -> Instrument:
    """A stock's or crypto pair's usual grid, when the asset list cannot be read."""
    if is_crypto(symbol):
        return Instrument(symbol, 0.01, 1.0, 0.0001, AssetClass.CRYPTO, "USD", "crypto_24_7")
    return Instrument(symbol, 0.01, 1.0, 1.0, AssetClass.EQUITY, "USD", "us_equity")


def tradable(settings: Settings) -> list[str]:
    """The configured instruments Alpaca carries (US equities and crypto)."""
    return [item.symbol for item in settings.instruments
            if item.asset_class in (AssetClass.EQUITY, AssetClass.CRYPTO)]


class AlpacaMarket:
    def __init__(self, settings: Settings, credentials: Credentials, namespace: str) -> None:
        self.settings = settings
        self.credentials = credentials
        self.namespace = namespace
        self.clock: Clock = LiveClock()
        alpaca = settings.alpaca
        self.history = AlpacaHistory(credentials, alpaca, RestRunner(
            "alpaca data", alpaca.rest_timeout_s, alpaca.requests_per_minute))
        self.safe_mode: SafeMode | None = None
        self.assets: AssetDirectory | None = None
        self.broker_: AlpacaBroker | None = None
        self.feed_: AlpacaFeed | None = None
        self.reconciliations: list[dict[str, Any]] = []
        self.account: dict[str, Any] = {}  # as Alpaca reported it at the start
        self._engine: Engine | None = None

    def feed(self, bus: EventBus, clock: Any, backpressure: Backpressure) -> AlpacaFeed:
        self.feed_ = AlpacaFeed(self.credentials, self.settings.alpaca,
                                self.settings.instrument_map(), tradable(self.settings), bus,
                                self.clock)
        return self.feed_

    def broker(self, instruments: dict[str, Instrument], settings: Settings, bus: EventBus,
               clock: Clock, portfolio: Portfolio) -> AlpacaBroker:
        self.safe_mode = SafeMode(bus, clock)
        self.broker_ = AlpacaBroker(self.credentials, settings.alpaca, instruments, bus, clock,
                                    portfolio, namespace=self.namespace)
        self.assets = AssetDirectory(self.broker_.client, self.broker_.rest)
        return self.broker_

    def attach(self, gate: RiskGate) -> None:
        gate.safe_mode = self.safe_mode

    async def start(self, engine: Engine) -> None:
        self._engine = engine
        broker, feed = self.broker_, self.feed_
        assert broker is not None and feed is not None
        if self.settings.alpaca.backfill:
            feed.gap_filler = GapFiller(self._minutes, engine.bars, engine.bus,
                                        engine.instruments, engine.timeframes)
        await broker.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WAIT_S
        while broker.updates.state not in (FeedState.LIVE, FeedState.ERROR) \
                and loop.time() < deadline:
            await asyncio.sleep(0.02)
        broker.updates.on_resumed = lambda: self._reconcile("after a reconnect")
        await self._reconcile("at the start")

    async def prepare(self, engine: Engine) -> None:
        """Before the journal is restored: the account, the symbols it traded, history."""
        await self._read_account(engine)
        if engine.store is None or engine.writer is None:
            return
        await self._journal_instruments(engine)
        if not engine.scratch:  # a scratch run stores no market data
            await self._load_history(engine)

    async def _read_account(self, engine: Engine) -> None:
        """Alpaca's account: a new journal starts at its equity (a stored one keeps its
        own starting cash), and the report says what Alpaca holds."""
        broker = self.broker_
        assert broker is not None
        try:
            raw = await broker.rest.call(broker.client.get_account, "read the account")
        except (RestError, RestTimeout) as exc:
            log.warning("the Alpaca account could not be read: %s", exc)
            return
        equity = float(raw.get("equity") or 0)
        self.account = {"account_number": str(raw.get("account_number", "")),
                        "status": str(raw.get("status", "")), "equity": equity,
                        "buying_power": float(raw.get("buying_power") or 0)}
        if equity > 0:
            engine.portfolio.starting_cash = equity
        log.info("Alpaca %s account %s (%s): equity %.2f", "paper" if self.paper else "LIVE",
                 self.account["account_number"], self.account["status"], equity)

    async def _load_history(self, engine: Engine) -> None:
        """The bars missing since the last stored ones (at most HISTORY_DAYS), from 1-minute
        bars rolled up into every time frame of a minute or more: stored, and seeded into
        the charts (not published: strategies must not take them for live bars)."""
        store, writer = engine.store, engine.writer
        assert store is not None and writer is not None
        symbols = tradable(self.settings)
        if not symbols:
            return
        now = time.time_ns()
        frames = [tf for tf in (Timeframe.parse(t) for t in engine.timeframes)
                  if tf.kind == "time" and tf.size % 60 == 0]
        if not frames:
            return
        since: dict[tuple[str, str], int] = {}
        for symbol in symbols:
            for frame in frames:
                stored = engine.bars.history(symbol, frame.label)
                since[(symbol, frame.label)] = stored[-1].end if stored else \
                    now - HISTORY_DAYS * DAY_NS
        found: list[Bar] = []
        for symbol in symbols:
            instrument = engine.instruments.get(symbol)
            if instrument is None:
                continue
            start = min(since[(symbol, frame.label)] for frame in frames)
            try:
                minutes = await self._minutes([symbol], start - start % MINUTE_NS, now)
            except (RestError, RestTimeout) as exc:
                log.warning("history of %s from Alpaca not loaded: %s", symbol, exc)
                continue
            rows = minutes.get(symbol, [])
            for frame in frames:
                first = since[(symbol, frame.label)]
                found.extend(bar for bar in GapFiller.roll_up(instrument, frame, rows)
                             if bar.ts >= first and bar.end <= now)
        if not found:
            return
        found.sort(key=lambda bar: bar.ts)
        rows_out = [bar_row(bar) for bar in found]
        await writer.call(lambda: store.write([], rows_out))
        engine.bars.seed_history(found)
        log.info("loaded %d bar(s) of history from Alpaca for %s", len(found),
                 ", ".join(sorted({bar.symbol for bar in found})))

    async def _journal_instruments(self, engine: Engine) -> None:
        """Symbols this account traded that were added while running (Alpaca assets): the
        engine must know them before the journal is restored. From the asset list, or on
        a stock's (crypto pair's) usual grid when Alpaca cannot be asked now."""
        store, writer = engine.store, engine.writer
        assert store is not None and writer is not None
        account = engine.account

        def read() -> list[str]:
            with store.engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT symbol FROM fills WHERE account = ? UNION "
                    "SELECT symbol FROM orders WHERE account = ?", (account, account))
                return [row[0] for row in rows]

        for symbol in await writer.call(read):
            if symbol in engine.instruments:
                continue
            asset = None
            if self.assets is not None:
                try:
                    asset = await self.assets.find(symbol)
                except (RestError, RestTimeout) as exc:
                    log.warning("the asset list could not be read (%s): %s on its usual "
                                "grid", exc, symbol)
            engine.add_instrument(asset.instrument() if asset else provisional(symbol))
            if self.feed_ is not None:
                await self.feed_.subscribe([symbol])  # not connected yet: taken at the start

    async def _minutes(self, symbols: list[str], start: int, end: int) -> dict[str, list]:
        return await self.history.bars(symbols, _MINUTE, start, end)

    async def _reconcile(self, when: str) -> Reconciliation | None:
        broker, safe = self.broker_, self.safe_mode
        assert broker is not None and safe is not None and self._engine is not None
        try:
            result = await reconcile(broker, self._engine.portfolio, safe, when)
        except (RestError, RestTimeout) as exc:
            safe.enter(f"reconciliation {when} could not run", [str(exc)])
            self.reconciliations.append({"when": when, "error": str(exc)})
            return None
        self.reconciliations.append({"when": when, **result.as_dict()})
        return result

    async def stop(self) -> None:
        if self.broker_ is not None:
            await self.broker_.close()
        self.history.close()

    async def add_symbol(self, engine: Engine, symbol: str) -> str:
        """Trade and stream any Alpaca stock or crypto pair: "" when added, else why not."""
        if self.assets is None:
            return "the Alpaca market is not started"
        try:
            asset = await self.assets.find(symbol)
        except (RestError, RestTimeout) as exc:
            return f"{symbol}: {exc}"
        if asset is None:
            return f"{symbol.strip().upper()} is not a tradable Alpaca stock or crypto pair"
        if engine.add_instrument(asset.instrument()) and self.feed_ is not None:
            await self.feed_.subscribe([asset.symbol])
            log.info("added %s (%s) from Alpaca's asset list", asset.symbol, asset.name)
        return ""

    async def release_symbol(self, engine: Engine, symbol: str) -> bool:
        """Stop streaming ``symbol`` (taken off the watchlist) unless something still needs
        it: a position, a working order, or a running strategy instance. True when it was
        unsubscribed."""
        if self.feed_ is None or symbol not in engine.instruments:
            return False
        if engine.portfolio.position(symbol) != 0:
            return False
        if any(order.symbol == symbol for order in engine.broker.open_orders()):
            return False
        if any(ctx.active and symbol in ctx.symbols
               for ctx in engine.strategies.contexts.values()):
            return False
        await self.feed_.unsubscribe([symbol])
        log.info("stopped streaming %s: off the watchlist, not held or traded", symbol)
        return True

    async def search(self, text: str) -> list[tuple[str, str]]:
        """(symbol, name) of Alpaca assets matching ``text`` by symbol or name."""
        if self.assets is None:
            return []
        try:
            return [(a.symbol, a.name) for a in await self.assets.search(text)]
        except (RestError, RestTimeout) as exc:
            log.warning("asset search: %s", exc)
            return []

    @property
    def paper(self) -> bool:
        return self.settings.alpaca.paper

    def status_text(self) -> str:
        """The broker's side for the status bar: the trade stream, and safe mode."""
        broker, safe = self.broker_, self.safe_mode
        parts = []
        if broker is not None:
            updates = broker.updates
            parts.append(f"broker: {updates.state}"
                         + (f" ({updates.detail})" if updates.detail else ""))
        if safe is not None and safe.active:
            parts.append(f"SAFE MODE: entries blocked ({len(safe.differences)} "
                         "difference(s) to acknowledge)")
        return " · ".join(parts)

    def report(self) -> dict[str, Any]:
        safe = self.safe_mode
        feed = self.feed_
        return {"account": self.account, "reconciliations": self.reconciliations,
                "safe_mode": {"active": bool(safe and safe.active),
                              "reason": safe.reason if safe else "",
                              "differences": list(safe.differences) if safe else []},
                "quarantined": dict(feed.validator.counts) if feed else {}}
