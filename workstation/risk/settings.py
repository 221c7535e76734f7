"""Risk settings: the trader's own limits and, optionally, a prop-firm preset.

Everything lives under ``[risk]`` in settings.toml and is validated strictly;
a bad value is reported with its dotted key (``risk.portfolio.daily_loss``).
A limit left out (or null) is not enforced. Prop-firm numbers are presets of
the common evaluation styles, parameterised by account size: check them
against your firm's current rules, which change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from workstation.settings_types import Money, Name, Quantity, Strict

Percent = Annotated[float, Field(gt=0, le=100)]
Minutes = Annotated[float, Field(gt=0, le=525_600)]  # at most a year
Count = Annotated[int, Field(gt=0, le=1_000_000)]


class OrderLimits(Strict):
    max_notional: Money | None = None  # qty x price x point value, per order
    max_qty: Quantity | None = None  # contracts/shares per order
    price_band_pct: Percent | None = 5.0  # limit/stop farther than this from last: rejected
    min_price: Money | None = 1.0  # no orders on instruments trading below this
    max_risk_pct: Percent | None = None  # risk to the stop as % of equity, per trade
    duplicate_window_s: Annotated[float, Field(ge=0, le=3_600)] = 2.0  # same order again: no
    max_orders_per_s: Count | None = 5
    max_orders_per_min: Count | None = 60


class PortfolioLimits(Strict):
    daily_loss: Money | None = None  # realized + unrealized, from the day's start
    max_drawdown: Money | None = None  # from the equity high-water mark: fires the kill switch
    max_deployed_pct: Percent | None = None  # margin + equity positions, % of equity
    max_open_positions: Count | None = None
    max_contracts: Count | None = None  # futures contracts, all symbols
    sessions_only: bool = True  # no new entries while the instrument's session is closed
    no_entry_minutes_before_close: Annotated[float, Field(ge=0, le=1_440)] | None = 5.0
    loss_streak: Count | None = None  # consecutive losing trades...
    cooldown_minutes: Minutes = 30.0  # ...then no entries for this long


class StrategyLimits(Strict):
    allocation: Money | None = None  # margin + equity positions the strategy may hold
    daily_loss: Money | None = None  # breach pauses the strategy
    max_drawdown: Money | None = None  # from its own P&L high: breach pauses it


class PropFirm(Strict):
    """A prop-firm evaluation. Percentages are of the initial balance."""

    style: Literal["ftmo", "topstep", "intraday_trailing"]
    account_size: Money
    daily_loss: Money | None = None  # default per style (see presets)
    max_loss: Money | None = None  # overall / trailing drawdown amount
    profit_target: Money | None = None
    min_trading_days: Annotated[int, Field(ge=0, le=1_000)] | None = None
    max_contracts: Count | None = None


class RiskSettings(Strict):
    order: OrderLimits = OrderLimits()
    portfolio: PortfolioLimits = PortfolioLimits()
    strategies: dict[Name, StrategyLimits] = Field(default_factory=dict)
    prop: PropFirm | None = None
    flatten_on_kill: bool = False  # the kill switch also closes every position
