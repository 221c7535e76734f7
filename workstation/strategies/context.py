"""One running strategy instance: its guarded callbacks and everything it may do.

The ``Strategy`` object a plugin defines talks only to its ``StrategyContext``.
The context applies the instance's own rules first (warm-up, paused, trading
window, position size, concurrent positions, default stop/target), then hands
orders to the OrderRouter, whose risk gate has the last word (invariant 1).
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from workstation.bars import BarEngine
from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.market import MarketState
from workstation.model import NS_PER_SECOND, Bar, Direction, Instrument, Signal
from workstation.orders import Bracket, OrderIntent, OrderSide, OrderStatus, OrderType, OrderUpdate
from workstation.plots import Plots
from workstation.portfolio import AccountView, Portfolio, PositionView
from workstation.sessions import exchange_zone
from workstation.strategies.guard import (
    CALL_PREFIX,
    CallStats,
    StrategyInterrupted,
    Watchdog,
    describe_exit,
    rss,
)
from workstation.strategies.instances import InstanceSettings, InstanceStatus
from workstation.strategies.loader import StrategyClass, plugin_line
from workstation.trades import TradeTracker

if TYPE_CHECKING:
    from workstation.brokers.base import Broker
    from workstation.risk.router import OrderRouter
    from workstation.strategy import Strategy

CALLBACKS = ("on_start", "on_bar", "on_tick", "on_fill", "on_order_update", "on_session_open",
             "on_session_close", "on_stop")
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Services:
    """The engine parts an instance works with; shared by all instances."""

    bus: EventBus
    clock: Clock
    bars: BarEngine
    router: OrderRouter
    broker: Broker
    portfolio: Portfolio
    market: MarketState
    trades: TradeTracker
    instruments: dict[str, Instrument]
    watchdog: Watchdog
    max_failures: int
    slow_ns: int
    plots: Plots = field(default_factory=Plots)  # strategies' plot() points: a chart's sink


@dataclass(frozen=True, slots=True)
class OpenTrade:
    """A read-only snapshot of one of the instance's active trades."""

    trade_id: str
    symbol: str
    side: str
    qty: float
    entry: float
    entry_ts: int
    stop: float | None
    target: float | None
    mfe_r: float | None
    mae_r: float | None
    unrealized_pnl: float


