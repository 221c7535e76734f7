"""Help → Keyboard shortcuts: every action of the registry with its menu and its keys, read
from the actions themselves so the list is always the one that works."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(menus: dict[str, list[QAction]]) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every registered action, menu by menu, the ones with keys
    first in each menu; mnemonic ampersands and the View menu's key hints removed."""
    rows = []
    for menu, actions in menus.items():
        keyed, plain = [], []
        for action in actions:
            text, _, hint = action.text().partition("\t")
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) or hint
            row = (menu.replace("&", ""), text.replace("&", ""), keys)
            (keyed if keys else plain).append(row)
        rows += keyed + plain
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, menus: dict[str, list[QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menus)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 600)
