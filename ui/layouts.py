"""Named layouts: the docks' arrangement saved under a name the trader picks ("Trading",
"Review", ...) and switched from the View menu. Built-in layouts are made by code and
can be overridden by a saved layout of the same name; deleting it brings the built-in
back. Only the docks' arrangement is saved: switching never moves the window off the
screen it is on."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from workstation.text import storable

NAMES_KEY = "layouts/names"
MAX_NAME = 40


def clean_name(text: str) -> str:
    """A layout's name as stored: control characters and lone surrogates dropped, single
    spaces, at most MAX_NAME characters; empty if nothing is left."""
    kept = "".join(c if c.isprintable() else " " for c in text)
    return storable(" ".join(kept.split())[:MAX_NAME].strip())


class LayoutStore:
    """Saved layouts in the window's settings file, in the order they were first saved."""

    def __init__(self, settings: QSettings, version: int) -> None:
        self._settings = settings
        self._version = version

    def names(self) -> list[str]:
        value = self._settings.value(NAMES_KEY, [], type=list)
        return [str(name) for name in value if isinstance(name, str)]

    def save(self, name: str, state: QByteArray) -> None:
        names = self.names()
        if name not in names:
            self._settings.setValue(NAMES_KEY, [*names, name])
        self._settings.setValue(self._key(name), state)
        self._settings.setValue(self._key(name) + "_version", self._version)
        self._settings.sync()

    def load(self, name: str) -> QByteArray | None:
        """The saved arrangement, or None (never saved, or saved by an older layout)."""
        state = self._settings.value(self._key(name))
        version = self._settings.value(self._key(name) + "_version", 0, type=int)
        if not isinstance(state, QByteArray) or version != self._version:
            return None
        return state

    def delete(self, name: str) -> bool:
        names = self.names()
        if name not in names:
            return False
        self._settings.setValue(NAMES_KEY, [n for n in names if n != name])
        self._settings.remove(self._key(name))
        self._settings.remove(self._key(name) + "_version")
        self._settings.sync()
        return True

    @staticmethod
    def _key(name: str) -> str:
        return f"layouts/{name.encode('utf-8').hex()}"  # any name, one key


class LayoutMenu(QMenu):
    """View → Layouts: switch to a built-in or saved layout, save the current one under a
    name, delete a saved one. Rebuilt each time it opens."""

    def __init__(self, store: LayoutStore, builtins: dict[str, Callable[[], None]],
                 current: Callable[[], QByteArray], restore: Callable[[QByteArray], bool],
                 notify: Callable[[str, bool], None], parent: QWidget) -> None:
        super().__init__("&Layouts", parent)
        self.setObjectName("layoutsMenu")
        self._store = store
        self._builtins = builtins
        self._current = current
        self._restore = restore
        self._notify = notify
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def names(self) -> list[str]:
        """Built-in layouts first, then the saved ones."""
        saved = [n for n in self._store.names() if n not in self._builtins]
        return [*self._builtins, *saved]

    def rebuild(self) -> None:
        self.clear()
        for name in self.names():
            action = self.addAction(name)
            action.setObjectName(f"layout_{name}")
            action.triggered.connect(lambda _=False, n=name: self.switch(n))
        self.addSeparator()
        save = self.addAction("&Save layout as…")
        save.setObjectName("layoutSaveAs")
        save.triggered.connect(self._ask_name)
        delete = self.addMenu("&Delete layout")
        delete.setObjectName("layoutDelete")
        saved = self._store.names()
        delete.setEnabled(bool(saved))
        for name in saved:
            action = delete.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.delete(n))

    def switch(self, name: str) -> bool:
        state = self._store.load(name)
        if state is not None and self._restore(state):
            self._notify(f"Layout {name}", False)
            return True
        builtin = self._builtins.get(name)
        if builtin is None:
            self._notify(f"Layout {name} was saved by an older Bracket and cannot be "
                         "restored: arrange the panels and save it again", True)
            return False
        builtin()
        self._notify(f"Layout {name}", False)
        return True

    def save(self, text: str) -> str | None:
        name = clean_name(text)
        if not name:
            self._notify("A layout needs a name", True)
            return None
        self._store.save(name, self._current())
        self._notify(f"Layout saved as {name}", False)
        self.rebuild()
        return name

    def delete(self, name: str) -> None:
        if self._store.delete(name):
            back = " (the built-in one is back)" if name in self._builtins else ""
            self._notify(f"Layout {name} deleted{back}", False)
        self.rebuild()

    def _ask_name(self) -> None:
        text, ok = QInputDialog.getText(self.parentWidget(), "Save layout",
                                        "Name of this layout (e.g. Trading, Review):")
        if ok:
            self.save(text)
