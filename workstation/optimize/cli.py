"""``bracket optimize``, ``bracket walkforward`` and ``bracket challenge``.

    bracket optimize --strategy "SMA crossover@NQ" --timeframe 5m --from 2026-11-02 \\
        --to 2026-11-27 --param fast=5:20:5 --param slow=20:60:10 --require "fast<slow" \\
        --objective sharpe --min-trades 5 --search grid --json opt.json --csv trials.csv
    bracket walkforward ...the same... --in 10 --out 5 [--step 5] [--unit days|bars] \
        [--anchored]
    bracket challenge --preset topstep --account 50000 --run 12 --paths 100000

Trials run on every local core (``--workers N``; 0 runs them in this process) or on a
Dask cluster (``--cluster tcp://HOST:8786``). Progress on stderr, a one-line summary at
the end; the result is kept in the home's store (``--no-save``: not). With
``--progress json`` stdout carries one JSON object per line, for the app's Backtest
dock: ``{"progress": {"trials": n, "total": N, "best": x, "eta_s": s}}`` repeatedly,
``{"trial": {...}}`` for each finished trial of ``optimize``, and last
``{"optimization_id": ID, "summary": "..."}`` (``challenge``: ``{"challenge_id": ID,
...}``; the ID is null with ``--no-save``). A bad argument is one line on stderr and exit
code 2. This module is imported by the command line's parser: it loads
nothing heavy until a command runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.config import DATABASE_FILE, ConfigError, Settings
from workstation.strategies.instances import InstanceSettings

if TYPE_CHECKING:
    from workstation.optimize.challenge import ChallengeRules
    from workstation.optimize.grid import Grid
    from workstation.optimize.pool import TrialJob
    from workstation.optimize.runs import Optimization
    from workstation.optimize.search import SearchResult, Trial
    from workstation.strategy import Param
    from workstation.trades import TradeRecord

COMMANDS = ("optimize", "walkforward", "challenge")
PROGRESS_EVERY_S = 0.2
# objective.OBJECTIVES' keys (not imported: the parser stays light)
OBJECTIVE_NAMES = ("net_profit", "sharpe", "sortino", "profit_factor", "expectancy_r",
                   "return_drawdown", "pass_probability")
CSV_METRICS = ("net_profit", "total_return", "sharpe", "sortino", "max_drawdown", "trades",
               "win_rate", "profit_factor", "expectancy_r")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date {text!r}: use YYYY-MM-DD") from None


def _data_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--strategy", required=required,
                        metavar='"NAME[@SYM,SYM][:KEY=VALUE,...]"',
                        help="the strategy, its symbols and its fixed parameters")
    parser.add_argument("--timeframe", default="1m", help="bar timeframe (default 1m)")
    parser.add_argument("--from", dest="first", type=_day, required=required,
                        help="first trading day")
    parser.add_argument("--to", dest="last", type=_day, required=required,
                        help="last trading day")
    parser.add_argument("--data", default="sim", metavar="sim|store|FILE",
                        help="generated history (default), stored bars, or a bar file")
    parser.add_argument("--cash", type=float, default=100_000.0, help="starting cash")
    parser.add_argument("--commission", type=float, default=None,
                        help="per contract/share per side (default: the paper broker's)")
    parser.add_argument("--slippage-ticks", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7, help="the simulated history's seed")


def _search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--param", action="append", default=[], metavar="NAME[=SPEC]",
                        help="a parameter to vary: NAME (its declared range), "
                             "NAME=MIN:MAX[:STEP] or NAME=V1,V2,... (repeat)")
    parser.add_argument("--require", action="append", default=[], metavar='"A<B"',
                        help="a condition every combination must meet (repeat)")
    parser.add_argument("--objective", choices=OBJECTIVE_NAMES, default="net_profit")
    parser.add_argument("--min-trades", type=int, default=0)
    parser.add_argument("--max-drawdown", type=float, default=None,
                        help="the deepest daily drawdown allowed, a fraction (0.2)")
    parser.add_argument("--search", choices=("grid", "tpe", "nsga2"), default="grid")
    parser.add_argument("--trials", type=int, default=100, help="trials of a tpe/nsga2 search")
    parser.add_argument("--search-seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (default: every core; 0: in this process)")
    parser.add_argument("--cluster", default=None, metavar="tcp://HOST:8786",
                        help="run the trials on this Dask scheduler instead")
    parser.add_argument("--preset", choices=("ftmo", "topstep", "intraday_trailing"),
                        default=None, help="the challenge of --objective pass_probability")
    parser.add_argument("--account", type=float, default=100_000.0,
                        help="the challenge's account size")
    parser.add_argument("--paths", type=int, default=2_000,
                        help="challenge paths simulated per trial")
    parser.add_argument("--progress", choices=("bar", "json", "none"), default="bar")
    parser.add_argument("--json", type=Path, help="write the whole result as JSON here")
    parser.add_argument("--csv", type=Path, help="write a table (trials / windows) as CSV")
    parser.add_argument("--no-save", action="store_true", help="do not keep the result")


def add_parsers(commands: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    optimize = commands.add_parser("optimize", help="search a strategy's parameters")
    _data_options(optimize, required=True)
    _search_options(optimize)
    walk = commands.add_parser("walkforward", help="walk-forward analysis of a strategy")
    _data_options(walk, required=True)
    _search_options(walk)
    walk.add_argument("--in", "--in-days", dest="in_days", type=int, required=True,
                      help="in-sample length (trading days, or bars with --unit bars)")
    walk.add_argument("--out", "--out-days", dest="out_days", type=int, required=True,
                      help="out-of-sample length")
    walk.add_argument("--step", "--step-days", dest="step_days", type=int, default=None,
                      help="distance between windows (default: --out)")
    walk.add_argument("--unit", choices=("days", "bars"), default="days",
                      help="what the lengths count: trading days (default) or bars")
    walk.add_argument("--anchored", action="store_true",
                      help="every in-sample window starts on the first day")
    challenge = commands.add_parser("challenge", help="odds of passing a prop-firm evaluation")
    _data_options(challenge, required=False)
    challenge.add_argument("--preset", choices=("ftmo", "topstep", "intraday_trailing",
                                                 "custom"), default="ftmo",
                           help="the risk gate's preset, or custom (give --target and limits)")
    challenge.add_argument("--account", type=float, default=100_000.0, help="account size")
    challenge.add_argument("--target", type=float, default=None, help="profit target")
    challenge.add_argument("--daily-loss", type=float, default=None)
    challenge.add_argument("--max-loss", type=float, default=None)
    challenge.add_argument("--trailing", choices=("static", "eod", "intraday"), default=None)
    challenge.add_argument("--min-days", type=int, default=None, help="minimum trading days")
    challenge.add_argument("--max-days", type=int, default=None,
                           help="time limit in trading days (default 60)")
    challenge.add_argument("--paths", type=int, default=10_000)
    challenge.add_argument("--sim-seed", type=int, default=0, help="the resampling's seed")
    challenge.add_argument("--run", type=int, default=None, help="a stored backtest's trades")
    challenge.add_argument("--walkforward", type=int, default=None, metavar="ID",
                           help="a stored walk-forward's out-of-sample trades")
    challenge.add_argument("--journal", default=None, metavar="ACCOUNT",
                           help="the live journal's finished trades of this account")
    challenge.add_argument("--trades-json", type=Path, default=None,
                           help="trades from a backtest --report or a walkforward --json file")
    challenge.add_argument("--json", type=Path, help="write the result as JSON here")
    challenge.add_argument("--csv", type=Path, help="write the days-to-pass table as CSV")
    challenge.add_argument("--progress", choices=("bar", "json", "none"), default="bar")
    challenge.add_argument("--no-save", action="store_true", help="do not keep the result")
    return [optimize, walk, challenge]


# -- running -------------------------------------------------------------------------------
def run(home: Path, settings: Settings, args: argparse.Namespace,
        instance: InstanceSettings | None) -> int:
    """``instance``: the --strategy, already checked (None when not given)."""
    if not args.verbose:
        logging.getLogger().setLevel(logging.ERROR)
    if not args.no_save:  # a store it cannot keep the result in is refused before the work
        from workstation.store import open_store

        open_store(home / DATABASE_FILE).close()
    try:
        if args.command == "challenge":
            return _challenge(home, settings, args, instance)
        assert instance is not None
        return _search(home, settings, args, instance)
    except KeyboardInterrupt:
        print(f"bracket: {args.command} canceled; nothing was written", file=sys.stderr)
        return 130


def _job(home: Path, settings: Settings, args: argparse.Namespace,
         instance: InstanceSettings) -> tuple[TrialJob, dict[str, Param]]:
    from workstation.backtest.run import BacktestSettings
    from workstation.optimize.study import prepare_job

    if args.data not in ("sim", "store") and not Path(args.data).is_file():
        raise ConfigError(f"--data {args.data!r}: not sim, store or a file")
    if args.cash <= 0:
        raise ConfigError(f"--cash {args.cash:g}: must be positive")
    if args.last < args.first:
        raise ConfigError(f"empty date range: {args.first} is after {args.last}")
    options = BacktestSettings(starting_cash=args.cash, slippage_ticks=args.slippage_ticks,
                               commission=args.commission, seed=args.seed)
    return prepare_job(settings, home, instance, args.timeframe, args.first, args.last,
                       args.data, options)


def _grid(declared: dict[str, Param], args: argparse.Namespace,
          instance: InstanceSettings) -> Grid:
    from workstation.optimize.grid import build_grid

    specs: dict[str, str | None] = {}
    for item in args.param:
        name, equals, spec = item.partition("=")
        specs[name.strip()] = spec.strip() if equals else None
    return build_grid(declared, specs, args.require, instance.params)


def _search(home: Path, settings: Settings, args: argparse.Namespace,
            instance: InstanceSettings) -> int:
    from workstation.optimize.objective import Constraints
    from workstation.optimize.pool import open_runner
    from workstation.optimize.runs import save_optimization
    from workstation.optimize.search import run_search
    from workstation.optimize.walkforward import run_walkforward

    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"--workers {args.workers}: 0 or more")
    constraints = Constraints(args.min_trades, args.max_drawdown)
    job, declared = _job(home, settings, args, instance)
    if args.objective == "pass_probability":
        from dataclasses import replace

        from workstation.optimize.challenge import preset_rules

        if args.preset is None:
            raise ConfigError("--objective pass_probability needs --preset (and --account)")
        job = replace(job, challenge=preset_rules(args.preset, args.account),
                      challenge_paths=args.paths, challenge_seed=args.search_seed)
    grid = _grid(declared, args, instance)
    started = time.perf_counter()
    progress = _Progress(args.progress, trials=args.command == "optimize")
    runner = open_runner(job, workers=args.workers, cluster=args.cluster)
    try:
        if args.command == "optimize":
            result: Any = run_search(runner, grid, args.objective, constraints,
                                     method=args.search, trials=args.trials,
                                     seed=args.search_seed, progress=progress)
        else:
            result = run_walkforward(runner, job, grid, args.objective, constraints,
                                     in_days=args.in_days, out_days=args.out_days,
                                     step=args.step_days, anchored=args.anchored,
                                     method=args.search, trials=args.trials,
                                     seed=args.search_seed, unit=args.unit,
                                     progress=progress)
    finally:
        runner.close()
    progress.done()
    wall = time.perf_counter() - started
    if args.command == "optimize":
        document = {"command": "optimize", **_inputs(args, job), **result.as_dict(),
                    "wall_s": round(wall, 3), "workers": runner.workers}
        table = trials_csv(result)
        line = optimize_line(result, wall, runner.workers)
    else:
        document = {"command": "walkforward", **_inputs(args, job), **result.as_dict(),
                    "wall_s": round(wall, 3), "workers": runner.workers}
        table = windows_csv(document["windows"])
        line = walkforward_line(document, wall)
    saved = None if args.no_save else _keep(home, lambda store: save_optimization(
        store, optimization_record(args.command, document, job, result, wall,
                                   runner.workers)))
    _outputs(args, document, table)
    _say(args, line, {"optimization_id": saved})
    return 0


def _keep(home: Path, save: Callable[[Any], int]) -> int:
    """``save`` into the home's store; its number."""
    from workstation.store import open_store

    store = open_store(home / DATABASE_FILE)
    try:
        return save(store)
    finally:
        store.close()


