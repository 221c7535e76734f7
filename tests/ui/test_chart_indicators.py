"""Indicators on the chart: added from Chart → Indicators…, computed by the library the
strategies use (values by hand below), updated as bars close, kept across a restart, and
a saved entry that cannot be read is left out with a message (the others stay). RSI, MACD,
ATR and Stochastic each get a pane below the price, which gives its height back when
removed."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ui.panels.chart_indicators import (
    BadIndicator,
    ChartIndicators,
    IndicatorSpec,
    dump_specs,
    load_specs,
)
from ui.startup import LAYOUT_FILE
from workstation.indicators import MACD, Stochastic
from workstation.model import Bar, BarFlag

MINUTE = 60_000_000_000


def bars(closes: list[float], first: int = 0) -> list[Bar]:
    """1m NQ bars closing at ``closes``; high/low one point either side; volume 10."""
    return [Bar("NQ", "1m", (first + i) * MINUTE, (first + i + 1) * MINUTE, c, c + 1, c - 1, c,
                10.0, 1, int(BarFlag.SESSION_FIRST) if first + i == 0 else 0)
            for i, c in enumerate(closes)]


def test_sma_and_bollinger_values_are_the_library_s_and_follow_closing_bars(qapp):
    import pyqtgraph as pg

    plot = pg.PlotItem()
    shown = ChartIndicators(plot)
    shown.set_specs([IndicatorSpec("SMA", 3), IndicatorSpec("Bollinger", 2, 1.0)])

    shown.show_bars(bars([10.0, 11.0, 12.0, 13.0]))
    sma = shown.values(0)["value"]
    assert math.isnan(sma[0]) and math.isnan(sma[1])
    assert sma[2:] == [11.0, 12.0]  # (10+11+12)/3, (11+12+13)/3
    bands = shown.values(1)
    assert bands["value"][1:] == [10.5, 11.5, 12.5]
    assert bands["upper"][1:] == [11.0, 12.0, 13.0]  # mean + 1 population std (0.5)
    assert bands["lower"][1:] == [10.0, 11.0, 12.0]

    shown.add_bars(bars([17.0], first=4))
    assert shown.values(0)["value"][-1] == 14.0  # (12+13+17)/3
    assert len(plot.listDataItems()) == 4  # one line, and three for the bands


def test_vwap_restarts_at_each_session_open(qapp):
    import pyqtgraph as pg

    shown = ChartIndicators(pg.PlotItem())
    shown.set_specs([IndicatorSpec("VWAP")])

    shown.show_bars(bars([10.0, 13.0]))  # typical price = close (high and low around it)

    assert shown.values(0)["value"] == [10.0, 11.5]


def test_an_indicator_added_from_the_dialog_is_drawn_and_survives_a_restart(
        workstation, tmp_path, run, qtbot):
    first = workstation(tmp_path)
    dialog = first.open_indicators()
    dialog.kind.setCurrentText("EMA")
    dialog.period.setValue(9)
    dialog.add()
    dialog.kind.setCurrentText("Bollinger")
    dialog.period.setValue(20)
    dialog.width.setValue(2.5)
    dialog.add()
    assert [dialog.shown.item(i).text() for i in range(dialog.shown.count())] == [
        "EMA 9", "Bollinger 20, 2.5"]
    dialog.close()
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)

    assert [s.label for s in second.chart.indicators.specs] == ["EMA 9", "Bollinger 20, 2.5"]
    assert [s.color for s in second.chart.indicators.specs] == ["#f59e0b", "#a855f7"]
    dialog = second.open_indicators()
    dialog.shown.setCurrentRow(0)
    dialog.remove_selected()
    assert [s.label for s in second.chart.indicators.specs] == ["Bollinger 20, 2.5"]
    dialog.close()


def test_a_saved_indicator_that_cannot_be_read_is_left_out_and_the_others_kept(tmp_path,
                                                                               workstation):
    text = dump_specs([IndicatorSpec("SMA", 50)])[:-1] + (
        ', {"kind": "Ichimoku"}, {"kind": "EMA", "period": 0}]')

    specs, problems = load_specs(text)

    assert specs == [IndicatorSpec("SMA", 50)]
    assert problems == [
        "chart indicator 2 left out: indicator 'Ichimoku': use one of SMA, EMA, VWAP, "
        "Bollinger, RSI, MACD, ATR, Stochastic",
        "chart indicator 3 left out: EMA period 0: use 1 to 1000"]
    assert load_specs("[{") == ([], ["saved chart indicators unreadable (Expecting property "
                                     "name enclosed in double quotes); none shown"])
    with pytest.raises(BadIndicator, match="colour 'nope' is not a colour"):
        IndicatorSpec("SMA", 5, color="nope")
    settings = QSettings(str(tmp_path / LAYOUT_FILE), QSettings.Format.IniFormat)
    settings.setValue("chart/indicators", text)
    settings.sync()

    window = workstation(tmp_path)
    assert window.chart.indicators.specs == [IndicatorSpec("SMA", 50)]


def same(values: list[float], expected: list[float]) -> bool:
    """Equal, nan where the other is nan (warming up)."""
    return len(values) == len(expected) and all(
        (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)
        for a, b in zip(values, expected, strict=True))


def test_rsi_in_its_pane_is_wilder_s_worked_by_hand_and_follows_closing_bars(qapp):
    import pyqtgraph as pg

    from ui.panels.indicator_panes import PaneStack

    layout = pg.GraphicsLayout()
    price = layout.addPlot(row=0, col=0)
    shown = ChartIndicators(price, PaneStack(layout, price, first_row=2))
    shown.set_specs([IndicatorSpec("RSI", 3)])

    shown.show_bars(bars([10.0, 11.0, 12.0, 11.0]))
    # changes +1, +1, -1: first averages gain 2/3, loss 1/3 -> 100 * (2/3) / 1
    assert same(shown.values(0)["value"], [math.nan] * 3 + [200 / 3])
    shown.add_bars(bars([13.0], first=4))
    # change +2: gain (2/3 * 2 + 2) / 3 = 10/9, loss (1/3 * 2) / 3 = 2/9 -> 100 * 10/12
    assert shown.values(0)["value"][-1] == pytest.approx(250 / 3)
    pane = shown.pane(0)
    assert pane is not None and pane.plot not in price.items
    (line,) = pane.plot.listDataItems()
    assert same(list(line.getData()[1]), [math.nan] * 3 + [200 / 3, 250 / 3])
    assert [level.value() for level in pane.levels] == [30.0, 70.0]
    assert pane.label.text == "RSI 3: 83.33"


def test_macd_and_stochastic_panes_show_the_library_s_values_bar_for_bar(qapp):
    import pyqtgraph as pg

    from ui.panels.indicator_panes import PaneStack

    closes = [10.0, 12.0, 11.0, 13.0, 16.0, 15.0, 14.0, 17.0, 19.0, 18.0]
    layout = pg.GraphicsLayout()
    price = layout.addPlot(row=0, col=0)
    shown = ChartIndicators(price, PaneStack(layout, price, first_row=2))
    shown.set_specs([IndicatorSpec("MACD", fast=2, slow=4, signal=3),
                     IndicatorSpec("Stochastic", 4, d=2)])
    shown.show_bars(bars(closes[:6]))
    shown.add_bars(bars(closes[6:], first=6))  # the rest as they close

    macd, stochastic = MACD(2, 4, 3), Stochastic(4, 2)
    expected: dict[str, list[float]] = {"value": [], "signal": [], "histogram": [],
                                        "k": [], "d": []}
    for bar in bars(closes):
        macd.update(bar)
        stochastic.update(bar)
        for name in ("value", "signal", "histogram"):
            expected[name].append(getattr(macd, name) if macd.ready else math.nan)
        expected["k"].append(stochastic.value if stochastic.ready else math.nan)
        expected["d"].append(stochastic.d if stochastic.ready else math.nan)
    lines = shown.values(0)
    for name in ("value", "signal", "histogram"):
        assert same(lines[name], expected[name]), name
    assert sum(not math.isnan(v) for v in lines["value"]) == 5  # ready after 4 + 3 - 1 bars
    assert same(shown.values(1)["value"], expected["k"])
    assert same(shown.values(1)["d"], expected["d"])
    # bar 4 (close 16), bars 1 to 4: highest high 17, lowest low 10 -> (16 - 10) / 7
    assert shown.values(1)["value"][4] == pytest.approx(100 * 6 / 7)
    assert [level.value() for level in shown.pane(0).levels] == [0.0]
    assert [level.value() for level in shown.pane(1).levels] == [20.0, 80.0]


def test_an_rsi_pane_added_survives_a_restart_and_removing_it_gives_the_price_its_height(
        workstation, tmp_path, run, qtbot):
    first = workstation(tmp_path)
    QApplication.processEvents()
    alone = first.chart.price_plot.height()
    dialog = first.open_indicators()
    dialog.kind.setCurrentText("RSI")
    assert dialog.period.value() == 14  # RSI's usual length
    dialog.period.setValue(9)
    dialog.color.setCurrentIndex(2)
    dialog.add()
    dialog.kind.setCurrentText("MACD")
    assert not dialog.form.isRowVisible(dialog.width) and dialog.form.isRowVisible(dialog.fast)
    dialog.add()
    dialog.close()
    assert len(first.chart.panes.panes) == 2
    qtbot.waitUntil(lambda: first.chart.price_plot.height() < alone - 150)  # two panes
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)

    rsi, macd = second.chart.indicators.specs
    assert (rsi.kind, rsi.period, rsi.color) == ("RSI", 9, "#38bdf8")
    assert (macd.label, macd.color2) == ("MACD 12, 26, 9", "#94a3b8")
    pane = second.chart.indicators.pane(0)
    assert pane is not None and pane.title == "RSI 9"
    assert pane.plot.listDataItems()[0].opts["pen"].color().name() == "#38bdf8"
    dialog = second.open_indicators()
    for _ in range(2):
        dialog.shown.setCurrentRow(0)
        dialog.remove_selected()
    dialog.close()
    assert second.chart.panes.panes == []
    qtbot.waitUntil(lambda: second.chart.price_plot.height() == alone)


def test_panes_share_at_most_30_percent_of_a_short_chart_and_keep_their_height_on_a_tall_one():
    from ui.panels.indicator_panes import MIN_PANE_HEIGHT, PANE_HEIGHT, pane_height

    assert pane_height(300, 2) == 45.0  # a laptop's chart: 0.3 * 300 / 2
    assert pane_height(300, 1) == 60.0  # one pane: at most a fifth
    assert pane_height(800, 2) == PANE_HEIGHT
    assert pane_height(200, 4) == MIN_PANE_HEIGHT
