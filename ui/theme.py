"""The dark theme: one stylesheet from resources/ and the colors that carry meaning."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

UP = QColor("#22c55e")
DOWN = QColor("#ef4444")
WARN = QColor("#f59e0b")
NEUTRAL = QColor("#d6dde6")
MUTED = QColor("#8a96a5")
ACCENT = QColor("#3b82f6")
BACKGROUND = QColor("#12161c")
PANEL = QColor("#1a2029")
GRID = QColor("#232a33")
UP_FLASH = QColor(34, 197, 94, 70)
DOWN_FLASH = QColor(239, 68, 68, 70)
# stop-proximity cue behind "ticks to stop" (far, getting close, about to be hit): solid,
# so the pill reads the same on a selected row; the text on it is the light shade
SAFE_BG = QColor("#166534")
NEAR_BG = QColor("#92400e")
DANGER_BG = QColor("#991b1b")
SAFE_TEXT = QColor("#dcfce7")
NEAR_TEXT = QColor("#fef3c7")
DANGER_TEXT = QColor("#fee2e2")
# risk levels (safe, warning, danger, locked): bright for bars and text, dark for pills
ORANGE = QColor("#f97316")
ORANGE_BG = QColor("#9a3412")
ORANGE_TEXT = QColor("#ffedd5")
KILL_BG = QColor("#dc2626")
ON_BRIGHT = QColor("#0b0f14")  # text drawn on a bright fill

MONO = QFont("DejaVu Sans Mono", 9)
MONO.setStyleHint(QFont.StyleHint.Monospace)


def stylesheet() -> str:
    return resources.files("resources").joinpath("theme.qss").read_text(encoding="utf-8")


def apply_theme(app: QApplication, *, charts: bool = True) -> None:
    """Palette and style sheet; ``charts=False`` leaves pyqtgraph (~0.3 s to import) for
    :func:`apply_chart_theme`, called once the first window is on screen."""
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, BACKGROUND)
    palette.setColor(QPalette.ColorRole.Base, BACKGROUND)
    palette.setColor(QPalette.ColorRole.AlternateBase, PANEL)
    palette.setColor(QPalette.ColorRole.Text, NEUTRAL)
    palette.setColor(QPalette.ColorRole.WindowText, NEUTRAL)
    palette.setColor(QPalette.ColorRole.ButtonText, NEUTRAL)
    palette.setColor(QPalette.ColorRole.Button, PANEL)
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#1e3a5f"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet())
    if charts:
        apply_chart_theme()


def apply_chart_theme() -> None:
    """pyqtgraph's colors: set before the first chart is made."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=BACKGROUND, foreground=MUTED, antialias=False)


def direction_color(direction: float) -> QColor:
    return UP if direction > 0 else DOWN if direction < 0 else NEUTRAL
