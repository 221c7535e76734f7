"""The command line: ``bracket`` / ``python -m workstation``.

    bracket                                   open the workstation (simulated market)
    bracket --smoke --screenshot shot.png     start, stream, screenshot, print JSON, exit
    bracket run --headless --seconds 600 --speed max --seed 7 --report run.json
    bracket import FILE [--symbol NQ] [--timeframe 1m] [--tz America/New_York]
    bracket backtest --strategy "SMA crossover@NQ" --from 2026-09-01 --to 2026-11-27
    bracket optimize | walkforward | challenge ...   (see workstation/optimize/cli.py)

Common options (``--home``, ``-v``) and run options work before or after the subcommand.

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
import math
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.accounts import (
    DEFAULT_ACCOUNT,
    AccountError,
    check_account_name,
    fresh_account_name,
)
from workstation.backtest.cli import add_parser as add_backtest_parser
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
from workstation.logfile import LOG_FILE, Console, LogFile
from workstation.model import datetime_to_ns, ns_to_datetime
from workstation.optimize.cli import COMMANDS as OPTIMIZE_COMMANDS
from workstation.optimize.cli import add_parsers as add_optimize_parsers
from workstation.sessions import NEW_YORK, SessionError, get_schedule
from workstation.strategies.instances import InstanceError, InstanceSettings, check_instance

if TYPE_CHECKING:
    from workstation.engine import FeedBuilder
    from workstation.feeds.base import Backpressure
    from workstation.feeds.replay import ReplayEvent, ReplayFeed
    from workstation.store import Store

# The engine, the store (SQLAlchemy), the importer (pandas) and the replay feed are imported
# by the commands that use them: the GUI paints its first window before loading them.

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


def _strategy_spec(text: str) -> InstanceSettings:
    """``NAME[@SYM,SYM][:KEY=VALUE,...]``: an instance with the strategy's default parameters
    (or those given), its id made from the name and symbols (``sma-crossover-nq``)."""
    head, _, params_text = text.partition(":")
    name, _, symbols = head.partition("@")
    chosen = tuple(s.strip() for s in symbols.split(",") if s.strip())
    slug = re.sub(r"[^a-z0-9]+", "-", f"{name} {' '.join(chosen)}".lower()).strip("-")
    if not name.strip() or not slug:
        raise ConfigError(f"--strategy {text!r}: expected NAME, NAME@SYMBOL,SYMBOL or "
                          "NAME@SYMBOL:KEY=VALUE,KEY=VALUE")
    params: dict[str, object] = {}
    for item in (p.strip() for p in params_text.split(",") if p.strip()):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"--strategy {text!r}: parameter {item!r}: expected KEY=VALUE")
        params[key.strip()] = _param_value(value.strip())
    try:
        return InstanceSettings.from_dict({"instance_id": slug[:40], "strategy": name.strip(),
                                           "symbols": chosen, "params": params})
    except InstanceError as exc:
        raise ConfigError(f"--strategy {text!r}: {exc}") from None


def _param_value(text: str) -> object:
    """A parameter as typed on the command line: true/false, a number, or text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _checked_strategies(home: Path, settings: Settings, specs: list[str]) -> list[InstanceSettings]:
    """The ``--strategy`` instances, each checked against the loaded plugins, the
    instruments and its parameters' bounds before anything starts: a mistake on the command
    line is refused (exit 2), not logged while the run goes on without it."""
    instances = [_strategy_spec(spec) for spec in specs]
    if not instances:
        return []
    ids = [instance.instance_id for instance in instances]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"--strategy: instance {', '.join(twice)} is given twice")
    from workstation.strategies.guard import Watchdog
    from workstation.strategies.loader import Catalog, plugin_files, plugin_folders

    watchdog = Watchdog(settings.strategies.hard_limit_s)
    catalog = Catalog()
    watchdog.start()
    try:
        catalog.load(plugin_files(plugin_folders(home)), watchdog)
    finally:
        watchdog.stop()
    symbols = [item.symbol for item in settings.instruments]
    for instance in instances:
        offered = catalog.strategies.get(instance.strategy)
        try:
            check_instance(instance, offered.cls if offered else None, catalog.names(), symbols)
        except InstanceError as exc:
            raise ConfigError(f"--strategy: {exc}") from None
    return instances


