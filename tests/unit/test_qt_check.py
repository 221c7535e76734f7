"""The Qt platform-plugin diagnosis: a missing system library is named, with its
package and the one install command, before Qt can abort the process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.qt_check import debian_package, diagnose, no_display, uses_xcb

FAKE_SONAME = "libbracket-test-xcb.so.3"  # no machine has it: it never resolves
needs_toolchain = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("gcc") is None
    or shutil.which("ldd") is None, reason="builds a small ELF with gcc and reads it with ldd")


def build_plugin_needing_missing_library(tmp_path: Path) -> Path:
    """A ``libqxcb.so`` whose DT_NEEDED names FAKE_SONAME: the stub it was linked against
    is deleted afterwards, so the loader cannot resolve it (as on a machine without it)."""
    source = tmp_path / "stub.c"
    source.write_text("int bracket_stub(void) { return 0; }\n", encoding="utf-8")
    stub_dir, plugins = tmp_path / "stub", tmp_path / "platforms"
    stub_dir.mkdir()
    plugins.mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(stub_dir / FAKE_SONAME),
                    f"-Wl,-soname,{FAKE_SONAME}", str(source)], check=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(plugins / "libqxcb.so"), str(source),
                    "-Wl,--no-as-needed", f"-L{stub_dir}", f"-l:{FAKE_SONAME}"], check=True)
    shutil.rmtree(stub_dir)
    return plugins


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libGL.so.1", "libgl1"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
])
def test_a_library_file_maps_to_its_debian_package(soname: str, package: str) -> None:
    assert debian_package(soname) == package


def test_the_check_runs_only_when_qt_will_load_xcb() -> None:
    assert uses_xcb({}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen:size=1366x768"}, "linux")
    assert not uses_xcb({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({}, "darwin")


def test_a_start_without_a_display_says_so_and_how_to_run_without_one():
    assert no_display({"DISPLAY": ":0"}) is None
    assert no_display({"WAYLAND_DISPLAY": "wayland-0"}) is None
    message = no_display({})
    assert message is not None and message.startswith("bracket: no display")
    assert "bracket run --headless" in message


@needs_toolchain
def test_a_plugin_whose_libraries_all_resolve_gets_no_message(tmp_path: Path) -> None:
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    source = tmp_path / "ok.c"
    source.write_text("int bracket_ok(void) { return 0; }\n", encoding="utf-8")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(plugins / "libqxcb.so"), str(source)],
                   check=True)
    assert diagnose(plugins) is None


@needs_toolchain
def test_the_gui_start_names_the_missing_package_and_the_install_command_and_exits_2(
        tmp_path: Path) -> None:
    plugins = build_plugin_needing_missing_library(tmp_path)
    env = {key: value for key, value in os.environ.items()
           if key not in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(plugins)  # where Qt would load xcb from
    result = subprocess.run([sys.executable, "-m", "workstation", "--home",
                             str(tmp_path / "home")], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert f"{FAKE_SONAME}  (package libbracket-test-xcb3)" in result.stderr
    assert "  sudo apt install libbracket-test-xcb3\n" in result.stderr
    assert "Traceback" not in result.stderr
