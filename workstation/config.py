"""Settings (typed, validated, frozen) and the Bracket home directory.

Settings live in ``settings.toml`` inside the Bracket home: the platform's user
data directory, or ``--home DIR`` / ``BRACKET_HOME``. A bad value is reported
with the file, the dotted key and the problem; nothing is silently replaced or
coerced (see ``settings_types``), and a document that is too deep, holds a non-finite
number or unstorable text anywhere is refused before it is validated.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator, model_validator

from workstation.alpaca.settings import AlpacaSettings
from workstation.model import AssetClass, Instrument
from workstation.risk.settings import RiskSettings
from workstation.sessions import SCHEDULE_NAMES
from workstation.settings_types import (
    MAX_MONEY,
    MAX_QTY,
    Money,
    Seed,
    Strict,
    Text,
    lax,
    timeframe_label,
)
from workstation.signals.settings import SignalSettings
from workstation.strategies.instances import InstanceSettings
from workstation.text import check_storable

HOME_ENV = "BRACKET_HOME"
SETTINGS_FILE = "settings.toml"
DATABASE_FILE = "bracket.sqlite"


class ConfigError(ValueError):
    """A settings problem, phrased for the person who has to fix it."""


MAX_DEPTH = 16  # tables and arrays inside each other; the documented settings use 4
MIN_INCREMENT = 1e-10  # the smallest tick or lot size (a satoshi is 1e-8)
MAX_PRICE = 1e9
Symbol = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9/._-]+$")]


class SimParams(Strict):
    """How the simulated market moves one instrument."""

    price: Annotated[float, Field(gt=0, le=MAX_PRICE)]
    daily_vol: Annotated[float, Field(gt=0, lt=1)] = 0.015
    trades_per_s: Annotated[float, Field(gt=0, le=10_000)] = 5.0
    spread_ticks: Annotated[int, Field(ge=1, le=100)] = 1
    mean_size: Annotated[float, Field(gt=0, le=MAX_QTY)] = 2.0


class InstrumentSettings(Strict):
    symbol: Symbol
    tick_size: Annotated[float, Field(ge=MIN_INCREMENT, le=MAX_PRICE)]
    point_value: Annotated[float, Field(ge=MIN_INCREMENT, le=1e6)] = 1.0
    lot_size: Annotated[float, Field(ge=MIN_INCREMENT, le=MAX_QTY)] = 1.0
    asset_class: Annotated[AssetClass, lax()]
    currency: Annotated[Text, Field(min_length=1, max_length=12)] = "USD"
    schedule: str
    description: Annotated[Text, Field(max_length=200)] = ""
    sim: SimParams | None = None

    @field_validator("schedule")
    @classmethod
    def _known_schedule(cls, value: str) -> str:
        if value not in SCHEDULE_NAMES:
            raise ValueError(f"unknown schedule {value!r}; use one of {', '.join(SCHEDULE_NAMES)}")
        return value

    def instrument(self) -> Instrument:
        return Instrument(self.symbol, self.tick_size, self.point_value, self.lot_size,
                          self.asset_class, self.currency, self.schedule, self.description)


def _default_instruments() -> list[InstrumentSettings]:
    future = {"point_value": 1.0, "lot_size": 1.0, "asset_class": AssetClass.FUTURE,
              "schedule": "cme_globex"}
    equity = {"tick_size": 0.01, "asset_class": AssetClass.EQUITY, "schedule": "us_equity"}
    rows = [
        {**future, "symbol": "NQ", "point_value": 20.0, "tick_size": 0.25,
         "description": "Nasdaq-100 index future (E-mini style)",
         "sim": SimParams(price=21_000.0, daily_vol=0.016, trades_per_s=12, mean_size=2)},
        {**future, "symbol": "ES", "point_value": 50.0, "tick_size": 0.25,
         "description": "S&P 500 index future (E-mini style)",
         "sim": SimParams(price=6_000.0, daily_vol=0.011, trades_per_s=10, mean_size=3)},
        {**equity, "symbol": "AAPL", "description": "Apple Inc.",
         "sim": SimParams(price=230.0, daily_vol=0.017, trades_per_s=6, mean_size=120)},
        {**equity, "symbol": "MSFT", "description": "Microsoft Corp.",
         "sim": SimParams(price=480.0, daily_vol=0.015, trades_per_s=5, mean_size=90)},
        {"symbol": "BTC/USD", "tick_size": 0.01, "point_value": 1.0, "lot_size": 0.0001,
         "asset_class": AssetClass.CRYPTO, "schedule": "crypto_24_7",
         "description": "Bitcoin / US dollar",
         "sim": SimParams(price=95_000.0, daily_vol=0.03, trades_per_s=4, spread_ticks=50,
                          mean_size=0.05)},
    ]
    return [InstrumentSettings(**row) for row in rows]


class FeedSettings(Strict):
    kind: Literal["sim"] = "sim"
    speed: Annotated[float, Field(gt=0, le=10_000)] = 1.0
    seed: Seed = 7


class FillModel(Strict):
    """How the paper broker fills one instrument's orders (README: defaults)."""

    slippage: Literal["none", "fixed", "random"] = "none"
    slippage_ticks: Annotated[int, Field(ge=0, le=100)] = 1  # fixed N, or random 0..N
    latency: Literal["fixed", "random"] = "fixed"
    latency_ms: Annotated[float, Field(ge=0, le=60_000)] = 0.0  # fixed, or random minimum
    latency_max_ms: Annotated[float, Field(ge=0, le=60_000)] = 0.0  # random maximum
    limit_fill_on_touch: bool = False
    stop_trigger: Literal["trade", "quote"] = "trade"
    partial_fills: bool = False
    # half of it (in whole ticks, against the trader) is paid by a market order when no
    # quote is known; 0: fill at the last trade (bar backtests, to compare with other tools)
    typical_spread_ticks: Annotated[int, Field(ge=0, le=1_000)] = 1
    slippage_bps: Annotated[float, Field(ge=0, le=1_000)] = 0.0  # market and stop fills
    # bar backtests: a market order placed at a bar's close fills at the next bar's open,
    # or at that close
    bar_market_fill: Literal["next_open", "close"] = "next_open"
    commission: Annotated[float, Field(ge=0, le=MAX_MONEY)] | None = None  # per unit per side
    margin: Annotated[float, Field(ge=0, le=MAX_MONEY)] | None = None  # per futures contract

    @model_validator(mode="after")
    def _latency_range(self) -> FillModel:
        if self.latency == "random" and self.latency_max_ms < self.latency_ms:
            raise ValueError("latency_max_ms must be at least latency_ms")
        return self


