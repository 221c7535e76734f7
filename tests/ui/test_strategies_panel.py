"""The Strategies dock in the real main window: instances with their status, P&L,
position, signal and timings; the parameter form that restarts an instance with new
values; the plugin errors; the lifecycle buttons; Add instance and New strategy from
template. Plugins are written into the home's plugins folder before the window opens,
so the engine loads them at start."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QMessageBox, QPushButton, QToolButton

from tests.ui.test_main_window import at, publish
from ui import theme
from ui.models.strategies_model import COLUMNS, NO_ERRORS, STATUS
from workstation.model import Quote, Tick
from workstation.strategies.instances import InstanceSettings, InstanceStatus

LEFT = Qt.MouseButton.LeftButton
SIZED = """
    from workstation.strategy import Param, Strategy


    class Sized(Strategy):
        name = "Sized"
        version = "2.1"
        description = "Counts its starts and remembers its size"
        size = Param(2, min=1, max=10, step=1, doc="contracts per entry")
        ratio = Param(0.5, min=0.1, max=0.9, step=0.05, doc="a ratio")
        fast = Param(True, doc="a switch")
        mode = Param("trend", choices=("trend", "revert"), doc="how it trades")

        def on_start(self):
            self.state["starts"] = self.state.get("starts", 0) + 1
            self.state["started_with"] = self.size

        def on_stop(self):
            self.state["stops"] = self.state.get("stops", 0) + 1
            self.state["stopped_with"] = self.size
"""
TRADER = """
    from workstation.strategy import Strategy


    class FirstBar(Strategy):
        name = "First bar"

        def on_bar(self, bar):
            if not self.position(bar.symbol):
                self.emit_signal(bar.symbol, "long", bar, notes="first bar")
                self.buy(bar.symbol, 1)
