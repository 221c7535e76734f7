"""Risk gate throughput.

1. checks/s: RiskGate checks of an NQ bracket entry that passes every stage
   (so every rule runs) under a realistic rule set: the default order limits,
   daily loss, drawdown, open positions, contracts, capital deployed, a loss
   streak, trading hours and a Topstep-style 50k evaluation; one NQ position
   is open so the portfolio rules have numbers to read. The approval path uses
   the gate's preview (the rate and duplicate guards would otherwise start
   rejecting identical orders); a kill-switch rejection is timed as well.
2. the cost the gate adds to the paper path: market orders per second through
   router -> gate -> paper broker -> fill with the realistic gate (rate and
   duplicate guards off, so every order is sent; no spread or commission, so
   the loss rules stay put) versus a permissive one.

Target: above 200,000 checks/s. The last line printed is JSON with checks_per_s.
Run: python bench/risk.py [--checks 200000] [--orders 10000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from workstation.brokers.paper import PaperBroker
from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import FillModel, PaperSettings, Settings
from workstation.model import Quote, Tick, datetime_to_ns
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus
from workstation.portfolio import Portfolio
from workstation.risk.gate import Approved
from workstation.risk.settings import OrderLimits, PortfolioLimits, PropFirm, RiskSettings
from workstation.risk.wiring import PERMISSIVE, RiskPath, build_risk

START = datetime_to_ns(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))  # inside the CME session

REALISTIC = RiskSettings(
    order=OrderLimits(max_notional=2_000_000.0, max_qty=10, price_band_pct=3.0,
                      max_risk_pct=2.0),
    portfolio=PortfolioLimits(daily_loss=2_000.0, max_drawdown=3_000.0, max_open_positions=5,
                              max_contracts=10, max_deployed_pct=80.0, loss_streak=3),
    prop=PropFirm(style="topstep", account_size=50_000.0),
)


def desk(risk: RiskSettings, *, free: bool = False) -> tuple[EventBus, SimClock, RiskPath]:
    """NQ quoted 21,000.00 x 21,000.25; ``free``: no spread and no commission, so round
    trips neither make nor lose money (the loss rules stay where they start)."""
    # day-trade margin ($2,000 a contract), as intraday futures accounts have
    fills = FillModel(commission=0.0, margin=2_000.0) if free else FillModel(margin=2_000.0)
    paper = PaperSettings(fills=fills)
    settings = Settings(risk=risk, paper=paper)
    instruments = settings.instrument_map()
    bus, clock = EventBus(), SimClock(START)
    margins = {s: settings.margin(i) for s, i in instruments.items()}
    portfolio = Portfolio(instruments, margins, 50_000.0, START)
    broker = PaperBroker(instruments, settings, bus, clock, portfolio)
    path = build_risk(settings, instruments, portfolio, broker, bus, clock)
    bus.publish(Quote("NQ", START, 21000.25 if free else 21000.00, 21000.25, 50, 50))
    bus.publish(Tick("NQ", START, 21000.25, 1, 1))
    return bus, clock, path


def checks_per_second(count: int) -> tuple[float, float]:
    _, clock, path = desk(REALISTIC)
    path.router.submit(OrderIntent("open", "NQ", OrderSide.BUY, 1.0))  # one open position
    clock.advance_to(START + 60_000_000_000)
    entry = OrderIntent("e", "NQ", OrderSide.BUY, 1.0,
                        bracket=Bracket(stop_loss=20990.00, take_profit=21020.00))
    gate, monitor = path.gate, path.monitor
    assert isinstance(gate.preview(entry, monitor), Approved)
    started = time.perf_counter()
    for _ in range(count):
        gate.preview(entry, monitor)
    approved = count / (time.perf_counter() - started)
    path.kill_switch.activate("bench")
    started = time.perf_counter()
    for _ in range(count):
        gate.check(entry, monitor)
    return approved, count / (time.perf_counter() - started)


def orders_per_second(risk: RiskSettings, count: int) -> float:
    _, _, path = desk(risk, free=True)
    sides = (OrderSide.BUY, OrderSide.SELL)
    started = time.perf_counter()
    for i in range(count):
        update = path.router.submit(OrderIntent(f"o{i}", "NQ", sides[i % 2], 1.0))
        assert update.status is OrderStatus.FILLED, update.reason
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    approved, killed = checks_per_second(args.checks)
    unguarded = REALISTIC.model_copy(update={"order": REALISTIC.order.model_copy(
        update={"duplicate_window_s": 0, "max_orders_per_s": None, "max_orders_per_min": None})})
    gated = orders_per_second(unguarded, args.orders)
    permissive = orders_per_second(PERMISSIVE, args.orders)
    gate_us = (1 / gated - 1 / permissive) * 1e6
    print(json.dumps({"checks_per_s": round(approved), "kill_switch_checks_per_s": round(killed),
                      "orders_per_s_gated": round(gated),
                      "orders_per_s_permissive": round(permissive),
                      "gate_cost_us_per_order": round(gate_us, 2)}))


if __name__ == "__main__":
    main()
