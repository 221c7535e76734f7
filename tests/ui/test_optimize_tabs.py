"""The Backtest dock's Optimize, Walk-forward and Challenge tabs over a real store in
tmp_path, running the real ``bracket`` commands as child processes on a few days of the
simulated market."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt

from tests.ui.test_backtest_dock import INSTRUMENTS, ROOT, a_run, at, fake_cli, trade
from ui.panels.backtest import BacktestPanel
from ui.panels.optimize_charts import Heatmap, heat_grid
from ui.panels.optimize_form import FormProblem
from workstation.backtest.runs import load_run, save_run
from workstation.optimize.runs import list_optimizations, load_optimization
from workstation.store import open_store
from workstation.strategies.guard import Watchdog
from workstation.strategies.loader import Catalog, plugin_files, plugin_folders

DAYS = ("--from", "2026-11-02", "--to", "2026-11-03")


@pytest.fixture
def catalog(qloop):
    found = Catalog()
    found.load(plugin_files(plugin_folders(None)), Watchdog(5.0))
    return found.strategies


@pytest.fixture
def dock(qloop, qtbot, tmp_path, run, catalog):
    """A Backtest dock on the home ``tmp_path`` (a fresh store opened for each dock, as a
    restart would), its reads on a thread of their own."""
    executor = ThreadPoolExecutor(1)
    opened: list[tuple[BacktestPanel, object]] = []

    def _open(command: list[str] | None = None) -> BacktestPanel:
        store = open_store(tmp_path / "bracket.sqlite")
        panel = BacktestPanel(store, lambda f: qloop.run_in_executor(executor, f), tmp_path,
                              lambda: catalog, INSTRUMENTS, ["1m", "5m"], command=command)
        qtbot.addWidget(panel)
        panel.resize(1366, 720)
        panel.show()
        run(panel.refresh())
        opened.append((panel, store))
        return panel

    yield _open
    for panel, store in opened:
        panel.stop_all()
        store.close()
    executor.shutdown()


def bracket(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BRACKET_HOME"}
    done = subprocess.run([sys.executable, "-m", "workstation", *args, "--home", str(home)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done


def fill_small_grid(form) -> None:
    """SMA crossover on NQ 5m, 2 and 3 November 2026: fast 5 or 10 x slow 10 or 20,
    fast < slow (so fast=10, slow=10 is skipped), in the command's own process."""
    form.strategy.setCurrentIndex(form.strategy.findData("SMA crossover"))
    form.symbols.setText("NQ")
    form.timeframe.setCurrentText("5m")
    form.start.setDate(QDate(2026, 11, 2))
    form.end.setDate(QDate(2026, 11, 3))
    form.set_range("fast", "", "", "5,10")
    form.set_range("slow", 10, 20, 10)
    form.require.setText("fast<slow")
    form.workers.setValue(0)


def cells(table, column: int) -> list[str]:
    model = table.model()
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def test_a_small_grid_from_the_optimize_tab_fills_the_trials_table_and_the_heatmap(
        dock, qtbot, tmp_path):
    panel = dock()
    tab = panel.optimize_tab
    fill_small_grid(tab.form)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert tab.process.running and not tab.run_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.process.running, timeout=120_000)
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)

    store = open_store(tmp_path / "bracket.sqlite", write=False)
    try:
        record = load_optimization(store, 1)
    finally:
        store.close()
    assert tab.trials_model.rowCount() == 4
    assert cells(tab.trials_table, 0) == ["0", "1", "2", "3"]
    assert cells(tab.trials_table, 1) == ["ok", "ok", "skipped", "ok"]
    assert [(t.params["fast"], t.params["slow"]) for t in record.trials[0]] == [
        (5, 10), (5, 20), (10, 10), (10, 20)]
    # the heatmap: fast across, slow up, each cell that pair's score; (10, 10) never ran
    scores = {(t.params["fast"], t.params["slow"]): t.score for t in record.trials[0]}
    assert (tab.heatmap.xs, tab.heatmap.ys) == ([5, 10], [10, 20])
    assert tab.heatmap.grid[0].tolist() == [scores[(5, 10)], scores[(5, 20)]]
    assert tab.heatmap.grid[1, 1] == scores[(10, 20)]
    assert math.isnan(tab.heatmap.grid[1, 0])
    assert tab.heatmap.image.image is not None
    assert tab.history_model.rowCount() == 1
    assert tab.status.text().startswith("best trial ")

    # the dock built again on the same home (a restart) lists it and shows its trials
    again = dock()
    qtbot.waitUntil(lambda: again.optimize_tab.shown_id == 1, timeout=10_000)
    assert again.optimize_tab.history_model.rowCount() == 1
    assert again.optimize_tab.trials_model.rowCount() == 4
    assert again.optimize_tab.form.strategy.currentData() == "SMA crossover"
    assert again.optimize_tab.form.varied() == ["fast", "slow"]


