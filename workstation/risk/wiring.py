"""Builds the risk path the way the engine wires it: kill switch, monitor, gate,
and the router in front of the broker. Tests and benches use the same function
(with PERMISSIVE settings when they study the broker rather than the gate)."""

from __future__ import annotations

from dataclasses import dataclass

from workstation.brokers.base import Broker
from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.config import Settings
from workstation.market import MarketState
from workstation.model import Instrument
from workstation.portfolio import Portfolio
from workstation.risk.gate import RiskGate
from workstation.risk.kill_switch import KillSwitch
from workstation.risk.monitor import RiskMonitor
from workstation.risk.router import OrderRouter
from workstation.risk.settings import OrderLimits, PortfolioLimits, RiskSettings

# Every limit off: the gate approves anything on the tick and lot grid.
PERMISSIVE = RiskSettings(
    order=OrderLimits(price_band_pct=None, min_price=None, duplicate_window_s=0,
                      max_orders_per_s=None, max_orders_per_min=None),
    portfolio=PortfolioLimits(no_entry_minutes_before_close=None, sessions_only=False),
)


@dataclass(frozen=True, slots=True)
class RiskPath:
    router: OrderRouter
    monitor: RiskMonitor
    kill_switch: KillSwitch
    gate: RiskGate


def build_risk(settings: Settings, instruments: dict[str, Instrument], portfolio: Portfolio,
               broker: Broker, bus: EventBus, clock: Clock,
               market: MarketState | None = None) -> RiskPath:
    kill_switch = KillSwitch(bus, clock, settings.risk.flatten_on_kill)
    monitor = RiskMonitor(settings.risk, instruments, portfolio, kill_switch, bus, clock)
    gate = RiskGate(instruments, portfolio, market or MarketState(bus), kill_switch, clock,
                    portfolio.margins)
    router = OrderRouter(gate, monitor, broker, bus, clock)
    kill_switch.attach(router)
    return RiskPath(router, monitor, kill_switch, gate)
