"""What opening the store for writing costs: the lock probe and SQLite's quick check
(linear in the file size), on stores of growing size made of real tick chunks.

Also what one journal commit of a typical batch (an order, its events and a fill)
costs, with the ordered queue in front of it.

Run: python bench/store_open.py [--sizes 10 100 500]   (MB of ticks; prints JSON last)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from workstation.store import open_store
from workstation.store.journal import write_rows
from workstation.store.ticks import TickColumns

CHUNK_TICKS = 20_000


def make_store(path: Path, megabytes: int) -> None:
    store = open_store(path)
    rng = np.random.default_rng(1)
    ts0 = 1_800_000_000 * 10**9
    while path.stat().st_size < megabytes * 2**20:
        count = CHUNK_TICKS
        ts = (ts0 + np.cumsum(rng.integers(1, 10**8, count))).tolist()
        price = (21_000 + np.cumsum(rng.integers(-1, 2, count)) * 0.25).tolist()
        columns = TickColumns(ts, price, rng.integers(1, 5, count).astype(float).tolist(),
                              rng.integers(-1, 2, count).tolist())
        store.write([("NQ", columns)], [])
        ts0 = ts[-1] + 1
    store.close()


def timed(function: object, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def journal_commit_ms(path: Path) -> float:
    store = open_store(path)
    samples = []
    for n in range(200):
        rows = {"orders": [("Bench", f"P{n}", f"c-{n}", "NQ", "filled", n, 1, "{}")],
                "events": [("Bench", f"P{n}", "accepted", 0.0, "", n),
                           ("Bench", f"P{n}", "filled", 1.0, "filled", n)],
                "fills": [("Bench", f"F{n}", f"P{n}", f"c-{n}", "NQ", "buy", 1.0, 21_000.0,
                           2.5, n, "bench", 1)],
                "risk_state": [("Bench", "{}")]}
        started = time.perf_counter()
        with store.transaction() as conn:
            write_rows(conn, rows)
        samples.append(time.perf_counter() - started)
    store.close()
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in args.sizes:
            path = Path(folder) / f"store-{megabytes}.sqlite"
            make_store(path, megabytes)
            size = path.stat().st_size / 2**20
            opened = timed(lambda p=path: open_store(p).close())
            read_only = timed(lambda p=path: open_store(p, write=False).close())
            line = {"file_mb": round(size, 1), "open_for_writing_ms": round(opened * 1e3, 1),
                    "open_for_reading_ms": round(read_only * 1e3, 1),
                    "check_ms_per_100mb": round((opened - read_only) * 1e3 / size * 100, 1)}
            print(line)
            results[f"{megabytes}mb"] = line
        results["journal_commit_ms_median"] = round(journal_commit_ms(Path(folder) / "j.sqlite"),
                                                    3)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
