"""The Backtest dock over a real store in tmp_path (runs saved with save_run), and the
backtest command run as a real child process (a small fake of ``bracket backtest``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ui import theme
from ui.backtest_process import BacktestRequest
from ui.dialogs.new_backtest import NewBacktestDialog
from ui.models.backtest_monthly_model import GAIN_BG, LOSS_BG
from ui.models.backtest_trades_model import COLUMNS
from ui.panels.backtest import BacktestPanel
from workstation.backtest.metrics import METRICS
from workstation.backtest.run import BacktestRun, BacktestSettings
from workstation.backtest.runs import list_runs, save_run
from workstation.config import Settings
from workstation.model import Bar, datetime_to_ns
from workstation.store import open_store
from workstation.store.database import bar_row
from workstation.strategies.guard import Watchdog
from workstation.strategies.loader import Catalog, plugin_files, plugin_folders
from workstation.trades import TradeRecord

INSTRUMENTS = {item.symbol: item.instrument() for item in Settings().instruments}
ROOT = Path(__file__).parents[2]


def at(day: int, hour: int, minute: int, month: int = 11) -> int:
    return datetime_to_ns(datetime(2026, month, day, hour, minute, tzinfo=UTC))


def trade(trade_id: str, symbol: str, side: str, qty: float, entry: float, exit_: float,
          stop: float | None, target: float | None, r: float | None, mfe_r: float | None,
          mae_r: float | None, pnl: float, commission: float, minute: int) -> TradeRecord:
    return TradeRecord(trade_id, symbol, side, qty, entry, exit_, stop, target,
                       at(2, 14, minute), at(2, 14, minute + 9), 0.0, 0.0, mfe_r, mae_r, r, pnl,
                       commission, "stop" if r is not None and r < 0 else "target", None,
                       "strategy")


# net: +196, -408, +121 (a trade without a stop has no R)
TRADES = (trade("T1", "NQ", "long", 1, 21000.0, 21010.0, 20990.0, 21020.0, 1.0, 1.2, -0.3,
                200.0, 4.0, 31),
          trade("T2", "NQ", "short", 2, 21020.0, 21030.0, 21030.0, 21000.0, -1.0, 0.5, -1.0,
                -400.0, 8.0, 41),
          trade("T3", "ES", "long", 1, 6000.0, 6002.5, None, None, None, None, None,
                125.0, 4.0, 45))


def a_run(metrics: dict[str, float | int], trades: tuple[TradeRecord, ...] = TRADES,
          source: str = "sim", daily: tuple[tuple[str, float], ...] = ()) -> BacktestRun:
    return BacktestRun(
        strategy="SMA crossover", strategy_version="1.0", file_hash="ab" * 32,
        params={"fast": 10, "slow": 30}, symbols=("NQ", "ES"), timeframe="1m",
        start_ns=at(30, 13, 30, month=10), end_ns=at(2, 21, 0), source=source,
        settings=BacktestSettings(), metrics={k: None for k in METRICS} | metrics,
        trades=trades, curve_ts=np.array([at(30, 21, 0, month=10), at(2, 21, 0)]),
        curve_equity=np.array([100_100.0, 99_909.0]),
        daily=daily or (("2026-10-30", 100_100.0), ("2026-11-02", 99_909.0)), bars=780,
        wall_s=0.4, created_ts=at(3, 12, 0))


OLDER = {"net_profit": 500.0, "total_return": 0.005, "sharpe": 0.5, "max_drawdown": -0.02,
         "trades": 5, "win_rate": 0.4, "max_drawdown_duration_days": 6,
         "avg_trade_duration_s": 600.0}
NEWER = {"net_profit": -91.0, "total_return": -0.00091, "sharpe": 1.234, "max_drawdown": -0.0125,
         "trades": 3, "win_rate": 2 / 3, "max_drawdown_duration_days": 4,
         "avg_trade_duration_s": 540.0}


@pytest.fixture
def store(tmp_path):
    opened = open_store(tmp_path / "bracket.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def panel_for(qloop, qtbot, tmp_path, store, run):
    """A Backtest dock over ``store``, its reads on a thread of their own (the app uses the
    store writer's), running ``command`` as its ``bracket`` when given."""
    executor = ThreadPoolExecutor(1)
    panels: list[BacktestPanel] = []

    def read(function):
        return qloop.run_in_executor(executor, function)

    def _open(command: list[str] | None = None) -> BacktestPanel:
        panel = BacktestPanel(store, read, tmp_path, dict, INSTRUMENTS, ["1m", "5m"],
                              command=command)
        qtbot.addWidget(panel)
        panel.resize(1300, 420)
        panel.show()
        run(panel.refresh())
        panels.append(panel)
        return panel

    yield _open
    for panel in panels:
        panel.process.wait_stopped()
    executor.shutdown()


def cell(table, row: int, column: str, role=Qt.ItemDataRole.DisplayRole):
    model = table.model()
    names = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return model.data(model.index(row, names.index(column)), role)


def test_runs_are_listed_newest_first_and_the_newest_is_shown_with_its_exact_figures(
        panel_for, store, qtbot):
    first, second = save_run(store, a_run(OLDER)), save_run(store, a_run(NEWER))
    panel = panel_for()
    assert [cell(panel.runs_table, row, "#") for row in range(2)] == [str(second), str(first)]
    assert cell(panel.runs_table, 0, "Net profit") == "-91.00"
    assert cell(panel.runs_table, 0, "Net profit", Qt.ItemDataRole.ForegroundRole) == theme.DOWN
    assert cell(panel.runs_table, 1, "Return") == "0.50%"
    qtbot.waitUntil(lambda: panel.shown_run_id == second)
    assert panel.figure_text("net_profit") == "-91.00"
    assert panel.figure_text("total_return") == "-0.09%"
    assert panel.figure_text("sharpe") == "1.23"
    assert panel.figure_text("max_drawdown") == "-1.25%"
    assert panel.figure_text("win_rate") == "66.67%"
    assert panel.figure_text("trades") == "3"
    assert panel.figure_text("max_drawdown_duration_days") == "4 days"
    assert panel.figure_text("avg_trade_duration_s") == "9m 00s"
    assert panel.figure_text("profit_factor") == "—"
    assert panel.title.text().startswith(f"Run {second}: SMA crossover 1.0 · NQ, ES 1m · sim")


def test_the_equity_axis_reads_money_with_thousands_separators(panel_for, store, qtbot):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)

    money = panel.equity.equity_plot.getAxis("right")
    drawdown = panel.equity.drawdown_plot.getAxis("right")

    assert money.tickStrings([99_900.0, 100_000.0, 100_100.0], 1.0, 100.0) == [
        "99,900", "100,000", "100,100"]
    assert drawdown.tickStrings([-1.25, -0.5, 0.0], 1.0, 0.25) == ["-1.25", "-0.50", "0.00"]
    assert not drawdown.autoSIPrefix  # -0.6 % reads -0.6, not -600 "x0.001"


