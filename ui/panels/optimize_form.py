"""The search form the Optimize and Walk-forward tabs share: a strategy and its data, the
parameters to vary (ranges prefilled from each ``Param``'s min/max/step, editable), the
conditions, the objective and constraints, and the search (grid, or a guided TPE / NSGA-II
search with a trial budget and seed) with its workers. It gives the ``bracket optimize`` /
``bracket walkforward`` arguments, or a one-line message naming the field that is wrong."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.dialogs.strategy_instance import CHECKS
from ui.panels.widgets import show_status
from workstation.optimize.objective import OBJECTIVES
from workstation.strategies.loader import StrategyClass
from workstation.strategy import Param

DEFAULT_DAYS = 10
SEARCHES = {"grid": "Grid (every combination)", "tpe": "Guided: TPE",
            "nsga2": "Guided: NSGA-II (genetic)"}
PRESETS = {"ftmo": "FTMO-style", "topstep": "Topstep-style",
           "intraday_trailing": "Intraday trailing"}
RANGE_COLUMNS = ("Vary", "Min", "Max", "Step / values")


def number_text(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date(edit: QDateEdit) -> date:
    value = edit.date()
    return date(value.year(), value.month(), value.day())


class FormProblem(ValueError):
    """A field that cannot be used: the message names it."""


def spin(parent: QWidget, name: str, low: int, high: int, value: int, tip: str = ""
         ) -> QSpinBox:
    box = QSpinBox(parent)
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    box.setGroupSeparatorShown(True)
    box.setToolTip(tip)
    return box


class SearchForm(QWidget):
    """``command`` is "optimize" or "walkforward" (which adds nothing here: the Walk-forward
    tab adds its window fields below with ``add_row``)."""

    def __init__(self, strategies: dict[str, StrategyClass], timeframes: list[str],
                 name: str, *, today: date | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._strategies = strategies
        self._params: dict[str, Param] = {}
        today = today or date.today()
        self.strategy = QComboBox(self)
        self.strategy.setObjectName("searchStrategy")
        for strategy in sorted(strategies):
            self.strategy.addItem(f"{strategy}  v{strategies[strategy].version}", strategy)
        self.symbols = QLineEdit(self)
        self.symbols.setObjectName("searchSymbols")
        self.symbols.setToolTip("Comma-separated (default: the strategy's own)")
        self.timeframe = QComboBox(self)
        self.timeframe.setObjectName("searchTimeframe")
        self.timeframe.addItems(timeframes)
        self.start = QDateEdit(_qdate(today - timedelta(days=DEFAULT_DAYS + 4)), self)
        self.end = QDateEdit(_qdate(today - timedelta(days=1)), self)
        for edit, key in ((self.start, "searchFrom"), (self.end, "searchTo")):
            edit.setObjectName(key)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.data = QComboBox(self)
        self.data.setObjectName("searchData")
        self.data.addItem("Simulated market", "sim")
        self.data.addItem("Stored bars", "store")
        self.ranges = QTableWidget(0, len(RANGE_COLUMNS), self)
        self.ranges.setObjectName("searchRanges")
        self.ranges.setHorizontalHeaderLabels(list(RANGE_COLUMNS))
        self.ranges.verticalHeader().setVisible(False)
        self.ranges.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.ranges.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.ranges.setToolTip("Tick the parameters to vary; edit their ranges (or clear "
                               "min and max and list the values: 5,8,13). Text and "
                               "true/false parameters take a list of values (a,b)")
        self.ranges.setStyleSheet(CHECKS.replace("QListView", "QTableView"))
        self.require = QLineEdit(self)
        self.require.setObjectName("searchRequire")
        self.require.setPlaceholderText("e.g. fast<slow")
        self.require.setToolTip("Conditions every combination must meet, separated by ';' "
                                "(a combination that breaks one is skipped, with the reason)")
        self.objective = QComboBox(self)
        self.objective.setObjectName("searchObjective")
        for key, label in OBJECTIVES.items():
            self.objective.addItem(label, key)
        self.preset = QComboBox(self)
        self.preset.setObjectName("searchPreset")
        for key, label in PRESETS.items():
            self.preset.addItem(label, key)
        self.account = spin(self, "searchAccount", 1_000, 10_000_000, 100_000,
                            "The challenge's account size")
        self.min_trades = spin(self, "searchMinTrades", 0, 1_000_000, 0,
                               "A trial with fewer trades does not count")
        self.max_drawdown = QDoubleSpinBox(self)
        self.max_drawdown.setObjectName("searchMaxDrawdown")
        self.max_drawdown.setRange(0.0, 100.0)
        self.max_drawdown.setSuffix(" %")
        self.max_drawdown.setSpecialValueText("none")
        self.max_drawdown.setToolTip("A trial with a deeper daily drawdown does not count")
        self.search = QComboBox(self)
        self.search.setObjectName("searchKind")
        for key, label in SEARCHES.items():
            self.search.addItem(label, key)
        self.trials = spin(self, "searchTrials", 1, 1_000_000, 100,
                           "Trials of a guided search")
        self.seed = spin(self, "searchSeed", 0, 2**31 - 1, 0, "The guided search's seed")
        cores = os.cpu_count() or 1
        self.workers = spin(self, "searchWorkers", 0, 4 * cores, cores,
                            "Processes running trials (0: one, inside the run's own process)")
        self.workers.setSpecialValueText("in process")
        self.cluster = QLineEdit(self)
        self.cluster.setObjectName("searchCluster")
        self.cluster.setPlaceholderText("tcp://HOST:8786 — a Dask scheduler (optional)")
        self.cluster.setToolTip("Run the trials on a Dask cluster instead of this machine's "
                                'cores (needs pip install "bracket-workstation[cluster]")')
        self.message = QLabel(self)
        self.message.setObjectName("searchMessage")
        self.message.setWordWrap(True)

        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow("&Strategy", self.strategy)
        self.form.addRow("S&ymbols", self._pair(self.symbols, QLabel("Timeframe", self),
                                               self.timeframe))
        self.form.addRow("&From", self._pair(self.start, QLabel("to", self), self.end))
        self.form.addRow("&Data", self.data)
        self.form.addRow(self.ranges)
        self.form.addRow("&Conditions", self.require)
        self.form.addRow("&Objective", self.objective)
        self.challenge_row = self._pair(self.preset, QLabel("account", self), self.account)
        self.form.addRow("Challenge", self.challenge_row)
        self.form.addRow("Min trades", self._pair(self.min_trades, QLabel("max DD", self),
                                                  self.max_drawdown))
        self.form.addRow("Searc&h", self.search)
        self.form.addRow("Trials", self._pair(self.trials, QLabel("seed", self), self.seed))
        self.form.addRow("&Workers", self._pair(self.workers, QLabel("or cluster", self),
                                                self.cluster))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.strategy.currentIndexChanged.connect(self._show_strategy)
        self.objective.currentIndexChanged.connect(self._update_enabled)
        self.search.currentIndexChanged.connect(self._update_enabled)
        self._show_strategy()
        self._update_enabled()

    def _pair(self, *widgets: QWidget) -> QWidget:
        holder = QWidget(self)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            row.addWidget(widget, 0 if isinstance(widget, QLabel) else 1)
        return holder

    def add_row(self, label: str, widget: QWidget) -> None:
        self.form.addRow(label, widget)

    def _update_enabled(self, *_: object) -> None:
        self.challenge_row.setEnabled(self.objective.currentData() == "pass_probability")
        guided = self.search.currentData() != "grid"
        self.trials.setEnabled(guided)
        self.seed.setEnabled(guided)

    # -- the strategy's parameters ------------------------------------------------------
    def _show_strategy(self, *_: object) -> None:
        name = self.strategy.currentData()
        offered = self._strategies.get(name) if name else None
        self._params = offered.cls.declared_params() if offered else {}
        if offered is not None:
            self.symbols.setText(", ".join(offered.cls.symbols))
            if offered.cls.timeframes and self.timeframe.findText(offered.cls.timeframes[0]) >= 0:
                self.timeframe.setCurrentText(offered.cls.timeframes[0])
        self.ranges.setRowCount(len(self._params))
        for row, param in enumerate(self._params.values()):
            vary = QTableWidgetItem(param.name)
            vary.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            vary.setCheckState(Qt.CheckState.Unchecked)
            vary.setToolTip(param.doc or param.name)
            self.ranges.setItem(row, 0, vary)
            numeric = param.kind in (int, float)
            if numeric:
                low = param.min if param.min is not None else param.default
                high = param.max if param.max is not None else param.default
                cells = (number_text(low), number_text(high), number_text(param.step or 1))
            else:
                values = param.choices if param.choices else (
                    (False, True) if param.kind is bool else (param.default,))
                cells = ("", "", ",".join(_value_text(v) for v in values))
            for column, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                if not numeric and column < 3:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.ranges.setItem(row, column, item)
        self.ranges.setFixedHeight(self.ranges.horizontalHeader().sizeHint().height()
                                   + 22 * max(len(self._params), 1) + 4)
        for row in range(len(self._params)):
            self.ranges.setRowHeight(row, 22)

    @property
    def params(self) -> dict[str, Param]:
        return dict(self._params)

    def set_range(self, name: str, low: Any = None, high: Any = None, step: Any = None,
                  *, vary: bool = True) -> None:
        """Tick ``name`` and set its range (a text/bool parameter's values go in ``step``)."""
        row = list(self._params).index(name)
        self.ranges.item(row, 0).setCheckState(Qt.CheckState.Checked if vary
                                               else Qt.CheckState.Unchecked)
        for column, value in ((1, low), (2, high), (3, step)):
            if value is not None:
                self.ranges.item(row, column).setText(str(value))

    def varied(self) -> list[str]:
        return [name for row, name in enumerate(self._params)
                if self.ranges.item(row, 0).checkState() == Qt.CheckState.Checked]

    def _spec(self, row: int, param: Param) -> str:
        cells = [self.ranges.item(row, c).text().strip() for c in (1, 2, 3)]
        if param.kind not in (int, float):
            if not cells[2]:
                raise FormProblem(f"{param.name}: list the values to try (a,b)")
            return f"{param.name}={cells[2]}"
        low, high, step = cells
        if not low and not high:  # a list of values in the last column
            if not step:
                raise FormProblem(f"{param.name}: give min, max and step, or list values")
            return f"{param.name}={step}"
        for label, text in (("min", low), ("max", high), ("step", step)):
            try:
                float(text)
            except ValueError:
                raise FormProblem(f"{param.name}: {label} {text!r} is not a number") from None
        if float(high) < float(low):
            raise FormProblem(f"{param.name}: max {high} is below min {low}")
        if float(step) <= 0:
            raise FormProblem(f"{param.name}: step {step} must be positive")
        return f"{param.name}={low}:{high}:{step}"

    # -- the command ---------------------------------------------------------------------
    def arguments(self, command: str) -> list[str]:
        """The command's arguments (after ``bracket``, without ``--home``); FormProblem
        names the field that is wrong."""
        name = self.strategy.currentData()
        if not name:
            raise FormProblem("no strategy is loaded")
        varied = self.varied()
        if not varied:
            raise FormProblem("tick at least one parameter to vary")
        first, last = _date(self.start), _date(self.end)
        if last < first:
            raise FormProblem(f"From: {first} is after {last}")
        symbols = [s.strip().upper() for s in self.symbols.text().split(",") if s.strip()]
        spec = name + ("@" + ",".join(symbols) if symbols else "")
        args = [command, "--strategy", spec, "--timeframe", self.timeframe.currentText(),
                "--from", first.isoformat(), "--to", last.isoformat(),
                "--data", self.data.currentData()]
        for row, param in enumerate(self._params.values()):
            if param.name in varied:
                args += ["--param", self._spec(row, param)]
        for condition in (c.strip() for c in self.require.text().split(";")):
            if condition:
                args += ["--require", condition]
        objective = self.objective.currentData()
        args += ["--objective", objective, "--min-trades", str(self.min_trades.value())]
        if self.max_drawdown.value() > 0:
            args += ["--max-drawdown", f"{self.max_drawdown.value() / 100:g}"]
        if objective == "pass_probability":
            args += ["--preset", self.preset.currentData(), "--account",
                     str(self.account.value())]
        args += ["--search", self.search.currentData(), "--trials", str(self.trials.value()),
                 "--search-seed", str(self.seed.value())]
        cluster = self.cluster.text().strip()
        if cluster:
            if not cluster.startswith(("tcp://", "tls://")):
                raise FormProblem(f"Cluster: {cluster!r} is not a scheduler address "
                                  "(tcp://HOST:8786)")
            args += ["--cluster", cluster]
        else:
            args += ["--workers", str(self.workers.value())]
        return [*args, "--progress", "json"]

    def load(self, strategy: str, symbols: tuple[str, ...], timeframe: str, first: str,
             last: str, source: str, inputs: dict[str, Any]) -> None:
        """Show a stored run's settings, so running it again (or a variation) is a click."""
        index = self.strategy.findData(strategy)
        if index < 0:
            return
        self.strategy.setCurrentIndex(index)
        self._show_strategy()
        self.symbols.setText(", ".join(symbols))
        if self.timeframe.findText(timeframe) >= 0:
            self.timeframe.setCurrentText(timeframe)
        self.start.setDate(_qdate(date.fromisoformat(first)))
        self.end.setDate(_qdate(date.fromisoformat(last)))
        if self.data.findData(source) >= 0:
            self.data.setCurrentIndex(self.data.findData(source))
        for spec in inputs.get("params") or []:
            name, equals, values = spec.partition("=")
            name = name.strip()
            if name not in self._params:
                continue
            if not equals:
                self.set_range(name)
            elif ":" in values:
                parts = values.split(":")
                self.set_range(name, parts[0], parts[1], parts[2] if len(parts) > 2 else None)
            elif self._params[name].kind in (int, float):
                self.set_range(name, "", "", values)
            else:
                self.set_range(name, step=values)
        self.require.setText("; ".join(inputs.get("require") or []))
        for combo, key in ((self.objective, "objective"), (self.search, "search")):
            if combo.findData(inputs.get(key)) >= 0:
                combo.setCurrentIndex(combo.findData(inputs.get(key)))
        self.min_trades.setValue(int(inputs.get("min_trades") or 0))
        self.max_drawdown.setValue(float(inputs.get("max_drawdown") or 0.0) * 100)
        self.trials.setValue(int(inputs.get("trials_asked") or self.trials.value()))
        self.seed.setValue(int(inputs.get("search_seed") or 0))

    def show_message(self, text: str, error: bool = False) -> None:
        show_status(self.message, text, error)
        if not error:
            self.message.setStyleSheet(f"color: {theme.MUTED.name()}")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
