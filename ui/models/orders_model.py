"""Working orders and done-order history behind the Orders panel.

Both tables are fed only journal-committed OrderUpdate and Fill events
(invariant 4). An order is a working row while its status is live and moves to
the top of the history when it is done (filled, canceled, rejected, expired),
with its fills and the broker's reason. Each row says which source placed the
order: manual, demo, a strategy instance, or a signal (its id and its source).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.model import Instrument
from workstation.orders import Fill, OrderStatus, OrderType, OrderUpdate

Index = QModelIndex | QPersistentModelIndex

WORKING_COLUMNS = ("Time", "Symbol", "Side", "Type", "Qty", "Price", "TIF", "Status", "Id",
                   "Source")
# done orders read as one phrase ("Buy 1 NQ stop 20,993.50"): room for fills and reasons
HISTORY_COLUMNS = ("Time", "Order", "Status", "Fills", "Reason",
                   "Source")  # the id is in the tooltip
HISTORY_LIMIT = 5_000
SOURCE_SAMPLE = "sig-999 · strategy-name"  # what a Source column is sized for
_TEXT_COLUMNS = {"Symbol", "Side", "Type", "TIF", "Status", "Fills", "Reason", "Order", "Id",
                 "Source"}
_NUMBER_COLUMNS = {"Time", "Qty", "Price"}
TYPE_NAMES = {OrderType.MARKET: "market", OrderType.LIMIT: "limit", OrderType.STOP: "stop",
              OrderType.STOP_LIMIT: "stop-limit", OrderType.TRAILING_STOP: "trailing"}
_STATUS_COLORS = {OrderStatus.FILLED: theme.NEUTRAL, OrderStatus.CANCELED: theme.MUTED,
                  OrderStatus.EXPIRED: theme.MUTED, OrderStatus.REJECTED: theme.DOWN,
                  OrderStatus.PARTIALLY_FILLED: theme.WARN, OrderStatus.ACCEPTED: theme.ACCENT,
                  OrderStatus.NEW: theme.MUTED}


def status_text(status: OrderStatus) -> str:
    return "partial" if status is OrderStatus.PARTIALLY_FILLED else status.value


def source_text(source: str, signal_id: str | None) -> str:
    """Who placed it: "manual", "demo", a strategy instance, or "sig-3 · <its source>"."""
    return f"{signal_id} · {source}" if signal_id else source


class _OrderTable(QAbstractTableModel):
    """Shared columns: each row is the order's latest committed update."""

    columns: tuple[str, ...] = ()

    def __init__(self, instruments: dict[str, Instrument]) -> None:
        super().__init__()
        self._instruments = instruments
        self._rows: list[OrderUpdate] = []

    def _update_at(self, position: int) -> OrderUpdate:
        return self._rows[position]

    def order_at(self, position: int) -> OrderUpdate | None:
        return self._update_at(position) if 0 <= position < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(self.columns, section, orientation, role, left=_TEXT_COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        update = self._update_at(index.row())
        name = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(update, name)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if name in _TEXT_COLUMNS else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(update, name)
        if role == Qt.ItemDataRole.FontRole and name in _NUMBER_COLUMNS:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(update, name)
        return None

    def _text(self, update: OrderUpdate, name: str) -> str:
        inst = self._instruments.get(update.symbol)
        d = inst.price_decimals if inst else 2
        size = inst.size_decimals if inst else 0
        intent = update.intent
        match name:
            case "Time":
                return fmt.local_time(update.ts)
            case "Symbol":
                return update.symbol
            case "Side":
                return update.side.value.capitalize()
            case "Type":
                if update.type is OrderType.TRAILING_STOP and intent.trail is not None:
                    return f"trailing {intent.trail:g} {intent.trail_unit}"
                return TYPE_NAMES[update.type]
            case "Qty":  # "filled/qty" once part of it has filled
                if update.filled_qty:
                    return f"{fmt.qty(update.filled_qty, size)}/{fmt.qty(update.qty, size)}"
                return fmt.qty(update.qty, size)
            case "Price":  # a stop-limit shows its trigger, then its limit
                return self._prices(update, d) or fmt.NONE
            case "Order":
                prices = self._prices(update, d)
                kind = self._text(update, "Type")
                return (f"{update.side.value.capitalize()} {fmt.qty(update.qty, size)} "
                        f"{update.symbol} {kind}" + (f" {prices}" if prices else ""))
            case "TIF":
                return intent.tif.value.upper()
            case "Status":
                return status_text(update.status)
            case "Reason":  # "filled" says nothing the status does not
                return "" if update.reason == update.status.value else update.reason
            case "Id":
                return update.client_order_id
            case "Source":
                return source_text(intent.source, intent.signal_id)
        return ""

    @staticmethod
    def _prices(update: OrderUpdate, decimals: int) -> str:
        prices = [p for p in (update.stop_price, update.limit_price) if p is not None]
        return " / ".join(fmt.price(p, decimals) for p in prices)

    def _color(self, update: OrderUpdate, name: str) -> QColor | None:
        if name in ("Side", "Order"):
            return theme.direction_color(update.side.sign)
        if name == "Status":
            return _STATUS_COLORS.get(update.status)
        if name == "Reason" and update.status is OrderStatus.REJECTED:
            return theme.DOWN
        if name in ("Id", "Time", "Source"):
            return theme.MUTED
        return None

    def _tooltip(self, update: OrderUpdate, name: str) -> str | None:
        if name in ("Id", "Order"):
            parent = f", leg of {update.intent.parent_id}" if update.intent.parent_id else ""
            return (f"{update.client_order_id} (broker id {update.order_id or 'none'}), "
                    f"source {update.intent.source}{parent}")
        if name == "Reason":
            return update.reason
        if name == "Price" and update.type is OrderType.STOP_LIMIT:
            return "stop trigger / limit price"
        return None


class WorkingOrdersModel(_OrderTable):
    columns = WORKING_COLUMNS

    def __init__(self, instruments: dict[str, Instrument]) -> None:
        super().__init__(instruments)
        self._placed: dict[str, int] = {}  # order id -> when it was first seen working

    def apply(self, events: Iterable[object]) -> None:
        for event in events:
            if not isinstance(event, OrderUpdate) or not event.order_id:
                continue
            position = self.row_of(event.order_id)
            if event.status.terminal:
                if position is not None:
                    self.beginRemoveRows(QModelIndex(), position, position)
                    del self._rows[position]
                    self._placed.pop(event.order_id, None)
                    self.endRemoveRows()
            elif position is not None:
                self._rows[position] = event
                self.dataChanged.emit(self.index(position, 0),
                                      self.index(position, len(self.columns) - 1))
            else:
                end = len(self._rows)
                self.beginInsertRows(QModelIndex(), end, end)
                self._rows.append(event)
                self._placed[event.order_id] = event.ts
                self.endInsertRows()

    def row_of(self, order_id: str) -> int | None:
        return next((i for i, u in enumerate(self._rows) if u.order_id == order_id), None)

    def _text(self, update: OrderUpdate, name: str) -> str:
        if name == "Time":  # working since it was placed, whatever changed later
            return fmt.local_time(self._placed.get(update.order_id, update.ts))
        return super()._text(update, name)


class OrderHistoryModel(_OrderTable):
    """Done orders, newest first (row 0 is the last one stored)."""

    columns = HISTORY_COLUMNS

    def __init__(self, instruments: dict[str, Instrument], limit: int = HISTORY_LIMIT) -> None:
        super().__init__(instruments)
        self._limit = limit
        self._fills: dict[str, list[Fill]] = {}

    def _update_at(self, position: int) -> OrderUpdate:
        return self._rows[len(self._rows) - 1 - position]

    def apply(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, Fill):
                self._fills.setdefault(event.order_id, []).append(event)
            elif isinstance(event, OrderUpdate) and event.status.terminal:
                self.beginInsertRows(QModelIndex(), 0, 0)
                self._rows.append(event)
                self.endInsertRows()
        extra = len(self._rows) - self._limit
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), self._limit, len(self._rows) - 1)
            for update in self._rows[:extra]:
                self._fills.pop(update.order_id, None)
            del self._rows[:extra]
            self.endRemoveRows()

    def fills_of(self, order_id: str) -> list[Fill]:
        return self._fills.get(order_id, [])

    def _text(self, update: OrderUpdate, name: str) -> str:
        if name != "Fills":
            return super()._text(update, name)
        inst = self._instruments.get(update.symbol)
        d = inst.price_decimals if inst else 2
        size = inst.size_decimals if inst else 0
        return ", ".join(f"{fmt.qty(f.qty, size)} @ {fmt.price(f.price, d)}"
                         for f in self.fills_of(update.order_id)) or fmt.NONE

    def _tooltip(self, update: OrderUpdate, name: str) -> str | None:
        if name == "Fills":
            fills = self.fills_of(update.order_id)
            if not fills:
                return "No fills"
            return "\n".join(f"{f.fill_id} {fmt.local_time(f.ts)} ET: {f.side} {f.qty:g} @ "
                             f"{f.price:g}, commission {fmt.money(f.commission)}"
                             for f in fills)
        return super()._tooltip(update, name)
