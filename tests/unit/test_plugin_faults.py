"""Hostile plugins in a real engine (issue 11, items 3, 6, 7, 8): no plugin ends the app,
whatever it raises or calls, at import or in any callback; a position a plugin opens is
protected before the plugin sees its fill; memory and failures are bounded per instance.

Plugins are written into tmp_path; the engine has a real SQLite store; bars are hand-built
(see strategy_desk.py). The freeze that ends the process is tested in a subprocess
(tests/e2e/test_plugin_faults.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.unit.strategy_desk import StrategyDesk, desk_settings, instance, write_plugin
from workstation.orders import OrderStatus
from workstation.strategies.freeze import read_trace
from workstation.strategies.guard import CALL_PREFIX
from workstation.strategies.host import OnStop
from workstation.strategies.instances import InstanceStatus

RECORDER = """
    from workstation.strategy import Strategy

    class Recorder(Strategy):
        name = "Recorder"

        def on_bar(self, bar):
            self.state.setdefault("closes", []).append(bar.close)
"""


def run(scenario):
    return asyncio.run(scenario)


def open_desk(tmp_path: Path, *instances, **settings) -> StrategyDesk:
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins",
                        settings=desk_settings(**settings), instances=list(instances))


def exiting_plugin(callback: str, statement: str) -> str:
    """A strategy that runs ``statement`` in ``callback`` (line 11 of its file) and buys on
    every bar, so that it has fills and order updates."""
    buying = """
            def on_bar(self, bar):
                self.buy(bar.symbol, 1)
    """
    return f"""
        import os, sys
        from workstation.strategy import Strategy

        class Exits(Strategy):
            name = "Exits"
            wants_ticks = True

            def {callback}(self, *args):
                {"self.buy(args[0].symbol, 1)" if callback == "on_bar" else "pass"}
                {statement}
    """ + ("" if callback == "on_bar" else buying)


# -- exits at run time --------------------------------------------------------------------------
@pytest.mark.parametrize(("callback", "statement", "said"), [
    ("on_bar", "sys.exit(3)", "called sys.exit(3) in on_bar (exits.py line 11)"),
    ("on_start", "sys.exit()", "called sys.exit() in on_start (exits.py line 11)"),
    ("on_tick", "raise KeyboardInterrupt",
     "raised KeyboardInterrupt in on_tick (exits.py line 11)"),
    ("on_fill", "raise GeneratorExit", "raised GeneratorExit in on_fill (exits.py line 11)"),
    ("on_order_update", "raise SystemExit('bye')",
     "called sys.exit('bye') in on_order_update (exits.py line 11)"),
    # getattr: past the loader's static check, so the run-time guard is what stops it
    ("on_bar", "getattr(os, '_exit')(4)", "called os._exit(4) in on_bar (exits.py line 11)"),
])
def test_a_plugin_that_tries_to_end_the_app_is_disabled_and_the_app_goes_on(
        tmp_path, callback, statement, said):
    write_plugin(tmp_path / "plugins", "exits.py", exiting_plugin(callback, statement))
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("x", "Exits"), instance("rec", "Recorder")
                               ).start()
        desk.trade(21_000.0)
        desk.bars([21_000.0, 21_001.0])
        desk.trade(21_001.0)
        await desk.stop()
        return desk

    desk = run(scenario())
    assert (desk.ctx("x").status, desk.ctx("x").reason) == (InstanceStatus.ERROR, said)
    assert desk.ctx("rec").state["closes"] == [21_000.0, 21_001.0]
    assert os._exit.__name__ == "_exit"  # the guard's replacement is gone once stopped


def bracketed_plugin(name: str, after_fill: str = "pass") -> str:
    """A strategy that buys once with a stop and a target and, in on_fill, records which of
    its orders are working, then runs ``after_fill`` (line 16 of the file)."""
    return f"""
        import sys
        from workstation.strategy import Strategy

        class {name}(Strategy):
            name = "{name}"

            def on_bar(self, bar):
                if not self.state.get("sent"):
                    self.state["sent"] = True
                    self.buy(bar.symbol, 1, stop_loss=bar.close - 10, take_profit=bar.close + 20)

            def on_fill(self, fill):
                self.state["working_at_fill"] = sorted(
                    o.intent.client_order_id for o in self.working_orders())
                {after_fill}
    """


def test_a_plugin_exiting_in_on_fill_of_a_bracket_entry_leaves_its_stop_and_target_working(
        tmp_path):
    write_plugin(tmp_path / "plugins", "bracketed.py",
                 bracketed_plugin("Bracketed", after_fill="sys.exit(3)"))

    async def scenario():
        desk = await open_desk(tmp_path, instance("b", "Bracketed")).start()
        desk.trade(21_000.0)
        desk.bar(0, 21_000, 21_001, 20_999, 21_000)
        desk.trade(21_002.0)  # the app carries on: the market moves, nothing triggers
        working = sorted((o.intent.client_order_id, o.intent.type.value, o.stop_price,
                          o.limit_price) for o in desk.engine.broker.open_orders())
        entry = [u.status for u in desk.updates if u.intent.client_order_id == "b-1"]
        await desk.stop()
        return desk, working, entry

    desk, working, entry = run(scenario())
    ctx = desk.ctx("b")
    assert ctx.state["working_at_fill"] == ["b-1-SL", "b-1-TP"]  # legs placed before on_fill
    assert (ctx.status, ctx.reason) == (InstanceStatus.ERROR,
                                        "called sys.exit(3) in on_fill (bracketed.py line 16)")
    assert entry == [OrderStatus.ACCEPTED, OrderStatus.FILLED]
    assert working == [("b-1-SL", "stop", 20_990.0, None), ("b-1-TP", "limit", None, 21_020.0)]
    assert desk.engine.portfolio.position("NQ") == 1.0


def test_a_fill_after_order_latency_reaches_the_plugin_after_its_legs_are_placed(tmp_path):
    """With latency the entry fills from a clock timer, outside any publish: the plugin
    must still see its stop and target working when it hears of the fill."""
    write_plugin(tmp_path / "plugins", "watcher.py", bracketed_plugin("Watcher"))
    settings = desk_settings()
    settings = settings.model_copy(update={"paper": settings.paper.model_copy(update={
        "fills": settings.paper.fills.model_copy(update={"latency_ms": 500.0})})})

    async def scenario():
        desk = await StrategyDesk(tmp_path / "home", tmp_path / "plugins", settings=settings,
                                  instances=[instance("w", "Watcher")]).start()
        desk.trade(21_000.0)
        desk.bar(0, 21_000, 21_001, 20_999, 21_000)  # the entry is sent, active in 0.5 s
        desk.trade(21_001.0)  # a second later: the timer activates and fills it
        await desk.stop()
        return desk

    desk = run(scenario())
    assert desk.engine.portfolio.position("NQ") == 1.0
    assert desk.ctx("w").state["working_at_fill"] == ["w-1-SL", "w-1-TP"]


# -- exits and forbidden calls at import -------------------------------------------------------
def test_a_file_exiting_at_import_is_listed_and_the_others_load(tmp_path):
    plugins = tmp_path / "plugins"
    write_plugin(plugins, "quits.py", "import sys\nif True:\n    raise SystemExit(3)\n")
    write_plugin(plugins, "interrupts.py", "raise KeyboardInterrupt\n")
    write_plugin(plugins, "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path).start()
        await desk.stop()
        return desk.engine.report()["plugins"]

    assert run(scenario()) == {"loaded": ["Recorder"], "errors": [
        {"file": "interrupts.py", "line": 1,
         "message": "raised KeyboardInterrupt while importing"},
        {"file": "quits.py", "line": 3, "message": "called sys.exit(3) while importing"}]}


def test_a_file_saved_with_an_exit_at_import_while_running_keeps_the_old_version(tmp_path):
    path = write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("rec", "Recorder")).start()
        desk.bars([1.0])
        path.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
        await desk.host.reload_file(path)  # what the folder watcher calls
        path.write_text("raise SystemExit(3)\n", encoding="utf-8")
        await desk.host.reload_file(path)
        desk.bars([2.0], first_minute=1)
        problems = [str(p) for p in desk.host.problems]
        await desk.stop()
        return desk, problems

    desk, problems = run(scenario())
    assert problems == ["recorder.py line 1: called sys.exit(3) while importing",
                        "recorder.py: the previous version keeps running"]
    assert desk.ctx("rec").status is InstanceStatus.RUNNING
    assert desk.ctx("rec").state["closes"] == [1.0, 2.0]


def test_calls_no_guard_can_catch_are_refused_with_their_line(tmp_path):
    write_plugin(tmp_path / "plugins", "hostile.py", """
        import os
        import ctypes
        import signal as sig
        from os import _exit as leave
        import sys

        sys.exit(0)

        class Hostile:
            def later(self):
                os._exit(1)
                os.kill(os.getpid(), 9)
                sig.alarm(1)
                sys.exit(2)  # allowed: caught at run time
    """)

    async def scenario():
        desk = await open_desk(tmp_path).start()
        await desk.stop()
        return [str(p) for p in desk.host.problems]

    assert run(scenario()) == [
        "hostile.py line 3: imports ctypes, which plugins may not use",
        "hostile.py line 4: imports signal, which plugins may not use",
        "hostile.py line 5: imports os._exit, which plugins may not use",
        "hostile.py line 8: calls sys.exit() at import; a plugin file may not end the app",
        "hostile.py line 12: calls os._exit, which would end or stop the whole app; "
        "plugins may not",
        "hostile.py line 13: calls os.kill, which would end or stop the whole app; "
        "plugins may not",
        "hostile.py line 14: calls signal.alarm, which would end or stop the whole app; "
        "plugins may not"]


# -- failures and memory ------------------------------------------------------------------------
def test_an_instance_failing_on_every_bar_is_disabled_even_while_its_on_tick_works(tmp_path):
    write_plugin(tmp_path / "plugins", "half.py", """
        from workstation.strategy import Strategy

        class Half(Strategy):
            name = "Half"
            wants_ticks = True

            def on_tick(self, tick):
                self.state["ticks"] = self.state.get("ticks", 0) + 1

            def on_bar(self, bar):
                raise ValueError("no bars for me")
    """)

    async def scenario():
        desk = await open_desk(tmp_path, instance("h", "Half"), max_failures=3).start()
        for minute, price in enumerate([10.0, 11.0, 12.0, 13.0]):
            desk.trade(price)  # a good tick between every failing bar
            desk.bar(minute, price, price, price, price)
        await desk.stop()
        return desk.ctx("h")

    ctx = run(scenario())
    assert (ctx.status, ctx.reason) == (
        InstanceStatus.ERROR,
        "3 failures in a row; last: on_bar: ValueError: no bars for me (half.py line 12)")
    assert ctx.state["ticks"] == 3  # the fourth tick came after it was disabled


HOARDER = """
    from workstation.strategy import Strategy

    class Hoarder(Strategy):
        name = "Hoarder"

        def on_start(self):
            self.hoard = []

        def on_bar(self, bar):
            self.hoard.append(b"\1" * (8 * 2**20))  # 8 MB a bar, kept (and touched)