DEFAULT_COMMISSION = {AssetClass.FUTURE: 2.50, AssetClass.EQUITY: 0.005, AssetClass.CRYPTO: 0.0}
DEFAULT_MARGIN = {"NQ": 25_000.0, "ES": 16_000.0}
FALLBACK_MARGIN = 10_000.0


class PaperSettings(Strict):
    starting_cash: Money = 100_000.0
    seed: Seed = 11
    fills: FillModel = FillModel()
    per_instrument: dict[Symbol, FillModel] = Field(default_factory=dict)
    break_even_r: Annotated[float, Field(ge=0, le=100)] = 1.0  # 0: never move stops to BE

    def fill_model(self, symbol: str) -> FillModel:
        return self.per_instrument.get(symbol, self.fills)


class TradingSettings(Strict):
    """The bracket that Buy/Sell market (hotkeys) attach, priced from the fill: a stop
    ``default_stop_ticks`` from the fill and a target at ``default_target_r`` R (0: none)."""

    default_stop_ticks: Annotated[int, Field(ge=0, le=100_000)] = 20
    default_target_r: Annotated[float, Field(ge=0, le=100)] = 2.0


class StoreSettings(Strict):
    flush_rows: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000
    flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    store_ticks: bool = True


class StrategiesSettings(Strict):
    """How plugin code is run, and instances to create on first start."""

    max_failures: Annotated[int, Field(ge=1, le=1_000)] = 5  # in a row, then disabled
    slow_callback_ms: Annotated[float, Field(gt=0, le=60_000)] = 10.0  # reported above this
    hard_limit_s: Annotated[float, Field(gt=0, le=600)] = 2.0  # interrupted and disabled
    # still running this long after the interrupt: the app is ended (exit code 70), see guard.py
    freeze_exit_s: Annotated[float, Field(ge=1, le=3_600)] = 20.0
    max_memory_mb: Annotated[float, Field(ge=16, le=1_048_576)] = 1024.0  # per instance
    hot_reload: bool = True
    instances: list[InstanceSettings] = Field(default_factory=list)

    @field_validator("instances")
    @classmethod
    def _unique_ids(cls, values: list[InstanceSettings]) -> list[InstanceSettings]:
        ids = [instance.instance_id for instance in values]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"instance id {', '.join(twice)} is used twice; ids are unique")
        return values


