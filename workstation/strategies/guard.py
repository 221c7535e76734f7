"""Running plugin code safely: every callback guarded, timed, interruptible, and bounded.

Strategies run in-process on the engine's loop thread, like every other bus
handler, so a replay or backtest stays deterministic and fast and a strategy sees
events in the same order as the risk gate. What that costs, and how each risk is
held:

- An exception of any kind (``BaseException``: ``SystemExit``, ``KeyboardInterrupt``,
  ``GeneratorExit`` included) is caught by the guard in ``StrategyContext.call``;
  an exit or an interrupt disables the instance at once. (A Ctrl-C that happens to
  land while plugin code runs is therefore taken as that plugin's, and disables it;
  the next Ctrl-C stops the run.)
- ``os._exit`` cannot be caught, so while watchdogs run, ``os._exit`` and
  ``posix._exit`` are replaced by a function that raises ``PluginExit`` when it is
  called inside a guarded call on the guarded thread, and exits as usual anywhere
  else. The loader also refuses files that call ``os._exit``, ``os.kill``,
  ``os.abort``, ``signal.*`` or import ``ctypes`` (see ``loader.forbidden_calls``).
  This is a seatbelt, not a sandbox: plugin code runs with the app's rights, and
  ``ctypes`` reached indirectly (through another library), ``os.system("kill ...")``
  or a C extension can still end or corrupt the process.
- A loop in Python code is stopped by ``StrategyInterrupted``, raised inside it by
  the watchdog thread (``PyThreadState_SetAsyncExc``) once it overruns the hard
  limit; it derives from BaseException so ``except Exception`` cannot swallow it,
  and it is raised again on each poll if a bare ``except:`` does.
- A call that still has not returned ``freeze_exit_s`` after the interrupt (a loop
  in a bare ``except:``, a C call that never ends) means the engine is frozen for
  good. The watchdog then logs CRITICAL with the instance, callback and plugin line,
  records the instance as disabled (its own short sqlite3 connection; a marker file
  beside the database if that fails) and ends the process with exit code 70
  (``FREEZE_EXIT_CODE``) and a message on stderr. Ending is the right call: every
  order, fill and trade is already durable (a ``kill -9`` restart is safe), and a
  frozen trading workstation is worse than a restarted one; the next start brings
  the instance back disabled, with the reason.
- A C call that holds the GIL (``sum(itertools.repeat(1))``) stops every Python
  thread, this watchdog included. For that case ``faulthandler``'s C thread, re-armed
  by the watchdog on every poll, fires once the watchdog itself has been starved for
  longer than the freeze limit: it writes every thread's stack to
  ``plugin-freeze.trace`` beside the database and ends the process (exit code 1, the
  only one faulthandler can give). The guarded call runs under a code name that
  carries the instance id (``context.CALL_PREFIX``), so the next start reads from
  that trace which instance froze, and where.
- Memory: the watchdog samples the process RSS on every poll. While it is more than
  half of ``max_memory_mb`` above its baseline, the guard meters each call (RSS before
  and after) and charges the growth to the instance; an instance charged more than
  ``max_memory_mb`` is disabled, and a single call that grows past it is interrupted.

Off the metered path the guard costs two clock reads and a few attribute writes per
callback (bench/strategies.py prints the figure).
"""

from __future__ import annotations

import ctypes
import faulthandler
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn, Protocol

log = logging.getLogger(__name__)

FREEZE_EXIT_CODE = 70  # EX_SOFTWARE: the engine was ended because a plugin froze it
TRACE_FILE = "plugin-freeze.trace"
CALL_PREFIX = "strategy_call__"  # + instance id: the guarded call's code name in a trace
_real_exit = os._exit
_watchdogs: list[Watchdog] = []  # started, for the os._exit replacement


class StrategyInterrupted(BaseException):
    """Raised inside plugin code that overran its hard time limit or memory limit."""


class PluginExit(BaseException):
    """Raised in place of ``os._exit`` called from plugin code."""


class Caller(Protocol):
    """What the watchdog needs of the instance whose call it watches."""

    instance_id: str
    memory_charged: int

    def plugin_path(self) -> Path: ...


@dataclass(slots=True)
class FileImport:
    """The caller while a plugin file is imported (no instance yet)."""

    path: Path
    instance_id: str = ""
    memory_charged: int = 0

    def plugin_path(self) -> Path:
        return self.path


