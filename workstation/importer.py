"""Import ticks or bars from CSV or Parquet into the store, all or nothing.

A file is read and every value checked (columns, times, numbers and their
ranges, order, duplicates, prices on the instrument's tick grid, sizes in whole
lots) before anything is written; problems are reported as ``file line N: what
is wrong`` with the file's physical line numbers (Parquet: ``row N``). The write
is one transaction that also checks the data already stored (ticks overlapping a
stored time range are refused; bars already stored are skipped if identical and
refused if different) and records the file's SHA-256, so nothing is stored twice
and a failed import leaves nothing behind.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from workstation.bars import Timeframe
from workstation.config import MAX_PRICE
from workstation.model import AssetClass, Instrument
from workstation.settings_types import MAX_QTY
from workstation.store import Store, StoreError
from workstation.store.database import BarRow
from workstation.store.schema import bars, imports, tick_chunks
from workstation.store.ticks import TickColumns
from workstation.text import storable

MAX_REPORTED = 12
CHUNK_TICKS = 100_000
MAX_STEPS = 2**43  # price/tick and size/lot stay exact integers in a float, far below 2**53
MAX_VOLUME = 1e15  # one bar's volume; more is a typo or an overflow
MAX_TRADES = 2**53  # one bar's trade count, still exact as a float and within int64
FIRST_NS = int(pd.Timestamp.min.value)  # 1677-09-21: nanosecond timestamps hold no earlier
LAST_NS = int(pd.Timestamp.max.value)  # 2262-04-11
_RANGE = "1677-09-21 to 2262-04-11 UTC, the range of nanosecond timestamps"
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
_SIDES = {"buy": 1, "b": 1, "1": 1, "1.0": 1, "sell": -1, "s": -1, "-1": -1, "-1.0": -1,
          "": 0, "0": 0, "0.0": 0, "nan": 0, "none": 0}
_PRICES = ("open", "high", "low", "close")


class ImportProblem(ValueError):
    """The file cannot be imported; the message lists what is wrong and where."""


@dataclass(frozen=True, slots=True)
class MarketData:
    """A validated file: ``frame`` has symbol, ts (UTC ns) and the kind's columns;
    ``where(i)`` names frame row ``i``'s place in the file (``ticks.csv line 7``)."""

    kind: str  # "ticks" | "bars"
    frame: pd.DataFrame
    timeframe: str | None
    source: Path
    where: Callable[[int], str]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    kind: str
    rows: int  # rows written
    symbols: list[str]
    first_ns: int
    last_ns: int
    already_stored: int = 0  # bars skipped because identical ones were stored before