def optimization_record(kind: str, document: dict[str, Any], job: TrialJob, result: Any,
                        wall: float, workers: int) -> Optimization:
    """What the store keeps of an optimisation (``result``: a SearchResult) or a
    walk-forward (a WalkForwardResult), from the command's ``document``."""
    from workstation.optimize.runs import Optimization
    from workstation.optimize.study import strategy_class

    offered = strategy_class(job.instance.strategy, job.plugin_dirs)
    inputs = {k: document[k] for k in INPUT_KEYS if k in document}
    if kind == "optimize":
        best = document["best"]
        trials = {0: tuple(result.trials)}
        summary = {"objective": result.objective, "method": result.method,
                   "varied": result.varied, "trials": len(result.trials),
                   "best": None if best is None else {k: best[k] for k in
                                                      ("number", "params", "score")}}
        kept: dict[str, Any] = {}
    else:
        trials = {w.window.index: tuple(w.search.trials) for w in result.windows}
        summary = {k: document[k] for k in ("oos_net_profit", "walk_forward_efficiency",
                                            "oos_annualised", "is_annualised")}
        summary["windows"] = len(document["windows"])
        summary["trades"] = len(document["trades"])
        kept = {k: document[k] for k in ("windows", "daily", "trades", "parameter_stability",
                                         "anchored", "unit", "starting_cash")}
    return Optimization(
        kind=kind, created_ts=time.time_ns(), strategy=offered.name,
        strategy_version=offered.version, file_hash=offered.sha256,
        symbols=tuple(job.instance.symbols), timeframe=job.timeframe,
        first_day=job.first.isoformat(), last_day=job.last.isoformat(), source=job.source,
        inputs=inputs, summary=summary, result=kept, trials=trials, wall_s=round(wall, 3),
        workers=workers)


