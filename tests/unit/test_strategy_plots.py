"""Strategy.plot: a plugin's lines reach whoever listens (the GUI's bridge) as points at
their bars; with no listener (backtests, headless runs) a plot() call does nothing and
keeps nothing."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from tests.unit.strategy_desk import StrategyDesk, instance, write_plugin
from workstation.plots import PlotPoint, Plots

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def run_desk(tmp_path: Path, plugins: Path, scenario, *instances) -> None:
    async def main() -> None:
        desk = StrategyDesk(tmp_path / "home", plugins, instances=list(instances))
        await desk.start()
        try:
            await scenario(desk)
        finally:
            await desk.stop()

    asyncio.run(main())


def values(points: list[PlotPoint], name: str) -> list[float]:
    return [p.value for p in points if p.name == name]


def test_the_sma_crossover_example_plots_its_two_averages_at_each_bar(tmp_path):
    points: list[PlotPoint] = []

    async def scenario(desk: StrategyDesk) -> None:
        desk.host.services.plots.sink = points.append
        made = desk.bars([20000, 20000, 20000, 19990, 19980])

        # fast SMA(2): -, 20000, 20000, (20000+19990)/2, (19990+19980)/2
        fast = values(points, "fast SMA")
        assert math.isnan(fast[0]) and fast[1:] == [20000.0, 20000.0, 19995.0, 19985.0]
        # slow SMA(3): -, -, 20000, (20000+20000+19990)/3, (20000+19990+19980)/3
        slow = values(points, "slow SMA")
        assert all(math.isnan(v) for v in slow[:2])
        assert slow[2:] == [20000.0, pytest.approx(59990 / 3), 19990.0]
        first = points[0]
        assert (first.instance_id, first.symbol, first.timeframe, first.pane, first.color) == (
            "sma", "NQ", "1m", "price", "#4fc3f7")
        assert [p.ts for p in points if p.name == "slow SMA"] == [b.ts for b in made]

    run_desk(tmp_path, PLUGINS, scenario,
             instance("sma", "SMA crossover", params={"fast": 2, "slow": 3}))


def test_plot_with_no_listener_does_nothing_and_keeps_nothing(tmp_path):
    async def scenario(desk: StrategyDesk) -> None:
        assert desk.host.services.plots.sink is None  # nothing listens by default
        (bar,) = desk.bars([20000])
        strategy = desk.ctx("sma").strategy
        assert strategy is not None
        assert strategy.plot("anything", 1.0, bar, pane="osc") is None
        assert desk.ctx("sma").errors == 0
        assert not hasattr(desk.host.services.plots, "__dict__")  # only the sink slot
        assert Plots.__slots__ == ("sink",)

    run_desk(tmp_path, PLUGINS, scenario,
             instance("sma", "SMA crossover", params={"fast": 2, "slow": 3}))


def test_a_plugin_s_points_name_their_pane_and_colour_and_bad_values_fail_only_it(tmp_path):
    plugins = tmp_path / "plugins"
    write_plugin(plugins, "plotter.py", """
        from workstation.strategy import Strategy

        class Plotter(Strategy):
            name = "Plotter"

            def on_bar(self, bar):
                self.plot("range", bar.high - bar.low, bar, pane="osc", color="orange")
                self.plot("oops", "not a number", bar)
    """)
    points: list[PlotPoint] = []

    async def scenario(desk: StrategyDesk) -> None:
        desk.host.services.plots.sink = points.append
        desk.bars([20000])
        assert [(p.name, p.value, p.pane, p.color) for p in points] == [
            ("range", 2.0, "osc", "orange")]
        assert "could not convert string to float" in desk.ctx("p").last_error

    run_desk(tmp_path, plugins, scenario, instance("p", "Plotter"))
