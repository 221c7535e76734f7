"""Active and recently closed trades behind the Trades panel.

Which trades exist, and their entry, quantity, stop and target, come only from
journal-committed TradeChanged / TradeClosed events (invariant 4). The market
marks (last price, MFE, MAE) move on every tick without an event, so ``refresh``
runs once per frame and repaints only rows whose trade ``version`` moved, like
the watchlist. One row per trade: several entries on one symbol, each with its
own stop, are several rows. Both tables say which source placed the trade.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from ui.models.orders_model import source_text
from workstation.model import Instrument
from workstation.portfolio import AccountReset
from workstation.trades import ActiveTrade, TradeChanged, TradeClosed, TradeRecord

Index = QModelIndex | QPersistentModelIndex
Sample = tuple[int, float, float, float]

ACTIVE_COLUMNS = ("Symbol", "Side", "Qty", "Entry", "Current", "Stop", "Target", "Unreal $",
                  "R now", "MFE R", "MAE R", "Ticks to stop", "Source")
TICKS_TO_STOP = ACTIVE_COLUMNS.index("Ticks to stop")
ACTIVE_SOURCE = ACTIVE_COLUMNS.index("Source")
_ACTIVE_TIPS = {"Ticks to stop": "Ticks between the last price and the stop: red within 25% of R, "
                                 "amber within 50%, else green (4 / 8 ticks when there is no R)"}
RECENT_COLUMNS = ("Closed", "Symbol", "Side", "Qty", "Entry", "Exit", "R", "MFE R", "MAE R",
                  "Net $", "Exit by", "Source")
_RECENT_TEXT = ("Symbol", "Side", "Exit by", "Source")
_RECENT_TEXT_COLUMNS = tuple(RECENT_COLUMNS.index(name) for name in _RECENT_TEXT)
RECENT_LIMIT = 50
# without an R, fixed distances: a trade with no initial stop has no scale of its own
NO_R_DANGER_TICKS = 4
NO_R_NEAR_TICKS = 8
DANGER_FRACTION_R = 0.25
NEAR_FRACTION_R = 0.5


class Proximity(StrEnum):
    SAFE = "far from the stop"
    NEAR = "getting close to the stop"
    DANGER = "about to hit the stop"


PROXIMITY_BACKGROUND = {Proximity.SAFE: theme.SAFE_BG, Proximity.NEAR: theme.NEAR_BG,
                        Proximity.DANGER: theme.DANGER_BG}
PROXIMITY_TEXT = {Proximity.SAFE: theme.SAFE_TEXT, Proximity.NEAR: theme.NEAR_TEXT,
                  Proximity.DANGER: theme.DANGER_TEXT}


def stop_proximity(ticks_to_stop: float, r_ticks: float | None) -> Proximity:
    """Red within a quarter of R of the stop, amber within half, else green (4/8 ticks
    without an R): relative to R, so a wide-stop trade is not always 'safe'."""
    if r_ticks:
        danger, near = DANGER_FRACTION_R * r_ticks, NEAR_FRACTION_R * r_ticks
    else:
        danger, near = NO_R_DANGER_TICKS, NO_R_NEAR_TICKS
    if ticks_to_stop <= danger + 1e-9:
        return Proximity.DANGER
    if ticks_to_stop <= near + 1e-9:
        return Proximity.NEAR
    return Proximity.SAFE


def _mono(column: int) -> bool:
    return 2 <= column < ACTIVE_SOURCE


def _left(column: int) -> bool:
    return column < 2 or column == ACTIVE_SOURCE


def _sign_color(value: float | None) -> QColor | None:
    return None if value is None else theme.direction_color(value)


@dataclass(slots=True)
class _ActiveRow:
    live: ActiveTrade  # the tracker's object: marks move every tick
    committed: ActiveTrade  # a copy taken when its last committed event arrived
    decimals: int
    size_decimals: int
    shown_version: int = -1

    def view(self) -> ActiveTrade:
        """Committed orders-side fields with the live market marks."""
        live = self.live
        return replace(self.committed, last_price=live.last_price,
                       mfe_points=live.mfe_points, mae_points=live.mae_points)


class ActiveTradesModel(QAbstractTableModel):
    def __init__(self, instruments: dict[str, Instrument]) -> None:
        super().__init__()
        self._instruments = instruments
        self._rows: list[_ActiveRow] = []

    # -- structure ----------------------------------------------------------------------
    def apply(self, events: Iterable[object]) -> None:
        """Committed trade events, in order: open or update a row, or drop a closed one."""
        for event in events:
            if isinstance(event, TradeChanged):
                self._upsert(event.trade)
            elif isinstance(event, TradeClosed):
                self._remove(event.record.trade_id)
            elif isinstance(event, AccountReset):
                self.beginResetModel()
                self._rows.clear()
                self.endResetModel()

    def _upsert(self, trade: ActiveTrade) -> None:
        committed = replace(trade, samples=[])
        position = self.row_of(trade.trade_id)
        if position is not None:
            row = self._rows[position]
            row.live, row.committed, row.shown_version = trade, committed, -1
            return
        inst = self._instruments[trade.symbol]
        position = len(self._rows)
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.append(_ActiveRow(trade, committed, inst.price_decimals, inst.size_decimals,
                                     trade.version))
        self.endInsertRows()

    def _remove(self, trade_id: str) -> None:
        position = self.row_of(trade_id)
        if position is not None:
            self.beginRemoveRows(QModelIndex(), position, position)
            del self._rows[position]
            self.endRemoveRows()

    def row_of(self, trade_id: str) -> int | None:
        return next((i for i, row in enumerate(self._rows)
                     if row.committed.trade_id == trade_id), None)

    def trade_at(self, position: int) -> ActiveTrade | None:
        """The trade as shown: committed fields, live marks and excursion samples."""
        if not 0 <= position < len(self._rows):
            return None
        row = self._rows[position]
        return replace(row.view(), samples=row.live.samples)

    def version_at(self, position: int) -> int:
        """The live trade's version: it moves on every tick and every change."""
        return self._rows[position].live.version if 0 <= position < len(self._rows) else -1

    def trades(self) -> list[ActiveTrade]:
        return [row.view() for row in self._rows]

    # -- per frame ----------------------------------------------------------------------
    def refresh(self) -> int:
        """Emit dataChanged for trades whose marks moved since the last frame."""
        changed = 0
        last_column = len(ACTIVE_COLUMNS) - 1
        for position, row in enumerate(self._rows):
            if row.live.version == row.shown_version:
                continue
            row.shown_version = row.live.version
            self.dataChanged.emit(self.index(position, 0), self.index(position, last_column))
            changed += 1
        return changed

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ACTIVE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(ACTIVE_COLUMNS, section, orientation, role,
                               left=(*ACTIVE_COLUMNS[:2], "Source"), tips=_ACTIVE_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, row.view(), column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if _left(column) else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == TICKS_TO_STOP:
            proximity = self._proximity(row.view())
            return theme.WARN if proximity is None else PROXIMITY_TEXT[proximity]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row.view(), column)
        if role == Qt.ItemDataRole.BackgroundRole and column == TICKS_TO_STOP:
            proximity = self._proximity(row.view())
            return None if proximity is None else PROXIMITY_BACKGROUND[proximity]
        if role == Qt.ItemDataRole.FontRole and _mono(column):
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row.view(), column)
        return None

    @staticmethod
    def _proximity(trade: ActiveTrade) -> Proximity | None:
        ticks = trade.ticks_to_stop
        if ticks is None:
            return None
        r = trade.r_points
        return stop_proximity(ticks, r / trade.tick_size if r else None)

    @staticmethod
    def _text(row: _ActiveRow, trade: ActiveTrade, column: int) -> str:
        d = row.decimals
        match column:
            case 0:
                return trade.symbol
            case 1:
                return trade.side.capitalize()
            case 2:
                return fmt.qty(trade.qty, row.size_decimals)
            case 3:
                return fmt.price(trade.entry, d)
            case 4:
                return fmt.price(trade.last_price or None, d)
            case 5:
                return fmt.price(trade.stop, d)
            case 6:
                return fmt.price(trade.target, d)
            case 7:
                return fmt.signed_money(trade.unrealized_pnl)
            case 8:
                return fmt.r_multiple(trade.in_r(trade.current_points))
            case 9:
                return fmt.r_multiple(trade.in_r(trade.mfe_points))
            case 10:
                return fmt.r_multiple(trade.in_r(trade.mae_points))
            case 12:
                return source_text(trade.source, trade.signal_id)
        ticks = trade.ticks_to_stop
        return "no stop" if ticks is None else f"{ticks:,.0f}"

    @staticmethod
    def _color(trade: ActiveTrade, column: int) -> QColor | None:
        match column:
            case 1:
                return theme.UP if trade.direction > 0 else theme.DOWN
            case 4 | 8:
                return _sign_color(trade.current_points)
            case 7:
                return _sign_color(trade.unrealized_pnl)
            case 9:
                return _sign_color(trade.mfe_points)
            case 10:
                return _sign_color(trade.mae_points)
            case 12:
                return theme.MUTED
        return None

    def _tooltip(self, trade: ActiveTrade, column: int) -> str | None:
        r = trade.r_points
        decimals = self._instruments[trade.symbol].price_decimals
        if column in (8, 9, 10):
            points = (trade.current_points, trade.mfe_points, trade.mae_points)[column - 8]
            base = f"{points:+,.{decimals}f} points"
            return base + (f"; R = {r:,.{decimals}f} points" if r else "; no initial stop: no R")
        if column == TICKS_TO_STOP:
            proximity = self._proximity(trade)
            if proximity is None:
                return "No protective stop is working for this trade"
            scale = f"R = {r / trade.tick_size:,.0f} ticks" if r else "no R: 4 / 8 ticks"
            return f"{proximity} ({scale})"
        if column == 0:
            return f"{trade.trade_id} · {trade.source}"
        return None


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    record: TradeRecord
    samples: tuple[Sample, ...]


