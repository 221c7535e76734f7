"""The command line: ``bracket`` / ``python -m workstation``.

    bracket                                   open the workstation (simulated market)
    bracket --smoke --screenshot shot.png     start, stream, screenshot, print JSON, exit
    bracket run --headless --seconds 600 --speed max --seed 7 --report run.json
    bracket import FILE [--symbol NQ] [--timeframe 1m] [--tz America/New_York]

This is the one engine module allowed to reach into ``ui`` (lazily, for the GUI);
everything headless runs without Qt. Absolute imports only: PyInstaller runs
this file as a top-level script.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import logging.handlers
import math
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import (
    DATABASE_FILE,
    SETTINGS_FILE,
    ConfigError,
    Settings,
    load_settings,
    resolve_home,
)
from workstation.engine import Engine, FeedBuilder, RunOptions, sim_feed_builder
from workstation.feeds.base import Backpressure
from workstation.feeds.replay import ReplayEvent, ReplayFeed, events_from_file, ticks_from_store
from workstation.importer import ImportProblem, import_file
from workstation.model import datetime_to_ns, ns_to_datetime
from workstation.sessions import NEW_YORK, SessionError, get_schedule
from workstation.store import Store, StoreError
from workstation.store.database import open_store
from workstation.strategies.instances import InstanceSettings

log = logging.getLogger("workstation")


SMOKE_SPEED = 120.0  # a smoke run of a few seconds still shows several minutes of bars


def _speed(text: str) -> float:
    """Replay/simulation speed; ``max`` is infinity (as fast as possible)."""
    if text.lower() in ("max", "inf", "fast"):
        return math.inf
    try:
        value = float(text.lower().removesuffix("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"speed {text!r}: use a number such as 1, 10, 100, or max") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"speed {text!r} must be positive")
    return value


def _start(text: str) -> int:
    """A date: the simulated market starts at that day's US equity open (or the next one)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"start {text!r}: use a date like 2026-11-02") from None
    midnight = datetime.combine(day, time(0, 0), NEW_YORK)
    return get_schedule("us_equity").next_session(datetime_to_ns(midnight)).open_ns


