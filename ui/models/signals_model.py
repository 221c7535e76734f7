"""Signals behind the Signals panel: one row per signal, its latest committed state.

Rows come only from journal-committed SignalChanged events (invariant 4): each
carries a snapshot of the record, so a row never shows a state the store does not
have. Live signals (received, pending, confirmed, awaiting approval, approved,
active) sit on top, newest first; finished ones (rejected, cancelled, expired,
closed) follow, most recently finished first, and are listed only while
``show_finished`` is on. A row whose state changes moves with beginMoveRows, so
the selection follows it. Age, current price and deviation move with the clock
and the market, not with events: ``refresh`` repaints those columns (~2 Hz).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.model import NS_PER_SECOND, Direction, Instrument
from workstation.signals.events import SignalChanged
from workstation.signals.lifecycle import SignalRecord, SignalState

Index = QModelIndex | QPersistentModelIndex
S = SignalState

COLUMNS = ("Symbol", "Dir", "Source", "Age", "Signal", "Current", "Dev", "State", "Bars",
           "Entry", "Stop", "R", "Size", "Risk $", "Gate")
COLUMN = {name: i for i, name in enumerate(COLUMNS)}
TEXT_COLUMNS = frozenset({"Symbol", "Dir", "Source", "State", "Gate"})
MONO_COLUMNS = frozenset(set(COLUMNS) - TEXT_COLUMNS)
CLOCK_COLUMNS = ("Age", "Current", "Dev")  # move without an event: repainted by refresh()
HEADER_TIPS = {
    "Age": "Time since the signal (engine clock); frozen when the signal is finished",
    "Signal": "The price the signal was given at",
    "Current": "The market's last trade",
    "Dev": "Current minus signal price, in points; amber past the instrument's maximum "
           "deviation while the signal waits for confirmation (a new signal that far off is "
           "rejected as stale)",
    "Bars": "Confirmation bars waited",
    "Entry": "Entry of the setup (~ the next bar's open, @ a limit at the confirmation close)",
    "Stop": "The setup's structural stop",
    "R": "Risk per contract in points: entry to stop",
    "Size": "Suggested size from the risk settings",
    "Risk $": "Money at risk at the suggested size",
    "Gate": "What the risk gate said of the setup (ok, warning, blocked), why it refused "
            "the order, or why the signal was rejected before (stop, sizing)",
}
LIVE = frozenset({S.RECEIVED, S.PENDING, S.CONFIRMED, S.AWAITING_APPROVAL, S.APPROVED,
                  S.ACTIVE})
WAITING = frozenset({S.RECEIVED, S.PENDING, S.CONFIRMED, S.AWAITING_APPROVAL})
# the deviation is a staleness cue only until the market confirms (then it moved on purpose)
STALE_CHECKED = frozenset({S.RECEIVED, S.PENDING})
STATE_COLORS: dict[SignalState, QColor] = {
    S.RECEIVED: theme.MUTED,
    S.PENDING: theme.WARN,
    S.CONFIRMED: theme.WARN,
    S.AWAITING_APPROVAL: theme.ON_BRIGHT,  # drawn on AWAITING_BG
    S.APPROVED: theme.ACCENT,
    S.ACTIVE: theme.UP,
    S.CLOSED: theme.NEUTRAL,
    S.REJECTED: theme.DOWN,
    S.CANCELLED: theme.MUTED,
    S.EXPIRED: theme.MUTED,
}
AWAITING_BG = QColor("#fbbf24")  # bright amber: the row that wants a click
FLASH_BG = QColor(251, 191, 36, 60)
FLASH_TICKS = 8  # refreshes (~4 s at 2 Hz): the row blinks while it is new


def state_text(state: SignalState) -> str:
    return state.value.replace("_", " ")


def gate_text(verdict: str) -> str:
    """The verdict in a word or two ("ok", "warning", "blocked: daily_loss", "refused");
    the whole text is the cell's tooltip."""
    if not verdict:
        return fmt.NONE
    if verdict == "ok" or verdict.startswith("warning"):
        return verdict.split(":", 1)[0]
    if verdict.startswith("blocked:"):
        rule = verdict.split(":")[1].strip()
        return f"blocked: {rule}" if rule else "blocked"
    return "refused"


