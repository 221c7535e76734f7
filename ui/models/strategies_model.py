"""The strategy instances behind the Strategies panel, one row per instance, and the
plugin errors listed below them.

Pulled from the StrategyHost: after every lifecycle change (the host's listener)
and twice a second for the figures that move on their own (P&L, timings,
counts). Rows are inserted and removed as instances come and go; otherwise only
cells whose text or color changed are repainted, never a model reset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.strategies.context import StrategyContext
from workstation.strategies.instances import InstanceStatus
from workstation.strategies.loader import PluginProblem

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Instance", "Strategy", "Symbols", "Status", "P&L today", "Position",
           "Last signal", "Errors", "Avg ms", "Max ms", "Orders")
STATUS = COLUMNS.index("Status")
_NUMBER_COLUMNS = {"P&L today", "Errors", "Avg ms", "Max ms", "Orders"}
_TEXT_COLUMNS = frozenset(COLUMNS) - _NUMBER_COLUMNS
_MONO_COLUMNS = _NUMBER_COLUMNS | {"Position"}
STATUS_COLORS = {InstanceStatus.RUNNING: theme.UP, InstanceStatus.PAUSED: theme.WARN,
                 InstanceStatus.STOPPED: theme.MUTED, InstanceStatus.ERROR: theme.DOWN}
HEADER_TIPS = {
    "Status": "running: trading; paused: following the market, sending nothing; stopped; "
              "error: disabled by Bracket (hover for the reason)",
    "P&L today": "Realized today after commissions, plus the open positions' unrealized P&L",
    "Position": "What this instance holds (signed quantity per symbol)",
    "Last signal": "The latest signal it emitted (exchange time)",
    "Errors": "Callbacks that raised an exception",
    "Avg ms": "Mean time of on_bar, in milliseconds",
    "Max ms": "Longest on_bar, in milliseconds",
    "Orders": "Orders sent through the risk gate (and refused by the instance's own limits)",
}
TRACEBACK_LINES = 12
NO_ERRORS = "No plugin errors"


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    color: QColor | None = None
    tip: str = ""


def _status_tip(ctx: StrategyContext) -> str:
    lines = [f"{ctx.status.value}: {ctx.reason}" if ctx.reason else ctx.status.value]
    if ctx.last_error:
        lines.append(f"Last error: {ctx.last_error}")
    if ctx.status is InstanceStatus.ERROR and ctx.last_traceback:
        tail = ctx.last_traceback.rstrip().splitlines()[-TRACEBACK_LINES:]
        lines += ["", *tail]
    return "\n".join(lines)


def row_cells(ctx: StrategyContext, pnl: float, slow_ms: float) -> tuple[Cell, ...]:
    """What one instance's row shows: text, color and tooltip per column."""
    settings, offered = ctx.settings, ctx.offered
    stats = ctx.stats["on_bar"]
    held = [(s, q) for s, q in ctx.positions.items() if q]
    signal = ctx.last_signal
    signal_cell = Cell(fmt.NONE, theme.MUTED)
    if signal is not None:
        signal_cell = Cell(f"{signal.direction.value} {signal.symbol} "
                           f"{fmt.local_time(signal.ts, '%H:%M')}",
                           theme.direction_color(signal.direction.sign),
                           f"{ctx.signals} signal(s); last {signal.direction.value} "
                           f"{signal.symbol} at {fmt.local_time(signal.ts)} ET"
                           + (f" ({signal.notes})" if signal.notes else ""))
    refused = f" · {ctx.orders_refused} refused" if ctx.orders_refused else ""
    return (
        Cell(ctx.instance_id, None, f"{ctx.instance_id}: {', '.join(settings.symbols)} "
                                    f"{', '.join(settings.timeframes)}"),
        Cell(f"{settings.strategy} v{offered.version}", None,
             f"{settings.strategy} v{offered.version}: {offered.path.name} (sha256 "
             f"{offered.sha256[:12]}…)" if offered.sha256 else "its plugin is not loaded"),
        Cell(", ".join(settings.symbols), None, "Timeframes: " + ", ".join(settings.timeframes)),
        Cell(ctx.status.value, STATUS_COLORS[ctx.status], _status_tip(ctx)),
        Cell(fmt.signed_money(pnl), theme.direction_color(round(pnl, 2))),
        Cell(", ".join(f"{q:+g} {s}" for s, q in held) if held else "flat",
             None if held else theme.MUTED, ", ".join(f"{q:+g} {s}" for s, q in held)),
        signal_cell,
        Cell(str(ctx.errors), theme.DOWN if ctx.errors else theme.MUTED, ctx.last_error),
        Cell(f"{stats.mean_ms:.3f}", theme.MUTED if not stats.calls else None,
             f"{stats.calls:,} on_bar calls"),
        Cell(f"{stats.max_ms:.3f}", theme.WARN if stats.max_ms > slow_ms else
             theme.MUTED if not stats.calls else None,
             f"{stats.slow} call(s) slower than {slow_ms:g} ms"),
        Cell(f"{ctx.orders_sent}{refused}", theme.WARN if ctx.orders_refused else None,
             f"{ctx.orders_sent} sent, {ctx.orders_refused} refused by the instance's limits, "
             f"{ctx.signals} signal(s)"),
    )


