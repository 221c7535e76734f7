"""One backtest run as the store, the dock and the reports see it.

``BacktestRun`` is what a finished run leaves: what was tested (strategy, its version
and file hash, parameters, data, settings), its headline figures, its trades and its
equity curve (downsampled for display; the daily closes are kept whole, because the
returns-based figures are computed from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workstation.trades import TradeRecord

MAX_CURVE_POINTS = 4_000  # equity points kept for display (each bucket keeps its low and high)


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    """How orders fill and what they cost in a bar backtest (ticks replay as live)."""

    starting_cash: float = 100_000.0
    market_fill: str = "next_open"  # "next_open" | "close": where a market order fills
    slippage_ticks: int = 0  # against the trader, on market and stop fills
    slippage_bps: float = 0.0  # against the trader, basis points of the price
    commission: float | None = None  # per contract/share per side; None: the paper default
    seed: int = 7  # the simulated market's seed (data "sim") and the broker's
    # stops move to break-even once a trade is this many R in profit (0: never), as the
    # paper account manages trades; None: the account's setting, resolved when run
    break_even_r: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """A finished backtest. ``run_id`` is None until the store keeps it."""

    strategy: str
    strategy_version: str
    file_hash: str  # sha256 of the plugin file: which code produced these figures
    params: dict[str, Any]
    symbols: tuple[str, ...]
    timeframe: str
    start_ns: int  # first bar's open
    end_ns: int  # last bar's close
    source: str  # "sim", "store", or the data file's name
    settings: BacktestSettings
    metrics: dict[str, Any]
    trades: tuple[TradeRecord, ...]
    curve_ts: np.ndarray  # int64 UTC ns, downsampled to MAX_CURVE_POINTS
    curve_equity: np.ndarray  # float64, the account's equity at those times
    daily: tuple[tuple[str, float], ...]  # (trading day ISO date, equity at its end)
    bars: int
    wall_s: float
    problems: tuple[str, ...] = ()  # strategy errors, a disabled instance, skipped data
    created_ts: int = 0
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return (f"{self.strategy} {self.strategy_version} · {', '.join(self.symbols)} "
                f"{self.timeframe}")
