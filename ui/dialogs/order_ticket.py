"""The order ticket: fill in an order, review exactly what will be sent, confirm.

The form is a thin view; ``ui.ticket`` does the pricing (bracket distances in
ticks, points or R, anchored to the fill; their prices estimated from the
current market) and the dialog sends the confirmed intent through the router,
the only path to a broker (invariant 1). A rejection keeps the ticket open and
says why. While the confirmation page is open, the estimated prices follow the
market (the distances the trader confirmed do not change).

Before the confirmation page is shown, the router previews the risk gate's
verdict (a preview counts toward no rate limit): a rejection is shown with its
rule and reason and nothing can be sent; rules at warning level or worse are
listed and sending needs an explicit "I accept the risk warnings". The verdict
is re-checked once a frame and again on Submit, so a level that rises while the
page is open asks again.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.risk_model import LEVEL_COLORS, rule_title
from ui.ticket import (
    NEEDS_LIMIT,
    NEEDS_STOP,
    Distance,
    Priced,
    TicketForm,
    build_intent,
    price_ticket,
    problems,
    summary,
)
from workstation.brokers.base import BrokerError
from workstation.engine import Engine
from workstation.orders import OrderSide, OrderStatus, OrderType, TimeInForce, TrailUnit
from workstation.risk.gate import Approved, Rejected
from workstation.risk.rules import Level

ORDER_TYPES = {"Market": OrderType.MARKET, "Limit": OrderType.LIMIT, "Stop": OrderType.STOP,
               "Stop-limit": OrderType.STOP_LIMIT, "Trailing stop": OrderType.TRAILING_STOP}
SIDES = {"Buy": OrderSide.BUY, "Sell": OrderSide.SELL}
TIFS = {"Day": TimeInForce.DAY, "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC}
TRAIL_UNITS = {"ticks": TrailUnit.TICKS, "points": TrailUnit.AMOUNT, "%": TrailUnit.PERCENT}
DEFAULT_STOP_TICKS = 20
DEFAULT_TARGET_R = 2.0
PREVIEW_ID = "ticket-preview"  # the gate's preview needs an id; the real one is taken on Submit


def _spin(decimals: int, step: float, low: float = 0.0, high: float = 1e9) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setRange(low, high)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    spin.setFont(theme.MONO)
    spin.setMinimumWidth(130)
    spin.setGroupSeparatorShown(True)
    return spin


def _combo(items: dict[str, object] | list[str]) -> QComboBox:
    box = QComboBox()
    for text in items:
        box.addItem(text, items[text] if isinstance(items, dict) else text)
    return box


class OrderTicketDialog(QDialog):
    submitted = Signal(object)  # the broker's OrderUpdate for an accepted order

    def __init__(self, engine: Engine, symbol: str, next_client_id: Callable[[], str],
                 side: OrderSide = OrderSide.BUY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orderTicket")
        self.setWindowTitle("New order")
        self._engine = engine
        self._next_client_id = next_client_id
        self.priced: Priced | None = None  # what the confirmation page shows and sends
        self.verdict: Approved | Rejected | None = None  # the risk gate's preview of it
        self._warned: frozenset[tuple[str, Level]] = frozenset()  # what the box accepts
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._build_form())
        self.stack.addWidget(self._build_confirm())
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.setMinimumWidth(480)
        self.symbol.setCurrentText(symbol)
        self.side.setCurrentIndex(list(SIDES.values()).index(side))
        self._on_symbol_changed()
        self._on_type_changed()
        self.stack.setCurrentIndex(0)

    # -- form page ------------------------------------------------------------------------
    def _build_form(self) -> QWidget:
        page = QWidget(self)
        self.symbol = _combo(list(self._engine.instruments))
        self.side = _combo(SIDES)
        self.qty = _spin(0, 1.0)
        self.order_type = _combo(ORDER_TYPES)
        self.limit_price = _spin(2, 0.01)
        self.stop_price = _spin(2, 0.01)
        self.trail = _spin(2, 1.0)
        self.trail_unit = _combo(TRAIL_UNITS)
        self.tif = _combo(TIFS)
        self.market = QLabel(page)
        self.market.setObjectName("ticketMarket")
        self.market.setFont(theme.MONO)
        trail_row = QHBoxLayout()
        trail_row.addWidget(self.trail, 1)
        trail_row.addWidget(self.trail_unit)
        trail_label = QLabel("T&rail", page)
        trail_label.setBuddy(self.trail)  # a row holding a layout gets no buddy by itself
        order = QFormLayout()
        order.addRow("&Symbol", self.symbol)
        order.addRow("Si&de", self.side)
        order.addRow("&Quantity", self.qty)
        order.addRow("&Type", self.order_type)
        order.addRow("&Limit price", self.limit_price)
        order.addRow("St&op price", self.stop_price)
        order.addRow(trail_label, trail_row)
        order.addRow("Time in &force", self.tif)
        order.addRow("Market", self.market)

        self.bracket_box = QGroupBox("&Bracket: stop-loss and take-profit", page)
        self.bracket_box.setCheckable(True)
        self.bracket_box.setChecked(False)
        self.stop_distance = _spin(2, 1.0)
        self.stop_distance.setValue(DEFAULT_STOP_TICKS)
        self.stop_unit = _combo({"ticks": Distance.TICKS, "points": Distance.POINTS})
        self.target_distance = _spin(2, 0.5)
        self.target_distance.setValue(DEFAULT_TARGET_R)
        self.target_unit = _combo({"R": Distance.R, "ticks": Distance.TICKS,
                                   "points": Distance.POINTS})
        self.target_unit.setToolTip("R: a multiple of the stop distance")
        self.preview = QLabel(page)
        self.preview.setObjectName("ticketPreview")
        self.preview.setFont(theme.MONO)
        self.preview.setWordWrap(True)
        bracket = QFormLayout(self.bracket_box)
        for label, spin, unit in (("Stop loss", self.stop_distance, self.stop_unit),
                                  ("Take profit", self.target_distance, self.target_unit)):
            row = QHBoxLayout()
            row.addWidget(spin, 1)
            row.addWidget(unit)
            bracket.addRow(label, row)
        bracket.addRow(self.preview)

        self.error = QLabel(page)
        self.error.setObjectName("ticketError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.DOWN.name()}")
        self.review_button = QPushButton("&Review order…", page)
        self.review_button.setObjectName("ticketReview")
        self.review_button.setDefault(True)
        cancel = QPushButton("Cancel", page)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.review_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(order)
        layout.addWidget(self.bracket_box)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self.symbol.currentTextChanged.connect(self._on_symbol_changed)
        self.order_type.currentIndexChanged.connect(self._on_type_changed)
        self.side.currentIndexChanged.connect(lambda _index: self._prefill_prices())
        self.review_button.clicked.connect(self.review)
        for widget in (self.side, self.order_type, self.stop_unit, self.target_unit):
            widget.currentIndexChanged.connect(self.update_preview)
        for spin in (self.qty, self.limit_price, self.stop_price, self.stop_distance,
                     self.target_distance):
            spin.valueChanged.connect(self.update_preview)
        self.bracket_box.toggled.connect(self.update_preview)
        return page

    # -- confirmation page ------------------------------------------------------------------
    def _build_confirm(self) -> QWidget:
        page = QWidget(self)
        title = QLabel("Confirm this order", page)
        title.setStyleSheet("font-weight: bold")
        self.summary = QLabel(page)
        self.summary.setObjectName("ticketSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.back_button = QPushButton("&Back", page)
        self.back_button.clicked.connect(lambda: self._show_page(0))
        self.submit_button = QPushButton("&Submit order", page)
        self.submit_button.setObjectName("ticketSubmit")
        self.submit_button.clicked.connect(self.submit)
        self.risk_box = QLabel(page)
        self.risk_box.setObjectName("ticketRisk")
        self.risk_box.setTextFormat(Qt.TextFormat.RichText)
        self.risk_box.setWordWrap(True)
        self.risk_box.hide()
        self.accept_risk = QCheckBox("&I accept the risk warnings", page)
        self.accept_risk.setObjectName("ticketAcceptRisk")
        self.accept_risk.setToolTip("Rules at warning level or worse: sending needs this")
        self.accept_risk.hide()
        self.accept_risk.toggled.connect(self._update_submit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.submit_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addWidget(self.risk_box)
        layout.addWidget(self.accept_risk)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _show_page(self, page: int) -> None:
        self.stack.setCurrentIndex(page)
        button = self.submit_button if page == 1 else self.review_button
        self.review_button.setDefault(page == 0)
        self.submit_button.setDefault(page == 1)
        button.setFocus()

    # -- reactions ----------------------------------------------------------------------
    def _on_symbol_changed(self) -> None:
        inst = self._engine.instruments[self.symbol.currentText()]
        self.qty.setDecimals(inst.size_decimals)
        self.qty.setSingleStep(inst.lot_size)
        self.qty.setMinimum(inst.lot_size)
        self.qty.setValue(max(self.qty.value(), inst.lot_size))
        for spin in (self.limit_price, self.stop_price):
            spin.setDecimals(inst.price_decimals)
            spin.setSingleStep(inst.tick_size)
        self._prefill_prices()
        self.update_preview()

    def _prefill_prices(self) -> None:
        """A limit starts at the touch on its own side (a buy joins the bid, a sell the ask);
        a stop at the other side's touch. Without a quote: the last trade."""
        inst = self._engine.instruments[self.symbol.currentText()]
        state = self._engine.market.get(inst.symbol)
        buy = OrderSide(self.side.currentData()) is OrderSide.BUY
        own, other = (state.bid, state.ask) if buy else (state.ask, state.bid)
        for spin, touch in ((self.limit_price, own), (self.stop_price, other)):
            price = touch or state.last
            spin.setValue(inst.round_price(price) if price else 0.0)

    def _on_type_changed(self) -> None:
        kind = OrderType(self.order_type.currentData())
        self.limit_price.setEnabled(kind in NEEDS_LIMIT)
        self.stop_price.setEnabled(kind in NEEDS_STOP)
        self.trail.setEnabled(kind is OrderType.TRAILING_STOP)
        self.trail_unit.setEnabled(kind is OrderType.TRAILING_STOP)
        if any(spin.isEnabled() and spin.value() == 0  # opened before any market data
               for spin in (self.limit_price, self.stop_price)):
            self._prefill_prices()
        self.update_preview()

    def form(self) -> TicketForm:
        """The widgets' values (item data comes back from Qt as plain strings)."""
        kind = OrderType(self.order_type.currentData())
        return TicketForm(
            self.symbol.currentText(), OrderSide(self.side.currentData()), self.qty.value(),
            kind, limit_price=self.limit_price.value() if kind in NEEDS_LIMIT else None,
            stop_price=self.stop_price.value() if kind in NEEDS_STOP else None,
            trail=self.trail.value() if kind is OrderType.TRAILING_STOP else None,
            trail_unit=TrailUnit(self.trail_unit.currentData()),
            tif=TimeInForce(self.tif.currentData()), bracket=self.bracket_box.isChecked(),
            stop_distance=self.stop_distance.value(),
            stop_unit=Distance(self.stop_unit.currentData()),
            target_distance=self.target_distance.value(),
            target_unit=Distance(self.target_unit.currentData()))

    def _price(self) -> Priced:
        form = self.form()
        return price_ticket(form, self._engine.market.get(form.symbol),
                            self._engine.instruments[form.symbol])

    def update_preview(self, *_: object) -> None:
        """Live market and bracket prices while the form is edited (also once a frame);
        on the confirmation page, the risk verdict."""
        if self.stack.currentIndex() != 0:
            self.refresh_risk()
            return
        inst = self._engine.instruments[self.symbol.currentText()]
        state = self._engine.market.get(inst.symbol)
        d = inst.price_decimals
        self.market.setText(f"bid {state.bid:,.{d}f}  ask {state.ask:,.{d}f}  "
                            f"last {state.last:,.{d}f}" if state.last or state.bid
                            else "no market data yet")
        if not self.bracket_box.isChecked():
            self.preview.setText("")
            return
        priced = self._price()
        legs = []
        if priced.stop_loss is not None:
            legs.append(f"stop {priced.stop_loss:,.{d}f}")
        if priced.take_profit is not None:
            legs.append(f"target {priced.take_profit:,.{d}f}")
        self.preview.setText(f"from {priced.reference:,.{d}f} ({priced.reference_source})"
                             + (" → " + " · ".join(legs) if legs else ""))

    def review(self) -> bool:
        """Price the ticket and show the confirmation page; False (and why) if it cannot."""
        priced = self._price()
        inst = self._engine.instruments[priced.form.symbol]
        found = problems(priced, inst)
        if found:
            self.error.setText("Cannot review: " + "; ".join(found))
            return False
        self.error.setText("")
        self.priced = priced
        self._show_summary()
        self.submit_button.setText(f"&Submit {priced.form.side.value}")
        self._warned = frozenset()
        self.accept_risk.setChecked(False)
        self.refresh_risk()
        self._show_page(1)
        if self.accept_risk.isVisible():
            self.accept_risk.setFocus()
        elif isinstance(self.verdict, Rejected):
            self.back_button.setFocus()
        return True

    def _show_summary(self) -> None:
        priced = self.priced
        assert priced is not None
        inst = self._engine.instruments[priced.form.symbol]
        headline, rows = summary(priced, inst, self._engine.settings.commission(inst))
        color = theme.direction_color(priced.form.side.sign).name()
        muted = theme.MUTED.name()
        table = "".join(f"<tr><td style='color:{muted}; padding-right:12px'>{html.escape(k)}"
                        f"</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        self.summary.setText(f"<p style='color:{color}; font-size:12pt; font-weight:bold'>"
                             f"{html.escape(headline)}</p><table cellspacing='3'>{table}</table>"
                             f"<p style='color:{muted}'>Paper account: simulated fills, "
                             f"no real money.</p>")

    def _reprice(self) -> None:
        """The confirmed form against the market now: new estimates, same distances."""
        assert self.priced is not None
        form = self.priced.form
        priced = price_ticket(form, self._engine.market.get(form.symbol),
                              self._engine.instruments[form.symbol])
        if priced != self.priced and priced.reference > 0:
            self.priced = priced
            self._show_summary()

    # -- the risk gate's preview --------------------------------------------------------------
    def refresh_risk(self) -> None:
        """Re-price the confirmed order from the market now, ask the gate what it would
        say about it (judged by the estimated stop), and show both."""
        if self.priced is None:
            return
        self._reprice()
        verdict = self._engine.router.check(build_intent(self.priced, PREVIEW_ID))
        self.verdict = verdict
        if isinstance(verdict, Rejected):
            rule = html.escape(self._rule(verdict.rule))
            self._show_risk(theme.DOWN, f"<b>Blocked by risk rule “{rule}”</b><br>"
                                        f"{html.escape(verdict.reason)}<br>"
                                        "This order cannot be sent; an order that reduces a "
                                        "position still passes.")
            self.accept_risk.setChecked(False)
            self.accept_risk.hide()
        elif verdict.warnings:
            risk = self._engine.risk
            warned = frozenset((s.rule, risk.level_of(s.rule)) for s in risk.statuses
                               if risk.level_of(s.rule) >= Level.WARNING)
            if warned != self._warned:  # new or higher levels: accept them again
                self._warned = warned
                self.accept_risk.setChecked(False)
            level = max((lvl for _, lvl in warned), default=Level.WARNING)
            items = "".join(f"<li>{html.escape(w)}</li>" for w in verdict.warnings)
            self._show_risk(LEVEL_COLORS[level], f"<b>Risk warnings</b><ul "
                                                 f"style='margin:2px 0'>{items}</ul>Sending "
                                                 "needs your explicit acceptance.")
            self.accept_risk.show()
        else:
            self.risk_box.hide()
            self.accept_risk.setChecked(False)
            self.accept_risk.hide()
        self._update_submit()

    def _rule(self, rule: str) -> str:
        return rule_title(rule, {r.name: r.label for r in self._engine.risk.rules})

    def _show_risk(self, color: QColor, text: str) -> None:
        """Once a frame: restyle only when the color changes (a restyle re-polishes)."""
        style = (f"color: {color.name()}; border: 2px solid {color.name()}; "
                 "border-radius: 4px; padding: 6px; font-size: 11pt")
        if self.risk_box.styleSheet() != style:
            self.risk_box.setStyleSheet(style)
        self.risk_box.setText(text)
        self.risk_box.show()

    def _update_submit(self, *_: object) -> None:
        verdict = self.verdict
        self.submit_button.setEnabled(isinstance(verdict, Approved) and (
            not verdict.warnings or self.accept_risk.isChecked()))

    def submit(self) -> None:
        """Send what was confirmed (not what the form says now) through the router,
        once the gate's preview allows it and any warnings are accepted."""
        if self.priced is None:
            return
        self.refresh_risk()
        if not self.submit_button.isEnabled():
            return
        intent = build_intent(self.priced, self._next_client_id())
        try:
            update = self._engine.router.submit(intent)
        except (BrokerError, ValueError) as exc:
            self._rejected(str(exc))
            return
        if update.status is OrderStatus.REJECTED:
            self._rejected(update.reason)
            return
        self.submitted.emit(update)
        self.accept()

    def _rejected(self, reason: str) -> None:
        self.error.setText(f"Rejected: {reason}")
        self.priced = None
        self._show_page(0)
