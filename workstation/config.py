"""Settings (typed, validated, frozen) and the Bracket home directory.

Settings live in ``settings.toml`` inside the Bracket home: the platform's user
data directory, or ``--home DIR`` / ``BRACKET_HOME``. A bad value is reported
with the file, the key and the problem; nothing is silently replaced.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workstation.bars import Timeframe
from workstation.model import AssetClass, Instrument
from workstation.risk.settings import RiskSettings
from workstation.sessions import SCHEDULE_NAMES
from workstation.signals.settings import SignalSettings
from workstation.strategies.instances import InstanceSettings

HOME_ENV = "BRACKET_HOME"
SETTINGS_FILE = "settings.toml"
DATABASE_FILE = "bracket.sqlite"


class ConfigError(ValueError):
    """A settings problem, phrased for the person who has to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimParams(_Strict):
    """How the simulated market moves one instrument."""

    price: Annotated[float, Field(gt=0)]
    daily_vol: Annotated[float, Field(gt=0, lt=1)] = 0.015
    trades_per_s: Annotated[float, Field(gt=0, le=10_000)] = 5.0
    spread_ticks: Annotated[int, Field(ge=1, le=100)] = 1
    mean_size: Annotated[float, Field(gt=0)] = 2.0


class InstrumentSettings(_Strict):
    symbol: Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9/._-]+$")]
    tick_size: Annotated[float, Field(gt=0)]
    point_value: Annotated[float, Field(gt=0)] = 1.0
    lot_size: Annotated[float, Field(gt=0)] = 1.0
    asset_class: AssetClass
    currency: str = "USD"
    schedule: str
    description: str = ""
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


class FeedSettings(_Strict):
    kind: Literal["sim"] = "sim"
    speed: Annotated[float, Field(gt=0, le=10_000)] = 1.0
    seed: int = 7


class FillModel(_Strict):
    """How the paper broker fills one instrument's orders (README: defaults)."""

    slippage: Literal["none", "fixed", "random"] = "none"
    slippage_ticks: Annotated[int, Field(ge=0, le=100)] = 1  # fixed N, or random 0..N
    latency: Literal["fixed", "random"] = "fixed"
    latency_ms: Annotated[float, Field(ge=0, le=60_000)] = 0.0  # fixed, or random minimum
    latency_max_ms: Annotated[float, Field(ge=0, le=60_000)] = 0.0  # random maximum
    limit_fill_on_touch: bool = False
    stop_trigger: Literal["trade", "quote"] = "trade"
    partial_fills: bool = False
    typical_spread_ticks: Annotated[int, Field(ge=1, le=1_000)] = 1
    commission: Annotated[float, Field(ge=0)] | None = None  # per unit per side
    margin: Annotated[float, Field(ge=0)] | None = None  # per futures contract

    @model_validator(mode="after")
    def _latency_range(self) -> FillModel:
        if self.latency == "random" and self.latency_max_ms < self.latency_ms:
            raise ValueError("latency_max_ms must be at least latency_ms")
        return self


DEFAULT_COMMISSION = {AssetClass.FUTURE: 2.50, AssetClass.EQUITY: 0.005, AssetClass.CRYPTO: 0.0}
DEFAULT_MARGIN = {"NQ": 25_000.0, "ES": 16_000.0}
FALLBACK_MARGIN = 10_000.0


class PaperSettings(_Strict):
    starting_cash: Annotated[float, Field(gt=0)] = 100_000.0
    seed: int = 11
    fills: FillModel = FillModel()
    per_instrument: dict[str, FillModel] = Field(default_factory=dict)
    break_even_r: Annotated[float, Field(ge=0)] = 1.0  # 0: never move stops to break-even

    def fill_model(self, symbol: str) -> FillModel:
        return self.per_instrument.get(symbol, self.fills)


class StoreSettings(_Strict):
    flush_rows: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000
    flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    store_ticks: bool = True


class StrategiesSettings(_Strict):
    """How plugin code is run, and instances to create on first start."""

    max_failures: Annotated[int, Field(ge=1, le=1_000)] = 5  # in a row, then disabled
    slow_callback_ms: Annotated[float, Field(gt=0)] = 10.0  # reported above this
    hard_limit_s: Annotated[float, Field(gt=0, le=600)] = 2.0  # interrupted and disabled
    hot_reload: bool = True
    instances: list[InstanceSettings] = Field(default_factory=list)


class Settings(_Strict):
    instruments: list[InstrumentSettings] = Field(default_factory=_default_instruments)
    watchlist: list[str] = Field(default_factory=lambda: ["NQ", "ES", "AAPL", "MSFT", "BTC/USD"])
    timeframes: list[str] = Field(default_factory=lambda: ["5s", "1m", "5m", "15m", "1h", "1d"])
    feed: FeedSettings = FeedSettings()
    store: StoreSettings = StoreSettings()
    paper: PaperSettings = PaperSettings()
    risk: RiskSettings = RiskSettings()
    strategies: StrategiesSettings = StrategiesSettings()
    signals: SignalSettings = SignalSettings()

    @field_validator("timeframes")
    @classmethod
    def _valid_timeframes(cls, values: list[str]) -> list[str]:
        return [Timeframe.parse(value).label for value in values]

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
    """Read ``settings.toml``; a missing file means defaults."""
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    try:
        return Settings(**raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


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
