"""Finding and importing strategy plugins: every ``.py`` file of the plugin folders.

Each file is imported by path under a module name of its own (its stem and the
first hex digits of its SHA-256), so two versions of one file can coexist while
a reload is validated. A file that cannot be used (a syntax error, an import
that fails, an exception or a hang while importing, a wrong API version, a name
another strategy already has) is reported with the file, the line and the
message, and everything else keeps working.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from workstation.bars import Timeframe
from workstation.strategies.guard import (
    FileImport,
    StrategyInterrupted,
    Watchdog,
    describe_exit,
)
from workstation.strategy import API_VERSION, Strategy

SHIPPED_FOLDER = "plugins"


@dataclass(frozen=True, slots=True)
class PluginProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True, slots=True)
class StrategyClass:
    """A strategy a plugin file offers."""

    name: str
    cls: type[Strategy]
    path: Path
    sha256: str
    line: int

    @property
    def version(self) -> str:
        return str(self.cls.version)


@dataclass(slots=True)
class PluginFile:
    path: Path
    sha256: str
    classes: list[StrategyClass] = field(default_factory=list)
    problems: list[PluginProblem] = field(default_factory=list)


def plugin_folders(home: Path | None) -> list[Path]:
    """Where plugins come from: the shipped examples (the repository's ``plugins/``, or in
    the packaged app the ``plugins/`` beside the executable), then the user's folder."""
    if getattr(sys, "frozen", False):
        shipped = Path(sys.executable).resolve().parent / SHIPPED_FOLDER
    else:
        shipped = Path(__file__).resolve().parents[2] / SHIPPED_FOLDER
    folders = [shipped]
    if home is not None:
        folders.append(home / SHIPPED_FOLDER)
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in {f.resolve() for f in unique}:
            unique.append(folder)
    return unique


def plugin_files(folders: list[Path]) -> list[Path]:
    """The plugin files, folder by folder, in name order; ``_private.py`` files are skipped
    (helpers a plugin may import)."""
    return [path for folder in folders for path in sorted(folder.glob("*.py"))
            if not path.name.startswith(("_", "."))]


def load_file(path: Path, watchdog: Watchdog) -> PluginFile:
    """Import one plugin file and validate every Strategy class it defines."""
    label = path.name
    try:
        source = path.read_bytes()
    except OSError as exc:
        return PluginFile(path, "", problems=[PluginProblem(label, None,
                                                            f"cannot read: {exc.strerror}")])
    sha = hashlib.sha256(source).hexdigest()
    result = PluginFile(path, sha)
    try:
        tree = ast.parse(source, filename=str(path))
        code = compile(tree, str(path), "exec")
    except SyntaxError as exc:
        result.problems.append(PluginProblem(label, exc.lineno, f"syntax error: {exc.msg}"))
        return result
    except ValueError as exc:  # e.g. null bytes
        result.problems.append(PluginProblem(label, None, f"cannot compile: {exc}"))
        return result
    refused = forbidden_calls(tree)
    if refused:
        result.problems.extend(PluginProblem(label, line, message) for line, message in refused)
        return result
    module_name = f"bracket_plugin_{path.stem}_{sha[:12]}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses and typing look modules up here
    try:
        with watchdog.watching(FileImport(path), "import"):
            exec(code, module.__dict__)
    except StrategyInterrupted:
        sys.modules.pop(module_name, None)
        seconds = watchdog.hard_limit_ns / 1e9
        message = watchdog.take_reason() or f"import did not finish within {seconds:g} s"
        result.problems.append(PluginProblem(label, None, message))
        return result
    except Exception as exc:  # noqa: BLE001 - any failure of plugin code is reported
        sys.modules.pop(module_name, None)
        kind = "import error" if isinstance(exc, ImportError) else type(exc).__name__
        result.problems.append(PluginProblem(label, plugin_line(exc, path),
                                             f"{kind} while importing: {exc}"))
        return result
    except BaseException as exc:  # noqa: BLE001 - sys.exit() at import must not end the app
        sys.modules.pop(module_name, None)
        result.problems.append(PluginProblem(label, plugin_line(exc, path),
                                             f"{describe_exit(exc)} while importing"))
        return result
    lines = {node.name: node.lineno for node in tree.body if isinstance(node, ast.ClassDef)}
    for value in list(vars(module).values()):
        if (isinstance(value, type) and issubclass(value, Strategy) and value is not Strategy
                and value.__module__ == module_name):
            line = lines.get(value.__name__, 1)
            problem = _check_class(value)
            if problem:
                result.problems.append(PluginProblem(label, line, problem))
            else:
                result.classes.append(StrategyClass(value.name, value, path, sha, line))
    if not result.classes and not result.problems:
        result.problems.append(PluginProblem(label, None, "defines no Strategy subclass"))
    return result


