"""The command line's Alpaca parts: a headless run on the Alpaca market, and
``bracket history`` (bars from Alpaca into the store, for charts and backtests)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from workstation.accounts import check_account_name
from workstation.alpaca.credentials import Credentials, CredentialsError, load_credentials
from workstation.alpaca.history import AlpacaHistory, alpaca_timeframe
from workstation.alpaca.market import AlpacaMarket, namespace_for
from workstation.alpaca.rest import RestError, RestRunner, RestTimeout
from workstation.alpaca.settings import AlpacaSettings
from workstation.bars import Timeframe
from workstation.config import DATABASE_FILE, ConfigError, Settings
from workstation.feeds.base import FeedState
from workstation.model import datetime_to_ns, ns_to_datetime
from workstation.strategies.instances import InstanceSettings

ALPACA_ACCOUNT = "alpaca-paper"


def credentials(settings: AlpacaSettings) -> Credentials:
    try:
        return load_credentials(settings.paper)
    except CredentialsError as exc:
        raise ConfigError(str(exc)) from None


def market_factory(home: Path, settings: Settings) -> Callable[[str], AlpacaMarket]:
    """For the workstation: an Alpaca market per account (keys are read now)."""
    keys = credentials(settings.alpaca)
    return lambda account: AlpacaMarket(settings, keys, namespace_for(home, account))


async def run_headless(home: Path, settings: Settings, args: argparse.Namespace,
                       strategies: list[InstanceSettings]) -> int:
    """Until ``--seconds`` (wall seconds) pass, or SIGINT/SIGTERM."""
    from workstation.engine import Engine
    from workstation.trade_stats import trade_stats

    if not settings.alpaca.paper:
        raise ConfigError("alpaca.paper = false is live money: it needs the workstation's typed "
                          "confirmation; headless runs trade paper accounts only")
    keys = credentials(settings.alpaca)
    account = check_account_name(args.account) if args.account else ALPACA_ACCOUNT
    market = AlpacaMarket(settings, keys, namespace_for(home, account))
    engine = Engine(settings, home, market.feed, strategies=strategies, account=account,
                    live=market)
    await engine.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        stopped = asyncio.ensure_future(stop.wait())
        # the feed's task is not canceled here: the engine's stop ends it
        feed_done = asyncio.ensure_future(engine.wait_feed())
        await asyncio.wait([stopped, feed_done], timeout=args.seconds,
                           return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        await engine.stop()
    report = engine.report()
    report["alpaca"] = market.report()
    if args.report is not None:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    summary = {k: report[k] for k in ("account_name", "ticks", "bars", "loop_lag_p99_ms")}
    summary.update(orders=len(report["orders"]), fills=len(report["fills"]),
                   safe_mode=report["alpaca"]["safe_mode"]["active"])
    summary.update(trade_stats(report["trades"]))
    print(json.dumps(summary))
    feed = market.feed_
    if feed is not None and feed.state is FeedState.ERROR:
        print(f"bracket: the Alpaca feed stopped: {feed.describe()}", file=sys.stderr)
        return 1
    return 0


def parse_moment(text: str, what: str) -> int:
    """``2024-07-01`` (midnight UTC) or ``2024-07-01T14:30`` (UTC unless it says)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} {text!r}: use a date like 2024-07-01 or a time like "
                          "2024-07-01T14:30 (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime_to_ns(moment)


def history(home: Path, settings: Settings, args: argparse.Namespace) -> int:
    """Download bars into the store; bars already stored are replaced, never doubled."""
    from workstation.store import open_store
    from workstation.store.database import bar_row

    try:
        timeframe = Timeframe.parse(args.timeframe)
        alpaca_timeframe(timeframe)
    except ValueError as exc:
        raise ConfigError(f"--timeframe: {exc}") from None
    start = parse_moment(args.start, "--from")
    end = parse_moment(args.end, "--to") if args.end else time.time_ns()
    if end <= start:
        raise ConfigError("--to must be after --from")
    symbols = [s.strip() for item in args.symbol for s in item.split(",") if s.strip()]
    if not symbols:
        raise ConfigError("--symbol: name at least one symbol, e.g. --symbol AAPL")
    source = AlpacaHistory(credentials(settings.alpaca), settings.alpaca, RestRunner(
        "alpaca data", settings.alpaca.rest_timeout_s, settings.alpaca.requests_per_minute))
    try:
        found = asyncio.run(source.bars(symbols, timeframe, start, end))
    except (RestError, RestTimeout) as exc:
        raise ConfigError(f"history: {exc}") from None
    finally:
        source.close()
    store = open_store(home / DATABASE_FILE)
    try:
        rows = [bar_row(bar) for bars in found.values() for bar in bars]
        if rows:
            store.write([], rows)
    finally:
        store.close()
    first, last = ns_to_datetime(start), ns_to_datetime(end)
    for symbol in symbols:
        print(f"{symbol} {timeframe.label}: {len(found.get(symbol, [])):,} bars stored "
              f"({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC)")
    return 0
