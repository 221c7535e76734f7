"""Strategies dock: every strategy instance with its status, P&L, position, last signal,
errors and timings; the selected instance's parameters and limits; the plugin errors.

A thin view over the engine's StrategyHost: commands (add, start, pause, stop,
remove, reload, new settings) go to the host, asynchronous ones as tasks on the
qasync loop whose failure is shown here, never raised. The table follows the
host's listener for lifecycle changes and a 2 Hz timer for the figures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLayout,
    QListView,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.actions import ActionRegistry, ActionSpec
from ui.dialogs.strategy_instance import StrategyInstanceDialog
from ui.models.strategies_model import PluginErrorsModel, StrategiesModel
from ui.panels.strategy_form import StrategyForm
from ui.panels.tables import fit_columns, make_table
from ui.panels.widgets import action_button, caption, show_status
from workstation.strategies.context import StrategyContext
from workstation.strategies.host import OnStop, StrategyHost
from workstation.strategies.instances import InstanceSettings, InstanceStatus
from workstation.strategies.template import new_strategy_file

log = logging.getLogger(__name__)
MENU = "&Strategies"
REFRESH_MS = 500
# the last column (orders) stretches; an id or a name longer than its sample elides
SAMPLES = ["sma-cross-12", "SMA cross v1.0", "NQ, ES", "stopped", "-12,345.67",
           "+10 NQ", "short NQ 14:32", "999", "99.999", "999.999", "9,999"]


def _column(parent: QWidget, *items: QWidget | QLayout) -> QWidget:
    """A widget stacking ``items``; the last one takes the spare height."""
    box = QWidget(parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for number, item in enumerate(items, start=1 - len(items)):
        if isinstance(item, QLayout):
            layout.addLayout(item)
        else:
            layout.addWidget(item, 1 if number == 0 else 0)
    return box


def _split(orientation: Qt.Orientation, parent: QWidget,
           *parts: tuple[QWidget, int]) -> QSplitter:
    splitter = QSplitter(orientation, parent)
    for number, (widget, stretch) in enumerate(parts):
        splitter.addWidget(widget)
        splitter.setStretchFactor(number, stretch)
    splitter.setChildrenCollapsible(False)
    return splitter


class StrategiesPanel(QWidget):
    message = Signal(str, bool)  # text, is_error: for the status bar

    def __init__(self, host: StrategyHost, instruments: list[str], user_folder: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.user_folder = user_folder
        self._instruments = instruments
        self._tasks: set[asyncio.Future[Any]] = set()
        self._file: Path | None = None  # the file Reload/Open act on (last one selected)
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.actions: dict[str, Any] = {}
        self.dialog: StrategyInstanceDialog | None = None
        self.stop_box: QMessageBox | None = None

        self.model = StrategiesModel(lambda: host.contexts, host.pnl_today,
                                     host.services.slow_ns / 1e6)
        self.table = make_table(self.model, "strategiesTable", self)
        self.table.setToolTip("Space: start or pause · Delete: remove · Enter: edit settings")
        fit_columns(self.table, SAMPLES, mono={4, 5, 7, 8, 9, 10})
        self.form = StrategyForm(self)
        self.form.setMinimumWidth(250)
        self.status = QLabel(self)
        self.status.setObjectName("strategiesStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        self.errors_model = PluginErrorsModel()
        self.errors = QListView(self)
        self.errors.setModel(self.errors_model)
        self.errors.setObjectName("pluginErrors")
        self.errors.setToolTip("Problems loading plugin files; double-click or Enter opens "
                               "the file (saving it reloads it)")
        self.errors_label = caption("Plugin errors", self, top=4)
        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(4, 4, 4, 0)
        self.toolbar.setSpacing(4)
        rows = _split(Qt.Orientation.Vertical, self, (self.table, 3),
                      (_column(self, self.errors_label, self.errors), 1))
        rows.setSizes([200, 70])
        left = _column(self, self.toolbar, self.status, rows)
        self.splitter = _split(Qt.Orientation.Horizontal, self, (left, 3), (self.form, 1))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.table.selectionModel().currentRowChanged.connect(self._selection_changed)
        self.table.installEventFilter(self)
        self.errors.selectionModel().currentChanged.connect(self._error_chosen)
        self.errors.activated.connect(lambda _index: self.open_file())
        self.form.apply_requested.connect(self.apply_settings)
        self._pending = QTimer(self)  # the host's listener: one refresh per burst of changes
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        host.add_listener(self._on_host_changed)
        self.refresh()

    # -- actions -------------------------------------------------------------------------
    def register_actions(self, registry: ActionRegistry) -> None:
        """The panel's commands in the registry (the Strategies menu) and as buttons."""
        specs = (
            ("strategy_add", "Add instance…", "Ctrl+Shift+I",
             "Run a strategy as a new instance", self.add_instance),
            ("strategy_start", "Start", "", "Start or resume the selected instance",
             self.start_selected),
            ("strategy_pause", "Pause", "", "Pause the selected instance: it follows the "
                                            "market but sends no orders", self.pause_selected),
            ("strategy_stop", "Stop", "", "Stop the selected instance", self.stop_selected),
            ("strategy_remove", "Remove…", "", "Delete the selected instance and its state",
             self.remove_selected),
            ("strategy_reload", "Reload file", "", "Import the selected plugin file again",
             self.reload_selected),
            ("strategy_open", "Open file", "", "Open the selected plugin file in your editor",
             self.open_file),
            ("strategy_new", "New strategy from template…", "Ctrl+Shift+N",
             "Write a ready-to-edit strategy file into your plugins folder",
             self.new_from_template),
        )
        for action_id, text, keys, tip, callback in specs:
            action = registry.add(ActionSpec(action_id, text, MENU, keys, tip),
                                  lambda _=False, c=callback: c())
            self.actions[action_id] = action
            action_button(self, self.toolbar, action)
            if action_id in ("strategy_remove", "strategy_open"):
                self.toolbar.addSpacing(10)
        self.toolbar.addStretch(1)
        self._update_actions()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the table: Space starts or pauses, Delete removes, Enter goes to the form."""
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and self.selected() is not None):
            command = {Qt.Key.Key_Space: self.toggle_selected, Qt.Key.Key_Delete:
                       self.remove_selected, Qt.Key.Key_Return: self.form.focus_first,
                       Qt.Key.Key_Enter: self.form.focus_first}.get(Qt.Key(event.key()))
            if command is not None:
                command()
                return True
        return super().eventFilter(watched, event)

    # -- reading -------------------------------------------------------------------------
    def selected(self) -> StrategyContext | None:
        instance_id = self.model.instance_at(self.table.currentIndex().row())
        return self.host.contexts.get(instance_id) if instance_id is not None else None

    def select_instance(self, instance_id: str) -> None:
        row = self.model.row_of(instance_id)
        if row is not None:
            self.table.setCurrentIndex(self.model.index(row, 0))

    def show_message(self, text: str, error: bool = False) -> None:
        """The panel's status line (and the status bar)."""
        show_status(self.status, text, error)
        if text:
            self.message.emit(text, error)

    # -- refreshing ----------------------------------------------------------------------
    def _on_host_changed(self) -> None:
        """The host's listener (on the loop thread, inside its own calls): refresh later."""
        if shiboken6.isValid(self._pending):
            self._pending.start()

    def _tick(self) -> None:
        """Twice a second: the moving figures while shown; the plugin problems always (the
        host does not call its listeners after loading the plugins at start)."""
        if self.isVisible():
            self.model.refresh()
        self._show_problems()
        self._update_actions()

    def refresh(self) -> None:
        self.model.refresh()
        self._show_problems()
        ctx = self.selected()
        if ctx is None and self.form.instance_id is not None:
            self.form.show_instance(None)
        elif ctx is not None and not self.form.dirty and (
                ctx.settings is not self.form.shown or ctx.offered is not self.form.offered):
            self.form.show_instance(ctx)  # new settings, or a reloaded file's parameters
        self._update_actions()

    def _show_problems(self) -> None:
        host = self.host
        if self.errors_model.show(host.problems, host.stored_problems, host.catalog.files):
            count = self.errors_model.count
            self.errors_label.setText(f"Plugin errors ({count})" if count else "Plugin errors")

    def _selection_changed(self, *_: object) -> None:
        ctx = self.selected()
        self._file = ctx.offered.path if ctx is not None and ctx.offered.sha256 else None
        self.form.show_instance(ctx)
        self._update_actions()

    def _error_chosen(self, index: QModelIndex, _previous: object = None) -> None:
        path = self.errors_model.path_at(index.row())
        if path is not None:
            self._file = path
            self._update_actions()

    def _update_actions(self) -> None:
        if not self.actions:
            return
        ctx = self.selected()
        status = ctx.status if ctx is not None else None
        enabled = {
            "strategy_add": bool(self.host.catalog.strategies),
            "strategy_start": ctx is not None and status is not InstanceStatus.RUNNING,
            "strategy_pause": status is InstanceStatus.RUNNING,
            "strategy_stop": ctx is not None and ctx.active,
            "strategy_remove": ctx is not None,
            "strategy_reload": self._file is not None,
            "strategy_open": self._file is not None,
        }
        for action_id, on in enabled.items():
            self.actions[action_id].setEnabled(on)

    # -- commands ------------------------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, Any], done: Callable[[Any], None] | None = None,
            failed: Callable[[str], None] | None = None) -> asyncio.Future[Any]:
        """Run a host coroutine on the loop; its error is shown, never raised."""
        future = asyncio.ensure_future(coro)
        self._tasks.add(future)

        def finished(task: asyncio.Future[Any]) -> None:
            self._tasks.discard(task)
            if task.cancelled() or not shiboken6.isValid(self):
                return
            exc = task.exception()
            if exc is None:
                if done is not None:
                    done(task.result())
                return
            if isinstance(exc, ValueError):  # InstanceError and ParamError: said for people
                text = str(exc)
            else:
                log.error("strategy command failed", exc_info=exc)
                text = f"{type(exc).__name__}: {exc}"
            (failed or (lambda t: self.show_message(t, True)))(text)

        future.add_done_callback(finished)
        return future

    def _sync(self, command: Callable[[str], None], what: str) -> None:
        ctx = self.selected()
        if ctx is None:
            return
        try:
            command(ctx.instance_id)
        except ValueError as exc:
            self.show_message(str(exc), True)
            return
        self.show_message(f"{ctx.instance_id} {what}")

    def start_selected(self) -> None:
        ctx = self.selected()
        if ctx is not None:
            verb = "resumed" if ctx.status is InstanceStatus.PAUSED else "started"
            self.run(self.host.start_instance(ctx.instance_id),
                     lambda _: self.show_message(f"{ctx.instance_id} {verb}"))

    def toggle_selected(self) -> None:
        ctx = self.selected()
        if ctx is not None and ctx.status is InstanceStatus.RUNNING:
            self.pause_selected()
        else:
            self.start_selected()

    def pause_selected(self) -> None:
        self._sync(self.host.pause_instance, "paused: it follows the market, sends nothing")

    def stop_selected(self) -> QMessageBox | None:
        """Stop the selected instance; one holding a position or orders first asks what
        becomes of them (the question, while open, is returned and kept as ``stop_box``)."""
        ctx = self.selected()
        if ctx is None:
            return None
        instance_id = ctx.instance_id
        if not self.host.holds(instance_id):
            self._stop(instance_id, OnStop.CANCEL)
            return None
        held = ", ".join(f"{qty:+g} {symbol}" for symbol, qty in ctx.positions.items() if qty)
        orders = len(ctx.working_orders(None))
        what = " and ".join(part for part in (
            f"a position ({held})" if held else "",
            f"{orders} working order{'s' if orders != 1 else ''}" if orders else "") if part)
        box = QMessageBox(QMessageBox.Icon.Question, "Stop strategy instance",
                          f"{instance_id} holds {what}. What becomes of it when the "
                          "instance stops?", parent=self)
        box.setInformativeText("Flatten: cancel its orders and close its positions at "
                               "market.\nKeep: the positions and every order (stops, "
                               "targets) stay in the account for you to manage.")
        flatten = box.addButton("&Flatten", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep position and orders", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        flatten.setObjectName("stopFlatten")
        keep.setObjectName("stopKeep")
        choices = {flatten: OnStop.FLATTEN, keep: OnStop.KEEP}
        box.buttonClicked.connect(
            lambda clicked: self._stop(instance_id, choices[clicked])
            if clicked in choices else None)
        box.finished.connect(box.deleteLater)
        self.stop_box = box
        box.open()
        return box

    def _stop(self, instance_id: str, choice: OnStop) -> None:
        try:
            self.host.stop_instance(instance_id, on_position=choice)
        except ValueError as exc:
            self.show_message(str(exc), True)
            return
        done = "stopped" if choice is OnStop.CANCEL else f"stopped, {choice.describe()}"
        self.show_message(f"{instance_id} {done}")

    def remove_selected(self) -> None:
        ctx = self.selected()
        if ctx is None:
            return
        answer = QMessageBox.question(
            self, "Remove strategy instance",
            f"Remove {ctx.instance_id}?\n\nIt is stopped and its settings and saved state are "
            "deleted. Its orders, trades and positions stay in the account.")
        if answer == QMessageBox.StandardButton.Yes:
            self._sync(self.host.remove, "removed")

    def reload_selected(self) -> None:
        path = self._file
        if path is not None:
            self.run(self.host.reload_file(path),
                     lambda _: self.show_message(f"{path.name} reloaded"))

    def open_file(self) -> None:
        """The file last selected (an instance's plugin, or a plugin error's) in the editor."""
        if self._file is not None:
            self.open_url(QUrl.fromLocalFile(str(self._file)))

    def add_instance(self, *, prefill: InstanceSettings | None = None
                     ) -> StrategyInstanceDialog | None:
        """The Add dialog (``prefill``: a strategy, symbols, timeframes and parameters to
        start from); the instance is added (and started) when it is accepted."""
        host = self.host
        if not host.catalog.strategies:
            self.show_message("No strategy is loaded: New strategy from template… makes one",
                              True)
            return None
        if self.dialog is not None:
            self.dialog.deleteLater()
        dialog = StrategyInstanceDialog(host.catalog.strategies, self._instruments,
                                        host.contexts, host.validate, self, prefill=prefill)
        dialog.accepted.connect(lambda: self._add(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add(self, dialog: StrategyInstanceDialog) -> None:
        settings = dialog.settings
        if settings is None:
            return
        instance_id = settings.instance_id

        def added(ctx: StrategyContext) -> None:
            self.refresh()
            self.select_instance(instance_id)
            self.show_message(f"{instance_id} added ({ctx.status.value})")

        self.run(self.host.add(settings, start=dialog.start.isChecked()), added)

    def new_from_template(self, name: str | None = None) -> Path | None:
        """Write a strategy file from the template into the user's plugins folder, open it
        and load it; refuses a name that is taken or a file that exists."""
        if name is None:
            name, ok = QInputDialog.getText(
                self, "New strategy from template",
                f"Strategy name (its file goes into {self.user_folder}):")
            if not ok:
                return None
        name = " ".join(name.split())
        if name in self.host.catalog.strategies:
            self.show_message(f"A strategy named {name!r} is already loaded: choose another "
                              "name", True)
            return None
        try:
            path = new_strategy_file(self.user_folder, name)
        except (ValueError, OSError) as exc:  # FileExistsError is an OSError
            self.show_message(f"Not created: {exc}", True)
            return None
        self.open_url(QUrl.fromLocalFile(str(path)))
        self._file = path
        self.run(self.host.reload_file(path), lambda _: self.show_message(
            f"Created {path}: edit it and save, it reloads; Add instance… runs it"))
        return path

    def apply_settings(self) -> None:
        """The form's settings to the host, which restarts a running instance with them."""
        form = self.form
        ctx = self.host.contexts.get(form.instance_id or "")
        if ctx is None or not form.dirty:  # Ctrl+Enter with nothing edited: no restart
            return
        try:
            settings = form.settings()
        except ValueError as exc:
            form.show_result(str(exc), True)
            return
        form.apply_button.setEnabled(False)
        form.show_result("Applying…")

        def applied(_: object) -> None:
            form.show_instance(ctx)
            form.show_result(f"Applied: {ctx.instance_id} restarted with these settings"
                             if ctx.active else "Applied: used from the next start")
            self.refresh()

        def refused(text: str) -> None:
            form.show_result(text, True)
            form.apply_button.setEnabled(True)

        self.run(self.host.update_settings(settings), applied, refused)
