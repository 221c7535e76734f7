"""The price ladder (DOM) dock: a vertical ladder of prices around the last trade of the
chart's symbol. A click on the Bid column buys at that price, on the Ask column sells (a
limit, or a stop through the market); a click on an own order cancels it (a right click
lists them). The quantity comes from the presets or the spin box, entries carry the ATM
bracket in ticks, and every command goes through the router (ui/ladder_trading.py).

Its hotkeys (centre, flatten, cancel all) are registry actions that work while the ladder
has the focus: there they win over the window's keys of the same name (F follows the
chart elsewhere, flattens here)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSettings,
    Qt,
)
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from ui.ladder_trading import Atm, LadderTrading, Said
from ui.models.ladder_model import (
    ASK,
    BID,
    BUY,
    PRICE,
    SELL,
    SHARE_ROLE,
    VOLUME,
    LadderModel,
    Moved,
)
from ui.panels.chart_overlay import order_label
from ui.panels.tables import fit_columns, make_table
from ui.panels.widgets import action_button, show_status
from workstation.orders import OrderSide

Notify = Callable[[str, bool], None]
PRESETS = (1, 2, 5, 10)
LADDER_ROW = 18  # px: 9 pt monospace reads at this height, and a laptop shows more rows
KEEP_IN = 2  # rows: auto-centre when the last trade comes this close to an edge
MAX_QTY = 9_999
VOLUME_BAR = QColor(138, 150, 165, 70)


class VolumeBars(QStyledItemDelegate):
    """The Volume column as a histogram: a bar as long as the row's share of the largest
    volume in the range, the figure over it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        share = index.data(SHARE_ROLE) or 0.0
        if share > 0:
            bar = option.rect.adjusted(1, 2, -1, -2)  # type: ignore[attr-defined]
            bar.setWidth(max(1, round(bar.width() * share)))
            painter.fillRect(bar, VOLUME_BAR)
        super().paint(painter, option, index)


