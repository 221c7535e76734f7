"""Build the Bracket distributable and say what it weighs.

    .venv/bin/python tools/build_bundle.py            # build, archive, print the figures
    .venv/bin/python tools/build_bundle.py --no-build # only measure and archive dist/Bracket

Needs PyInstaller in the same environment (`pip install pyinstaller`). It runs
`pyinstaller build_app.spec` (the folder `dist/Bracket/`, executable `dist/Bracket/bracket`),
then packs the download: on Linux `dist/bracket-<version>-linux-<machine>.tar.gz`; on Windows
a `.zip` of the same folder (`bracket.exe`, no console window); on macOS a `.zip` of
`dist/Bracket.app`. It prints the build time, the size on disk, the compressed size, the ten
largest contributors and, on Linux, the system libraries the bundle expects from the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
MIB = 1024 * 1024


def build() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "build_app.spec"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def archive(bundle: Path) -> Path:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    system = platform.system().lower()
    base = DIST / f"bracket-{version}-{system}-{platform.machine().lower()}"
    if sys.platform == "darwin":
        target = DIST / "Bracket.app"
        return Path(shutil.make_archive(str(base), "zip", target.parent, target.name))
    fmt = "gztar" if sys.platform.startswith("linux") else "zip"
    return Path(shutil.make_archive(str(base), fmt, bundle.parent, bundle.name))


def contributor(relative: Path) -> str:
    """Group a bundled file: by package (or library) under _internal/, Qt split in two."""
    parts = relative.parts
    if parts[0] == "bracket":
        return "bracket (executable + Python modules)"
    if parts[0] != "_internal" or len(parts) == 1:
        return parts[0]
    top = parts[1]
    if top == "PySide6":
        return "PySide6 (ICU data)" if relative.name.startswith("libicu") else "PySide6 (Qt)"
    if top.endswith(".dist-info"):
        return top.split("-")[0]
    return top


def sizes(bundle: Path) -> tuple[int, Counter[str]]:
    groups: Counter[str] = Counter()
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            groups[contributor(path.relative_to(bundle))] += path.stat().st_size
    return sum(groups.values()), groups


def system_libraries(bundle: Path) -> list[str]:
    """Shared libraries that bundled ones need and the bundle does not carry (Linux)."""
    if not sys.platform.startswith("linux") or shutil.which("readelf") is None:
        return []
    carried = {path.name for path in bundle.rglob("*.so*")}
    needed: set[str] = set()
    for path in bundle.rglob("*.so*"):
        if not path.is_file() or path.is_symlink():
            continue
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                             check=False).stdout
        needed |= {line.split("[", 1)[1].rstrip("]") for line in out.splitlines()
                   if "(NEEDED)" in line}
    return sorted(needed - carried)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="measure dist/Bracket as is")
    args = parser.parse_args()
    seconds = None if args.no_build else build()
    bundle = DIST / "Bracket"
    if not bundle.is_dir():
        print(f"no bundle at {bundle}: run without --no-build", file=sys.stderr)
        return 2
    total, groups = sizes(bundle)
    download = archive(bundle)
    if seconds is not None:
        print(f"build: {seconds:.0f} s")
    print(f"on disk: {total / MIB:.1f} MiB ({bundle.relative_to(ROOT)})")
    print(f"compressed: {download.stat().st_size / MIB:.1f} MiB ({download.relative_to(ROOT)})")
    print("largest contributors (MiB):")
    for name, size in groups.most_common(10):
        print(f"  {size / MIB:7.1f}  {name}")
    expected = system_libraries(bundle)
    if expected:
        print("system libraries expected on the machine: " + " ".join(expected))
    print(json.dumps({"build_s": None if seconds is None else round(seconds, 1),
                      "on_disk_mib": round(total / MIB, 1),
                      "compressed_mib": round(download.stat().st_size / MIB, 1),
                      "archive": download.name}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
