"""Strategy plugins in a real engine: discovery, broken files, isolation, instance rules,
persistence across a restart, and the headless report.

Plugins are written into tmp_path; the engine has a real SQLite store; bars are hand-built
(see strategy_desk.py). Hot reload has its own module (test_strategy_reload.py).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from datetime import time
from pathlib import Path

import pytest

from tests.unit.strategy_desk import (
    MINUTE,
    NQ_CLOSE,
    T0,
    StrategyDesk,
    desk_settings,
    instance,
    write_plugin,
)
from workstation.config import DATABASE_FILE
from workstation.model import Direction
from workstation.orders import OrderSide, OrderStatus, OrderType
from workstation.strategies.instances import InstanceError, InstanceRisk, InstanceStatus
from workstation.strategies.loader import plugin_folders

RECORDER = """
    from workstation.strategy import Param, Strategy

    class Recorder(Strategy):
        '''Writes what happens to it into self.state.'''
        name = "Recorder"
        version = "2.1"
        size = Param(1, min=1, max=10, step=1, doc="contracts per order")

        def on_start(self):
            self.state["starts"] = self.state.get("starts", 0) + 1
            self.state["size_at_start"] = self.size

        def on_bar(self, bar):
            self.state.setdefault("closes", []).append(bar.close)
            self.state["warm"] = self.state.get("warm", 0) + (1 if self.warming_up else 0)

        def on_session_close(self, symbol):
            self.state.setdefault("closed", []).append(symbol)

        def on_stop(self):
            self.state["stops"] = self.state.get("stops", 0) + 1
"""

TRADER = """
    from workstation.strategy import Param, Strategy

    class Trader(Strategy):
        '''Buys on a bar that closes up, sells on one that closes down.'''
        name = "Trader"
        size = Param(1, min=1, max=10)

        def on_bar(self, bar):
            if bar.close > bar.open:
                self.state["last"] = self.buy(bar.symbol, self.size) is not None
            elif bar.close < bar.open:
                self.state["last"] = self.sell(bar.symbol, self.size) is not None
