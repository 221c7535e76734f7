"""The first window fits the screen it opens on: a 1366 x 768 laptop shows the whole
window, status bar and its PAPER and RISK badges included (in a subprocess: the offscreen
screen's size is fixed when Qt starts)."""

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
    "signals_tab": window.docks["signals"] in window.tabifiedDockWidgets(
        window.docks["trades"]),
}))
window.save_layout()  # as closing does: the next start restores it
"""


def open_window_on_screen(tmp_path: Path, width: int, height: int) -> dict:
    """Open the main window in a fresh process on a ``width`` x ``height`` screen, with the
    Bracket home in tmp_path (a layout saved by an earlier call is restored)."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": "laptop", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}), encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-c", PROBE, str(home)], env=env,
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
    assert shown["signals_tab"]  # a short screen: Signals is a tab beside Trades


def test_a_layout_saved_on_a_large_screen_is_fitted_to_a_small_one(tmp_path):
    big = open_window_on_screen(tmp_path, 2560, 1440)  # saves its layout
    assert not big["signals_tab"] and (tmp_path / "home" / "ui.ini").exists()

    shown = open_window_on_screen(tmp_path, 1366, 768)

    x, y, width, height = shown["frame"]
    assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768
    assert shown["badges"] == [True, True, True]


def test_a_large_screen_gets_the_default_1440x860_window(tmp_path):
    shown = open_window_on_screen(tmp_path, 1920, 1080)

    assert shown["size"] == [1440, 860]
    assert shown["badges"] == [True, True, True]
    assert not shown["signals_tab"]


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
