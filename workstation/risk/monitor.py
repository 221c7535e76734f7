"""The RiskMonitor keeps every number the rules and the gate read, and the rules'
levels: equity, the day's start, the high-water mark, the trailing thresholds
of prop-firm styles, exposure, loss streaks, per-strategy P&L.

It re-measures on every fill and, while positions are open, at most every
250 ms of clock time, so the gate reads cached numbers (a few microseconds a
check) and replays stay deterministic. A level change is published as an
event; a hard rule at 100% fires the kill switch (and a prop-firm rule flattens).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from workstation.bus import EventBus
from workstation.clock import Clock
from workstation.model import (
    NS_PER_SECOND,
    AssetClass,
    Instrument,
    MarketBar,
    Tick,
    ns_to_datetime,
)
from workstation.orders import Fill
from workstation.portfolio import AccountReset, Portfolio, next_day_roll
from workstation.risk.events import RiskLevelChanged
from workstation.risk.kill_switch import KillSwitch
from workstation.risk.rules import (
    Level,
    Rule,
    RuleStatus,
    build_rules,
    next_level,
    prop_defaults,
)
from workstation.risk.settings import RiskSettings, StrategyLimits
from workstation.sessions import NEW_YORK
from workstation.trades import TradeClosed

log = logging.getLogger(__name__)

EVALUATE_EVERY_NS = 250_000_000
COUNT_UNITS = ("positions", "contracts", "losses")  # capped exactly, never "locked" at 90%
# every used-% at which a level changes (up at 50/70/90, down 5 below, breach at 100)
_LEVEL_LINES_PCT = (45.0, 50.0, 65.0, 70.0, 85.0, 90.0, 100.0)
PROP_PREFIX = "prop_"  # the rules a prop-firm preset adds (rules.prop_rules)


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """What must survive a restart for the rules to stay right (trailing highs...)."""

    day_start_equity: float
    day_start_balance: float
    high_water: float
    eod_high_balance: float
    intraday_high_equity: float
    consecutive_losses: int
    cooldown_until: int
    trading_days: tuple[str, ...]
    next_roll: int
    levels: dict[str, str] = field(default_factory=dict)  # rule -> level label


class RiskMonitor:
    def __init__(self, settings: RiskSettings, instruments: dict[str, Instrument],
                 portfolio: Portfolio, kill_switch: KillSwitch, bus: EventBus,
                 clock: Clock) -> None:
        self.settings = settings
        self.strategy_limits: dict[str, StrategyLimits] = dict(settings.strategies)
        self._instruments = instruments
        self._portfolio = portfolio
        self._kill = kill_switch
        self._bus = bus
        self._clock = clock
        self.rules: list[Rule] = build_rules(settings)
        prop = prop_defaults(settings.prop) if settings.prop else None
        self.prop = prop
        self.initial_balance = portfolio.starting_cash
        self.trailing_amount = prop.max_loss if prop and prop.style != "ftmo" and prop.max_loss \
            else 0.0
        self.trailing_threshold: float | None = None
        self.statuses: list[RuleStatus] = []
        self._levels: dict[str, Level] = {}
        # what the gate reads on every check, worked out once per evaluation
        self.locked: RuleStatus | None = None
        self.warnings: tuple[str, ...] = ()
        self.loss_statuses: tuple[RuleStatus, ...] = ()
        self.contract_statuses: tuple[RuleStatus, ...] = ()
        self.position_statuses: tuple[RuleStatus, ...] = ()
        self._next_eval = 0
        self._next_check = 0
        self._quiet_band = 0.0  # equity can move this much without a level changing
        self.reset_numbers(clock.now_ns())
        bus.subscribe(Fill, self.on_fill, "RiskMonitor.on_fill")
        bus.subscribe(Tick, self.on_tick, "RiskMonitor.on_tick")
        bus.subscribe(MarketBar, self.on_market_bar, "RiskMonitor.on_market_bar")
        bus.subscribe(TradeClosed, self.on_trade_closed, "RiskMonitor.on_trade_closed")
        bus.subscribe(AccountReset, lambda _: self.reset_numbers(clock.now_ns()),
                      "RiskMonitor.on_reset")

    def reset_numbers(self, now: int) -> None:
        """A fresh account: every high and start is the starting balance."""
        start = self._portfolio.starting_cash
        self.initial_balance = start
        self.equity = self.balance = start
        self.day_start_equity = self.day_start_balance = start
        self.high_water = self.eod_high_balance = self.intraday_high_equity = start
        self.open_positions = 0
        self.contracts = 0.0
        self.deployed = 0.0
        self.consecutive_losses = 0
        self.cooldown_until = 0
        self.trading_days: set[str] = set()
        self.strategy_pnl: dict[str, float] = {}
        self.strategy_positions: dict[str, dict[str, float]] = {}
        self.strategy_high: dict[str, float] = {}
        self.strategy_day_start: dict[str, float] = {}
        self._next_roll = next_day_roll(now)
        self._next_check = 0
        self._update_threshold()
        self.evaluate()

    # -- events ----------------------------------------------------------------------------
    def on_tick(self, tick: Tick) -> None:
        """One comparison per tick; the work happens at the planned times only."""
        if tick.ts >= self._next_check:
            self._check(tick.ts)

    def on_market_bar(self, bar: MarketBar) -> None:
        """A bar backtest's market data: checked at the bar's close, as a tick would be. A
        bar that moved equity less than the distance to the nearest level line of any
        money rule, and made no new high, cannot change a level: it is not re-measured
        (a full measure costs ~20 us, more than the rest of a bar's path)."""
        ts = bar.end
        if ts < self._next_check:
            return
        if ts < self._next_roll:
            equity = self._portfolio.equity()
            if (abs(equity - self.equity) < self._quiet_band and equity <= self.high_water
                    and equity <= self.intraday_high_equity):
                self._next_eval = ts + EVALUATE_EVERY_NS
                self._plan()
                return
        self._check(ts)

    def _check(self, ts: int) -> None:
        if ts >= self._next_roll:
            self._roll_day(ts)
        if ts >= self._next_eval and self._portfolio.positions:
            self._next_eval = ts + EVALUATE_EVERY_NS
            self.evaluate()
        self._plan()

    def _plan(self) -> None:
        """When on_tick next has work: the day roll, or a re-measure while positions exist."""
        self._next_check = (min(self._next_roll, self._next_eval) if self._portfolio.positions
                            else self._next_roll)

    def on_fill(self, fill: Fill) -> None:
        if fill.ts >= self._next_roll:
            self._roll_day(fill.ts)
        self.trading_days.add(_day_key(self._next_roll))
        source = fill.source
        self.strategy_pnl[source] = self.strategy_pnl.get(source, 0.0) - fill.commission
        held = self.strategy_positions.setdefault(source, {})
        held[fill.symbol] = held.get(fill.symbol, 0.0) + fill.signed_qty
        if self._portfolio.position(fill.symbol) == 0:  # flat (a flatten, a manual close):
            for holdings in self.strategy_positions.values():  # no strategy holds it any more
                holdings.pop(fill.symbol, None)
        self.evaluate()
        self._plan()

    def on_trade_closed(self, event: TradeClosed) -> None:
        record = event.record
        net = record.realized_pnl - record.commission
        source = record.source
        self.strategy_pnl[source] = (self.strategy_pnl.get(source, 0.0)
                                     + record.realized_pnl)
        if net < 0:
            self.consecutive_losses += 1
            streak = self.settings.portfolio.loss_streak
            if streak and self.consecutive_losses >= streak:
                minutes = self.settings.portfolio.cooldown_minutes
                self.cooldown_until = record.exit_ts + int(minutes * 60 * NS_PER_SECOND)
                log.warning("%d losing trades in a row: no new entries for %g minutes",
                            self.consecutive_losses, minutes)
        else:
            self.consecutive_losses = 0
        self.evaluate()
        self._check_strategy(source)

    # -- measuring -------------------------------------------------------------------------
    def evaluate(self, *, judge: bool = True) -> None:
        """Measure every rule; ``judge``: also move levels (publishing the changes) and fire
        the kill switch on a hard breach."""
        portfolio = self._portfolio
        if self.cooldown_until and self._clock.now_ns() >= self.cooldown_until:
            self.cooldown_until, self.consecutive_losses = 0, 0  # the streak has been sat out
        self.equity = portfolio.equity()
        unrealized = sum(portfolio.unrealized(p) for p in portfolio.positions.values()
                         if self._instruments[p.symbol].asset_class is AssetClass.FUTURE)
        self.balance = self.equity - unrealized
        self.high_water = max(self.high_water, self.equity)
        self.intraday_high_equity = max(self.intraday_high_equity, self.equity)
        self._update_threshold()
        positions = [p for p in portfolio.positions.values() if p.qty != 0]
        self.open_positions = len(positions)
        self.contracts = sum(abs(p.qty) for p in positions
                             if self._instruments[p.symbol].asset_class is AssetClass.FUTURE)
        self.deployed = portfolio.margin_used() + sum(
            abs(p.qty) * p.last_price * self._instruments[p.symbol].point_value
            for p in positions
            if self._instruments[p.symbol].asset_class is not AssetClass.FUTURE)
        self.statuses = statuses = [rule.status(self) for rule in self.rules]
        for status in statuses if judge else ():
            self._note_level(status)
        levels = self._levels
        # counts are capped exactly (the gate's projections, the cooldown), not at 90%:
        # 9 of 10 positions, contracts or losses in a row must not block the 10th
        self.locked = next((s for s in statuses if levels.get(s.rule) is Level.LOCKED
                            and s.unit not in COUNT_UNITS), None)
        self.warnings = tuple(f"{s.label} at {s.used_pct:.0f}% ({levels[s.rule].label})"
                              for s in statuses
                              if levels.get(s.rule, Level.SAFE) >= Level.WARNING)
        self.loss_statuses = tuple(s for s in statuses if s.loss)
        self.contract_statuses = tuple(s for s in statuses if s.unit == "contracts")
        self.position_statuses = tuple(s for s in statuses if s.unit == "positions")
        self._quiet_band = _quiet_band(statuses) if judge else 0.0
        # last: the kill switch may flatten, and those fills measure again (re-entrantly)
        breach = next((s for s in statuses if s.hard and s.breached), None) if judge else None
        if breach is not None and not self._kill.active:
            # a prop firm fails the account and closes its positions: so does the switch
            prop = breach.rule.startswith(PROP_PREFIX)
            self._kill.activate(f"{breach.label} breached: {breach.value:,.2f} of "
                                f"{breach.limit:,.2f} limit", automatic=True,
                                flatten=True if prop else None)

    def _note_level(self, status: RuleStatus) -> None:
        old = self._levels.get(status.rule, Level.SAFE)
        level = next_level(old, status.used_pct)
        if status.unit in COUNT_UNITS and status.value < status.limit:
            level = min(level, Level.DANGER)  # a count is capped exactly: locked only when full
        if level != old:
            self._levels[status.rule] = level
            self._bus.publish(RiskLevelChanged(self._clock.now_ns(), status.rule, status.label,
                                               old.label, level.label, status.value,
                                               status.limit, round(status.used_pct, 2)))

    def _update_threshold(self) -> None:
        """Trailing drawdown styles: the threshold follows a high until it reaches the
        initial balance, where it locks (Topstep-style: end-of-day balance high;
        intraday-trailing: highest equity including open P&L)."""
        if not self.trailing_amount or self.prop is None:
            return
        high = (self.eod_high_balance if self.prop.style == "topstep"
                else self.intraday_high_equity)
        self.trailing_threshold = min(self.initial_balance, high - self.trailing_amount)

    def _roll_day(self, ts: int) -> None:
        """17:00 New York: the day's close is the balance the end-of-day high follows."""
        self.evaluate()
        self.eod_high_balance = max(self.eod_high_balance, self.balance)
        self._update_threshold()
        self.day_start_equity, self.day_start_balance = self.equity, self.balance
        self.strategy_day_start = dict(self.strategy_pnl)
        self._next_roll = next_day_roll(ts)
        self.evaluate()

    def _check_strategy(self, source: str) -> None:
        limits = self.strategy_limits.get(source)
        if limits is None:
            return
        pnl = self.strategy_pnl.get(source, 0.0)
        self.strategy_high[source] = max(self.strategy_high.get(source, 0.0), pnl)
        day_loss = self.strategy_day_start.get(source, 0.0) - pnl
        if limits.daily_loss and day_loss >= limits.daily_loss:
            self._kill.pause_strategy(source, f"{source} daily loss {day_loss:,.2f} reached its "
                                              f"{limits.daily_loss:,.2f} limit")
        drawdown = self.strategy_high[source] - pnl
        if limits.max_drawdown and drawdown >= limits.max_drawdown:
            self._kill.pause_strategy(source, f"{source} drawdown {drawdown:,.2f} reached its "
                                              f"{limits.max_drawdown:,.2f} limit")

    # -- views -------------------------------------------------------------------------------
    def strategy_exposure(self, source: str) -> float:
        """Margin (futures) and market value (others) of what a strategy's fills hold."""
        total = 0.0
        for symbol, qty in self.strategy_positions.get(source, {}).items():
            inst = self._instruments[symbol]
            if inst.asset_class is AssetClass.FUTURE:
                total += abs(qty) * self._portfolio.margins.get(symbol, 0.0)
            else:
                pos = self._portfolio.positions.get(symbol)
                total += abs(qty) * (pos.last_price if pos else 0.0) * inst.point_value
        return total

    def level(self) -> Level:
        """The worst level of any rule (the status bar's indicator)."""
        return max(self._levels.values(), default=Level.SAFE)

    def level_of(self, rule: str) -> Level:
        """A rule's level with hysteresis (what the panel shows and the gate enforces)."""
        return self._levels.get(rule, Level.SAFE)

    @property
    def day_pnl(self) -> float:
        return self.equity - self.day_start_equity

    @property
    def drawdown(self) -> float:
        return self.high_water - self.equity

    def snapshot(self) -> RiskSnapshot:
        return RiskSnapshot(self.day_start_equity, self.day_start_balance, self.high_water,
                            self.eod_high_balance, self.intraday_high_equity,
                            self.consecutive_losses, self.cooldown_until,
                            tuple(sorted(self.trading_days)), self._next_roll,
                            {rule: level.label for rule, level in self._levels.items()})

    def set_strategy_limits(self, source: str, limits: StrategyLimits) -> None:
        """Limits of a strategy instance created at run time (settings.toml has the rest)."""
        self.strategy_limits[source] = limits

    def restore(self, snap: RiskSnapshot) -> None:
        self.day_start_equity, self.day_start_balance = snap.day_start_equity, \
            snap.day_start_balance
        self.high_water, self.eod_high_balance = snap.high_water, snap.eod_high_balance
        self.intraday_high_equity = snap.intraday_high_equity
        self.consecutive_losses, self.cooldown_until = snap.consecutive_losses, \
            snap.cooldown_until
        self.trading_days = set(snap.trading_days)
        self._next_roll = snap.next_roll
        self._next_check = 0  # the next tick plans again
        self._levels = {rule: Level[label.upper()] for rule, label in snap.levels.items()}
        # restored positions are marked at their fill prices until the market trades again:
        # numbers from those neither move a level nor fire the kill switch (a restart of an
        # account in open profit read a trailing breach and killed it, stops and all)
        self.evaluate(judge=False)


def _day_key(next_roll: int) -> str:
    """The trading day that ends at ``next_roll`` (its New York date)."""
    return ns_to_datetime(next_roll).astimezone(NEW_YORK).date().isoformat()


def _quiet_band(statuses: list[RuleStatus]) -> float:
    """How far equity can move before a money rule reaches a level line (their values move
    one for one with equity); 0 when a rule measured in percent could move otherwise."""
    band = math.inf
    for status in statuses:
        if status.unit in COUNT_UNITS:
            continue  # counts change with fills, which always measure
        if status.unit != "$" or status.limit <= 0:
            return 0.0
        for line in _LEVEL_LINES_PCT:
            band = min(band, abs(line * status.limit / 100 - status.value))
    return band