Option = tuple[tuple[str, ...], dict[str, Any]]
AFTER = "after_command_"  # dest prefix of an option given after the subcommand

# Options that every command takes, before or after its name: adding one is one line here.
COMMON_OPTIONS: list[Option] = [
    (("--home",), {"help": "folder for settings, database and plugins (env BRACKET_HOME)"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "debug logging"}),
]

# Options of a run (the workstation, a headless run or a smoke test), before or after `run`.
RUN_OPTIONS: list[Option] = [
    (("--headless",), {"action": "store_true", "help": "run the engine without Qt"}),
    (("--seconds",), {"type": float, "help": "simulated seconds to run (default: until "
                                             "closed)"}),
    (("--speed",), {"type": _speed, "help": "1 (real time), 10, 100 ... or max (default: max "
                                           f"headless, {SMOKE_SPEED:g} for --smoke, else the "
                                           "settings' feed.speed)"}),
    (("--seed",), {"type": int, "help": "simulation seed (settings: 7)"}),
    (("--start",), {"type": _start, "help": "simulated start date (default: the latest US "
                                           "equity session)"}),
    (("--replay",), {"metavar": "FILE|store", "help": "replay a CSV/Parquet file of ticks or "
                     "bars, or the stored ticks ('store'), instead of simulating"}),
    (("--report",), {"type": Path, "help": "write a JSON report here"}),
    (("--demo",), {"action": argparse.BooleanOptionalAction,
                   "help": "run the built-in demo strategy on NQ (default: on for headless "
                           "and smoke runs, off otherwise)"}),
    (("--strategy",), {"action": "append", "default": [],
                       "metavar": '"NAME[@SYM,SYM][:KEY=VALUE,...]"',
                       "help": "run a strategy plugin on these symbols (default: its own) "
                               "with these parameters (default: its defaults); repeatable"}),
    (("--auto-approve",), {"action": "store_true",
                           "help": "approve every confirmed signal setup without a click"}),
    (("--smoke",), {"action": "store_true",
                    "help": "GUI self-test: stream, screenshot, print a JSON summary, exit"}),
    (("--screenshot",), {"type": Path, "help": "save the main window here"}),
    (("--account",), {"help": "paper account to trade (default: the workstation's last one, "
                              "Paper at first; headless and smoke runs: a new account of "
                              "their own, with a market of their own)"}),
    (("--market",), {"choices": ("sim", "alpaca"),
                     "help": "sim (default) or alpaca: real quotes and Alpaca paper trading, "
                             "keys from APCA_API_KEY_ID/APCA_API_SECRET_KEY or the keyring"}),
]


def _add_options(parser: argparse.ArgumentParser, options: list[Option], *,
                 after_command: bool = False) -> None:
    """Declare options on the main parser, or again on a subcommand's: there each one is
    stored under a name of its own and is absent when not given, so that
    ``_merge_after_command`` can tell what was written after the subcommand."""
    for flags, spec in options:
        if after_command:
            dest = next(f for f in flags if f.startswith("--")).lstrip("-").replace("-", "_")
            spec = {**spec, "dest": AFTER + dest, "default": argparse.SUPPRESS}
            if spec.get("action") in (None, "append"):
                spec.setdefault("metavar", dest.upper())
        parser.add_argument(*flags, **spec)


