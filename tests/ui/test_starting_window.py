"""The first window on screen, painted before the engine is loaded: it says Bracket is
starting, at the main window's size (or where the main window was left)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings, QSize

from ui.startup import DEFAULT_SIZE, LAYOUT_FILE, STARTING, FirstPaint, StartingWindow


def test_the_starting_window_says_starting_in_its_status_bar_at_the_default_size(tmp_path,
                                                                                   qtbot):
    window = StartingWindow(tmp_path, QRect(0, 0, 1920, 1080), fixed=True)
    qtbot.addWidget(window)

    assert window.statusBar().currentMessage() == STARTING
    assert window.size() == DEFAULT_SIZE
    assert window.windowTitle() == "Bracket — starting…"


def test_the_starting_window_fits_a_small_screen(tmp_path, qtbot):
    window = StartingWindow(tmp_path, QRect(0, 0, 1366, 768), fixed=False)
    qtbot.addWidget(window)

    assert window.size() == QSize(1350, 720)  # the screen less the room kept for a frame


def test_the_starting_window_fills_a_desktop_screen_as_the_main_window_will(tmp_path, qtbot):
    window = StartingWindow(tmp_path, QRect(0, 0, 1920, 1080), fixed=False)
    qtbot.addWidget(window)

    assert window.size() == QSize(1904, 1032)


def test_the_starting_window_opens_where_the_main_window_was_left(tmp_path, qtbot):
    left = StartingWindow(tmp_path, None, fixed=True)
    qtbot.addWidget(left)
    left.resize(1000, 700)
    settings = QSettings(str(tmp_path / LAYOUT_FILE), QSettings.Format.IniFormat)
    settings.setValue("window/geometry", left.saveGeometry())
    settings.sync()

    window = StartingWindow(tmp_path, QRect(0, 0, 1920, 1080), fixed=False)
    qtbot.addWidget(window)

    assert window.size() == QSize(1000, 700)


def test_the_first_paint_is_noted_once_with_the_process_age(tmp_path, qtbot):
    window = StartingWindow(tmp_path, None, fixed=True)
    qtbot.addWidget(window)
    first_paint = FirstPaint()
    first_paint.watch(window)
    assert first_paint.ms is None

    window.show()
    qtbot.waitUntil(lambda: first_paint.ms is not None)
    noted = first_paint.ms
    window.repaint()

    assert noted is not None and noted > 0
    assert first_paint.ms == noted
