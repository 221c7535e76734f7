"""Risk settings: the trader's own limits and, optionally, a prop-firm preset.

Everything lives under ``[risk]`` in settings.toml and is validated strictly;
a bad value is reported with its dotted key (``risk.portfolio.daily_loss``).
A limit left out (or null) is not enforced. Prop-firm numbers are presets of
the common evaluation styles, parameterised by account size: check them
against your firm's current rules, which change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[float, Field(gt=0)]
Percent = Annotated[float, Field(gt=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderLimits(_Strict):
    max_notional: Money | None = None  # qty x price x point value, per order
    max_qty: Annotated[float, Field(gt=0)] | None = None  # contracts/shares per order
    price_band_pct: Percent | None = 5.0  # limit/stop farther than this from last: rejected
    min_price: Money | None = 1.0  # no orders on instruments trading below this
    max_risk_pct: Percent | None = None  # risk to the stop as % of equity, per trade
    duplicate_window_s: Annotated[float, Field(ge=0)] = 2.0  # same order again within: rejected
    max_orders_per_s: Annotated[int, Field(gt=0)] | None = 5
    max_orders_per_min: Annotated[int, Field(gt=0)] | None = 60


class PortfolioLimits(_Strict):
    daily_loss: Money | None = None  # realized + unrealized, from the day's start
    max_drawdown: Money | None = None  # from the equity high-water mark: fires the kill switch
    max_deployed_pct: Percent | None = None  # margin + equity positions, % of equity
    max_open_positions: Annotated[int, Field(gt=0)] | None = None
    max_contracts: Annotated[int, Field(gt=0)] | None = None  # futures contracts, all symbols
    sessions_only: bool = True  # no new entries while the instrument's session is closed
    no_entry_minutes_before_close: Annotated[float, Field(ge=0)] | None = 5.0
    loss_streak: Annotated[int, Field(gt=0)] | None = None  # consecutive losing trades...
    cooldown_minutes: Annotated[float, Field(gt=0)] = 30.0  # ...then no entries for this long


class StrategyLimits(_Strict):
    allocation: Money | None = None  # margin + equity positions the strategy may hold
    daily_loss: Money | None = None  # breach pauses the strategy
    max_drawdown: Money | None = None  # from its own P&L high: breach pauses it


class PropFirm(_Strict):
    """A prop-firm evaluation. Percentages are of the initial balance."""

    style: Literal["ftmo", "topstep", "intraday_trailing"]
    account_size: Money
    daily_loss: Money | None = None  # default per style (see presets)
    max_loss: Money | None = None  # overall / trailing drawdown amount
    profit_target: Money | None = None
    min_trading_days: Annotated[int, Field(ge=0)] | None = None
    max_contracts: Annotated[int, Field(gt=0)] | None = None


class RiskSettings(_Strict):
    order: OrderLimits = OrderLimits()
    portfolio: PortfolioLimits = PortfolioLimits()
    strategies: dict[str, StrategyLimits] = Field(default_factory=dict)
    prop: PropFirm | None = None
    flatten_on_kill: bool = False  # the kill switch also closes every position