def _merge_after_command(args: argparse.Namespace) -> argparse.Namespace:
    """An option after the subcommand wins over the same option before it; repeatable
    options (``--strategy``) collect both."""
    for key in [key for key in vars(args) if key.startswith(AFTER)]:
        name, value = key.removeprefix(AFTER), vars(args).pop(key)
        before = getattr(args, name, None)
        setattr(args, name, before + value if isinstance(before, list) else value)
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bracket", description="Bracket trader workstation")
    _add_options(parser, COMMON_OPTIONS + RUN_OPTIONS)
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the workstation or the headless engine")
    _add_options(run, COMMON_OPTIONS + RUN_OPTIONS, after_command=True)
    importer = commands.add_parser("import", help="load a CSV or Parquet of ticks or bars")
    importer.add_argument("file", type=Path)
    importer.add_argument("--symbol", default=None, help="symbol when the file has no column")
    importer.add_argument("--timeframe", default=None, help="bar timeframe, e.g. 1m or 1d")
    importer.add_argument("--tz", default=None, help="time zone of naive timestamps")
    _add_options(importer, COMMON_OPTIONS, after_command=True)
    history = commands.add_parser("history", help="download bars from Alpaca into the store")
    history.add_argument("--symbol", action="append", default=[], help="e.g. AAPL (repeatable)")
    history.add_argument("--timeframe", default="1m", help="1m-59m, 1h-23h or 1d (default 1m)")
    history.add_argument("--from", dest="start", required=True, help="2024-07-01 (UTC)")
    history.add_argument("--to", dest="end", default=None, help="default: now")
    _add_options(history, COMMON_OPTIONS, after_command=True)
    backtest = add_backtest_parser(commands)
    _add_options(backtest, COMMON_OPTIONS, after_command=True)
    for optimize in add_optimize_parsers(commands):
        _add_options(optimize, COMMON_OPTIONS, after_command=True)
    check = commands.add_parser("check", help="check the whole database for damage (slow on "
                                              "a large file); exit 2 when it is damaged")
    _add_options(check, COMMON_OPTIONS, after_command=True)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with options given before or after the subcommand merged."""
    return _merge_after_command(build_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        home = resolve_home(args.home)
        _setup_logging(home, args.verbose)
        settings = load_settings(home / SETTINGS_FILE)
        if args.command == "import":
            return _import(home, settings, args)
        if args.command == "check":
            return _check(home)
        if args.command == "history":
            from workstation.alpaca.cli import history

            return history(home, settings, args)
        if args.command == "backtest":
            from workstation.backtest.cli import run as backtest

            return backtest(home, settings, args,
                            _checked_strategies(home, settings, [args.strategy])[0])
        if args.command in OPTIMIZE_COMMANDS:
            from workstation.optimize.cli import run as optimize

            return optimize(home, settings, args, _checked_strategies(
                home, settings, [args.strategy])[0] if args.strategy else None)
        account, scratch = _account(args)
        strategies = _checked_strategies(home, settings, args.strategy)
        if args.replay is not None:
            settings = _without_tick_storage(settings)
        if args.auto_approve:
            settings = settings.model_copy(update={"signals": settings.signals.model_copy(
                update={"auto_approve": ("*",)})})
        if args.headless and args.market == "alpaca":
            from workstation.alpaca.cli import run_headless

            return asyncio.run(run_headless(home, settings, args, strategies))
        if args.headless:
            return asyncio.run(_headless(home, settings, args, strategies, account, scratch))
        from ui.app import run_gui  # the GUI is the only Qt user; imported on demand

        return run_gui(home, settings, feed_builder=lambda: _feed_builder(home, settings, args),
                       demo=_demo(args), smoke=args.smoke, strategies=strategies,
                       screenshot=args.screenshot, seconds=args.seconds, report=args.report,
                       account=account, scratch=scratch, market=args.market)
    except _refusals() as exc:
        print(f"bracket: {exc}", file=sys.stderr)
        return 2


def _refusals() -> tuple[type[Exception], ...]:
    """The errors that end a command with one line and exit 2 (evaluated only when an
    exception is raised, so the store and the importer load only when used)."""
    from workstation.importer import ImportProblem
    from workstation.store import StoreError

    return ConfigError, StoreError, SessionError, ImportProblem, AccountError


def _account(args: argparse.Namespace) -> tuple[str | None, bool]:
    """The account to trade and whether the run is a scratch run (a new account with a
    market of its own). None: the workstation's last account."""
    if args.account is not None:
        return check_account_name(args.account), False
    if args.headless or args.smoke:
        return fresh_account_name("smoke" if args.smoke else "run"), True
    return None, False


