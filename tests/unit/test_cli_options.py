"""The command line's options (before or after the subcommand), the summary's trade figures
and the log handler that survives a full disk; in process, without running the engine."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from workstation.__main__ import COMMON_OPTIONS, RUN_OPTIONS, parse_args
from workstation.logfile import Console, LogFile
from workstation.trade_stats import trade_stats

# -- options before or after the subcommand (issue 10 part 6) -------------------------------
SAMPLES = {"seconds": "5", "speed": "10", "seed": "3", "start": "2026-11-02",
           "replay": "ticks.csv", "report": "run.json", "strategy": "SMA crossover@NQ",
           "screenshot": "shot.png", "home": "elsewhere", "market": "alpaca"}


def tokens(flags: tuple[str, ...], spec: dict) -> list[str]:
    """The option as a person would type it, with a sample value when it takes one."""
    flag = flags[-1]
    if spec.get("action") in ("store_true",) or not isinstance(spec.get("action", ""), str):
        return [flag]  # a flag (BooleanOptionalAction is a class, not a name)
    return [flag, SAMPLES.get(flag.lstrip("-").replace("-", "_"), "value")]


def dest(flags: tuple[str, ...]) -> str:
    return next(f for f in flags if f.startswith("--")).lstrip("-").replace("-", "_")


@pytest.mark.parametrize(("flags", "spec"), COMMON_OPTIONS + RUN_OPTIONS,
                         ids=lambda v: v[-1] if isinstance(v, tuple) else "")
def test_every_run_option_means_the_same_before_or_after_run(flags, spec):
    before = parse_args([*tokens(flags, spec), "run"])
    after = parse_args(["run", *tokens(flags, spec)])

    assert getattr(before, dest(flags)) == getattr(after, dest(flags))
    assert getattr(after, dest(flags)) != getattr(parse_args(["run"]), dest(flags))


@pytest.mark.parametrize(("flags", "spec"), COMMON_OPTIONS,
                         ids=lambda v: v[-1] if isinstance(v, tuple) else "")
def test_every_common_option_means_the_same_before_or_after_import(flags, spec):
    before = parse_args([*tokens(flags, spec), "import", "ticks.csv"])
    after = parse_args(["import", "ticks.csv", *tokens(flags, spec)])

    assert getattr(before, dest(flags)) == getattr(after, dest(flags))
    assert after.file == Path("ticks.csv")


def test_home_and_verbose_after_run_are_taken():
    args = parse_args(["run", "--home", "D", "--headless", "--seconds", "60", "-v"])

    assert (args.command, args.home, args.headless, args.seconds, args.verbose) == (
        "run", "D", True, 60.0, True)


def test_home_after_import_is_taken():
    args = parse_args(["import", "ticks.csv", "--home", "D", "--symbol", "NQ"])

    assert (args.command, args.home, args.symbol) == ("import", "D", "NQ")


def test_an_option_after_the_subcommand_wins_over_the_same_option_before_it():
    args = parse_args(["--home", "A", "--seed", "1", "run", "--home", "B", "--seed", "2"])

    assert (args.home, args.seed) == ("B", 2)


def test_strategies_before_and_after_run_are_all_kept_in_order():
    args = parse_args(["--strategy", "A@NQ", "run", "--strategy", "B@ES", "--strategy", "C"])

    assert args.strategy == ["A@NQ", "B@ES", "C"]


def test_without_options_the_defaults_hold_with_or_without_run():
    for argv in ([], ["run"]):
        args = parse_args(argv)

        assert (args.home, args.verbose, args.headless, args.seconds, args.seed) == (
            None, False, False, None, None)
        assert (args.demo, args.strategy, args.replay) == (None, [], None)


# -- the summary's trade figures (issue 10 part 6) --------------------------------------------
def trade(exit_ts: int, realized_pnl: float, commission: float = 5.0) -> dict:
    return {"exit_ts": exit_ts, "realized_pnl": realized_pnl, "commission": commission}


def test_trade_figures_of_five_hand_made_trades():
    # net in exit order: +95, -55, -35, +195, -5; cumulative 95, 40, 5, 200, 195:
    # the deepest fall is from 95 to 5 (90); wins are the +95 and +195 trades.
    trades = [trade(4, 200.0), trade(1, 100.0), trade(3, -30.0), trade(5, 0.0),
              trade(2, -50.0)]

    assert trade_stats(trades) == {"net_pnl": 195.0, "trades": 5, "win_rate": 0.4,
                                   "max_drawdown": 90.0}


def test_a_first_losing_trade_is_a_drawdown_from_zero():
    assert trade_stats([trade(1, -10.0, 2.5)]) == {"net_pnl": -12.5, "trades": 1,
                                                   "win_rate": 0.0, "max_drawdown": 12.5}


def test_a_trade_whose_profit_only_pays_its_commission_is_not_a_win():
    assert trade_stats([trade(1, 5.0, 5.0), trade(2, 5.01, 5.0)])["win_rate"] == 0.5


def test_net_pnl_and_drawdown_are_money_to_two_decimals():
    stats = trade_stats([trade(1, 0.1, 0.0), trade(2, 0.2, 0.0), trade(3, -0.123, 0.0)])

    assert (stats["net_pnl"], stats["max_drawdown"]) == (0.18, 0.12)


def test_no_trades_have_no_win_rate_and_no_drawdown():
    assert trade_stats([]) == {"net_pnl": 0.0, "trades": 0, "win_rate": None,
                               "max_drawdown": 0.0}


# -- the log on a full disk (issue 11.12) --------------------------------------------------
class FullDisk:
    """A stream on a disk with no space left: every write fails as the OS would say."""

    def write(self, *_args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = seek = tell = write


def test_a_log_file_on_a_full_disk_reports_once_and_counts_the_rest(tmp_path, capsys):
    handler = LogFile(tmp_path)
    real, handler.stream = handler.stream, FullDisk()
    logger = logging.getLogger("test.full_disk")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for number in range(500):
            logger.warning("line %d", number)
    finally:
        logger.removeHandler(handler)
        handler.stream = real
        handler.close()

    err = capsys.readouterr().err
    assert err == (f"bracket: cannot write the log ({tmp_path / 'logs' / 'bracket.log'}): No "
                   "space left on device; further log lines that fail are dropped and "
                   "counted\n")
    assert handler.dropped == 500


def test_a_log_file_that_works_writes_lines_and_drops_none(tmp_path):
    handler = LogFile(tmp_path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(logging.makeLogRecord({"msg": "hello", "levelno": logging.INFO}))
    handler.close()

    assert (tmp_path / "logs" / "bracket.log").read_text(encoding="utf-8") == "hello\n"
    assert handler.dropped == 0


def test_a_console_that_cannot_be_written_reports_once(capsys):
    console = Console(FullDisk())
    for _ in range(3):
        console.handle(logging.makeLogRecord({"msg": "x", "levelno": logging.WARNING}))

    assert capsys.readouterr().err.count("bracket: cannot write the log (Console)") == 1
    assert console.dropped == 3
