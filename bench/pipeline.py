"""Throughput of the headless pipeline: simulated feed -> bus -> bar aggregation
(+ market state) -> store writer (SQLite, real file), as fast as possible.

Prints one JSON line: ticks/s, bars/s, peak RSS. Target: >= 250,000 ticks/s on
one core with the store writer on. Run: python bench/pipeline.py [--minutes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from workstation.config import Settings
from workstation.engine import Engine, RunOptions, sim_feed_builder
from workstation.model import datetime_to_ns
from workstation.sessions import get_schedule


def busy_settings(rate_multiplier: float) -> Settings:
    """The default instruments, trading ``rate_multiplier`` times as often."""
    base = Settings()
    instruments = [
        item.model_copy(update={"sim": item.sim.model_copy(
            update={"trades_per_s": item.sim.trades_per_s * rate_multiplier})})
        for item in base.instruments if item.sim
    ]
    return base.model_copy(update={"instruments": instruments})


async def run(minutes: float, timeframes: list[str], rate: float, seed: int) -> dict:
    settings = busy_settings(rate)
    start = get_schedule("us_equity").next_session(
        datetime_to_ns(datetime(2026, 11, 2, tzinfo=UTC))).open_ns
    options = RunOptions(seed=seed, speed=None, start_ns=start, duration_s=minutes * 60)
    with tempfile.TemporaryDirectory() as home:
        engine = Engine(settings, Path(home), sim_feed_builder(settings, options),
                        timeframes=timeframes)
        started = time.perf_counter()
        await engine.start()
        await engine.wait_feed()
        fed = time.perf_counter() - started
        await engine.stop()  # drains the writer: everything is on disk after this
        total = time.perf_counter() - started
        assert engine.store is not None
        report = engine.report()
        stored = engine.writer.rows_written if engine.writer else 0
    return {
        "timeframes": timeframes,
        "ticks": report["ticks"],
        "quotes": report["quotes"],
        "bars": report["bars"],
        "rows_stored": stored,
        "wall_s": round(total, 3),
        "ticks_per_s": round(report["ticks"] / total),
        "ticks_per_s_feed_only": round(report["ticks"] / fed),
        "bars_per_s": round(report["bars"] / total, 1),
        "events_per_s": round(report["events"] / total),
        "loop_lag_p99_ms": report["loop_lag_p99_ms"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="simulated minutes")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="multiplier on each instrument's trades per second")
    parser.add_argument("--timeframes", default="1m",
                        help="comma-separated bar timeframes to aggregate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(run(args.minutes, args.timeframes.split(","), args.rate, args.seed))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
