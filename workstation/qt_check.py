"""Why the desktop window cannot open, said before Qt aborts.

On Linux, Qt's xcb platform plugin needs a dozen X11 client libraries. When one
is missing, Qt prints a misleading hint (it names libxcb-cursor0, even when that
one is installed) and aborts the process. So before the QApplication exists we
ask the dynamic loader (``ldd``) which of the plugin's libraries do not resolve,
and name the Debian/Ubuntu packages that provide them and the one command that
installs them. Nothing here imports Qt: the check reads files only.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PLUGIN = "libqxcb.so"
QPA_LIBRARY = "libQt6XcbQpa.so.6"  # the plugin's own Qt library, in Qt/lib
EXIT_MISSING = 2
# sonames whose Debian package is not the usual "lib<name><version>" spelling
_PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname`` (``libxcb-icccm.so.4`` ->
    ``libxcb-icccm4``; a name ending in a digit takes a dash: ``libxkbcommon-x11-0``)."""
    if soname in _PACKAGES:
        return _PACKAGES[soname]
    stem, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    if not version:
        return stem.lower()
    joiner = "-" if stem[-1:].isdigit() else ""
    return f"{stem}{joiner}{version}".lower()


def missing_libraries(paths: list[Path]) -> list[str]:
    """Libraries ``ldd`` reports as "not found" for any of ``paths`` (each once, in
    order); empty when ldd is not available (nothing to say rather than a wrong guess)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    missing: list[str] = []
    for path in paths:
        try:
            result = subprocess.run([ldd, str(path)], capture_output=True, text=True,
                                    timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for name in _NOT_FOUND.findall(result.stdout):
            if name not in missing:
                missing.append(name)
    return missing


def platform_plugin_dir() -> Path | None:
    """Where Qt will look for ``libqxcb.so``: QT_QPA_PLATFORM_PLUGIN_PATH when set (Qt
    reads it too), else PySide6's own plugins folder (found without importing PySide6)."""
    explicit = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    for candidate in (package / "Qt" / "plugins" / "platforms", package / "plugins" / "platforms"):
        if (candidate / PLUGIN).exists():
            return candidate
    return None


def uses_xcb(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """True when Qt will load the xcb plugin: Linux, and QT_QPA_PLATFORM unset or xcb
    (a Wayland session lets Qt try its Wayland plugin first)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return not (environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"))


def diagnose(plugin_dir: Path | None = None) -> str | None:
    """The message to print when the xcb plugin's libraries are missing, else None."""
    folder = plugin_dir if plugin_dir is not None else platform_plugin_dir()
    if folder is None or not (folder / PLUGIN).exists():
        return None
    paths = [folder / PLUGIN]
    qpa = folder.parent.parent / "lib" / QPA_LIBRARY
    if qpa.exists():
        paths.append(qpa)
    missing = missing_libraries(paths)
    if not missing:
        return None
    packages = list(dict.fromkeys(debian_package(name) for name in missing))
    lines = ["bracket: the desktop window cannot start: Qt's xcb platform plugin "
             f"({folder / PLUGIN}) needs system libraries that are not installed:"]
    lines += [f"  {name}  (package {debian_package(name)})" for name in missing]
    lines += ["Install them (Debian/Ubuntu) with:",
              f"  sudo apt install {' '.join(packages)}",
              "Other distributions: install the packages that provide these files. "
              "Headless runs (bracket run --headless) need none of them."]
    return "\n".join(lines)


def no_display(environ: Mapping[str, str] = os.environ) -> str | None:
    """The message for an xcb start without any display to connect to (Qt would abort)."""
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("bracket: no display to open the window on (DISPLAY is not set). Run it in a "
            "desktop session, or without a window: bracket run --headless (or "
            "QT_QPA_PLATFORM=offscreen for a screenshot run).")


def check_before_qt() -> str | None:
    """What stops the window from opening, said before Qt aborts: missing xcb libraries
    first (they are what to install), then a missing display; None when all is well."""
    if not uses_xcb():
        return None
    return diagnose() or no_display()