INPUT_KEYS = ("strategy", "symbols", "fixed_params", "timeframe", "first", "last", "data",
              "settings", "params", "require", "objective", "min_trades", "max_drawdown",
              "search", "trials_asked", "search_seed", "challenge", "walkforward")


def _inputs(args: argparse.Namespace, job: TrialJob) -> dict[str, Any]:
    """Everything needed to run it again."""
    return {"strategy": job.instance.strategy, "symbols": list(job.instance.symbols),
            "fixed_params": job.instance.params, "timeframe": job.timeframe,
            "first": job.first.isoformat(), "last": job.last.isoformat(), "data": job.source,
            "settings": job.options.as_dict(), "params": args.param, "require": args.require,
            "min_trades": args.min_trades, "max_drawdown": args.max_drawdown,
            "search": args.search, "trials_asked": args.trials,
            "search_seed": args.search_seed, "objective": args.objective,
            "challenge": job.challenge.as_dict() if job.challenge else None,
            "walkforward": {"in": args.in_days, "out": args.out_days, "step": args.step_days,
                            "unit": args.unit, "anchored": args.anchored}
            if args.command == "walkforward" else None}


def _say(args: argparse.Namespace, line: str, saved: dict[str, Any]) -> None:
    if getattr(args, "progress", "bar") == "json":
        print(json.dumps({**saved, "summary": line}), flush=True)
    else:
        print(line)