"""


def test_an_instance_whose_calls_keep_growing_memory_is_disabled(tmp_path):
    write_plugin(tmp_path / "plugins", "hoarder.py", HOARDER)
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("hog", "Hoarder"), instance("rec", "Recorder"),
                               max_memory_mb=48).start()
        hog = desk.ctx("hog")
        minute = 0
        while hog.active and minute < 40:  # 320 MB at most if the guard never acted
            desk.bars([1.0], first_minute=minute)
            minute += 1
            await asyncio.sleep(0.02)  # the watchdog samples memory a few times a second
        await desk.stop()
        return desk

    desk = run(scenario())
    hog = desk.ctx("hog")
    assert hog.status is InstanceStatus.ERROR
    assert hog.reason.startswith("its calls grew memory by ")
    assert hog.reason.endswith(" MB (limit 48 MB; last in on_bar)")
    assert desk.ctx("rec").status is InstanceStatus.RUNNING


def test_a_call_that_grows_memory_without_end_is_interrupted(tmp_path):
    write_plugin(tmp_path / "plugins", "glutton.py", """
        import time
        from workstation.strategy import Strategy

        class Glutton(Strategy):
            name = "Glutton"

            def on_bar(self, bar):
                hoard = []
                while len(hoard) < 400:  # 400 MB if nothing stops it
                    hoard.append(b"\1" * 2**20)
                    time.sleep(0.001)
    """)

    async def scenario():
        desk = await open_desk(tmp_path, instance("g", "Glutton"), max_memory_mb=48,
                               hard_limit_s=30.0).start()
        desk.bars([1.0])
        await desk.stop()
        return desk.ctx("g")

    ctx = run(scenario())
    assert ctx.status is InstanceStatus.ERROR
    assert ctx.reason.startswith("on_bar grew memory by ")
    assert ctx.reason.endswith(" MB (limit 48 MB): interrupted")


# -- stopping an instance that holds a position ------------------------------------------------
BRACKET_BUYER = """
    from workstation.strategy import Strategy

    class BracketBuyer(Strategy):
        name = "BracketBuyer"

        def on_bar(self, bar):
            if not self.state.get("sent"):
                self.state["sent"] = True
                self.buy(bar.symbol, 1, stop_loss=bar.close - 10, take_profit=bar.close + 20)
                self.buy(bar.symbol, 1, limit=bar.close - 50)  # a working entry
