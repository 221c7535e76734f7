"""The Backtest dock's Walk-forward tab: the search form plus the windows (in-sample and
out-of-sample lengths, step, in trading days or bars, rolling or anchored); the result is
each window's chosen parameters with its in-sample vs out-of-sample figures, the stitched
out-of-sample equity curve, the walk-forward efficiency and the parameters' stability
(their definitions: ``workstation.optimize.walkforward``). Runs ``bracket walkforward``
as a child process, like the Optimize tab."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter, QVBoxLayout, QWidget

from ui import theme
from ui.models.optimize_models import RowsModel, value_text, window_columns
from ui.panels.backtest_charts import EquityChart
from ui.panels.optimize import SearchTab, make_sortable_table
from ui.panels.optimize_form import spin
from ui.panels.tables import fit_columns
from workstation.backtest.metrics import format_metric
from workstation.model import NS_PER_SECOND
from workstation.optimize.runs import Optimization

WINDOW_SAMPLES = ("99", "2026-11-02 → 11-04", "2026-11-02 → 11-04", "fast=15, slow=30",
                  "-12,345.00", "+909.9%", "-12,345.00", "+909.9%", "999")
EQUITY_MIN_WIDTH = 360
DAY_CLOSE_UTC = time(21, 0)  # where a trading day's equity point is drawn


def day_ns(day: str) -> int:
    moment = datetime.combine(datetime.fromisoformat(day).date(), DAY_CLOSE_UTC,
                              tzinfo=UTC)
    return int(moment.timestamp()) * NS_PER_SECOND


def varied_names(inputs: dict[str, Any]) -> list[str]:
    """The varied parameters' names from the stored ``--param`` specs."""
    return [spec.partition("=")[0].strip() for spec in inputs.get("params") or []]


def figures_text(record: Optimization) -> str:
    """Walk-forward efficiency, the out-of-sample total and each parameter's stability."""
    summary, result = record.summary, record.result
    efficiency = summary.get("walk_forward_efficiency")
    parts = [f"Walk-forward {record.run_id}: {len(result.get('windows', []))} windows "
             f"({'anchored' if result.get('anchored') else 'rolling'}, "
             f"{result.get('unit', 'days')})",
             "efficiency " + ("—" if efficiency is None else f"{efficiency:.2f}"),
             f"OOS net {format_metric('net_profit', summary.get('oos_net_profit'))} from "
             f"{summary.get('trades', 0)} trades"]
    stability = result.get("parameter_stability") or {}
    moves = [f"{name} {value['relative_change']:.0%} (±{value['mean_change']:g})"
             for name, value in stability.items() if value.get("relative_change") is not None]
    if moves:
        parts.append("stability: " + ", ".join(moves))
    return " · ".join(parts)


class WalkForwardTab(SearchTab):
    kind = "walkforward"
    what = "walk-forward"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_length = spin(self.form, "walkIn", 1, 1_000_000, 10, "In-sample length")
        self.out_length = spin(self.form, "walkOut", 1, 1_000_000, 5, "Out-of-sample length")
        self.step = spin(self.form, "walkStep", 0, 1_000_000, 0,
                         "Distance between windows (0: the out-of-sample length)")
        self.step.setSpecialValueText("= out")
        self.unit = QComboBox(self.form)
        self.unit.setObjectName("walkUnit")
        self.unit.addItem("trading days", "days")
        self.unit.addItem("bars", "bars")
        self.anchored = QComboBox(self.form)
        self.anchored.setObjectName("walkAnchored")
        self.anchored.addItem("Rolling", False)
        self.anchored.addItem("Anchored", True)
        self.anchored.setToolTip("Rolling windows keep their length; anchored ones all start "
                                 "on the first day and grow")
        self.form.add_row("Windows", self.form._pair(self.in_length, QLabel("in", self.form),
                                                     self.out_length,
                                                     QLabel("out", self.form)))
        self.form.add_row("Step", self.form._pair(self.step, self.unit))
        self.form.add_row("Kind", self.anchored)

    def _results(self) -> QWidget:
        self.windows_model = RowsModel(window_columns())
        self.windows_table, _ = make_sortable_table(self.windows_model, "walkWindows", self)
        fit_columns(self.windows_table, WINDOW_SAMPLES, mono=(0, 4, 5, 6, 7, 8))
        self.figures = QLabel("No walk-forward shown", self)
        self.figures.setObjectName("walkFigures")
        self.figures.setWordWrap(True)
        self.figures.setStyleSheet(f"color: {theme.NEUTRAL.name()}; padding: 0 4px")
        self.equity = EquityChart(self)
        self.equity.setObjectName("walkEquity")
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.figures)
        column.addWidget(self.windows_table, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.equity)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.equity.setMinimumWidth(EQUITY_MIN_WIDTH)
        splitter.setSizes([1000, 1000])  # half each, scaled to the width it gets
        return splitter

    def arguments(self) -> list[str]:
        args = super().arguments()
        extra = ["--in", str(self.in_length.value()), "--out", str(self.out_length.value()),
                 "--unit", self.unit.currentData()]
        if self.step.value():
            extra += ["--step", str(self.step.value())]
        if self.anchored.currentData():
            extra.append("--anchored")
        return [*args[:-2], *extra, *args[-2:]]

    def begin(self) -> None:
        super().begin()
        self.windows_model.set_rows([])
        self.equity.clear_curve()
        self.figures.setText("Running…")

    def show_record(self, record: Optimization) -> None:
        super().show_record(record)
        names = varied_names(record.inputs)
        rows = []
        for window in record.result.get("windows", []):
            params = window.get("params") or {}
            chosen = ", ".join(f"{n}={value_text(params[n])}" for n in names if n in params)
            rows.append({**window, "chosen": chosen or ("—" if not params else "")})
        self.windows_model.set_rows(rows)
        self.figures.setText(figures_text(record))
        daily = record.result.get("daily") or {"day": [], "equity": []}
        self.equity.show_curve(np.array([day_ns(d) for d in daily["day"]], dtype=np.int64),
                               np.array(daily["equity"], dtype=float),
                               float(record.result.get("starting_cash", 100_000.0)))
