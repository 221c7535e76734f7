"""A strategy's plot() lines on the chart of its symbol: drawn at their bars (the price
pane, or a pane of their own), kept per series, and shown when the chart switches to
another of the strategy's symbols."""

from __future__ import annotations

import textwrap

import pytest

from tests.ui.test_main_window import at, publish
from workstation.model import Bar
from workstation.strategies.instances import InstanceSettings

PLOTTER = """
    from workstation.strategy import Strategy

    class Plotter(Strategy):
        name = "Plotter"

        def on_bar(self, bar):
            self.plot("mid", (bar.high + bar.low) / 2, bar, color="#ff0000")
            self.plot("range", bar.high - bar.low, bar, pane="osc")
"""


@pytest.fixture(autouse=True)
def only_home_plugins(monkeypatch):
    """The home's plugins folder only: the repository's shipped examples stay out."""
    monkeypatch.setattr("workstation.engine.default_plugin_folders",
                        lambda home: [home / "plugins"])


def minute_bar(symbol: str, minute: int, low: float, high: float) -> Bar:
    return Bar(symbol, "1m", at(15, minute), at(15, minute + 1), low, high, low, high, 10.0, 3)


def test_a_plugin_s_points_are_drawn_at_its_bars_on_the_chart_of_its_symbol(
        workstation, tmp_path, run, qtbot):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "plotter.py").write_text(textwrap.dedent(PLOTTER), encoding="utf-8")
    window = workstation(tmp_path)
    run(window.engine.strategies.add(InstanceSettings(
        instance_id="plotter", strategy="Plotter", symbols=("NQ", "ES"))))
    chart, plots = window.chart, window.chart.strategy_plots
    assert (chart.symbol, chart.timeframe) == ("NQ", "1m")

    publish(window, minute_bar("NQ", 0, 21_000.0, 21_004.0),
            minute_bar("ES", 0, 6_000.0, 6_001.0),
            minute_bar("NQ", 1, 21_002.0, 21_003.0))

    qtbot.waitUntil(lambda: chart.bar_count == 2 and ("plotter", "mid") in plots.items)
    xs, ys = plots.items[("plotter", "mid")].getData()
    assert (list(xs), list(ys)) == ([0.0, 1.0], [21_002.0, 21_002.5])
    assert plots.items[("plotter", "mid")].opts["pen"].color().name() == "#ff0000"
    assert plots.items[("plotter", "mid")] in chart.price_plot.items
    (pane,) = chart.panes.panes  # "osc": a pane of its own below the price
    assert pane.label.text == "osc: <span style='color:#f472b6'>range</span>"  # 2nd colour
    assert plots.legend.text == "<span style='color:#ff0000'>mid</span>"  # the price pane's
    assert list(plots.items[("plotter", "range")].getData()[1]) == [4.0, 1.0]
    es_mid = plots.lines[("ES", "1m")][("plotter", "mid")]
    assert es_mid.values == [6_000.5] and len(plots.items) == 2  # kept, drawn on ES's chart

    window.show_series("ES", "1m")

    qtbot.waitUntil(lambda: chart.symbol == "ES" and ("plotter", "mid") in plots.items)
    assert list(plots.items[("plotter", "mid")].getData()[1]) == [6_000.5]
    assert [p.title for p in chart.panes.panes] == ["osc"]  # NQ's pane went, ES's came
