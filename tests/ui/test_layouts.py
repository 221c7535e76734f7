"""Named layouts (View → Layouts) and the keyboard shortcut reference (Help)."""

from __future__ import annotations

from ui.dialogs.shortcuts import shortcut_rows
from ui.layouts import clean_name


def layout_names(window) -> list[str]:
    window.layouts_menu.rebuild()
    return [a.text() for a in window.layouts_menu.actions()
            if not a.isSeparator() and a.menu() is None][:-1]  # less "Save layout as…"


def test_a_saved_layout_is_listed_switched_to_and_kept_for_the_next_start(workstation,
                                                                            tmp_path, run):
    first = workstation(tmp_path)
    assert layout_names(first) == ["Trading", "Review"]
    first.docks["log"].hide()
    first.docks["watchlist"].hide()
    assert first.layouts_menu.save("  Scalping   NQ ") == "Scalping NQ"
    first.layouts_menu.switch("Trading")
    assert not first.docks["log"].isHidden() and not first.docks["watchlist"].isHidden()
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)
    assert layout_names(second) == ["Trading", "Review", "Scalping NQ"]
    assert second.layouts_menu.switch("Scalping NQ")
    assert second.docks["log"].isHidden() and second.docks["watchlist"].isHidden()
    assert "Layout Scalping NQ" in second.notice.text()


def test_deleting_a_saved_layout_removes_it_and_a_built_in_comes_back(workstation):
    window = workstation()
    window.docks["chart"].hide()
    window.layouts_menu.save("Review")  # overrides the built-in Review
    window.layouts_menu.save("Spare")
    assert layout_names(window) == ["Trading", "Review", "Spare"]
    delete = next(a.menu() for a in window.layouts_menu.actions() if a.menu() is not None)
    assert [a.text() for a in delete.actions()] == ["Review", "Spare"]

    window.layouts_menu.delete("Spare")
    window.layouts_menu.delete("Review")
    assert layout_names(window) == ["Trading", "Review"]
    assert "Layout Review deleted (the built-in one is back)" in window.notice.text()
    window.layouts_menu.switch("Review")
    assert not window.docks["chart"].isHidden()


def test_the_review_layout_gives_the_trades_and_their_excursion_more_room(workstation, qtbot):
    window = workstation()
    qtbot.waitUntil(lambda: window.docks["trades"].height() > 0)
    trading_tables = window.docks["trades"].height()

    window.layouts_menu.switch("Review")
    qtbot.waitUntil(lambda: window.docks["trades"].height() > window.docks["chart"].height())

    assert window.docks["trades"].height() > trading_tables
    assert not window.docks["excursion"].visibleRegion().isEmpty()
    assert not window.docks["trades"].visibleRegion().isEmpty()


def test_an_empty_layout_name_is_refused_with_a_message(workstation):
    window = workstation()
    assert window.layouts_menu.save(" \t\x00 ") is None
    assert "A layout needs a name" in window.notice.text()
    assert layout_names(window) == ["Trading", "Review"]
    assert clean_name("a\ud800b\x07c" + "x" * 60) == ("a b c" + "x" * 60)[:40]


def test_help_lists_every_registered_action_with_its_keys(workstation):
    window = workstation()
    dialog = window.show_shortcuts()
    table = dialog.table
    shown = {(table.item(r, 0).text(), table.item(r, 1).text()): table.item(r, 2).text()
             for r in range(table.rowCount())}

    assert shown[("Trade", "New order…")] == "F2"
    assert shown[("Go", "Go to Orders")] == "Alt+6"
    assert shown[("View", "Orders")] == "Alt+6"
    assert shown[("View", "Reset layout")] == "Ctrl+Shift+R"
    assert shown[("Help", "Keyboard shortcuts")] == "F1"
    assert shown[("Trade", "Paper accounts…")] == ""  # listed, no keys
    registered = sum(len(actions) for actions in window.actions.menus().values())
    assert table.rowCount() == registered == len(shortcut_rows(window.actions.menus()))
    dialog.close()
