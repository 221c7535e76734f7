"""The Risk settings dialog: a prop-firm preset and size or the trader's own limits,
validated by the engine's models, written to settings.toml with everything else kept,
and honest that a restart applies it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from workstation.config import load_settings

SETTINGS = """# my settings
watchlist = ["NQ", "ES"]

[feed]
speed = 2.0

[risk.order]
max_qty = 5  # contracts per order
"""


def menu_actions(window, title: str) -> list[str]:
    menu = next(m for m in window.menuBar().actions() if m.text() == title).menu()
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_a_topstep_preset_and_a_daily_loss_are_saved_with_the_rest_of_the_file_kept(
        workstation, qtbot, tmp_path: Path):
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    window = workstation(settings=load_settings(path))
    assert menu_actions(window, "Ris&k") == ["Risk &settings…", "&Kill switch…",
                                             "Reset kill s&witch…"]
    window.actions["risk_settings"].trigger()
    dialog = window.risk_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.prop_group.isChecked()  # nothing set yet: every limit off
    assert [box.text() for box in dialog.limits.values()] == ["off"] * 5

    dialog.prop_group.setChecked(True)
    dialog.style.setCurrentIndex(dialog.style.findData("topstep"))
    dialog.size.setCurrentText("50,000")
    dialog.limits["daily_loss"].setValue(800)
    assert dialog.preview.text() == (
        "Enforces daily loss 1,000, max loss 2,000, profit target 3,000, 5 contracts. The "
        "paper account starts at 50,000. A breach turns the kill switch on and closes every "
        "position.")
    assert dialog.save()

    saved = load_settings(path)
    assert saved.risk.prop is not None
    assert (saved.risk.prop.style, saved.risk.prop.account_size) == ("topstep", 50_000.0)
    assert saved.risk.portfolio.daily_loss == 800.0
    assert saved.risk.order.max_qty == 5  # the other risk settings are kept
    assert (saved.feed.speed, saved.watchlist) == (2.0, ["NQ", "ES"])  # and other sections
    assert (tmp_path / "settings.toml.bak").read_text(encoding="utf-8") == SETTINGS
    assert not dialog.isVisible()
    assert "restart Bracket to apply them" in window.notice.text()
    assert window.risk_panel.note.text() == "Saved: restart Bracket to apply"
    assert window.engine.risk.settings.prop is None  # in force until the restart


def test_a_bad_account_size_is_refused_by_name_and_nothing_is_written(
        workstation, qtbot, tmp_path: Path):
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    window = workstation(settings=load_settings(path))
    dialog = window.open_risk_settings()
    dialog.prop_group.setChecked(True)
    dialog.size.setCurrentText("-5")

    assert not dialog.save()

    assert dialog.error.text() == (
        "Not saved: risk.prop.account_size: Input should be greater than 0")
    assert dialog.isVisible()
    assert path.read_text(encoding="utf-8") == SETTINGS
    assert not (tmp_path / "settings.toml.bak").exists()


def test_turning_the_preset_off_removes_it_and_a_first_save_creates_the_file(
        workstation, qtbot, tmp_path: Path):
    window = workstation()  # no settings.toml yet
    dialog = window.open_risk_settings()
    dialog.limits["max_drawdown"].setValue(2_500)
    dialog.limits["loss_streak"].setValue(3)
    dialog.flatten.setChecked(True)

    assert dialog.save()

    text = (tmp_path / "settings.toml").read_text(encoding="utf-8")
    assert text == ("[risk]\nflatten_on_kill = true\n\n[risk.portfolio]\n"
                    "max_drawdown = 2500.0\nloss_streak = 3\n")


def test_with_no_limits_the_risk_dock_points_at_the_settings_dialog(workstation, qtbot):
    window = workstation()
    panel = window.risk_panel
    window.focus_dock("risk")
    qtbot.waitUntil(lambda: panel.empty_note.isVisibleTo(panel))
    assert "Risk settings…" in panel.empty_note.text()
    assert "settings.toml" not in panel.empty_note.text()
    button = panel.findChild(QToolButton, "riskSettingsButton")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.risk_dialog is not None and window.risk_dialog.isVisible()