class StrategiesModel(QAbstractTableModel):
    def __init__(self, contexts: Callable[[], dict[str, StrategyContext]],
                 pnl: Callable[[str], float], slow_ms: float) -> None:
        super().__init__()
        self._contexts = contexts
        self._pnl = pnl
        self._slow_ms = slow_ms
        self._ids: list[str] = []
        self._rows: list[tuple[Cell, ...]] = []

    # -- reading -----------------------------------------------------------------------
    def instance_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, instance_id: str) -> int | None:
        try:
            return self._ids.index(instance_id)
        except ValueError:
            return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(COLUMNS, section, orientation, role, left=_TEXT_COLUMNS,
                               tips=HEADER_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        cell = self._rows[index.row()][index.column()]
        name = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == Qt.ItemDataRole.ForegroundRole:
            return cell.color
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell.tip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.RIGHT if name in _NUMBER_COLUMNS else fmt.LEFT
        if role == Qt.ItemDataRole.FontRole and name in _MONO_COLUMNS:
            return theme.MONO
        return None

    # -- updating ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Rows for instances that came and went, then repaint the cells that changed."""
        contexts = self._contexts()
        for row in reversed(range(len(self._ids))):
            if self._ids[row] not in contexts:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[row]
                del self._rows[row]
                self.endRemoveRows()
        known = set(self._ids)
        new = [i for i in contexts if i not in known]
        if new:
            first = len(self._ids)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._ids += new
            self._rows += [self._cells(contexts[i]) for i in new]
            self.endInsertRows()
        for row, instance_id in enumerate(self._ids):
            cells = self._cells(contexts[instance_id])
            old = self._rows[row]
            if cells == old:
                continue
            self._rows[row] = cells
            changed = [c for c in range(len(COLUMNS)) if cells[c] != old[c]]
            self.dataChanged.emit(self.index(row, changed[0]), self.index(row, changed[-1]))

    def _cells(self, ctx: StrategyContext) -> tuple[Cell, ...]:
        return row_cells(ctx, self._pnl(ctx.instance_id), self._slow_ms)


class PluginErrorsModel(QAbstractListModel):
    """The plugin files that failed to load (file line N: message), and stored instances
    that no longer validate; one muted line saying so when there are none."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: list[tuple[str, Path | None]] = []

    def show(self, problems: list[PluginProblem], stored: list[str],
             files: Iterable[Path]) -> bool:
        """New problems to list; False when they are the ones shown."""
        paths = {path.name: path for path in files}
        lines = [(str(p), paths.get(p.file)) for p in problems] + [(t, None) for t in stored]
        if lines == self._lines:
            return False
        self.beginResetModel()  # a handful of lines, changed only by a (re)load
        self._lines = lines
        self.endResetModel()
        return True

    @property
    def count(self) -> int:
        return len(self._lines)

    def path_at(self, row: int) -> Path | None:
        return self._lines[row][1] if 0 <= row < len(self._lines) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else max(len(self._lines), 1)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not self._lines:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if not self._lines:
            if role == Qt.ItemDataRole.DisplayRole:
                return NO_ERRORS
            return theme.MUTED if role == Qt.ItemDataRole.ForegroundRole else None
        text, path = self._lines[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return text if role == Qt.ItemDataRole.DisplayRole or path is None else \
                f"{text}\n{path}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.DOWN
        return None
