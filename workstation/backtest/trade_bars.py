"""The bars a finished backtest traded on, found again to draw one of its trades.

A run keeps no bars (a million of them would dwarf the run), but it keeps how to get
them back: its source and date range, the file it read, and a checksum of each symbol's
bars. Simulated history is regenerated (it is seeded) and a file is read again; the
checksum says whether what came back is what was tested (the file was edited, the
simulated market's settings changed), and a chart is drawn from bars only when it is.
A run on stored bars reads its trade's window from the store (the Backtest dock does).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from workstation.backtest.data import BarData, DataProblem, file_bars, sim_bars
from workstation.backtest.run import BacktestRun
from workstation.bars import Timeframe
from workstation.config import Settings
from workstation.model import Bar
from workstation.trades import TradeRecord

CHART_PAD_BARS = 60  # bars shown either side of a trade


def fingerprint(data: BarData) -> str:
    """A checksum of a series' times and prices: equal bars, equal fingerprint."""
    crc = 0
    for column in (data.ts, data.open, data.high, data.low, data.close):
        crc = zlib.crc32(np.ascontiguousarray(column).tobytes(), crc)
    return f"{crc:08x}"


def provenance(first: date, last: date, source: str,
               series: list[BarData]) -> dict[str, object]:
    """What a run keeps to find its bars again (``source``: "sim", "store" or a file)."""
    found: dict[str, object] = {"first": first.isoformat(), "last": last.isoformat(),
                                "fingerprints": {s.symbol: fingerprint(s) for s in series}}
    if source not in ("sim", "store"):
        found["file"] = str(Path(source).resolve())
    return found


@dataclass(frozen=True, slots=True)
class TradeBars:
    bars: list[Bar]  # empty: none could be had, ``note`` says why
    note: str


def bars_for_trade(run: BacktestRun, trade: TradeRecord, settings: Settings,
                   pad: int = CHART_PAD_BARS) -> TradeBars:
    """The bars of the trade's symbol that a sim or file run traded on, from ``pad`` bars
    before its entry to ``pad`` after its exit; or none and the reason."""
    try:
        data = _series(run, trade.symbol, settings)
    except (DataProblem, OSError, ValueError) as exc:
        return TradeBars([], f"the run's bars could not be had again: {exc}")
    if data is None:
        return TradeBars([], "an older run keeps no way to find its bars again")
    expected = run.extra.get("data", {}).get("fingerprints", {}).get(trade.symbol)
    if fingerprint(data) != expected:
        return TradeBars([], f"the {run.source} bars of {trade.symbol} are no longer the ones "
                             "tested (changed since the run)")
    first = max(0, int(np.searchsorted(data.ts, trade.entry_ts, side="right")) - 1 - pad)
    last = int(np.searchsorted(data.ts, trade.exit_ts, side="right")) + pad
    tf = run.timeframe
    bars = [Bar(data.symbol, tf, int(ts), int(end), o, h, lo, c, v, int(n), int(f))
            for ts, end, o, h, lo, c, v, n, f in zip(
                data.ts[first:last], data.end[first:last], data.open[first:last].tolist(),
                data.high[first:last].tolist(), data.low[first:last].tolist(),
                data.close[first:last].tolist(), data.volume[first:last].tolist(),
                data.trades[first:last], data.flags[first:last], strict=True)]
    return TradeBars(bars, f"{trade.symbol} {tf} bars of the run ({run.source}), up to "
                           f"{pad} either side")


def _series(run: BacktestRun, symbol: str, settings: Settings) -> BarData | None:
    kept = run.extra.get("data")
    if not kept or run.source.startswith("store"):
        return None
    first, last = date.fromisoformat(kept["first"]), date.fromisoformat(kept["last"])
    Timeframe.parse(run.timeframe)  # a stored run with a bad timeframe: ValueError
    instrument = settings.instrument_map().get(symbol)
    if instrument is None:
        raise DataProblem(f"{symbol} is no longer an instrument in settings.toml")
    if run.source == "sim":
        item = next(i for i in settings.instruments if i.symbol == symbol)
        if item.sim is None:
            raise DataProblem(f"{symbol} has no simulated market any more")
        return sim_bars(instrument, item.sim, run.timeframe, first, last,
                        seed=run.settings.seed)
    return file_bars(Path(kept["file"]), instrument, run.timeframe, first, last)