"""


@pytest.mark.parametrize(("choice", "position", "working"), [
    (OnStop.FLATTEN, 0.0, []),
    (OnStop.KEEP, 1.0, ["s-1-SL", "s-1-TP", "s-2"]),
    (OnStop.CANCEL, 1.0, ["s-1-SL", "s-1-TP"]),
])
def test_stopping_an_instance_with_a_position_does_what_was_chosen(
        tmp_path, choice, position, working):
    write_plugin(tmp_path / "plugins", "bracket_buyer.py", BRACKET_BUYER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("s", "BracketBuyer")).start()
        desk.trade(21_000.0)
        desk.bar(0, 21_000, 21_001, 20_999, 21_000)
        held = desk.host.holds("s")
        desk.host.stop_instance("s", on_position=choice)
        desk.trade(21_001.0)  # a flatten's market order fills on the next trade
        seen = (held, desk.engine.portfolio.position("NQ"),
                sorted(o.intent.client_order_id for o in desk.engine.broker.open_orders()),
                desk.ctx("s").reason)
        await desk.stop()
        return seen

    held, now_held, now_working, reason = run(scenario())
    assert held is True
    assert (now_held, now_working) == (position, working)
    assert reason == f"stopped by the user ({choice.describe()})"


# -- what a GIL-holding freeze leaves -----------------------------------------------------------
def test_a_faulthandler_dump_names_the_frozen_instance_and_its_plugin_line():
    dump = f"""Timeout (0:00:23)!
Thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait
  File "/app/workstation/strategies/guard.py", line 200 in _watch

Current thread 0x00007f0000000002 (most recent call first):
  File "/home/u/plugins/spin.py", line 12 in helper
  File "/home/u/plugins/spin.py", line 9 in on_bar
  File "/app/workstation/strategies/context.py", line 140 in {CALL_PREFIX}spin-1
  File "/app/workstation/strategies/host.py", line 380 in on_bar
"""
    assert read_trace(dump) == {"spin-1": "on_bar froze the engine (spin.py line 12) inside a "
                                          "call that held the interpreter: the app was ended"}