def test_selecting_a_run_shows_its_trades_one_row_each_in_exchange_time(panel_for, store,
                                                                         qtbot):
    first = save_run(store, a_run(OLDER, trades=TRADES[:1]))
    save_run(store, a_run(NEWER))
    panel = panel_for()
    panel.select_runs([first])
    qtbot.waitUntil(lambda: panel.shown_run_id == first)
    table = panel.trades_table
    assert table.model().rowCount() == 1
    # 14:31 UTC on 2 November 2026 is 09:31 in New York (EST)
    assert [cell(table, 0, c) for c in COLUMNS] == [
        "1", "NQ", "Long", "1", "2026-11-02 09:31", "21,000.00", "2026-11-02 09:40",
        "21,010.00", "20,990.00", "21,020.00", "+1.00", "+1.20", "-0.30", "+196.00", "4.00",
        "9:00", "target"]


def test_trades_sort_by_money_and_r_as_numbers_with_a_missing_r_lowest(panel_for, store,
                                                                       qtbot):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    table = panel.trades_table
    column = COLUMNS.index
    table.sortByColumn(column("Net $"), Qt.SortOrder.DescendingOrder)
    assert [cell(table, row, "#") for row in range(3)] == ["1", "3", "2"]
    table.sortByColumn(column("R"), Qt.SortOrder.AscendingOrder)
    assert [cell(table, row, "#") for row in range(3)] == ["3", "2", "1"]
    assert cell(table, 0, "R") == "—"
    table.sortByColumn(column("Entry"), Qt.SortOrder.AscendingOrder)
    assert [cell(table, row, "Entry") for row in range(3)] == [
        "6,000.00", "21,000.00", "21,020.00"]


