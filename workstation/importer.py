"""Import ticks or bars from CSV or Parquet into the store, all or nothing.

A file is read and every row checked (columns, numbers, time zone, order,
duplicates, prices on the instrument's tick grid) before anything is written;
problems are reported as ``file line N: what is wrong``. The write itself is
one transaction that also records the file's SHA-256, so a file is never
imported twice and a failed import leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.bars import Timeframe
from workstation.model import Instrument
from workstation.store import Store, StoreError
from workstation.store.database import BarRow
from workstation.store.schema import imports
from workstation.store.ticks import TickColumns

MAX_REPORTED = 12
CHUNK_TICKS = 100_000
_ALIASES = {
    "ts": ("ts", "timestamp", "time", "datetime", "date"),
    "symbol": ("symbol", "ticker", "instrument"),
    "price": ("price", "last", "trade_price"),
    "size": ("size", "qty", "quantity", "volume", "amount"),
    "side": ("side", "aggressor"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "trades": ("trades", "count", "n"),
}
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_SIDES = {"buy": 1, "b": 1, "1": 1, "sell": -1, "s": -1, "-1": -1, "": 0, "0": 0, "nan": 0}


class ImportProblem(ValueError):
    """The file cannot be imported; the message lists what is wrong and where."""


@dataclass(frozen=True, slots=True)
class MarketData:
    """A validated file: ``frame`` has symbol, ts (UTC ns) and the kind's columns."""

    kind: str  # "ticks" | "bars"
    frame: pd.DataFrame
    timeframe: str | None
    source: Path


@dataclass(frozen=True, slots=True)
class ImportSummary:
    kind: str
    rows: int
    symbols: list[str]
    first_ns: int
    last_ns: int


class _Problems:
    def __init__(self, path: Path, first_line: int) -> None:
        self.path = path
        self.first_line = first_line  # file line of frame row 0 (CSV: 2, Parquet: row 1)
        self.items: list[str] = []
        self.total = 0

    def rows(self, mask: np.ndarray | pd.Series, describe: Callable[[int], str]) -> None:
        positions = np.flatnonzero(np.asarray(mask))
        self.total += len(positions)
        for pos in positions[: max(0, MAX_REPORTED - len(self.items))]:
            self.items.append(f"{self.where(int(pos))}: {describe(int(pos))}")

    def file(self, message: str) -> None:
        self.total += 1
        self.items.append(f"{self.path.name}: {message}")

    def where(self, pos: int) -> str:
        unit = "line" if self.first_line == 2 else "row"
        return f"{self.path.name} {unit} {pos + self.first_line}"

    def raise_if_any(self) -> None:
        if not self.items:
            return
        more = self.total - len(self.items)
        tail = f"\n  ... and {more} more problem(s)" if more > 0 else ""
        raise ImportProblem(f"cannot import {self.path}:\n  " + "\n  ".join(self.items) + tail)


def read_market_file(path: Path, instruments: dict[str, Instrument], *, symbol: str | None = None,
                     timeframe: str | None = None, tz: str | None = None) -> MarketData:
    raw, first_line = _read_table(path)
    if raw.empty:
        raise ImportProblem(f"{path.name}: the file has no data rows; nothing to import")
    problems = _Problems(path, first_line)
    frame = _rename_columns(raw)
    kind = _detect_kind(frame, path)
    if "symbol" not in frame.columns:
        if symbol is None:
            raise ImportProblem(f"{path.name}: no symbol column; pass --symbol")
        frame["symbol"] = symbol
    frame["symbol"] = frame["symbol"].astype(str).str.strip()
    unknown = ~frame["symbol"].isin(list(instruments))
    problems.rows(unknown, lambda i: f"unknown symbol {frame['symbol'].iat[i]!r} "
                                     f"(known: {', '.join(instruments)})")
    frame["ts"] = _parse_times(frame["ts"], tz, problems)
    numeric = ["price", "size"] if kind == "ticks" else ["open", "high", "low", "close", "volume"]
    for column in numeric:
        frame[column] = _parse_numbers(frame, column, problems)
    problems.raise_if_any()  # the checks below need clean numbers and times
    if kind == "ticks":
        frame["side"] = _parse_sides(frame, problems)
        _check_ticks(frame, instruments, problems)
        tf = None
    else:
        tf = _bar_timeframe(frame, timeframe, path)
        if "trades" in frame:
            frame["trades"] = _parse_numbers(frame, "trades", problems).round().astype(np.int64)
        else:
            frame["trades"] = 0
        _check_bars(frame, instruments, problems)
    _check_order(frame, problems)
    problems.raise_if_any()
    return MarketData(kind, frame.reset_index(drop=True), tf, path)


