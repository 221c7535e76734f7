"""A backtest's closed trades behind the Backtest dock's Trades tab: one row per trade in
the order they closed, sortable on every column through a QSortFilterProxyModel (``SORT_ROLE``
gives the raw value: numbers sort as numbers, a missing R below every R)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import fmt, theme
from workstation.model import Instrument
from workstation.trades import TradeRecord

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole
TIME_PATTERN = "%Y-%m-%d %H:%M"
COLUMNS = ("#", "Symbol", "Side", "Qty", "Entry time", "Entry", "Exit time", "Exit", "Stop",
           "Target", "R", "MFE R", "MAE R", "Net $", "Commission", "Held", "Exit by")
TEXT_COLUMNS = ("Symbol", "Side", "Exit by", "Entry time", "Exit time")
_TEXT = tuple(COLUMNS.index(name) for name in TEXT_COLUMNS)
_TIPS = {"Entry time": "Exchange (New York) time", "Exit time": "Exchange (New York) time",
         "R": "Result over the initial stop distance (before commission)",
         "Net $": "Realized P&L after commission", "Held": "Entry to exit"}
MISSING = float("-inf")  # sorts a trade without a stop (no R) below every R


def net_pnl(trade: TradeRecord) -> float:
    return trade.realized_pnl - trade.commission


def _sign_color(value: float | None) -> QColor | None:
    return None if value is None else theme.direction_color(value)


class BacktestTradesModel(QAbstractTableModel):
    def __init__(self, instruments: dict[str, Instrument]) -> None:
        super().__init__()
        self._instruments = instruments
        self._trades: list[TradeRecord] = []

    def set_trades(self, trades: Sequence[TradeRecord]) -> None:
        self.beginResetModel()
        self._trades = list(trades)
        self.endResetModel()

    def trade_at(self, row: int) -> TradeRecord | None:
        return self._trades[row] if 0 <= row < len(self._trades) else None

    def decimals(self, symbol: str) -> tuple[int, int]:
        """Price and size decimals of ``symbol`` (2 and 0 for one this app does not list)."""
        inst = self._instruments.get(symbol)
        return (inst.price_decimals, inst.size_decimals) if inst is not None else (2, 0)

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._trades)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return fmt.header_data(COLUMNS, section, orientation, role, left=TEXT_COLUMNS,
                               tips=_TIPS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        trade = self._trades[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, trade, column)
        if role == SORT_ROLE:
            return self._value(row, trade, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return fmt.LEFT if column in _TEXT else fmt.RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(trade, column)
        if role == Qt.ItemDataRole.FontRole and column not in _TEXT:
            return theme.MONO
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{trade.trade_id} · {trade.source}: gross "
                    f"{fmt.signed_money(trade.realized_pnl)}, exit by {trade.exit_reason}"
                    " (double-click: show it on a chart)")
        return None

    def _text(self, row: int, trade: TradeRecord, column: int) -> str:
        d, size = self.decimals(trade.symbol)
        texts = (str(row + 1), trade.symbol, trade.side.capitalize(), fmt.qty(trade.qty, size),
                 fmt.local_time(trade.entry_ts, TIME_PATTERN), fmt.price(trade.entry, d),
                 fmt.local_time(trade.exit_ts, TIME_PATTERN), fmt.price(trade.exit, d),
                 fmt.price(trade.stop, d), fmt.price(trade.target, d),
                 fmt.r_multiple(trade.r_multiple), fmt.r_multiple(trade.mfe_r),
                 fmt.r_multiple(trade.mae_r), fmt.signed_money(net_pnl(trade)),
                 fmt.money(trade.commission), fmt.duration(trade.duration_s),
                 trade.exit_reason.replace("_", "-"))
        return texts[column]

    @staticmethod
    def _value(row: int, trade: TradeRecord, column: int) -> object:
        def number(value: float | None) -> float:
            return MISSING if value is None else float(value)

        values = (row, trade.symbol, trade.side, trade.qty, trade.entry_ts, trade.entry,
                  trade.exit_ts, trade.exit, number(trade.stop), number(trade.target),
                  number(trade.r_multiple), number(trade.mfe_r), number(trade.mae_r),
                  net_pnl(trade), trade.commission, trade.duration_s, trade.exit_reason)
        return values[column]

    @staticmethod
    def _color(trade: TradeRecord, column: int) -> QColor | None:
        match COLUMNS[column]:
            case "Side":
                return theme.UP if trade.side == "long" else theme.DOWN
            case "R":
                return _sign_color(trade.r_multiple)
            case "MFE R":
                return _sign_color(trade.mfe_r)
            case "MAE R":
                return _sign_color(trade.mae_r)
            case "Net $":
                return _sign_color(net_pnl(trade))
            case "Exit by" | "#":
                return theme.MUTED
        return None