class LadderPanel(QWidget):
    def __init__(self, model: LadderModel, trading: LadderTrading, notify: Notify,
                 flatten: Callable[[str], tuple[str, bool]], atm: Atm,
                 price_sample: str = "99,999.99", parent: QWidget | None = None) -> None:
        """``flatten(symbol)``: the window's flatten (it tells the status bar), returning
        what it said; ``atm``: the bracket entries start with (the settings' default)."""
        super().__init__(parent)
        self.setObjectName("ladderPanel")
        self.model = model
        self.trading = trading
        self._notify = notify
        self._flatten = flatten
        self._keys: dict[str, QAction] = {}
        self.position_text = ""  # the header's position, as plain text
        self.symbol_label = QLabel(self)
        self.symbol_label.setObjectName("ladderSymbol")
        self.symbol_label.setStyleSheet("font-weight: bold; padding: 0 4px")
        self.position_label = QLabel(fmt.NONE, self)
        self.position_label.setObjectName("ladderPosition")
        self.position_label.setFont(theme.MONO)
        self.position_label.setTextFormat(Qt.TextFormat.RichText)
        self.position_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                          QSizePolicy.Policy.Preferred)
        self.table = make_table(model, "ladderTable", self)
        self._set_up_table(price_sample)
        self.qty = QDoubleSpinBox(self)
        self.qty.setObjectName("ladderQty")
        self.qty.setToolTip("Quantity of each order the ladder sends (on the symbol's lot "
                            "size: 0.0001 BTC, 1 contract)")
        self._fit_qty(1.0)
        self.presets: dict[int, QToolButton] = {}
        self.atm_box = QCheckBox("ATM", self)
        self.atm_box.setObjectName("ladderAtm")
        self.atm_box.setToolTip("Entries carry a stop and a target this many ticks from the "
                                "fill (orders that reduce the position carry none)")
        self.stop_ticks = self._ticks_box("ladderStopTicks", "Stop-loss ticks from the fill "
                                          "(0: none)")
        self.target_ticks = self._ticks_box("ladderTargetTicks", "Take-profit ticks from the "
                                            "fill (0: none)")
        self.auto_centre = QCheckBox("Auto-centre", self)
        self.auto_centre.setObjectName("ladderAutoCentre")
        self.auto_centre.setToolTip("Keep the last trade in view (never while the mouse is "
                                    "over the ladder); off, the prices stay where they are")
        self.auto_centre.setChecked(True)
        self.footer = QLabel(self)
        self.footer.setObjectName("ladderFooter")
        self.footer.setWordWrap(True)
        self.footer.hide()
        self._buttons = QHBoxLayout()
        self._build_layout()
        self.set_atm(atm)
        self.qty.valueChanged.connect(self._check_preset)
        self._check_preset(self.qty.value())
        self.table.clicked.connect(self._on_clicked)
        self.table.customContextMenuRequested.connect(self._on_context_menu)

    # -- building -----------------------------------------------------------------------
    def _set_up_table(self, price_sample: str) -> None:
        table = self.table
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setAlternatingRowColors(False)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setMouseTracking(True)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        table.verticalHeader().setDefaultSectionSize(LADDER_ROW)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        size = "9,999"
        fit_columns(table, ["999", size, price_sample, size, "999", "99,999"],
                    mono=range(6))
        table.setMinimumHeight(LADDER_ROW * 5)
        table.setItemDelegateForColumn(VOLUME, VolumeBars(table))

    def _ticks_box(self, name: str, tip: str) -> QSpinBox:
        box = QSpinBox(self)
        box.setObjectName(name)
        box.setRange(0, 9_999)
        box.setSuffix(" t")
        box.setToolTip(tip)
        return box

    def _build_layout(self) -> None:
        """Short rows over the table (a laptop's left column is under 400 px wide): the
        symbol and its position; the quantity; the bracket; the commands."""
        self.setStyleSheet("#ladderPanel QToolButton { padding: 1px 5px; }"
                           "#ladderPanel QToolButton#button_ladder_flatten { color: #fca5a5; "
                           "border-color: #7f1d1d; }")
        head = QHBoxLayout()
        head.setContentsMargins(4, 2, 4, 0)
        head.addWidget(self.symbol_label)
        head.addWidget(self.position_label, 1)
        qty = QHBoxLayout()
        qty.setContentsMargins(4, 0, 4, 0)
        qty.setSpacing(2)
        qty.addWidget(QLabel("Qty", self))
        for preset in PRESETS:
            button = QToolButton(self)
            button.setText(str(preset))
            button.setObjectName(f"ladderQty{preset}")
            button.setToolTip(f"Quantity {preset}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the ladder keeps its hotkeys
            button.setCheckable(True)  # checked while it is the quantity
            button.clicked.connect(lambda _=False, q=preset: self.qty.setValue(q))
            qty.addWidget(button)
            self.presets[preset] = button
        qty.addWidget(self.qty)
        qty.addStretch(1)
        commands = QHBoxLayout()
        commands.setContentsMargins(4, 0, 4, 0)
        self._buttons.setSpacing(2)
        commands.addLayout(self._buttons)
        commands.addStretch(1)
        commands.addWidget(self.auto_centre)
        atm = QHBoxLayout()
        atm.setContentsMargins(4, 0, 4, 0)
        atm.setSpacing(4)
        atm.addWidget(self.atm_box)
        atm.addWidget(QLabel("Stop", self))
        atm.addWidget(self.stop_ticks)
        atm.addWidget(QLabel("Target", self))
        atm.addWidget(self.target_ticks)
        atm.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(qty)
        layout.addLayout(atm)
        layout.addLayout(commands)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.footer)

    def _check_preset(self, qty: float) -> None:
        for preset, button in self.presets.items():
            button.setChecked(preset == qty)

    def use_actions(self, actions: Iterable[QAction]) -> None:
        """The ladder's registered actions: a button each, and their keys while the ladder
        has the focus (accepted before the window's shortcuts can claim them)."""
        for action in actions:
            self.addAction(action)
            button = action_button(self, self._buttons, action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            keys = action.shortcut().toString()
            if keys:
                self._keys[keys] = action
        for widget in (self.table, self.atm_box, self.auto_centre):
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and \
                isinstance(event, QKeyEvent):
            action = self._keys.get(QKeySequence(event.keyCombination()).toString())
            if action is not None and action.isEnabled():
                event.accept()
                if kind == QEvent.Type.KeyPress:
                    action.trigger()
                return True
        return super().eventFilter(watched, event)

    # -- settings -------------------------------------------------------------------------
    def atm(self) -> Atm:
        return Atm(self.atm_box.isChecked(), self.stop_ticks.value(), self.target_ticks.value())

    def set_atm(self, atm: Atm) -> None:
        self.atm_box.setChecked(atm.on)
        self.stop_ticks.setValue(atm.stop_ticks)
        self.target_ticks.setValue(atm.target_ticks)

    def save(self, settings: QSettings) -> None:
        atm = self.atm()
        for key, value in (("qty", self.qty.value()), ("atm", atm.on),
                           ("stop_ticks", atm.stop_ticks), ("target_ticks", atm.target_ticks),
                           ("auto_centre", self.auto_centre.isChecked())):
            settings.setValue(f"ladder/{key}", value)

    def load(self, settings: QSettings) -> None:
        """What :meth:`save` kept; a value that is not a number keeps the default."""
        def number(key: str, default: int) -> int:
            try:
                return int(settings.value(f"ladder/{key}", default))
            except (TypeError, ValueError):
                return default

        def flag(key: str, default: bool) -> bool:
            return str(settings.value(f"ladder/{key}", default)).lower() in ("true", "1")

        atm = self.atm()
        with contextlib.suppress(TypeError, ValueError):  # not a number: the default stays
            self.qty.setValue(float(settings.value("ladder/qty", self.qty.value())))
        self.set_atm(Atm(flag("atm", atm.on), number("stop_ticks", atm.stop_ticks),
                         number("target_ticks", atm.target_ticks)))
        self.auto_centre.setChecked(flag("auto_centre", True))

    # -- what is shown ----------------------------------------------------------------
    def set_symbol(self, symbol: str) -> None:
        self.model.set_symbol(symbol)
        self.symbol_label.setText(symbol)
        if self.model.inst is not None:
            self._fit_qty(self.model.inst.lot_size)
        self.refresh()

    def _fit_qty(self, lot: float) -> None:
        """The quantity box on the lot grid: whole contracts for NQ, 0.0001 BTC for
        BTC/USD; a quantity kept from another symbol is brought onto it."""
        decimals = max(0, -math.floor(math.log10(lot))) if 0 < lot < 1 else 0
        self.qty.setDecimals(decimals)
        self.qty.setRange(lot, MAX_QTY)
        self.qty.setSingleStep(lot)
        self.qty.setValue(max(lot, round(self.qty.value() / lot) * lot))

    def refresh(self) -> None:
        """Once a frame, while the ladder is on screen: changed rows, the header, and the
        view kept on the market when auto-centre is on."""
        if not self.isVisible():
            return
        moved = self.model.refresh()
        bar = self.table.verticalScrollBar()
        if moved is Moved.ANCHORED:
            self.centre()
        elif moved is Moved.SHIFTED:
            bar.setValue(bar.value() + self.model.shift)  # the same prices stay in place
        if self.auto_centre.isChecked() and not self.table.underMouse():
            self._keep_last_in_view()
        self._show_position()

    def _keep_last_in_view(self) -> None:
        row = self.model.last_row()
        if row is None:
            return
        first = self.table.rowAt(0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        if first < 0 or last < 0 or not first + KEEP_IN <= row <= last - KEEP_IN:
            self.centre()

    def centre(self) -> None:
        """The last trade in the middle of the ladder."""
        row = self.model.last_row()
        if row is not None:
            self.table.scrollTo(self.model.index(row, PRICE),
                                QAbstractItemView.ScrollHint.PositionAtCenter)

    def _show_position(self) -> None:
        view, inst = self.model.position, self.model.inst
        if view is None or inst is None:
            text = "flat"
            if text != self.position_text:
                self.position_label.setText(f"<span style='color:{theme.MUTED.name()}'>"
                                            f"{text}</span>")
        else:
            side = "LONG" if view.qty > 0 else "SHORT"
            where = f"{side} {abs(view.qty):g} @ {fmt.price(view.avg_price, inst.price_decimals)}"
            pnl = fmt.signed_money(view.unrealized_pnl)
            text = f"{where}  {pnl}"
            if text != self.position_text:
                color = theme.direction_color(view.unrealized_pnl).name()
                self.position_label.setText(f"{where}  <span style='color:{color}'>{pnl}</span>")
        self.position_text = text

    # -- commands ---------------------------------------------------------------------
    def click(self, row: int, column: int) -> Said | None:
        """What a click on a cell does: buy on the bid side, sell on the ask side, cancel
        own orders on an order cell. None where a click does nothing."""
        symbol = self.model.symbol
        if not symbol or not 0 <= row < self.model.rowCount():
            return None
        if column in (BID, ASK):
            side = OrderSide.BUY if column == BID else OrderSide.SELL
            return self._say(self.trading.place(symbol, side, self.model.price_at(row),
                                                float(self.qty.value()), self.atm()))
        if column in (BUY, SELL):
            orders = self.model.orders_at(row, OrderSide.BUY if column == BUY
                                          else OrderSide.SELL)
            return self._say(self.trading.cancel(orders)) if orders else None
        return None

    def _on_clicked(self, index: QModelIndex) -> None:
        self.click(index.row(), index.column())

    def _on_context_menu(self, at: QPoint) -> None:
        index = self.table.indexAt(at)
        if index.isValid():
            self.context_menu(index.row()).popup(self.table.viewport().mapToGlobal(at))

    def context_menu(self, row: int) -> QMenu:
        """Cancel each own order at ``row``'s price, or every one of the symbol."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        inst = self.model.inst
        decimals = inst.price_decimals if inst is not None else 2
        for order in self.model.orders_at(row):
            action = menu.addAction(f"Cancel {order_label(order, decimals)}")
            action.triggered.connect(
                lambda _=False, o=order: self._say(self.trading.cancel([o])))
        if menu.actions():
            menu.addSeparator()
        every = menu.addAction(f"Cancel all {self.model.symbol} orders")
        every.triggered.connect(self.cancel_all)
        return menu

    def cancel_all(self) -> Said:
        return self._say(self.trading.cancel_all(self.model.symbol))

    def flatten(self) -> Said:
        """Cancel the symbol's orders and close its position, as Trade → Flatten does."""
        text, error = self._flatten(self.model.symbol)
        said = Said(text, error)
        show_status(self.footer, text, error)
        return said

    def _say(self, said: Said) -> Said:
        show_status(self.footer, said.text, said.error)
        self._notify(said.text, said.error)
        return said

