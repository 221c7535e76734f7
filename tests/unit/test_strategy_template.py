"""The New-strategy template: a file that loads cleanly, offers exactly the strategy asked
for, trades as its comments say, and is never written over an existing file."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.strategy_desk import StrategyDesk, instance
from workstation.strategies.guard import Watchdog
from workstation.strategies.loader import load_file
from workstation.strategies.template import class_name, file_name, new_strategy_file
from workstation.strategy import Strategy


def test_the_written_file_loads_with_no_problems_and_offers_that_strategy(tmp_path):
    path = new_strategy_file(tmp_path / "plugins", "My breakout")
    assert path == tmp_path / "plugins" / "my_breakout.py"
    loaded = load_file(path, Watchdog(2.0))
    assert loaded.problems == []
    assert [c.name for c in loaded.classes] == ["My breakout"]
    offered = loaded.classes[0]
    assert offered.cls.__name__ == "MyBreakout"
    assert issubclass(offered.cls, Strategy)
    params = offered.cls.declared_params()
    assert list(params) == ["length", "qty", "stop_points"]
    assert (params["length"].default, params["length"].min, params["length"].max) == (20, 2, 200)
    assert params["stop_points"].kind is float and params["stop_points"].step == 0.25
    assert all(p.doc for p in params.values())
    assert offered.cls.description


def test_an_existing_file_is_refused_and_left_as_it_was(tmp_path):
    path = new_strategy_file(tmp_path, "My breakout")
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"my_breakout\.py already exists"):
        new_strategy_file(tmp_path, "my  Breakout")  # the same file name
    assert path.read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize("name", ["", "   ", "!!!", "2 fast", "Strategy", "x" * 61])
def test_a_name_that_makes_no_class_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="strategy"):
        new_strategy_file(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "cls", "file"), [
    ("My breakout", "MyBreakout", "my_breakout.py"),
    ("  opening   range-break v2 ", "OpeningRangeBreakV2", "opening_range_break_v2.py"),
    ("SMACross", "SMACross", "sma_cross.py"),
    ("mean_reversion", "MeanReversion", "mean_reversion.py"),
])
def test_class_and_file_names_come_from_the_words_of_the_name(name, cls, file):
    assert class_name(name) == cls
    assert file_name(name) == file


def test_the_template_runs_buys_with_a_stop_above_its_average_and_flattens_below(tmp_path):
    async def scenario() -> None:
        plugins = tmp_path / "plugins"
        new_strategy_file(plugins, "Trend template")
        desk = await StrategyDesk(tmp_path / "home", plugins).start()
        try:
            host = desk.host
            assert host.problems == []
            ctx = await host.add(instance("trend-1", "Trend template",
                                          params={"length": 3, "stop_points": 5.0}))
            assert ctx.status.value == "running"
            # SMA(3) is ready at the third close (101): 102 closes above it, a buy; 103 holds
            for minute, close in enumerate((100.0, 101.0, 102.0, 103.0)):
                desk.trade(close)
                desk.bars([close], first_minute=minute)
            await asyncio.sleep(0)
            assert ctx.orders_sent == 1
            assert ctx.position("NQ") == 1
            assert ctx.state["entries"] == 1
            stops = [u.intent.stop_price for u in desk.updates if u.intent.stop_price]
            assert stops and stops[-1] == 97.0  # 102 - 5 on the first close above the SMA
            desk.trade(90.0)
            desk.bars([90.0], first_minute=4)  # well below the average: flat
            await asyncio.sleep(0)
            assert ctx.position("NQ") == 0
            assert ctx.errors == 0
        finally:
            await desk.stop()

    asyncio.run(scenario())