def test_two_selected_runs_are_compared_figure_by_figure_with_b_minus_a(panel_for, store,
                                                                        qtbot):
    first, second = save_run(store, a_run(OLDER)), save_run(store, a_run(NEWER))
    panel = panel_for()
    panel.select_runs([second, first])
    assert panel.compare_button.isEnabled()
    table = panel.compare_table
    rows = {cell(table, row, "Figure"): row for row in range(table.model().rowCount())}

    def compared(label: str) -> list[str]:
        return [table.model().data(table.model().index(rows[label], c)) for c in range(1, 4)]

    assert table.model().headerData(1, Qt.Orientation.Horizontal) == f"A: run {first}"
    assert table.model().headerData(2, Qt.Orientation.Horizontal) == f"B: run {second}"
    assert compared("Net profit") == ["500.00", "-91.00", "-591.00"]
    assert compared("Total return") == ["0.50%", "-0.09%", "-0.59%"]
    assert compared("Sharpe ratio") == ["0.50", "1.23", "+0.73"]
    assert compared("Max drawdown") == ["-2.00%", "-1.25%", "+0.75%"]
    assert compared("Trades") == ["5", "3", "-2"]
    assert compared("Max drawdown duration") == ["6 days", "4 days", "-2 days"]
    assert compared("Average trade duration") == ["10m 00s", "9m 00s", "-1m 00s"]
    assert compared("Profit factor") == ["—", "—", "—"]
    difference = table.model().index(rows["Max drawdown"], 3)
    assert table.model().data(difference, Qt.ItemDataRole.ForegroundRole) == theme.UP
    duration = table.model().index(rows["Max drawdown duration"], 3)
    assert table.model().data(duration, Qt.ItemDataRole.ForegroundRole) == theme.UP
    trades = table.model().index(rows["Trades"], 3)
    assert table.model().data(trades, Qt.ItemDataRole.ForegroundRole) is None


def test_monthly_returns_show_each_month_green_for_a_gain_and_red_for_a_loss(panel_for, store,
                                                                            qtbot):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    model = panel.monthly_model
    assert model.rowCount() == 1
    # October: 100,100 / 100,000; November: 99,909 / 100,100; the year: 99,909 / 100,000
    texts = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert texts == ["2026", *[""] * 9, "+0.10%", "-0.19%", "", "-0.09%"]
    assert model.data(model.index(0, 10), Qt.ItemDataRole.BackgroundRole) == GAIN_BG
    assert model.data(model.index(0, 11), Qt.ItemDataRole.BackgroundRole) == LOSS_BG


def test_export_writes_the_html_report_json_and_trades_csv(panel_for, store, qtbot, run,
                                                           tmp_path):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    for kind in ("html", "json", "csv"):
        run(panel.export(kind, tmp_path / f"out.{kind}"))
    assert json.loads((tmp_path / "out.json").read_text())["run_id"] == run_id
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[1].startswith("T1,NQ,long,")
    html = (tmp_path / "out.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert panel.status.text() == f"Run {run_id}: Trades CSV written to {tmp_path / 'out.csv'}"


def test_an_export_to_a_missing_folder_says_so_and_writes_nothing(panel_for, store, qtbot, run,
                                                                  tmp_path):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    run(panel.export("json", tmp_path / "missing" / "out.json"))
    assert "JSON of run" in panel.status.text() and "not written" in panel.status.text()
    assert not (tmp_path / "missing").exists()


def test_a_deleted_run_leaves_the_store_and_the_list_and_the_next_is_shown(panel_for, store,
                                                                         qtbot, run):
    first, second = save_run(store, a_run(OLDER)), save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == second)
    run(panel.delete_runs([second]))
    assert [r.run_id for r in list_runs(store)] == [first]
    assert panel.runs_model.rowCount() == 1
    qtbot.waitUntil(lambda: panel.shown_run_id == first)  # the one left is shown
    assert panel.figure_text("net_profit") == "500.00"