# (start ns, thread id, the instance, the callback name)
Running = tuple[int, int, Caller, str]


def describe_exit(exc: BaseException) -> str:
    """What plugin code did to try to end the process, for a reason line."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({'' if exc.code is None else repr(exc.code)})"
    if isinstance(exc, PluginExit):
        return str(exc)
    return f"raised {type(exc).__name__}"


def _raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Ask the thread to raise ``exc_type`` at its next bytecode; None withdraws the ask."""
    exc = ctypes.py_object(exc_type) if exc_type is not None else None  # None: NULL
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


def _guarded_exit(code: int) -> NoReturn:
    """``os._exit`` while watchdogs run: plugin code gets PluginExit, anyone else exits."""
    me = threading.get_ident()
    for watchdog in _watchdogs:
        running = watchdog.running
        if running is not None and running[1] == me:
            raise PluginExit(f"called os._exit({code})")
    _real_exit(code)


def _install_exit_guard() -> None:
    os._exit = _guarded_exit
    posix = sys.modules.get("posix")
    if posix is not None:
        posix._exit = _guarded_exit


def _remove_exit_guard() -> None:
    os._exit = _real_exit
    posix = sys.modules.get("posix")
    if posix is not None:
        posix._exit = _real_exit


class _Rss:
    """The process's resident memory in bytes (Linux: /proc/self/statm; elsewhere the peak
    from getrusage, which only grows; None where neither exists)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._page = 4096
        try:
            self._fd = os.open("/proc/self/statm", os.O_RDONLY)
            self._page = os.sysconf("SC_PAGE_SIZE")
        except (OSError, AttributeError, ValueError):
            self._fd = None

    def __call__(self) -> int | None:
        if self._fd is not None:
            return int(os.pread(self._fd, 64, 0).split()[1]) * self._page
        try:
            import resource
        except ImportError:
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


rss = _Rss()


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


FreezeRecorder = Callable[[str, str], None]  # (instance id, reason), on the watchdog thread


class Watchdog:
    """Interrupts the guarded call in progress once it overruns ``hard_limit_s``, ends the
    process if it is still running ``freeze_exit_s`` later, and bounds plugin memory.

    The guarded code announces itself by setting ``running`` to a ``Running`` tuple and
    clears it when done: one attribute write each way, no lock (the GIL makes the swap
    atomic).
    """

    def __init__(self, hard_limit_s: float, poll_s: float = 0.05, *,
                 freeze_exit_s: float = 20.0, max_memory_mb: float = 1024.0) -> None:
        self.hard_limit_ns = int(hard_limit_s * 1e9)
        self.freeze_ns = int(freeze_exit_s * 1e9)
        self.max_memory = int(max_memory_mb * 2**20)
        self.poll_s = poll_s
        self.running: Running | None = None
        self.fired: Running | None = None
        self.interrupt_reason = ""  # why the last interrupt was raised, if not time
        self.metering = False  # memory is high: the guard measures each call
        self.database: Path | None = None  # where a freeze is recorded (set by the host)
        self.record_freeze: FreezeRecorder | None = None
        self._baseline: int | None = None
        self._seen: tuple[Running, int] | None = None  # a running call, RSS when first seen
        self._trace: IO[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_limits(self, *, freeze_exit_s: float, max_memory_mb: float) -> None:
        """The freeze and memory limits from the settings (before ``start``)."""
        self.freeze_ns = int(freeze_exit_s * 1e9)
        self.max_memory = int(max_memory_mb * 2**20)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._baseline = rss()
            self._open_trace()
            # armed now, on this thread: a plugin that spins in C before the watchdog
            # thread first runs would otherwise starve it before it could arm (seen: a
            # test hung under load)
            self._arm_starvation_exit()
            if not _watchdogs:
                _install_exit_guard()
            _watchdogs.append(self)
            self._thread = threading.Thread(target=self._watch, name="strategy-watchdog",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
            _watchdogs.remove(self)
            if not _watchdogs:
                _remove_exit_guard()
            if self._trace is not None:  # its file is about to close; others re-arm
                faulthandler.cancel_dump_traceback_later()
            self._close_trace()

    # -- the watchdog thread ---------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._arm_starvation_exit()
            running = self.running
            if self.max_memory:
                self._check_memory(running)
            if running is None:
                continue
            elapsed = time.perf_counter_ns() - running[0]
            if elapsed < self.hard_limit_ns or self.running is not running:
                continue
            if elapsed >= self.hard_limit_ns + self.freeze_ns:
                self._end_frozen(running)
            self.fired = running
            _raise_in(running[1], StrategyInterrupted)

    def _arm_starvation_exit(self) -> None:
        """faulthandler's C thread ends the process if this thread cannot run (the GIL
        held by a C call) for longer than the hard limit and the freeze limit together."""
        if self._trace is None:
            return
        timeout = (self.hard_limit_ns + self.freeze_ns) / 1e9 + 1.0 + 4 * self.poll_s
        faulthandler.dump_traceback_later(timeout, exit=True, file=self._trace)

    def _open_trace(self) -> None:
        if self.database is not None and self._trace is None:
            try:
                self._trace = open(self.database.parent / TRACE_FILE, "a",  # noqa: SIM115
                                   encoding="utf-8")
            except OSError as exc:
                log.warning("cannot open %s (%s): a frozen C call would not be traced",
                            TRACE_FILE, exc.strerror)

    def _close_trace(self) -> None:
        if self._trace is None:
            return
        path = Path(self._trace.name)
        self._trace.close()
        self._trace = None
        try:
            if path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass

    def _check_memory(self, running: Running | None) -> None:
        now = rss()
        if now is None or self._baseline is None:
            return
        self._baseline = min(self._baseline, now)
        grown = now - self._baseline
        if not self.metering and grown > self.max_memory // 2:
            self.metering = True
            log.warning("memory is %.0f MB above its start: metering plugin calls",
                        grown / 2**20)
        elif self.metering and grown < self.max_memory // 4:
            self.metering = False
        if running is None:
            self._seen = None
            return
        if self._seen is None or self._seen[0] is not running:
            self._seen = (running, now)
            return
        caller = running[2]
        during = now - self._seen[1]
        if caller.memory_charged + during > self.max_memory and self.running is running:
            self.interrupt_reason = (f"{running[3]} grew memory by {during / 2**20:.0f} MB "
                                     f"(limit {self.max_memory / 2**20:g} MB): interrupted")
            self.fired = running
            _raise_in(running[1], StrategyInterrupted)

    def _end_frozen(self, running: Running) -> NoReturn:
        start, thread_id, caller, name = running
        seconds = (time.perf_counter_ns() - start) / 1e9
        where = _plugin_line(thread_id, caller.plugin_path())
        reason = (f"{name} froze the engine{where} ({seconds:.0f} s, not ended by the "
                  "interrupt): the app was ended")
        who = (f"strategy instance {caller.instance_id}" if caller.instance_id
               else f"plugin {caller.plugin_path().name}")
        log.critical("%s: %s", who, reason)
        if self.record_freeze is not None and caller.instance_id:
            try:
                self.record_freeze(caller.instance_id, reason)
            except Exception:  # the exit below must happen regardless
                log.exception("could not record the frozen instance")
        try:  # a windowed app may have no stderr
            sys.stderr.write(f"bracket: {who}: {reason} (exit code {FREEZE_EXIT_CODE})\n")
            sys.stderr.flush()
            logging.shutdown()
        finally:
            _real_exit(FREEZE_EXIT_CODE)

    # -- the engine thread -----------------------------------------------------------------
    def disarm(self) -> None:
        """Drop an interrupt that was raised just as the call returned, so it cannot land
        in the engine's own code. Called by the guard only after the watchdog fired."""
        fired, self.fired = self.fired, None
        if fired is not None:
            _raise_in(fired[1], None)

    def take_reason(self) -> str:
        reason, self.interrupt_reason = self.interrupt_reason, ""
        return reason

    @contextmanager
    def watching(self, caller: Caller, name: str) -> Iterator[None]:
        """Guard a block that is not on the hot path (a plugin file's import)."""
        self.running = (time.perf_counter_ns(), threading.get_ident(), caller, name)
        try:
            yield
        finally:
            self.running = None
            if self.fired is not None:
                self.disarm()


def _plugin_line(thread_id: int, path: Path) -> str:
    """' (file line N)': the deepest line of the plugin file the thread is running."""
    frame = sys._current_frames().get(thread_id)
    line = None
    while frame is not None:
        if frame.f_code.co_filename == str(path):
            line = frame.f_lineno
            break
        frame = frame.f_back
    return f" ({path.name} line {line})" if line else ""