class StrategyContext:
    def __init__(self, services: Services, settings: InstanceSettings,
                 offered: StrategyClass, state: dict[str, Any]) -> None:
        self.services = services
        self.settings = settings
        self.offered = offered
        self.instance_id = settings.instance_id
        self.symbols: tuple[str, ...] = settings.symbols
        self.timeframes: tuple[str, ...] = settings.timeframes
        self.log = logging.getLogger(f"strategy.{settings.instance_id}")
        self.state = state
        self._saved_state = json.dumps(state, sort_keys=True)
        self.status = InstanceStatus.STOPPED
        self.reason = ""
        self.warming_up = False
        self.strategy: Strategy | None = None
        self.stats = {name: CallStats() for name in CALLBACKS}
        self.failing: dict[str, int] = {}  # callback -> failures in a row
        self.memory_charged = 0  # bytes its metered calls grew the process by
        self.errors = 0
        self.last_error = ""
        self.last_traceback = ""
        self.positions: dict[str, float] = {}
        self.last_signal: Signal | None = None
        self.signals = 0
        self.orders_sent = 0
        self.orders_refused = 0
        self.wanted: InstanceStatus | None = None  # restored status while its plugin is broken
        self.on_disabled: list[Any] = []  # host callbacks: (context) -> None
        self.call: Callable[..., bool] = _named_call(self)

    # -- guarded calls ---------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Receives market data (running, or paused: a paused instance keeps up to date)."""
        return self.status is InstanceStatus.RUNNING or self.status is InstanceStatus.PAUSED

    def _call(self, name: str, *args: object) -> bool:
        """Run one callback guarded and timed; False if it failed. Each instance runs this
        under a code name of its own (``_named_call``), so a stack dump names the instance."""
        strategy = self.strategy
        if strategy is None:
            return False
        watchdog = self.services.watchdog
        previous = watchdog.running  # a callback may run inside another
        metered = watchdog.metering
        before = rss() if metered else None
        start = perf_counter_ns()
        watchdog.running = (start, threading.get_ident(), self, name)
        try:
            getattr(strategy, name)(*args)
        except StrategyInterrupted:
            watchdog.running = previous
            watchdog.disarm()
            limit = watchdog.hard_limit_ns / NS_PER_SECOND
            self.disable(watchdog.take_reason()
                         or f"{name} did not return within {limit:g} s: interrupted")
            return False
        except Exception as exc:  # noqa: BLE001 - a plugin's failure must not stop the engine
            watchdog.running = previous
            self._failed(name, exc)
            return False
        except BaseException as exc:  # noqa: BLE001 - an exit or an interrupt: not the engine's
            watchdog.running = previous
            line = plugin_line(exc, self.offered.path)
            where = f" ({self.offered.path.name} line {line})" if line else ""
            self.errors += 1
            self.last_error = f"{name}: {describe_exit(exc)}{where}"
            self.disable(f"{describe_exit(exc)} in {name}{where}")
            return False
        watchdog.running = previous
        elapsed = perf_counter_ns() - start
        stats = self.stats[name]
        stats.calls += 1
        stats.total_ns += elapsed
        if elapsed > stats.max_ns:
            stats.max_ns = elapsed
        if elapsed > self.services.slow_ns:
            self._slow(name, stats, elapsed)
        if before is not None:
            self._meter(name, before)
        if self.failing:
            self.failing.pop(name, None)
        return True

    def warmup_count(self, strategy: Strategy) -> int | None:
        """The plugin's ``warmup_bars()``, guarded like a callback; None (and the instance
        disabled) if it fails."""
        watchdog = self.services.watchdog
        try:
            with watchdog.watching(self, "warmup_bars"):
                return int(strategy.warmup_bars())
        except StrategyInterrupted:
            self.disable(watchdog.take_reason() or "warmup_bars did not return in time")
        except Exception as exc:  # noqa: BLE001 - plugin code
            self.disable(f"warmup_bars failed: {_safe_text(exc)}")
        except BaseException as exc:  # noqa: BLE001 - an exit: never the engine's
            self.disable(f"{describe_exit(exc)} in warmup_bars")
        return None

    @property
    def failures(self) -> int:
        """The most consecutive failures of any one callback."""
        return max(self.failing.values(), default=0)

    def _failed(self, name: str, exc: Exception) -> None:
        """Failures count per callback, in a row: a success of that callback resets its
        count, another callback's success does not (an instance failing on every bar is
        disabled even while its on_tick works)."""
        count = self.failing[name] = self.failing.get(name, 0) + 1
        self.errors += 1
        line = plugin_line(exc, self.offered.path)
        where = f" ({self.offered.path.name} line {line})" if line else ""
        self.last_error = f"{name}: {_safe_text(exc)}{where}"
        try:
            self.last_traceback = "".join(traceback.format_exception(exc))
        except BaseException:  # noqa: BLE001 - a plugin exception's own __str__ failed
            self.last_traceback = self.last_error
        limit = self.services.max_failures
        self.log.error("%s (%d of %d in a row)\n%s", self.last_error, count, limit,
                       self.last_traceback.rstrip())
        if count >= limit:
            self.disable(f"{count} failures in a row; last: {self.last_error}")

    def _meter(self, name: str, before: int | None) -> None:
        """Charge the call's memory growth to the instance (only while memory is high)."""
        after = rss()
        if before is None or after is None:
            return
        self.memory_charged = max(0, self.memory_charged + after - before)
        limit = self.services.watchdog.max_memory
        if self.memory_charged > limit:
            self.disable(f"its calls grew memory by {self.memory_charged / 2**20:.0f} MB "
                         f"(limit {limit / 2**20:g} MB; last in {name})")

    def plugin_path(self) -> Path:
        return self.offered.path

    def _slow(self, name: str, stats: CallStats, elapsed: int) -> None:
        stats.slow += 1
        if stats.slow == 1 or stats.slow % 100 == 0:
            self.log.warning("%s took %.1f ms (slow: over %.0f ms; %d slow calls so far)", name,
                             elapsed / 1e6, self.services.slow_ns / 1e6, stats.slow)

    def disable(self, reason: str) -> None:
        """Stop calling the plugin; cancel its working entries (bracket legs protecting
        positions stay)."""
        if self.status is InstanceStatus.ERROR:
            return
        self.status, self.reason = InstanceStatus.ERROR, reason
        self.log.error("disabled: %s", reason)
        self.strategy = None
        self.warming_up = False
        self.cancel_entries(f"{self.instance_id} disabled")
        for callback in self.on_disabled:
            callback(self)

    def cancel_entries(self, reason: str) -> None:
        """Cancel its working orders except bracket legs (they protect positions)."""
        for order in self.working_orders(None):
            if order.intent.parent_id is None:
                self.services.router.cancel(order.order_id, reason)

    # -- state -----------------------------------------------------------------------------
    def state_to_save(self) -> str | None:
        """The state as JSON when it changed since the last save, else None."""
        try:
            encoded = json.dumps(self.state, sort_keys=True)
        except (TypeError, ValueError) as exc:
            self._failed("state", TypeError(f"self.state must hold JSON values: {exc}"))
            return None
        if encoded == self._saved_state:
            return None
        self._saved_state = encoded
        return encoded

    # -- what a strategy reads -------------------------------------------------------------
    def now(self) -> int:
        return self.services.clock.now_ns()

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.services.instruments[symbol]
        except KeyError:
            raise KeyError(f"unknown instrument {symbol!r}") from None

    def position(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def account_positions(self) -> list[PositionView]:
        return self.services.portfolio.position_views()

    def account(self) -> AccountView:
        return self.services.portfolio.account()

    def open_trades(self) -> list[OpenTrade]:
        return [OpenTrade(t.trade_id, t.symbol, t.side, t.qty, t.entry, t.entry_ts, t.stop,
                          t.target, t.in_r(t.mfe_points), t.in_r(t.mae_points), t.unrealized_pnl)
                for t in self.services.trades.active() if t.source == self.instance_id]

    def working_orders(self, symbol: str | None) -> list[OrderUpdate]:
        return [o for o in self.services.broker.open_orders()
                if o.intent.source == self.instance_id and (symbol is None or o.symbol == symbol)]

    def history(self, symbol: str, timeframe: str, count: int) -> list[Bar]:
        return self.services.bars.history(symbol, timeframe)[-count:] if count > 0 else []

    def on_fill_position(self, symbol: str, signed_qty: float) -> None:
        held = self.positions.get(symbol, 0.0) + signed_qty
        if abs(held) < _EPS:
            self.positions.pop(symbol, None)
        else:
            self.positions[symbol] = held

    # -- what a strategy does --------------------------------------------------------------
    def _may_act(self, what: str) -> bool:
        if self.warming_up:
            return False  # replaying history: nothing is sent
        if self.status is not InstanceStatus.RUNNING:
            self.log.info("%s not sent: the instance is %s", what, self.status.value)
            return False
        return True

    def order(self, side: OrderSide, symbol: str, qty: float, limit: float | None,
              stop: float | None, stop_loss: float | None,
              take_profit: float | None) -> OrderUpdate | None:
        inst = self.instrument(symbol)
        qty = inst.round_size(qty)
        if qty <= 0:
            raise ValueError(f"order quantity must be positive (got {qty:g} {symbol})")
        what = f"{side} {qty:g} {symbol}"
        if not self._may_act(what):
            return None
        held = self.position(symbol)
        after = held + side.sign * qty
        entry = abs(after) > abs(held) + _EPS or held * after < 0  # grows, or reverses
        if entry:
            refusal = self._instance_rules(inst, side, qty, held)
            if refusal:
                self.orders_refused += 1
                self.log.warning("%s refused by the instance's limits: %s", what, refusal)
                return None
            stop_loss, take_profit = self._default_exits(inst, side, limit or stop,
                                                         stop_loss, take_profit)
        order_type = (OrderType.STOP_LIMIT if limit is not None and stop is not None
                      else OrderType.LIMIT if limit is not None
                      else OrderType.STOP if stop is not None else OrderType.MARKET)
        bracket = (Bracket(_rounded(inst, stop_loss), _rounded(inst, take_profit))
                   if stop_loss is not None or take_profit is not None else None)
        router = self.services.router
        intent = OrderIntent(router.next_client_id(self.instance_id), symbol, side, qty,
                             order_type, limit_price=_rounded(inst, limit),
                             stop_price=_rounded(inst, stop), bracket=bracket,
                             source=self.instance_id)
        update = router.submit(intent)
        self.orders_sent += 1
        if update.status is OrderStatus.REJECTED:
            self.log.warning("%s rejected: %s", what, update.reason)
        return update

    def _instance_rules(self, inst: Instrument, side: OrderSide, qty: float,
                        held: float) -> str:
        settings = self.settings
        if settings.window_start is not None or settings.window_end is not None:
            zone = exchange_zone(inst.schedule)
            local = datetime.fromtimestamp(self.now() / NS_PER_SECOND, zone)
            if not settings.in_window(local.time()):
                return (f"{local:%H:%M} {zone.key} is outside the trading window "
                        f"{_hhmm(settings.window_start)}-{_hhmm(settings.window_end)}")
        risk = settings.risk
        after = abs(held + side.sign * qty)
        if risk.max_position is not None and after > risk.max_position + _EPS:
            return f"position would be {after:g}, over the instance's max {risk.max_position:g}"
        if (risk.max_concurrent_positions is not None and held == 0
                and len(self.positions) >= risk.max_concurrent_positions):
            return (f"{len(self.positions)} positions open, the instance's max is "
                    f"{risk.max_concurrent_positions}")
        return ""

    def _default_exits(self, inst: Instrument, side: OrderSide, price: float | None,
                       stop_loss: float | None,
                       take_profit: float | None) -> tuple[float | None, float | None]:
        """Entries without exits get the instance's stop % and take-profit %."""
        risk = self.settings.risk
        if (stop_loss is not None or risk.stop_pct is None) and \
                (take_profit is not None or risk.take_profit_pct is None):
            return stop_loss, take_profit
        reference = price or self.services.market.get(inst.symbol).last
        if not reference:
            return stop_loss, take_profit
        if stop_loss is None and risk.stop_pct is not None:
            stop_loss = reference * (1 - side.sign * risk.stop_pct / 100)
        if take_profit is None and risk.take_profit_pct is not None:
            take_profit = reference * (1 + side.sign * risk.take_profit_pct / 100)
        return stop_loss, take_profit

    def cancel(self, order_id: str) -> None:
        if any(o.order_id == order_id for o in self.working_orders(None)):
            self.services.router.cancel(order_id, f"canceled by {self.instance_id}")
        else:
            self.log.warning("cancel %s: not a working order of this instance", order_id)

    def flatten(self, symbol: str | None) -> None:
        router = self.services.router
        for order in self.working_orders(symbol):
            router.cancel(order.order_id, f"flatten by {self.instance_id}")
        for held_symbol, held in list(self.positions.items()):
            if symbol is not None and held_symbol != symbol:
                continue
            side = OrderSide.SELL if held > 0 else OrderSide.BUY
            intent = OrderIntent(router.next_client_id(self.instance_id), held_symbol, side,
                                 abs(held), source=self.instance_id)
            router.submit(intent)

    def emit_signal(self, symbol: str, direction: Direction, bar: Bar | None,
                    price: float | None, notes: str) -> Signal | None:
        self.instrument(symbol)  # unknown symbols are the plugin's error
        if not self._may_act(f"{direction} signal on {symbol}"):
            return None
        if price is None:
            last = self.services.market.get(symbol).last
            price = bar.close if bar is not None else (last or None)
        signal = Signal(symbol, direction, self.now(), self.instance_id, price, bar, notes)
        self.last_signal = signal
        self.signals += 1
        self.log.info("signal: %s %s at %s%s", direction, symbol,
                      "market" if price is None else f"{price:g}", f" ({notes})" if notes else "")
        self.services.bus.publish(signal)
        return signal


def _safe_text(exc: BaseException) -> str:
    """``Type: message``, even when a plugin's exception cannot say its message."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001 - its __str__ is plugin code too
        return f"{type(exc).__name__}: (message unreadable)"


def _named_call(ctx: StrategyContext) -> Callable[..., bool]:
    """``ctx._call`` under the code name ``strategy_call__<instance id>``: free at run time,
    and the one thing a GIL-holding freeze's stack dump can name the instance by."""
    function = StrategyContext._call
    name = CALL_PREFIX + ctx.instance_id
    code = function.__code__.replace(co_name=name, co_qualname=name)
    return types.MethodType(types.FunctionType(code, function.__globals__, name), ctx)


def _rounded(inst: Instrument, price: float | None) -> float | None:
    return None if price is None else inst.round_price(price)


def _hhmm(moment: object) -> str:
    return "..." if moment is None else f"{moment:%H:%M}"