def _strategy(text: str) -> InstanceSettings:
    """``NAME[@SYM,SYM]``: an instance with the strategy's default parameters, its id made
    from the name and symbols (``sma-crossover-nq``)."""
    name, _, symbols = text.partition("@")
    chosen = tuple(s.strip() for s in symbols.split(",") if s.strip())
    slug = re.sub(r"[^a-z0-9]+", "-", f"{name} {' '.join(chosen)}".lower()).strip("-")
    if not name.strip() or not slug:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME or NAME@SYMBOL,SYMBOL")
    try:
        return InstanceSettings(instance_id=slug[:40], strategy=name.strip(), symbols=chosen)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="run the engine without Qt")
    parser.add_argument("--seconds", type=float, default=None,
                        help="simulated seconds to run (default: until closed)")
    parser.add_argument("--speed", type=_speed, default=None,
                        help="1 (real time), 10, 100 ... or max (default: max headless, "
                             f"{SMOKE_SPEED:g} for --smoke, else the settings' feed.speed)")
    parser.add_argument("--seed", type=int, default=None, help="simulation seed (settings: 7)")
    parser.add_argument("--start", type=_start, default=None,
                        help="simulated start date (default: the latest US equity session)")
    parser.add_argument("--replay", default=None, metavar="FILE|store",
                        help="replay a CSV/Parquet file of ticks or bars, or the stored "
                             "ticks ('store'), instead of simulating")
    parser.add_argument("--report", type=Path, default=None, help="write a JSON report here")
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=None,
                        help="run the built-in demo strategy on NQ (default: on for headless "
                             "and smoke runs, off otherwise)")
    parser.add_argument("--strategy", type=_strategy, action="append", default=[],
                        metavar='"NAME[@SYM,SYM]"',
                        help="run a strategy plugin (default parameters) on these symbols "
                             "(default: its own); repeatable")
    parser.add_argument("--auto-approve", action="store_true",
                        help="approve every confirmed signal setup without a click")
    parser.add_argument("--smoke", action="store_true",
                        help="GUI self-test: stream, screenshot, print a JSON summary, exit")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the main window here")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bracket", description="Bracket trader workstation")
    parser.add_argument("--home", default=None,
                        help="folder for settings, database and plugins (env BRACKET_HOME)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _run_options(parser)
    commands = parser.add_subparsers(dest="command")
    _run_options(commands.add_parser("run", help="run the workstation or the headless engine"))
    importer = commands.add_parser("import", help="load a CSV or Parquet of ticks or bars")
    importer.add_argument("file", type=Path)
    importer.add_argument("--symbol", default=None, help="symbol when the file has no column")
    importer.add_argument("--timeframe", default=None, help="bar timeframe, e.g. 1m or 1d")
    importer.add_argument("--tz", default=None, help="time zone of naive timestamps")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        home = resolve_home(args.home)
        _setup_logging(home, args.verbose)
        settings = load_settings(home / SETTINGS_FILE)
        if args.command == "import":
            return _import(home, settings, args)
        if args.replay is not None:
            settings = _without_tick_storage(settings)
        if getattr(args, "auto_approve", False):
            settings = settings.model_copy(update={"signals": settings.signals.model_copy(
                update={"auto_approve": ("*",)})})
        if args.headless:
            return asyncio.run(_headless(home, settings, args))
        from ui.app import run_gui  # the GUI is the only Qt user; imported on demand

        return run_gui(home, settings, feed_builder=_feed_builder(home, settings, args),
                       demo=_demo(args), smoke=args.smoke, strategies=args.strategy,
                       screenshot=args.screenshot, seconds=args.seconds, report=args.report)
    except (ConfigError, StoreError, SessionError, ImportProblem) as exc:
        print(f"bracket: {exc}", file=sys.stderr)
        return 2


def _demo(args: argparse.Namespace) -> bool:
    return bool(args.headless or args.smoke) if args.demo is None else args.demo


def _resolve_speed(settings: Settings, args: argparse.Namespace) -> float | None:
    """None means as fast as possible."""
    if args.speed is not None:
        chosen = args.speed
    elif args.headless:
        chosen = math.inf
    elif args.smoke:
        chosen = SMOKE_SPEED
    else:
        chosen = settings.feed.speed
    return None if math.isinf(chosen) else chosen


def _feed_builder(home: Path, settings: Settings, args: argparse.Namespace) -> FeedBuilder:
    speed = _resolve_speed(settings, args)
    if args.replay is not None:
        source = _replay_source(home, settings, args.replay)

        def build(bus: EventBus, clock: SimClock, backpressure: Backpressure) -> ReplayFeed:
            return ReplayFeed(source, bus, clock, speed=speed, backpressure=backpressure)

        return build
    seed = settings.feed.seed if args.seed is None else args.seed
    duration = None if args.smoke else args.seconds  # a smoke run's seconds are wall seconds
    options = RunOptions(seed=seed, speed=speed, start_ns=args.start, duration_s=duration)
    return sim_feed_builder(settings, options)


def _replay_source(home: Path, settings: Settings, what: str) -> Iterator[list[ReplayEvent]]:
    """``store`` replays every stored tick of the configured instruments; anything else
    is a CSV/Parquet file, read and validated now so a bad file fails before the start."""
    if what == "store":
        store = open_store(home / DATABASE_FILE)
        if store.tick_count() == 0:
            store.close()
            raise ConfigError(f"{home / DATABASE_FILE} holds no ticks to replay; "
                              "import some with `bracket import FILE`")
        return _closing(store, ticks_from_store(store, settings.instrument_map()))
    source = events_from_file(Path(what), settings.instrument_map())
    first = next(source)
    return itertools.chain([first], source)


def _closing(store: Store, events: Iterator[list[ReplayEvent]]) -> Iterator[list[ReplayEvent]]:
    try:
        yield from events
    finally:
        store.close()


def _without_tick_storage(settings: Settings) -> Settings:
    """A replay's ticks are already stored (or belong to a file meant for import):
    storing them again would duplicate them. Its bars are stored (idempotently)."""
    return settings.model_copy(
        update={"store": settings.store.model_copy(update={"store_ticks": False})})


async def _headless(home: Path, settings: Settings, args: argparse.Namespace) -> int:
    if args.seconds is None and args.replay is None:
        raise ConfigError("a headless run needs --seconds N (simulated seconds) or --replay FILE")
    engine = Engine(settings, home, _feed_builder(home, settings, args), demo=_demo(args),
                    strategies=args.strategy)
    await engine.start()
    try:
        await engine.wait_feed()
    finally:
        await engine.stop()
    report = engine.report()
    text = json.dumps(report, indent=2)
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    summary = {k: report[k] for k in ("ticks", "bars", "events_per_s", "loop_lag_p99_ms")}
    summary.update(orders=len(report["orders"]), fills=len(report["fills"]),
                   trades=len(report["trades"]))
    print(json.dumps(summary))
    return 0


def _import(home: Path, settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(home / DATABASE_FILE)
    try:
        summary = import_file(store, args.file, settings.instrument_map(), symbol=args.symbol,
                              timeframe=args.timeframe, tz=args.tz)
    finally:
        store.close()
    first = ns_to_datetime(summary.first_ns).strftime("%Y-%m-%d %H:%M:%S")
    last = ns_to_datetime(summary.last_ns).strftime("%Y-%m-%d %H:%M:%S")
    print(f"imported {summary.rows:,} {summary.kind} for {', '.join(summary.symbols)} "
          f"({first} to {last} UTC) from {args.file.name}")
    return 0


def _setup_logging(home: Path, verbose: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    (home / "logs").mkdir(exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        home / "logs" / "bracket.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(fmt)
    root.addHandler(console)
    root.addHandler(file_handler)


if __name__ == "__main__":
    sys.exit(main())