def test_a_trade_without_bars_at_hand_is_drawn_from_its_own_points(panel_for, store, qtbot,
                                                                   run):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    window = run(panel.show_trade(TRADES[0]))
    assert window.bar_count == 0
    assert window.note.text().startswith(
        "No bars at hand: an older run keeps no way to find its bars again. Drawn from the "
        "trade's own points")
    assert "Stop 20,990.00  Target 21,020.00" in window.summary.text()


def test_a_sim_runs_trade_is_drawn_over_the_regenerated_bars_it_traded(panel_for, store,
                                                                       qtbot, run, tmp_path):
    """The plugin enters at bar 100's open and exits at bar 110's: bars 70 to 140 (30
    either side) are drawn, the simulated market's own, regenerated from the run's seed."""
    from tests.unit.test_backtest_trade_bars import run_on

    with ThreadPoolExecutor(1) as pool:  # its own event loop, on a plain thread
        run_id = save_run(store, pool.submit(run_on, tmp_path, "sim").result())
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    window = run(panel.show_trade(panel.run.trades[0]))

    assert window.bar_count == 71
    assert window.note.text().startswith("NQ 1m bars of the run (sim), up to 30 either side")


def test_a_trade_on_the_stores_data_is_drawn_over_the_stored_bars(panel_for, store, qtbot,
                                                                  run):
    bars = [Bar("NQ", "1m", at(2, 14, m), at(2, 14, m + 1), 21000.0, 21005.0, 20995.0,
                21002.0, 10.0, 5) for m in range(20, 59)]
    store.write([], [bar_row(b) for b in bars])
    run_id = save_run(store, a_run(NEWER, source="store"))
    panel = panel_for()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    window = run(panel.show_trade(TRADES[0]))
    assert window.bar_count == len(bars)
    assert window.note.text().startswith("NQ 1m bars from the store")


