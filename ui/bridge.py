"""The bridge from the engine's bus to Qt.

Bus handlers here only record what changed (a few dict writes per event); a
QTimer turns that into at most one repaint per frame (~30 per second), however
fast the feed runs. Panels subscribe to the bridge's Qt signals, never to the
bus, and hold no trading logic.

Orders, fills and trades reach the UI only through the journal, after they are
committed to SQLite (invariant 4): the journal's listener collects each
committed batch and the next frame emits everything collected since the last
one as ``trading_events``.

Strategies' ``plot()`` points are collected the same way (the bridge is the engine's plot
sink) and emitted once a frame as one list, never one signal per point.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.model import Bar, PartialBar
from workstation.orders import Fill
from workstation.plots import PlotPoint
from workstation.signals.events import SignalChanged, snapshot
from workstation.trades import TradeChanged

if TYPE_CHECKING:  # the engine loads after the first window is painted
    from workstation.engine import Engine

FRAME_MS = 33


class LogBuffer(logging.Handler):
    """Keeps recent log records for the Log panel; safe to call from any thread."""

    def __init__(self, capacity: int = 5_000) -> None:
        super().__init__(logging.INFO)
        self.records: deque[logging.LogRecord] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class EngineBridge(QObject):
    frame = Signal()  # once per frame: pull-based panels (watchlist, status) refresh
    bars_closed = Signal(object)  # list of closed Bars since the last frame (object: no conversion)
    partial_bar = Signal(object)  # latest PartialBar per frame for the watched series
    log_records = Signal(object)  # list of logging.LogRecord
    # committed OrderUpdate / Fill / TradeChanged / TradeClosed / SignalChanged ... since the
    # last frame, in order
    trading_events = Signal(object)
    plot_points = Signal(object)  # list of strategies' PlotPoints since the last frame

    def __init__(self, engine: Engine, log_buffer: LogBuffer, parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self.engine = engine
        self._log_buffer = log_buffer
        self._closed: list[Bar] = []
        self._partial: PartialBar | None = None
        self._committed: list[object] = []
        self._plots: list[PlotPoint] = []
        self._fills_seen = 0
        self._fills_committed = 0
        self.frames = 0
        engine.bus.subscribe(Bar, self._closed.append, "ui.bridge.bar")
        engine.bus.subscribe(PartialBar, self._on_partial, "ui.bridge.partial")
        engine.bus.subscribe(Fill, self._count_fill, "ui.bridge.fill_count")
        engine.journal.listeners.append(self._on_committed)
        self._plot_sink = engine.strategies.services.plots
        self._plot_sink.sink = self._plots.append  # warm-up points too: the engine starts next
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._on_frame)

    def _on_partial(self, event: PartialBar) -> None:
        self._partial = event

    def _count_fill(self, _fill: Fill) -> None:
        """Counted, never shown: lets account views wait until every fill is committed."""
        self._fills_seen += 1

    def _on_committed(self, events: list[object]) -> None:
        self._fills_committed += sum(1 for e in events if isinstance(e, Fill))
        self._committed.extend(events)

    @property
    def uncommitted_fills(self) -> int:
        """Fills the portfolio has booked that the journal has not committed yet."""
        return self._fills_seen - self._fills_committed

    def start(self) -> None:
        """Start framing; what a restart restored (already in the store) is shown first."""
        engine = self.engine
        restored: list[object] = list(engine.restored_history)
        restored += [order.snapshot() for order in engine.restored.recent_done]
        restored += engine.restored.closed_trades
        restored += engine.broker.open_orders()
        restored += [TradeChanged(trade) for trade in engine.trades.active()]
        restored += [SignalChanged(snapshot(record)) for record in engine.signals.records.values()]
        self._committed[:0] = restored
        self._timer.start()

    def stop(self) -> None:
        """No more frames; plot points are no longer collected (nothing left to draw)."""
        self._timer.stop()
        self._plot_sink.sink = None
        self._plots.clear()

    def _on_frame(self) -> None:
        self.frames += 1
        if self._closed:
            closed, self._closed[:] = list(self._closed), []
            self.bars_closed.emit(closed)
        if self._partial is not None:
            partial, self._partial = self._partial, None
            self.partial_bar.emit(partial)
        if self._committed:
            committed, self._committed = self._committed, []
            self.trading_events.emit(committed)
        if self._plots:
            points = list(self._plots)
            self._plots.clear()  # the sink appends to this same list
            self.plot_points.emit(points)
        if self._log_buffer.records:
            records = []
            while self._log_buffer.records:
                records.append(self._log_buffer.records.popleft())
            self.log_records.emit(records)
        self.frame.emit()
