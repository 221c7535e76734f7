"""The risk rules and the compliance history behind the Risk panel.

``RiskRulesModel`` is pulled once a frame with the monitor's rule statuses and
their levels (with hysteresis, as the gate enforces them); it repaints only
rows that moved. ``RiskHistoryModel`` is fed only journal-committed risk events
(level changes, kill-switch changes, blocked orders), newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.risk.events import KillSwitchChanged, OrderBlocked, RiskLevelChanged
from workstation.risk.rules import HYSTERESIS_PCT, Level, RuleStatus

Index = QModelIndex | QPersistentModelIndex
RiskEvent = RiskLevelChanged | KillSwitchChanged | OrderBlocked

# bright (bars, text) and dark-pill (status bar) colors per level
LEVEL_COLORS = {Level.SAFE: theme.UP, Level.WARNING: theme.WARN, Level.DANGER: theme.ORANGE,
                Level.LOCKED: theme.DOWN}
LEVEL_PILLS = {Level.SAFE: (theme.SAFE_BG, theme.SAFE_TEXT),
               Level.WARNING: (theme.NEAR_BG, theme.NEAR_TEXT),
               Level.DANGER: (theme.ORANGE_BG, theme.ORANGE_TEXT),
               Level.LOCKED: (theme.DANGER_BG, theme.DANGER_TEXT)}
LEVEL_HELP = {Level.SAFE: "below 50% of the limit",
              Level.WARNING: "50-70%: the order ticket asks for an extra confirmation",
              Level.DANGER: "70-90%: close to the limit",
              Level.LOCKED: "90% or more: new entries are blocked"}
LEVEL_ROLE = Qt.ItemDataRole.UserRole + 1  # the rule's Level (the bar's color)
USED_ROLE = Qt.ItemDataRole.UserRole + 2  # % of the limit used (the bar's length)

RULE_COLUMNS = ("Rule", "Value", "Limit", "Used", "Buffer")
USED = RULE_COLUMNS.index("Used")
_RULE_TIPS = {"Used": "Share of the limit used; the color is the rule's level"}
HISTORY_COLUMNS = ("Time", "Kind", "Rule", "Change", "Value / limit")
_HISTORY_TEXT = ("Kind", "Rule", "Change")
HISTORY_LIMIT = 5_000
_SINGULAR = {"contracts": "contract", "positions": "position", "losses": "loss"}
# rules the gate checks per order (not measured): names as a trader reads them
GATE_RULES = {"kill_switch": "Kill switch", "strategy_paused": "Strategy paused",
              "lot_size": "Lot size", "tick_size": "Tick grid", "market_data": "Market data",
              "min_price": "Minimum price", "price_band": "Price band",
              "max_qty": "Order size", "max_notional": "Order notional",
              "max_risk": "Risk per trade", "duplicate": "Duplicate order",
              "order_rate": "Order rate", "allocation": "Strategy allocation",
              "loss_streak": "Consecutive losses", "trading_hours": "Trading hours",
              "symbol": "Symbol"}


def rule_title(rule: str, labels: Mapping[str, str]) -> str:
    """A rule's name for people: the measured rule's label, else the gate check's."""
    return labels.get(rule) or GATE_RULES.get(rule) or rule.replace("_", " ").capitalize()


def amount(value: float, unit: str) -> str:
    """A rule's value or limit in its unit: money with cents, a percentage, a count."""
    if unit == "$":
        return fmt.money(value)
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:g}"


def buffer_text(value: float, unit: str) -> str:
    """What is left before the limit, with its unit (negative once over it)."""
    if unit in ("$", "%"):
        return amount(value, unit)
    name = _SINGULAR.get(unit, unit) if abs(value) == 1 else unit
    return f"{value:g} {name}"


def level_text(used_pct: float, level: Level) -> str:
    return f"{used_pct:.0f}% {level.label}"


@dataclass(frozen=True, slots=True)
class RuleRow:
    status: RuleStatus
    level: Level


class RiskRulesModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[RuleRow] = []

    def refresh(self, statuses: list[RuleStatus], levels: Mapping[str, Level]) -> int:
        """Show ``statuses`` at ``levels``; returns how many rows were repainted."""
        rows = [RuleRow(s, levels.get(s.rule, Level.SAFE)) for s in statuses]
        if [r.status.rule for r in rows] != [r.status.rule for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
            return len(rows)
        changed = 0
        for position, (old, new) in enumerate(zip(self._rows, rows, strict=True)):
            if old != new:
                self._rows[position] = new
                self.dataChanged.emit(self.index(position, 0),
                                      self.index(position, len(RULE_COLUMNS) - 1))
                changed += 1
        return changed

    def row_of(self, rule: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.status.rule == rule), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(RULE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(RULE_COLUMNS, section, orientation, role,
                               left=(RULE_COLUMNS[0], RULE_COLUMNS[USED]), tips=_RULE_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        status, column = row.status, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (status.label, amount(status.value, status.unit),
                    amount(status.limit, status.unit), level_text(status.used_pct, row.level),
                    buffer_text(status.buffer, status.unit))[column]
        if role == LEVEL_ROLE:
            return row.level
        if role == USED_ROLE:
            return status.used_pct
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column in (0, USED) else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, column)
        if role == Qt.ItemDataRole.FontRole and column > 0:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        return None

    @staticmethod
    def _color(row: RuleRow, column: int) -> QColor | None:
        if column == 1 and row.level > Level.SAFE:
            return LEVEL_COLORS[row.level]
        if column == 2:
            return theme.MUTED
        if column == 4 and row.status.buffer < 0:
            return theme.DOWN
        return None

    @staticmethod
    def _tooltip(row: RuleRow) -> str:
        status = row.status
        hard = ("\nHard limit: reaching 100% turns the kill switch on." if status.hard
                else "")
        return (f"{status.label}: {amount(status.value, status.unit)} of "
                f"{amount(status.limit, status.unit)} ({status.used_pct:.1f}%)\n"
                f"Level {row.level.label}: {LEVEL_HELP[row.level]}. A level is left only "
                f"{HYSTERESIS_PCT:g} points below its threshold.{hard}")


class RiskHistoryModel(QAbstractTableModel):
    """Committed risk events, newest first (row 0 is the last one stored)."""

    def __init__(self, units: Mapping[str, str], labels: Mapping[str, str],
                 limit: int = HISTORY_LIMIT) -> None:
        super().__init__()
        self._units = units  # rule name -> unit, for value / limit
        self._labels = labels  # rule name -> label
        self._limit = limit
        self._rows: list[RiskEvent] = []

    def apply(self, events: Iterable[object]) -> int:
        """Keep the risk events among ``events``; returns how many were added."""
        added = [e for e in events
                 if isinstance(e, RiskLevelChanged | KillSwitchChanged | OrderBlocked)]
        if not added:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(added) - 1)
        self._rows.extend(added)
        self.endInsertRows()
        extra = len(self._rows) - self._limit
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), self._limit, len(self._rows) - 1)
            del self._rows[:extra]
            self.endRemoveRows()
        return len(added)

    def event_at(self, position: int) -> RiskEvent:
        return self._rows[len(self._rows) - 1 - position]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HISTORY_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(HISTORY_COLUMNS, section, orientation, role,
                               left=_HISTORY_TEXT)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        event = self.event_at(index.row())
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._texts(event)[column]
            if role == Qt.ItemDataRole.ToolTipRole:
                return text if column in (2, 3) and text else None
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.RIGHT if column in (0, 4) else fmt.LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(event, column)
        if role == Qt.ItemDataRole.FontRole and column in (0, 4):
            return theme.MONO
        return None

    def _texts(self, event: RiskEvent) -> tuple[str, str, str, str, str]:
        when = fmt.local_time(event.ts)
        if isinstance(event, RiskLevelChanged):
            unit = self._units.get(event.rule, "$")
            return (when, "level", event.label, f"{event.old_level} → {event.new_level}",
                    f"{amount(event.value, unit)} / {amount(event.limit, unit)} "
                    f"({event.used_pct:.0f}%)")
        if isinstance(event, KillSwitchChanged):
            scope = "system" if event.scope == "all" else event.scope
            state = "ON" if event.active else "OFF"
            how = " (automatic)" if event.automatic else ""
            return (when, "kill switch", scope, f"{state}{how}: {event.reason}", fmt.NONE)
        return (when, "blocked", rule_title(event.rule, self._labels),
                f"{event.reason} ({event.symbol} {event.client_order_id})", fmt.NONE)

    @staticmethod
    def _color(event: RiskEvent, column: int) -> QColor | None:
        if column == 0:
            return theme.MUTED
        if column not in (1, 3):
            return None
        if isinstance(event, RiskLevelChanged):
            return LEVEL_COLORS.get(_level_named(event.new_level), theme.NEUTRAL)
        if isinstance(event, KillSwitchChanged):
            return theme.DOWN if event.active else theme.UP
        return theme.DOWN


def _level_named(label: str) -> Level:
    try:
        return Level[label.upper()]
    except KeyError:
        return Level.SAFE
