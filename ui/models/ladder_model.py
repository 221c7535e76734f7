"""The price ladder's rows: one per tick around the last trade of one symbol, with the bid
and ask size at the touch, the volume traded at each price this session, the trader's
working orders (quantity per price, buy and sell apart) and the position's average price.

Rows are whole ticks of the instrument's grid (a price is its tick index, never a float
key). ``refresh`` runs once a frame: it compares what the rows showed with the market, the
volume counts, the orders and the position, and emits dataChanged only for the rows that
changed, so a busy market costs a few rows' repaint, never the whole table's. The range
of prices moves (``top``) only when the last trade nears either end of it.

Working orders come from committed journal events (invariant 4), as the Orders panel's do;
the position from the broker once every fill is committed."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ui import fmt, theme
from ui.ladder_trading import click_type
from ui.panels.chart_overlay import order_label, order_price
from workstation.market import MarketState
from workstation.model import Instrument
from workstation.orders import OrderSide, OrderType, OrderUpdate
from workstation.portfolio import PositionView
from workstation.volume_profile import VolumeAtPrice

COLUMNS = ("Buy", "Bid", "Price", "Ask", "Sell", "Volume")
BUY, BID, PRICE, ASK, SELL, VOLUME = range(len(COLUMNS))
TIPS = {"Buy": "Your working buy orders at this price (click to cancel)",
        "Bid": "Bid size at the touch; click: buy limit here (a buy stop above the ask)",
        "Price": "Price (the last trade highlighted; your average price marked)",
        "Ask": "Ask size at the touch; click: sell limit here (a sell stop below the bid)",
        "Sell": "Your working sell orders at this price (click to cancel)",
        "Volume": "Volume traded at this price this session"}
HALF = 100  # rows above and below the price the range is centred on
ROWS = 2 * HALF + 1
EDGE = 10  # the range moves when the last trade comes this close to either end
QUARTER = ROWS // 4  # ... and puts it this many rows in from that end
MANY = 40  # more changed rows than this: one dataChanged for the whole table
Index = QModelIndex | QPersistentModelIndex
SHARE_ROLE = Qt.ItemDataRole.UserRole + 1  # a volume over the range's largest (its bar)

# colors that mean something: the bid side blue, the ask side red, own orders solid
BID_SIDE = QColor(59, 130, 246, 38)
BID_TOUCH = QColor(59, 130, 246, 120)
ASK_SIDE = QColor(239, 68, 68, 38)
ASK_TOUCH = QColor(239, 68, 68, 120)
BUY_ORDER = QColor("#1d4ed8")
SELL_ORDER = QColor("#b91c1c")
BID_TEXT = QColor("#93c5fd")
ASK_TEXT = QColor("#fca5a5")
ORDER_TEXT = QColor("#ffffff")
LAST = theme.WARN
LONG_AVG = theme.SAFE_BG
SHORT_AVG = theme.DANGER_BG
BOLD = QFont(theme.MONO)
BOLD.setBold(True)


class Moved(Enum):
    """What ``refresh`` did to the range of prices."""

    NONE = 0
    ANCHORED = 1  # first placed (a new symbol, or its first price): centre the view
    SHIFTED = 2  # moved by ``LadderModel.shift`` rows: the view follows to stay still


class LadderModel(QAbstractTableModel):
    def __init__(self, market: MarketState, volume: VolumeAtPrice,
                 instruments: dict[str, Instrument],
                 positions: Callable[[], list[PositionView]],
                 committed: Callable[[], bool]) -> None:
        """``committed``: True when every fill the broker made is in the store (the
        position waits for it)."""
        super().__init__()
        self._market = market
        self._volume = volume
        self._instruments = instruments
        self._positions = positions
        self._committed = committed
        self.working: dict[str, OrderUpdate] = {}  # committed working orders, every symbol
        self.symbol = ""
        self.inst: Instrument | None = None
        self.top = 0  # tick index of row 0 (prices fall down the rows)
        self.anchored = False
        self.shift = 0  # rows the last SHIFTED move added to every row
        self.position: PositionView | None = None
        self._orders: dict[tuple[OrderSide, int], list[OrderUpdate]] = {}
        self._qty: dict[tuple[OrderSide, int], float] = {}
        self._orders_dirty = True
        self._last: int | None = None
        self._bid: int | None = None
        self._ask: int | None = None
        self._sizes = (0.0, 0.0)
        self._avg: int | None = None
        self._volume_version = -2
        self._shown_volume = [0.0] * ROWS
        self.most_volume = 0.0  # the largest volume of a row in the range (the bars' scale)

    # -- structure ------------------------------------------------------------------
    def set_symbol(self, symbol: str) -> None:
        """Show ``symbol``: everything is read again and the range placed at its price."""
        if symbol == self.symbol or symbol not in self._instruments:
            return
        self.beginResetModel()
        self.symbol, self.inst = symbol, self._instruments[symbol]
        self.anchored = False
        self.position = None
        self._last = self._bid = self._ask = self._avg = None
        self._sizes = (0.0, 0.0)
        self._volume_version = -2
        self._shown_volume = [0.0] * ROWS
        self.most_volume = 0.0
        self._index_orders()
        self.endResetModel()

    def tick_index(self, price: float) -> int:
        assert self.inst is not None
        return round(price / self.inst.tick_size)

    def price_at(self, row: int) -> float:
        assert self.inst is not None
        return self.inst.round_price((self.top - row) * self.inst.tick_size)

    def row_of(self, price: float) -> int | None:
        row = self.top - self.tick_index(price)
        return row if 0 <= row < ROWS else None

    def last_row(self) -> int | None:
        """The row of the last trade (else of the quote's middle), if there is one."""
        return None if self._last is None else self._row(self._last)

    def orders_at(self, row: int, side: OrderSide | None = None) -> list[OrderUpdate]:
        """The working orders at ``row``'s price (one side, or both)."""
        index = self.top - row
        sides = (side,) if side is not None else (OrderSide.BUY, OrderSide.SELL)
        return [o for s in sides for o in self._orders.get((s, index), [])]

    # -- Qt model API ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.inst is None else ROWS

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and \
                role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        return fmt.header_data(COLUMNS, section, orientation, role, left=(), tips=TIPS)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self.inst is None:
            return None
        row, column = index.row(), index.column()
        tick = self.top - row
        if role == Qt.ItemDataRole.DisplayRole:
            if column == VOLUME:  # as counted at the last frame
                volume = self._shown_volume[row]
                return fmt.qty(volume, self.inst.size_decimals) if volume else ""
            return self._text(tick, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(tick, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(tick, column)
        if role == Qt.ItemDataRole.FontRole:
            return BOLD if column == PRICE and tick in (self._last, self._avg) else theme.MONO
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (Qt.AlignmentFlag.AlignCenter if column in (BUY, SELL)
                    else fmt.LEFT if column == VOLUME else fmt.RIGHT)  # the figure on its bar
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row, tick, column)
        if role == SHARE_ROLE and column == VOLUME:
            most = self.most_volume
            return self._shown_volume[row] / most if most > 0 else 0.0
        return None

    def _text(self, tick: int, column: int) -> str:
        assert self.inst is not None
        sizes = self.inst.size_decimals
        if column == PRICE:
            return fmt.price(tick * self.inst.tick_size, self.inst.price_decimals)
        if column == BID:
            return fmt.qty(self._sizes[0], sizes) if tick == self._bid else ""
        if column == ASK:
            return fmt.qty(self._sizes[1], sizes) if tick == self._ask else ""
        side = OrderSide.BUY if column == BUY else OrderSide.SELL
        qty = self._qty.get((side, tick))
        return fmt.qty(qty, sizes) if qty else ""

    def _background(self, tick: int, column: int) -> QColor | None:
        if column == BUY and (OrderSide.BUY, tick) in self._qty:
            return BUY_ORDER
        if column == SELL and (OrderSide.SELL, tick) in self._qty:
            return SELL_ORDER
        if column == BID and self._bid is not None and tick <= self._bid:
            return BID_TOUCH if tick == self._bid else BID_SIDE
        if column == ASK and self._ask is not None and tick >= self._ask:
            return ASK_TOUCH if tick == self._ask else ASK_SIDE
        if column == PRICE:
            if tick == self._last:
                return LAST
            if tick == self._avg and self.position is not None:
                return LONG_AVG if self.position.qty > 0 else SHORT_AVG
        return None

    def _foreground(self, tick: int, column: int) -> QColor | None:
        if column == PRICE and tick == self._last:
            return theme.ON_BRIGHT
        if column == BID:
            return BID_TEXT
        if column == ASK:
            return ASK_TEXT
        if column in (BUY, SELL) and (OrderSide.BUY if column == BUY else OrderSide.SELL,
                                      tick) in self._qty:
            return ORDER_TEXT
        return None

    def _tip(self, row: int, tick: int, column: int) -> str | None:
        assert self.inst is not None
        d = self.inst.price_decimals
        price = tick * self.inst.tick_size
        if column in (BUY, SELL):
            side = OrderSide.BUY if column == BUY else OrderSide.SELL
            orders = self.orders_at(row, side)
            if orders:
                return "Click to cancel: " + "; ".join(order_label(o, d) for o in orders)
            return None
        if column in (BID, ASK):
            side = OrderSide.BUY if column == BID else OrderSide.SELL
            kind = click_type(side, price, self._market.get(self.symbol))
            name = "stop" if kind is OrderType.STOP else "limit"
            return f"Click: {side.value} {name} @ {price:,.{d}f}"
        if column == PRICE and tick == self._avg and self.position is not None:
            return f"Your average price: {self.position.avg_price:,.{d}f}"
        return None

    # -- orders (committed journal events) --------------------------------------------
    def apply(self, events: list[object]) -> None:
        """Committed trading events: working orders come and go."""
        for event in events:
            if isinstance(event, OrderUpdate) and event.order_id:
                if event.status.terminal:
                    self.working.pop(event.order_id, None)
                else:
                    self.working[event.order_id] = event
                self._orders_dirty |= event.symbol == self.symbol

    def _index_orders(self) -> None:
        self._orders, self._qty = {}, {}
        if self.inst is None:
            return
        for order in self.working.values():
            price = order_price(order)
            if order.symbol != self.symbol or price is None:
                continue
            key = (order.side, self.tick_index(price))
            self._orders.setdefault(key, []).append(order)
            self._qty[key] = self._qty.get(key, 0.0) + order.remaining
        self._orders_dirty = False

    # -- per frame --------------------------------------------------------------------
    def refresh(self) -> Moved:
        """Read the market, volume, orders and position; repaint the rows that changed."""
        if self.inst is None:
            return Moved.NONE
        state = self._market.get(self.symbol)
        last = self.tick_index(state.last) if state.last > 0 else None
        bid = self.tick_index(state.bid) if state.bid > 0 else None
        ask = self.tick_index(state.ask) if state.ask > 0 else None
        centre = last if last is not None else (
            (bid + ask) // 2 if bid is not None and ask is not None else None)
        moved = self._place(centre)
        ticks: set[int] = set()
        if last != self._last:
            ticks.update(t for t in (last, self._last) if t is not None)
            self._last = last
        sizes = (state.bid_size, state.ask_size)
        everything = moved is not Moved.NONE
        for old, new in ((self._bid, bid), (self._ask, ask)):
            if old == new:
                continue
            if old is not None and new is not None:  # the shading moved: rows between
                low, high = max(min(old, new), self.top - ROWS), min(max(old, new), self.top)
                ticks.update(range(low, high + 1))
            else:
                everything = True  # a side's shading appeared or went
        if sizes != self._sizes:
            ticks.update(t for t in (bid, ask) if t is not None)
        self._bid, self._ask, self._sizes = bid, ask, sizes
        if self._orders_dirty:
            before = {k for _, k in self._qty}
            self._index_orders()
            ticks |= before | {k for _, k in self._qty}
        ticks |= self._position_ticks()
        rows = {self.top - t for t in ticks} | self._volume_rows()
        if everything:
            rows = set(range(ROWS))
        self._emit([r for r in rows if 0 <= r < ROWS])
        return moved

    def _place(self, centre: int | None) -> Moved:
        """Put the range around ``centre`` the first time, and again when the last trade
        nears an end of it."""
        if centre is None:
            return Moved.NONE
        if not self.anchored:
            self.anchored, self.top = True, centre + HALF
            self._shown_volume = [0.0] * ROWS
            return Moved.ANCHORED
        row = self.top - centre
        if EDGE <= row < ROWS - EDGE:
            return Moved.NONE
        # the last trade a quarter in from the end it crossed: the range moves as little
        # as it can, so the rows in view can stay where they are
        top = centre + (QUARTER if row < EDGE else ROWS - 1 - QUARTER)
        self.shift, self.top = top - self.top, top
        self._shown_volume = [0.0] * ROWS
        return Moved.SHIFTED

    def _position_ticks(self) -> set[int]:
        if not self._committed():
            return set()
        view = next((p for p in self._positions() if p.symbol == self.symbol and p.qty), None)
        avg = self.tick_index(view.avg_price) if view is not None else None
        side = (view.qty > 0) if view is not None else None
        was = (self.position.qty > 0) if self.position is not None else None
        changed = {t for t in (avg, self._avg) if t is not None} if (
            (avg, side) != (self._avg, was)) else set()
        self.position, self._avg = view, avg
        return changed

    def _volume_rows(self) -> set[int]:
        version = self._volume.version(self.symbol)
        if version == self._volume_version:
            return set()
        self._volume_version = version
        changed = set()
        shown = self._shown_volume
        for row in range(ROWS):
            volume = self._volume.at(self.symbol, self.top - row)
            if volume != shown[row]:
                shown[row] = volume
                changed.add(row)
        most = max(shown)
        if most != self.most_volume:  # every bar is drawn against the largest: the column
            self.most_volume = most
            self.dataChanged.emit(self.index(0, VOLUME), self.index(ROWS - 1, VOLUME))
        return changed

    def _row(self, tick: int) -> int | None:
        row = self.top - tick
        return row if 0 <= row < ROWS else None

    def _emit(self, rows: list[int]) -> None:
        last = len(COLUMNS) - 1
        if len(rows) > MANY:
            self.dataChanged.emit(self.index(0, 0), self.index(ROWS - 1, last))
            return
        for row in sorted(rows):
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))
