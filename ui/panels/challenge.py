"""The Backtest dock's Challenge tab: the odds that a strategy's trades pass a prop-firm
evaluation. Rules: one of the risk gate's presets (FTMO-style, Topstep-style, intraday
trailing) for an account size, its numbers shown and editable, or custom rules. Trades: a
stored backtest run, a stored walk-forward's out-of-sample trades, or the live journal of
an account. The simulation (``workstation.optimize.challenge``) runs as a ``bracket
challenge`` child process, which keeps the result; the tab shows the pass / fail-daily /
fail-max-loss / out-of-time probabilities, the days-to-pass histogram and sample paths
against the target and loss lines, and lists the stored runs (they survive a restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.backtest_process import CommandProcess, RunProgress
from ui.models.optimize_models import RowsModel, challenge_columns
from ui.panels.optimize import HISTORY_HEIGHT, make_sortable_table
from ui.panels.optimize_charts import DaysToPass, SamplePaths
from ui.panels.optimize_form import PRESETS, spin
from ui.panels.stored_runs import Reader, StoredRunsTab
from ui.panels.tables import fit_columns
from ui.panels.widgets import show_status
from workstation.backtest.runs import list_runs
from workstation.config import ConfigError
from workstation.optimize.challenge import ChallengeRules, preset_rules
from workstation.optimize.runs import (
    ChallengeRun,
    list_challenges,
    list_optimizations,
    load_challenge,
)
from workstation.store.database import Store

SIZES = (25_000, 50_000, 100_000, 150_000, 200_000)  # as the risk settings dialog offers
TRAILING = {"static": "static (from the initial balance)",
            "eod": "trailing, end of day", "intraday": "trailing, intraday"}
HISTORY_SAMPLES = ("999", "intraday_trailing 150,000", "walk-forward 12 out of sample",
                   "9,999", "100,000", "100.0%", "100.0%", "100.0%", "100.0%",
                   "2026-11-02 15:29")
# an unchecked radio button drawn as a ring (the theme's is invisible on the dark panel)
RADIOS = ("QRadioButton::indicator { width: 10px; height: 10px; border: 1px solid #6b7686; "
          "border-radius: 6px; background-color: #12161c; } "
          "QRadioButton::indicator:checked { background-color: #3b82f6; }")
OUTCOMES = (("pass", "Pass", "pass_probability"),
            ("daily", "Fail: daily loss", "fail_daily_probability"),
            ("max", "Fail: max loss", "fail_max_probability"),
            ("timeout", "Out of time", "timeout_probability"))


def money(parent: QWidget, name: str, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(parent)
    box.setObjectName(name)
    box.setRange(0.0, 100_000_000.0)
    box.setDecimals(0)
    box.setGroupSeparatorShown(True)
    box.setToolTip(tip)
    return box


class ChallengeTab(StoredRunsTab):
    kind = "challenge"
    what = "challenge simulation"
    show_while_running = True  # a stored run is shown; the form keeps the running one's rules

    def __init__(self, store: Store | None, read: Reader[Any], home: Path, *,
                 command: list[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(store, read, home, parent)
        self.record: ChallengeRun | None = None
        self.process = CommandProcess("challenge_id", self.what, command, self)
        self.progress = RunProgress(self.process, self.kind, self)
        self._build()
        self._wire()
        self._preset_changed()

    # -- building ------------------------------------------------------------------------
    def _build(self) -> None:
        form_widget = QWidget(self)
        self.preset = QComboBox(form_widget)
        self.preset.setObjectName("challengePreset")
        for key, label in PRESETS.items():
            self.preset.addItem(label, key)
        self.preset.addItem("Custom rules", "custom")
        self.account = QComboBox(form_widget)
        self.account.setObjectName("challengeAccount")
        self.account.setEditable(True)
        self.account.addItems([f"{size:,}" for size in SIZES])
        self.account.setCurrentText("100,000")
        self.target = money(form_widget, "challengeTarget", "Profit to reach")
        self.daily_loss = money(form_widget, "challengeDailyLoss",
                                "Loss in one day that fails (0: no daily limit)")
        self.daily_loss.setSpecialValueText("none")
        self.max_loss = money(form_widget, "challengeMaxLoss",
                              "Drawdown that fails (0: no limit)")
        self.max_loss.setSpecialValueText("none")
        self.trailing = QComboBox(form_widget)
        self.trailing.setObjectName("challengeTrailing")
        for key, label in TRAILING.items():
            self.trailing.addItem(label, key)
        self.min_days = spin(form_widget, "challengeMinDays", 0, 1_000, 0,
                             "Trading days needed before a pass counts")
        self.max_days = spin(form_widget, "challengeMaxDays", 1, 1_000, 60,
                             "The evaluation's length in trading days")
        self.source_group = QButtonGroup(form_widget)
        self.source_buttons: dict[str, QRadioButton] = {}
        for key, label in (("run", "Backtest run"), ("walkforward", "Walk-forward OOS"),
                           ("journal", "Live journal")):
            button = QRadioButton(label, form_widget)
            button.setObjectName(f"challengeSource_{key}")
            self.source_group.addButton(button)
            self.source_buttons[key] = button
        self.source_buttons["run"].setChecked(True)
        form_widget.setStyleSheet(RADIOS)
        self.backtest_run = QComboBox(form_widget)
        self.backtest_run.setObjectName("challengeBacktestRun")
        self.walkforward_run = QComboBox(form_widget)
        self.walkforward_run.setObjectName("challengeWalkforwardRun")
        self.journal = QLineEdit("Paper", form_widget)
        self.journal.setObjectName("challengeJournal")
        self.journal.setToolTip("The account whose finished trades are resampled")
        self.paths = spin(form_widget, "challengePaths", 100, 10_000_000, 10_000,
                          "Simulated evaluations")
        self.seed = spin(form_widget, "challengeSeed", 0, 2**31 - 1, 0, "The resampling's seed")
        self.run_button = QPushButton("Run simulation", form_widget)
        self.run_button.setObjectName("challengeRun")
        self.form_message = QLabel(form_widget)
        self.form_message.setObjectName("challengeFormMessage")
        self.form_message.setWordWrap(True)
        form = QFormLayout(form_widget)
        form.setContentsMargins(4, 4, 4, 4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Rules", self.preset)
        form.addRow("&Account size", self.account)
        form.addRow("Profit &target", self.target)
        form.addRow("&Daily loss", self.daily_loss)
        form.addRow("&Max loss", self.max_loss)
        form.addRow("Max loss is", self.trailing)
        form.addRow("Min trading days", self.min_days)
        form.addRow("Time limit (days)", self.max_days)
        form.addRow(self.source_buttons["run"], self.backtest_run)
        form.addRow(self.source_buttons["walkforward"], self.walkforward_run)
        form.addRow(self.source_buttons["journal"], self.journal)
        form.addRow("&Paths", self.paths)
        form.addRow("S&eed", self.seed)
        form.addRow(self.run_button)
        form.addRow(self.form_message)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form_widget)
        form_widget.ensurePolished()
        scroll.setMinimumWidth(max(320, form_widget.sizeHint().width())
                               + scroll.verticalScrollBar().sizeHint().width())

        self.history_model = RowsModel(challenge_columns())
        self.history_table, self.history_proxy = make_sortable_table(
            self.history_model, "challengeHistory", self)
        self.history_table.setToolTip("Stored challenge simulations: select one to show it")
        fit_columns(self.history_table, HISTORY_SAMPLES, mono=(0, 3, 4, 5, 6, 7, 8))
        self.figures: dict[str, QLabel] = {}
        figures = QWidget(self)
        grid = QGridLayout(figures)
        grid.setContentsMargins(4, 2, 4, 2)
        big = QFont(theme.MONO)
        big.setPointSize(16)
        big.setBold(True)
        for column, (key, label, _) in enumerate(OUTCOMES):
            name = QLabel(label, figures)
            name.setStyleSheet(f"color: {theme.MUTED.name()}")
            value = QLabel("—", figures)
            value.setObjectName(f"challenge_{key}")
            value.setFont(big)
            color = theme.UP if key == "pass" else theme.DOWN if key != "timeout" \
                else theme.MUTED
            value.setStyleSheet(f"color: {color.name()}")
            grid.addWidget(name, 0, column)
            grid.addWidget(value, 1, column)
            self.figures[key] = value
        self.details = QLabel("No simulation shown", figures)
        self.details.setObjectName("challengeDetails")
        self.details.setWordWrap(True)
        self.details.setStyleSheet(f"color: {theme.MUTED.name()}")
        grid.addWidget(self.details, 2, 0, 1, len(OUTCOMES))
        self.days_chart = DaysToPass(self)
        self.paths_chart = SamplePaths(self)
        charts = QSplitter(Qt.Orientation.Horizontal, self)
        charts.addWidget(self.paths_chart)
        charts.addWidget(self.days_chart)
        charts.setStretchFactor(0, 3)
        charts.setStretchFactor(1, 2)
        charts.setChildrenCollapsible(False)
        result = QWidget(self)
        column = QVBoxLayout(result)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(figures)
        column.addWidget(charts, 1)
        results = QSplitter(Qt.Orientation.Vertical, self)
        results.addWidget(self.history_table)
        results.addWidget(result)
        results.setStretchFactor(0, 1)
        results.setStretchFactor(1, 3)
        results.setChildrenCollapsible(False)
        results.setSizes([HISTORY_HEIGHT, 4 * HISTORY_HEIGHT])
        self.status = QLabel(self)
        self.status.setObjectName("challengeStatus")
        self.status.setWordWrap(True)  # a long summary must not widen the dock
        right = QWidget(self)
        stack = QVBoxLayout(right)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(2)
        stack.addWidget(self.progress)
        stack.addWidget(results, 1)
        stack.addWidget(self.status)
        self._lay_out(scroll, right)
        show_status(self.form_message, "")
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.account.currentTextChanged.connect(self._preset_changed)
        self.run_button.clicked.connect(self.run)

    # -- the rules ------------------------------------------------------------------------
    def account_size(self) -> float:
        text = self.account.currentText().replace(",", "").replace("_", "").strip()
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"account size {self.account.currentText()!r}: not a number") \
                from None
        if value <= 0:
            raise ConfigError(f"account size {value:g}: must be positive")
        return value

    def _preset_changed(self, *_: object) -> None:
        """A preset fills in its numbers for the account size (custom keeps what is typed)."""
        style = self.preset.currentData()
        if style == "custom":
            return
        try:
            rules = preset_rules(style, self.account_size())
        except ConfigError:
            return
        self.target.setValue(rules.profit_target)
        self.daily_loss.setValue(rules.daily_loss or 0.0)
        self.max_loss.setValue(rules.max_loss or 0.0)
        self.trailing.setCurrentIndex(self.trailing.findData(rules.trailing))
        self.min_days.setValue(rules.min_trading_days)

    def load_rules(self, rules: ChallengeRules, source: dict[str, Any]) -> None:
        """Show a stored simulation's rules and source, so it can be run again or varied."""
        style = rules.name.split(" ")[0]
        self.preset.blockSignals(True)
        self.account.blockSignals(True)
        self.preset.setCurrentIndex(max(0, self.preset.findData(
            style if style in PRESETS else "custom")))
        self.account.setCurrentText(f"{rules.account_size:,.0f}")
        self.preset.blockSignals(False)
        self.account.blockSignals(False)
        self.target.setValue(rules.profit_target)
        self.daily_loss.setValue(rules.daily_loss or 0.0)
        self.max_loss.setValue(rules.max_loss or 0.0)
        self.trailing.setCurrentIndex(self.trailing.findData(rules.trailing))
        self.min_days.setValue(rules.min_trading_days)
        self.max_days.setValue(rules.max_days)
        kind = {"backtest": "run", "walkforward": "walkforward",
                "journal": "journal"}.get(source.get("kind", ""))
        if kind is not None:
            self.source_buttons[kind].setChecked(True)
        combo = {"run": self.backtest_run, "walkforward": self.walkforward_run}.get(kind or "")
        if combo is not None and combo.findData(source.get("id")) >= 0:
            combo.setCurrentIndex(combo.findData(source.get("id")))
        if kind == "journal":
            self.journal.setText(str(source.get("account", "")))

    def arguments(self) -> list[str]:
        """``bracket challenge`` arguments (without ``--home``); ConfigError names what is
        wrong."""
        args = ["challenge", "--preset", self.preset.currentData(),
                "--account", f"{self.account_size():g}", "--target", f"{self.target.value():g}"]
        if not self.target.value() > 0:
            raise ConfigError("profit target: must be positive")
        if self.daily_loss.value() > 0:
            args += ["--daily-loss", f"{self.daily_loss.value():g}"]
        if self.max_loss.value() > 0:
            args += ["--max-loss", f"{self.max_loss.value():g}"]
        args += ["--trailing", self.trailing.currentData(), "--min-days",
                 str(self.min_days.value()), "--max-days", str(self.max_days.value())]
        if self.source_buttons["run"].isChecked():
            if self.backtest_run.currentData() is None:
                raise ConfigError("no stored backtest run to take the trades from")
            args += ["--run", str(self.backtest_run.currentData())]
        elif self.source_buttons["walkforward"].isChecked():
            if self.walkforward_run.currentData() is None:
                raise ConfigError("no stored walk-forward to take the trades from")
            args += ["--walkforward", str(self.walkforward_run.currentData())]
        else:
            if not self.journal.text().strip():
                raise ConfigError("live journal: name the account")
            args += ["--journal", self.journal.text().strip()]
        return [*args, "--paths", str(self.paths.value()), "--sim-seed",
                str(self.seed.value()), "--progress", "json"]

    # -- the stored runs ----------------------------------------------------------------
    def _read_rows(self, store: Store) -> list[Any]:
        """The stored simulations, and the trade sources for the form's lists."""
        return [list_challenges(store), list_runs(store),
                list_optimizations(store, "walkforward")]

    def _rows_read(self, rows: list[Any]) -> None:
        challenges, runs, walks = rows
        for combo, items in ((self.backtest_run, [(r.run_id, f"{r.run_id}: {r.title}")
                                                  for r in runs]),
                             (self.walkforward_run, [(w.run_id, f"{w.run_id}: {w.title}")
                                                     for w in walks])):
            kept = combo.currentData()
            combo.clear()
            for run_id, text in items:
                combo.addItem(text, run_id)
            if kept is not None and combo.findData(kept) >= 0:
                combo.setCurrentIndex(combo.findData(kept))
        self.history_model.set_rows(challenges)

    def load_record(self, store: Store, run_id: int) -> ChallengeRun:
        return load_challenge(store, run_id)

    def show_record(self, record: ChallengeRun) -> None:
        super().show_record(record)
        result = record.result
        if not self.process.running:
            self.load_rules(result.rules, record.source)
        for key, _, attribute in OUTCOMES:
            self.figures[key].setText(f"{getattr(result, attribute):.1%}")
        stats = result.days_to_pass_stats()
        rules = result.rules
        days = ("no path passed" if stats["median"] is None else
                f"days to pass: median {stats['median']:.0f}, 10 to 90 %: "
                f"{stats['p10']:.0f} to {stats['p90']:.0f}")
        limits = ", ".join(part for part in (
            f"target {rules.profit_target:,.0f}",
            f"daily loss {rules.daily_loss:,.0f}" if rules.daily_loss else "",
            f"max loss {rules.max_loss:,.0f} ({rules.trailing})" if rules.max_loss else "",
            f"min {rules.min_trading_days} days" if rules.min_trading_days else "",
            f"{rules.max_days} days") if part)
        self.details.setText(
            f"Simulation {record.run_id}: {rules.name} on {rules.account_size:,.0f} ({limits})"
            f" · {record.trades} trades over {result.history_days} days from "
            f"{record.source.get('label')} · {result.paths:,} paths, seed {result.seed} · "
            f"{days}")
        self.days_chart.show_counts(result.days_to_pass)
        self.paths_chart.show_paths(result.sample_paths, rules.account_size,
                                    rules.profit_target, rules.max_loss, rules.trailing)

    def figure_text(self, key: str) -> str:
        return self.figures[key].text()

    # -- running -------------------------------------------------------------------------
    def run(self) -> None:
        if self.process.running:
            return
        try:
            arguments = self.arguments()
        except ConfigError as exc:
            show_status(self.form_message, str(exc), True)
            return
        show_status(self.form_message, "")
        self.progress.begin("the challenge simulation")
        self.process.start([*arguments[:1], "--home", str(self._home), *arguments[1:]])
        self.run_button.setEnabled(False)
