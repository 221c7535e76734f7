"""What an optimisation maximises, and the constraints a trial must meet to count.

Every objective is maximised and read from the backtest's metrics
(``workstation.backtest.metrics``): ``return_drawdown`` is total return over the depth
of the daily max drawdown (None without a drawdown); ``pass_probability`` is the
prop-firm challenge simulation's on the trial's trades (``optimize.challenge``). A trial
whose objective is undefined (no losing trade for a profit factor, one day for a Sharpe)
or that breaks a constraint scores None and is never the best.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workstation.config import ConfigError

OBJECTIVES: dict[str, str] = {
    "net_profit": "Net profit",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "profit_factor": "Profit factor",
    "expectancy_r": "Expectancy (R)",
    "return_drawdown": "Return / max drawdown",
    "pass_probability": "Challenge pass probability",  # needs the job's challenge rules
}


@dataclass(frozen=True, slots=True)
class Constraints:
    """``max_drawdown`` is a fraction (0.2: a trial deeper than 20 % is out)."""

    min_trades: int = 0
    max_drawdown: float | None = None

    def __post_init__(self) -> None:
        if self.min_trades < 0:
            raise ConfigError(f"minimum trades {self.min_trades}: must be 0 or more")
        if self.max_drawdown is not None and not 0 < self.max_drawdown <= 1:
            raise ConfigError(f"maximum drawdown {self.max_drawdown:g}: a fraction in (0, 1]")

    def broken(self, metrics: Mapping[str, Any]) -> str | None:
        """Why the trial does not count (None when it does)."""
        trades = int(metrics.get("trades") or 0)
        if trades < self.min_trades:
            return f"{trades} trades, fewer than {self.min_trades}"
        depth = -(metrics.get("max_drawdown") or 0.0)
        if self.max_drawdown is not None and depth > self.max_drawdown:
            return f"max drawdown {depth:.2%} deeper than {self.max_drawdown:.2%}"
        return None


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise ConfigError(f"objective {name!r}: use one of {', '.join(OBJECTIVES)}")
    return name


def objective_value(metrics: Mapping[str, Any], name: str) -> float | None:
    if name == "return_drawdown":
        total, depth = metrics.get("total_return"), metrics.get("max_drawdown")
        if total is None or not depth:
            return None
        return float(total) / -float(depth)
    value = metrics.get(name)
    return None if value is None else float(value)


def score(metrics: Mapping[str, Any], name: str,
          constraints: Constraints) -> tuple[float | None, str | None]:
    """The trial's score and, when it has none, why."""
    broken = constraints.broken(metrics)
    if broken:
        return None, broken
    value = objective_value(metrics, name)
    if value is None:
        return None, f"{OBJECTIVES[name].lower()} undefined"
    return value, None