"""


def run(scenario):
    return asyncio.run(scenario)


def open_desk(tmp_path: Path, *instances, **settings) -> StrategyDesk:
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins",
                        settings=desk_settings(**settings), instances=list(instances))


# -- discovery ----------------------------------------------------------------------------------
def test_plugins_come_from_the_shipped_folder_and_the_user_folder(tmp_path):
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)

    folders = plugin_folders(home)

    assert folders == [Path(__file__).resolve().parents[2] / "plugins", home / "plugins"]


def test_the_packaged_app_takes_plugins_from_beside_the_executable(tmp_path, monkeypatch):
    app = tmp_path / "Bracket"
    (app / "plugins").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "Bracket.exe"))

    assert plugin_folders(None) == [app / "plugins"]


def test_every_strategy_class_of_every_file_in_each_folder_is_offered(tmp_path):
    shipped, user = tmp_path / "shipped", tmp_path / "home" / "plugins"
    write_plugin(shipped, "recorder.py", RECORDER)
    write_plugin(user, "two.py", """
        from workstation.strategy import Strategy

        class First(Strategy):
            name = "First"

        class Second(Strategy):
            name = "Second"
    """)
    write_plugin(user, "_helpers.py", "raise RuntimeError('helpers are not plugins')\n")

    async def scenario():
        desk = StrategyDesk(tmp_path / "home", shipped, settings=desk_settings())
        desk.host.folders.append(user)
        await desk.start()
        await desk.stop()
        return desk.engine.report()["plugins"]

    assert run(scenario()) == {"loaded": ["First", "Recorder", "Second"], "errors": []}


BROKEN = {
    "syntax.py": ("""
        from workstation.strategy import Strategy

        class Broken(Strategy)
            name = "Broken"
    """, 4, "syntax error: expected ':'"),
    "imports.py": ("""
        import os
        import no_such_package_for_bracket
    """, 3, "import error while importing: No module named 'no_such_package_for_bracket'"),
    "raises.py": ("""
        from workstation.strategy import Strategy

        LIMIT = 10 / 0
    """, 4, "ZeroDivisionError while importing: division by zero"),
    "version.py": ("""
        from workstation.strategy import Strategy


        class FromTheFuture(Strategy):
            name = "Future"
            api_version = 99
    """, 5, "class FromTheFuture declares API version 99; this Bracket supports version 1"),
    "z_duplicate.py": ("""
        from workstation.strategy import Strategy

        class AnotherRecorder(Strategy):
            name = "Recorder"
    """, 4, "duplicate strategy name 'Recorder': already defined in recorder.py line 4"),
}


def test_each_broken_file_is_listed_with_its_line_and_the_others_keep_working(tmp_path):
    plugins = tmp_path / "plugins"
    write_plugin(plugins, "recorder.py", RECORDER)
    for name, (source, _, _) in BROKEN.items():
        write_plugin(plugins, name, source)

    async def scenario():
        desk = await StrategyDesk(tmp_path / "home", plugins, settings=desk_settings(),
                                  instances=[instance("rec", "Recorder")]).start()
        desk.bars([100.0, 101.0])
        await desk.stop()
        return desk

    desk = run(scenario())
    errors = desk.engine.report()["plugins"]["errors"]
    assert sorted(errors, key=lambda e: e["file"]) == [
        {"file": name, "line": line, "message": message}
        for name, (_, line, message) in sorted(BROKEN.items())]
    assert desk.engine.report()["plugins"]["loaded"] == ["Recorder"]
    assert desk.ctx("rec").state["closes"] == [100.0, 101.0]


def test_an_import_that_never_finishes_is_interrupted_and_listed(tmp_path):
    plugins = tmp_path / "plugins"
    write_plugin(plugins, "hangs.py", "while True:\n    pass\n")
    write_plugin(plugins, "recorder.py", RECORDER)

    async def scenario():
        desk = await StrategyDesk(tmp_path / "home", plugins,
                                  settings=desk_settings(hard_limit_s=0.3)).start()
        await desk.stop()
        return desk.engine.report()["plugins"]

    assert run(scenario()) == {
        "loaded": ["Recorder"],
        "errors": [{"file": "hangs.py", "line": None,
                    "message": "import did not finish within 0.3 s"}]}


# -- isolation ----------------------------------------------------------------------------------
FLAKY = """
    from workstation.strategy import Strategy

    class Flaky(Strategy):
        '''Fails on bars that close at or below zero.'''
        name = "Flaky"

        def on_bar(self, bar):
            self.state["seen"] = self.state.get("seen", 0) + 1
            if bar.close <= 0:
                raise ValueError(f"cannot trade a close of {bar.close}")
"""


def test_a_failing_callback_is_counted_and_a_success_resets_the_count(tmp_path):
    write_plugin(tmp_path / "plugins", "flaky.py", FLAKY)

    async def scenario():
        desk = await open_desk(tmp_path, instance("f", "Flaky"), max_failures=3).start()
        desk.bars([0.0, -1.0, 5.0, 0.0, -2.0])  # fail, fail, ok, fail, fail: never 3 in a row
        ctx = desk.ctx("f")
        seen = (ctx.status, ctx.failures, ctx.errors, ctx.last_error)
        await desk.stop()
        return seen

    status, failures, errors, last = run(scenario())
    assert status is InstanceStatus.RUNNING
    assert (failures, errors) == (2, 4)
    assert last == "on_bar: ValueError: cannot trade a close of -2.0 (flaky.py line 11)"


def test_the_third_failure_in_a_row_disables_the_instance_with_the_reason(tmp_path):
    write_plugin(tmp_path / "plugins", "flaky.py", FLAKY)
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("f", "Flaky"), instance("rec", "Recorder"),
                          max_failures=3).start()
        desk.bars([0.0, -1.0, -2.0, -3.0, 4.0])
        await desk.stop()
        return desk

    desk = run(scenario())
    flaky = desk.ctx("f")
    assert flaky.status is InstanceStatus.ERROR
    assert flaky.reason == ("3 failures in a row; last: on_bar: ValueError: cannot trade a "
                            "close of -2.0 (flaky.py line 11)")
    assert flaky.state["seen"] == 3  # not called again once disabled
    assert desk.ctx("rec").state["closes"] == [0.0, -1.0, -2.0, -3.0, 4.0]
    assert desk.engine.bus.errors == 0  # the bus never saw a plugin's exception


STUCK = """
    from workstation.strategy import Strategy

    class Stuck(Strategy):
        name = "Stuck"

        def on_bar(self, bar):
            self.state["entered"] = self.state.get("entered", 0) + 1
            while bar.close > 100:
                pass
