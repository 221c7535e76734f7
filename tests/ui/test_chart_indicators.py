"""Indicators on the chart: added from Chart → Indicators…, computed by the library the
strategies use (values by hand below), updated as bars close, kept across a restart, and
a saved entry that cannot be read is left out with a message (the others stay)."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QSettings

from ui.panels.chart_indicators import (
    BadIndicator,
    ChartIndicators,
    IndicatorSpec,
    dump_specs,
    load_specs,
)
from ui.startup import LAYOUT_FILE
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
        "Bollinger",
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
