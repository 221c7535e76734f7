"""The chart opens with history: a fresh home's simulated market shows days of bars in
every timeframe on the first open, and a daily bar is labelled with its session's date."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from ui.bridge import EngineBridge, LogBuffer
from ui.main_window import MainWindow
from workstation.config import Settings
from workstation.engine import Engine, RunOptions, sim_feed_builder
from workstation.model import NS_PER_SECOND, Bar, PartialBar, datetime_to_ns
from workstation.sessions import NEW_YORK

START = datetime_to_ns(datetime.combine(date(2026, 11, 4), time(9, 30), NEW_YORK))


@pytest.fixture
def sim_window(tmp_path, qtbot, run):
    """The main window over a simulated market starting 2026-11-04 09:30 ET, paused at
    its start (the feed runs no time), on a fresh home."""
    settings = Settings()
    options = RunOptions(seed=7, speed=None, start_ns=START, duration_s=0.0)
    engine = Engine(settings, tmp_path, sim_feed_builder(settings, options))
    bridge = EngineBridge(engine, LogBuffer())
    window = MainWindow(engine, bridge, tmp_path)
    qtbot.addWidget(window)
    run(engine.start())
    bridge.start()
    window.show()
    yield window
    window.close()
    run(engine.stop())


def test_the_first_open_shows_days_of_bars_in_every_timeframe_from_minutes_up(sim_window,
                                                                                qtbot):
    window = sim_window
    qtbot.waitUntil(lambda: window.chart.bar_count > 0)
    assert (window.chart.symbol, window.chart.timeframe) == ("NQ", "1m")
    assert window.chart.bar_count == 5 * 23 * 60 + 15 * 60 + 30  # and the overnight session

    for timeframe, count in (("5m", 5 * 23 * 12 + 15 * 12 + 6), ("1h", 5 * 23 + 15),
                             ("1d", 5)):
        window.show_series("NQ", timeframe)
        assert window.chart.bar_count == count, timeframe


def test_a_daily_bar_is_labelled_with_the_date_of_its_session(sim_window, qtbot):
    window = sim_window
    qtbot.waitUntil(lambda: window.chart.bar_count > 0)

    window.show_series("NQ", "1d")

    # the first session opened at 18:00 ET on 2026-10-27; it is the 28th's
    assert window.chart.axis.tickStrings([0.0, 4.0], 1.0, 1.0) == ["10-28", "11-03"]
    assert window.chart.describe(0).startswith("NQ 1d  2026-10-28 session  O ")
    assert window.chart.partial is not None  # the 4th, formed since 18:00 ET the day before
    assert window.chart.describe(5).startswith("NQ 1d  2026-11-04 session  O ")


def test_the_forming_bar_is_labelled_with_its_open_time_as_soon_as_it_forms(sim_window, qtbot):
    """The feed has not run: no 1-minute bar forms yet, and its place on the axis reads
    09:30, where the 09:29 bar closed (it read 19:00, the epoch in New York, until the
    next bar closed); once a bar forms (here at 09:31), the axis is drawn again with its
    time."""
    window = sim_window
    qtbot.waitUntil(lambda: window.chart.bar_count > 0)
    chart = window.chart
    forming = float(chart.bar_count)
    assert chart.partial is None
    assert chart.axis.tickStrings([forming], 1.0, 1.0) == ["09:30"]

    minute = 60 * NS_PER_SECOND
    chart.set_partial(PartialBar(Bar("NQ", "1m", START + minute, START + 2 * minute,
                                     21_000.0, 21_001.0, 20_999.0, 21_000.5, 12.0, 3)))

    assert chart.axis.picture is None  # the label is drawn again
    assert chart.axis.tickStrings([forming], 1.0, 1.0) == ["09:31"]
