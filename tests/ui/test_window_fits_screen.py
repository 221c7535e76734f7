"""The first window fits the screen it opens on: a 1366 x 768 laptop shows the whole
window, status bar and its PAPER and RISK badges included, the chart gets most of it and
no table collapses (in a subprocess: the offscreen screen's size is fixed when Qt
starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from ui.theme import DOWN

PROBE = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from ui.bridge import EngineBridge, LogBuffer
from ui.main_window import MainWindow
from workstation.config import Settings
from workstation.engine import Engine
from workstation.feeds.replay import ReplayFeed
home = Path(sys.argv[1])
engine = Engine(Settings(), home, lambda bus, clock, bp: ReplayFeed([], bus, clock, speed=None))
window = MainWindow(engine, EngineBridge(engine, LogBuffer()), home)
window.show()
for _ in range(5):
    app.processEvents()
if len(sys.argv) > 2:  # dragged there before closing
    window.move(int(sys.argv[2]), int(sys.argv[3]))
    app.processEvents()
def rows(table):
    # whole rows the table has room for below its header
    room = table.height() - table.horizontalHeader().height() - table.horizontalScrollBar().height()
    return room // table.verticalHeader().defaultSectionSize()
def min_rows(table):
    room = (table.minimumHeight() - table.horizontalHeader().sizeHint().height()
            - table.horizontalScrollBar().sizeHint().height())
    return room // table.verticalHeader().defaultSectionSize()
chart = window.docks["chart"]
def inside(widget):
    top_left = widget.mapTo(window, widget.rect().topLeft())
    bottom_right = widget.mapTo(window, widget.rect().bottomRight())
    return (widget.isVisible() and window.rect().contains(top_left)
            and window.rect().contains(bottom_right))
available = window.screen().availableGeometry()
frame = window.frameGeometry()
print(json.dumps({
    "available": [available.x(), available.y(), available.width(), available.height()],
    "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
    "size": [window.width(), window.height()],
    "badges": [inside(window.badge), inside(window.risk_indicator), inside(window.clock_label)],
    "signals_tab": window.tabifiedDockWidgets(window.docks["trades"]) == [
        window.docks["strategies"], window.docks["signals"], window.docks["backtest"]],
    "chart_share": [round(chart.width() / window.width(), 2),
                    round(chart.height() / window.height(), 2)],
    "rows": {"watchlist": rows(window.watchlist.table),
             "working": rows(window.orders.working_table)},
    "min_rows": {"watchlist": min_rows(window.watchlist.table),
                 "working": min_rows(window.orders.working_table),
                 "rules": min_rows(window.risk_panel.rules_table)},
}))
window.save_layout()  # as closing does: the next start restores it
"""


def open_window_on_screen(tmp_path: Path, width: int, height: int,
                          move_to: tuple[int, int] | None = None) -> dict:
    """Open the main window in a fresh process on a ``width`` x ``height`` screen, with the
    Bracket home in tmp_path (a layout saved by an earlier call is restored); ``move_to``:
    where the window is moved before its layout is saved."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": "laptop", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}), encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    moved = [str(v) for v in move_to] if move_to else []
    result = subprocess.run([sys.executable, "-c", PROBE, str(home), *moved], env=env,
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_first_window_fits_a_1366x768_screen_with_its_status_badges_visible(tmp_path):
    shown = open_window_on_screen(tmp_path, 1366, 768)

    x, y, width, height = shown["frame"]
    assert shown["available"] == [0, 0, 1366, 768]
    assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768
    assert shown["badges"] == [True, True, True]  # PAPER, RISK and the clock


def test_on_a_laptop_screen_the_chart_gets_most_of_the_window_and_no_table_collapses(tmp_path):
    shown = open_window_on_screen(tmp_path, 1366, 768)

    chart_width, chart_height = shown["chart_share"]
    assert chart_width >= 0.65 and chart_height >= 0.5
    assert shown["rows"]["watchlist"] >= 5
    assert shown["rows"]["working"] >= 3
    assert shown["min_rows"] == {"watchlist": 5, "working": 3, "rules": 4}
    assert shown["signals_tab"]  # signals, strategies and trades share the tables' row


def test_a_layout_saved_on_a_large_screen_is_fitted_to_a_small_one(tmp_path):
    big = open_window_on_screen(tmp_path, 2560, 1440)  # saves its layout
    assert big["size"] == [2544, 1392] and (tmp_path / "home" / "ui.ini").exists()

    shown = open_window_on_screen(tmp_path, 1366, 768)

    x, y, width, height = shown["frame"]
    assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768
    assert shown["badges"] == [True, True, True]
    assert shown["rows"]["working"] >= 3


def test_a_window_left_beyond_a_smaller_screen_is_brought_back_onto_it(tmp_path):
    open_window_on_screen(tmp_path, 2560, 1440, move_to=(1900, 900))  # right, low

    shown = open_window_on_screen(tmp_path, 1366, 768)

    x, y, width, height = shown["frame"]
    assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768


def test_the_first_window_fills_the_available_area_of_a_desktop_screen(tmp_path):
    shown = open_window_on_screen(tmp_path, 1920, 1080)

    assert shown["frame"] == [0, 0, 1920 - 16 + 4, 1080 - 48 + 4]
    assert shown["size"] == [1904, 1032]  # the screen less the room kept for a frame
    assert shown["badges"] == [True, True, True]
    chart_width, chart_height = shown["chart_share"]
    assert chart_width >= 0.7 and chart_height >= 0.55


def test_a_long_status_message_is_elided_and_whole_in_its_tooltip(workstation, qtbot):
    window = workstation()
    width = window.width()
    text = "Flatten all: " + "; ".join(f"closing order {n} sent" for n in range(40))
    window.notify(text, True)
    qtbot.wait(50)  # the status bar lays out once

    painted = QLabel.text(window.notice)  # what the label draws
    assert window.notice.toolTip() == text
    assert window.notice.text() == f"<span style='color:{DOWN.name()}'>{text}</span>"
    assert painted.startswith(f"<span style='color:{DOWN.name()}'>Flatten all: closing order")
    assert painted.endswith("…</span>") and len(painted) < len(text)
    assert window.width() == width  # the message did not widen the window
