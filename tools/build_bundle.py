"""Build the Bracket distributable and say what it weighs.

    .venv/bin/python tools/build_bundle.py            # build, archive, print the figures
    .venv/bin/python tools/build_bundle.py --no-build # only measure and archive dist/Bracket
    .venv/bin/python tools/build_bundle.py --xz       # also a .tar.xz (Linux; ~2 min more)

Needs PyInstaller in the same environment (`pip install pyinstaller`). It runs
`pyinstaller build_app.spec` (the folder `dist/Bracket/`, executable `dist/Bracket/bracket`),
then packs the download: on Linux `dist/bracket-<version>-linux-<machine>.tar.gz` (with
`--xz` also a `.tar.xz`, a quarter smaller, that `tar xf` unpacks the same way); on Windows
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


def archive(bundle: Path, fmt: str | None = None, folder: Path = DIST) -> Path:
    """The download: ``fmt`` is the platform's (gztar on Linux, zip elsewhere) unless given
    (``xztar``); written into ``folder`` as bracket-<version>-<system>-<machine>.<ext>."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    system = platform.system().lower()
    base = folder / f"bracket-{version}-{system}-{platform.machine().lower()}"
    if sys.platform == "darwin":
        target = bundle.parent / "Bracket.app"
        return Path(shutil.make_archive(str(base), fmt or "zip", target.parent, target.name))
    fmt = fmt or ("gztar" if sys.platform.startswith("linux") else "zip")
    return Path(shutil.make_archive(str(base), fmt, bundle.parent, bundle.name))


def mib(path: Path) -> float:
    return path.stat().st_size / MIB


def contributor(relative: Path) -> str:
    """Group a bundled file: by package (or library) under _internal/, Qt split in two."""
    parts = relative.parts
    if parts[0] == "bracket":
        return "bracket (executable + Python modules)"
    if parts[0] != "_internal" or len(parts) == 1:
        return parts[0]
    top = parts[1]
    if top == "PySide6":
        return "PySide6 (ICU)" if relative.name.startswith("libicu") else "PySide6 (Qt)"
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
    parser.add_argument("--xz", action="store_true", help="also pack a .tar.xz (slow)")
    args = parser.parse_args()
    seconds = None if args.no_build else build()
    bundle = DIST / "Bracket"
    if not bundle.is_dir():
        print(f"no bundle at {bundle}: run without --no-build", file=sys.stderr)
        return 2
    total, groups = sizes(bundle)
    downloads = [archive(bundle)] + ([archive(bundle, "xztar")] if args.xz else [])
    if seconds is not None:
        print(f"build: {seconds:.0f} s")
    print(f"on disk: {total / MIB:.1f} MiB ({bundle.relative_to(ROOT)})")
    for download in downloads:
        print(f"compressed: {mib(download):.1f} MiB ({download.relative_to(ROOT)})")
    print("largest contributors (MiB):")
    for name, size in groups.most_common(10):
        print(f"  {size / MIB:7.1f}  {name}")
    expected = system_libraries(bundle)
    if expected:
        print("system libraries expected on the machine: " + " ".join(expected))
    print(json.dumps({"build_s": None if seconds is None else round(seconds, 1),
                      "on_disk_mib": round(total / MIB, 1),
                      "compressed_mib": round(mib(downloads[0]), 1),
                      "archive": downloads[0].name,
                      "xz_mib": round(mib(downloads[1]), 1) if args.xz else None}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
