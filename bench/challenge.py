"""Challenge simulation throughput: paths of a prop-firm evaluation per second.

A trade record of 120 days, one to six trades a day (seeded normal P&Ls), through the
Topstep-style 50,000 preset (daily loss, end-of-day trailing drawdown) and the
intraday-trailing one, for ``--paths`` paths of ``--days`` trading days each.

Floor (issue 15): 100,000 paths of 60 trading days in under 5 s. The last line is JSON
with paths, days, seconds and paths_per_s (the slower of the two presets).
Run: python bench/challenge.py [--paths 100000] [--days 60]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from workstation.optimize.challenge import preset_rules, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    days = [list(rng.normal(60.0, 400.0, size=int(rng.integers(1, 7)))) for _ in range(120)]
    slowest = 0.0
    for style in ("topstep", "intraday_trailing"):
        rules = preset_rules(style, 50_000, max_days=args.days)
        started = time.perf_counter()
        result = simulate(days, rules, paths=args.paths, seed=3)
        seconds = time.perf_counter() - started
        slowest = max(slowest, seconds)
        print(f"{rules.name}: {args.paths:,} paths of {args.days} days in {seconds:.2f} s "
              f"({args.paths / seconds:,.0f} paths/s); pass {result.pass_probability:.1%}, "
              f"fail daily {result.fail_daily_probability:.1%}, fail max "
              f"{result.fail_max_probability:.1%}")
    print(json.dumps({"paths": args.paths, "days": args.days, "seconds": round(slowest, 3),
                      "paths_per_s": round(args.paths / slowest)}))


if __name__ == "__main__":
    main()
