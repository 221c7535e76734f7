"""How long Bracket takes to show its first window, the way a user starts it.

Each run is a fresh process (``--smoke``, offscreen unless a display is set) on one home
that is kept between runs, like a user's; one warm-up run fills the disk cache and the
home, then the median of ``--runs`` is printed. ``startup_ms`` is the app's own figure:
process start to the first painted window; ``ready_ms``: to the engine being up.
A PyInstaller bundle in ``dist/`` is measured the same way when there is one.

Run: python bench/startup.py [--runs 5] [--frozen PATH]   (prints JSON last)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = (ROOT / "dist" / "Bracket" / "bracket", ROOT / "dist" / "Bracket" / "bracket.exe",
           ROOT / "dist" / "Bracket.app" / "Contents" / "MacOS" / "bracket")


def start_once(command: list[str], home: Path) -> dict[str, float]:
    """One start: the app's figures and the wall time of the whole smoke run."""
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["BRACKET_HOME"] = str(home)
    begun = time.perf_counter()
    done = subprocess.run([*command, "--smoke", "--seconds", "0.5", "--account", "Paper"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    wall = (time.perf_counter() - begun) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"startup_ms": summary["startup_ms"], "ready_ms": summary["ready_ms"],
            "run_wall_ms": round(wall, 1)}


def measure(name: str, command: list[str], runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bracket-startup-") as folder:
        home = Path(folder)
        start_once(command, home)  # warm-up: disk cache, the home's database
        samples = [start_once(command, home) for _ in range(runs)]
    result: dict[str, object] = {"name": name, "runs": runs}
    for key in ("startup_ms", "ready_ms"):
        values = [s[key] for s in samples]
        result[key] = {"median": round(statistics.median(values), 1),
                       "min": min(values), "max": max(values)}
    first = result["startup_ms"]["median"]  # type: ignore[index]
    ready = result["ready_ms"]["median"]  # type: ignore[index]
    print(f"{name}: first painted window {first:.0f} ms, engine up {ready:.0f} ms "
          f"(median of {runs})", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frozen", type=Path, default=None,
                        help="the bundle's executable (default: the one in dist/, if any)")
    args = parser.parse_args()
    results = [measure("source", [sys.executable, "-m", "workstation"], args.runs)]
    frozen = args.frozen or next((path for path in BUNDLES if path.exists()), None)
    if frozen is not None:
        results.append(measure("frozen", [str(frozen)], args.runs))
    else:
        print("frozen: no bundle in dist/ (build one with pyinstaller build_app.spec)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