def _params_text(params: dict[str, Any] | None, names: list[str] | None = None) -> str:
    if not params:
        return "none"
    keys = names if names is not None else list(params)
    return " ".join(f"{k}={params[k]}" for k in keys)


def optimize_line(result: SearchResult, wall: float, workers: int) -> str:
    best = result.best
    counts = {s: sum(1 for t in result.trials if t.status == s)
              for s in ("ok", "excluded", "skipped", "error")}
    tally = (f"{len(result.trials)} trials: {counts['ok']} scored, {counts['excluded']} "
             f"excluded, {counts['skipped']} skipped, {counts['error']} errors")
    if best is None:
        return f"no trial scored ({tally}) in {wall:.1f} s on {workers} workers"
    return (f"best trial {best.number}: {_params_text(best.params, result.varied)} · "
            f"{result.objective} {best.score:.4g} ({tally}) in {wall:.1f} s on "
            f"{workers} workers")


def walkforward_line(document: dict[str, Any], wall: float) -> str:
    efficiency = document["walk_forward_efficiency"]
    eff = "—" if efficiency is None else f"{efficiency:.2f}"
    return (f"{len(document['windows'])} windows · OOS net {document['oos_net_profit']:,.2f}"
            f" from {len(document['trades'])} trades · walk-forward efficiency {eff} in "
            f"{wall:.1f} s")


def trials_csv(result: SearchResult) -> str:
    names = list(result.trials[0].params) if result.trials else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "status", "score", *names, *CSV_METRICS, "reason"])
    for trial in result.trials:
        metrics = trial.metrics or {}
        writer.writerow([trial.number, trial.status, _cell(trial.score),
                         *(_cell(trial.params.get(n)) for n in names),
                         *(_cell(metrics.get(m)) for m in CSV_METRICS), _cell(trial.reason)])
    return buffer.getvalue()