def _check(home: Path) -> int:
    """The full integrity check, on demand (the quick check runs at every open)."""
    path = home / DATABASE_FILE
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    from workstation.store import Store

    store = Store(path)
    try:
        store.check_integrity(full=True)
    finally:
        store.close()
    print(f"{path}: ok")
    return 0


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
    from workstation.engine import RunOptions, sim_feed_builder
    from workstation.feeds.replay import ReplayFeed

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
    from workstation.feeds.replay import events_from_file, ticks_from_store
    from workstation.store import open_store

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


async def _headless(home: Path, settings: Settings, args: argparse.Namespace,
                    strategies: list[InstanceSettings], account: str | None,
                    scratch: bool) -> int:
    if args.seconds is None and args.replay is None:
        raise ConfigError("a headless run needs --seconds N (simulated seconds) or --replay FILE")
    from workstation.engine import Engine
    from workstation.trade_stats import trade_stats

    engine = Engine(settings, home, _feed_builder(home, settings, args), demo=_demo(args),
                    strategies=strategies, account=account or DEFAULT_ACCOUNT, scratch=scratch)
    await engine.start()
    try:
        await engine.wait_feed()
    finally:
        await engine.stop()
    report = engine.report()
    text = json.dumps(report, indent=2)
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    summary = {k: report[k] for k in ("account_name", "ticks", "bars", "events_per_s",
                                      "loop_lag_p99_ms")}
    summary.update(orders=len(report["orders"]), fills=len(report["fills"]))
    summary.update(trade_stats(report["trades"]))
    print(json.dumps(summary))
    return 0


def _import(home: Path, settings: Settings, args: argparse.Namespace) -> int:
    from workstation.importer import import_file
    from workstation.store import open_store

    store = open_store(home / DATABASE_FILE)
    try:
        summary = import_file(store, args.file, settings.instrument_map(), symbol=args.symbol,
                              timeframe=args.timeframe, tz=args.tz)
    finally:
        store.close()
    first = ns_to_datetime(summary.first_ns).strftime("%Y-%m-%d %H:%M:%S")
    last = ns_to_datetime(summary.last_ns).strftime("%Y-%m-%d %H:%M:%S")
    skipped = f"; {summary.already_stored:,} already stored" if summary.already_stored else ""
    print(f"imported {summary.rows:,} {summary.kind} for {', '.join(summary.symbols)} "
          f"({first} to {last} UTC) from {args.file.name}{skipped}")
    return 0


def _setup_logging(home: Path, verbose: bool) -> None:
    """The console (warnings, or everything with -v) and ``logs/bracket.log``. A home whose
    log cannot be written is refused here, in one line, before anything else is touched."""
    try:
        file_handler = LogFile(home)
    except OSError as exc:
        raise ConfigError(f"cannot write to the Bracket home {home}: {exc.strerror or exc} "
                          f"({exc.filename or home / LOG_FILE}); check its permissions or "
                          "choose another with --home DIR") from None
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    console = Console(sys.stderr)
    console.setFormatter(fmt)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    file_handler.setFormatter(fmt)
    root.addHandler(console)
    root.addHandler(file_handler)


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        import multiprocessing

        # The packaged app runs optimize's workers and multiprocessing's resource tracker
        # as copies of its own executable: they must run, not parse Bracket's arguments.
        multiprocessing.freeze_support()
    sys.exit(main())
