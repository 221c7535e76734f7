"""A plugin that freezes the engine for good, end to end (issue 11 item 7): the real app
in a subprocess is ended with a clear exit, and the next start runs with that instance
disabled and the reason shown.

Two freezes no in-thread interrupt can end: a loop inside a bare ``except:`` (the
watchdog thread sees it and ends the app, exit code 70) and an endless C call that holds
the interpreter (the watchdog thread itself is starved; faulthandler ends the app, exit
code 1, and leaves the stack that names the instance).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workstation.strategies.guard import FREEZE_EXIT_CODE

pytestmark = pytest.mark.e2e

SPIN = """
    import itertools
    from workstation.strategy import Strategy

    class Spin(Strategy):
        name = "Spin"
        symbols = ("NQ",)

        def on_bar(self, bar):
            self.state["bars"] = self.state.get("bars", 0) + 1
            if self.state["bars"] >= 3:
                {freeze}
"""
C_CALL = "sum(itertools.repeat(1))"
BARE_EXCEPT = """while True:
                    try:
                        while True:
                            pass
                    except:  # noqa: E722 - the point of the test
                        pass"""


def bracket(home: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BRACKET_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "workstation", "--home", str(home), "run", "--headless",
         "--account", "Desk", "--no-demo", *args],  # both runs trade the same account
        env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("freeze", "exit_code", "said"), [
    (BARE_EXCEPT, FREEZE_EXIT_CODE, "on_bar froze the engine (spin.py line 14)"),
    (C_CALL, 1, "on_bar froze the engine (spin.py line 12) inside a call that held the "
                "interpreter: the app was ended"),
], ids=["bare-except", "c-call"])
def test_a_frozen_plugin_ends_the_app_and_the_next_start_runs_without_it(
        tmp_path, freeze, exit_code, said):
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "spin.py").write_text(
        textwrap.dedent(SPIN).replace("{freeze}", freeze), encoding="utf-8")
    (home / "settings.toml").write_text(
        "[strategies]\nhard_limit_s = 0.5\nfreeze_exit_s = 1.0\n", encoding="utf-8")

    frozen = bracket(home, "--start", "2026-11-02", "--seconds", "36000", "--strategy",
                     "Spin@NQ", timeout=240)

    assert frozen.returncode == exit_code, frozen.stderr[-2000:]
    if exit_code == FREEZE_EXIT_CODE:
        assert f"bracket: strategy instance spin-nq: {said} (" in frozen.stderr
        assert "s, not ended by the interrupt): the app was ended (exit code 70)" \
            in frozen.stderr

    again = bracket(home, "--seconds", "600", "--strategy", "Spin@NQ",
                    "--report", str(tmp_path / "report.json"), timeout=240)

    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (spin,) = [s for s in report["strategies"] if s["id"] == "spin-nq"]
    assert spin["status"] == "error"
    assert spin["reason"].startswith(said)
    assert spin["bars"] == 0
    with sqlite3.connect(home / "bracket.sqlite") as conn:
        stored = conn.execute("SELECT status, reason FROM strategy_instances "
                              "WHERE instance_id = 'spin-nq'").fetchone()
    assert stored[0] == "error" and stored[1].startswith(said)
    assert not (home / "plugin-freeze.trace").exists()
    assert not (home / "plugin-freeze.json").exists()