class _CsvLines:
    """Physical line numbers of a CSV's data rows (blank lines and quoted line breaks
    counted), worked out only when a problem needs one: a good file pays nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._starts: list[int] | None = None

    def line(self, pos: int) -> int:
        if self._starts is None:
            self._starts = [start for start, _ in _csv_records(self.path)][1:]
        return self._starts[pos] if pos < len(self._starts) else pos + 2

    def unreadable(self, error: str) -> str | None:
        """``line N: why`` for the row pandas could not tokenize (its ``error``), if found."""
        records = _csv_records(self.path)
        header = next(records, (0, 0))
        start, overlong = 0, None
        for start, fields in records:
            if overlong is None and fields > header[1]:
                overlong = f"line {start}: {fields} fields, but the header has {header[1]}"
        if "EOF inside string" in error and start:
            return f"line {start}: a quoted field is never closed (a \" without its pair)"
        return overlong


def _first_undecodable_line(path: Path) -> int | None:
    """The first physical line of ``path`` that is not UTF-8."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _csv_records(path: Path) -> Iterator[tuple[int, int]]:
    """(first physical line, field count) of each record pandas reads: lines holding only
    spaces and tabs are skipped, as ``read_csv`` skips them. A quote never closed makes the
    rest of the file one last record."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        consumed: list[str] = []

        def lines() -> Iterator[str]:
            for text in handle:
                consumed.append(text)
                yield text

        reader = csv.reader(lines(), skipinitialspace=True)
        last = 0
        try:
            for fields in reader:
                start, last = last + 1, reader.line_num
                raw = "".join(consumed)
                consumed.clear()
                if raw.strip(" \t\r\n"):
                    yield start, len(fields)
        except csv.Error:
            return  # a field beyond csv's size limit: later rows fall back to pos + 2


class _Problems:
    def __init__(self, path: Path, where: Callable[[int], str]) -> None:
        self.path = path
        self.where = where
        self.items: list[str] = []
        self.total = 0

    def rows(self, mask: np.ndarray | pd.Series, describe: Callable[[int], str]) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.total += len(positions)
        for pos in positions[: max(0, MAX_REPORTED - len(self.items))]:
            self.items.append(f"{self.where(int(pos))}: {describe(int(pos))}")

    def file(self, message: str) -> None:
        self.total += 1
        self.items.append(f"{self.path.name}: {message}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        more = self.total - len(self.items)
        tail = f"\n  ... and {more} more problem(s)" if more > 0 else ""
        raise ImportProblem(f"cannot import {self.path}:\n  " + "\n  ".join(self.items) + tail)


def read_market_file(path: Path, instruments: dict[str, Instrument], *, symbol: str | None = None,
                     timeframe: str | None = None, tz: str | None = None) -> MarketData:
    _check_zone(tz)
    raw, where = _read_table(path)
    if raw.empty:
        raise ImportProblem(f"{path.name}: the file has no data rows; nothing to import")
    problems = _Problems(path, where)
    frame = _rename_columns(raw)
    kind = _detect_kind(frame, path)
    if "symbol" not in frame.columns:
        if symbol is None:
            raise ImportProblem(f"{path.name}: no symbol column; pass --symbol")
        frame["symbol"] = symbol
    no_symbol = frame["symbol"].isna().to_numpy().copy()
    frame["symbol"] = frame["symbol"].astype(str).str.strip().where(~no_symbol, "")
    no_symbol |= (frame["symbol"] == "").to_numpy()
    problems.rows(no_symbol, lambda i: "the symbol is missing")
    unknown = ~frame["symbol"].isin(list(instruments)).to_numpy() & ~no_symbol
    problems.rows(unknown, lambda i: f"unknown symbol {frame['symbol'].iat[i]!r} "
                                     f"(known: {', '.join(instruments)})")
    frame["ts"] = _parse_times(frame["ts"], tz, problems)
    numeric = ["price", "size"] if kind == "ticks" else [*_PRICES, "volume"]
    if kind == "bars" and "trades" in frame:
        numeric.append("trades")
    for column in numeric:
        frame[column] = _parse_numbers(frame[column], column, problems)
    problems.raise_if_any()  # the checks below need clean numbers, times and symbols
    if kind == "ticks":
        frame["side"] = _parse_sides(frame, problems)
        _check_ticks(frame, instruments, problems)
        tf = None
    else:
        tf = _bar_timeframe(frame, timeframe, path)
        _check_bars(frame, instruments, Timeframe.parse(tf).nominal_ns, problems)
    _check_order(frame, problems)
    problems.raise_if_any()
    if kind == "bars":
        frame["trades"] = frame["trades"].astype(np.int64) if "trades" in frame else 0
    return MarketData(kind, frame.reset_index(drop=True), tf, path, where)


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
            skipped = 0
            if data.kind == "ticks":
                _refuse_stored_ticks(conn, data)
                Store.write_in(conn, _tick_columns(frame), [])
                written = len(frame)
            else:
                rows, skipped = _new_bar_rows(conn, data)
                Store.write_in(conn, [], rows)
                written = len(rows)
            conn.execute(imports.insert().values(
                file_name=storable(path.name), sha256=digest, kind=data.kind, rows=written,
                imported_at=time.time_ns()))
    except StoreError as exc:
        raise ImportProblem(f"cannot import {path}: {exc}") from exc
    return ImportSummary(data.kind, written, sorted(frame["symbol"].unique()),
                         int(frame["ts"].min()), int(frame["ts"].max()), skipped)


# -- reading ---------------------------------------------------------------------
def _read_table(path: Path) -> tuple[pd.DataFrame, Callable[[int], str]]:
    if not path.is_file():
        raise ImportProblem(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        lines = _CsvLines(path)
        return _read_csv(path, lines), lambda pos: f"{path.name} line {lines.line(pos)}"
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path), lambda pos: f"{path.name} row {pos + 1}"
    raise ImportProblem(f"{path.name}: unsupported file type {suffix!r}; use .csv or .parquet")


def _read_csv(path: Path, lines: _CsvLines) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                               index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        where = lines.unreadable(str(exc))
        if where is not None:
            raise ImportProblem(f"{path.name} {where}") from None
        raise ImportProblem(f"{path.name}: cannot read the file: {exc}") from None
    except UnicodeDecodeError:
        line = _first_undecodable_line(path)
        raise ImportProblem(f"{path.name} line {line}: not UTF-8 text; save the file as "
                            "UTF-8") from None
    except (ValueError, OSError) as exc:
        raise ImportProblem(f"{path.name}: cannot read the file: {exc}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    """Through fastparquet itself (a few MB where pyarrow is ~160; pandas' own
    ``engine="fastparquet"`` path is deprecated)."""
    try:
        import fastparquet  # only Parquet files need it

        return fastparquet.ParquetFile(str(path)).to_pandas()
    except ImportError:
        raise ImportProblem(f"{path.name}: reading Parquet needs the fastparquet package, which "
                            "is not installed; install it with `pip install fastparquet` (or "
                            "reinstall Bracket), or convert the file to CSV") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unreadable file
        raise ImportProblem(f"{path.name}: cannot read the file: {exc}") from None


def _rename_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """Map the file's column names to ours. ``volume`` is a bar column in a bar file
    and the trade size in a tick file."""
    lowered = {str(c).strip().lower(): c for c in raw.columns}
    is_bars = {"open", "high", "low", "close"} <= set(lowered)
    rename: dict[object, str] = {}
    for canonical, aliases in _ALIASES.items():
        if canonical in (("size",) if is_bars else ("volume", "trades", *_PRICES)):
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
    if set(_PRICES) <= columns:
        if "volume" not in columns:
            raise ImportProblem(f"{path.name}: bars need a volume column")
        return "bars"
    if "price" in columns:
        if "size" not in columns:
            raise ImportProblem(f"{path.name}: ticks need a size column (size, qty or volume)")
        return "ticks"
    raise ImportProblem(f"{path.name}: cannot tell ticks from bars: expected price and size, or "
                        f"open, high, low, close and volume; found {', '.join(frame.columns)}")


# -- times -----------------------------------------------------------------------
def _check_zone(tz: str | None) -> None:
    """Refuse a ``--tz`` pandas does not know in one line naming the value (never the
    ZoneInfoNotFoundError, IndexError or OSError the lookup raises)."""
    if tz is None:
        return
    try:
        pd.Timestamp(0).tz_localize(tz)
    except (LookupError, ValueError, TypeError, OSError):
        raise ImportProblem(f"--tz {tz!r} is not a known time zone; use a name such as "
                            "America/New_York or UTC") from None


def _parse_times(column: pd.Series, tz: str | None, problems: _Problems) -> pd.Series:
    """UTC nanoseconds. A missing, unreadable or unrepresentable time is a problem on its
    row; its value here is 0, never stored, as problems stop the import."""
    zeros = pd.Series(np.zeros(len(column), dtype=np.int64))
    is_stamp = pd.api.types.is_datetime64_any_dtype(column)
    text = column.astype(str).str.strip()
    missing = column.isna().to_numpy() | (False if is_stamp else (text == "").to_numpy())
    if missing.all():
        problems.file(f"the time column is empty: none of its {len(column):,} rows has a time")
        return zeros
    problems.rows(missing, lambda i: "the time is missing")
    values = np.zeros(len(column), dtype=np.int64)
    bad = missing.copy()
    if is_stamp:
        stamps = column
        if stamps.dt.tz is None:
            if tz is None:
                problems.file("timestamps have no time zone; pass --tz (e.g. --tz UTC)")
                return zeros
            stamps = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        _utc_ns(stamps[~missing], ~missing, values, bad, text, tz, problems)
        return pd.Series(values)
    has_zone = text.str.contains(_OFFSET).to_numpy()
    if tz is None and not (has_zone | missing).all():
        problems.rows(~has_zone & ~missing,
                      lambda i: f"time {text.iat[i]!r} has no time zone offset "
                                "(add e.g. +00:00, or pass --tz)")
        return zeros
    zoned, naive = has_zone & ~missing, ~has_zone & ~missing
    if zoned.any():
        stamps = pd.to_datetime(text[zoned], errors="coerce", utc=True, format="ISO8601")
        _utc_ns(stamps, zoned, values, bad, text, tz, problems)
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        stamps = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        _utc_ns(stamps, naive, values, bad, text, tz, problems)
    return pd.Series(values)


def _utc_ns(stamps: pd.Series, rows: np.ndarray, values: np.ndarray, bad: np.ndarray,
            text: pd.Series, tz: str | None, problems: _Problems) -> None:
    """Put the UTC nanoseconds of ``stamps`` (the file's ``rows``) into ``values``;
    report a time nanoseconds cannot hold, or that pandas could not read, on its row."""
    utc = stamps.dt.tz_convert("UTC")
    outside = np.zeros(len(rows), dtype=bool)
    outside[rows] = ((utc < pd.Timestamp(FIRST_NS, tz="UTC"))
                     | (utc > pd.Timestamp(LAST_NS, tz="UTC"))).to_numpy()
    problems.rows(outside, lambda i: f"time {text.iat[i]!r} is outside {_RANGE}")
    inside = utc.where(~outside[rows])
    unread = np.zeros(len(rows), dtype=bool)
    unread[rows] = inside.isna().to_numpy() & ~outside[rows]
    problems.rows(unread, lambda i: _unreadable_time(text.iat[i], tz))
    values[rows] = inside.dt.tz_localize(None).dt.as_unit("ns").to_numpy().view(np.int64)
    bad |= outside | unread
    values[bad] = 0


def _unreadable_time(text: str, tz: str | None) -> str:
    """Why pandas gave no time for ``text``: out of range, a clock change, or unreadable."""
    try:
        stamp = pd.Timestamp(datetime.fromisoformat(text))
        if stamp.tzinfo is None and tz is not None:
            stamp = stamp.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            if stamp is pd.NaT:
                return f"time {text!r} does not exist or is ambiguous in {tz} (a clock change)"
        if stamp.tzinfo is not None and not (
                pd.Timestamp(FIRST_NS, tz="UTC") <= stamp <= pd.Timestamp(LAST_NS, tz="UTC")):
            return f"time {text!r} is outside {_RANGE}"
    except (ValueError, OverflowError, TypeError):
        pass
    return f"cannot read time {text!r}"


# -- numbers ---------------------------------------------------------------------
def _parse_numbers(column: pd.Series, name: str, problems: _Problems) -> pd.Series:
    """Finite floats; anything else (empty, text, nan, inf, 1e400, true/false) is a problem
    on its row."""
    if pd.api.types.is_bool_dtype(column):
        values = np.full(len(column), np.nan)
    else:
        try:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError, OverflowError):
            values = np.array([_as_float(v) for v in column], dtype=float)
    bad = ~np.isfinite(values)
    problems.rows(bad, lambda i: _not_a_number(name, column.iat[i], values[i]))
    return pd.Series(np.where(bad, 0.0, values))


def _as_float(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float("nan")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _not_a_number(name: str, value: object, parsed: float) -> str:
    if isinstance(value, bool | np.bool_):
        return f"{name} {bool(value)} is not a number"
    if pd.isna(value) is True or not str(value).strip():
        return f"{name} is missing"
    if np.isinf(parsed) or str(value).strip().lower().lstrip("+-") == "nan":
        return f"{name} {value!r} is not a finite number"
    return f"{name} {value!r} is not a number"


def _parse_sides(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    if "side" not in frame:
        return pd.Series(np.zeros(len(frame), dtype=np.int64))
    text = frame["side"].astype(str).str.strip().str.lower()
    mapped = text.map(_SIDES)
    problems.rows(mapped.isna(), lambda i: f"side {frame['side'].iat[i]!r} is not buy or sell")
    return mapped.fillna(0).astype(np.int64)


# -- checks ----------------------------------------------------------------------
def _steps(values: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(too many steps, off the grid): a value must be a whole number of steps, at most
    MAX_STEPS of them, so the count is an exact integer in a float (1e308 / 0.25 is
    infinite and 1e300 / 0.25 a float that only looks whole)."""
    with np.errstate(over="ignore", invalid="ignore"):
        steps = values / step
        too_many = ~(steps <= MAX_STEPS)
        error = np.abs(steps - np.rint(steps))
    return too_many, ~too_many & (error > 1e-6 + steps * 2.0**-50)


def _per_row(frame: pd.DataFrame, by_symbol: dict[str, float]) -> np.ndarray:
    """Each row's value for its (known) symbol."""
    codes, symbols = pd.factorize(frame["symbol"])
    return np.array([by_symbol[s] for s in symbols], dtype=float)[codes]


def _check_prices(frame: pd.DataFrame, column: str, instruments: dict[str, Instrument],
                  problems: _Problems) -> None:
    price = frame[column].to_numpy(dtype=float)
    tick = _per_row(frame, {s: i.tick_size for s, i in instruments.items()})
    problems.rows(price <= 0, lambda i: f"{column} {price[i]} is not positive")
    too_big = price > MAX_PRICE
    problems.rows(too_big, lambda i: f"{column} {price[i]} is above the largest price "
                                     f"Bracket stores ({MAX_PRICE:,.0f})")
    too_many, off = _steps(price, tick)
    sane = (price > 0) & ~too_big
    problems.rows(sane & too_many, lambda i: f"{column} {price[i]} is more than {MAX_STEPS:,} "
                                             f"ticks of {tick[i]}")
    problems.rows(sane & off, lambda i: f"{column} {price[i]} is not a multiple of "
                                        f"{frame['symbol'].iat[i]}'s tick size {tick[i]}")


def _check_sizes(frame: pd.DataFrame, instruments: dict[str, Instrument],
                 problems: _Problems) -> None:
    size = frame["size"].to_numpy(dtype=float)
    lot = _per_row(frame, {s: i.lot_size for s, i in instruments.items()})
    future = _per_row(frame, {s: float(i.asset_class is AssetClass.FUTURE)
                              for s, i in instruments.items()}) > 0
    problems.rows(size <= 0, lambda i: f"size {size[i]} is not positive")
    too_big = size > MAX_QTY
    problems.rows(too_big, lambda i: f"size {size[i]} is above the largest size per row "
                                     f"({MAX_QTY:,.0f})")
    too_many, off = _steps(size, lot)
    off |= future & (size != np.rint(size))
    sane = (size > 0) & ~too_big
    problems.rows(sane & too_many, lambda i: f"size {size[i]} is more than {MAX_STEPS:,} lots "
                                             f"of {lot[i]}")
    problems.rows(sane & off & future, lambda i: f"size {size[i]} is not a whole number of "
                                                 f"{frame['symbol'].iat[i]} contracts")
    problems.rows(sane & off & ~future, lambda i: f"size {size[i]} is not a multiple of "
                                                  f"{frame['symbol'].iat[i]}'s lot size {lot[i]}")


def _check_ticks(frame: pd.DataFrame, instruments: dict[str, Instrument],
                 problems: _Problems) -> None:
    _check_prices(frame, "price", instruments, problems)
    _check_sizes(frame, instruments, problems)
    dupes = frame.duplicated(["symbol", "ts", "price", "size", "side"], keep="first")
    problems.rows(dupes, lambda i: "exact duplicate of an earlier row")


def _check_bars(frame: pd.DataFrame, instruments: dict[str, Instrument], length_ns: int,
                problems: _Problems) -> None:
    for column in _PRICES:
        _check_prices(frame, column, instruments, problems)
    volume = frame["volume"].to_numpy(dtype=float)
    problems.rows(volume < 0, lambda i: f"volume {volume[i]} is negative")
    problems.rows(volume > MAX_VOLUME, lambda i: f"volume {volume[i]} is above the largest "
                                                 f"volume per bar ({MAX_VOLUME:,.0f})")
    if "trades" in frame:
        trades = frame["trades"].to_numpy(dtype=float)
        problems.rows(trades < 0, lambda i: f"trades {trades[i]} is negative")
        problems.rows(trades > MAX_TRADES, lambda i: f"trades {trades[i]} is above the largest "
                                                     f"count per bar ({MAX_TRADES:,})")
        problems.rows((trades >= 0) & (trades <= MAX_TRADES) & (trades != np.rint(trades)),
                      lambda i: f"trades {trades[i]} is not a whole number")
    late = frame["ts"].to_numpy(dtype=np.int64) > LAST_NS - length_ns
    problems.rows(late, lambda i: "the bar would end after 2262-04-11, the last time "
                                  "nanosecond timestamps can hold")
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


# -- what is stored already --------------------------------------------------------
def _utc(ns: int) -> str:
    """``2026-11-02 14:30:00 UTC``, with a fraction of a second only when there is one."""
    fraction = f".{ns % 1_000_000_000:09d}".rstrip("0").rstrip(".")
    return f"{pd.Timestamp(ns, unit='ns', tz='UTC'):%Y-%m-%d %H:%M:%S}{fraction} UTC"


def _refuse_stored_ticks(conn: Connection, data: MarketData) -> None:
    """Refuse ticks whose time range for a symbol overlaps ticks stored for it: the same
    trades re-imported from a file with other bytes would otherwise be stored twice."""
    table = tick_chunks
    frame = data.frame
    for symbol, part in frame.groupby("symbol", sort=True):
        first, last = int(part["ts"].min()), int(part["ts"].max())
        stored = conn.execute(
            select(func.min(table.c.start_ts), func.max(table.c.end_ts), func.sum(table.c.count))
            .where(table.c.symbol == symbol, table.c.start_ts <= last, table.c.end_ts >= first)
        ).one()
        if stored[2] is None:
            continue
        at = int(np.flatnonzero(part["ts"].to_numpy() >= stored[0])[0])
        raise ImportProblem(
            f"cannot import {data.source}:\n  {data.where(int(part.index[at]))}: {symbol} ticks "
            f"from {_utc(first)} to {_utc(last)} overlap {int(stored[2]):,} {symbol} ticks "
            f"already stored from {_utc(stored[0])} to {_utc(stored[1])}; nothing was written "
            "(import only the time range that is not stored yet)")


def _new_bar_rows(conn: Connection, data: MarketData) -> tuple[list[BarRow], int]:
    """The file's bars that are not stored yet, and how many identical ones are; a bar
    that differs from the stored one with the same symbol, timeframe and time is refused."""
    rows = _bar_rows(data.frame, data.timeframe or "")
    stored: dict[tuple[str, int], tuple] = {}
    for symbol, part in data.frame.groupby("symbol", sort=True):
        query = select(bars).where(bars.c.symbol == symbol, bars.c.timeframe == data.timeframe,
                                   bars.c.ts >= int(part["ts"].min()),
                                   bars.c.ts <= int(part["ts"].max()))
        stored.update({(r.symbol, r.ts): tuple(r) for r in conn.execute(query)})
    fresh: list[BarRow] = []
    same = 0
    for pos, row in enumerate(rows):
        existing = stored.get((row[0], row[2]))
        if existing is None:
            fresh.append(row)
        elif existing == row:
            same += 1
        else:
            raise ImportProblem(
                f"cannot import {data.source}:\n  {data.where(pos)}: the {row[0]} {row[1]} bar "
                f"at {_utc(row[2])} differs from the one already stored "
                f"(stored o={existing[4]} h={existing[5]} l={existing[6]} c={existing[7]} "
                f"volume={existing[8]} trades={existing[9]}); nothing was written")
    if not fresh:
        raise ImportProblem(f"{data.source.name}: all {same:,} bars are already stored; "
                            "nothing was written")
    return fresh, same


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
    length = Timeframe.parse(timeframe).nominal_ns
    return [
        (r.symbol, timeframe, int(r.ts), int(r.ts) + length, float(r.open), float(r.high),
         float(r.low), float(r.close), float(r.volume), int(r.trades), 0)
        for r in frame.itertuples(index=False)
    ]
