"""What the packaged app weighs: on disk, as the .tar.gz users download (and, with --xz, as a
.tar.xz), its ten largest contributors, and the figures against the installer's goals
(issue 16: at most 200 MiB on disk and 80 MiB compressed, Alpaca included).

Measures dist/Bracket as `tools/build_bundle.py` built it; the archives are packed the same
way as the distributable, into a temporary folder (dist/ is left as it is).

Run: python bench/bundle_size.py [--xz]   (prints JSON last)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.build_bundle import MIB, archive, mib, sizes  # noqa: E402

BUNDLE = ROOT / "dist" / "Bracket"
GOALS_MIB = {"on_disk": 200.0, "tar.gz": 80.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xz", action="store_true", help="also pack a .tar.xz (~2 min)")
    args = parser.parse_args()
    if not BUNDLE.is_dir():
        print(f"no bundle at {BUNDLE}: build it with tools/build_bundle.py", file=sys.stderr)
        return 2
    total, groups = sizes(BUNDLE)
    figures: dict[str, object] = {"on_disk_mib": round(total / MIB, 1)}
    print(f"on disk: {total / MIB:.1f} MiB (goal: at most {GOALS_MIB['on_disk']:.0f})")
    with tempfile.TemporaryDirectory(prefix="bracket-size-") as folder:
        formats = [("gztar", "tar.gz")] + ([("xztar", "tar.xz")] if args.xz else [])
        for fmt, name in formats:
            begun = time.perf_counter()
            packed = archive(BUNDLE, fmt, Path(folder))
            seconds = time.perf_counter() - begun
            goal = f" (goal: at most {GOALS_MIB[name]:.0f})" if name in GOALS_MIB else ""
            print(f"{name}: {mib(packed):.1f} MiB, packed in {seconds:.0f} s{goal}")
            figures[f"{name.replace('.', '_')}_mib"] = round(mib(packed), 1)
    print("largest contributors (MiB):")
    for name, size in groups.most_common(10):
        print(f"  {size / MIB:7.1f}  {name}")
    figures["largest_mib"] = {name: round(size / MIB, 1) for name, size in groups.most_common(10)}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
