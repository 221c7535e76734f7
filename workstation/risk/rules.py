"""Risk rules that are measured continuously: value, limit, % used and a level.

Levels (issue 4): safe below 50% of a limit, warning from 50% (an approval needs
an extra confirmation), danger from 70%, locked from 90% (new entries are
blocked; counts - positions, contracts, losses in a row - are capped exactly at
their limit instead). A *hard* rule at 100% is a breach: it fires the kill switch.
Prop-firm presets are built here from the account size; the numbers are the
common evaluation styles' and must be checked against the firm's current rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from workstation.risk.settings import PropFirm, RiskSettings

if TYPE_CHECKING:
    from workstation.risk.monitor import RiskMonitor


class Level(IntEnum):
    SAFE = 0
    WARNING = 1
    DANGER = 2
    LOCKED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


HYSTERESIS_PCT = 5.0  # a level is left only this far below its threshold: no flapping


def level_for(used_pct: float) -> Level:
    if used_pct >= 90:
        return Level.LOCKED
    if used_pct >= 70:
        return Level.DANGER
    if used_pct >= 50:
        return Level.WARNING
    return Level.SAFE


def next_level(previous: Level, used_pct: float) -> Level:
    """Up as soon as a threshold is reached; down only once the value is HYSTERESIS_PCT
    below the threshold of the level it leaves (no flapping around a line)."""
    level = level_for(used_pct)
    if level >= previous:
        return level
    return min(previous, level_for(used_pct + HYSTERESIS_PCT))


@dataclass(frozen=True, slots=True)
class RuleStatus:
    rule: str
    label: str
    value: float  # how much of the limit is used (money, count...)
    limit: float
    unit: str  # "$", "contracts", "positions", "losses", "%"
    hard: bool
    loss: bool  # the value grows with losses: a new entry's risk adds to it

    @property
    def used_pct(self) -> float:
        return 100.0 * self.value / self.limit if self.limit > 0 else 0.0

    @property
    def level(self) -> Level:
        return level_for(self.used_pct)

    @property
    def buffer(self) -> float:
        return self.limit - self.value

    @property
    def breached(self) -> bool:
        return self.value >= self.limit - 1e-9


Measure = Callable[["RiskMonitor"], float]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    label: str
    limit: float
    measure: Measure
    unit: str = "$"
    hard: bool = False
    loss: bool = True

    def status(self, monitor: RiskMonitor) -> RuleStatus:
        return RuleStatus(self.name, self.label, max(0.0, self.measure(monitor)), self.limit,
                          self.unit, self.hard, self.loss)


# -- measures (read the monitor's numbers; no side effects) ------------------------------
def _daily_loss(m: RiskMonitor) -> float:
    return m.day_start_equity - m.equity


def _drawdown(m: RiskMonitor) -> float:
    return m.high_water - m.equity


def _open_positions(m: RiskMonitor) -> float:
    return float(m.open_positions)


def _contracts(m: RiskMonitor) -> float:
    return m.contracts


def _deployed_pct(m: RiskMonitor) -> float:
    return 100.0 * m.deployed / m.equity if m.equity > 0 else 100.0


def _streak(m: RiskMonitor) -> float:
    return float(m.consecutive_losses)


def build_rules(settings: RiskSettings) -> list[Rule]:
    """The measured rules for these settings (order-level checks live in the gate)."""
    p = settings.portfolio
    rules: list[Rule] = []
    if p.daily_loss:
        rules.append(Rule("daily_loss", "Daily loss", p.daily_loss, _daily_loss))
    if p.max_drawdown:
        rules.append(Rule("max_drawdown", "Drawdown from high", p.max_drawdown, _drawdown,
                          hard=True))
    if p.max_open_positions:
        rules.append(Rule("open_positions", "Open positions", p.max_open_positions,
                          _open_positions, unit="positions", loss=False))
    if p.max_contracts:
        rules.append(Rule("contracts", "Contracts", p.max_contracts, _contracts,
                          unit="contracts", loss=False))
    if p.max_deployed_pct:
        rules.append(Rule("deployed", "Capital deployed", p.max_deployed_pct, _deployed_pct,
                          unit="%", loss=False))
    if p.loss_streak:
        rules.append(Rule("loss_streak", "Consecutive losses", p.loss_streak, _streak,
                          unit="losses", loss=False))
    if settings.prop is not None:
        rules.extend(prop_rules(settings.prop))
    return rules


# -- prop-firm presets ---------------------------------------------------------------------
def prop_defaults(prop: PropFirm) -> PropFirm:
    """Fill the style's default numbers for the account size (explicit values win)."""
    size = prop.account_size
    if prop.style == "ftmo":
        defaults = {"daily_loss": 0.05 * size, "max_loss": 0.10 * size,
                    "profit_target": 0.10 * size, "min_trading_days": 4}
    elif prop.style == "topstep":
        trailing = {50_000: 2_000.0, 100_000: 3_000.0, 150_000: 4_500.0}.get(int(size),
                                                                          0.04 * size)
        defaults = {"daily_loss": 0.02 * size, "max_loss": trailing,
                    "profit_target": 0.06 * size, "max_contracts": max(1, int(size // 10_000))}
    else:
        defaults = {"max_loss": 0.05 * size, "profit_target": 0.06 * size}
    explicit = prop.model_dump(exclude_none=True)
    return PropFirm(**{**defaults, **explicit})


def prop_rules(prop: PropFirm) -> list[Rule]:
    prop = prop_defaults(prop)
    rules: list[Rule] = []
    if prop.daily_loss:
        measure = _ftmo_daily_loss if prop.style == "ftmo" else _daily_loss
        rules.append(Rule("prop_daily_loss", f"{_style(prop)} daily loss", prop.daily_loss,
                          measure, hard=True))
    if prop.max_loss:
        if prop.style == "ftmo":
            rules.append(Rule("prop_max_loss", "FTMO-style max loss", prop.max_loss,
                              _below_initial, hard=True))
        else:
            rules.append(Rule("prop_trailing_drawdown", f"{_style(prop)} trailing drawdown",
                              prop.max_loss, _trailing_used, hard=True))
    if prop.max_contracts:
        rules.append(Rule("prop_contracts", f"{_style(prop)} contracts", prop.max_contracts,
                          _contracts, unit="contracts", loss=False))
    return rules


def _style(prop: PropFirm) -> str:
    return {"ftmo": "FTMO-style", "topstep": "Topstep-style",
            "intraday_trailing": "Intraday-trailing"}[prop.style]


def _ftmo_daily_loss(m: RiskMonitor) -> float:
    """From the day's starting balance (closed P&L), floating P&L included."""
    return m.day_start_balance - m.equity


def _below_initial(m: RiskMonitor) -> float:
    return m.initial_balance - m.equity


def _trailing_used(m: RiskMonitor) -> float:
    """How far equity has fallen toward the trailing threshold: limit - (equity - threshold)."""
    assert m.trailing_threshold is not None
    return m.trailing_amount - (m.equity - m.trailing_threshold)