"""


def test_a_callback_that_never_returns_is_interrupted_and_its_instance_disabled(tmp_path):
    write_plugin(tmp_path / "plugins", "stuck.py", STUCK)
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("stuck", "Stuck"), instance("rec", "Recorder"),
                          hard_limit_s=0.3).start()
        desk.bars([100.0, 101.0, 102.0])
        await desk.stop()
        return desk

    desk = run(scenario())
    stuck = desk.ctx("stuck")
    assert stuck.status is InstanceStatus.ERROR
    assert stuck.reason == "on_bar did not return within 0.3 s: interrupted"
    assert stuck.state["entered"] == 2  # the 102 bar never reached it
    assert desk.ctx("rec").state["closes"] == [100.0, 101.0, 102.0]
    assert desk.engine.bus.errors == 0


def test_a_disabled_instance_cancels_its_working_entries(tmp_path):
    write_plugin(tmp_path / "plugins", "limit_then_fail.py", """
        from workstation.strategy import Strategy

        class LimitThenFail(Strategy):
            name = "LimitThenFail"

            def on_bar(self, bar):
                if not self.working_orders():
                    self.buy(bar.symbol, 1, limit=bar.close - 10)
                raise RuntimeError("and then it breaks")
    """)

    async def scenario():
        desk = await open_desk(tmp_path, instance("lf", "LimitThenFail"), max_failures=1).start()
        desk.trade(21_000.0)
        desk.bar(0, 21_000, 21_001, 20_999, 21_000)
        await desk.stop()
        return desk

    desk = run(scenario())
    statuses = [(u.limit_price, u.status) for u in desk.updates]
    assert statuses == [(20_990.0, OrderStatus.ACCEPTED), (20_990.0, OrderStatus.CANCELED)]
    assert desk.updates[-1].reason == "lf disabled"


# -- what an instance may do --------------------------------------------------------------------
def test_orders_carry_the_instance_as_their_source_and_fill_through_the_gate(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("t1", "Trader", params={"size": 2})).start()
        desk.trade(21_002.0)  # market orders fill at once against this locked quote
        desk.bar(0, 20_990, 21_003, 20_989, 21_002)  # up: buy 2
        await desk.stop()
        return desk

    desk = run(scenario())
    (fill,) = desk.fills
    assert (fill.side, fill.qty, fill.price, fill.source) == (OrderSide.BUY, 2, 21_002.0, "t1")
    assert desk.fills[0].client_order_id == "t1-1"
    assert desk.ctx("t1").positions == {"NQ": 2.0}


def test_orders_outside_the_trading_window_are_refused_and_logged(tmp_path, caplog):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    # T0 is 15:00 UTC = 09:00 in Chicago (NQ's exchange time); the window opens at 09:30
    window = instance("t1", "Trader", window_start=time(9, 30), window_end=time(15, 0))

    async def scenario():
        desk = await open_desk(tmp_path, window).start()
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)  # 09:01 CT: refused
        desk.trade(21_010.0)
        desk.bar(29, 21_000, 21_011, 20_999, 21_010)  # closes 09:30 CT: inside
        await desk.stop()
        return desk

    desk = run(scenario())
    assert [(f.side, f.price) for f in desk.fills] == [(OrderSide.BUY, 21_010.0)]
    assert desk.ctx("t1").orders_refused == 1
    assert "09:01 America/Chicago is outside the trading window 09:30-15:00" in caplog.text


def test_the_instance_max_position_and_concurrent_positions_refuse_entries(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    limited = instance("t1", "Trader", symbols=("NQ", "ES"), params={"size": 2},
                       risk=InstanceRisk(max_position=3, max_concurrent_positions=1))

    async def scenario():
        desk = await open_desk(tmp_path, limited).start()
        desk.trade(21_000.0)
        desk.trade(6_000.0, symbol="ES")
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)  # buy 2 NQ: position 2
        desk.trade(21_000.0)
        desk.bar(1, 20_990, 21_001, 20_989, 21_000)  # 2 more would be 4 > 3: refused
        desk.bar(1, 5_990, 6_001, 5_989, 6_000, symbol="ES")  # a second position: refused
        desk.bar(2, 21_000, 21_001, 20_989, 20_990)  # sell 2 reduces: allowed
        desk.trade(20_990.0)
        await desk.stop()
        return desk

    desk = run(scenario())
    assert [(f.symbol, f.side, f.qty) for f in desk.fills] == [
        ("NQ", OrderSide.BUY, 2), ("NQ", OrderSide.SELL, 2)]
    assert desk.ctx("t1").orders_refused == 2
    assert desk.ctx("t1").positions == {}


def test_an_entry_without_a_stop_gets_the_instance_stop_and_target_percent(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    pct = instance("t1", "Trader", risk=InstanceRisk(stop_pct=0.1, take_profit_pct=0.25))

    async def scenario():
        desk = await open_desk(tmp_path, pct).start()
        desk.trade(20_000.0)
        desk.bar(0, 19_990, 20_001, 19_989, 20_000)
        desk.trade(20_000.0)
        await desk.stop()
        return desk

    desk = run(scenario())
    bracket = desk.updates[0].intent.bracket
    # last price 20,000: stop 0.1% below = 19,980.00; target 0.25% above = 20,050.00
    assert (bracket.stop_loss, bracket.take_profit) == (19_980.0, 20_050.0)
    legs = {u.type: u.stop_price or u.limit_price for u in desk.updates
            if u.intent.parent_id and u.status is OrderStatus.ACCEPTED}
    assert legs == {OrderType.STOP: 19_980.0, OrderType.LIMIT: 20_050.0}


def test_a_paused_instance_keeps_its_data_but_sends_nothing(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("t1", "Trader"),
                          instance("rec", "Recorder")).start()
        desk.host.pause_instance("t1")
        desk.host.pause_instance("rec")
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)
        await desk.stop()
        return desk

    desk = run(scenario())
    assert desk.updates == []
    assert desk.ctx("t1").state["last"] is False  # buy() returned None
    assert desk.ctx("rec").state["closes"] == [21_000.0]


def test_a_signal_goes_on_the_bus_with_the_instance_as_its_source(tmp_path):
    write_plugin(tmp_path / "plugins", "signaller.py", """
        from workstation.strategy import Strategy

        class Signaller(Strategy):
            name = "Signaller"

            def on_bar(self, bar):
                if bar.close > bar.open:
                    self.emit_signal(bar.symbol, "long", bar, notes="up bar")
    """)

    async def scenario():
        desk = await open_desk(tmp_path, instance("sig", "Signaller")).start()
        first = desk.bar(0, 100, 101, 99, 100)
        second = desk.bar(1, 100, 106, 99, 105)
        await desk.stop()
        return desk, first, second

    desk, _, second = run(scenario())
    (signal,) = desk.signals
    assert (signal.symbol, signal.direction, signal.source, signal.price, signal.bar,
            signal.notes) == ("NQ", Direction.LONG, "sig", 105, second, "up bar")
    assert desk.ctx("sig").last_signal == signal


def test_warm_up_bars_reach_the_strategy_but_send_nothing(tmp_path):
    write_plugin(tmp_path / "plugins", "warm.py", """
        from workstation.strategy import Strategy

        class Warm(Strategy):
            name = "Warm"
            warmup = 2

            def on_bar(self, bar):
                self.state.setdefault("seen", []).append([bar.close, self.warming_up])
                self.buy(bar.symbol, 1)
    """)

    async def scenario():
        desk = await open_desk(tmp_path).start()
        desk.bars([10.0, 11.0, 12.0])
        await desk.host.add(instance("w", "Warm"))
        desk.trade(13.0)
        desk.bar(3, 12, 13, 11, 13)
        await desk.stop()
        return desk

    desk = run(scenario())
    assert desk.ctx("w").state["seen"] == [[11.0, True], [12.0, True], [13.0, False]]
    assert [f.price for f in desk.fills] == [13.0]


def test_session_close_reaches_the_strategies_of_that_symbol(tmp_path):
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("rec", "Recorder")).start()
        desk.bar(0, 100, 101, 99, 100)
        desk.clock.advance_to(NQ_CLOSE - MINUTE)
        closed_before = list(desk.ctx("rec").state.get("closed", []))
        desk.clock.advance_to(NQ_CLOSE)
        await desk.stop()
        return closed_before, desk.ctx("rec").state["closed"]

    assert run(scenario()) == ([], ["NQ"])


def test_an_instance_daily_loss_pauses_it_through_the_risk_monitor(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    capped = instance("t1", "Trader", risk=InstanceRisk(max_daily_loss=200))

    async def scenario():
        desk = await open_desk(tmp_path, capped).start()
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)  # buy 1 at 21,000
        desk.trade(20_985.0)
        desk.bar(1, 21_000, 21_001, 20_980, 20_985)  # sell 1 at 20,985: -15 x 20 = -300
        await desk.stop()
        return desk

    desk = run(scenario())
    ctx = desk.ctx("t1")
    assert ctx.status is InstanceStatus.PAUSED
    assert ctx.reason == "risk: t1 daily loss 300.00 reached its 200.00 limit"


# -- instances ----------------------------------------------------------------------------------
def test_instance_params_are_validated_against_the_declared_bounds(tmp_path):
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path).start()
        problems = []
        for params in ({"size": 11}, {"size": 1.5}, {"sise": 2}):
            try:
                await desk.host.add(instance("rec", "Recorder", params=params))
            except InstanceError as exc:
                problems.append(str(exc))
        await desk.stop()
        return problems

    assert run(scenario()) == [
        "strategy instance rec: size: 11 is above the maximum 10",
        "strategy instance rec: size: 1.5 is not a whole number",
        "strategy instance rec: Recorder has no parameter sise"]


def test_instances_settings_status_and_state_come_back_after_a_restart(tmp_path):
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)
    full = instance("rec", "Recorder", symbols=("NQ", "ES"), params={"size": 3},
                    allocation=50_000, window_start=time(8, 30), window_end=time(15, 0),
                    risk=InstanceRisk(stop_pct=0.5, max_position=4, max_daily_loss=1_000,
                                      max_concurrent_positions=2), resume_automatically=True)

    async def first():
        desk = await open_desk(tmp_path, full, instance("paused", "Recorder"),
                          instance("stopped", "Recorder")).start()
        desk.bars([100.0, 101.0])
        desk.host.pause_instance("paused")
        desk.host.stop_instance("stopped")
        await desk.stop()

    async def second():
        desk = await open_desk(tmp_path).start()
        found = {key: (ctx.settings, ctx.status, dict(ctx.state))
                 for key, ctx in desk.host.contexts.items()}
        await desk.stop()
        return found

    run(first())
    found = run(second())
    assert found["rec"][0] == full
    assert found["rec"][1] is InstanceStatus.RUNNING
    assert found["rec"][2] == {"starts": 2, "size_at_start": 3, "closes": [100.0, 101.0],
                               "warm": 0, "stops": 1}
    assert found["paused"][1] is InstanceStatus.PAUSED
    assert found["stopped"][1] is InstanceStatus.STOPPED
    assert found["stopped"][2]["stops"] == 1  # stopped: no on_start after the restart


def test_a_running_instance_comes_back_paused_unless_it_resumes_automatically(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)

    async def first():
        desk = await open_desk(tmp_path, instance("manual", "Trader"),
                               instance("auto", "Trader", resume_automatically=True)).start()
        await desk.stop()

    async def second():
        desk = await open_desk(tmp_path).start()
        desk.trade(21_000.0)
        desk.bar(0, 21_000, 21_002, 20_999, 21_001)  # closes up: Trader buys
        seen = {key: (ctx.status, ctx.reason, ctx.orders_sent)
                for key, ctx in desk.host.contexts.items()}
        await desk.stop()
        return seen

    run(first())
    seen = run(second())
    assert seen["manual"] == (InstanceStatus.PAUSED, "restored paused after a restart (tick "
                              "'resume automatically' to have it resume)", 0)
    assert seen["auto"] == (InstanceStatus.RUNNING, "", 1)


def test_a_stored_instance_whose_plugin_is_gone_is_kept_and_reported(tmp_path):
    plugin = write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def first():
        desk = await open_desk(tmp_path, instance("rec", "Recorder")).start()
        await desk.stop()

    async def second():
        desk = await open_desk(tmp_path).start()
        ctx = desk.host.contexts["rec"]
        await desk.stop()
        return ctx.status, ctx.reason

    run(first())
    plugin.unlink()
    assert run(second()) == (InstanceStatus.ERROR,
                             "strategy 'Recorder' is not loaded (see the plugin errors)")


def test_which_plugin_version_ran_when_is_recorded(tmp_path):
    plugin = write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("rec", "Recorder")).start(at=T0)
        await desk.stop()

    run(scenario())
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        runs = conn.execute("SELECT instance_id, strategy, version, file, sha256, started_ts, "
                            "stopped_ts FROM strategy_runs").fetchall()
        files = conn.execute("SELECT file, sha256 FROM plugin_files").fetchall()
    import hashlib
    sha = hashlib.sha256(plugin.read_bytes()).hexdigest()
    assert runs == [("rec", "Recorder", "2.1", "recorder.py", sha, T0, T0)]
    assert files == [("recorder.py", sha)]


def test_the_report_lists_instances_with_their_counts(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("t1", "Trader")).start()
        desk.trade(21_000.0)
        desk.bars([21_000.0, 21_004.0])
        await desk.stop()
        return desk.engine.report()

    report = run(scenario())
    (row,) = report["strategies"]
    assert {k: row[k] for k in ("id", "strategy", "status", "orders", "errors", "bars")} == {
        "id": "t1", "strategy": "Trader", "status": "running", "orders": 1, "errors": 0,
        "bars": 2}
    json.dumps(report)  # the headless report is JSON


@pytest.mark.parametrize("bad", [{"instance_id": "has space"}, {"allocation": -5},
                                 {"timeframes": ("7q",)}])
def test_bad_instance_settings_name_the_field(bad):
    from workstation.strategies.instances import InstanceSettings

    data = {"instance_id": "ok", "strategy": "Recorder", "symbols": ("NQ",), **bad}
    with pytest.raises(InstanceError, match=r"strategy instance .*: (instance_id|allocation|"
                                            r"timeframes)"):
        InstanceSettings.from_dict(data)


def test_an_instance_allocation_caps_what_it_may_hold(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)
    # NQ margin is 25,000 a contract: 30,000 allows one, not two
    capped = instance("t1", "Trader", allocation=30_000)

    async def scenario():
        desk = await open_desk(tmp_path, capped).start()
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)
        desk.bar(1, 20_990, 21_001, 20_989, 21_000)
        await desk.stop()
        return desk

    desk = run(scenario())
    assert [u.status for u in desk.updates if not u.intent.parent_id] == [
        OrderStatus.ACCEPTED, OrderStatus.FILLED, OrderStatus.REJECTED]
    assert desk.updates[-1].reason == ("risk: allocation: t1 would hold 50,000.00, over its "
                                       "30,000.00 allocation")


def test_what_an_instance_holds_comes_back_after_a_restart(tmp_path):
    write_plugin(tmp_path / "plugins", "trader.py", TRADER)

    async def first():
        desk = await open_desk(tmp_path, instance("t1", "Trader", params={"size": 3})).start()
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)  # buy 3
        await desk.stop()

    async def second():
        desk = await open_desk(tmp_path).start()
        held = dict(desk.ctx("t1").positions)
        await desk.stop()
        return held

    run(first())
    assert run(second()) == {"NQ": 3.0}


def test_an_order_that_reverses_the_position_is_an_entry_for_the_instance_rules(tmp_path):
    write_plugin(tmp_path / "plugins", "flipper.py", """
        from workstation.strategy import Strategy

        class Flipper(Strategy):
            name = "Flipper"

            def on_bar(self, bar):
                if bar.close < bar.open:
                    self.sell(bar.symbol, 1)
                else:
                    self.buy(bar.symbol, 2)  # from short 1 to long 1
    """)
    pct = instance("f", "Flipper", risk=InstanceRisk(stop_pct=0.1))

    async def scenario():
        desk = await open_desk(tmp_path, pct).start()
        desk.trade(20_000.0)
        desk.bar(0, 20_010, 20_011, 19_999, 20_000)  # down: sell 1
        desk.bar(1, 20_000, 20_011, 19_999, 20_010)  # up: buy 2 reverses to long 1
        await desk.stop()
        return desk

    desk = run(scenario())
    entries = [u.intent for u in desk.updates
               if u.status is OrderStatus.ACCEPTED and not u.intent.parent_id]
    # both get the instance's 0.1% stop from the last price 20,000: 20,020 and 19,980
    assert [(i.side, i.qty, i.bracket.stop_loss) for i in entries] == [
        (OrderSide.SELL, 1, 20_020.0), (OrderSide.BUY, 2, 19_980.0)]
    assert desk.ctx("f").positions == {"NQ": 1.0}


def test_an_instance_without_symbols_takes_the_strategy_defaults(tmp_path):
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER.replace(
        'version = "2.1"', 'version = "2.1"\n        symbols = ("ES", "NQ")'))

    async def scenario():
        desk = await open_desk(tmp_path, instance("rec", "Recorder", symbols=())).start()
        await desk.stop()
        return desk.ctx("rec").settings.symbols

    assert run(scenario()) == ("ES", "NQ")


def test_warm_up_length_can_follow_the_parameters(tmp_path):
    write_plugin(tmp_path / "plugins", "slow.py", """
        from workstation.strategy import Param, Strategy

        class Slow(Strategy):
            name = "Slow"
            length = Param(3, min=1, max=50)

            def warmup_bars(self):
                return self.length - 1

            def on_bar(self, bar):
                self.state.setdefault("warm", []).append(bar.close)
    """)

    async def scenario():
        desk = await open_desk(tmp_path).start()
        desk.bars([1.0, 2.0, 3.0, 4.0])
        await desk.host.add(instance("s", "Slow", params={"length": 4}))
        await desk.stop()
        return desk.ctx("s").state["warm"]

    assert run(scenario()) == [2.0, 3.0, 4.0]


def test_new_settings_are_checked_whole_before_the_instance_is_touched(tmp_path):
    write_plugin(tmp_path / "plugins", "recorder.py", RECORDER)

    async def scenario():
        desk = await open_desk(tmp_path, instance("rec", "Recorder")).start()
        ctx = desk.ctx("rec")
        bad = ctx.settings.model_copy(update={"allocation": -5.0})  # skips pydantic's checks
        try:
            await desk.host.update_settings(bad)
        except InstanceError as exc:
            problem = str(exc)
        seen = (ctx.status, ctx.settings.allocation, ctx.state["starts"])
        await desk.stop()
        return problem, seen

    problem, seen = run(scenario())
    assert problem == "strategy instance rec: allocation: Input should be greater than 0"
    assert seen == (InstanceStatus.RUNNING, None, 1)  # still running, untouched