# -- the backtest command as a child process ------------------------------------------------
def fake_cli(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "fake_bracket.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script)]


PROGRESS_THEN_WAIT = """\
    import json, sys, time
    for bars in (3, 6):
        print(json.dumps({"progress": {"bars": bars, "total": 10, "eta_s": 7.2}}), flush=True)
    time.sleep(120)
"""

REQUEST = BacktestRequest("SMA crossover", ("NQ",), {"fast": 5}, "1m", date(2026, 9, 1),
                          date(2026, 9, 30), "sim")


def test_a_running_backtest_shows_its_progress_and_cancel_kills_it_storing_nothing(
        panel_for, store, qtbot, tmp_path):
    panel = panel_for(fake_cli(tmp_path, PROGRESS_THEN_WAIT))
    panel.start(REQUEST)
    progress = panel.progress
    qtbot.waitUntil(lambda: progress.label.text() == "6 / 10 bars · ETA 0:07")
    assert progress.isVisible() and progress.bar.value() == 6 and progress.bar.maximum() == 10
    assert not panel.new_button.isEnabled()
    qtbot.mouseClick(progress.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.process.running)
    assert not progress.isVisible()
    assert panel.status.text() == "Backtest canceled: nothing was stored"
    assert list_runs(store) == []
    assert panel.new_button.isEnabled()


def test_a_finished_backtest_is_listed_and_shown(panel_for, store, qtbot, tmp_path):
    """The fake saves a run into the store --home names, as the real command does."""
    panel = panel_for(fake_cli(tmp_path, f"""\
        import json, sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from tests.ui.test_backtest_dock import NEWER, a_run
        from workstation.backtest.runs import save_run
        from workstation.store import open_store
        home = Path(sys.argv[sys.argv.index("--home") + 1])
        store = open_store(home / "bracket.sqlite")
        run_id = save_run(store, a_run(NEWER))
        print(json.dumps({{"progress": {{"bars": 780, "total": 780, "eta_s": 0}}}}))
        print(json.dumps({{"run_id": run_id, "summary": f"run {{run_id}}: 3 trades, net -91.00"}}))
    """))
    panel.start(REQUEST)
    qtbot.waitUntil(lambda: panel.shown_run_id is not None, timeout=20_000)
    assert [r.run_id for r in list_runs(store)] == [panel.shown_run_id]
    assert panel.figure_text("net_profit") == "-91.00"
    assert panel.status.text() == f"Run {panel.shown_run_id}: 3 trades, net -91.00"


def test_refused_arguments_show_the_commands_one_line_error(panel_for, qtbot, tmp_path, store):
    panel = panel_for(fake_cli(tmp_path, """\
        import sys
        print("bracket: unknown strategy 'Nope' (loaded: SMA crossover)", file=sys.stderr)
        sys.exit(2)
    """))
    panel.start(REQUEST)
    qtbot.waitUntil(lambda: not panel.process.running)
    assert panel.status.text() == "unknown strategy 'Nope' (loaded: SMA crossover)"
    assert not panel.progress.isVisible()
    assert list_runs(store) == []


def test_the_request_becomes_the_commands_arguments(tmp_path):
    request = BacktestRequest("SMA crossover", ("NQ", "ES"),
                              {"fast": 5, "allow_short": False, "stop_points": 20.0}, "5m",
                              date(2026, 9, 1), date(2026, 11, 27), "store", cash=50_000.0,
                              fill="close", slippage_ticks=1, slippage_bps=2.5, commission=1.25,
                              seed=3, break_even_r=0.5)
    assert request.arguments(tmp_path) == [
        "backtest", "--home", str(tmp_path), "--strategy",
        "SMA crossover@NQ,ES:fast=5,allow_short=false,stop_points=20.0", "--timeframe", "5m",
        "--from", "2026-09-01", "--to", "2026-11-27", "--data", "store", "--cash", "50000",
        "--fill", "close", "--slippage-ticks", "1", "--slippage-bps", "2.5", "--commission",
        "1.25", "--seed", "3", "--break-even-r", "0.5", "--progress", "json"]


# -- the dialog -----------------------------------------------------------------------------
@pytest.fixture
def catalog(qloop):
    found = Catalog()
    found.load(plugin_files(plugin_folders(None)), Watchdog(5.0))
    return found.strategies


def test_the_dialog_builds_the_strategys_parameter_fields_and_a_request(catalog, qtbot):
    dialog = NewBacktestDialog(catalog, list(INSTRUMENTS), ["1m", "5m"],
                               today=date(2026, 12, 3))
    qtbot.addWidget(dialog)
    dialog.strategy.setCurrentText("SMA crossover")
    assert set(dialog.param_widgets) == {"fast", "slow", "qty", "allow_short", "stop_points"}
    dialog.param_widgets["fast"].setValue(5)
    dialog.param_widgets["allow_short"].setChecked(False)
    dialog.symbols.setText("nq, es")
    dialog.data_buttons["store"].setChecked(True)
    dialog.fill.setCurrentIndex(1)
    dialog.commission.setText("1.5")
    request = dialog.build_request()
    assert request.strategy_spec() == ("SMA crossover@NQ,ES:fast=5,slow=30,qty=1,"
                                       "allow_short=false,stop_points=20.0")
    assert (request.start, request.end) == (date(2026, 11, 3), date(2026, 12, 2))
    assert (request.data, request.fill, request.commission) == ("store", "close", 1.5)


def test_the_dialog_states_the_accounts_break_even_move_and_can_turn_it_off(catalog, qtbot):
    dialog = NewBacktestDialog(catalog, list(INSTRUMENTS), ["1m"], today=date(2026, 12, 3),
                               break_even_r=1.5)
    qtbot.addWidget(dialog)
    dialog.strategy.setCurrentText("SMA crossover")
    assert dialog.break_even.text() == "1.50 R"
    assert dialog.build_request().break_even_r == 1.5

    dialog.break_even.setValue(0.0)

    assert dialog.break_even.text() == "never"
    assert dialog.build_request().break_even_r == 0.0


def test_the_dialog_refuses_a_range_that_ends_before_it_starts(catalog, qtbot):
    dialog = NewBacktestDialog(catalog, list(INSTRUMENTS), ["1m"], today=date(2026, 12, 3))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start.setDate(dialog.end.date().addDays(1))
    dialog.run_button.click()
    assert dialog.message.text() == "From: 2026-12-03 is after 2026-12-02"
    assert dialog.request is None and dialog.isVisible()


# -- in the main window -----------------------------------------------------------------------
def test_the_backtest_dock_is_a_tab_beside_the_trades_and_reads_the_stored_runs(
        workstation, qtbot, tmp_path):
    store = open_store(tmp_path / "bracket.sqlite")
    run_id = save_run(store, a_run(NEWER))
    store.close()
    window = workstation()
    dock = window.docks["backtest"]
    assert dock in window.tabifiedDockWidgets(window.docks["trades"])
    assert window.backtest.built is None  # nothing built (no pandas) until it is wanted
    menus = [action.text() for action in window.menuBar().actions()]
    assert "&Backtest" in menus
    assert window.actions["backtest_new"].text() == "&New backtest…"
    window.focus_dock("backtest")
    panel = window.backtest_panel()
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    assert panel.figure_text("net_profit") == "-91.00"


LAZY_PROBE = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from ui.bridge import EngineBridge, LogBuffer
from ui.main_window import MainWindow
from workstation.config import Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
home = Path(sys.argv[1])
engine = Engine(Settings(), home, lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None))
window = MainWindow(engine, EngineBridge(engine, LogBuffer()), home)
window.show()
for _ in range(20):
    app.processEvents()
