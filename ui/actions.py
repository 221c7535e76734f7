"""One registry of actions: menus, toolbar buttons and hotkeys all come from it,
so a shortcut shown in a menu is the shortcut that works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: str
    text: str
    menu: str
    shortcut: str = ""
    tip: str = ""
    checkable: bool = False
    # the keys work only while the panel that adds the action has the focus (the same
    # keys may mean something else elsewhere): the window does not add it
    local: bool = False


class ActionRegistry:
    def __init__(self, parent: QObject) -> None:
        self._parent = parent
        self._actions: dict[str, QAction] = {}
        self._menus: dict[str, list[QAction]] = {}

    def add(self, spec: ActionSpec, callback: Callable[..., object]) -> QAction:
        if spec.id in self._actions:
            raise ValueError(f"action {spec.id!r} is registered twice")
        action = QAction(spec.text, self._parent)
        action.setObjectName(f"action_{spec.id}")
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setToolTip(f"{spec.tip or spec.text} ({spec.shortcut})" if spec.shortcut
                          else spec.tip or spec.text)
        action.setCheckable(spec.checkable)
        if spec.local:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        (action.toggled if spec.checkable else action.triggered).connect(callback)
        self._actions[spec.id] = action
        self._menus.setdefault(spec.menu, []).append(action)
        return action

    def add_existing(self, menu: str, action: QAction) -> None:
        """Actions Qt makes for us (a dock's show/hide toggle) join a menu too."""
        self._menus.setdefault(menu, []).append(action)

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def menus(self) -> dict[str, list[QAction]]:
        return self._menus

    def all(self) -> list[QAction]:
        return list(self._actions.values())

    def window_wide(self) -> list[QAction]:
        """The actions whose keys work anywhere in the window (not a panel's own)."""
        local = Qt.ShortcutContext.WidgetWithChildrenShortcut
        return [a for a in self._actions.values() if a.shortcutContext() != local]
