"""The Backtest dock: the stored runs (newest first, read from SQLite so they survive a
restart), the selected run's figures, equity and drawdown, trades, excursions, R multiples
and monthly returns, two runs compared side by side, exports, and the running backtest's
progress with its Cancel; then the Optimize, Walk-forward and Challenge tabs
(``ui.panels.optimize``, ``walkforward``, ``challenge``), each with its stored runs.

Store reads go through ``read`` (the store writer's thread in the app), never on the GUI
thread; a backtest runs as a ``bracket backtest`` child process (``BacktestProcess``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import shiboken6
from PySide6.QtCore import (
    QCoreApplication,
    QItemSelection,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.backtest_process import BacktestProcess, BacktestProgress, BacktestRequest
from ui.dialogs.new_backtest import NewBacktestDialog
from ui.models.backtest_monthly_model import MonthlyReturnsModel
from ui.models.backtest_runs_model import (
    SORT_ROLE,
    BacktestRunsModel,
    CompareModel,
    metric_color,
)
from ui.models.backtest_trades_model import BacktestTradesModel
from ui.panels.backtest_charts import EquityChart, ExcursionScatter, RHistogram, TradeChartWindow
from ui.panels.challenge import ChallengeTab
from ui.panels.optimize import OptimizeTab
from ui.panels.stored_runs import Reader
from ui.panels.tables import fit_columns, make_table
from ui.panels.walkforward import WalkForwardTab
from ui.panels.widgets import show_status
from workstation.backtest import report
from workstation.backtest.metrics import METRICS, format_metric, monthly_returns
from workstation.backtest.run import BacktestRun
from workstation.backtest.runs import delete_run, list_runs, load_run
from workstation.backtest.trade_bars import bars_for_trade
from workstation.bars import Timeframe
from workstation.config import Settings
from workstation.model import Bar, Instrument
from workstation.store.database import Store, StoreError
from workstation.strategies.loader import StrategyClass
from workstation.trades import TradeRecord

log = logging.getLogger(__name__)

FIGURE_COLUMNS = 2  # caption/value pairs per row of the figures grid (in METRICS order)
FIGURE_SAMPLE = "-1,234,567.89"  # the widest figure the grid makes room for
TRADE_SAMPLES = ("9,999", "MSFT", "Short", "1,000", "2026-11-02 09:31", "21,000.00",
                 "2026-11-02 09:31", "21,000.00", "21,000.00", "21,000.00", "+10.00", "+10.00",
                 "-10.00", "-12,345.67", "1,234.56", "10:00:00", "take-profit")
TRADE_CHART_BARS = 30  # bars shown either side of a trade
EXPORTS = {"html": ("HTML report", "*.html", report.write_html),
           "json": ("JSON", "*.json", report.write_json),
           "csv": ("Trades CSV", "*.csv", report.write_trades_csv)}


@cache
def _worker() -> ThreadPoolExecutor:
    """Reports are written, and a run's bars found again, on a thread of their own: not
    the store's, not the GUI's, and a plain thread (qasync's default executor runs QThreads,
    which abort the process if still running at exit)."""
    return ThreadPoolExecutor(1, thread_name_prefix="backtest-worker")


def day_closes(run: BacktestRun) -> pd.Series:
    """The run's trading-day closes as ``metrics.monthly_returns`` takes them."""
    days = pd.DatetimeIndex([day for day, _ in run.daily], name="day")
    return pd.Series([equity for _, equity in run.daily], index=days, dtype="float64")


def sortable(model: Any, parent: QWidget) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy


class BacktestPanel(QWidget):
    message = Signal(str, bool)  # text, error: for the status bar

    def __init__(self, store: Store | None, read: Reader[Any], home: Path,
                 strategies: Callable[[], dict[str, StrategyClass]],
                 instruments: dict[str, Instrument], timeframes: list[str], *,
                 settings: Settings | None = None, command: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        """``read`` runs a blocking store read off the GUI thread; ``settings``: the home's
        (instruments and their simulated markets: a sim run's bars are regenerated from
        them); ``command`` is the ``bracket`` program (default: this one's)."""
        super().__init__(parent)
        self.setObjectName("backtestPanel")
        self._store = store
        self._read = read
        self._home = home
        self._strategies = strategies
        self._instruments = instruments
        self._settings = settings or Settings()
        self._timeframes = timeframes
        self._command = command
        self._tasks: set[asyncio.Future[Any]] = set()
        self.run: BacktestRun | None = None
        self.shown_run_id: int | None = None
        self.trade_window: TradeChartWindow | None = None
        self.dialog: NewBacktestDialog | None = None
        self.process = BacktestProcess(command, self)
        self.progress = BacktestProgress(self.process, self)
        self._build()
        self.process.finished.connect(self._on_finished)
        self.process.failed.connect(self._on_failed)
        self.process.canceled.connect(self._on_canceled)
        app = QCoreApplication.instance()
        if app is not None:  # a closing app leaves no command running behind it
            app.aboutToQuit.connect(self.stop_all)

    # -- building ------------------------------------------------------------------------
    def _build(self) -> None:
        self.runs_model = BacktestRunsModel()
        self.runs_proxy = sortable(self.runs_model, self)
        self.runs_table = make_table(self.runs_proxy, "backtestRuns", self)
        self.runs_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.runs_table.setSortingEnabled(True)
        self.runs_table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.runs_table.setToolTip("Select a run to show it; select two to compare them")
        for column, width in enumerate((40, 250, 90, 70, 64, 70, 56, 220, 60, 80, 80, 110)):
            self.runs_table.setColumnWidth(column, width)
        self.trades_model = BacktestTradesModel(self._instruments)
        self.trades_proxy = sortable(self.trades_model, self)
        self.trades_table = make_table(self.trades_proxy, "backtestTrades", self)
        self.trades_table.setSortingEnabled(True)
        self.trades_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        fit_columns(self.trades_table, TRADE_SAMPLES, mono=range(len(TRADE_SAMPLES)))
        self.monthly_model = MonthlyReturnsModel()
        self.monthly_table = make_table(self.monthly_model, "backtestMonthly", self)
        self.monthly_table.horizontalHeader().setStretchLastSection(False)
        month = QFontMetrics(theme.MONO).horizontalAdvance("-10.00%") + 8  # 13 fit in 900 px
        self.monthly_table.setColumnWidth(0, 50)
        for column in range(1, self.monthly_model.columnCount()):
            self.monthly_table.setColumnWidth(column, month)
        self.compare_model = CompareModel()
        self.compare_table = make_table(self.compare_model, "backtestCompare", self)
        self.compare_table.horizontalHeader().setStretchLastSection(False)
        fit_columns(self.compare_table, ("Max drawdown (intraday)", *["-1,234,567.89"] * 3),
                    mono=(1, 2, 3))
        self.equity = EquityChart(self)
        self.scatter = ExcursionScatter(self)
        self.histogram = RHistogram(self)

        self.new_button = self._button("New backtest…", "backtestNew",
                                       "Choose a strategy, its parameters and the data, and run "
                                       "it", self.open_new_backtest)
        self.delete_button = self._button("Delete", "backtestDelete",
                                          "Delete the selected runs from the store",
                                          self._confirm_delete)
        self.compare_button = self._button("Compare", "backtestCompareButton",
                                           "Select two runs: their figures side by side",
                                           lambda: self.tabs.setCurrentWidget(self.compare_page))
        self.export_buttons = {
            kind: self._button(f"{kind.upper()}…", f"backtestExport_{kind}",
                               f"Export the shown run: {title}",
                               lambda _=False, k=kind: self._choose_export(k))
            for kind, (title, _, _) in EXPORTS.items()}
        self.status = QLabel(self)
        self.status.setObjectName("backtestStatus")
        self.title = QLabel("No run selected", self)
        self.title.setObjectName("backtestTitle")
        self.title.setStyleSheet("font-weight: bold; padding: 0 4px")
        self.title.setWordWrap(True)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("backtestTabs")
        self.tabs.setDocumentMode(True)
        self.runs_page = self.runs_table
        self.tabs.addTab(self.runs_page, "Runs")
        self.summary_page = self._summary_page()
        self.tabs.addTab(self.summary_page, "Summary")
        self.trades_page = self._trades_page()
        self.tabs.addTab(self.trades_page, "Trades")
        self.analysis_page = self._analysis_page()
        self.tabs.addTab(self.analysis_page, "Analysis")
        self.tabs.addTab(self.monthly_table, "Monthly")
        self.compare_page = self._compare_page()
        self.tabs.addTab(self.compare_page, "Compare")
        self._search_tabs()
        self.tabs.setCurrentWidget(self.summary_page)
        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 4, 0)
        for button in (self.new_button, self.delete_button, self.compare_button):
            header.addWidget(button)
        header.addWidget(self.title, 1)
        header.addWidget(QLabel("Export", self))
        for button in self.export_buttons.values():
            header.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.progress)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        show_status(self.status, "" if self._store is not None else
                    "No store: runs cannot be listed or kept", error=self._store is None)

        self.runs_table.selectionModel().selectionChanged.connect(self._on_runs_selected)
        self.runs_table.activated.connect(
            lambda _: self.tabs.setCurrentWidget(self.summary_page))  # Enter, double-click
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.runs_table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._confirm_delete)
        self.trades_table.doubleClicked.connect(self._on_trade_activated)
        self.trades_table.activated.connect(self._on_trade_activated)
        self._update_buttons()

    def _button(self, text: str, name: str, tip: str, slot: Callable[[], object]
                ) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _summary_page(self) -> QWidget:
        """The figures (every one in ``METRICS``) beside the equity curve and drawdown."""
        figures = QWidget()
        grid = QGridLayout(figures)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(1)
        self.figures: dict[str, QLabel] = {}
        widest = QFontMetrics(theme.MONO).horizontalAdvance(FIGURE_SAMPLE)
        for position, (key, (label, _)) in enumerate(METRICS.items()):
            row, column = divmod(position, FIGURE_COLUMNS)
            name = QLabel(label, figures)
            name.setStyleSheet(f"color: {theme.MUTED.name()}")
            value = QLabel("—", figures)
            value.setObjectName(f"metric_{key}")
            value.setFont(theme.MONO)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(widest)
            grid.addWidget(name, row, column * 2)
            grid.addWidget(value, row, column * 2 + 1)
            self.figures[key] = value
        grid.setRowStretch(grid.rowCount(), 1)
        grid.setColumnStretch(FIGURE_COLUMNS * 2, 1)
        scroll = QScrollArea()
        scroll.setObjectName("backtestFigures")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(figures)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        figures.ensurePolished()
        scroll.setMinimumWidth(figures.sizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.equity)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        return splitter

    def _search_tabs(self) -> None:
        """Optimize, Walk-forward and Challenge: each runs its command as a child process
        and lists its stored runs."""
        common = (self._store, self._read, self._home)
        self.optimize_tab = OptimizeTab(*common, self._strategies, list(self._instruments),
                                        self._timeframes, command=self._command, parent=self)
        self.walkforward_tab = WalkForwardTab(*common, self._strategies,
                                              list(self._instruments), self._timeframes,
                                              command=self._command, parent=self)
        self.challenge_tab = ChallengeTab(*common, command=self._command, parent=self)
        self.tabs.addTab(self.optimize_tab, "Optimize")
        self.tabs.addTab(self.walkforward_tab, "Walk-forward")
        self.tabs.addTab(self.challenge_tab, "Challenge")
        for tab in (self.optimize_tab, self.walkforward_tab, self.challenge_tab):
            tab.message.connect(self.message)
        self.optimize_tab.backtest_requested.connect(self.start)

    def child_processes(self) -> list[Any]:
        """Every command this dock may be running (all are killed when the app closes)."""
        return [self.process, self.optimize_tab.process, self.walkforward_tab.process,
                self.challenge_tab.process]

    def stop_all(self) -> None:
        for process in self.child_processes():
            process.wait_stopped()

    def _trades_page(self) -> QWidget:
        return self.trades_table

    def _analysis_page(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.scatter)
        splitter.addWidget(self.histogram)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        return splitter

    def _compare_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.compare_note = QLabel("Select two runs in Runs (Ctrl+click) to compare them",
                                   page)
        self.compare_note.setStyleSheet(f"color: {theme.MUTED.name()}; padding: 2px 4px")
        layout.addWidget(self.compare_note)
        layout.addWidget(self.compare_table, 1)
        return page

    # -- store reads (off the GUI thread) -----------------------------------------------
    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def refresh(self, select: int | None = None) -> asyncio.Future[Any]:
        """Read the run list again; then select run ``select`` when given."""
        return self._spawn(self._refresh(select))

    async def _refresh(self, select: int | None) -> None:
        store = self._store
        if store is None:
            return
        await asyncio.gather(self.optimize_tab.refresh(), self.walkforward_tab.refresh(),
                             self.challenge_tab.refresh())
        if not shiboken6.isValid(self):
            return
        try:
            runs = await self._read(lambda: list_runs(store))
        except StoreError as exc:
            self.notify(str(exc), True)
            return
        if not shiboken6.isValid(self):  # the window closed meanwhile
            return
        present = {run.run_id for run in runs}
        kept = [run_id for run_id in self.selected_run_ids() if run_id in present]
        self.runs_model.set_runs(runs)
        wanted = [select] if select in present else kept
        if not wanted and runs:
            wanted = [runs[0].run_id]  # newest first
        self.select_runs(wanted)

    def select_runs(self, run_ids: list[int]) -> None:
        """Select these runs in the list (one: it is shown; two: they are compared)."""
        selection = QItemSelection()
        for run_id in run_ids:
            row = self.runs_model.row_of(run_id)
            if row is None:
                continue
            index = self.runs_proxy.mapFromSource(self.runs_model.index(row, 0))
            selection.select(index, index.siblingAtColumn(self.runs_proxy.columnCount() - 1))
        model = self.runs_table.selectionModel()
        model.select(selection, model.SelectionFlag.ClearAndSelect)
        if run_ids and self.runs_model.row_of(run_ids[-1]) is not None:
            row = self.runs_model.row_of(run_ids[-1])
            assert row is not None
            self.runs_table.scrollTo(self.runs_proxy.mapFromSource(self.runs_model.index(row, 0)))

    def selected_run_ids(self) -> list[int]:
        """Selected runs, oldest first."""
        rows = {self.runs_proxy.mapToSource(i).row()
                for i in self.runs_table.selectionModel().selectedRows()}
        runs = [self.runs_model.run_at(row) for row in rows]
        return sorted(run.run_id for run in runs if run is not None)

    def _on_runs_selected(self, *_: QItemSelection) -> None:
        ids = self.selected_run_ids()
        if len(ids) == 1 and ids[0] != self.shown_run_id:
            self._spawn(self._load(ids[0]))
        summaries = [self.runs_model.run_at(self.runs_model.row_of(i) or 0) for i in ids]
        if len(ids) == 2:
            self.compare_model.set_runs(summaries[0], summaries[1])
            self.compare_note.setText(f"A: run {ids[0]} · B: run {ids[1]} · B - A green where "
                                      "B is better")
        else:
            self.compare_model.set_runs(None, None)
            self.compare_note.setText("Select two runs in Runs (Ctrl+click) to compare them")
        self._update_buttons()

    async def _load(self, run_id: int) -> None:
        store = self._store
        assert store is not None
        try:
            run = await self._read(lambda: load_run(store, run_id))
        except StoreError as exc:
            self.notify(str(exc), True)
            return
        if not shiboken6.isValid(self):  # the window closed meanwhile
            return
        if self.selected_run_ids() == [run_id]:  # the user has not moved on meanwhile
            self.show_run(run)

    # -- showing a run -------------------------------------------------------------------
    def show_run(self, run: BacktestRun) -> None:
        self.run = run
        self.shown_run_id = run.run_id
        span = (f"{pd.Timestamp(run.start_ns, tz='UTC'):%Y-%m-%d} → "
                f"{pd.Timestamp(run.end_ns, tz='UTC'):%Y-%m-%d}")
        self.title.setText(f"Run {run.run_id}: {run.title} · {run.source} · {span} · "
                           f"{run.bars:,} bars")
        self.title.setToolTip("\n".join([
            f"{run.strategy} v{run.strategy_version} (file sha256 {run.file_hash[:12]}…)",
            "Parameters: " + (", ".join(f"{k}={v}" for k, v in run.params.items()) or "none"),
            "Settings: " + ", ".join(f"{k}={v}" for k, v in run.settings.as_dict().items()),
            *(f"Problem: {p}" for p in run.problems)]))
        for key, label in self.figures.items():
            value = run.metrics.get(key)
            label.setText(format_metric(key, value))
            color = metric_color(key, value)
            label.setStyleSheet("" if color is None else f"color: {color.name()}")
        self.equity.show_curve(run.curve_ts, run.curve_equity, run.settings.starting_cash)
        self.trades_model.set_trades(run.trades)
        self.scatter.show_trades(run.trades)
        self.histogram.show_trades(run.trades)
        self.monthly_model.set_table(monthly_returns(day_closes(run),
                                                     run.settings.starting_cash))
        if run.problems:
            self.notify(f"Run {run.run_id}: {len(run.problems)} problem(s): "
                        f"{run.problems[0]}", True)
        self._update_buttons()

    def figure_text(self, key: str) -> str:
        return self.figures[key].text()

    def _update_buttons(self) -> None:
        ids = self.selected_run_ids()
        self.delete_button.setEnabled(bool(ids) and not self.process.running)
        self.compare_button.setEnabled(len(ids) == 2)
        for button in self.export_buttons.values():
            button.setEnabled(self.run is not None)
        self.new_button.setEnabled(not self.process.running)

    # -- a trade on a chart --------------------------------------------------------------
    def _on_trade_activated(self, index: QModelIndex) -> None:
        trade = self.trades_model.trade_at(self.trades_proxy.mapToSource(index).row())
        if trade is not None and self.run is not None:
            self._spawn(self.show_trade(trade))

    async def show_trade(self, trade: TradeRecord) -> TradeChartWindow:
        """The trade over the bars it traded on: read from the store for a run on stored
        bars, regenerated or read again from the file for a sim or file run (unless they
        changed since); else over its own points. The window says which."""
        run = self.run
        assert run is not None
        marks = "entry ▲/▼, exit ✕, stop (red) and target (green)"
        if run.source == "store":
            bars, found = await self._stored_trade_bars(run, trade)
        else:
            kept = await asyncio.get_running_loop().run_in_executor(
                _worker(), bars_for_trade, run, trade, self._settings, TRADE_CHART_BARS)
            bars, found = kept.bars, kept.note
        note = (f"{found}: {marks}" if bars else
                f"No bars at hand: {found}. Drawn from the trade's own points: {marks} over "
                "its span")
        if self.trade_window is not None:
            self.trade_window.close()
            self.trade_window.deleteLater()
        decimals = self.trades_model.decimals(trade.symbol)[0]
        window = TradeChartWindow(trade, bars, decimals, note, self)
        self.trade_window = window
        window.show()
        return window

    async def _stored_trade_bars(self, run: BacktestRun,
                                 trade: TradeRecord) -> tuple[list[Bar], str]:
        store = self._store
        if store is None:
            return [], "no store is open"
        pad = Timeframe.parse(run.timeframe).nominal_ns * TRADE_CHART_BARS
        try:
            bars = await self._read(lambda: store.bars_between(
                trade.symbol, run.timeframe, trade.entry_ts - pad, trade.exit_ts + pad))
        except StoreError as exc:
            return [], f"the store's bars could not be read: {exc}"
        if not bars:
            return [], f"the store has no {trade.symbol} {run.timeframe} bars there any more"
        return bars, (f"{trade.symbol} {run.timeframe} bars from the store, up to "
                      f"{TRADE_CHART_BARS} either side")

    # -- exports -------------------------------------------------------------------------
    def _choose_export(self, kind: str) -> None:
        if self.run is None:
            return
        title, pattern, _ = EXPORTS[kind]
        suggested = self._home / f"backtest-{self.run.run_id}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {title}", str(suggested),
                                              f"{title} ({pattern})")
        if path:
            self.export(kind, Path(path))

    def export(self, kind: str, path: Path) -> asyncio.Future[Any]:
        """Write the shown run as ``kind`` (html, json, csv) off the GUI thread."""
        return self._spawn(self._export(kind, path))

    async def _export(self, kind: str, path: Path) -> None:
        run = self.run
        assert run is not None
        title, _, write = EXPORTS[kind]
        try:
            await asyncio.get_running_loop().run_in_executor(_worker(), write, run, path)
        except OSError as exc:
            self.notify(f"{title} of run {run.run_id} not written to {path}: "
                        f"{exc.strerror or exc}", True)
            return
        self.notify(f"Run {run.run_id}: {title} written to {path}")

    # -- deleting ------------------------------------------------------------------------
    def _confirm_delete(self) -> None:
        ids = self.selected_run_ids()
        if not ids:
            return
        what = f"run {ids[0]}" if len(ids) == 1 else f"{len(ids)} runs"
        answer = QMessageBox.question(self, "Delete backtest runs",
                                      f"Delete {what} from the store? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_runs(ids)

    def delete_runs(self, run_ids: list[int]) -> asyncio.Future[Any]:
        return self._spawn(self._delete(run_ids))

    async def _delete(self, run_ids: list[int]) -> None:
        store = self._store
        assert store is not None

        def delete() -> None:
            for run_id in run_ids:
                delete_run(store, run_id)

        try:
            await self._read(delete)
        except StoreError as exc:
            self.notify(str(exc), True)
            return
        if not shiboken6.isValid(self):  # the window closed meanwhile
            return
        if self.shown_run_id in run_ids:
            self._clear_run()
        self.notify(f"Deleted run{'s' if len(run_ids) > 1 else ''} "
                    + ", ".join(map(str, run_ids)))
        await self._refresh(None)

    def _clear_run(self) -> None:
        self.run = None
        self.shown_run_id = None
        self.title.setText("No run selected")
        for label in self.figures.values():
            label.setText("—")
            label.setStyleSheet("")
        self.equity.clear_curve()
        self.trades_model.set_trades(())
        self.scatter.show_trades(())
        self.histogram.show_trades(())
        self.monthly_model.set_table(pd.DataFrame(columns=[*range(1, 13), "year"],
                                                  dtype="float64"))

    # -- running -------------------------------------------------------------------------
    def open_new_backtest(self) -> NewBacktestDialog:
        """The New backtest dialog (one at a time); Run starts the backtest."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        if self.dialog is not None:
            self.dialog.deleteLater()
        dialog = NewBacktestDialog(self._strategies(), list(self._instruments),
                                   self._timeframes,
                                   break_even_r=self._settings.paper.break_even_r, parent=self)
        dialog.accepted.connect(lambda: dialog.request and self.start(dialog.request))
        self.dialog = dialog
        dialog.open()
        return dialog

    def start(self, request: BacktestRequest) -> None:
        if self.process.running:
            self.notify("A backtest is already running: wait for it or cancel it", True)
            return
        self.progress.begin(f"{request.strategy} on {', '.join(request.symbols)}")
        self.process.start(request.arguments(self._home))
        self.notify(f"Backtest of {request.strategy} started")
        self._update_buttons()

    def _on_finished(self, run_id: int, summary: str) -> None:
        self.progress.hide()
        said = summary.strip() or "done"
        # the command's summary may already name the run ("run 3: ...")
        named = said.lower().startswith(f"run {run_id}:")
        self.notify(f"R{said[1:]}" if named else f"Run {run_id}: {said}")
        self.refresh(select=run_id)
        self.tabs.setCurrentWidget(self.summary_page)
        self._update_buttons()

    def _on_failed(self, text: str) -> None:
        self.progress.hide()
        self.notify(text, True)
        self._update_buttons()

    def _on_canceled(self) -> None:
        self.progress.hide()
        self.notify("Backtest canceled: nothing was stored")
        self._update_buttons()

    def notify(self, text: str, error: bool = False) -> None:
        """The dock's status line and the window's status bar."""
        if not shiboken6.isValid(self):
            return
        show_status(self.status, text, error)
        if error:
            log.warning("backtest: %s", text)
        self.message.emit(text, error)