def test_trials_arriving_one_by_one_are_sorted_by_score_with_missing_scores_last(
        dock, qtbot):
    panel = dock()
    tab = panel.optimize_tab
    tab._set_varied(["fast"], "net_profit")
    for number, score in ((0, 2.5), (1, None), (2, 10.0), (3, -1.0)):
        tab.trials_model.append({"number": number, "params": {"fast": number}, "status":
                                 "ok" if score is not None else "skipped", "score": score,
                                 "metrics": None, "reason": None})
    tab.trials_table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert cells(tab.trials_table, 0) == ["2", "0", "3", "1"]


def test_backtest_these_parameters_runs_a_backtest_with_exactly_those_parameters(
        dock, qtbot, tmp_path):
    bracket(tmp_path, "optimize", "--strategy", "SMA crossover@NQ", "--timeframe", "5m",
            *DAYS, "--param", "fast=5,10", "--param", "slow=20", "--workers", "0",
            "--progress", "none")
    panel = dock()
    tab = panel.optimize_tab
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)
    tab.select_trial(1)
    chosen = tab.selected_trial()
    assert chosen is not None and chosen["params"]["fast"] == 10
    qtbot.mouseClick(tab.backtest_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.shown_run_id is not None, timeout=120_000)

    store = open_store(tmp_path / "bracket.sqlite", write=False)
    try:
        backtest = load_run(store, panel.shown_run_id)
        record = load_optimization(store, 1)
    finally:
        store.close()
    assert backtest.params == chosen["params"] == {
        "fast": 10, "slow": 20, "qty": 1, "allow_short": True, "stop_points": 20.0}
    assert (backtest.symbols, backtest.timeframe, backtest.source) == (("NQ",), "5m", "sim")
    # the same data and settings as the trial: the same figures
    assert backtest.metrics["net_profit"] == record.trials[0][1].metrics["net_profit"]
    assert backtest.metrics["trades"] == record.trials[0][1].metrics["trades"]
    assert panel.tabs.currentWidget() is panel.summary_page


def test_use_for_a_strategy_instance_opens_the_add_dialog_prefilled(dock, qtbot, tmp_path):
    bracket(tmp_path, "optimize", "--strategy", "SMA crossover@NQ", "--timeframe", "5m",
            *DAYS, "--param", "fast=5,10", "--param", "slow=20", "--workers", "0",
            "--progress", "none")
    panel = dock()
    tab = panel.optimize_tab
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)
    tab.select_trial(0)
    dialog = tab._instance_selected()
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.strategy.currentData() == "SMA crossover"
    assert dialog.chosen_symbols() == ["NQ"]
    assert dialog.timeframes.text() == "5m"
    assert dialog.params.text() == "fast=5, slow=20, qty=1, allow_short=True, stop_points=20.0"
    settings = dialog.build()
    assert dict(settings.params) == {"fast": 5, "slow": 20, "qty": 1, "allow_short": True,
                                     "stop_points": 20.0}


PROGRESS_THEN_WAIT = """\
    import json, time
    print(json.dumps({"trial": {"number": 0, "params": {"fast": 5}, "status": "ok",
                                "score": 1.5, "reason": None, "metrics": {}}}), flush=True)
    print(json.dumps({"progress": {"trials": 1, "total": 4, "best": 1.5, "best_trial": 0,
                                   "eta_s": 9}}), flush=True)
    time.sleep(120)
"""


def test_a_running_optimization_shows_its_progress_and_cancel_stores_nothing(
        dock, qtbot, tmp_path):
    panel = dock(fake_cli(tmp_path, PROGRESS_THEN_WAIT))
    tab = panel.optimize_tab
    fill_small_grid(tab.form)
    tab.run()
    qtbot.waitUntil(lambda: tab.progress.label.text()
                    == "1 / 4 trials · best 1.5 (trial 0) · ETA 0:09")
    assert tab.trials_model.rowCount() == 1
    qtbot.mouseClick(tab.progress.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.process.running)
    assert tab.status.text() == "Optimisation canceled: nothing was stored"
    assert not tab.progress.isVisible() and tab.run_button.isEnabled()
    store = open_store(tmp_path / "bracket.sqlite", write=False)
    try:
        assert list_optimizations(store) == []
    finally:
        store.close()


