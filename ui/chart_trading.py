"""Trading from the chart, as NinjaTrader's Chart Trader does: a right click at a price
offers a buy or sell limit or stop there (snapped to the tick) with the default quantity
and bracket, or cancels the order whose line was clicked; dragging an order's line
modifies it. Every order is priced by the ticket's code and sent through the router, so
the risk gate judges it as it judges the ticket's; a refusal is said, and a refused drag
puts the line back.

What is drawn comes from committed journal events (invariant 4), as the Orders panel's
tables do; the position line from the broker once every fill is committed."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu

from ui.panels.chart import ChartPanel
from ui.panels.chart_overlay import ChartOverlay, order_label, order_price
from ui.ticket import Distance, TicketForm, build_intent, price_ticket
from workstation.brokers.base import BrokerError
from workstation.engine import Engine
from workstation.orders import Fill, OrderSide, OrderStatus, OrderType, OrderUpdate
from workstation.risk.router import RiskRejected
from workstation.signals.events import SignalChanged

Notify = Callable[[str, bool], None]


class ChartTrading:
    def __init__(self, engine: Engine, chart: ChartPanel, notify: Notify,
                 next_client_id: Callable[[], str], committed: Callable[[], bool]) -> None:
        """``committed``: True when every fill the broker made is in the store (the
        position line waits for it)."""
        self.engine = engine
        self.chart = chart
        self._notify = notify
        self._next_client_id = next_client_id
        self._committed = committed
        self.overlay = ChartOverlay(chart)
        self.overlay.on_move = self.move_order
        self.working: dict[str, OrderUpdate] = {}  # committed working orders, every symbol
        self._fills: list[Fill] = []  # committed this run (the restored ones are the engine's)
        chart.menu_providers.append(self.add_menu_actions)
        chart.series_shown.connect(self.redraw)

    # -- what is drawn -------------------------------------------------------------------
    def apply(self, events: list[object]) -> None:
        """Committed trading events: orders, fills, signals."""
        symbol = self.chart.symbol
        orders = fills = signals = False
        for event in events:
            if isinstance(event, OrderUpdate) and event.order_id:
                if event.status.terminal:
                    self.working.pop(event.order_id, None)
                else:
                    self.working[event.order_id] = event
                orders |= event.symbol == symbol
            elif isinstance(event, Fill):
                self._fills.append(event)
                fills |= event.symbol == symbol
            elif isinstance(event, SignalChanged):
                signals = True
        if orders:
            self.overlay.set_orders(self.working.values())
            self._keep_in_view()
        if fills:
            self.overlay.set_fills(self.fills())
        if signals:
            self.overlay.set_signals(self.engine.signals.records.values())

    def fills(self) -> list[Fill]:
        return [*self.engine.restored.fills, *self._fills]

    def redraw(self) -> None:
        """Everything again: another series, or bars that moved the markers."""
        self.overlay.set_orders(self.working.values())
        self._keep_in_view()
        self.overlay.set_fills(self.fills())
        self.overlay.set_signals(self.engine.signals.records.values())
        self.refresh()

    def refresh(self) -> None:
        """Once a frame: the position line and its open P&L."""
        if not self._committed():
            return
        symbol = self.chart.symbol
        view = next((p for p in self.engine.broker.positions() if p.symbol == symbol), None)
        shown = self.overlay.position_line.isVisible()
        if view is None:
            self.overlay.set_position(0.0, 0.0, 0.0)
        else:
            self.overlay.set_position(view.qty, view.avg_price, view.unrealized_pnl)
        if shown != self.overlay.position_line.isVisible():
            self._keep_in_view()

    def _keep_in_view(self) -> None:
        """The chart keeps its symbol's orders and position in view when they are near."""
        levels = [d.line.value() for d in self.overlay.lines.values()]
        if self.overlay.position_line.isVisible():
            levels.append(self.overlay.position_line.value())
        self.chart.set_fit_levels(levels)

    # -- the context menu ----------------------------------------------------------------
    def add_menu_actions(self, menu: QMenu, price: float, reach: float) -> None:
        """Orders at ``price``: below the market a buy limit and a sell stop, above it a
        sell limit and a buy stop; on an order's line, cancelling it."""
        symbol = self.chart.symbol
        inst = self.engine.instruments[symbol]
        d = inst.price_decimals
        qty = inst.lot_size
        last = self.engine.market.get(symbol).last or self.chart.last_price
        choices = []
        if last is None or price <= last:
            choices += [(OrderSide.BUY, OrderType.LIMIT), (OrderSide.SELL, OrderType.STOP)]
        if last is None or price >= last:
            choices += [(OrderSide.SELL, OrderType.LIMIT), (OrderSide.BUY, OrderType.STOP)]
        for side, kind in choices:
            action = menu.addAction(f"{side.value.capitalize()} {kind.value} {qty:g} "
                                    f"@ {price:,.{d}f}")
            action.setObjectName(f"chart_{side.value}_{kind.value}")
            action.triggered.connect(
                lambda _=False, s=side, k=kind, p=price: self.place(s, k, p))
        near = self.overlay.line_near(price, reach)
        if near is not None:
            menu.addSeparator()
            cancel = menu.addAction(f"Cancel {order_label(near, d)}")
            cancel.setObjectName("chart_cancel_order")
            cancel.triggered.connect(lambda _=False, o=near: self.cancel(o))

    # -- commands (all through the router) -----------------------------------------------
    def place(self, side: OrderSide, kind: OrderType, price: float) -> OrderUpdate | None:
        """A limit or stop order of the default quantity at ``price`` with the default
        bracket of the settings ([trading]), priced as the ticket prices it."""
        engine = self.engine
        symbol = self.chart.symbol
        inst = engine.instruments[symbol]
        default = engine.settings.trading
        price = inst.round_price(price)
        form = TicketForm(symbol, side, inst.lot_size, kind,
                          limit_price=price if kind is OrderType.LIMIT else None,
                          stop_price=price if kind is OrderType.STOP else None,
                          bracket=bool(default.default_stop_ticks),
                          stop_distance=default.default_stop_ticks, stop_unit=Distance.TICKS,
                          target_distance=default.default_target_r, target_unit=Distance.R)
        priced = price_ticket(form, engine.market.get(symbol), inst)
        intent = build_intent(priced, self._next_client_id())
        try:
            update = engine.router.submit(intent)
        except BrokerError as exc:
            self._notify(f"{intent.describe()}: not sent: {exc}", True)
            return None
        if update.status is OrderStatus.REJECTED:
            self._notify(f"{intent.describe()} rejected: {update.reason}", True)
        else:
            self._notify(f"Sent {intent.describe()} ({update.client_order_id})", False)
        return update

    def move_order(self, order: OrderUpdate, price: float) -> str | None:
        """A dragged line: the order at ``price`` (a stop-limit keeps its offset). Returns
        None when the change was sent, else the reason it was refused."""
        old = order_price(order)
        if order.type is OrderType.LIMIT:
            change = {"limit_price": price}
        elif order.type is OrderType.STOP:
            change = {"stop_price": price}
        elif order.type is OrderType.STOP_LIMIT and old is not None \
                and order.limit_price is not None:
            inst = self.engine.instruments[order.symbol]
            change = {"stop_price": price,
                      "limit_price": inst.round_price(order.limit_price + price - old)}
        else:
            return "this order has no price to move"
        try:
            self.engine.router.replace(order.order_id, **change)
        except (RiskRejected, BrokerError) as exc:
            reason = str(exc)
            self._notify(f"Not moved: {order.client_order_id}: {reason}", True)
            return reason
        d = self.engine.instruments[order.symbol].price_decimals
        self._notify(f"Modify sent for {order.client_order_id}: {price:,.{d}f}", False)
        return None

    def cancel(self, order: OrderUpdate) -> None:
        try:
            self.engine.router.cancel(order.order_id)
        except BrokerError as exc:
            self._notify(f"Not canceled: {exc}", True)
            return
        self._notify(f"Cancel sent for {order.client_order_id}", False)