# calls that end or freeze the process in ways no guard can catch
_FORBIDDEN = {"os._exit", "posix._exit", "os.kill", "os.killpg", "os.abort", "posix.kill",
              "posix.abort", "os.fork", "os.forkpty"}
_FORBIDDEN_MODULES = {"ctypes", "_ctypes", "signal", "_signal"}


def forbidden_calls(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, message) for each call a plugin may not make: ``os._exit``, ``os.kill``,
    ``os.abort``, anything of ``signal`` or ``ctypes`` (anywhere: they cannot be caught at
    run time), and ``sys.exit``/``exit``/``quit`` at module level. A static seatbelt against
    mistakes and careless copies, not a sandbox (see guard.py)."""
    aliases: dict[str, str] = {}  # local name -> dotted name it stands for
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                root = item.name.split(".")[0]
                if root in _FORBIDDEN_MODULES:
                    found.append((node.lineno, f"imports {item.name}, which plugins may not use"))
                aliases[item.asname or root] = item.name if item.asname else root
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            for item in node.names:
                dotted = f"{node.module}.{item.name}"
                if root in _FORBIDDEN_MODULES or dotted in _FORBIDDEN:
                    found.append((node.lineno, f"imports {dotted}, which plugins may not use"))
                aliases[item.asname or item.name] = dotted
    module_level = _module_level_calls(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func, aliases)
        if dotted is None:
            continue
        if dotted in _FORBIDDEN or dotted.split(".")[0] in _FORBIDDEN_MODULES:
            found.append((node.lineno, f"calls {dotted}, which would end or stop the whole "
                          "app; plugins may not"))
        elif node in module_level and dotted in ("sys.exit", "exit", "quit"):
            found.append((node.lineno, f"calls {dotted}() at import; a plugin file may not "
                          "end the app"))
    return sorted(set(found))


def _dotted(func: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(aliases.get(func.id, func.id))
    return ".".join(reversed(parts))


def _module_level_calls(tree: ast.Module) -> set[ast.AST]:
    """Calls that run at import: outside every function body."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(ast.walk(node))
    return {node for node in ast.walk(tree) if isinstance(node, ast.Call)} - inside


def _check_class(cls: type[Strategy]) -> str:
    """What is wrong with a strategy class's declarations, or ''."""
    label = f"class {cls.__name__}"
    if not isinstance(cls.name, str) or not cls.name.strip():
        return f'{label} has no name: set name = "..."'
    if cls.api_version != API_VERSION:
        return (f"{label} declares API version {cls.api_version!r}; this Bracket supports "
                f"version {API_VERSION}")
    if not cls.symbols or not all(isinstance(s, str) for s in cls.symbols):
        return f"{label}: symbols must be a tuple of instrument symbols"
    try:
        for timeframe in cls.timeframes:
            Timeframe.parse(timeframe)
    except ValueError as exc:
        return f"{label}: {exc}"
    if not isinstance(cls.warmup, int) or cls.warmup < 0:
        return f"{label}: warmup must be a whole number of bars >= 0"
    if "__init__" in vars(cls):
        return f"{label} overrides __init__: set things up in on_start instead"
    return ""


def plugin_line(exc: BaseException, path: Path) -> int | None:
    """The deepest line of the plugin file in an exception's traceback."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    return line


class Catalog:
    """Every loaded plugin file and the strategies they offer, by unique name."""

    def __init__(self) -> None:
        self.files: dict[Path, PluginFile] = {}
        self.strategies: dict[str, StrategyClass] = {}
        self.problems: list[PluginProblem] = []

    def load(self, paths: list[Path], watchdog: Watchdog) -> None:
        for path in paths:
            self.files[path] = load_file(path, watchdog)
        self._index()

    def replace(self, loaded: PluginFile) -> None:
        """Take a reloaded file's classes. A file that now fails keeps its previous classes
        (what is running goes on) and reports the new problems."""
        previous = self.files.get(loaded.path)
        if not loaded.classes and previous is not None and previous.classes:
            previous.problems = [*loaded.problems,
                                 PluginProblem(loaded.path.name, None,
                                               "the previous version keeps running")]
        else:
            self.files[loaded.path] = loaded
        self._index()

    def remove(self, path: Path) -> None:
        self.files.pop(path, None)
        self._index()

    def _index(self) -> None:
        """Names are unique: the first file (shipped folder, then user, by name) wins."""
        self.strategies = {}
        self.problems = []
        for plugin in self.files.values():
            self.problems.extend(plugin.problems)
            for offered in plugin.classes:
                taken = self.strategies.get(offered.name)
                if taken is not None:
                    self.problems.append(PluginProblem(
                        plugin.path.name, offered.line,
                        f"duplicate strategy name {offered.name!r}: already defined in "
                        f"{taken.path.name} line {taken.line}"))
                    continue
                self.strategies[offered.name] = offered

    def names(self) -> list[str]:
        return sorted(self.strategies)