def test_a_form_mistake_is_named_and_nothing_starts(dock):
    tab = dock().optimize_tab
    fill_small_grid(tab.form)
    tab.form.set_range("slow", 30, 20, 10)
    tab.run()
    assert tab.form.message.text() == "slow: max 20 is below min 30"
    assert not tab.process.running


def test_a_walkforward_from_its_tab_shows_each_window_and_the_stitched_equity(
        dock, qtbot, tmp_path):
    panel = dock()
    tab = panel.walkforward_tab
    fill_small_grid(tab.form)
    tab.form.end.setDate(QDate(2026, 11, 5))
    tab.form.set_range("slow", 20, 20, 10)
    tab.in_length.setValue(2)
    tab.out_length.setValue(1)
    tab.run()
    qtbot.waitUntil(lambda: not tab.process.running, timeout=120_000)
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)
    record = tab.record
    assert record is not None
    assert cells(tab.windows_table, 1) == ["2026-11-02 → 11-03", "2026-11-03 → 11-04"]
    assert cells(tab.windows_table, 2) == ["2026-11-04", "2026-11-05"]
    chosen = [w["params"] for w in record.result["windows"]]
    assert cells(tab.windows_table, 3) == [f"fast={p['fast']}, slow=20" for p in chosen]
    equity = record.result["daily"]["equity"]
    assert tab.equity.equity_line.yData.tolist() == equity
    assert equity[-1] - 100_000 == pytest.approx(record.summary["oos_net_profit"])
    assert tab.figures.text().startswith("Walk-forward 1: 2 windows (rolling, days)")


def test_the_challenge_tab_shows_the_odds_the_command_computes_for_the_same_inputs(
        dock, qtbot, tmp_path):
    # three trading days: +300 (one trade), -250 then +50, +150
    trades = (trade("T1", "NQ", "long", 1, 1.0, 2.0, None, None, None, None, None, 300.0,
                    0.0, 10),
              trade("T2", "NQ", "long", 1, 1.0, 2.0, None, None, None, None, None, -250.0,
                    0.0, 10),
              trade("T3", "NQ", "long", 1, 1.0, 2.0, None, None, None, None, None, 50.0,
                    0.0, 20),
              trade("T4", "NQ", "long", 1, 1.0, 2.0, None, None, None, None, None, 150.0,
                    0.0, 10))
    days = (at(2, 14, 0), at(3, 14, 0), at(3, 15, 0), at(4, 14, 0))
    trades = tuple(t.__class__(**{**t.as_dict(), "entry_ts": ts - 60 * 10**9,
                                  "exit_ts": ts}) for t, ts in zip(trades, days, strict=True))
    store = open_store(tmp_path / "bracket.sqlite")
    try:
        run_id = save_run(store, a_run({"net_profit": 250.0}, trades=trades))
    finally:
        store.close()
    panel = dock()
    tab = panel.challenge_tab
    tab.preset.setCurrentIndex(tab.preset.findData("custom"))
    tab.account.setCurrentText("10,000")
    tab.target.setValue(400)
    tab.daily_loss.setValue(200)
    tab.max_loss.setValue(300)
    tab.trailing.setCurrentIndex(tab.trailing.findData("static"))
    tab.min_days.setValue(0)
    tab.max_days.setValue(4)
    tab.backtest_run.setCurrentIndex(tab.backtest_run.findData(run_id))
    tab.paths.setValue(3_000)
    tab.seed.setValue(11)
    tab.run()
    qtbot.waitUntil(lambda: not tab.process.running, timeout=60_000)
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)

    document_path = tmp_path / "challenge.json"
    bracket(tmp_path, "challenge", "--preset", "custom", "--account", "10000", "--target",
            "400", "--daily-loss", "200", "--max-loss", "300", "--trailing", "static",
            "--min-days", "0", "--max-days", "4", "--run", str(run_id), "--paths", "3000",
            "--sim-seed", "11", "--no-save", "--json", str(document_path))
    document = json.loads(document_path.read_text())
    for key, attribute in (("pass", "pass_probability"), ("daily", "fail_daily_probability"),
                           ("max", "fail_max_probability"),
                           ("timeout", "timeout_probability")):
        assert tab.figure_text(key) == f"{document[attribute]:.1%}"
    # day 2 (-250 first) breaks the 200 daily loss at once: that day alone fails a path
    assert document["fail_daily_probability"] > 0.5
    assert document["fail_max_probability"] == 0.0
    assert tab.days_chart.counts.tolist() == document["days_to_pass"]["counts"]
    assert tab.record is not None and tab.record.result.sample_paths.shape == (20, 5)
    assert len(tab.paths_chart.lines) == 20
    assert tab.history_model.rowCount() == 1


