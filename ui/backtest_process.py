"""A backtest (and an optimisation, walk-forward or challenge) run by the ``bracket`` command
in a child process (QProcess), so the GUI stays responsive and Cancel can simply kill it:
the command stores its result only when it completes (one transaction), so a killed run
leaves nothing behind.

The command's contract: with ``--progress json`` stdout carries one JSON object per line,
``{"progress": {"bars": n, "total": N, "eta_s": x}}`` repeatedly, then
``{"run_id": ID, "summary": "..."}``; bad arguments give one ``bracket: ...`` line on stderr
and exit code 2.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ui import theme

ERROR_PREFIX = "bracket: "
BAD_ARGUMENTS = 2
FILL_MODELS = {"next_open": "next-open", "close": "close"}  # BacktestSettings -> CLI


def bracket_command() -> list[str]:
    """How to run this Bracket's command line: the bundle's executable when frozen."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "workstation"]


def param_text(value: object) -> str:
    """A parameter value as the strategy spec spells it (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """What the New backtest dialog asks for: one ``bracket backtest`` command line."""

    strategy: str
    symbols: tuple[str, ...]
    params: dict[str, Any]
    timeframe: str
    start: date
    end: date
    data: str  # "sim", "store" or a file's path
    cash: float = 100_000.0
    fill: str = "next_open"  # "next_open" | "close"
    slippage_ticks: int = 0
    slippage_bps: float = 0.0
    commission: float | None = None  # None: the paper broker's default
    seed: int | None = None
    break_even_r: float | None = None  # None: the paper account's; 0: never

    def strategy_spec(self) -> str:
        """``NAME[@SYM,SYM][:key=value,...]``."""
        spec = self.strategy
        if self.symbols:
            spec += "@" + ",".join(self.symbols)
        if self.params:
            spec += ":" + ",".join(f"{k}={param_text(v)}" for k, v in self.params.items())
        return spec

    def arguments(self, home: Path) -> list[str]:
        """The command's arguments after ``bracket``."""
        args = ["backtest", "--home", str(home), "--strategy", self.strategy_spec(),
                "--timeframe", self.timeframe, "--from", self.start.isoformat(),
                "--to", self.end.isoformat(), "--data", self.data, "--cash", f"{self.cash:g}",
                "--fill", FILL_MODELS[self.fill], "--slippage-ticks", str(self.slippage_ticks),
                "--slippage-bps", f"{self.slippage_bps:g}"]
        if self.commission is not None:
            args += ["--commission", f"{self.commission:g}"]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.break_even_r is not None:
            args += ["--break-even-r", f"{self.break_even_r:g}"]
        return [*args, "--progress", "json"]


