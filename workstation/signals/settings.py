"""Settings of the signal confirmation engine (``[signals]`` in settings.toml).

Validation rules (staleness, stop offset, session windows) are per instrument; an
instrument without its own rules gets its asset class's defaults: for NQ-style
futures a 5-point maximum deviation and a 25-point stop offset, as the desk's
playbook has it (ES gets them scaled to its smaller moves); for stocks and crypto,
percentages and ticks that scale with price.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from workstation.model import AssetClass, Instrument
from workstation.settings_types import (
    ClockTime,
    Money,
    Name,
    Quantity,
    Strict,
    lax,
    timeframe_label,
)
from workstation.signals.setup import Sizing
from workstation.signals.webhook import WebhookSettings

Unit = Literal["points", "ticks", "percent"]
Distance = Annotated[float, Field(ge=0, le=1e9)]


class Window(Strict):
    """A part of the session (exchange time) in which signals are accepted."""

    start: ClockTime
    end: ClockTime

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps midnight


class SignalRules(Strict):
    max_deviation: Distance = 5.0  # signal price vs market; 0: no check
    deviation_unit: Unit = "points"
    stop_offset: Distance = 25.0  # beyond the pivot's extreme
    offset_unit: Unit = "points"
    skip_first_minutes: Annotated[float, Field(ge=0, le=720)] = 0.0  # of the session
    skip_last_minutes: Annotated[float, Field(ge=0, le=720)] = 0.0
    windows: list[Window] = Field(default_factory=list)  # empty: the whole session

    def in_points(self, amount: float, unit: Unit, instrument: Instrument,
                  price: float) -> float:
        if unit == "ticks":
            return amount * instrument.tick_size
        if unit == "percent":
            return price * amount / 100.0
        return amount

    def describe(self, amount: float, unit: Unit) -> str:
        return f"{amount:g}%" if unit == "percent" else f"{amount:g} {unit}"


DEFAULT_RULES = {
    AssetClass.FUTURE: SignalRules(),
    AssetClass.EQUITY: SignalRules(max_deviation=0.5, deviation_unit="percent",
                                   stop_offset=10, offset_unit="ticks"),
    AssetClass.CRYPTO: SignalRules(max_deviation=0.5, deviation_unit="percent",
                                   stop_offset=0.1, offset_unit="percent"),
}


# ES moves about a quarter as many points as NQ: the NQ playbook's numbers, scaled
SYMBOL_RULES = {"ES": SignalRules(max_deviation=1.5, stop_offset=6.0)}


class SignalSettings(Strict):
    timeframe: str = "1m"  # confirmation bars
    expiry_bars: Annotated[int, Field(ge=1, le=1_000)] = 5  # pending: bars to confirm
    approval_bars: Annotated[int, Field(ge=1, le=1_000)] = 5  # awaiting: bars to approve
    entry: Literal["next_open", "limit_at_close"] = "next_open"
    sizing: Annotated[Sizing, lax()] = Sizing.EQUITY_PCT
    risk_amount: Money = 1.0  # % of equity, or money (fixed_money)
    target_r: Annotated[tuple[Annotated[float, Field(gt=0, le=1_000)], ...],
                        Field(max_length=20), lax()] = (1.0, 2.0)
    max_qty: Quantity | None = None
    pivot_lookback: Annotated[int, Field(ge=0, le=50)] = 5
    auto_approve: Annotated[tuple[Name, ...], lax()] = ()  # sources approved without a click
    notify_on_confirm: bool = True
    rules: dict[str, SignalRules] = Field(default_factory=dict)  # per instrument symbol
    source_windows: dict[Name, list[Window]] = Field(default_factory=dict)  # per strategy
    webhook: WebhookSettings = WebhookSettings()  # the local alert endpoint, off by default

    @field_validator("timeframe")
    @classmethod
    def _time_bars(cls, value: str) -> str:
        return timeframe_label(value, time_only=True)

    @model_validator(mode="after")
    def _targets(self) -> SignalSettings:
        if not self.target_r:
            raise ValueError("target_r needs at least one R multiple")
        if self.sizing is Sizing.EQUITY_PCT and self.risk_amount > 10:
            raise ValueError(f"risk_amount {self.risk_amount:g}% of equity per trade: "
                             "percent sizing takes at most 10")
        return self

    def rules_for(self, instrument: Instrument) -> SignalRules:
        symbol = instrument.symbol
        if symbol in self.rules:
            return self.rules[symbol]
        return SYMBOL_RULES.get(symbol, DEFAULT_RULES[instrument.asset_class])

    def auto_approves(self, source: str) -> bool:
        return any(pattern == "*" or pattern == source or
                   (pattern.endswith("*") and source.startswith(pattern[:-1]))
                   for pattern in self.auto_approve)