def test_the_heatmap_keeps_the_best_score_of_each_pair_over_the_other_parameters():
    trials = [{"params": {"a": 1, "b": 5, "c": 0}, "score": 2.0},
              {"params": {"a": 1, "b": 5, "c": 1}, "score": 3.0},
              {"params": {"a": 2, "b": 5, "c": 0}, "score": None},
              {"params": {"a": 2, "b": 6, "c": 0}, "score": -1.0}]
    xs, ys, grid = heat_grid(trials, "a", "b")
    assert (xs, ys) == ([1, 2], [5, 6])
    assert grid[0, 0] == 3.0 and grid[1, 1] == -1.0
    assert math.isnan(grid[0, 1]) and math.isnan(grid[1, 0])


def test_building_the_dock_imports_no_optuna():
    """Optuna loads only in the command's process, when a guided search runs."""
    probe = ("import sys; import ui.panels.backtest; "
             "print('optuna' in sys.modules, 'dask' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_in_the_app_use_for_a_strategy_instance_adds_it_with_the_trials_parameters(
        workstation, qtbot, tmp_path):
    bracket(tmp_path, "optimize", "--strategy", "SMA crossover@NQ", "--timeframe", "5m",
            *DAYS, "--param", "fast=5,10", "--param", "slow=20", "--workers", "0",
            "--progress", "none")
    window = workstation(tmp_path)
    window.focus_dock("backtest")
    tab = window.backtest_panel().optimize_tab
    qtbot.waitUntil(lambda: tab.shown_id == 1, timeout=10_000)
    tab.select_trial(1)
    dialog = tab._instance_selected()
    assert dialog is window.strategies_panel.dialog  # the Strategies panel's own dialog
    dialog.instance_id.setText("sma-optimized")
    dialog.start.setChecked(False)
    dialog.accept()
    host = window.engine.strategies
    qtbot.waitUntil(lambda: "sma-optimized" in host.contexts)
    settings = host.contexts["sma-optimized"].settings
    assert dict(settings.params) == {"fast": 10, "slow": 20, "qty": 1, "allow_short": True,
                                     "stop_points": 20.0}
    assert (settings.symbols, settings.timeframes) == (("NQ",), ("5m",))


def test_a_heatmap_emptied_for_a_new_run_paints_its_cells_again(qtbot):
    """Its reset was once named clear(), hiding GraphicsLayoutWidget.clear: after a run
    started, the heatmap never painted again."""
    trials = [{"params": {"a": a, "b": b}, "score": float(a - b)}
              for a in range(3) for b in range(4)]
    heatmap = Heatmap()
    qtbot.addWidget(heatmap)
    heatmap.resize(340, 400)
    heatmap.show()
    heatmap.show_trials(trials, "a", "b")
    heatmap.reset()
    heatmap.show_trials(trials, "a", "b")
    image = heatmap.grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5)
               for y in range(0, image.height(), 5)}
    assert len(colours) > 12  # the background alone is one colour


def test_closing_the_window_kills_a_running_optimization_never_orphaned(workstation, qtbot):
    """Ten months of 1-minute bars take minutes: the run is still going when the trader
    closes the window, and its child process is gone when the window is."""
    window = workstation()
    tab = window.backtest_panel().optimize_tab
    fill_small_grid(tab.form)
    tab.form.timeframe.setCurrentText("1m")
    tab.form.start.setDate(QDate(2026, 1, 5))
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.process.running and tab.process.pid() > 0, timeout=10_000)
    pid = tab.process.pid()

    window.close()

    assert not tab.process.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_cluster_address_sends_the_trials_to_that_dask_scheduler_instead_of_the_cores(
        dock):
    form = dock().optimize_tab.form
    fill_small_grid(form)

    form.cluster.setText(" tcp://127.0.0.1:8786 ")
    args = form.arguments("optimize")

    assert args[args.index("--cluster") + 1] == "tcp://127.0.0.1:8786"
    assert "--workers" not in args
    form.cluster.setText("127.0.0.1:8786")
    with pytest.raises(FormProblem, match=r"Cluster: '127\.0\.0\.1:8786' is not a scheduler"):
        form.arguments("optimize")
