"""Running plugin code safely: every callback guarded, timed, and interruptible.

Strategies run on the engine's loop thread, like every other bus handler, so a
replay or backtest stays deterministic and a strategy sees events in the same
order as the risk gate. The price is that a callback that never returns (an
infinite loop) would freeze the app. The ``Watchdog`` prevents that: a daemon
thread looks at the callback in progress a few times a second and, once it has
overrun the hard limit, raises ``StrategyInterrupted`` inside it with
``PyThreadState_SetAsyncExc``. Python delivers that between two bytecodes, so a
loop in Python code stops within one poll; code blocked inside a C call (a long
``time.sleep``, a socket read) is interrupted when the call returns.
``StrategyInterrupted`` derives from BaseException so a plugin's
``except Exception`` cannot swallow it; the watchdog raises it again on each
poll if a bare ``except:`` does.

The guard costs two clock reads and a few attribute writes per callback (see
bench/strategies.py for the measured overhead).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)



def _raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Ask the thread to raise ``exc_type`` at its next bytecode; None withdraws the ask."""
    exc = ctypes.py_object(exc_type) if exc_type is not None else None  # None: NULL
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


class StrategyInterrupted(BaseException):
    """Raised inside plugin code that overran its hard time limit."""


@dataclass(slots=True)
class CallStats:
    """Timing of one callback of one instance."""

    calls: int = 0
    total_ns: int = 0
    max_ns: int = 0
    slow: int = 0  # calls over the slow threshold

    @property
    def mean_ms(self) -> float:
        return self.total_ns / self.calls / 1e6 if self.calls else 0.0

    @property
    def max_ms(self) -> float:
        return self.max_ns / 1e6


class Watchdog:
    """Interrupts the guarded call in progress once it overruns ``hard_limit_s``.

    The guarded code announces itself by setting ``running`` to a
    ``(start_ns, thread_id)`` tuple and clears it when done: one attribute write
    each way, no lock (the GIL makes the swap atomic).
    """

    def __init__(self, hard_limit_s: float, poll_s: float = 0.05) -> None:
        self.hard_limit_ns = int(hard_limit_s * 1e9)
        self.poll_s = poll_s
        self.running: tuple[int, int] | None = None
        self.fired: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="strategy-watchdog",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            running = self.running
            if running is None or time.perf_counter_ns() - running[0] < self.hard_limit_ns:
                continue
            if self.running is running:  # still the same call
                self.fired = running
                _raise_in(running[1], StrategyInterrupted)

    def disarm(self) -> None:
        """Drop an interrupt that was raised just as the call returned, so it cannot land
        in the engine's own code. Called by the guard only after the watchdog fired."""
        fired, self.fired = self.fired, None
        if fired is not None:
            _raise_in(fired[1], None)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Guard a block that is not on the hot path (a plugin file's import)."""
        self.running = (time.perf_counter_ns(), threading.get_ident())
        try:
            yield
        finally:
            self.running = None
            if self.fired is not None:
                self.disarm()