def windows_csv(windows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["window", "is_first", "is_last", "oos_first", "oos_last", "params",
                     "is_net_profit", "is_annualised", "oos_net_profit", "oos_annualised",
                     "oos_trades"])
    for w in windows:
        is_m, oos_m = w["is_metrics"] or {}, w["oos_metrics"] or {}
        writer.writerow([w["index"], *w["in_sample"], *w["out_of_sample"],
                         _params_text(w["params"]), _cell(is_m.get("net_profit")),
                         _cell(w["is_annualised"]), _cell(oos_m.get("net_profit")),
                         _cell(w["oos_annualised"]), _cell(oos_m.get("trades"))])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: through a temporary file beside it."""
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _outputs(args: argparse.Namespace, document: dict[str, Any], table: str) -> None:
    if args.json:
        _write(args.json, json.dumps(document, indent=1, allow_nan=False, default=str) + "\n")
    if args.csv:
        _write(args.csv, table)


# -- challenge -----------------------------------------------------------------------------
def challenge_rules(args: argparse.Namespace) -> ChallengeRules:
    """A preset (the risk gate's numbers, any option given overriding them) or, with
    ``--preset custom``, the rules given (``--target`` needed)."""
    from workstation.optimize.challenge import ChallengeRules, preset_rules

    overrides = {"profit_target": args.target, "daily_loss": args.daily_loss,
                 "max_loss": args.max_loss, "trailing": args.trailing,
                 "min_trading_days": args.min_days, "max_days": args.max_days}
    if args.preset != "custom":
        return preset_rules(args.preset, args.account, **overrides)
    if args.target is None:
        raise ConfigError("--preset custom needs --target (and the loss limits it has)")
    given = {k: v for k, v in overrides.items() if v is not None}
    return ChallengeRules(account_size=args.account, **given)


def _challenge(home: Path, settings: Settings, args: argparse.Namespace,
               instance: InstanceSettings | None) -> int:
    from workstation.optimize.challenge import simulate, trade_days
    from workstation.optimize.runs import ChallengeRun, save_challenge

    rules = challenge_rules(args)
    trades, source = _challenge_trades(home, settings, args, instance)
    days = trade_days(trades)
    started = time.perf_counter()
    result = simulate(days, rules, paths=args.paths, seed=args.sim_seed)
    wall = time.perf_counter() - started
    document = {"command": "challenge", "source": source["label"], "trades": len(trades),
                **result.as_dict(), "wall_s": round(wall, 3)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["day", "passed", "cumulative_pass_probability"])
    running = 0
    for day, count in enumerate(result.days_to_pass.tolist(), start=1):
        running += count
        writer.writerow([day, count, running / result.paths])
    record = ChallengeRun(time.time_ns(), source, len(trades),
                          tuple(tuple(d) for d in days), result, round(wall, 3))
    saved = None if args.no_save else _keep(home, lambda store: save_challenge(store, record))
    _outputs(args, document, buffer.getvalue())
    stats = result.days_to_pass_stats()
    median = "—" if stats["median"] is None else f"{stats['median']:.0f}"
    line = (f"{rules.name} on {len(trades)} trades over {len(days)} days "
            f"({source['label']}), {result.paths:,} paths: pass "
            f"{result.pass_probability:.1%}, fail daily loss "
            f"{result.fail_daily_probability:.1%}, fail max loss "
            f"{result.fail_max_probability:.1%}, out of time {result.timeout_probability:.1%}"
            f" · median days to pass {median}")
    _say(args, line, {"challenge_id": saved})
    return 0


def _from_store(home: Path, option: str, read: Callable[[Any], Any]) -> Any:
    """``read`` on the home's store, opened read-only (the option named when it is not
    there)."""
    from workstation.store import open_store

    if not (home / DATABASE_FILE).exists():
        raise ConfigError(f"{option}: no store in this home")
    store = open_store(home / DATABASE_FILE, write=False)
    try:
        return read(store)
    finally:
        store.close()


def _challenge_trades(home: Path, settings: Settings, args: argparse.Namespace,
                      instance: InstanceSettings | None
                      ) -> tuple[list[TradeRecord], dict[str, Any]]:
    """The trades and where they came from (``{"kind": ..., "label": ...}``)."""
    given = [n for n, v in (("--run", args.run), ("--walkforward", args.walkforward),
                            ("--journal", args.journal), ("--trades-json", args.trades_json),
                            ("--strategy", instance)) if v is not None]
    if len(given) != 1:
        raise ConfigError("give the trades with one of --run ID, --walkforward ID, --journal "
                          "ACCOUNT, --trades-json FILE or --strategy (with --from/--to)")
    if args.run is not None:
        from workstation.backtest.runs import load_run

        trades = _from_store(home, f"--run {args.run}",
                             lambda store: list(load_run(store, args.run).trades))
        return trades, {"kind": "backtest", "id": args.run,
                        "label": f"backtest run {args.run}"}
    if args.walkforward is not None:
        from workstation.optimize.runs import load_optimization

        record = _from_store(home, f"--walkforward {args.walkforward}",
                             lambda store: load_optimization(store, args.walkforward))
        if record.kind != "walkforward":
            raise ConfigError(f"--walkforward {args.walkforward}: an optimisation, not a "
                              "walk-forward")
        return record.oos_trades(), {"kind": "walkforward", "id": args.walkforward,
                                     "label": f"walk-forward {args.walkforward} out of sample"}
    if args.journal is not None:
        from workstation.optimize.runs import journal_trades

        trades = _from_store(home, f"--journal {args.journal}",
                             lambda store: journal_trades(store, args.journal))
        return trades, {"kind": "journal", "account": args.journal,
                        "label": f"journal of {args.journal}"}
    if args.trades_json is not None:
        return read_trades_json(args.trades_json), {
            "kind": "file", "file": args.trades_json.name, "label": args.trades_json.name}
    assert instance is not None
    if args.first is None or args.last is None:
        raise ConfigError("--strategy needs --from and --to")
    from workstation.backtest.runner import BacktestSpec, run_backtest

    job, _ = _job(home, settings, args, instance)
    spec = BacktestSpec(job.instance, job.timeframe, job.first, job.last, job.source,
                        job.options)
    run = run_backtest(settings, home, spec)
    return list(run.trades), {"kind": "strategy", "strategy": instance.strategy,
                              "first": job.first.isoformat(), "last": job.last.isoformat(),
                              "label": f"backtest of {instance.strategy}"}


def read_trades_json(path: Path) -> list[TradeRecord]:
    """The ``trades`` of a ``bracket backtest --report`` or ``bracket walkforward --json``."""
    from workstation.trades import TradeRecord

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"--trades-json {path.name}: cannot be read ({exc})") from None
    rows = document.get("trades") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f"--trades-json {path.name}: no \"trades\" list")
    fields = TradeRecord.__slots__
    trades = []
    for number, row in enumerate(rows, start=1):
        try:
            trades.append(TradeRecord(**{k: row[k] for k in fields if k in row}))
        except (TypeError, KeyError) as exc:
            raise ConfigError(f"--trades-json {path.name}: trade {number}: {exc}") from None
    return trades


class _Progress:
    """Trials done/total, the best so far and an ETA; at most every 0.2 s. In JSON mode
    with ``trials``, every finished trial too (the dock's table fills as they arrive)."""

    def __init__(self, mode: str, *, trials: bool = False) -> None:
        self.mode = mode
        self.trials = trials
        self.started = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int, best: Trial | None, trial: Trial) -> None:
        if self.mode == "json" and self.trials:
            metrics = trial.metrics or {}
            print(json.dumps({"trial": {"number": trial.number, "params": trial.params,
                                        "status": trial.status, "score": trial.score,
                                        "reason": trial.reason,
                                        "metrics": {m: metrics.get(m) for m in CSV_METRICS}}},
                             default=str), flush=True)
        now = time.perf_counter()
        if self.mode == "none" or (now - self._last < PROGRESS_EVERY_S and done < total):
            return
        self._last = now
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done else None
        best_text = f"best {best.score:.4g} (trial {best.number})" if best else "best —"
        if self.mode == "json":
            print(json.dumps({"progress": {
                "trials": done, "total": total, "best": best.score if best else None,
                "best_trial": best.number if best else None,
                "best_params": best.params if best else None,
                "eta_s": None if eta is None else round(eta, 1)}}, default=str), flush=True)
            return
        eta_text = f"ETA {eta:4.0f} s" if eta is not None else ""
        print(f"\r{done:,}/{total:,} trials · {best_text} · {eta_text}   ", end="",
              file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.mode == "bar":
            print(file=sys.stderr)
