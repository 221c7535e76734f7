"""``bracket backtest``: one strategy on history, from the command line.

    bracket backtest --strategy "SMA crossover@NQ" --timeframe 1m --from 2026-09-01 \\
        --to 2026-11-27 --data sim --report out.json --html out.html --trades out.csv

A progress bar on the terminal (``--progress json``: one JSON object per line on stdout,
for the app's Backtest dock), a one-line summary at the end, and the run kept in the
home's store. A bad argument is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.config import DATABASE_FILE, ConfigError, Settings
from workstation.strategies.instances import InstanceSettings

if TYPE_CHECKING:
    from workstation.backtest.run import BacktestRun

PROGRESS_EVERY_S = 0.2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date {text!r}: use YYYY-MM-DD") from None


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("backtest", help="test a strategy plugin on history")
    parser.add_argument("--strategy", required=True, metavar='"NAME[@SYM,SYM][:KEY=VALUE,...]"',
                        help="the strategy, its symbols (default: its own) and parameters")
    parser.add_argument("--timeframe", default="1m", help="bar timeframe (default 1m)")
    parser.add_argument("--from", dest="first", type=_day, required=True,
                        help="first trading day")
    parser.add_argument("--to", dest="last", type=_day, required=True, help="last trading day")
    parser.add_argument("--data", default="sim", metavar="sim|store|store-ticks|FILE",
                        help="generated history (default), stored bars, stored ticks, "
                             "or a CSV/Parquet file of bars")
    parser.add_argument("--cash", type=float, default=100_000.0, help="starting cash")
    parser.add_argument("--fill", choices=("next-open", "close"), default="next-open",
                        help="where a market order placed at a bar's close fills")
    parser.add_argument("--slippage-ticks", type=int, default=0)
    parser.add_argument("--slippage-bps", type=float, default=0.0)
    parser.add_argument("--commission", type=float, default=None,
                        help="per contract/share per side (default: the paper broker's)")
    parser.add_argument("--seed", type=int, default=7, help="the simulated history's seed")
    parser.add_argument("--break-even-r", type=float, default=None, metavar="R",
                        help="move a trade's stop to its entry once it is R in profit "
                             "(0: never; default: the paper account's [paper] break_even_r)")
    parser.add_argument("--progress", choices=("bar", "json", "none"), default="bar")
    parser.add_argument("--report", type=Path, help="write the run as JSON here")
    parser.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    parser.add_argument("--trades", type=Path, help="write the trades as CSV here")
    parser.add_argument("--no-save", action="store_true", help="do not keep the run")
    return parser


def run(home: Path, settings: Settings, args: argparse.Namespace,
        instance: InstanceSettings) -> int:
    """``instance``: the --strategy, already checked against the plugins and instruments."""
    from workstation.backtest.run import BacktestSettings
    from workstation.backtest.runner import BacktestCanceled, BacktestSpec, run_backtest

    source, ticks = args.data, False
    if source == "store-ticks":
        source, ticks = "store", True
    elif source not in ("sim", "store") and not Path(source).is_file():
        raise ConfigError(f"--data {source!r}: not sim, store, store-ticks or a file")
    if args.cash <= 0:
        raise ConfigError(f"--cash {args.cash:g}: must be positive")
    if args.break_even_r is not None and not 0 <= args.break_even_r <= 100:
        raise ConfigError(f"--break-even-r {args.break_even_r:g}: must be 0 (never) to 100")
    options = BacktestSettings(
        starting_cash=args.cash, market_fill=args.fill.replace("-", "_"),
        slippage_ticks=args.slippage_ticks, slippage_bps=args.slippage_bps,
        commission=args.commission, seed=args.seed, break_even_r=args.break_even_r)
    spec = BacktestSpec(instance, args.timeframe, args.first, args.last, source, options, ticks)
    if not args.verbose:  # a backtest's rejections and trades would flood the console and the log
        logging.getLogger().setLevel(logging.ERROR)
    progress = _Progress(args.progress)
    try:
        result = run_backtest(settings, home, spec, progress=progress)
    except BacktestCanceled:
        return 130
    except KeyboardInterrupt:
        print("bracket: backtest canceled; nothing was kept", file=sys.stderr)
        return 130
    progress.done()
    from workstation.store import StoreError  # SQLAlchemy: not at the app's start

    unsaved: StoreError | None = None
    if not args.no_save:
        try:
            result = replace(result, run_id=_save(home, result))
        except StoreError as exc:  # the files asked for are still written, then it is said
            unsaved = exc
    _export(result, args)
    if unsaved is not None:
        raise unsaved
    line = summary_line(result)
    if args.progress == "json":
        print(json.dumps({"run_id": result.run_id, "summary": line}), flush=True)
    else:
        print(line)
    return 0


def _save(home: Path, result: BacktestRun) -> int:
    from workstation.backtest.runs import save_run
    from workstation.store import open_store

    store = open_store(home / DATABASE_FILE)
    try:
        return save_run(store, result)
    finally:
        store.close()


def _export(result, args: argparse.Namespace) -> None:  # noqa: ANN001 - BacktestRun
    from workstation.backtest import report

    if args.report:
        report.write_json(result, args.report)
    if args.html:
        report.write_html(result, args.html)
    if args.trades:
        report.write_trades_csv(result, args.trades)


def summary_line(result) -> str:  # noqa: ANN001 - BacktestRun
    from workstation.backtest.metrics import format_metric

    m = result.metrics
    figures = ", ".join(f"{label} {format_metric(key, m.get(key))}" for key, label in (
        ("net_profit", "net"), ("total_return", "return"), ("sharpe", "Sharpe"),
        ("max_drawdown", "max DD"), ("trades", "trades"), ("win_rate", "win rate"),
        ("profit_factor", "PF"), ("expectancy_r", "exp R")))
    kept = f"run {result.run_id}: " if result.run_id is not None else ""
    problems = f" · {len(result.problems)} problem(s): {result.problems[0]}" \
        if result.problems else ""
    return (f"{kept}{result.title} {result.source}: {result.bars:,} bars in "
            f"{result.wall_s:.1f} s · {figures}{problems}")


class _Progress:
    """The terminal bar (stderr), JSON lines (stdout) or nothing; at most every 0.2 s."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.started = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.mode == "none" or (now - self._last < PROGRESS_EVERY_S and done < total):
            return
        self._last = now
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done else None
        if self.mode == "json":
            print(json.dumps({"progress": {"bars": done, "total": total,
                                           "eta_s": None if eta is None else round(eta, 1)}}),
                  flush=True)
            return
        width = 30
        filled = int(width * done / total) if total else width
        eta_text = f"ETA {eta:4.0f} s" if eta is not None else ""
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} bars {eta_text}",
              end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.mode == "bar":
            print(file=sys.stderr)