class Settings(Strict):
    instruments: list[InstrumentSettings] = Field(default_factory=_default_instruments)
    watchlist: list[Symbol] = Field(
        default_factory=lambda: ["NQ", "ES", "AAPL", "MSFT", "BTC/USD"])
    timeframes: Annotated[list[str], Field(max_length=50)] = Field(
        default_factory=lambda: ["5s", "1m", "5m", "15m", "1h", "1d"])
    feed: FeedSettings = FeedSettings()
    store: StoreSettings = StoreSettings()
    paper: PaperSettings = PaperSettings()
    trading: TradingSettings = TradingSettings()
    risk: RiskSettings = RiskSettings()
    strategies: StrategiesSettings = StrategiesSettings()
    signals: SignalSettings = SignalSettings()
    alpaca: AlpacaSettings = AlpacaSettings()

    @field_validator("instruments")
    @classmethod
    def _some_instruments(cls, values: list[InstrumentSettings]) -> list[InstrumentSettings]:
        if not values:
            raise ValueError("at least one instrument is needed (or leave instruments out "
                             "for the defaults)")
        return values

    @field_validator("timeframes")
    @classmethod
    def _valid_timeframes(cls, values: list[str]) -> list[str]:
        return [timeframe_label(value) for value in values]

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        symbols = [item.symbol for item in self.instruments]
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise ValueError(f"instrument symbols appear twice: {', '.join(duplicates)}")
        unknown = [s for s in self.watchlist if s not in symbols]
        if unknown:
            raise ValueError(f"watchlist names unknown instruments: {', '.join(unknown)}")
        unknown = [s for s in self.risk.strategies if not s.strip()]
        if unknown:
            raise ValueError("risk.strategies has an empty strategy name")
        for instance in self.strategies.instances:
            unknown = [s for s in instance.symbols if s not in symbols]
            if unknown:
                raise ValueError(f"strategies.instances {instance.instance_id} names unknown "
                                 f"instruments: {', '.join(unknown)}")
        unknown = [s for s in self.signals.rules if s not in symbols]
        if unknown:
            raise ValueError(f"signals.rules names unknown instruments: {', '.join(unknown)}")
        unknown = [s for s in self.paper.per_instrument if s not in symbols]
        if unknown:
            raise ValueError(f"paper.per_instrument names unknown instruments: "
                             f"{', '.join(unknown)}")
        return self

    def instrument_map(self) -> dict[str, Instrument]:
        return {item.symbol: item.instrument() for item in self.instruments}

    def commission(self, instrument: Instrument) -> float:
        configured = self.paper.fill_model(instrument.symbol).commission
        return DEFAULT_COMMISSION[instrument.asset_class] if configured is None else configured

    def margin(self, instrument: Instrument) -> float:
        configured = self.paper.fill_model(instrument.symbol).margin
        if configured is not None:
            return configured
        return DEFAULT_MARGIN.get(instrument.symbol, FALLBACK_MARGIN)


def load_settings(path: Path) -> Settings:
    """Read ``settings.toml``; a missing file means defaults. Every problem is a
    ``ConfigError`` naming the file and the dotted key."""
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: cannot read settings: tables or arrays are nested too "
                          "deeply") from None
    return settings_from_document(raw, path)


def settings_from_document(raw: dict[str, object], path: Path) -> Settings:
    """Validate a parsed settings document (the loader's second half; ``path`` is only
    named in messages)."""
    try:
        _check_document(raw)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return Settings(**raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(top level)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def _check_document(raw: dict[str, object]) -> None:
    """What no model field may hold, checked everywhere (free-form ``params`` tables too):
    nesting deeper than MAX_DEPTH, non-finite numbers, unstorable text. Iterative, so a
    deep document cannot exhaust the stack."""
    stack: list[tuple[str, object, int]] = [("", raw, 0)]
    while stack:
        where, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"{where}: nested more than {MAX_DEPTH} tables or arrays deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and not key.isprintable():
                    raise ValueError(f"{where or '(top level)'}: key {key!r} holds characters "
                                     "that cannot be shown")
                stack.append((f"{where}.{key}" if where else str(key), item, depth + 1))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not a finite number")
        elif isinstance(value, str):
            check_storable(where, value)


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--home`` wins, then ``BRACKET_HOME``, then the platform's user data dir."""
    chosen = explicit or os.environ.get(HOME_ENV) or platformdirs.user_data_dir("Bracket", False)
    home = Path(chosen).expanduser().resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "plugins").mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the Bracket home {home}: {exc.strerror}") from None
    return home
