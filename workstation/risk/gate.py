"""The RiskGate: every order intent is checked here before any broker sees it.

Checks run cheapest first: the kill switch (only position-reducing orders pass
while it is on), order-level limits (lot and tick grid, minimum price, price
band, size, notional, risk to the stop as % of equity, duplicates, order
rate), the strategy's own limits, then the portfolio: what a new entry would add
to a loss limit, locked rules, positions, contracts, trading hours and the
loss-streak cooldown. Every rejection names the rule and the numbers.
Numbers come from the RiskMonitor's cache, so a check costs microseconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from workstation.clock import Clock
from workstation.market import MarketState
from workstation.model import NS_PER_SECOND, AssetClass, Instrument, ns_to_datetime
from workstation.orders import OrderIntent, OrderUpdate
from workstation.portfolio import Portfolio
from workstation.risk.kill_switch import KillSwitch
from workstation.risk.monitor import RiskMonitor
from workstation.risk.rules import RuleStatus
from workstation.risk.safe_mode import SafeMode
from workstation.sessions import NEW_YORK, Session, SessionError, get_schedule
from workstation.store.health import StoreHealth

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Approved:
    intent: OrderIntent
    warnings: tuple[str, ...] = ()  # rules at warning level or worse: confirm before sending


@dataclass(frozen=True, slots=True)
class Rejected:
    rule: str
    reason: str
    values: dict[str, float] = field(default_factory=dict)


Verdict = Approved | Rejected


class RiskGate:
    def __init__(self, instruments: dict[str, Instrument], portfolio: Portfolio,
                 market: MarketState, kill_switch: KillSwitch, clock: Clock,
                 margins: dict[str, float]) -> None:
        self._instruments = instruments
        self._portfolio = portfolio
        self._market = market
        self._kill = kill_switch
        self._clock = clock
        self._margins = margins
        self._recent: dict[tuple[object, ...], int] = {}
        self._sessions: dict[str, Session] = {}
        self._sent: deque[int] = deque()
        self.store_health: StoreHealth | None = None  # set when a journal stores the account
        self.safe_mode: SafeMode | None = None  # set by a live broker's reconciliation

    def check(self, intent: OrderIntent, state: RiskMonitor) -> Verdict:
        return self._check(intent, state, record=True)

    def preview(self, intent: OrderIntent, state: RiskMonitor) -> Verdict:
        """The verdict without counting the order toward the rate and duplicate guards."""
        return self._check(intent, state, record=False)

    def _check(self, intent: OrderIntent, state: RiskMonitor, *, record: bool) -> Verdict:
        inst = self._instruments.get(intent.symbol)
        if inst is None:
            return Rejected("symbol", f"unknown symbol {intent.symbol!r}")
        reducing = self._reduces(intent)
        kill = self._kill
        if not reducing:
            if kill.active:
                since = ns_to_datetime(kill.since).astimezone(NEW_YORK)
                return Rejected("kill_switch", f"kill switch on since {since:%H:%M:%S} ET "
                                               f"({kill.reason}): only orders that reduce a "
                                               "position pass")
            health = self.store_health
            if health is not None and not health.available:
                return Rejected("store_unavailable", f"{health.describe()}: new entries are "
                                                     "blocked until the journal can store "
                                                     "them; exits still pass")
            safe = self.safe_mode
            if safe is not None and safe.active:
                return Rejected("safe_mode", f"safe mode ({safe.reason}): new entries are "
                                             "blocked until the differences are acknowledged; "
                                             "exits still pass")
            if intent.source in kill.paused:
                return Rejected("strategy_paused", f"strategy {intent.source} is paused: "
                                                   f"{kill.paused[intent.source]}")
        verdict = self._grid(intent, inst)
        if verdict is not None or reducing:
            return verdict or Approved(intent)
        now = self._clock.now_ns()
        verdict = (self._order_limits(intent, inst, state, now)
                   or self._strategy_limits(intent, inst, state)
                   or self._portfolio_limits(intent, inst, state, now))
        if verdict is not None:
            return verdict
        if record:
            self._remember(intent, now)
        return Approved(intent, state.warnings)

    def check_replace(self, order: OrderUpdate, state: RiskMonitor, *, qty: float | None,
                      limit_price: float | None, stop_price: float | None) -> Verdict:
        """A modification is an order too: its new prices must be on the grid and within
        the band, and one that adds risk (more quantity, a stop moved away from the
        market) is refused while the kill switch is on or beyond the size limit."""
        inst = self._instruments[order.symbol]
        changed = replace(order.intent, qty=qty if qty is not None else order.qty,
                          limit_price=limit_price, stop_price=stop_price)
        verdict = self._grid(changed, inst)
        if verdict is not None:
            return verdict
        last = self._reference(order.symbol)
        band = state.settings.order.price_band_pct
        for name, value in (("limit", limit_price), ("stop", stop_price)):
            if value is not None and band and last > 0:
                off = 100.0 * abs(value - last) / last
                if off > band + _EPS:
                    decimals = inst.price_decimals
                    return Rejected("price_band", f"{name} {value:,.{decimals}f} is {off:.2f}% "
                                                  f"from last {last:,.{decimals}f} "
                                                  f"(band {band:g}%)",
                                    {name: value, "last": last, "pct": off})
        more = qty is not None and qty > order.qty + _EPS
        old_stop = order.stop_price
        looser = (stop_price is not None and old_stop is not None
                  and (stop_price - old_stop) * order.side.sign > _EPS)  # away from the market
        if (more or looser) and self._kill.active:
            return Rejected("kill_switch", f"kill switch on ({self._kill.reason}): an order "
                                           "may only be changed to reduce risk")
        max_qty = state.settings.order.max_qty
        if more and max_qty and qty is not None and qty > max_qty + _EPS:
            return Rejected("max_qty", f"quantity {qty:g} is over the {max_qty:g} per-order "
                                       "limit", {"qty": qty, "limit": max_qty})
        return Approved(changed)

    # -- stages -----------------------------------------------------------------------------
    def _reduces(self, intent: OrderIntent) -> bool:
        held = self._portfolio.positions.get(intent.symbol)
        position = held.qty if held is not None else 0.0
        return (position != 0 and intent.side.sign * position < 0
                and intent.qty <= abs(position) + _EPS and intent.bracket is None)

    def _grid(self, intent: OrderIntent, inst: Instrument) -> Rejected | None:
        lots = intent.qty / inst.lot_size
        if intent.qty <= 0 or abs(lots - round(lots)) > 1e-6:
            return Rejected("lot_size", f"quantity {intent.qty:g} is not a positive multiple of "
                                        f"{inst.symbol}'s lot size {inst.lot_size:g}",
                            {"qty": intent.qty, "lot_size": inst.lot_size})
        if intent.limit_price is None and intent.stop_price is None:
            return None
        for name in ("limit_price", "stop_price"):
            price = getattr(intent, name)
            if price is not None and not inst.on_tick_grid(price):
                return Rejected("tick_size", f"{name.replace('_', ' ')} {price:g} is not on "
                                             f"{inst.symbol}'s tick grid ({inst.tick_size:g})",
                                {name: price, "tick_size": inst.tick_size})
        return None

    def _order_limits(self, intent: OrderIntent, inst: Instrument, state: RiskMonitor,
                      now: int) -> Rejected | None:
        limits = state.settings.order
        last = self._reference(intent.symbol)
        if last <= 0:
            return Rejected("market_data", f"no market data for {intent.symbol} yet: price "
                                           "checks need a trade or a quote")
        price = intent.limit_price or intent.stop_price or last
        if limits.min_price and 0 < last < limits.min_price:
            return Rejected("min_price", f"{intent.symbol} trades at {last:g}, below the "
                                         f"{limits.min_price:g} minimum",
                            {"last": last, "min_price": limits.min_price})
        if limits.price_band_pct and (intent.limit_price is not None
                                      or intent.stop_price is not None):
            for name in ("limit_price", "stop_price"):
                value = getattr(intent, name)
                if value is not None:
                    off = 100.0 * abs(value - last) / last
                    if off > limits.price_band_pct + _EPS:
                        return Rejected("price_band",
                                        f"{name.split('_')[0]} {value:,.{inst.price_decimals}f} "
                                        f"is {off:.2f}% from last {last:,.{inst.price_decimals}f}"
                                        f" (band {limits.price_band_pct:g}%)",
                                        {name: value, "last": last, "pct": off})
        if limits.max_qty and intent.qty > limits.max_qty + _EPS:
            return Rejected("max_qty", f"quantity {intent.qty:g} is over the "
                                       f"{limits.max_qty:g} per-order limit",
                            {"qty": intent.qty, "limit": limits.max_qty})
        notional = intent.qty * price * inst.point_value
        if limits.max_notional and notional > limits.max_notional + _EPS:
            return Rejected("max_notional", f"notional {notional:,.2f} is over the "
                                            f"{limits.max_notional:,.2f} per-order limit",
                            {"notional": notional, "limit": limits.max_notional})
        risk = self._entry_risk(intent, inst, price)
        if limits.max_risk_pct and risk > 0:
            allowed = state.equity * limits.max_risk_pct / 100.0
            if risk > allowed + _EPS:
                return Rejected("max_risk", f"risk to the stop {risk:,.2f} is over "
                                            f"{limits.max_risk_pct:g}% of equity "
                                            f"({allowed:,.2f})",
                                {"risk": risk, "allowed": allowed})
        key = _duplicate_key(intent)
        window = int(limits.duplicate_window_s * NS_PER_SECOND)
        seen = self._recent.get(key)
        if window and seen is not None and now - seen < window:
            return Rejected("duplicate", f"the same order ({intent.describe()}) was sent "
                                         f"{(now - seen) / NS_PER_SECOND:.2f} s ago (guard "
                                         f"{limits.duplicate_window_s:g} s)")
        sent = self._sent
        while sent and now - sent[0] >= 60 * NS_PER_SECOND:
            sent.popleft()
        if limits.max_orders_per_min and len(sent) >= limits.max_orders_per_min:
            return Rejected("order_rate", f"{len(sent)} orders in the last minute (limit "
                                          f"{limits.max_orders_per_min})")
        if limits.max_orders_per_s and sent:
            last_second = sum(1 for t in sent if now - t < NS_PER_SECOND)
            if last_second >= limits.max_orders_per_s:
                return Rejected("order_rate", f"{last_second} orders in the last second "
                                              f"(limit {limits.max_orders_per_s})")
        return None

    def _strategy_limits(self, intent: OrderIntent, inst: Instrument,
                         state: RiskMonitor) -> Rejected | None:
        limits = state.strategy_limits.get(intent.source)
        if limits is None or not limits.allocation:
            return None
        exposure = state.strategy_exposure(intent.source) + self._exposure(intent, inst)
        if exposure > limits.allocation + _EPS:
            return Rejected("allocation", f"{intent.source} would hold {exposure:,.2f}, over "
                                          f"its {limits.allocation:,.2f} allocation",
                            {"exposure": exposure, "allocation": limits.allocation})
        return None

    def _portfolio_limits(self, intent: OrderIntent, inst: Instrument, state: RiskMonitor,
                          now: int) -> Rejected | None:
        price = intent.limit_price or intent.stop_price or self._reference(intent.symbol)
        risk = self._entry_risk(intent, inst, price)
        if risk > 0:  # first: what this entry would do says more than "locked"
            for status in state.loss_statuses:
                if status.value + risk > status.limit + _EPS:
                    return _over(status, status.value + risk, f"entry would risk {risk:,.2f}")
        locked = state.locked
        if locked is not None:
            return Rejected(locked.rule, f"{locked.label.lower()} {locked.value:,.2f} of "
                                         f"{locked.limit:,.2f} limit ({locked.used_pct:.0f}%): "
                                         "new entries blocked",
                            {"value": locked.value, "limit": locked.limit})
        if inst.asset_class is AssetClass.FUTURE:
            held = self._portfolio.position(intent.symbol)
            added = abs(held + intent.side.sign * intent.qty) - abs(held)  # a flip nets out
            for status in state.contract_statuses:
                if status.value + added > status.limit + _EPS:
                    return _over(status, status.value + added,
                                 f"this order would make {status.value + added:g}")
        limit_pct = state.settings.portfolio.max_deployed_pct
        if limit_pct and state.equity > 0:
            deployed = state.deployed + self._exposure(intent, inst)
            pct = 100.0 * deployed / state.equity
            if pct > limit_pct + _EPS:
                return Rejected("deployed", f"capital deployed would be {pct:.1f}% of equity "
                                            f"({deployed:,.2f}), over the {limit_pct:g}% limit",
                                {"deployed": deployed, "pct": pct, "limit": limit_pct})
        if state.position_statuses and self._portfolio.position(intent.symbol) == 0:
            for status in state.position_statuses:
                if status.value + 1 > status.limit + _EPS:
                    return _over(status, status.value + 1,
                                 f"this order would make {status.value + 1:g}")
        settings = state.settings.portfolio
        if state.cooldown_until > now:
            left = (state.cooldown_until - now) / NS_PER_SECOND / 60
            return Rejected("loss_streak", f"{state.consecutive_losses} losing trades in a row: "
                                           f"cooling down for {left:.1f} more minutes")
        if not settings.sessions_only:
            return None
        session = self._sessions.get(intent.symbol)
        if session is None or not session.contains(now):
            try:
                session = get_schedule(inst.schedule).session_at(now)
            except SessionError as exc:
                return Rejected("trading_hours", str(exc))
            if session is not None:
                self._sessions[intent.symbol] = session
        if session is None:
            return Rejected("trading_hours", f"{intent.symbol} is outside its trading session")
        minutes = settings.no_entry_minutes_before_close
        if minutes and session.close_ns - now <= minutes * 60 * NS_PER_SECOND:
            left = (session.close_ns - now) / NS_PER_SECOND / 60
            return Rejected("trading_hours", f"{intent.symbol} closes in {left:.1f} minutes: no "
                                             f"new entries in the last {minutes:g}")
        return None

    # -- helpers ------------------------------------------------------------------------------
    def _reference(self, symbol: str) -> float:
        """The last trade, else the middle of the quote, else 0 (no data)."""
        state = self._market.get(symbol)
        if state.last > 0:
            return state.last
        if state.bid > 0 and state.ask > 0:
            return (state.bid + state.ask) / 2
        return 0.0

    def _entry_risk(self, intent: OrderIntent, inst: Instrument, price: float) -> float:
        """Money lost if the entry's stop is hit (0 without a stop)."""
        stop = intent.bracket.stop_loss if intent.bracket is not None else None
        if stop is None or price <= 0:
            return 0.0
        return abs(price - stop) * intent.qty * inst.point_value

    def _exposure(self, intent: OrderIntent, inst: Instrument) -> float:
        if inst.asset_class is AssetClass.FUTURE:
            return intent.qty * self._margins.get(intent.symbol, 0.0)
        price = intent.limit_price or self._reference(intent.symbol)
        return intent.qty * price * inst.point_value

    def _remember(self, intent: OrderIntent, now: int) -> None:
        self._recent[_duplicate_key(intent)] = now
        if len(self._recent) > 1_000:
            cutoff = now - 60 * NS_PER_SECOND
            self._recent = {k: t for k, t in self._recent.items() if t >= cutoff}
        self._sent.append(now)


def _over(status: RuleStatus, projected: float, detail: str) -> Rejected:
    return Rejected(status.rule, f"{status.label.lower()} {status.value:,.2f} of "
                                 f"{status.limit:,.2f} limit: {detail}",
                    {"value": status.value, "limit": status.limit, "projected": projected})


def _duplicate_key(intent: OrderIntent) -> tuple[object, ...]:
    """What makes two orders the same: per source, so two strategies (or a strategy and
    the trader) acting on the same bar are not mistaken for a double click; and with their
    brackets, so a setup's one bracket per target is not either."""
    return (intent.source, intent.symbol, intent.side, intent.qty, intent.type,
            intent.limit_price, intent.stop_price, intent.bracket)
