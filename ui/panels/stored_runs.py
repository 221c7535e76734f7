"""What the Optimize, Walk-forward and Challenge tabs share: a command run as a child
process whose result the store keeps, and the stored runs listed, one of them shown.

A subclass builds its widgets (``history_table`` over ``history_model`` through
``history_proxy``, ``status``, ``run_button``), then calls ``_wire()``; it says how to
read the list (``_read_rows``) and one run (``load_record``), and shows a run
(``show_record``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget

from ui.backtest_process import CommandProcess, RunProgress
from ui.models.optimize_models import RowsModel
from ui.panels.widgets import show_status
from workstation.store.database import Store, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
Reader = Callable[[Callable[[], T]], Awaitable[T]]


class StoredRunsTab(QWidget):
    message = Signal(str, bool)  # text, error: for the dock's status line
    kind = ""  # the command: optimize, walkforward, challenge
    what = ""  # what one run is called in messages
    show_while_running = False  # may a stored run be shown while a new one runs

    # built by the subclass before _wire()
    process: CommandProcess
    progress: RunProgress
    history_model: RowsModel
    history_table: QTableView
    history_proxy: QSortFilterProxyModel
    status: QLabel
    run_button: QPushButton

    def __init__(self, store: Store | None, read: Reader[Any], home: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.kind}Tab")
        self._store = store
        self._read = read
        self._home = home
        self._tasks: set[asyncio.Future[Any]] = set()
        self.record: Any = None
        self.shown_id: int | None = None

    def _lay_out(self, form: QWidget, results: QWidget) -> None:
        """The form on the left at its own width; the results take the rest."""
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(form)
        splitter.addWidget(results)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        show_status(self.status, "")

    def _wire(self) -> None:
        self.process.completed.connect(self._on_completed)
        self.process.failed.connect(self._on_failed)
        self.process.canceled.connect(self._on_canceled)
        self.history_table.selectionModel().selectionChanged.connect(self._on_history_selected)

    # -- what a subclass says ------------------------------------------------------------
    def _read_rows(self, store: Store) -> list[Any]:
        """The stored runs, newest first (on the store's thread)."""
        raise NotImplementedError

    def _rows_read(self, rows: list[Any]) -> None:
        """Called with what ``_read_rows`` returned, on the GUI thread."""
        self.history_model.set_rows(rows)

    def load_record(self, store: Store, run_id: int) -> Any:
        raise NotImplementedError

    def show_record(self, record: Any) -> None:
        self.record = record
        self.shown_id = record.run_id

    # -- store reads ---------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def refresh(self, select: int | None = None) -> asyncio.Future[Any]:
        """Read the stored list again; then show ``select`` (default: the one shown, else
        the newest)."""
        return self._spawn(self._refresh(select))

    async def _refresh(self, select: int | None) -> None:
        store = self._store
        if store is None:
            return
        try:
            rows = await self._read(lambda: self._read_rows(store))
        except StoreError as exc:
            self.notify(str(exc), True)
            return
        if not shiboken6.isValid(self):
            return
        self._rows_read(rows)
        listed = self.history_model.rows
        wanted = select if select is not None else (self.shown_id or
                                                    (listed[0].run_id if listed else None))
        if wanted is not None:
            self.select(wanted)

    def select(self, run_id: int) -> None:
        for row, summary in enumerate(self.history_model.rows):
            if summary.run_id == run_id:
                index = self.history_proxy.mapFromSource(self.history_model.index(row, 0))
                self.history_table.selectionModel().select(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.history_table.scrollTo(index)
                return

    def _on_history_selected(self, *_: QItemSelection) -> None:
        rows = self.history_table.selectionModel().selectedRows()
        if not rows or (self.process.running and not self.show_while_running):
            return
        summary = self.history_model.row_at(self.history_proxy.mapToSource(rows[0]).row())
        if summary is not None and summary.run_id != self.shown_id:
            self._spawn(self._load(summary.run_id))

    async def _load(self, run_id: int) -> None:
        store = self._store
        assert store is not None
        try:
            record = await self._read(lambda: self.load_record(store, run_id))
        except StoreError as exc:
            self.notify(str(exc), True)
            return
        if shiboken6.isValid(self):
            self.show_record(record)

    # -- the child process ---------------------------------------------------------------
    def _on_completed(self, message: dict[str, Any]) -> None:
        self._ended()
        run_id = message.get(self.process.result_key)
        self.notify(str(message.get("summary", "done")))
        if run_id is not None:
            self.shown_id = None
            self.refresh(select=int(run_id))

    def _on_failed(self, text: str) -> None:
        self._ended()
        self.notify(text, True)

    def _on_canceled(self) -> None:
        self._ended()
        self.notify(f"{self.what.capitalize()} canceled: nothing was stored")

    def _ended(self) -> None:
        self.progress.hide()
        self.run_button.setEnabled(True)

    def notify(self, text: str, error: bool = False) -> None:
        if not shiboken6.isValid(self):
            return
        show_status(self.status, text, error)
        if error:
            log.warning("%s: %s", self.kind, text)
        self.message.emit(text, error)
