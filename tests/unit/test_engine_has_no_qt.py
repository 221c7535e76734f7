"""The engine never imports Qt or ui/ (only the command line may start the GUI)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import workstation

FORBIDDEN = ("PySide6", "shiboken6", "qasync", "pyqtgraph", "ui")
ENGINE = Path(workstation.__file__).resolve().parent
ALLOWED_TO_IMPORT_UI = {ENGINE / "__main__.py"}


def is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every absolute import anywhere in the tree, nested ones too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def engine_sources() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p not in ALLOWED_TO_IMPORT_UI)


def test_engine_sources_are_found():
    names = {p.relative_to(ENGINE).as_posix() for p in engine_sources()}
    assert {"bus.py", "clock.py", "bars.py", "sessions.py", "model.py"} <= names
    assert "__main__.py" not in names


def test_no_engine_module_imports_qt_or_ui():
    offenders = []
    for path in engine_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders.extend(
            f"{path.relative_to(ENGINE.parent).as_posix()}:{line} imports {module}"
            for line, module in imported_modules(tree)
            if is_forbidden(module)
        )
    assert offenders == []


def test_import_check_catches_every_forbidden_form():
    source = "\n".join([
        "import PySide6.QtCore",
        "from shiboken6 import Shiboken",
        "def later():",
        "    import qasync",
        "    from pyqtgraph import PlotWidget",
        "    from ui.app import run",
        "import ui",
        "import uikit",
        "from workstation import bus",
    ])
    modules = {m for _, m in imported_modules(ast.parse(source)) if is_forbidden(m)}
    assert modules == {"PySide6.QtCore", "shiboken6", "qasync", "pyqtgraph", "ui.app", "ui"}


_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import workstation
names = [m.name for m in pkgutil.walk_packages(workstation.__path__, "workstation.")
         if m.name != "workstation.__main__"]
for name in names:
    importlib.import_module(name)
forbidden = {forbidden!r}
leaked = sorted(m for m in sys.modules
                if any(m == f or m.startswith(f + ".") for f in forbidden))
print(json.dumps({{"imported": names, "leaked": leaked}}))
"""


def test_importing_every_engine_module_loads_no_qt_or_ui_module():
    script = _IMPORT_ALL.format(forbidden=FORBIDDEN)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=ENGINE.parent, check=False)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"workstation.bus", "workstation.clock", "workstation.bars",
            "workstation.sessions", "workstation.model"} <= set(report["imported"])
    assert report["leaked"] == []
