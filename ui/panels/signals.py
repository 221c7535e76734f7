"""Signals dock: every signal from arrival to its trade, with one-click approval.

The table shows the committed state of each signal (SignalChanged events from the
journal, invariant 4); ages and current prices tick at ~2 Hz. A setup awaiting
approval is highlighted, selected and flashed when it arrives; Approve sends it
through the engine (and so the risk gate), Reject and Cancel withdraw it. Keys in
the table: Enter or A approves, R rejects, Delete rejects an awaiting setup or
cancels a waiting signal. The mini chart beside the table draws the selected
signal's bars, pivot, entry, stop and targets. Refusals (a signal that is no
longer awaiting, an unknown id) go to the status line, never up the stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.dialogs.new_signal import NewSignalDialog
from ui.models.signals_model import COLUMN, WAITING, SignalsModel, state_text
from ui.panels.signal_chart import SignalChart
from ui.panels.tables import fit_columns, make_table
from ui.panels.trades import ProximityDelegate
from ui.panels.widgets import caption, show_status
from workstation.engine import Engine
from workstation.model import Bar
from workstation.signals.engine import RiskWarnings, SignalError
from workstation.signals.lifecycle import SignalRecord, SignalState

log = logging.getLogger(__name__)

REFRESH_MS = 500
S = SignalState
_APPROVE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_A)
_REJECT_KEYS = (Qt.Key.Key_R,)
_WITHDRAW_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)


class SignalsPanel(QWidget):
    message = Signal(str, bool)  # text, is_error: for the status bar
    awaiting = Signal(str)  # a committed setup started awaiting approval (signal id)

    def __init__(self, engine: Engine, price_sample: str = "99,999.99",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        # asks the trader to accept the gate's warnings (tests answer for them)
        self.accept_warnings: Callable[[tuple[str, ...]], bool] = self._ask_to_accept
        self._price_sample = price_sample
        self.dialog: NewSignalDialog | None = None
        self._charted: SignalRecord | None = None
        self._chart_bars = -1
        self._select_when_shown: str | None = None  # a manual signal, once committed
        settings = engine.settings.signals
        self.timeframe = settings.timeframe
        self.model = SignalsModel(engine.instruments, engine.clock.now_ns, self._last_price,
                                  self._max_deviation)
        self.table = make_table(self.model, "signalsTable", self)
        self._pill = ProximityDelegate(self.table)  # the awaiting state's pill
        self.table.setItemDelegateForColumn(COLUMN["State"], self._pill)
        self.chart = SignalChart(self)
        self._size_columns()

        self.count_label = caption("Signals", self)
        self.show_finished = QCheckBox("Show finished", self)
        self.show_finished.setObjectName("showFinishedSignals")
        self.show_finished.setToolTip("List rejected, cancelled, expired and closed signals "
                                      "below the live ones")
        self.new_button = self._button("New signal…", "newSignal",
                                       "Submit a manual signal (it waits for confirmation "
                                       "like any other)")
        self.approve_button = self._button("Approve", "approveSignal",
                                           "Send the selected setup's bracket order(s) "
                                           "through the risk gate (Enter or A in the table; "
                                           "Ctrl+Shift+A anywhere)")
        self.reject_button = self._button("Reject", "rejectSignal",
                                          "Reject the selected setup (R or Delete in the "
                                          "table; Ctrl+Shift+J anywhere)")
        self.cancel_button = self._button("Cancel signal", "cancelSignal",
                                          "Withdraw the selected signal before it is "
                                          "approved (Delete in the table)")
        self.approve_button.setStyleSheet(f"QPushButton:enabled {{ color: {theme.UP.name()}; "
                                          "font-weight: bold; }")
        self.status = QLabel(self)
        self.status.setObjectName("signalsStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setVisible(False)

        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(4, 4, 4, 0)
        self.toolbar.addWidget(self.count_label)
        self.toolbar.addWidget(self.show_finished)
        self.toolbar.addStretch(1)
        for button in (self.new_button, self.cancel_button, self.reject_button,
                       self.approve_button):
            self.toolbar.addWidget(button)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("signalsSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.chart)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.chart.setMinimumWidth(200)
        self.table.setMinimumWidth(240)
        # shares of the dock's width: every column first, the chart the rest
        self.splitter.setSizes([self.preferred_width(), 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.toolbar)
        layout.addWidget(self.status)
        layout.addWidget(self.splitter, 1)

        self.show_finished.toggled.connect(self.model.set_show_finished)
        self.new_button.clicked.connect(lambda: self.open_new_signal())
        self.approve_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.reject_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.table.installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(self._on_selected)
        self.model.rowsMoved.connect(lambda *_: self._on_selected())
        self.model.rowsRemoved.connect(lambda *_: self._on_selected())
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._update_buttons()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click leaves the table focused
        return button

    def _size_columns(self) -> None:
        price = self._price_sample
        fit_columns(self.table, ["BTC/USD", "Short", "strategy-1", "00:00", price, price,
                                 "+999.00", "awaiting approval__", "99", f"~{price}", price,
                                 "999.00", "999", "99,999.00", "warning"],
                    mono={3, 4, 5, 6, 8, 9, 10, 11, 12, 13})

    def preferred_width(self) -> int:
        header = self.table.horizontalHeader()
        return sum(header.sectionSize(c) for c in range(header.count())) + 6

    # -- engine reads (the model's callbacks) --------------------------------------------
    def _last_price(self, symbol: str) -> float | None:
        return self.engine.market.get(symbol).last or None

    def _max_deviation(self, symbol: str, price: float) -> float | None:
        inst = self.engine.instruments.get(symbol)
        if inst is None:
            return None
        rules = self.engine.settings.signals.rules_for(inst)
        if rules.max_deviation <= 0:
            return None
        return rules.in_points(rules.max_deviation, rules.deviation_unit, inst, price)

    # -- events and refresh ----------------------------------------------------------------
    def apply(self, events: list[object]) -> None:
        """Committed events: signal rows change; a new setup awaiting approval is selected
        (unless the trader already has one selected) and flashed."""
        awaiting = self.model.apply(events)
        for signal_id in awaiting:
            self.model.flash(signal_id)
            selected = self.selected()
            if selected is None or selected.state is not S.AWAITING_APPROVAL:
                self.select(signal_id)
            self.awaiting.emit(signal_id)
        if self._select_when_shown is not None and self.select(self._select_when_shown):
            self._select_when_shown = None
        self._redraw_chart()
        self._update_buttons()
        self._update_count()

    def on_bars(self, bars: list[Bar]) -> None:
        """Closed bars: the mini chart grows when its series got one."""
        record = self._charted
        if record is not None and any(b.symbol == record.signal.symbol
                                      and b.timeframe == self.timeframe for b in bars):
            self._redraw_chart(force=True)

    def refresh(self) -> None:
        self.model.refresh()
        self._update_count()  # whatever moved a signal on, the header says it (~2 Hz)

    def _update_count(self) -> None:
        waiting = self.model.count(S.AWAITING_APPROVAL)
        live = self.model.live_count()
        text = f"Signals ({live})" if live else "Signals"
        if waiting:
            text += f"  ·  <span style='color:#fbbf24'>{waiting} awaiting approval</span>"
        if text != self.count_label.text():
            self.count_label.setText(text)

    # -- selection and chart ----------------------------------------------------------------
    def selected(self) -> SignalRecord | None:
        return self.model.record_at(self.table.currentIndex().row())

    def select(self, signal_id: str) -> bool:
        row = self.model.row_of(signal_id)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _on_selected(self, *_: object) -> None:
        self._redraw_chart()
        self._update_buttons()

    def _redraw_chart(self, force: bool = False) -> None:
        record = self.selected()
        if record is None:
            if self._charted is not None:
                self._charted = None
                self.chart.clear()
            return
        history = self.engine.bars.history(record.signal.symbol, self.timeframe)
        if not force and record is self._charted and len(history) == self._chart_bars:
            return
        self._charted = record
        self._chart_bars = len(history)
        inst = self.engine.instruments[record.signal.symbol]
        self.chart.show_signal(record, list(history), inst.price_decimals)

    def _update_buttons(self) -> None:
        record = self.selected()
        state = record.state if record is not None else None
        self.approve_button.setEnabled(state is S.AWAITING_APPROVAL)
        self.reject_button.setEnabled(state is S.AWAITING_APPROVAL)
        self.cancel_button.setEnabled(state in WAITING)

    # -- commands ---------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter / A approve, R rejects, Delete rejects or cancels, in the table."""
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            key = event.key()
            if key in _APPROVE_KEYS:
                self.approve_selected()
                return True
            if key in _REJECT_KEYS:
                self.reject_selected()
                return True
            if key in _WITHDRAW_KEYS:
                self.withdraw_selected()
                return True
        return super().eventFilter(watched, event)

    def show_message(self, text: str, error: bool = False) -> None:
        """The panel's status line (and the status bar)."""
        show_status(self.status, text, error)
        if text:
            self.message.emit(text, error)

    def _command(self, verb: str, action: Callable[[str], SignalRecord],
                 wanted: tuple[SignalState, ...]) -> SignalRecord | None:
        record = self.selected()
        if record is None or record.state not in wanted:
            states = " or ".join(state_text(s) for s in wanted)
            self.show_message(f"Nothing to {verb}: select a signal that is {states}", True)
            return None
        try:
            return action(record.id)
        except SignalError as exc:
            done = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}
            self.show_message(f"Not {done.get(verb, verb)}: {exc}", True)
            return None

    def approve_selected(self) -> SignalRecord | None:
        """One click: the engine sends the bracket(s) through the risk gate; the row then
        shows approved (or active once filled), or rejected with the gate's reason."""
        result = self._command("approve", self._approve, (S.AWAITING_APPROVAL,))
        if result is None:
            return None
        what = f"{result.id} {result.signal.direction} {result.signal.symbol}"
        if result.state is S.REJECTED:
            self.show_message(f"{what} refused: {result.history[-1].reason}", True)
        else:
            self.show_message(f"{what} approved: {state_text(result.state)} "
                              f"({result.history[-1].reason})")
        return result

    def _approve(self, signal_id: str) -> SignalRecord:
        """Approve; at warning level, only once the trader accepts the gate's warnings."""
        signals = self.engine.signals
        try:
            return signals.approve(signal_id, by="trader")
        except RiskWarnings as exc:
            if not self.accept_warnings(exc.warnings):
                raise SignalError("the risk warnings were not accepted") from None
            return signals.approve(signal_id, by="trader", accept_warnings=True)

    def _ask_to_accept(self, warnings: tuple[str, ...]) -> bool:
        answer = QMessageBox.warning(
            self, "Risk warnings",
            "The risk gate warns about this setup:\n\n" + "\n".join(warnings)
            + "\n\nI accept the risk warnings: send it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer is QMessageBox.StandardButton.Yes

    def reject_selected(self) -> SignalRecord | None:
        result = self._command("reject", self.engine.signals.reject, (S.AWAITING_APPROVAL,))
        if result is not None:
            self.show_message(f"{result.id} rejected")
        return result

    def cancel_selected(self) -> SignalRecord | None:
        result = self._command("cancel", self.engine.signals.cancel, tuple(WAITING))
        if result is not None:
            self.show_message(f"{result.id} cancelled")
        return result

    def withdraw_selected(self) -> SignalRecord | None:
        """Delete: reject a setup awaiting approval, cancel a signal still waiting."""
        record = self.selected()
        if record is not None and record.state is S.AWAITING_APPROVAL:
            return self.reject_selected()
        return self.cancel_selected()

    def open_new_signal(self, symbol: str | None = None, price: float | None = None,
                        bar: Bar | None = None) -> NewSignalDialog:
        """The New signal dialog (one at a time), for ``symbol`` (else the selected
        signal's, else the first instrument)."""
        if self.dialog is not None:
            self.dialog.deleteLater()
        engine = self.engine
        selected = self.selected()
        symbol = symbol or (selected.signal.symbol if selected else next(iter(engine.instruments)))
        dialog = NewSignalDialog(engine.instruments, engine.signals.submit, engine.clock.now_ns,
                                 self._last_price, symbol, self.timeframe, price=price, bar=bar,
                                 parent=self)
        dialog.submitted.connect(self._on_submitted)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_submitted(self, record: SignalRecord) -> None:
        reason = record.history[-1].reason
        if record.state is S.REJECTED:
            self.show_message(f"{record.id} {record.signal.symbol} rejected: {reason}", True)
        else:
            self.show_message(f"{record.id} {record.signal.direction} {record.signal.symbol}: "
                              f"{state_text(record.state)} ({reason})")
            self._select_when_shown = record.id