def import_file(store: Store, path: Path, instruments: dict[str, Instrument], *,
                symbol: str | None = None, timeframe: str | None = None,
                tz: str | None = None) -> ImportSummary:
    data = read_market_file(path, instruments, symbol=symbol, timeframe=timeframe, tz=tz)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    frame = data.frame
    try:
        with store.transaction() as conn:
            already = conn.execute(imports.select().where(imports.c.sha256 == digest)).first()
            if already is not None:
                when = pd.Timestamp(already.imported_at, unit="ns", tz="UTC")
                raise ImportProblem(f"{path.name} was already imported on "
                                    f"{when:%Y-%m-%d %H:%M} UTC (as {already.file_name}); "
                                    "nothing was written")
            if data.kind == "ticks":
                Store.write_in(conn, _tick_columns(frame), [])
            else:
                Store.write_in(conn, [], _bar_rows(frame, data.timeframe or ""))
            conn.execute(imports.insert().values(
                file_name=path.name, sha256=digest, kind=data.kind, rows=len(frame),
                imported_at=time.time_ns()))
    except StoreError as exc:
        raise ImportProblem(f"cannot import {path}: {exc}") from exc
    return ImportSummary(data.kind, len(frame), sorted(frame["symbol"].unique()),
                         int(frame["ts"].min()), int(frame["ts"].max()))


# -- reading ---------------------------------------------------------------------
def _read_table(path: Path) -> tuple[pd.DataFrame, int]:
    if not path.is_file():
        raise ImportProblem(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True), 2
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), 1
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ImportProblem(f"{path.name}: cannot read the file: {exc}") from None
    raise ImportProblem(f"{path.name}: unsupported file type {suffix!r}; use .csv or .parquet")


def _rename_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """Map the file's column names to ours. ``volume`` is a bar column in a bar file
    and the trade size in a tick file."""
    lowered = {str(c).strip().lower(): c for c in raw.columns}
    is_bars = {"open", "high", "low", "close"} <= set(lowered)
    rename: dict[object, str] = {}
    for canonical, aliases in _ALIASES.items():
        if canonical in (("size",) if is_bars else ("volume", "trades", "open", "high", "low",
                                                    "close")):
            continue
        for alias in aliases:
            if alias in lowered and lowered[alias] not in rename:
                rename[lowered[alias]] = canonical
                break
    return raw.rename(columns=rename)[list(dict.fromkeys(rename.values()))].copy()


def _detect_kind(frame: pd.DataFrame, path: Path) -> str:
    columns = set(frame.columns)
    if "ts" not in columns:
        raise ImportProblem(f"{path.name}: missing a time column (ts, timestamp, time or datetime)")
    if {"open", "high", "low", "close"} <= columns:
        if "volume" not in columns:
            raise ImportProblem(f"{path.name}: bars need a volume column")
        return "bars"
    if "price" in columns:
        if "size" not in columns:
            raise ImportProblem(f"{path.name}: ticks need a size column (size, qty or volume)")
        return "ticks"
    raise ImportProblem(f"{path.name}: cannot tell ticks from bars: expected price and size, or "
                        f"open, high, low, close and volume; found {', '.join(frame.columns)}")


def _parse_times(column: pd.Series, tz: str | None, problems: _Problems) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = column
        if stamps.dt.tz is None:
            if tz is None:
                problems.file("timestamps have no time zone; pass --tz (e.g. --tz UTC)")
                return pd.Series(np.zeros(len(column), dtype=np.int64))
            stamps = stamps.dt.tz_localize(tz)
        return pd.Series(stamps.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy())
    text = column.astype(str).str.strip()
    has_zone = text.str.contains(_OFFSET)
    if tz is None and not has_zone.all():
        problems.rows(~has_zone, lambda i: f"time {text.iat[i]!r} has no time zone offset "
                                           "(add e.g. +00:00, or pass --tz)")
        return pd.Series(np.zeros(len(column), dtype=np.int64))
    if has_zone.all():
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    else:
        naive = pd.to_datetime(text, errors="coerce", format="ISO8601")
        parsed = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    bad = parsed.isna().to_numpy()
    problems.rows(bad, lambda i: f"cannot read time {text.iat[i]!r}")
    return pd.Series(parsed.dt.as_unit("ns").astype("int64").where(~bad, 0).to_numpy())


def _parse_numbers(frame: pd.DataFrame, column: str, problems: _Problems) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0))
    problems.rows(bad, lambda i: f"{column} {frame[column].iat[i]!r} is not a number")
    return values.fillna(0.0).astype(float)


