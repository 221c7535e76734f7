"""The tables of the Optimize, Walk-forward and Challenge tabs: one small column-driven
model (a column says its title, how to read a row, how to show the value, and whether it
is a number) over plain rows, so the trials table can grow one row per finished trial
without a reset, and every column sorts by its value (numbers as numbers, a missing one
lowest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from ui.models.backtest_runs_model import SORT_ROLE, metric_color, params_text, ran_at
from workstation.backtest.metrics import format_metric

Index = QModelIndex | QPersistentModelIndex
MISSING = float("-inf")


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    value: Callable[[Any], Any]
    text: Callable[[Any], str] = str
    number: bool = False
    color: Callable[[Any], QColor | None] | None = None
    tip: str = ""


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: Sequence[Column] = ()) -> None:
        super().__init__()
        self._columns = list(columns)
        self._rows: list[Any] = []

    @property
    def columns(self) -> list[Column]:
        return self._columns

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        self.endResetModel()

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def append(self, row: Any) -> None:
        at = len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.append(row)
        self.endInsertRows()

    def row_at(self, row: int) -> Any | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def rows(self) -> list[Any]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole and column.tip:
            return column.tip
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        value = column.value(self._rows[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return fmt.NONE if value is None else column.text(value)
        if role == SORT_ROLE:
            if column.number:
                return MISSING if value is None else float(value)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.number \
                else Qt.AlignmentFlag.AlignLeft
            return horizontal | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.FontRole and column.number:
            return theme.MONO
        if role == Qt.ItemDataRole.ForegroundRole and column.color is not None \
                and value is not None:
            return column.color(value)
        return None


# -- columns --------------------------------------------------------------------------------
def metric_column(title: str, key: str, read: Callable[[Any], dict[str, Any] | None]
                  ) -> Column:
    """A backtest figure of ``read(row)`` (a metrics dict), formatted as the dock does."""
    return Column(title, lambda row: (read(row) or {}).get(key),
                  lambda v: format_metric(key, v), number=True,
                  color=lambda v: metric_color(key, v))


def score_text(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


TRIAL_METRICS = (("Net profit", "net_profit"), ("Sharpe", "sharpe"), ("Max DD", "max_drawdown"),
                 ("Trades", "trades"), ("Win rate", "win_rate"), ("PF", "profit_factor"),
                 ("Exp R", "expectancy_r"))


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def trial_columns(varied: Sequence[str]) -> list[Column]:
    """A trial row: ``{"number", "params", "status", "score", "metrics", "reason"}``."""
    params = [Column(name, lambda row, n=name: row["params"].get(n), value_text,
                     number=True) for name in varied]
    return [Column("#", lambda row: row["number"], number=True),
            Column("Status", lambda row: row["status"]),
            Column("Score", lambda row: row["score"], score_text, number=True,
                   tip="The objective (higher is better)"),
            *params,
            *(metric_column(title, key, lambda row: row.get("metrics"))
              for title, key in TRIAL_METRICS),
            Column("Reason", lambda row: row.get("reason"))]


def window_columns() -> list[Column]:
    """A walk-forward window as the command's JSON has it."""
    def net(key: str) -> Callable[[Any], Any]:
        return lambda row: (row.get(key) or {}).get("net_profit")

    def pct(value: float) -> str:
        return f"{value:+.1%}"

    return [Column("#", lambda row: row["index"] + 1, number=True),
            Column("In sample", lambda row: span_text(row["in_sample"])),
            Column("Out of sample", lambda row: span_text(row["out_of_sample"])),
            Column("Chosen parameters", lambda row: row.get("chosen")),
            Column("IS net", net("is_metrics"), lambda v: format_metric("net_profit", v),
                   number=True, color=theme.direction_color),
            Column("IS ann.", lambda row: row.get("is_annualised"), pct, number=True,
                   tip="In-sample annualised return (net / cash x 252 / days)"),
            Column("OOS net", net("oos_metrics"), lambda v: format_metric("net_profit", v),
                   number=True, color=theme.direction_color),
            Column("OOS ann.", lambda row: row.get("oos_annualised"), pct, number=True,
                   color=theme.direction_color,
                   tip="Out-of-sample annualised return"),
            Column("OOS trades", lambda row: (row.get("oos_metrics") or {}).get("trades"),
                   number=True)]


def span_text(days: Sequence[str]) -> str:
    """``2026-11-02 → 11-04``: the year once when both days share it; one day alone."""
    first, last = days
    if first == last:
        return first
    return f"{first} → {last[5:] if first[:4] == last[:4] else last}"


def optimization_columns(kind: str) -> list[Column]:
    """A stored optimisation or walk-forward (``OptimizationSummary``)."""
    common = [Column("#", lambda s: s.run_id, number=True),
              Column("Strategy", lambda s: s.title),
              Column("Objective", lambda s: s.inputs.get("objective"))]
    tail = [Column("Data", lambda s: s.source),
            Column("From", lambda s: s.first_day), Column("To", lambda s: s.last_day),
            Column("Ran at", lambda s: ran_at(s.created_ts))]
    if kind == "optimize":
        def best(s: Any) -> dict[str, Any]:
            return s.summary.get("best") or {}

        return [*common,
                Column("Search", lambda s: s.inputs.get("search")),
                Column("Trials", lambda s: s.summary.get("trials"), number=True),
                Column("Best", lambda s: best(s).get("score"), score_text, number=True),
                Column("Best parameters",
                       lambda s: params_text({k: best(s).get("params", {}).get(k)
                                              for k in s.summary.get("varied", [])})
                       if best(s) else None),
                *tail]
    return [*common,
            Column("Windows", lambda s: s.summary.get("windows"), number=True),
            Column("OOS net", lambda s: s.summary.get("oos_net_profit"),
                   lambda v: format_metric("net_profit", v), number=True,
                   color=theme.direction_color),
            Column("WFE", lambda s: s.summary.get("walk_forward_efficiency"),
                   lambda v: f"{v:.2f}", number=True, tip="Walk-forward efficiency"),
            *tail]


def challenge_columns() -> list[Column]:
    """A stored challenge run (``ChallengeSummary``)."""
    def pct(value: float) -> str:
        return f"{value:.1%}"

    return [Column("#", lambda c: c.run_id, number=True),
            Column("Rules", lambda c: c.name),
            Column("Trades from", lambda c: c.source.get("label")),
            Column("Trades", lambda c: c.trades, number=True),
            Column("Paths", lambda c: c.paths, lambda v: f"{v:,}", number=True),
            Column("Pass", lambda c: c.pass_probability, pct, number=True,
                   color=lambda _: theme.UP),
            Column("Fail daily", lambda c: c.fail_daily_probability, pct, number=True),
            Column("Fail max", lambda c: c.fail_max_probability, pct, number=True),
            Column("Timeout", lambda c: c.timeout_probability, pct, number=True),
            Column("Ran at", lambda c: ran_at(c.created_ts))]
