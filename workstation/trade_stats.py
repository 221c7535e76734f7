"""Headline figures of a list of closed trades: what a run's summary line says.

Pure arithmetic on report records (``realized_pnl``, ``commission``, ``exit_ts``), so
the same figures can be worked out by hand for a test and reused by any report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def trade_stats(trades: Iterable[Mapping[str, Any]]) -> dict[str, float | int | None]:
    """``net_pnl`` (realized P&L less commission, 2 decimals), ``trades``, ``win_rate``
    (the fraction of trades whose net P&L is positive; None without trades) and
    ``max_drawdown`` (the largest peak-to-trough fall of the cumulative net P&L over the
    trades in exit order, starting from 0; in money, 2 decimals, 0 without a fall)."""
    ordered = sorted(trades, key=lambda trade: trade["exit_ts"])
    nets = [float(trade["realized_pnl"]) - float(trade["commission"]) for trade in ordered]
    total = peak = drawdown = 0.0
    for net in nets:
        total += net
        peak = max(peak, total)
        drawdown = max(drawdown, peak - total)
    wins = sum(1 for net in nets if net > 0)
    return {"net_pnl": round(total, 2) + 0.0, "trades": len(nets),
            "win_rate": round(wins / len(nets), 4) if nets else None,
            "max_drawdown": round(drawdown, 2)}