def _parse_sides(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    if "side" not in frame:
        return pd.Series(np.zeros(len(frame), dtype=np.int64))
    text = frame["side"].astype(str).str.strip().str.lower()
    mapped = text.map(_SIDES)
    problems.rows(mapped.isna(), lambda i: f"side {frame['side'].iat[i]!r} is not buy or sell")
    return mapped.fillna(0).astype(np.int64)


# -- checks ----------------------------------------------------------------------
def _off_grid(frame: pd.DataFrame, column: str, instruments: dict[str, Instrument]) -> np.ndarray:
    ticks = frame["symbol"].map(lambda s: instruments[s].tick_size).to_numpy(dtype=float)
    steps = frame[column].to_numpy(dtype=float) / ticks
    return np.abs(steps - np.round(steps)) > 1e-6


def _check_ticks(frame: pd.DataFrame, instruments: dict[str, Instrument],
                 problems: _Problems) -> None:
    problems.rows(frame["price"] <= 0, lambda i: f"price {frame['price'].iat[i]} is not positive")
    problems.rows(frame["size"] <= 0, lambda i: f"size {frame['size'].iat[i]} is not positive")
    problems.rows(_off_grid(frame, "price", instruments) & (frame["price"] > 0),
                  lambda i: f"price {frame['price'].iat[i]} is not a multiple of "
                            f"{frame['symbol'].iat[i]}'s tick size "
                            f"{instruments[frame['symbol'].iat[i]].tick_size}")
    dupes = frame.duplicated(["symbol", "ts", "price", "size", "side"], keep="first")
    problems.rows(dupes, lambda i: "exact duplicate of an earlier row")


def _check_bars(frame: pd.DataFrame, instruments: dict[str, Instrument],
                problems: _Problems) -> None:
    for column in ("open", "high", "low", "close"):
        problems.rows(frame[column] <= 0,
                      lambda i, c=column: f"{c} {frame[c].iat[i]} is not positive")
        problems.rows(_off_grid(frame, column, instruments) & (frame[column] > 0),
                      lambda i, c=column: f"{c} {frame[c].iat[i]} is off the tick grid of "
                                          f"{frame['symbol'].iat[i]}")
    problems.rows(frame["volume"] < 0, lambda i: f"volume {frame['volume'].iat[i]} is negative")
    inconsistent = (frame["high"] < frame[["open", "close", "low"]].max(axis=1)) | (
        frame["low"] > frame[["open", "close"]].min(axis=1))
    problems.rows(inconsistent, lambda i: "high/low do not contain open and close "
                                          f"(o={frame['open'].iat[i]} h={frame['high'].iat[i]} "
                                          f"l={frame['low'].iat[i]} c={frame['close'].iat[i]})")
    dupes = frame.duplicated(["symbol", "ts"], keep="first")
    problems.rows(dupes, lambda i: "a second bar with the same symbol and time")


def _check_order(frame: pd.DataFrame, problems: _Problems) -> None:
    backwards = frame.groupby("symbol", sort=False)["ts"].diff() < 0
    problems.rows(backwards, lambda i: "time goes backwards (earlier than the row before it "
                                       f"for {frame['symbol'].iat[i]})")


def _bar_timeframe(frame: pd.DataFrame, timeframe: str | None, path: Path) -> str:
    if timeframe is None:
        raise ImportProblem(f"{path.name} holds bars: pass --timeframe (e.g. 1m, 5m, 1d)")
    try:
        tf = Timeframe.parse(timeframe)
    except ValueError as exc:
        raise ImportProblem(f"{path.name}: {exc}") from None
    if tf.kind not in ("time", "session"):
        raise ImportProblem(f"{path.name}: only time bars can be imported, not {tf.label}")
    return tf.label


# -- writing -----------------------------------------------------------------------
def _tick_columns(frame: pd.DataFrame) -> list[tuple[str, TickColumns]]:
    """Each symbol's ticks in chunks of at most CHUNK_TICKS."""
    out = []
    for symbol, part in frame.groupby("symbol", sort=True):
        for first in range(0, len(part), CHUNK_TICKS):
            piece = part.iloc[first:first + CHUNK_TICKS]
            out.append((str(symbol), TickColumns(piece["ts"].tolist(), piece["price"].tolist(),
                                                 piece["size"].tolist(), piece["side"].tolist())))
    return out


def _bar_rows(frame: pd.DataFrame, timeframe: str) -> list[BarRow]:
    tf = Timeframe.parse(timeframe)
    length = tf.nominal_ns
    return [
        (r.symbol, timeframe, int(r.ts), int(r.ts) + length, r.open, r.high, r.low, r.close,
         r.volume, int(r.trades), 0)
        for r in frame.itertuples(index=False)
    ]