"""
BROKEN = "x = 1\nraise RuntimeError('broken on purpose')\n"


@pytest.fixture(autouse=True)
def only_home_plugins(monkeypatch):
    """The home's plugins folder only: the repository's shipped examples stay out."""
    monkeypatch.setattr("workstation.engine.default_plugin_folders",
                        lambda home: [home / "plugins"])


def plugins(home: Path, **files: str) -> Path:
    folder = home / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def settings(instance_id: str = "sized-1", strategy: str = "Sized", **fields) -> InstanceSettings:
    return InstanceSettings(instance_id=instance_id, strategy=strategy, symbols=("NQ",),
                            **fields)


def open_panel(workstation, qtbot, home: Path, *instances: InstanceSettings, run=None):
    window = workstation(home)
    for item in instances:
        run(window.engine.strategies.add(item))
    window.actions["focus_strategies"].trigger()  # Alt+9: the dock is tabbed behind Trades
    panel = window.strategies_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == len(instances))
    return window, panel


def cell(panel, instance_id: str, column: str, role=Qt.ItemDataRole.DisplayRole):
    model = panel.model
    return model.data(model.index(model.row_of(instance_id), COLUMNS.index(column)), role)


def click_row(qtbot, panel, instance_id: str) -> None:
    index = panel.model.index(panel.model.row_of(instance_id), 0)
    rect = panel.table.visualRect(index)
    qtbot.mouseClick(panel.table.viewport(), LEFT, pos=rect.center())
    assert panel.selected().instance_id == instance_id


def button(window, action_id: str) -> QToolButton:
    return window.strategies_panel.findChild(QToolButton, f"button_{action_id}")


def error_lines(panel) -> list[str]:
    model = panel.errors_model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_editing_a_parameter_restarts_the_instance_with_it(workstation, qtbot, run, tmp_path):
    plugins(tmp_path, sized=SIZED)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings(), run=run)
    ctx = window.engine.strategies.contexts["sized-1"]
    assert ctx.state == {"starts": 1, "started_with": 2}
    click_row(qtbot, panel, "sized-1")
    form = panel.form
    spin = form.param_widgets["size"]
    assert spin.value() == 2 and not form.apply_button.isEnabled()
    assert "contracts per entry" in spin.toolTip()
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "5")
    assert spin.value() == 5 and form.apply_button.isEnabled()
    qtbot.mouseClick(form.apply_button, LEFT)
    qtbot.waitUntil(lambda: ctx.settings.params["size"] == 5 and ctx.state.get("starts") == 2)
    assert ctx.status is InstanceStatus.RUNNING
    # the old object got on_stop with the old value, the new one on_start with the new value
    assert ctx.state == {"starts": 2, "started_with": 5, "stops": 1, "stopped_with": 2}
    assert ctx.strategy is not None and ctx.strategy.size == 5
    qtbot.waitUntil(lambda: "restarted" in form.message.text())
    assert form.param_widgets["size"].value() == 5
    assert not form.dirty and not form.apply_button.isEnabled()
    assert cell(panel, "sized-1", "Status") == "running"


def test_the_form_follows_the_declared_params_and_refuses_what_is_out_of_bounds(
        workstation, qtbot, run, tmp_path):
    plugins(tmp_path, sized=SIZED)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings(), run=run)
    ctx = window.engine.strategies.contexts["sized-1"]
    panel.select_instance("sized-1")
    form = panel.form
    widgets = form.param_widgets
    assert (widgets["size"].minimum(), widgets["size"].maximum()) == (1, 10)
    assert (widgets["ratio"].decimals(), widgets["ratio"].singleStep()) == (2, 0.05)
    assert widgets["fast"].isChecked()
    assert [widgets["mode"].itemText(i) for i in range(2)] == ["trend", "revert"]
    spin = widgets["size"]
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "99")  # the second 9 would make 99: refused as typed
    assert spin.value() <= 10
    spin.setValue(50)
    assert spin.value() == 10
    widgets["ratio"].setValue(5.0)
    assert widgets["ratio"].value() == 0.9
    # a stop of 150 % is not a stop: refused by the settings' validation, shown in red
    form.risk["stop_pct"].setText("150")
    qtbot.mouseClick(form.apply_button, LEFT)
    assert form.message.text() == "Stop %: must be less than 100"
    assert theme.DOWN.name() in form.message.styleSheet()
    assert form.message.isVisibleTo(form)
    form.risk["stop_pct"].setText("")
    form.allocation.setText("lots")
    qtbot.mouseClick(form.apply_button, LEFT)
    assert form.message.text() == "Allocation: 'lots' is not a number"
    assert ctx.settings.params["size"] == 2 and ctx.settings.allocation is None
    assert ctx.state["starts"] == 1  # nothing was applied
    qtbot.mouseClick(form.revert_button, LEFT)
    assert form.param_widgets["size"].value() == 2 and form.allocation.text() == ""
    assert not form.message.isVisibleTo(form)
    # limits that are valid are applied: 2.5 % stop, 09:30 window start, 3 positions
    form.risk["stop_pct"].setText("2.5")
    form.risk["max_concurrent_positions"].setText("3")
    check, edit = form.window["window_start"]
    check.setChecked(True)
    edit.setTime(edit.time().fromString("09:30", "HH:mm"))
    window.activateWindow()
    form.risk["stop_pct"].setFocus()
    qtbot.keyClick(form.risk["stop_pct"], Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter applies
    qtbot.waitUntil(lambda: ctx.settings.risk.stop_pct == 2.5)
    assert ctx.settings.risk.max_concurrent_positions == 3
    assert str(ctx.settings.window_start) == "09:30:00" and ctx.settings.window_end is None


def test_a_disabled_instance_shows_error_in_red_with_its_reason(workstation, qtbot, run,
                                                               tmp_path):
    plugins(tmp_path, sized=SIZED)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings(), run=run)
    assert cell(panel, "sized-1", "Status") == "running"
    assert cell(panel, "sized-1", "Status", Qt.ItemDataRole.ForegroundRole) == theme.UP
    assert cell(panel, "sized-1", "Strategy") == "Sized v2.1"
    window.engine.strategies.contexts["sized-1"].disable("boom")
    qtbot.waitUntil(lambda: cell(panel, "sized-1", "Status") == "error")
    assert cell(panel, "sized-1", "Status", Qt.ItemDataRole.ForegroundRole) == theme.DOWN
    assert "boom" in cell(panel, "sized-1", "Status", Qt.ItemDataRole.ToolTipRole)
    panel.select_instance("sized-1")
    assert button(window, "strategy_start").isEnabled()
    assert not button(window, "strategy_pause").isEnabled()


def test_plugin_errors_show_file_line_and_message_and_clear_when_fixed(workstation, qtbot,
                                                                       tmp_path):
    folder = plugins(tmp_path, broken=BROKEN)
    window = workstation(tmp_path)
    panel = window.strategies_panel
    expected = "broken.py line 2: RuntimeError while importing: broken on purpose"
    qtbot.waitUntil(lambda: error_lines(panel) == [expected])
    model = panel.errors_model
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole) == theme.DOWN
    assert panel.errors_label.text() == "Plugin errors (1)"
    assert not window.actions["strategy_add"].isEnabled()  # nothing to run yet
    (folder / "broken.py").write_text(textwrap.dedent(SIZED), encoding="utf-8")
    panel.errors.setCurrentIndex(model.index(0, 0))  # Reload acts on the chosen error's file
    opened = []
    panel.open_url = opened.append
    panel.errors.activated.emit(model.index(0, 0))
    assert opened[0].toLocalFile() == str(folder / "broken.py")
    qtbot.mouseClick(button(window, "strategy_reload"), LEFT)
    qtbot.waitUntil(lambda: error_lines(panel) == [NO_ERRORS])
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole) == theme.MUTED
    assert panel.errors_label.text() == "Plugin errors"
    assert "Sized" in window.engine.strategies.catalog.strategies
    assert window.actions["strategy_add"].isEnabled()


def test_pause_stop_and_start_buttons_change_the_status(workstation, qtbot, run, tmp_path,
                                                        monkeypatch):
    plugins(tmp_path, sized=SIZED)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings(), run=run)
    ctx = window.engine.strategies.contexts["sized-1"]
    click_row(qtbot, panel, "sized-1")
    qtbot.mouseClick(button(window, "strategy_pause"), LEFT)
    assert ctx.status is InstanceStatus.PAUSED
    qtbot.waitUntil(lambda: cell(panel, "sized-1", "Status") == "paused")
    assert cell(panel, "sized-1", "Status", Qt.ItemDataRole.ForegroundRole) == theme.WARN
    assert not button(window, "strategy_pause").isEnabled()
    qtbot.mouseClick(button(window, "strategy_start"), LEFT)
    qtbot.waitUntil(lambda: cell(panel, "sized-1", "Status") == "running")
    assert panel.status.text() == "sized-1 resumed"
    qtbot.mouseClick(button(window, "strategy_stop"), LEFT)
    qtbot.waitUntil(lambda: cell(panel, "sized-1", "Status") == "stopped")
    assert cell(panel, "sized-1", "Status", Qt.ItemDataRole.ForegroundRole) == theme.MUTED
    assert ctx.state["stops"] == 1
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Space)  # Space starts it again
    qtbot.waitUntil(lambda: ctx.status is InstanceStatus.RUNNING)
    assert ctx.state["starts"] == 2
    asked = []
    monkeypatch.setattr("ui.panels.strategies.QMessageBox.question",
                        lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.Yes)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)  # Delete removes it, once confirmed
    assert asked and asked[0].startswith("Remove sized-1?")
    assert "sized-1" not in window.engine.strategies.contexts
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0)
    assert panel.form.instance_id is None and not button(window, "strategy_remove").isEnabled()


def test_add_instance_dialog_validates_then_adds_and_starts_it(workstation, qtbot, tmp_path):
    plugins(tmp_path, sized=SIZED)
    window = workstation(tmp_path)
    panel = window.strategies_panel
    host = window.engine.strategies
    qtbot.waitUntil(lambda: window.actions["strategy_add"].isEnabled())
    window.actions["strategy_add"].trigger()
    dialog = panel.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.strategy.currentData() == "Sized"
    assert dialog.instance_id.text() == "sized-1"
    assert dialog.chosen_symbols() == ["NQ"] and dialog.timeframes.text() == "1m"
    dialog.timeframes.setText("1m, 7x")
    dialog.accept()
    assert dialog.isVisible() and "bad timeframe '7x'" in dialog.error.text()
    dialog.timeframes.setText("1m, 5m")
    dialog.instance_id.setText("nq es!")
    dialog.accept()
    assert dialog.isVisible() and "use letters, digits" in dialog.error.text()
    dialog.instance_id.setText("nq-es")
    dialog.symbols.item(1).setCheckState(Qt.CheckState.Checked)  # ES
    dialog.accept()
    qtbot.waitUntil(lambda: "nq-es" in host.contexts and panel.selected() is not None)
    ctx = host.contexts["nq-es"]
    assert ctx.settings.symbols == ("NQ", "ES") and ctx.settings.timeframes == ("1m", "5m")
    assert ctx.status is InstanceStatus.RUNNING
    assert ctx.settings.params == {"size": 2, "ratio": 0.5, "fast": True, "mode": "trend"}
    assert panel.selected() is ctx and panel.form.instance_id == "nq-es"
    assert cell(panel, "nq-es", "Symbols") == "NQ, ES"
    window.actions["strategy_add"].trigger()
    assert panel.dialog.instance_id.text() == "sized-1"  # still free: nq-es was typed


def test_new_strategy_from_template_writes_opens_and_loads_it(workstation, qtbot, tmp_path):
    window = workstation(tmp_path)
    panel = window.strategies_panel
    host = window.engine.strategies
    opened = []
    panel.open_url = opened.append
    assert window.actions["strategy_new"].shortcut().toString() == "Ctrl+Shift+N"
    path = panel.new_from_template("My breakout")
    assert path == tmp_path / "plugins" / "my_breakout.py" and path.exists()
    assert [url.toLocalFile() for url in opened] == [str(path)]
    # the catalog takes the class inside the reload; the message comes once it is done
    qtbot.waitUntil(lambda: "My breakout" in host.catalog.strategies
                    and "Created" in panel.status.text())
    assert host.problems == []
    qtbot.waitUntil(lambda: window.actions["strategy_add"].isEnabled())
    assert panel.new_from_template("My breakout") is None  # the name is taken
    assert "already loaded" in panel.status.text()
    assert theme.DOWN.name() in panel.status.styleSheet()
    assert panel.new_from_template("my BREAKOUT") is None  # a new name, the same file
    assert "already exists" in panel.status.text()
    assert panel.new_from_template("  ") is None
    assert "needs a name" in panel.status.text()


def test_the_dock_is_tabbed_with_trades_in_the_view_and_strategies_menus(workstation):
    window = workstation()
    dock = window.docks["strategies"]
    assert dock.objectName() == "dock.strategies" and dock.windowTitle() == "Strategies"
    assert dock in window.tabifiedDockWidgets(window.docks["trades"])
    view = next(m for m in window.menuBar().actions() if m.text() == "&View").menu()
    assert dock.toggleViewAction() in view.actions()
    menu = next(m for m in window.menuBar().actions() if m.text() == "&Strategies").menu()
    assert [a.text() for a in menu.actions()] == [
        "Add instance…", "Start", "Pause", "Stop", "Remove…", "Reload file", "Open file",
        "New strategy from template…"]
    assert window.actions["focus_strategies"].shortcut().toString() == "Alt+9"
    window.actions["focus_strategies"].trigger()
    assert window.strategies_panel.table.hasFocus() or not window.isActiveWindow()
    assert window.strategies_panel.errors_model.data(
        window.strategies_panel.errors_model.index(0, 0)) == NO_ERRORS


def test_a_trading_instance_reads_well(workstation, qtbot, run, tmp_path):
    """P&L, position, signal and timings in a populated dock; no column clips its text.
    BRACKET_STRATEGIES_SHOT=path saves a screenshot of the window there."""
    plugins(tmp_path, sized=SIZED, trader=TRADER, broken=BROKEN)
    window, panel = open_panel(
        workstation, qtbot, tmp_path, settings("first-bar", "First bar"), settings(),
        settings("sized-paused", params={"size": 3}), settings("sized-error"), run=run)
    host = window.engine.strategies
    host.pause_instance("sized-paused")
    host.contexts["sized-error"].disable("3 failures in a row; last: on_bar: ZeroDivisionError")
    # the 10:01:05 trade closes the 10:00 bar: a signal and a buy at the 21,000.25 ask
    publish(window, Tick("NQ", at(15, 0, 0), 21000.00, 1, 1),
            Quote("NQ", at(15, 0, 1), 21000.00, 21000.25, 10, 10),
            Tick("NQ", at(15, 1, 5), 21010.00, 1, 1),
            Quote("NQ", at(15, 1, 6), 21010.00, 21010.25, 10, 10))
    ctx = host.contexts["first-bar"]
    qtbot.waitUntil(lambda: cell(panel, "first-bar", "Position") == "+1 NQ")
    qtbot.waitUntil(lambda: cell(panel, "first-bar", "P&L today") != "+0.00")
    assert cell(panel, "first-bar", "Last signal") == "long NQ 10:01"
    assert cell(panel, "first-bar", "Last signal", Qt.ItemDataRole.ForegroundRole) == theme.UP
    assert cell(panel, "first-bar", "Orders") == "1"
    assert ctx.stats["on_bar"].calls == 1
    pnl = host.pnl_today("first-bar")
    assert cell(panel, "first-bar", "P&L today") == f"{pnl:+,.2f}"
    assert cell(panel, "first-bar", "P&L today",
                Qt.ItemDataRole.ForegroundRole) == theme.direction_color(pnl)
    assert cell(panel, "first-bar", "P&L today", Qt.ItemDataRole.TextAlignmentRole) == \
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    assert cell(panel, "sized-1", "Position") == "flat"
    assert [cell(panel, i, "Status") for i in ("sized-paused", "sized-error")] == [
        "paused", "error"]
    panel.select_instance("sized-1")  # the form shows its four parameters
    qtbot.waitUntil(lambda: error_lines(panel)[0].startswith("broken.py line 2"))
    qtbot.wait(50)
    header = panel.table.horizontalHeader()
    for column in range(len(COLUMNS)):
        if column == STATUS or column == len(COLUMNS) - 1:  # the last one stretches
            continue
        for row in range(panel.model.rowCount()):
            index = panel.model.index(row, column)
            font = index.data(Qt.ItemDataRole.FontRole) or panel.table.font()
            width = QFontMetrics(font).horizontalAdvance(index.data())
            assert width + 8 <= header.sectionSize(column), (COLUMNS[column], index.data())
    shot = window.grab()
    assert shot.save(str(tmp_path / "strategies.png"))
    if os.environ.get("BRACKET_STRATEGIES_SHOT"):
        shot.save(os.environ["BRACKET_STRATEGIES_SHOT"])


def test_reloading_the_file_restarts_the_instance_and_the_form_shows_new_params(
        workstation, qtbot, run, tmp_path):
    folder = plugins(tmp_path, sized=SIZED)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings(), run=run)
    ctx = window.engine.strategies.contexts["sized-1"]
    click_row(qtbot, panel, "sized-1")
    assert list(panel.form.param_widgets) == ["size", "ratio", "fast", "mode"]
    source = textwrap.dedent(SIZED).replace(
        '    mode = Param("trend"',
        '    extra = Param(7, min=0, max=9, doc="new")\n    mode = Param("trend"')
    (folder / "sized.py").write_text(source, encoding="utf-8")
    qtbot.mouseClick(button(window, "strategy_reload"), LEFT)
    qtbot.waitUntil(lambda: "extra" in panel.form.param_widgets)
    assert panel.form.param_widgets["extra"].value() == 7
    assert ctx.status is InstanceStatus.RUNNING and ctx.state["starts"] >= 2
    assert ctx.settings.params["size"] == 2


def first_bar_holding_one_nq(workstation, qtbot, run, tmp_path):
    """A First bar instance that bought 1 NQ when the 10:00 bar closed."""
    plugins(tmp_path, trader=TRADER)
    window, panel = open_panel(workstation, qtbot, tmp_path, settings("first-bar", "First bar"),
                               run=run)
    publish(window, Tick("NQ", at(15, 0, 0), 21000.00, 1, 1),
            Quote("NQ", at(15, 0, 1), 21000.00, 21000.25, 10, 10),
            Tick("NQ", at(15, 1, 5), 21010.00, 1, 1),
            Quote("NQ", at(15, 1, 6), 21010.00, 21010.25, 10, 10))
    qtbot.waitUntil(lambda: window.engine.portfolio.position("NQ") == 1)
    click_row(qtbot, panel, "first-bar")
    return window, panel


@pytest.mark.parametrize(("choice", "position", "said"), [
    ("stopFlatten", 0, "first-bar stopped, its orders canceled and positions closed"),
    ("stopKeep", 1, "first-bar stopped, its positions and orders kept"),
])
def test_stopping_an_instance_that_holds_a_position_asks_what_becomes_of_it(
        workstation, qtbot, run, tmp_path, choice, position, said):
    window, panel = first_bar_holding_one_nq(workstation, qtbot, run, tmp_path)

    qtbot.mouseClick(button(window, "strategy_stop"), LEFT)
    box = panel.stop_box
    assert box is not None and box.isVisible()
    assert box.text() == ("first-bar holds a position (+1 NQ). What becomes of it when the "
                          "instance stops?")
    assert sorted(b.text() for b in box.buttons()) == [
        "&Flatten", "&Keep position and orders", "Cancel"]
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(box.findChild(QPushButton, choice), LEFT)

    ctx = window.engine.strategies.contexts["first-bar"]
    qtbot.waitUntil(lambda: window.engine.portfolio.position("NQ") == position)
    assert ctx.status is InstanceStatus.STOPPED
    assert panel.status.text() == said


def test_cancelling_the_stop_question_leaves_the_instance_running(workstation, qtbot, run,
                                                                  tmp_path):
    window, panel = first_bar_holding_one_nq(workstation, qtbot, run, tmp_path)

    box = panel.stop_selected()
    assert box is not None
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), LEFT)

    ctx = window.engine.strategies.contexts["first-bar"]
    assert ctx.status is InstanceStatus.RUNNING
    assert window.engine.portfolio.position("NQ") == 1