def gate_color(verdict: str) -> QColor | None:
    if not verdict:
        return None
    if verdict == "ok":
        return theme.UP
    if verdict.startswith("warning"):
        return theme.WARN
    return theme.DOWN  # blocked, or the reason the gate refused the order


def _refusal(record: SignalRecord) -> str:
    """Why a signal was rejected before the gate judged it (no structural stop, a size the
    risk settings refuse...): shown in its row, not only in a tooltip."""
    if record.state is S.REJECTED and not record.gate_verdict:
        return record.history[-1].reason
    return ""


@dataclass(slots=True)
class _Row:
    record: SignalRecord
    decimals: int
    size_decimals: int
    number: int  # from the id ("sig-12" -> 12): arrival order

    @property
    def live(self) -> bool:
        return self.record.state in LIVE

    def key(self) -> tuple[int, int, int]:
        """Sort key: live first (newest first), then finished (last finished first)."""
        if self.live:
            return (0, -self.number, 0)
        return (1, -self.record.history[-1].ts, -self.number)


def _number(signal_id: str) -> int:
    digits = signal_id.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else 0


class SignalsModel(QAbstractTableModel):
    def __init__(self, instruments: dict[str, Instrument], now_ns: Callable[[], int],
                 last_price: Callable[[str], float | None],
                 max_deviation: Callable[[str, float], float | None]) -> None:
        """``last_price(symbol)``: the market's last trade or None; ``max_deviation(symbol,
        price)``: the points a signal may be off the market (None: no check)."""
        super().__init__()
        self._instruments = instruments
        self._now_ns = now_ns
        self._last_price = last_price
        self._max_deviation = max_deviation
        self._all: dict[str, _Row] = {}
        self._shown: list[_Row] = []  # sorted by _Row.key()
        self._keys: list[tuple[int, int, int]] = []
        self._flash: dict[str, int] = {}
        self.show_finished = False

    # -- structure ------------------------------------------------------------------------
    def apply(self, events: Iterable[object]) -> list[str]:
        """Committed SignalChanged events, in order. Returns the ids that just started
        awaiting approval (for the panel to select and flash)."""
        awaiting: list[str] = []
        for event in events:
            if not isinstance(event, SignalChanged):
                continue
            record = event.record
            self._upsert(record)
            if record.state is S.AWAITING_APPROVAL and any(
                    step.state is S.AWAITING_APPROVAL for step in event.new):
                awaiting.append(record.id)
        # still awaiting at the end of the batch (an auto-approval moves straight on)
        return [i for i in dict.fromkeys(awaiting)
                if self._all[i].record.state is S.AWAITING_APPROVAL]

    def _upsert(self, record: SignalRecord) -> None:
        row = self._all.get(record.id)
        if row is None:
            inst = self._instruments.get(record.signal.symbol)
            row = _Row(record, inst.price_decimals if inst else 2,
                       inst.size_decimals if inst else 0, _number(record.id))
            self._all[record.id] = row
            if self._visible(row):
                self._insert(row)
            return
        position = self._position(row)
        row.record = record
        if not row.live:
            self._flash.pop(record.id, None)
        if position is None:
            if self._visible(row):
                self._insert(row)
            return
        if not self._visible(row):
            self._remove_at(position)
            return
        self._keys[position] = row.key()
        target = self._target(position)
        if target != position:
            # Qt's destination is an index in the list before the move
            self.beginMoveRows(QModelIndex(), position, position, QModelIndex(),
                               target + 1 if target > position else target)
            del self._shown[position]
            del self._keys[position]
            self._shown.insert(target, row)
            self._keys.insert(target, row.key())
            self.endMoveRows()
            position = target
        self._emit_row(position)

    def _target(self, position: int) -> int:
        """Where the row at ``position`` belongs once its key changed."""
        key = self._keys[position]
        keys = self._keys[:position] + self._keys[position + 1:]
        return bisect.bisect_right(keys, key)

    def _visible(self, row: _Row) -> bool:
        return row.live or self.show_finished

    def _insert(self, row: _Row) -> None:
        key = row.key()
        position = bisect.bisect_right(self._keys, key)
        self.beginInsertRows(QModelIndex(), position, position)
        self._shown.insert(position, row)
        self._keys.insert(position, key)
        self.endInsertRows()

    def _remove_at(self, position: int) -> None:
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._shown[position]
        del self._keys[position]
        self.endRemoveRows()

    def _position(self, row: _Row) -> int | None:
        """The row's place among the shown ones (keys are unique: they carry the id)."""
        key = row.key()
        position = bisect.bisect_left(self._keys, key)
        if position < len(self._shown) and self._shown[position] is row:
            return position
        return None

    def set_show_finished(self, show: bool) -> None:
        if show == self.show_finished:
            return
        self.show_finished = show
        if show:
            for row in self._all.values():
                if not row.live:
                    self._insert(row)
        else:
            for position in range(len(self._shown) - 1, -1, -1):
                if not self._shown[position].live:
                    self._remove_at(position)

    def _emit_row(self, position: int) -> None:
        self.dataChanged.emit(self.index(position, 0),
                              self.index(position, len(COLUMNS) - 1))

    # -- reading --------------------------------------------------------------------------
    def record_at(self, position: int) -> SignalRecord | None:
        return self._shown[position].record if 0 <= position < len(self._shown) else None

    def record(self, signal_id: str) -> SignalRecord | None:
        row = self._all.get(signal_id)
        return row.record if row is not None else None

    def row_of(self, signal_id: str) -> int | None:
        row = self._all.get(signal_id)
        return None if row is None else self._position(row) if self._visible(row) else None

    def ids(self) -> list[str]:
        """Shown ids, top to bottom."""
        return [row.record.id for row in self._shown]

    def count(self, state: SignalState) -> int:
        return sum(1 for row in self._all.values() if row.record.state is state)

    def live_count(self) -> int:
        """Signals not finished (live rows are always shown, on top)."""
        return next((i for i, key in enumerate(self._keys) if key[0]), len(self._keys))

    # -- per refresh ----------------------------------------------------------------------
    def flash(self, signal_id: str) -> None:
        self._flash[signal_id] = FLASH_TICKS

    def flashing(self, signal_id: str) -> bool:
        return self._flash.get(signal_id, 0) > 0

    def refresh(self) -> None:
        """Repaint the clock-driven columns of every row, and blink new setups."""
        if not self._shown:
            return
        first, last = COLUMN[CLOCK_COLUMNS[0]], COLUMN[CLOCK_COLUMNS[-1]]
        self.dataChanged.emit(self.index(0, first), self.index(len(self._shown) - 1, last),
                              [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole])
        for signal_id in list(self._flash):
            self._flash[signal_id] -= 1
            if self._flash[signal_id] <= 0:
                del self._flash[signal_id]
            position = self.row_of(signal_id)
            if position is not None:
                self._emit_row(position)

    # -- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(COLUMNS, section, orientation, role, left=TEXT_COLUMNS,
                               tips=HEADER_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._shown[index.row()]
        name = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, name)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if name == "State" and row.record.state is S.AWAITING_APPROVAL:
                return Qt.AlignmentFlag.AlignCenter  # inside its pill
            return fmt.LEFT if name in TEXT_COLUMNS else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, name)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(row, name)
        if role == Qt.ItemDataRole.FontRole:
            return theme.MONO if name in MONO_COLUMNS else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, name)
        return None

    # -- cells ----------------------------------------------------------------------------
    def _current(self, row: _Row) -> float | None:
        return self._last_price(row.record.signal.symbol) or None

    def _deviation(self, row: _Row) -> float | None:
        price, current = row.record.signal.price, self._current(row)
        if price is None or current is None:
            return None
        return round(current - price, row.decimals)

    def _age_s(self, row: _Row) -> float:
        record = row.record
        end = self._now_ns() if row.live else record.history[-1].ts
        return max(end - record.signal.ts, 0) / NS_PER_SECOND

    def _text(self, row: _Row, name: str) -> str:
        record, setup, d = row.record, row.record.setup, row.decimals
        signal = record.signal
        match name:
            case "Symbol":
                return signal.symbol
            case "Dir":
                return signal.direction.value.capitalize()
            case "Source":
                return signal.source
            case "Age":
                return fmt.duration(self._age_s(row))
            case "Signal":
                return fmt.price(signal.price, d) if signal.price is not None else "market"
            case "Current":
                return fmt.price(self._current(row), d)
            case "Dev":
                return fmt.signed_price(self._deviation(row), d)
            case "State":
                return state_text(record.state)
            case "Bars":
                return str(record.bars_waited)
            case "Gate":
                refusal = _refusal(record)
                return refusal if refusal else gate_text(record.gate_verdict)
        if setup is None:
            return fmt.NONE
        match name:
            case "Entry":
                mark = "~" if setup.entry_kind == "next_open" else "@"
                return f"{mark}{fmt.price(setup.entry, d)}"
            case "Stop":
                return fmt.price(setup.stop, d)
            case "R":
                return fmt.price(setup.risk_points, d)
            case "Size":
                return fmt.qty(setup.qty, row.size_decimals)
            case "Risk $":
                return fmt.money(setup.risk_money)
        return ""

    def _color(self, row: _Row, name: str) -> QColor | None:
        record = row.record
        finished = not row.live
        match name:
            case "Dir":
                return theme.UP if record.signal.direction is Direction.LONG else theme.DOWN
            case "State":
                return STATE_COLORS[record.state]
            case "Gate":
                return theme.DOWN if _refusal(record) else gate_color(record.gate_verdict)
            case "Dev":
                return self._deviation_color(row)
        return theme.MUTED if finished else None

    def _deviation_color(self, row: _Row) -> QColor | None:
        deviation = self._deviation(row)
        if deviation is None or row.record.state not in STALE_CHECKED:
            return theme.MUTED
        allowed = self._max_deviation(row.record.signal.symbol, self._current(row) or 0.0)
        if allowed is not None and abs(deviation) > allowed + 1e-9:
            return theme.WARN
        return None

    def _background(self, row: _Row, name: str) -> QColor | None:
        if name == "State" and row.record.state is S.AWAITING_APPROVAL:
            return AWAITING_BG  # a pill (the panel's delegate): it stays on a selected row
        if self._flash.get(row.record.id, 0) % 2 == 1:
            return FLASH_BG
        return None

    def _tooltip(self, row: _Row, name: str) -> str | None:
        record = row.record
        match name:
            case "Symbol":
                notes = f"\n{record.signal.notes}" if record.signal.notes else ""
                return f"{record.id} from {record.signal.source}{notes}"
            case "State":
                return "\n".join(f"{fmt.local_time(step.ts)}  {state_text(step.state)}: "
                                 f"{step.reason}" for step in record.history)
            case "Gate":
                return (_refusal(record) or record.gate_verdict
                        or "Not judged yet: the gate looks at a setup")
            case "Dev":
                allowed = self._max_deviation(record.signal.symbol, self._current(row) or 0.0)
                return (None if allowed is None else
                        f"maximum deviation {allowed:,.{row.decimals}f} points")
            case "Stop" | "R" if record.setup is not None:
                return f"stop rule: {record.setup.stop_rule.replace('_', ' ')}"
            case "Entry" if record.setup is not None:
                setup = record.setup
                targets = ", ".join(f"{r:g}R {t:,.{row.decimals}f}"
                                    for r, t in zip(setup.target_r, setup.targets, strict=True))
                return f"{setup.entry_kind.replace('_', ' ')}; targets {targets}"
        return None