class CommandProcess(QObject):
    """One ``bracket`` command at a time in a child process, reading its ``--progress json``
    lines. Signals: ``line(dict)`` for every JSON object it prints, ``completed(dict)``
    with the last object holding ``result_key`` when the command exits 0, ``failed(message)``
    and ``canceled()``. ``what`` names the work in messages ("backtest", "optimisation")."""

    line = Signal(object)
    completed = Signal(object)
    failed = Signal(str)
    canceled = Signal()

    def __init__(self, result_key: str, what: str, command: list[str] | None = None,
                 parent: QObject | None = None) -> None:
        """``command``: the program and its first arguments (default: this Bracket's)."""
        super().__init__(parent)
        self.result_key = result_key
        self.what = what
        self._command = command if command is not None else bracket_command()
        self._process: QProcess | None = None
        self._stdout = b""
        self._stderr = b""
        self._result: dict[str, Any] | None = None
        self._canceling = False

    @property
    def running(self) -> bool:
        return self._process is not None

    def pid(self) -> int:
        """The child's process id (0 when none runs, or before it has started)."""
        return int(self._process.processId()) if self._process is not None else 0

    def start(self, arguments: list[str]) -> None:
        if self._process is not None:
            raise RuntimeError(f"a {self.what} is already running")
        self._stdout = self._stderr = b""
        self._result = None
        self._canceling = False
        process = QProcess(self)
        process.setProgram(self._command[0])
        process.setArguments([*self._command[1:], *arguments])
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        process.start()

    def cancel(self) -> None:
        """Kill the command (it stores nothing until it completes)."""
        if self._process is None:
            return
        self._canceling = True
        self._process.kill()

    def wait_stopped(self, msecs: int = 5_000) -> None:
        """Kill and reap the child (the window is closing: leave no process behind)."""
        process = self._process
        if process is not None:
            self.cancel()
            process.waitForFinished(msecs)

    def _read_stdout(self) -> None:
        assert self._process is not None
        self._stdout += bytes(self._process.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            self._line(line)

    def _read_stderr(self) -> None:
        assert self._process is not None
        self._stderr += bytes(self._process.readAllStandardError().data())

    def _line(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return  # not ours (a stray print): the contract lines are JSON
        if not isinstance(message, dict):
            return
        if self.result_key in message:
            self._result = message
        self.line.emit(message)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart:
            self._done()
            self.failed.emit(f"The {self.what} could not start ({self._command[0]}): "
                             "check the installation")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._process is None:
            return
        self._read_stdout()
        self._read_stderr()
        if self._stdout.strip():
            self._line(self._stdout)
        self._done()
        if self._canceling:
            self.canceled.emit()
        elif status is QProcess.ExitStatus.NormalExit and code == 0 and self._result:
            self.completed.emit(self._result)
        else:
            self.failed.emit(self._failure(code, status))

    def _failure(self, code: int, status: QProcess.ExitStatus) -> str:
        lines = [line.strip() for line in self._stderr.decode("utf-8", "replace").splitlines()
                 if line.strip()]
        said = next((line.removeprefix(ERROR_PREFIX) for line in lines
                     if line.startswith(ERROR_PREFIX)), lines[-1] if lines else "")
        if status is QProcess.ExitStatus.NormalExit and code == BAD_ARGUMENTS and said:
            return said
        if status is QProcess.ExitStatus.NormalExit and code == 0:
            return f"The {self.what} ended without a result"
        how = "crashed" if status is QProcess.ExitStatus.CrashExit else f"exit code {code}"
        return f"The {self.what} failed ({how})" + (f": {said}" if said else "")

    def _done(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()


class BacktestProcess(CommandProcess):
    """``bracket backtest``. Signals (besides CommandProcess's): ``progress(bars, total,
    eta_s)``, ``finished(run_id, summary)``."""

    progress = Signal(int, int, float)
    finished = Signal(int, str)

    def __init__(self, command: list[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__("run_id", "backtest", command, parent)
        self.line.connect(self._on_line)
        self.completed.connect(lambda m: self.finished.emit(int(m["run_id"]),
                                                            str(m.get("summary", ""))))

    def _on_line(self, message: dict[str, Any]) -> None:
        progress = message.get("progress")
        if isinstance(progress, dict):
            self.progress.emit(int(progress.get("bars") or 0), int(progress.get("total") or 0),
                               float(progress.get("eta_s") or 0.0))


def eta_text(seconds: float) -> str:
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunProgress(QWidget):
    """A running command: a bar of work done of the total, a line of text, and Cancel
    (which kills the child: it stores nothing)."""

    def __init__(self, process: CommandProcess, name: str, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Progress")
        self._process = process
        self.bar = QProgressBar(self)
        self.bar.setObjectName(f"{name}ProgressBar")
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(14)
        self.label = QLabel("Starting…", self)
        self.label.setObjectName(f"{name}ProgressText")
        self.label.setFont(theme.MONO)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName(f"{name}Cancel")
        self.cancel_button.setToolTip(f"Stop the {process.what}: nothing of it is stored")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(process.cancel)
        self.hide()

    def begin(self, what: str) -> None:
        self.bar.setRange(0, 0)  # busy until the first figures arrive
        self.label.setText(f"Starting {what}…")
        self.show()

    def show_done(self, done: int, total: int, text: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        self.label.setText(text)


class BacktestProgress(RunProgress):
    """A running backtest: bars processed of the total, its ETA, and Cancel."""

    def __init__(self, process: BacktestProcess, parent: QWidget | None = None) -> None:
        super().__init__(process, "backtest", parent)
        process.progress.connect(self.show_progress)

    def show_progress(self, bars: int, total: int, eta_s: float) -> None:
        if total > 0:
            self.show_done(bars, total, f"{bars:,} / {total:,} bars · ETA {eta_text(eta_s)}")
        else:
            self.label.setText(f"{bars:,} bars")
