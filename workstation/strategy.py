"""The plugin API: the one module a strategy author imports.

A strategy is a class in a ``.py`` file dropped into a plugins folder::

    from workstation.strategy import Param, Strategy
    from workstation.indicators import SMA

    class SmaCross(Strategy):
        name = "SMA crossover"          # unique; what the Strategies panel lists
        version = "1.0"
        timeframes = ("1m",)
        warmup = 30                     # bars replayed before the strategy goes live

        fast = Param(10, min=2, max=100, step=1, doc="fast average length")
        slow = Param(30, min=5, max=400, step=5, doc="slow average length")

        def on_start(self) -> None:
            self.averages = {s: (SMA(self.fast), SMA(self.slow)) for s in self.symbols}

        def on_bar(self, bar) -> None:
            fast, slow = self.averages[bar.symbol]
            ...
            if crossed_up and self.position(bar.symbol) <= 0:
                self.buy(bar.symbol, 1, stop_loss=bar.low - 10)

Each instance of a class runs with its own parameters, instruments and risk
settings (see ``workstation.strategies.instances``). Everything an instance does
goes through the host: orders through the risk gate (never around it), signals
to the confirmation engine, log lines to the Log panel tagged with the instance.
Callbacks run guarded: an exception is logged and counted, and an instance that
keeps failing, or that does not return, is disabled; the app goes on.

Do not override ``__init__``: set things up in ``on_start``, which runs again
after a reload or a restart (``self.state`` survives both).

``self.plot("fast SMA", fast.value, bar)`` draws a line on the chart of the bar's symbol
(see ``Strategy.plot``); without a chart open it does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from workstation.model import Bar, Direction, Instrument, Signal, Tick
from workstation.orders import Fill, OrderSide, OrderStatus, OrderUpdate
from workstation.plots import PRICE_PANE, PlotPoint
from workstation.portfolio import AccountView, PositionView

if TYPE_CHECKING:
    from workstation.strategies.context import OpenTrade, StrategyContext

__all__ = ["API_VERSION", "Bar", "Direction", "Fill", "OrderSide", "OrderStatus", "OrderUpdate",
           "Param", "ParamError", "Signal", "Strategy", "Tick"]

API_VERSION = 1
"""Bumped when the API changes incompatibly; a plugin declaring another is refused."""


class ParamError(ValueError):
    """A parameter value outside its declared type, bounds or choices."""


class Param:
    """A tunable parameter: a typed default with bounds and a step.

    The type is the default's (int, float, bool or str); the UI builds its form
    from these and the optimizer sweeps ``min..max`` by ``step``. Read the value
    as an attribute: ``self.fast``.
    """

    def __init__(self, default: float | bool | str, *, min: float | None = None,
                 max: float | None = None, step: float | None = None,
                 choices: Sequence[str] | None = None, doc: str = "") -> None:
        self.kind: type = type(default)
        if self.kind not in (int, float, bool, str):
            raise TypeError(f"Param default {default!r}: use an int, float, bool or str")
        self.default = default
        self.min, self.max, self.step = min, max, step
        self.choices = tuple(choices) if choices is not None else None
        self.doc = doc
        self.name = ""
        self.validate(default)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Strategy | None, owner: type) -> Any:
        if instance is None:
            return self
        return instance.params[self.name]

    def validate(self, value: object) -> float | bool | str:
        """The value as this parameter's type, or ParamError naming what is wrong."""
        label = self.name or "parameter"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ParamError(f"{label}: {value!r} is not true/false")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise ParamError(f"{label}: {value!r} is not text")
            if self.choices is not None and value not in self.choices:
                raise ParamError(f"{label}: {value!r} is not one of {', '.join(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(f"{label}: {value!r} is not a number")
        if self.kind is int:
            if value != int(value):
                raise ParamError(f"{label}: {value!r} is not a whole number")
            value = int(value)
        else:
            value = float(value)
        if self.min is not None and value < self.min:
            raise ParamError(f"{label}: {value:g} is below the minimum {self.min:g}")
        if self.max is not None and value > self.max:
            raise ParamError(f"{label}: {value:g} is above the maximum {self.max:g}")
        return value

    def __repr__(self) -> str:
        bounds = f" [{self.min:g}..{self.max:g}]" if self.min is not None and \
            self.max is not None else ""
        return f"Param({self.name}={self.default!r}{bounds})"


class Strategy:
    """Base class of every strategy plugin. Override the callbacks you need."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    api_version: ClassVar[int] = API_VERSION
    description: ClassVar[str] = ""
    symbols: ClassVar[tuple[str, ...]] = ("NQ",)  # the default; each instance may choose
    timeframes: ClassVar[tuple[str, ...]] = ("1m",)
    warmup: ClassVar[int] = 0  # bars per series replayed before going live (see warmup_bars)
    wants_ticks: ClassVar[bool] = False  # on_tick is called only when this is True

    def __init__(self, context: StrategyContext, params: dict[str, Any]) -> None:
        self._ctx = context
        self.params: dict[str, Any] = params
        self.instance_id: str = context.instance_id
        self.symbols = context.symbols  # this instance's instruments and timeframes
        self.timeframes = context.timeframes
        self.log: logging.Logger = context.log
        self._plots = context.services.plots

    @classmethod
    def declared_params(cls) -> dict[str, Param]:
        """Every Param of the class (and its bases), in declaration order."""
        found: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Param):
                    found[key] = value
        return found

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {key: param.default for key, param in cls.declared_params().items()}

    def warmup_bars(self) -> int:
        """Closed bars per series replayed before going live. Override it when the
        need depends on the parameters: ``return self.slow + 1``."""
        return self.warmup

    # -- callbacks -------------------------------------------------------------------------
    def on_start(self) -> None:
        """Before the warm-up bars: create indicators here."""

    def on_bar(self, bar: Bar) -> None:
        """A closed bar of one of the subscribed series (``self.warming_up`` during warm-up:
        orders and signals are ignored then)."""

    def on_tick(self, tick: Tick) -> None:
        """Every trade of a subscribed symbol; only with ``wants_ticks = True``."""

    def on_fill(self, fill: Fill) -> None:
        """A fill of one of this instance's orders."""

    def on_order_update(self, update: OrderUpdate) -> None:
        """A state change of one of this instance's orders."""

    def on_session_open(self, symbol: str) -> None:
        """The exchange session of ``symbol`` opened."""

    def on_session_close(self, symbol: str) -> None:
        """The exchange session of ``symbol`` closed (the seed designs' daily close)."""

    def on_stop(self) -> None:
        """The instance is stopping (user, reload or shutdown)."""

    # -- reading ---------------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Engine time, UTC nanoseconds (simulated time in replays and backtests)."""
        return self._ctx.now()

    @property
    def warming_up(self) -> bool:
        return self._ctx.warming_up

    @property
    def state(self) -> dict[str, Any]:
        """JSON-serialisable values kept in SQLite across reloads and restarts."""
        return self._ctx.state

    def instrument(self, symbol: str) -> Instrument:
        return self._ctx.instrument(symbol)

    def position(self, symbol: str) -> float:
        """This instance's net position in ``symbol`` (signed quantity)."""
        return self._ctx.position(symbol)

    def account_positions(self) -> list[PositionView]:
        """Every position of the account, whoever opened it."""
        return self._ctx.account_positions()

    def account(self) -> AccountView:
        return self._ctx.account()

    def open_trades(self) -> list[OpenTrade]:
        """This instance's active trades (snapshots: MFE/MAE in R, stop, target)."""
        return self._ctx.open_trades()

    def working_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """This instance's working orders."""
        return self._ctx.working_orders(symbol)

    def history(self, symbol: str, timeframe: str, count: int = 100) -> list[Bar]:
        """The latest closed bars of a series, oldest first."""
        return self._ctx.history(symbol, timeframe, count)

    # -- acting ----------------------------------------------------------------------------
    def buy(self, symbol: str, qty: float = 1.0, *, limit: float | None = None,
            stop: float | None = None, stop_loss: float | None = None,
            take_profit: float | None = None) -> OrderUpdate | None:
        """Buy through the risk gate. ``limit``/``stop`` make a limit/stop entry;
        ``stop_loss``/``take_profit`` attach a bracket. None: not sent (warming up,
        paused, outside the trading window, or an instance limit; the log says why)."""
        return self._ctx.order(OrderSide.BUY, symbol, qty, limit, stop, stop_loss, take_profit)

    def sell(self, symbol: str, qty: float = 1.0, *, limit: float | None = None,
             stop: float | None = None, stop_loss: float | None = None,
             take_profit: float | None = None) -> OrderUpdate | None:
        """Sell (or sell short) through the risk gate; see ``buy``."""
        return self._ctx.order(OrderSide.SELL, symbol, qty, limit, stop, stop_loss, take_profit)

    def cancel(self, order_id: str) -> None:
        self._ctx.cancel(order_id)

    def flatten(self, symbol: str | None = None) -> None:
        """Cancel this instance's working orders and close its positions (one symbol or all)."""
        self._ctx.flatten(symbol)

    def emit_signal(self, symbol: str, direction: Direction | str, bar: Bar | None = None, *,
                    price: float | None = None, notes: str = "") -> Signal | None:
        """Hand a trade idea to the signal confirmation engine: it waits for the market to
        confirm it, places a structural stop and asks the trader to approve the setup."""
        return self._ctx.emit_signal(symbol, Direction(direction), bar, price, notes)

    # -- drawing ---------------------------------------------------------------------------
    def plot(self, name: str, value: float, bar: Bar, *, pane: str = PRICE_PANE,
             color: str = "") -> None:
        """Draw ``value`` at ``bar`` as the line ``name`` on the chart of ``bar``'s symbol
        and timeframe: on the price pane, or with ``pane="osc"`` (any name) in a pane of
        that name below it, shared by the lines that name it. ``color``: a colour name
        ("#4fc3f7", "orange"); by default one per line. nan leaves a gap. With no chart
        open (backtests, optimization, headless runs) it does nothing and costs next to
        nothing: call it on every bar."""
        sink = self._plots.sink
        if sink is not None:
            sink(PlotPoint(self.instance_id, bar.symbol, bar.timeframe, bar.ts, name,
                           float(value), pane, color))
