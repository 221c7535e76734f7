"""The Backtest dock's Optimize tab (and the base the Walk-forward tab shares): the search
form on the left; on the right the running search's progress (trials done of the total,
the best so far, ETA, Cancel), the stored optimisations (read from SQLite, so they
survive a restart), and the shown one's trials (a sortable table that fills as trials
finish) beside a heatmap of the objective over any two parameters. On a trial: "Backtest
these parameters" (a normal backtest, shown in the dock) and "Use for a strategy instance"
(the Add strategy instance dialog, prefilled).

The search runs as a ``bracket optimize`` child process (``CommandProcess``); it keeps the
result only when it completes, so Cancel (which kills it) leaves nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.backtest_process import BacktestRequest, CommandProcess, RunProgress, eta_text
from ui.dialogs.strategy_instance import StrategyInstanceDialog
from ui.models.backtest_runs_model import SORT_ROLE
from ui.models.optimize_models import (
    RowsModel,
    optimization_columns,
    score_text,
    trial_columns,
)
from ui.panels.optimize_charts import Heatmap
from ui.panels.optimize_form import FormProblem, SearchForm
from ui.panels.stored_runs import Reader, StoredRunsTab
from ui.panels.tables import fit_columns, make_table
from workstation.optimize.runs import Optimization, list_optimizations, load_optimization
from workstation.store.database import Store
from workstation.strategies.instances import InstanceError, InstanceSettings
from workstation.strategies.loader import StrategyClass

HISTORY_HEIGHT = 120  # the stored runs' list: a few rows, the result below gets the rest
HEATMAP_EVERY_MS = 250  # redraws of the heatmap while trials arrive
HEATMAP_MIN_WIDTH = 340  # room for the cells, the value ticks and the colour bar
# the widest values the trials table makes room for: #, status, score, (parameters), figures
TRIAL_SAMPLES = ("9,999", "excluded", "-12,345.6", "-123,456.00", "-17.29", "-13.80%", "9,999",
                 "100.00%", "10.00", "-0.00R", "fast<slow does not hold")
HISTORY_SAMPLES = {"optimize": ("999", "SMA crossover 1.0 · NQ 5m", "return_drawdown", "nsga2",
                                "9,999", "-12,345.6", "fast=13, slow=35", "sim",
                                "2026-11-02", "2026-11-02", "2026-11-02 15:29"),
                   "walkforward": ("999", "SMA crossover 1.0 · NQ 5m", "return_drawdown",
                                   "99", "-12,345.00", "-0.02", "sim", "2026-11-02",
                                   "2026-11-02", "2026-11-02 15:29")}


def sortable(model: Any, parent: QWidget) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy


def make_sortable_table(model: Any, name: str, parent: QWidget
                        ) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = sortable(model, parent)
    table = make_table(proxy, name, parent)
    table.setSortingEnabled(True)
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # as they come until a header click
    return table, proxy


class SearchTab(StoredRunsTab):
    """What the Optimize and Walk-forward tabs share: the form, the child process and its
    progress, the stored runs of ``kind`` and showing one of them."""

    backtest_requested = Signal(object)  # a BacktestRequest
    kind = "optimize"
    what = "optimisation"

    def __init__(self, store: Store | None, read: Reader[Any], home: Path,
                 strategies: Callable[[], dict[str, StrategyClass]], symbols: list[str],
                 timeframes: list[str], *, command: list[str] | None = None,
                 today: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(store, read, home, parent)
        self._strategies = strategies
        self._symbols = symbols
        self.record: Optimization | None = None
        self._started_with: dict[str, Any] = {}  # the running search's context
        self.form = SearchForm(strategies(), timeframes, f"{self.kind}Form", today=today,
                               parent=self)
        self.run_button = QPushButton(f"Run {self.what}", self)
        self.run_button.setObjectName(f"{self.kind}Run")
        self.run_button.setDefault(True)
        self.process = CommandProcess("optimization_id", self.what, command, self)
        self.progress = RunProgress(self.process, self.kind, self)
        self.history_model = RowsModel(optimization_columns(self.kind))
        self.history_table, self.history_proxy = make_sortable_table(
            self.history_model, f"{self.kind}History", self)
        self.history_table.setToolTip(f"Stored {self.what}s: select one to show it")
        fit_columns(self.history_table, HISTORY_SAMPLES[self.kind])
        self.status = QLabel(self)
        self.status.setObjectName(f"{self.kind}Status")
        self.status.setWordWrap(True)  # a long summary must not widen the dock
        self._build()
        self.run_button.clicked.connect(self.run)
        self.process.line.connect(self._on_line)
        self._wire()

    # -- building ------------------------------------------------------------------------
    def _build(self) -> None:
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.form)
        column.addWidget(self.run_button)
        scroll = QScrollArea(self)
        scroll.setObjectName(f"{self.kind}FormScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(left)
        left.ensurePolished()
        scroll.setMinimumWidth(max(340, left.sizeHint().width())
                               + scroll.verticalScrollBar().sizeHint().width())
        right = QWidget(self)
        stack = QVBoxLayout(right)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(2)
        stack.addWidget(self.progress)
        results = QSplitter(Qt.Orientation.Vertical, right)
        results.addWidget(self.history_table)
        results.addWidget(self._results())
        results.setStretchFactor(0, 1)
        results.setStretchFactor(1, 3)
        results.setChildrenCollapsible(False)
        results.setSizes([HISTORY_HEIGHT, 4 * HISTORY_HEIGHT])
        stack.addWidget(results, 1)
        stack.addWidget(self.status)
        self._lay_out(scroll, right)

    def _results(self) -> QWidget:
        raise NotImplementedError

    # -- the stored runs ----------------------------------------------------------------
    def _read_rows(self, store: Store) -> list[Any]:
        return list_optimizations(store, self.kind)

    def load_record(self, store: Store, run_id: int) -> Optimization:
        return load_optimization(store, run_id)

    def show_record(self, record: Optimization) -> None:
        super().show_record(record)
        if not self.process.running:
            self.form.load(record.strategy, record.symbols, record.timeframe,
                           record.first_day, record.last_day, record.source, record.inputs)

    # -- running -------------------------------------------------------------------------
    def arguments(self) -> list[str]:
        return self.form.arguments(self.kind)

    def run(self) -> None:
        if self.process.running:
            self.notify(f"A {self.what} is already running: wait for it or cancel it", True)
            return
        try:
            arguments = self.arguments()
        except FormProblem as exc:
            self.form.show_message(str(exc), True)
            return
        self.form.show_message("")
        self.begin()
        self.progress.begin(f"{self.what} of {self.form.strategy.currentData()}")
        self.process.start([*arguments[:1], "--home", str(self._home), *arguments[1:]])
        self.run_button.setEnabled(False)

    def begin(self) -> None:
        """Clear the shown result for the run starting now."""
        self.record = None
        self.shown_id = None
        name = self.form.strategy.currentData()
        offered = self._strategies().get(name)
        self._started_with = {
            "strategy": name,
            "symbols": [s.strip().upper() for s in self.form.symbols.text().split(",")
                        if s.strip()] or list(offered.cls.symbols if offered else ()),
            "timeframe": self.form.timeframe.currentText(),
            "first": self.form.start.date().toPython(), "last": self.form.end.date().toPython(),
            "data": self.form.data.currentData(), "settings": {}}

    def _on_line(self, message: dict[str, Any]) -> None:
        progress = message.get("progress")
        if isinstance(progress, dict):
            done, total = int(progress.get("trials") or 0), int(progress.get("total") or 0)
            best = progress.get("best")
            best_text = "best —" if best is None else (
                f"best {score_text(float(best))} (trial {progress.get('best_trial')})")
            eta = progress.get("eta_s")
            self.progress.show_done(done, total, f"{done:,} / {total:,} trials · {best_text}"
                                    f" · ETA {eta_text(float(eta)) if eta is not None else '—'}")

    # -- a trial's parameters elsewhere ---------------------------------------------------
    def context(self) -> dict[str, Any]:
        """What the shown trials were run on: strategy, symbols, timeframe, days, data and
        the fill settings (the record's, or for a running search, the form's)."""
        record = self.record
        if record is not None:
            return {"strategy": record.strategy, "symbols": record.symbols,
                    "timeframe": record.timeframe,
                    "first": date.fromisoformat(record.first_day),
                    "last": date.fromisoformat(record.last_day), "data": record.source,
                    "settings": record.inputs.get("settings", {})}
        return self._started_with

    def backtest_request(self, params: dict[str, Any]) -> BacktestRequest:
        ctx = self.context()
        settings = ctx.get("settings", {})
        return BacktestRequest(
            ctx["strategy"], tuple(ctx["symbols"]), dict(params), ctx["timeframe"],
            ctx["first"], ctx["last"], ctx["data"],
            cash=float(settings.get("starting_cash", 100_000.0)),
            fill=settings.get("market_fill", "next_open"),
            slippage_ticks=int(settings.get("slippage_ticks", 0)),
            slippage_bps=float(settings.get("slippage_bps", 0.0)),
            commission=settings.get("commission"), seed=settings.get("seed"))

    def instance_prefill(self, params: dict[str, Any]) -> InstanceSettings:
        ctx = self.context()
        return InstanceSettings(instance_id="optimized", strategy=ctx["strategy"],
                                symbols=tuple(ctx["symbols"]),
                                timeframes=(ctx["timeframe"],), params=dict(params))

    def use_for_instance(self, params: dict[str, Any]) -> StrategyInstanceDialog | None:
        """The Add strategy instance dialog prefilled with ``params``: the Strategies
        panel's (which adds the instance to the running engine) when the dock is in the
        main window, else a dialog of its own that can only show them."""
        try:
            prefill = self.instance_prefill(params)
        except (InstanceError, ValueError) as exc:
            self.notify(f"These parameters cannot make an instance: {exc}", True)
            return None
        panel = getattr(self.window(), "strategies_panel", None)
        if panel is not None and hasattr(panel, "add_instance"):
            return panel.add_instance(prefill=prefill)
        dialog = StrategyInstanceDialog(self._strategies(), self._symbols, (),
                                        lambda settings: settings, self, prefill=prefill)
        dialog.accepted.connect(lambda: self.notify(
            "No running workstation here to add the instance to", True))
        dialog.open()
        return dialog


class OptimizeTab(SearchTab):
    kind = "optimize"
    what = "optimisation"

    def _results(self) -> QWidget:
        self.trials_model = RowsModel(trial_columns([]))
        self.trials_table, self.trials_proxy = make_sortable_table(
            self.trials_model, "optimizeTrials", self)
        self.trials_table.setToolTip("Click a header to sort; select a trial to use it")
        self.backtest_button = QPushButton("Backtest these parameters", self)
        self.backtest_button.setObjectName("optimizeBacktest")
        self.backtest_button.setToolTip("Run a normal backtest with the selected trial's "
                                        "parameters on the same data; it shows in Summary")
        self.instance_button = QPushButton("Use for a strategy instance…", self)
        self.instance_button.setObjectName("optimizeInstance")
        self.instance_button.setToolTip("Add a strategy instance with the selected trial's "
                                        "parameters")
        self.heatmap = Heatmap(self)
        self.heat_x = QComboBox(self)
        self.heat_x.setObjectName("heatmapX")
        self.heat_y = QComboBox(self)
        self.heat_y.setObjectName("heatmapY")
        self._heat_timer = QTimer(self)
        self._heat_timer.setSingleShot(True)
        self._heat_timer.setInterval(HEATMAP_EVERY_MS)
        self._heat_timer.timeout.connect(self.draw_heatmap)
        self.summary = QLabel(self)
        self.summary.setObjectName("optimizeSummary")
        self.summary.setStyleSheet(f"color: {theme.MUTED.name()}; padding: 0 4px")
        self.summary.setWordWrap(True)

        trials = QWidget(self)
        column = QVBoxLayout(trials)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.summary)
        column.addWidget(self.trials_table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.backtest_button)
        buttons.addWidget(self.instance_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        heat = QWidget(self)
        heat_column = QVBoxLayout(heat)
        heat_column.setContentsMargins(0, 0, 0, 0)
        heat_column.setSpacing(2)
        axes = QHBoxLayout()
        axes.addWidget(QLabel("Heatmap x", heat))
        axes.addWidget(self.heat_x, 1)
        axes.addWidget(QLabel("y", heat))
        axes.addWidget(self.heat_y, 1)
        heat_column.addLayout(axes)
        heat_column.addWidget(self.heatmap, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(trials)
        splitter.addWidget(heat)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        heat.setMinimumWidth(HEATMAP_MIN_WIDTH)
        splitter.setSizes([3000, 2000])  # scaled to the width it gets
        self.backtest_button.clicked.connect(self._backtest_selected)
        self.instance_button.clicked.connect(self._instance_selected)
        self.heat_x.currentIndexChanged.connect(self.draw_heatmap)
        self.heat_y.currentIndexChanged.connect(self.draw_heatmap)
        self.trials_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()
        return splitter

    def _set_varied(self, varied: list[str], objective: str) -> None:
        self.trials_model.set_columns(trial_columns(varied))
        self._objective = objective
        for combo, pick in ((self.heat_x, 0), (self.heat_y, 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(varied)
            combo.setCurrentIndex(min(pick, len(varied) - 1))
            combo.blockSignals(False)
        fit_columns(self.trials_table, (*TRIAL_SAMPLES[:3], *["1,000.5"] * len(varied),
                                        *TRIAL_SAMPLES[3:]),
                    mono=[c for c in range(self.trials_model.columnCount()) if c != 1])

    _objective = "score"

    def begin(self) -> None:
        super().begin()
        self._set_varied(self.form.varied(), self.form.objective.currentData())
        self.trials_model.set_rows([])
        self.heatmap.reset()
        self.summary.setText("")
        self._update_buttons()

    def _on_line(self, message: dict[str, Any]) -> None:
        super()._on_line(message)
        trial = message.get("trial")
        if isinstance(trial, dict):
            self.trials_model.append(trial)
            if not self._heat_timer.isActive():
                self._heat_timer.start()

    def show_record(self, record: Optimization) -> None:
        super().show_record(record)
        varied = list(record.summary.get("varied") or [])
        self._set_varied(varied, record.inputs.get("objective", "score"))
        self.trials_model.set_rows([t.as_dict() for t in record.trials.get(0, ())])
        best = record.summary.get("best")
        self.summary.setText(
            f"Optimisation {record.run_id}: {record.title} · {record.source} "
            f"{record.first_day} → {record.last_day} · {record.inputs.get('search')} · "
            f"{record.inputs.get('objective')} · "
            + (f"best trial {best['number']}: {score_text(best['score'])}" if best
               else "no trial scored"))
        self.draw_heatmap()
        self._update_buttons()

    def draw_heatmap(self, *_: object) -> None:
        x, y = self.heat_x.currentText(), self.heat_y.currentText()
        if x and y:
            self.heatmap.show_trials(self.trials_model.rows, x, y, self._objective)
        else:
            self.heatmap.reset()

    def selected_trial(self) -> dict[str, Any] | None:
        rows = self.trials_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.trials_model.row_at(self.trials_proxy.mapToSource(rows[0]).row())

    def select_trial(self, number: int) -> None:
        for row, trial in enumerate(self.trials_model.rows):
            if trial["number"] == number:
                self.trials_table.selectRow(self.trials_proxy.mapFromSource(
                    self.trials_model.index(row, 0)).row())
                return

    def _update_buttons(self, *_: object) -> None:
        trial = self.selected_trial()
        usable = trial is not None and trial.get("status") != "skipped" and bool(
            self.record is not None or self._started_with)
        self.backtest_button.setEnabled(usable)
        self.instance_button.setEnabled(usable)

    def _backtest_selected(self) -> None:
        trial = self.selected_trial()
        if trial is not None:
            self.backtest_requested.emit(self.backtest_request(trial["params"]))

    def _instance_selected(self) -> StrategyInstanceDialog | None:
        trial = self.selected_trial()
        return None if trial is None else self.use_for_instance(trial["params"])
