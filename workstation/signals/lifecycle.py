"""The life of one signal, from receipt to a closed trade, as a checked state
machine with a timed, reasoned history, so a trader (and a restart) can always
say what happened to an idea and why."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from workstation.model import NS_PER_SECOND, Bar, Direction, Signal
from workstation.signals.setup import TradeSetup

RECORD_VERSION = 1


class SignalState(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    PENDING = "pending"  # valid; waiting for a bar to confirm it
    CONFIRMED = "confirmed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    ACTIVE = "active"  # the entry filled: a trade is open
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({SignalState.REJECTED, SignalState.CLOSED, SignalState.CANCELLED,
                       SignalState.EXPIRED})
# Cancelled and expired are reachable from every stage before active.
_WITHDRAWN = frozenset({SignalState.CANCELLED, SignalState.EXPIRED})

TRANSITIONS: dict[SignalState, frozenset[SignalState]] = {
    SignalState.RECEIVED: frozenset({SignalState.REJECTED, SignalState.PENDING}) | _WITHDRAWN,
    SignalState.PENDING: frozenset({SignalState.CONFIRMED}) | _WITHDRAWN,
    # rejected here: no setup can be built (no stop, size 0, stop on the wrong side)
    SignalState.CONFIRMED: frozenset({SignalState.AWAITING_APPROVAL,
                                      SignalState.REJECTED}) | _WITHDRAWN,
    # rejected here: by the trader
    SignalState.AWAITING_APPROVAL: frozenset({SignalState.APPROVED,
                                              SignalState.REJECTED}) | _WITHDRAWN,
    # rejected here: the risk gate refused the order
    SignalState.APPROVED: frozenset({SignalState.ACTIVE, SignalState.REJECTED}) | _WITHDRAWN,
    SignalState.ACTIVE: frozenset({SignalState.CLOSED}),
    SignalState.REJECTED: frozenset(),
    SignalState.CLOSED: frozenset(),
    SignalState.CANCELLED: frozenset(),
    SignalState.EXPIRED: frozenset(),
}


class IllegalSignalTransition(RuntimeError):
    """A signal was asked to move to a state its current state cannot reach."""


def ns_to_iso(ts: int) -> str:
    """ISO-8601 UTC time of an engine timestamp, exact to the microsecond (no float)."""
    seconds, ns = divmod(ts, NS_PER_SECOND)
    moment = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=ns // 1_000)
    return moment.isoformat()


@dataclass(frozen=True, slots=True)
class Transition:
    state: SignalState
    ts: int
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state.value, "time": ns_to_iso(self.ts), "reason": self.reason}


@dataclass(slots=True)
class SignalRecord:
    """Everything known about one signal; mutated only by the signal engine."""

    id: str
    signal: Signal
    state: SignalState = SignalState.RECEIVED
    history: list[Transition] = field(default_factory=list)
    setup: TradeSetup | None = None
    bars_waited: int = 0  # before confirmation
    bars_since_confirm: int = 0  # awaiting approval
    confirm_bar: Bar | None = None
    order_client_ids: list[str] = field(default_factory=list)  # one bracket per target
    trade_id: str | None = None
    exit_reason: str | None = None
    gate_verdict: str = ""
    confirmed_ts: int | None = None
    approved_ts: int | None = None

    @classmethod
    def received(cls, signal_id: str, signal: Signal, ts: int,
                 reason: str = "signal received") -> SignalRecord:
        """A new record whose history starts with its receipt."""
        return cls(id=signal_id, signal=signal,
                   history=[Transition(SignalState.RECEIVED, ts, reason)])

    def move(self, state: SignalState, ts: int, reason: str) -> Transition:
        """Go to ``state`` if the machine allows it, recording when and why."""
        if state not in TRANSITIONS[self.state]:
            raise IllegalSignalTransition(f"signal {self.id}: cannot go from {self.state} to "
                                          f"{state} ({reason})")
        step = Transition(state, ts, reason)
        self.history.append(step)
        self.state = state
        if state is SignalState.CONFIRMED:
            self.confirmed_ts = ts
        elif state is SignalState.APPROVED:
            self.approved_ts = ts
        return step

    def as_report(self) -> dict[str, Any]:
        """A JSON-ready summary for run reports and the signals panel."""
        signal, setup = self.signal, self.setup
        return {
            "id": self.id,
            "symbol": signal.symbol,
            "direction": signal.direction.value,
            "source": signal.source,
            "signal_time": ns_to_iso(signal.ts),
            "state": self.state.value,
            "history": [step.as_dict() for step in self.history],
            "entry": setup.entry if setup else None,
            "stop": setup.stop if setup else None,
            "stop_rule": setup.stop_rule if setup else None,
            "risk_points": setup.risk_points if setup else None,
            "risk_money": setup.risk_money if setup else None,
            "targets": list(setup.targets) if setup else [],
            "qty": setup.qty if setup else None,
            "bars_waited": self.bars_waited,
            "approval_s": (None if self.approved_ts is None or self.confirmed_ts is None
                           else (self.approved_ts - self.confirmed_ts) / 1e9),
            "gate_verdict": self.gate_verdict,
            "order_client_ids": list(self.order_client_ids),
            "trade_id": self.trade_id,
            "exit_reason": self.exit_reason,
        }


def record_to_json(record: SignalRecord) -> str:
    """Persistable text of a record: bars as lists, enums as their values, raw ns."""
    signal = record.signal
    return json.dumps({
        "version": RECORD_VERSION,
        "id": record.id,
        "signal": {"symbol": signal.symbol, "direction": signal.direction.value,
                   "ts": signal.ts, "source": signal.source, "price": signal.price,
                   "bar": _bar_out(signal.bar), "notes": signal.notes},
        "state": record.state.value,
        "history": [[step.state.value, step.ts, step.reason] for step in record.history],
        "setup": _setup_out(record.setup),
        "bars_waited": record.bars_waited,
        "bars_since_confirm": record.bars_since_confirm,
        "confirm_bar": _bar_out(record.confirm_bar),
        "order_client_ids": list(record.order_client_ids),
        "trade_id": record.trade_id,
        "exit_reason": record.exit_reason,
        "gate_verdict": record.gate_verdict,
        "confirmed_ts": record.confirmed_ts,
        "approved_ts": record.approved_ts,
    })


def record_from_json(text: str) -> SignalRecord:
    """Inverse of :func:`record_to_json`; a malformed text raises ValueError saying why."""
    try:
        data = json.loads(text)
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        raw = data["signal"]
        signal = Signal(symbol=raw["symbol"], direction=Direction(raw["direction"]),
                        ts=raw["ts"], source=raw["source"], price=raw["price"],
                        bar=_bar_in(raw["bar"]), notes=raw["notes"])
        return SignalRecord(
            id=data["id"], signal=signal, state=SignalState(data["state"]),
            history=[Transition(SignalState(state), ts, reason)
                     for state, ts, reason in data["history"]],
            setup=_setup_in(data["setup"]), bars_waited=data["bars_waited"],
            bars_since_confirm=data.get("bars_since_confirm", 0),
            confirm_bar=_bar_in(data["confirm_bar"]),
            order_client_ids=list(data["order_client_ids"]), trade_id=data["trade_id"],
            exit_reason=data["exit_reason"], gate_verdict=data["gate_verdict"],
            confirmed_ts=data["confirmed_ts"], approved_ts=data["approved_ts"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"signal record JSON is malformed: {exc!r}") from exc


def _bar_out(bar: Bar | None) -> list[Any] | None:
    return None if bar is None else list(bar)


def _bar_in(raw: list[Any] | None) -> Bar | None:
    return None if raw is None else Bar(*raw)


def _setup_out(setup: TradeSetup | None) -> dict[str, Any] | None:
    if setup is None:
        return None
    return {"symbol": setup.symbol, "direction": setup.direction.value,
            "entry": setup.entry, "stop": setup.stop, "risk_points": setup.risk_points,
            "risk_money_per_contract": setup.risk_money_per_contract, "qty": setup.qty,
            "risk_money": setup.risk_money, "targets": list(setup.targets),
            "target_r": list(setup.target_r), "entry_kind": setup.entry_kind,
            "stop_rule": setup.stop_rule, "signal_bar_ts": setup.signal_bar_ts,
            "confirm_bar_ts": setup.confirm_bar_ts, "pivot_bar_ts": setup.pivot_bar_ts}


def _setup_in(raw: dict[str, Any] | None) -> TradeSetup | None:
    if raw is None:
        return None
    return TradeSetup(**{**raw, "direction": Direction(raw["direction"]),
                         "targets": tuple(raw["targets"]), "target_r": tuple(raw["target_r"])})