shown = {"built": window.backtest.built is not None, "pandas": "pandas" in sys.modules}
window.docks["backtest"].raise_()
for _ in range(20):
    app.processEvents()
shown["built_when_raised"] = window.backtest.built is not None
print(json.dumps(shown))
"""


def test_the_backtest_dock_costs_the_start_nothing_until_its_tab_is_raised(tmp_path):
    """It imports pandas (about 0.3 s): only once the user looks at it."""
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run([sys.executable, "-c", LAZY_PROBE, str(home)], capture_output=True,
                            text=True, timeout=120, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown == {"built": False, "pandas": False, "built_when_raised": True}


def test_the_real_backtest_command_runs_from_the_dock_and_its_run_is_shown(panel_for, store,
                                                                           qtbot):
    """The contract with ``bracket backtest`` (--progress json, the run in --home's store)."""
    panel = panel_for()  # this Bracket's own command
    request = BacktestRequest("SMA crossover", ("NQ",), {"fast": 5, "slow": 20}, "5m",
                              date(2026, 11, 2), date(2026, 11, 3), "sim")
    panel.start(request)
    qtbot.waitUntil(lambda: not panel.process.running, timeout=60_000)
    runs = list_runs(store)
    assert len(runs) == 1, panel.status.text()
    qtbot.waitUntil(lambda: panel.shown_run_id == runs[0].run_id)
    assert panel.run is not None
    assert (panel.run.params["fast"], panel.run.params["slow"]) == (5, 20)
    assert panel.status.text().startswith(f"Run {runs[0].run_id}: ")
    assert panel.figure_text("trades") == f"{len(panel.run.trades):,}"


def test_double_clicking_a_trade_puts_it_on_a_chart(panel_for, store, qtbot):
    run_id = save_run(store, a_run(NEWER))
    panel = panel_for()
    panel.tabs.setCurrentWidget(panel.trades_page)
    qtbot.waitUntil(lambda: panel.shown_run_id == run_id)
    table = panel.trades_table
    table.sortByColumn(COLUMNS.index("Net $"), Qt.SortOrder.AscendingOrder)  # T2 first
    where = table.visualRect(table.model().index(0, 1)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.waitUntil(lambda: panel.trade_window is not None)
    assert panel.trade_window.trade.trade_id == "T2"
    assert panel.trade_window.windowTitle() == "Short NQ · T2"


def test_a_command_that_crashes_is_reported_with_its_last_words(panel_for, qtbot, tmp_path,
                                                               store):
    panel = panel_for(fake_cli(tmp_path, """\
        import json
        print(json.dumps({"progress": {"bars": 1, "total": 10, "eta_s": 1}}), flush=True)
        1 / 0
    """))
    panel.start(REQUEST)
    qtbot.waitUntil(lambda: not panel.process.running)
    assert panel.status.text() == ("The backtest failed (exit code 1): ZeroDivisionError: "
                                   "division by zero")
    assert list_runs(store) == []
