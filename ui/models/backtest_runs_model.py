"""The stored backtest runs (the Backtest dock's history, newest first) and the side-by-side
comparison of two of them. Both read only ``RunSummary`` rows: listing and comparing never
load a run's trades or curve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.backtest.metrics import METRICS, format_metric
from workstation.backtest.runs import RunSummary
from workstation.model import NS_PER_SECOND

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole
RUN_COLUMNS = ("#", "Strategy", "Net profit", "Return", "Sharpe", "Max DD", "Trades",
               "Parameters", "Data", "From", "To", "Ran at")
_RUN_TEXT = ("Ran at", "Strategy", "Parameters", "Data", "From", "To")
_RUN_TEXT_COLUMNS = tuple(RUN_COLUMNS.index(name) for name in _RUN_TEXT)
_RUN_METRICS = {"Net profit": "net_profit", "Return": "total_return", "Sharpe": "sharpe",
                "Max DD": "max_drawdown", "Trades": "trades"}
_RUN_TIPS = {"Ran at": "When the backtest ran (this computer's time)",
             "From": "First bar's open (exchange date)", "To": "Last bar's close (exchange date)"}
SIGNED = ("net_profit", "total_return", "cagr", "expectancy", "expectancy_r")
# in the comparison, a rise in these is worse; in NEUTRAL it is neither better nor worse
LOWER_IS_BETTER = ("annual_volatility", "max_drawdown_duration_days", "max_consecutive_losses",
                   "commission")
NEUTRAL = ("trades", "exposure", "avg_trade_duration_s", "trading_days")
MISSING = float("-inf")


def params_text(params: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def ran_at(created_ns: int) -> str:
    if not created_ns:
        return fmt.NONE
    moment = datetime.fromtimestamp(created_ns / NS_PER_SECOND, tz=UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def metric_color(key: str, value: float | int | None) -> QColor | None:
    """Green or red for the figures whose sign is the news (profit, return, expectancy)."""
    if key in SIGNED and value is not None:
        return theme.direction_color(value)
    return None


class BacktestRunsModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._runs: list[RunSummary] = []

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self.endResetModel()

    def run_at(self, row: int) -> RunSummary | None:
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def row_of(self, run_id: int) -> int | None:
        return next((i for i, run in enumerate(self._runs) if run.run_id == run_id), None)

    def runs(self) -> list[RunSummary]:
        return list(self._runs)

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(RUN_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(RUN_COLUMNS, section, orientation, role, left=_RUN_TEXT,
                               tips=_RUN_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        name = RUN_COLUMNS[index.column()]
        key = _RUN_METRICS.get(name)
        if role == Qt.ItemDataRole.DisplayRole:
            if key is not None:
                return format_metric(key, run.metrics.get(key))
            return self._text(run, name)
        if role == SORT_ROLE:
            if key is not None:
                value = run.metrics.get(key)
                return MISSING if value is None else float(value)
            return {"#": run.run_id, "Ran at": run.created_ts, "From": run.start_ns,
                    "To": run.end_ns}.get(name, self._text(run, name))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if index.column() in _RUN_TEXT_COLUMNS else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            if key is not None:
                return metric_color(key, run.metrics.get(key))
            return theme.MUTED if name in ("#", "Parameters", "Data") else None
        if role == Qt.ItemDataRole.FontRole and index.column() not in _RUN_TEXT_COLUMNS:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Run {run.run_id}: {run.title}\n{params_text(run.params) or 'no parameters'}"
        return None

    @staticmethod
    def _text(run: RunSummary, name: str) -> str:
        match name:
            case "#":
                return str(run.run_id)
            case "Ran at":
                return ran_at(run.created_ts)
            case "Strategy":
                return run.title
            case "Parameters":
                return params_text(run.params)
            case "Data":
                return run.source
            case "From":
                return fmt.local_time(run.start_ns, "%Y-%m-%d")
        return fmt.local_time(run.end_ns, "%Y-%m-%d")


# -- comparison --------------------------------------------------------------------------
COMPARE_COLUMNS = ("Figure", "Run A", "Run B", "B - A")


def difference(a: float | int | None, b: float | int | None) -> float | int | None:
    return None if a is None or b is None else b - a


def difference_text(key: str, change: float | int | None) -> str:
    """``change`` in the figure's own format, signed ("+1.50%", "-2m 00s")."""
    if change is None:
        return fmt.NONE
    sign = "+" if change > 0 else "-" if change < 0 else ""
    return sign + format_metric(key, abs(change))


def change_color(key: str, change: float | int | None) -> QColor | None:
    """Green when B is better than A on this figure, red when worse."""
    if change is None or change == 0 or key in NEUTRAL:
        return None
    better = change < 0 if key in LOWER_IS_BETTER else change > 0
    return theme.UP if better else theme.DOWN


class CompareModel(QAbstractTableModel):
    """Every figure of two runs, side by side, with B - A."""

    def __init__(self) -> None:
        super().__init__()
        self._keys = list(METRICS)
        self.runs: tuple[RunSummary, RunSummary] | None = None

    def set_runs(self, a: RunSummary | None, b: RunSummary | None) -> None:
        self.beginResetModel()
        self.runs = (a, b) if a is not None and b is not None else None
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COMPARE_COLUMNS) - 1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.runs is None else len(self._keys)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COMPARE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and self.runs is not None and \
                section in (1, 2) and role in (Qt.ItemDataRole.DisplayRole,
                                               Qt.ItemDataRole.ToolTipRole):
            run = self.runs[section - 1]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{run.title}\n{params_text(run.params)}"
            return f"{'AB'[section - 1]}: run {run.run_id}"
        return fmt.header_data(COMPARE_COLUMNS, section, orientation, role, left=("Figure",))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self.runs is None:
            return None
        key = self._keys[index.row()]
        column = index.column()
        a, b = (run.metrics.get(key) for run in self.runs)
        change = difference(a, b)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return METRICS[key][0]
            if column == 3:
                return difference_text(key, change)
            return format_metric(key, a if column == 1 else b)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column == 0 else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 3:
                return change_color(key, change)
            if column in (1, 2):
                return metric_color(key, a if column == 1 else b)
            return None
        if role == Qt.ItemDataRole.FontRole and column:
            return theme.MONO
        return None