class RecentTradesModel(QAbstractTableModel):
    """The last few closed trades, newest first, so their excursion stays reviewable."""

    def __init__(self, instruments: dict[str, Instrument], limit: int = RECENT_LIMIT) -> None:
        super().__init__()
        self._instruments = instruments
        self._limit = limit
        self._rows: list[ClosedTrade] = []

    def apply(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, TradeClosed):
                self.beginInsertRows(QModelIndex(), 0, 0)
                self._rows.insert(0, ClosedTrade(event.record, event.samples))
                self.endInsertRows()
                if len(self._rows) > self._limit:
                    self.beginRemoveRows(QModelIndex(), self._limit, len(self._rows) - 1)
                    del self._rows[self._limit:]
                    self.endRemoveRows()

    def trade_at(self, position: int) -> ClosedTrade | None:
        return self._rows[position] if 0 <= position < len(self._rows) else None

    def row_of(self, trade_id: str) -> int | None:
        return next((i for i, c in enumerate(self._rows) if c.record.trade_id == trade_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(RECENT_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(RECENT_COLUMNS, section, orientation, role,
                               left=_RECENT_TEXT)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        record = self._rows[index.row()].record
        column = index.column()
        net = record.realized_pnl - record.commission
        if role == Qt.ItemDataRole.DisplayRole:
            inst = self._instruments[record.symbol]
            d = inst.price_decimals
            texts = (fmt.local_time(record.exit_ts), record.symbol, record.side.capitalize(),
                     fmt.qty(record.qty, inst.size_decimals), fmt.price(record.entry, d),
                     fmt.price(record.exit, d), fmt.r_multiple(record.r_multiple),
                     fmt.r_multiple(record.mfe_r), fmt.r_multiple(record.mae_r),
                     fmt.signed_money(net), record.exit_reason.replace("_", "-"),
                     source_text(record.source, record.signal_id))
            return texts[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column in _RECENT_TEXT_COLUMNS else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            match column:
                case 2:
                    return theme.UP if record.side == "long" else theme.DOWN
                case 6:
                    return _sign_color(record.r_multiple)
                case 7:
                    return _sign_color(record.mfe_r)
                case 8:
                    return _sign_color(record.mae_r)
                case 9:
                    return _sign_color(net)
                case 11:
                    return theme.MUTED
            return None
        if role == Qt.ItemDataRole.FontRole and column not in _RECENT_TEXT_COLUMNS:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{record.trade_id}: gross {fmt.signed_money(record.realized_pnl)}, "
                    f"commission {fmt.money(record.commission)}, held "
                    f"{fmt.duration(record.duration_s)}, exit by {record.exit_reason}")
        return None
