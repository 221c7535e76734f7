"""What the engine needs from a live market (Alpaca today): its clock, feed and broker,
and a start and stop around the engine's own. The simulated market needs none of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.config import Settings
from workstation.feeds.base import Backpressure, DataFeed
from workstation.model import Instrument
from workstation.portfolio import Portfolio

if TYPE_CHECKING:
    from workstation.engine import Engine
    from workstation.risk.gate import RiskGate


class LiveMarket(Protocol):
    clock: Clock
    safe_mode: Any  # a SafeMode once the broker is built
    paper: bool

    def feed(self, bus: EventBus, clock: Any, backpressure: Backpressure) -> DataFeed: ...

    def broker(self, instruments: dict[str, Instrument], settings: Settings, bus: EventBus,
               clock: Clock, portfolio: Portfolio) -> Any: ...

    def attach(self, gate: RiskGate) -> None:
        """The risk gate, for a safe mode of the market's own."""

    async def prepare(self, engine: Engine) -> None:
        """Before the journal is restored (the account, its symbols, recent history)."""

    async def start(self, engine: Engine) -> None:
        """After the journal is restored, before the feed runs (connect, reconcile)."""

    async def stop(self) -> None: ...

    def report(self) -> dict[str, Any]: ...

    def status_text(self) -> str: ...
