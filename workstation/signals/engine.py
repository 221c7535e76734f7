"""The signal confirmation engine: from a trade idea to an approved bracket order.

A Signal (from a strategy's ``emit_signal``, the trader, or an external alert) is
validated on arrival, then waits for the market: closed bars of the confirmation
timeframe either confirm it (a bullish bar closing above the signal bar's high for a
long), or it expires (N bars, the session close), or an opposing signal cancels it.
A confirmed signal gets a structural stop (the pivot rule), an entry (the next bar's
open, or a limit at the confirmation close), a size from the risk settings and
targets at R multiples: a TradeSetup awaiting approval. Approval (a click, a hotkey,
or automatic for chosen sources) sends one bracket order per target through the
OrderRouter, so the risk gate judges it like any other order. The brackets keep the
structural stop and put their targets at R multiples of the distance from the actual
fill to that stop, so a slipped entry still has 1R and 2R targets; the entry's fill
makes the signal active (its setup re-priced from the fill) and its brackets are one
trade, whose exit closes it. The gate's verdict on a waiting setup is re-checked on
every bar and after a restart (never shown as it was stored). Every transition is
published as a SignalChanged, which the journal commits before the UI shows it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from workstation.bars import BarEngine
from workstation.bus import EventBus
from workstation.clock import Clock, TimerHandle
from workstation.market import MarketState
from workstation.model import NS_PER_SECOND, Bar, Direction, Instrument, Quote, Signal, Tick
from workstation.orders import (
    Bracket,
    Fill,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)
from workstation.portfolio import Portfolio
from workstation.risk.gate import Rejected
from workstation.risk.router import OrderRouter
from workstation.sessions import SessionError, exchange_zone, get_schedule
from workstation.signals.confirmation import confirms
from workstation.signals.events import AlertRefused, SignalChanged, snapshot
from workstation.signals.lifecycle import SignalRecord, SignalState, Transition
from workstation.signals.pivots import pivot_stop
from workstation.signals.settings import SignalSettings
from workstation.signals.setup import SetupError, build_setup
from workstation.trades import TradeClosed, TradeTracker

log = logging.getLogger(__name__)

S = SignalState
WAITING = (S.RECEIVED, S.PENDING, S.CONFIRMED, S.AWAITING_APPROVAL)  # before any order
OPEN = (*WAITING, S.APPROVED, S.ACTIVE)
UNCHECKED = "not re-checked since the restart yet"  # until the risk state and prices are back
EXIT_WORDS = {"stop": "stopped out", "break_even": "break-even", "target": "target",
              "manual": "manual"}


class SignalError(ValueError):
    """An approval or rejection that does not apply (unknown id, wrong state)."""


class RiskWarnings(SignalError):
    """The risk gate warns about a setup: approving it needs the warnings accepted."""

    def __init__(self, signal_id: str, warnings: tuple[str, ...]) -> None:
        self.warnings = warnings
        super().__init__(f"signal {signal_id}: the risk gate warns: {'; '.join(warnings)}")


class SignalEngine:
    def __init__(self, settings: SignalSettings, instruments: dict[str, Instrument],
                 bus: EventBus, clock: Clock, market: MarketState, bars: BarEngine,
                 router: OrderRouter, portfolio: Portfolio, trades: TradeTracker) -> None:
        self.settings = settings
        self._instruments = instruments
        self._bus = bus
        self._clock = clock
        self._market = market
        self._bars = bars
        self._router = router
        self._portfolio = portfolio
        self._trades = trades
        self.records: dict[str, SignalRecord] = {}
        self._open: dict[str, list[SignalRecord]] = {}  # symbol -> unfinished, oldest first
        self._ids = itertools.count(1)
        self._entries: dict[str, str] = {}  # entry client order id -> signal id
        self._session_timers: dict[str, TimerHandle] = {}
        self._published: dict[str, int] = {}  # signal id -> transitions already published
        self.approval_listeners: list[Callable[[SignalRecord], None]] = []
        for instrument in instruments.values():
            bars.add(instrument, settings.timeframe)
        bus.subscribe(Signal, self.submit, "SignalEngine.submit")
        bus.subscribe(Bar, self.on_bar, "SignalEngine.on_bar")
        bus.subscribe(Fill, self.on_fill, "SignalEngine.on_fill")
        bus.subscribe(OrderUpdate, self.on_order, "SignalEngine.on_order")
        bus.subscribe(TradeClosed, self.on_trade_closed, "SignalEngine.on_trade_closed")

    # -- arrival ---------------------------------------------------------------------------
    def submit(self, signal: Signal) -> SignalRecord:
        """Take a signal in: rejected with the reason, or pending confirmation."""
        now = self._clock.now_ns()
        record = SignalRecord.received(f"sig-{next(self._ids)}", signal, now)
        self.records[record.id] = record
        problem = self._validate(signal, now)
        self._track(record)
        if problem:
            self._move(record, S.REJECTED, problem)
            log.info("signal %s %s %s from %s rejected: %s", record.id, signal.direction,
                     signal.symbol, signal.source, problem)
            return record
        for other in self._open_on(signal.symbol):
            if other is not record and other.state in WAITING and \
                    other.signal.direction is not signal.direction:
                self._move(other, S.CANCELLED, f"opposing {signal.direction} signal {record.id}")
        self._attach_signal_bar(record)
        self._move(record, S.PENDING, f"waiting for a {self.settings.timeframe} bar to confirm")
        self._arm_session_close(signal.symbol, now)
        log.info("signal %s: %s %s from %s at %s", record.id, signal.direction, signal.symbol,
                 signal.source, "market" if signal.price is None else f"{signal.price:g}")
        return record

    def _validate(self, signal: Signal, now: int) -> str:
        inst = self._instruments.get(signal.symbol)
        if inst is None:
            return f"unknown instrument {signal.symbol!r}"
        if not isinstance(signal.direction, Direction):
            return f"direction {signal.direction!r} is not long or short"
        for other in self._open_on(signal.symbol):
            if other.state in WAITING and other.signal.direction is signal.direction and \
                    other.state is not S.RECEIVED:
                return f"duplicate of open {signal.direction} signal {other.id}"
        problem = self._session_problem(inst, now, signal.source)
        if problem:
            return problem
        rules = self.settings.rules_for(inst)
        market = self._market.get(signal.symbol).last
        if not market:
            return f"no market price for {signal.symbol} yet"
        if signal.price is not None and rules.max_deviation > 0:
            allowed = rules.in_points(rules.max_deviation, rules.deviation_unit, inst, market)
            deviation = abs(signal.price - market)
            if deviation > allowed + 1e-9:
                decimals = inst.price_decimals
                return (f"stale: signal price {signal.price:,.{decimals}f} is "
                        f"{deviation:,.{decimals}f} from the market {market:,.{decimals}f} "
                        f"(max {rules.describe(rules.max_deviation, rules.deviation_unit)})")
        return ""

    def _session_problem(self, inst: Instrument, now: int, source: str) -> str:
        try:
            session = get_schedule(inst.schedule).session_at(now)
        except SessionError as exc:
            return str(exc)
        if session is None:
            return f"{inst.symbol}: the market is closed"
        rules = self.settings.rules_for(inst)
        minute = 60 * NS_PER_SECOND
        if now < session.open_ns + rules.skip_first_minutes * minute:
            return (f"inside the first {rules.skip_first_minutes:g} minutes of the "
                    f"{inst.symbol} session")
        if now >= session.close_ns - rules.skip_last_minutes * minute:
            return (f"inside the last {rules.skip_last_minutes:g} minutes of the "
                    f"{inst.symbol} session")
        for windows, whose in ((rules.windows, inst.symbol),
                               (self.settings.source_windows.get(source, []), source)):
            if not windows:
                continue
            zone = exchange_zone(inst.schedule)
            local = datetime.fromtimestamp(now / NS_PER_SECOND, zone).time()
            if not any(window.contains(local) for window in windows):
                spans = ", ".join(f"{w.start:%H:%M}-{w.end:%H:%M}" for w in windows)
                return f"{local:%H:%M} {zone.key} is outside {whose}'s signal windows {spans}"
        return ""

    def _attach_signal_bar(self, record: SignalRecord) -> None:
        """The signal bar: the signal's own bar when it is a confirmation-timeframe bar,
        else the closed bar that ended at or after the signal (later: the one forming)."""
        signal = record.signal
        if signal.bar is not None and signal.bar.timeframe == self.settings.timeframe:
            return
        for bar in reversed(self._bars.history(signal.symbol, self.settings.timeframe)):
            if bar.ts < signal.ts <= bar.end:
                record.signal = dataclasses.replace(signal, bar=bar)
                return
            if bar.end < signal.ts:
                break
        record.signal = dataclasses.replace(signal, bar=None)  # set when its bar closes

    # -- the market confirms, or not -------------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        if bar.timeframe != self.settings.timeframe or not self._open.get(bar.symbol):
            return  # no unfinished signal on this symbol: nothing to confirm or expire
        if bar.symbol not in self._session_timers:
            self._catch_up_session(bar.symbol, bar.end)
        for record in self._open_on(bar.symbol):
            if record.state is S.PENDING:
                self._pending_bar(record, bar)
            elif record.state is S.AWAITING_APPROVAL and record.confirm_bar is not None \
                    and bar.ts >= record.confirm_bar.end:
                self._awaiting_bar(record, bar)

    def _awaiting_bar(self, record: SignalRecord, bar: Bar) -> None:
        """A setup left waiting goes stale: the market reached its stop or its first target
        before anyone approved it, or too many bars went by."""
        setup = record.setup
        assert setup is not None
        record.bars_since_confirm += 1
        long = setup.direction is Direction.LONG
        decimals = self._instruments[bar.symbol].price_decimals
        if (bar.low <= setup.stop) if long else (bar.high >= setup.stop):
            reason = f"the market reached the stop {setup.stop:,.{decimals}f} before approval"
        elif (bar.high >= setup.targets[0]) if long else (bar.low <= setup.targets[0]):
            reason = (f"the market reached the {setup.target_r[0]:g}R target "
                      f"{setup.targets[0]:,.{decimals}f} before approval")
        elif record.bars_since_confirm >= self.settings.approval_bars:
            reason = f"not approved within {self.settings.approval_bars} bars"
        else:
            record.gate_verdict = self._verdict(record)  # the account may have moved on
            self._publish(record)
            return
        self._move(record, S.EXPIRED, reason)

    def _pending_bar(self, record: SignalRecord, bar: Bar) -> None:
        signal_bar = record.signal.bar
        if signal_bar is None:
            if bar.ts < record.signal.ts <= bar.end:
                record.signal = dataclasses.replace(record.signal, bar=bar)
                self._publish(record)
            return
        if bar.ts < signal_bar.end:
            return
        record.bars_waited += 1
        direction = record.signal.direction
        if confirms(direction, signal_bar, bar):
            long = direction is Direction.LONG
            edge = "above the signal high" if long else "below the signal low"
            level = signal_bar.high if long else signal_bar.low
            decimals = self._instruments[bar.symbol].price_decimals
            self._move(record, S.CONFIRMED,
                       f"{'bullish' if long else 'bearish'} bar closed "
                       f"{bar.close:,.{decimals}f} {edge} {level:,.{decimals}f}")
            record.confirm_bar = bar
            self._build_setup(record, bar)
        elif record.bars_waited >= self.settings.expiry_bars:
            self._move(record, S.EXPIRED, f"not confirmed within {self.settings.expiry_bars} "
                                          f"bars")
        else:
            self._publish(record)

    def _build_setup(self, record: SignalRecord, confirm_bar: Bar) -> None:
        settings = self.settings
        signal = record.signal
        inst = self._instruments[signal.symbol]
        assert signal.bar is not None
        history = self._bars.history(signal.symbol, settings.timeframe)
        index = {bar.ts: i for i, bar in enumerate(history)}
        signal_index, confirm_index = index.get(signal.bar.ts), index.get(confirm_bar.ts)
        if signal_index is None or confirm_index is None:
            self._move(record, S.REJECTED, "the signal bar is no longer in the bar history")
            return
        rules = settings.rules_for(inst)
        offset = rules.in_points(rules.stop_offset, rules.offset_unit, inst, confirm_bar.close)
        stop = pivot_stop(signal.direction, history, signal_index, confirm_index, offset, inst,
                          settings.pivot_lookback)
        if stop is None:
            self._move(record, S.REJECTED, "no pivot and no opposing bar: no structural stop")
            return
        try:
            record.setup = build_setup(
                signal.direction, confirm_bar.close, stop, inst, sizing=settings.sizing,
                risk_amount=settings.risk_amount, equity=self._portfolio.equity(),
                target_r=settings.target_r, max_qty=settings.max_qty,
                entry_kind=settings.entry, signal_bar=signal.bar, confirm_bar=confirm_bar)
        except SetupError as exc:
            self._move(record, S.REJECTED, f"setup: {exc}")
            return
        setup = record.setup
        decimals = inst.price_decimals
        record.gate_verdict = self._verdict(record)
        self._move(record, S.AWAITING_APPROVAL,
                   f"{setup.direction} {setup.qty:g} {inst.symbol} entry "
                   f"{'~' if setup.entry_kind == 'next_open' else '@'}{setup.entry:,.{decimals}f}, "
                   f"stop {setup.stop:,.{decimals}f} ({setup.stop_rule.replace('_', ' ')}), "
                   f"1R {setup.risk_points:,.{decimals}f} points")
        for listener in self.approval_listeners:
            try:
                listener(snapshot(record))
            except Exception:  # a notification's failure must not hold the setup up
                log.exception("signal approval listener %r failed", listener)
        if settings.auto_approves(signal.source):
            try:
                self.approve(record.id, by="auto-approval")
            except RiskWarnings as exc:  # a person decides at warning level
                log.warning("auto-approval held for %s: %s", record.id, exc)

    def _verdict(self, record: SignalRecord) -> str:
        """What the risk gate would say of the first bracket, without sending it."""
        intents = self._intents(record, preview=True)
        verdict = self._router.check(intents[0])
        if isinstance(verdict, Rejected):
            return f"blocked: {verdict.rule}: {verdict.reason}"
        if verdict.warnings:
            return "warning: " + "; ".join(verdict.warnings)
        return "ok"

    # -- approval --------------------------------------------------------------------------
    def approve(self, signal_id: str, by: str = "trader", *,
                accept_warnings: bool = False) -> SignalRecord:
        """Send the setup as one bracket order per target through the risk gate. When the
        gate warns (a rule at warning level or worse), RiskWarnings unless the warnings
        are accepted, as the order ticket asks for them to be."""
        record = self._get(signal_id, S.AWAITING_APPROVAL)
        verdict = self._router.check(self._intents(record, preview=True)[0])
        warnings = () if isinstance(verdict, Rejected) else verdict.warnings
        if warnings:
            record.gate_verdict = "warning: " + "; ".join(warnings)
            if not accept_warnings:
                self._publish(record)
                raise RiskWarnings(signal_id, warnings)
        now = self._clock.now_ns()
        waited = (now - (record.confirmed_ts or now)) / NS_PER_SECOND
        intents = self._intents(record, preview=False)
        # approved before sending: a market entry can fill inside submit()
        accepted = " (risk warnings accepted)" if warnings else ""
        self._move(record, S.APPROVED,
                   f"approved by {by} {waited:.1f} s after confirmation{accepted}")
        for number, intent in enumerate(intents):
            self._remember_entry(record, intent.client_order_id)
            update = self._router.submit(intent)
            if update.status is not OrderStatus.REJECTED:
                continue
            self._forget_entry(record, intent.client_order_id)
            if number == 0:
                record.gate_verdict = update.reason
                self._move(record, S.REJECTED, update.reason)
                return record
            log.warning("signal %s: bracket %s not sent: %s", record.id,
                        intent.client_order_id, update.reason)
        self._publish(record)
        return record

    def reject(self, signal_id: str, reason: str = "rejected by the trader") -> SignalRecord:
        record = self._get(signal_id, S.AWAITING_APPROVAL)
        self._move(record, S.REJECTED, reason)
        return record

    def cancel(self, signal_id: str, reason: str = "cancelled by the trader") -> SignalRecord:
        record = self.records.get(signal_id)
        if record is None or record.state not in WAITING:
            raise SignalError(f"signal {signal_id} cannot be cancelled now")
        self._move(record, S.CANCELLED, reason)
        return record

    def _get(self, signal_id: str, state: SignalState) -> SignalRecord:
        record = self.records.get(signal_id)
        if record is None:
            raise SignalError(f"no signal {signal_id!r}")
        if record.state is not state:
            raise SignalError(f"signal {signal_id} is {record.state}, not "
                              f"{state.value.replace('_', ' ')}")
        return record

    def _intents(self, record: SignalRecord, *, preview: bool) -> list[OrderIntent]:
        """One bracket per target, the quantity shared out (the first gets what does not
        divide), as many targets as there are lots."""
        setup = record.setup
        assert setup is not None
        inst = self._instruments[setup.symbol]
        lots = max(1, round(setup.qty / inst.lot_size))
        count = min(len(setup.targets), lots)
        share = lots // count
        sizes = [share + (lots - share * count if i == 0 else 0) for i in range(count)]
        side = OrderSide.BUY if setup.direction is Direction.LONG else OrderSide.SELL
        limit = setup.entry if setup.entry_kind == "limit_at_close" else None
        intents = []
        for i, lot_count in enumerate(sizes):
            client_id = "preview" if preview else self._router.next_client_id(record.id)
            intents.append(OrderIntent(
                client_id, setup.symbol, side, inst.round_size(lot_count * inst.lot_size),
                OrderType.LIMIT if limit is not None else OrderType.MARKET, limit_price=limit,
                bracket=Bracket(stop_loss=setup.stop, take_profit=setup.targets[i],
                                target_r=setup.target_r[i]),
                source=record.signal.source, signal_id=record.id))
        return intents

    def _remember_entry(self, record: SignalRecord, client_id: str) -> None:
        record.order_client_ids.append(client_id)
        self._entries[client_id] = record.id

    def _forget_entry(self, record: SignalRecord, client_id: str) -> None:
        record.order_client_ids.remove(client_id)
        self._entries.pop(client_id, None)

    # -- orders, fills and trades ----------------------------------------------------------
    def on_fill(self, fill: Fill) -> None:
        signal_id = self._entries.get(fill.client_order_id)
        record = self.records.get(signal_id) if signal_id else None
        if record is None or record.state not in (S.APPROVED, S.ACTIVE):
            return
        trade = self._trades.trade_for_entry(fill.client_order_id)
        if record.state is S.ACTIVE:  # a later fill of the entries: the average moved
            if trade is not None and self._reanchor(record, trade.entry):
                self._publish(record)
            return
        record.trade_id = trade.trade_id if trade is not None else None
        reanchored = self._reanchor(record, fill.price if trade is None else trade.entry)
        self._move(record, S.ACTIVE, f"entry filled {fill.qty:g} @ {fill.price:g}"
                                     + (f" (trade {record.trade_id})" if record.trade_id else "")
                                     + reanchored)

    def _reanchor(self, record: SignalRecord, entry: float) -> str:
        """The setup as filled: the same structural stop, R and the targets measured from
        the average fill (what the brackets' legs are priced from). Returns what changed."""
        setup = record.setup
        assert setup is not None
        inst = self._instruments[setup.symbol]
        decimals = inst.price_decimals
        risk = round(abs(entry - setup.stop), decimals)
        if abs(entry - setup.entry) < 1e-9 or risk <= 0:
            return ""
        sign = setup.direction.sign
        targets = tuple(inst.round_price(entry + sign * r * risk) for r in setup.target_r)
        record.setup = dataclasses.replace(
            setup, entry=inst.round_price(entry), risk_points=risk,
            risk_money_per_contract=risk * inst.point_value,
            risk_money=risk * inst.point_value * setup.qty, targets=targets)
        return (f"; from the fill: 1R {risk:,.{decimals}f} points, targets "
                + " / ".join(f"{t:,.{decimals}f}" for t in targets))

    def on_order(self, update: OrderUpdate) -> None:
        signal_id = self._entries.get(update.client_order_id)
        record = self.records.get(signal_id) if signal_id else None
        if record is None or record.state is not S.APPROVED:
            return
        if update.status not in (OrderStatus.CANCELED, OrderStatus.EXPIRED) or \
                update.filled_qty > 0:
            return  # a refusal at submit is the approval's to report
        alive = [cid for cid in record.order_client_ids if cid != update.client_order_id
                 and self._router_working(cid)]
        if not alive:
            state = S.EXPIRED if update.status is OrderStatus.EXPIRED else S.CANCELLED
            self._move(record, state, f"entry order {update.status}: {update.reason}".rstrip(": "))

    def _router_working(self, client_id: str) -> bool:
        return any(o.client_order_id == client_id for o in self._router.working_orders())

    def on_trade_closed(self, event: TradeClosed) -> None:
        trade = event.record
        for record in self._open_on(trade.symbol):
            if record.state is S.ACTIVE and record.trade_id == trade.trade_id:
                record.exit_reason = EXIT_WORDS.get(trade.exit_reason, trade.exit_reason)
                r = "" if trade.r_multiple is None else f", {trade.r_multiple:+.2f} R"
                self._move(record, S.CLOSED, f"{record.exit_reason} at {trade.exit:g}{r}")

    # -- the session ends ------------------------------------------------------------------
    def _arm_session_close(self, symbol: str, now: int) -> None:
        if symbol in self._session_timers:
            return
        try:
            session = get_schedule(self._instruments[symbol].schedule).session_at(now)
        except SessionError:
            return
        if session is None:
            return

        def expire() -> None:
            self._session_timers.pop(symbol, None)
            for record in self._open_on(symbol):
                if record.state in WAITING:
                    self._move(record, S.EXPIRED, "session closed")

        self._session_timers[symbol] = self._clock.call_at(session.close_ns, expire)

    def _catch_up_session(self, symbol: str, now: int) -> None:
        """Signals restored from an earlier session expire; those of this one get a timer.
        (A restart learns the time only when the market data starts.)"""
        try:
            session = get_schedule(self._instruments[symbol].schedule).session_at(now)
        except SessionError:
            return
        for record in self._open_on(symbol):
            if record.state in WAITING and (session is None or record.signal.ts < session.open_ns):
                self._move(record, S.EXPIRED, "session closed")
        if any(r.state in WAITING for r in self._open_on(symbol)):
            self._arm_session_close(symbol, now)

    # -- records ---------------------------------------------------------------------------
    def _open_on(self, symbol: str) -> list[SignalRecord]:
        """The symbol's unfinished signals (a copy: callers move them)."""
        return list(self._open.get(symbol, ()))

    def _track(self, record: SignalRecord) -> None:
        if record.state in OPEN:
            self._open.setdefault(record.signal.symbol, []).append(record)

    def _move(self, record: SignalRecord, state: SignalState, reason: str) -> Transition:
        step = record.move(state, self._clock.now_ns(), reason)
        if state.terminal:
            still = self._open.get(record.signal.symbol, [])
            if record in still:
                still.remove(record)
        self._publish(record)
        return step

    def _publish(self, record: SignalRecord) -> None:
        done = self._published.get(record.id, 0)
        new = tuple(record.history[done:])
        self._published[record.id] = len(record.history)
        self._bus.publish(SignalChanged(snapshot(record), new))

    def refused_alert(self, ts: int, remote: str, status: int, message: str,
                      body: str) -> None:
        """Keep a refused external alert (the endpoint's 4xx) in the store."""
        self._bus.publish(AlertRefused(ts, remote, status, message, body))

    def restore(self, records: list[SignalRecord], next_id: int) -> None:
        """Open signals from the store: pending ones wait on, awaiting ones can be approved,
        approved and active ones find their orders and trade again."""
        self._ids = itertools.count(next_id)
        for record in records:
            self.records[record.id] = record
            self._track(record)
            self._published[record.id] = len(record.history)
            for client_id in record.order_client_ids:
                self._entries[client_id] = record.id
            if record.state is S.AWAITING_APPROVAL:
                record.gate_verdict = UNCHECKED  # the stored verdict was about then
        if any(r.state is S.AWAITING_APPROVAL for r in records):
            # the risk state is restored after the signals and prices come with the market:
            # the first quote or trade re-checks (the engine may call recheck_verdicts first)
            self._bus.subscribe(Quote, self._recheck_on_market, "SignalEngine.recheck")
            self._bus.subscribe(Tick, self._recheck_on_market, "SignalEngine.recheck")
        if records:
            log.info("restored %d open signal(s): %s", len(records),
                     ", ".join(f"{r.id} {r.state}" for r in records))

    def recheck_verdicts(self) -> None:
        """Ask the risk gate again about every setup awaiting approval, now, and show
        what it says (after a restart: the account may be locked since)."""
        for record in self.awaiting():
            verdict = self._verdict(record)
            if verdict != record.gate_verdict:
                record.gate_verdict = verdict
                self._publish(record)

    def _recheck_on_market(self, _event: Quote | Tick) -> None:
        self._bus.unsubscribe(Quote, self._recheck_on_market)
        self._bus.unsubscribe(Tick, self._recheck_on_market)
        self.recheck_verdicts()

    def report(self) -> list[dict[str, Any]]:
        return [record.as_report() for record in self.records.values()]

    def awaiting(self) -> list[SignalRecord]:
        return [r for r in self.records.values() if r.state is S.AWAITING_APPROVAL]
