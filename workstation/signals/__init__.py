"""Signal confirmation rules: pivots and the stop, the confirming bar, the trade
setup and the signal lifecycle. Pure functions and values; the stateful engine
that wires them to the bus builds on these."""

from workstation.signals.confirmation import confirms
from workstation.signals.lifecycle import (
    TRANSITIONS,
    IllegalSignalTransition,
    SignalRecord,
    SignalState,
    Transition,
    record_from_json,
    record_to_json,
)
from workstation.signals.pivots import StopChoice, is_pivot_high, is_pivot_low, pivot_stop
from workstation.signals.setup import SetupError, Sizing, TradeSetup, build_setup

__all__ = [
    "TRANSITIONS",
    "IllegalSignalTransition",
    "SetupError",
    "SignalRecord",
    "SignalState",
    "Sizing",
    "StopChoice",
    "TradeSetup",
    "Transition",
    "build_setup",
    "confirms",
    "is_pivot_high",
    "is_pivot_low",
    "pivot_stop",
    "record_from_json",
    "record_to_json",
]
