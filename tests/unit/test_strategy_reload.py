"""Hot reload: editing a plugin file swaps the running instances to the new code within
about a second (the engine's real folder watcher, real files in tmp_path, wall time)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from tests.unit.strategy_desk import (
    StrategyDesk,
    desk_settings,
    eventually,
    instance,
    write_plugin,
)
from workstation.config import DATABASE_FILE, StrategiesSettings
from workstation.strategies.instances import InstanceStatus

VERSION = """
    from workstation.strategy import Strategy

    class Versioned(Strategy):
        name = "Versioned"
        version = "{version}"

        def on_start(self):
            self.state.setdefault("starts", []).append("{version}")

        def on_bar(self, bar):
            self.state.setdefault("bars", []).append(["{version}", bar.close])
            if bar.close > bar.open and not self.position(bar.symbol):
                self.buy(bar.symbol, 1)

        def on_stop(self):
            self.state.setdefault("stops", []).append("{version}")
"""


def watching_desk(tmp_path, *instances) -> StrategyDesk:
    settings = desk_settings().model_copy(update={"strategies": StrategiesSettings(
        max_failures=3, hard_limit_s=2.0, hot_reload=True)})
    return StrategyDesk(tmp_path / "home", tmp_path / "plugins", settings=settings,
                        instances=list(instances))


def test_editing_a_file_restarts_its_instances_on_the_new_code_with_their_state(tmp_path):
    plugin = write_plugin(tmp_path / "plugins", "versioned.py", VERSION.format(version="1"))

    async def scenario():
        desk = await watching_desk(tmp_path, instance("v", "Versioned")).start()
        desk.bar(0, 100, 101, 99, 100)
        write_plugin(plugin.parent, plugin.name, VERSION.format(version="2"))
        await eventually(lambda: desk.ctx("v").offered.version == "2")
        desk.bar(1, 100, 101, 99, 100)
        await desk.stop()
        return desk.ctx("v")

    ctx = run(scenario())
    assert ctx.status is InstanceStatus.RUNNING
    assert ctx.state == {"starts": ["1", "2"], "stops": ["1", "2"],
                         "bars": [["1", 100.0], ["2", 100.0]]}


def test_a_broken_save_keeps_the_old_version_running_until_it_is_fixed(tmp_path):
    plugin = write_plugin(tmp_path / "plugins", "versioned.py", VERSION.format(version="1"))

    async def scenario():
        desk = await watching_desk(tmp_path, instance("v", "Versioned")).start()
        plugin.write_text("from workstation.strategy import Strategy\nclass Oops(Strategy\n")
        await eventually(lambda: bool(desk.host.problems))
        broken = [str(p) for p in desk.host.problems]
        desk.bar(0, 100, 101, 99, 100)
        still = (desk.ctx("v").status, desk.ctx("v").offered.version)
        write_plugin(plugin.parent, plugin.name, VERSION.format(version="3"))
        await eventually(lambda: desk.ctx("v").offered.version == "3")
        fixed = [str(p) for p in desk.host.problems]
        await desk.stop()
        return broken, still, fixed, desk.ctx("v").state

    broken, still, fixed, state = run(scenario())
    assert broken == ["versioned.py line 2: syntax error: '(' was never closed",
                      "versioned.py: the previous version keeps running"]
    assert still == (InstanceStatus.RUNNING, "1")
    assert fixed == []
    assert state["bars"] == [["1", 100.0]]
    assert state["starts"] == ["1", "3"]


def test_reloading_an_instance_with_an_open_position_warns(tmp_path, caplog):
    plugin = write_plugin(tmp_path / "plugins", "versioned.py", VERSION.format(version="1"))

    async def scenario():
        desk = await watching_desk(tmp_path, instance("v", "Versioned")).start()
        desk.trade(21_000.0)
        desk.bar(0, 20_990, 21_001, 20_989, 21_000)  # up bar: buys 1
        with caplog.at_level(logging.WARNING):
            await desk.host.reload_file(write_plugin(plugin.parent, plugin.name,
                                                     VERSION.format(version="2")))
        await desk.stop()
        return desk

    desk = run(scenario())
    assert desk.ctx("v").positions == {"NQ": 1.0}
    assert "reloading with open positions (+1 NQ); their orders stay working" in caplog.text


def test_a_removed_file_stops_its_instances_with_the_reason(tmp_path):
    plugin = write_plugin(tmp_path / "plugins", "versioned.py", VERSION.format(version="1"))

    async def scenario():
        desk = await watching_desk(tmp_path, instance("v", "Versioned")).start()
        plugin.unlink()
        await eventually(lambda: desk.ctx("v").status is InstanceStatus.ERROR)
        await desk.stop()
        return desk.ctx("v")

    ctx = run(scenario())
    assert ctx.reason == "plugin file versioned.py was removed"
    assert ctx.state["stops"] == ["1"]


def test_each_version_that_ran_is_recorded_and_a_changed_file_is_reported(tmp_path, caplog):
    plugin = write_plugin(tmp_path / "plugins", "versioned.py", VERSION.format(version="1"))

    async def first():
        desk = await watching_desk(tmp_path, instance("v", "Versioned")).start()
        await desk.host.reload_file(write_plugin(plugin.parent, plugin.name,
                                                 VERSION.format(version="2")))
        await desk.stop()

    async def second():
        write_plugin(plugin.parent, plugin.name, VERSION.format(version="3"))
        desk = await watching_desk(tmp_path).start()
        await desk.stop()

    run(first())
    with caplog.at_level(logging.WARNING):
        run(second())
    with sqlite3.connect(tmp_path / "home" / DATABASE_FILE) as conn:
        versions = conn.execute("SELECT version, stopped_ts IS NOT NULL FROM strategy_runs "
                                "ORDER BY id").fetchall()
    assert versions == [("1", 1), ("2", 1), ("3", 1)]
    assert "plugin versioned.py changed since it last ran" in caplog.text


def run(scenario):
    return asyncio.run(scenario)
