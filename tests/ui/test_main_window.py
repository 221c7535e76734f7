"""The real main window, offscreen, over an engine whose events the tests publish."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from ui import theme
from workstation.model import Quote, Tick, datetime_to_ns


def at(hour: int, minute: int, second: float = 0.0) -> int:
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime_to_ns(datetime(2026, 11, 2, hour, minute, whole, micro, tzinfo=UTC))


def publish(window, *events) -> None:
    for event in events:
        window.engine.clock.advance_to(event.ts)
        window.engine.bus.publish(event)


def cell(window, symbol: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    model = window.watchlist_model
    row = model.symbols().index(symbol)
    return model.data(model.index(row, column), role)


def test_watchlist_shows_last_bid_ask_change_and_volume_of_each_trade(workstation, qtbot):
    window = workstation()
    publish(window,
            Tick("NQ", at(15, 0, 1), 21000.00, 2, 1),
            Quote("NQ", at(15, 0, 2), 21003.00, 21003.25, 4, 6),
            Tick("NQ", at(15, 0, 3), 21003.25, 5, 1))
    qtbot.waitUntil(lambda: cell(window, "NQ", 1) == "21,003.25")
    assert cell(window, "NQ", 2) == "21,003.00"
    assert cell(window, "NQ", 3) == "21,003.25"
    # the first trade is the reference when no previous close is known: +3.25 points,
    # 3.25 / 21000 = 0.0155 % shown with two decimals
    assert cell(window, "NQ", 4) == "+3.25"
    assert cell(window, "NQ", 5) == "+0.02%"
    assert cell(window, "NQ", 6) == "7"
    assert cell(window, "NQ", 1, Qt.ItemDataRole.ForegroundRole) == theme.UP
    assert cell(window, "ES", 1) == "—"


def test_a_down_tick_turns_last_red_and_flashes_the_cell(workstation, qtbot):
    window = workstation()
    publish(window, Tick("ES", at(15, 0, 1), 6000.00, 1, 1))
    window.watchlist_model.refresh()
    publish(window, Tick("ES", at(15, 0, 2), 5999.75, 1, -1))
    window.watchlist_model.refresh()
    assert cell(window, "ES", 1) == "5,999.75"
    assert cell(window, "ES", 1, Qt.ItemDataRole.ForegroundRole) == theme.DOWN
    flash = cell(window, "ES", 1, Qt.ItemDataRole.BackgroundRole)
    assert flash is not None and flash.red() == theme.DOWN_FLASH.red()
    assert cell(window, "ES", 4) == "-0.25"


def test_ten_thousand_ticks_between_frames_cost_one_row_repaint(workstation):
    window = workstation()
    model = window.watchlist_model
    model.refresh()
    repaints: list[int] = []
    model.dataChanged.connect(lambda first, _last: repaints.append(first.row()))
    price = 21000.0
    for i in range(10_000):
        price += 0.25 if i % 2 else -0.25
        publish(window, Tick("NQ", at(15, 0) + i * 1_000_000, price, 1, 0))
    assert model.refresh() == 1
    assert repaints == [model.symbols().index("NQ")]
    assert cell(window, "NQ", 6) == "10,000"


def test_watchlist_removes_with_delete_and_adds_from_the_combo(workstation, qtbot):
    window = workstation()
    panel = window.watchlist
    panel.table.setFocus()
    panel.table.selectRow(panel.model.symbols().index("MSFT"))
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert "MSFT" not in panel.model.symbols()
    assert panel.adder.findText("MSFT") >= 0
    panel.adder.setCurrentText("MSFT")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.model.symbols()[-1] == "MSFT"
    assert not panel.add_button.isEnabled()  # every instrument is listed again


def test_chart_closes_a_bar_on_time_and_shows_the_forming_one(workstation, qtbot):
    window = workstation()
    chart = window.chart
    assert (chart.symbol, chart.timeframe) == ("NQ", "1m")
    publish(window,
            Tick("NQ", at(15, 0, 5), 21000.00, 1, 1),
            Tick("NQ", at(15, 0, 20), 21002.50, 2, 1),
            Tick("NQ", at(15, 0, 40), 20999.75, 3, -1),
            Tick("NQ", at(15, 0, 59), 21001.00, 1, 1))
    window.engine.clock.advance_to(at(15, 1))  # no tick needed: the bar ends on its timer
    qtbot.waitUntil(lambda: chart.bar_count == 1)
    bar = window.engine.bars.history("NQ", "1m")[-1]
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades) == (
        21000.00, 21002.50, 20999.75, 21001.00, 7, 4)
    publish(window, Tick("NQ", at(15, 1, 10), 21001.25, 2, 1))
    qtbot.waitUntil(lambda: chart.partial is not None)
    forming = chart.partial
    assert (forming.open, forming.close, forming.volume) == (21001.25, 21001.25, 2)
    assert chart.describe(0) == ("NQ 1m  2026-11-02 10:00:00 ET  O 21,000.00  H 21,002.50"
                                 "  L 20,999.75  C 21,001.00  V 7")
    # the time axis labels bar positions with New York times (15:00 UTC = 10:00 EST)
    assert chart.axis.tickStrings([0.0, 1.0, 2.0], 1.0, 1.0) == ["10:00", "10:01", ""]


def test_panning_the_chart_stops_auto_follow_and_f_restores_it(workstation, qtbot):
    window = workstation()
    chart = window.chart
    assert chart.follow_button.isChecked()
    viewport = chart.graphics.viewport()
    center = QPointF(viewport.rect().center())
    wheel = QWheelEvent(center, viewport.mapToGlobal(center), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)  # the user zooms with the mouse wheel
    assert not chart.follow_button.isChecked()
    window.actions["chart_follow"].trigger()
    assert chart.follow_button.isChecked()


def test_timeframe_hotkeys_switch_the_chart_series(workstation):
    window = workstation()
    assert window.chart.timeframe == "1m"
    window.actions["chart_next_tf"].trigger()
    assert window.chart.timeframe == "5m"
    window.actions["chart_prev_tf"].trigger()
    window.actions["chart_prev_tf"].trigger()
    assert window.chart.timeframe == "5s"


def test_view_menu_toggles_every_dock_shows_its_alt_key_and_offers_layouts(workstation):
    window = workstation()
    view = next(m for m in window.menuBar().actions() if m.text() == "&View").menu()
    texts = [a.text() for a in view.actions() if not a.isSeparator()]
    assert texts == ["Watchlist\tAlt+1", "Chart\tAlt+2", "Log\tAlt+3", "Trades\tAlt+4",
                     "Trade excursion\tAlt+5", "Orders\tAlt+6", "Account\tAlt+7",
                     "Risk\tAlt+8", "Strategies\tAlt+9", "Signals\tAlt+0", "Backtest",
                     "Price ladder", "&Reset layout", "&Layouts"]
    assert window.actions["focus_orders"].shortcut().toString() == "Alt+6"
    window.docks["log"].toggleViewAction().trigger()
    assert window.docks["log"].isHidden()
    assert window.actions["reset_layout"].shortcut().toString() == "Ctrl+Shift+R"
    window.actions["reset_layout"].trigger()
    assert not window.docks["log"].isHidden()


def test_layout_and_watchlist_are_restored_on_the_next_start(workstation, tmp_path, run):
    first = workstation(tmp_path)
    first.docks["log"].hide()
    first.docks["chart"].setFloating(True)
    first.watchlist_model.remove_row(first.watchlist_model.symbols().index("AAPL"))
    first.show_series("ES", "5m")
    first.close()
    run(first.engine.stop())

    second = workstation(tmp_path)
    assert second.docks["log"].isHidden()
    assert second.docks["chart"].isFloating()
    assert "AAPL" not in second.watchlist_model.symbols()
    assert (second.chart.symbol, second.chart.timeframe) == ("ES", "5m")
    second.reset_layout()
    assert not second.docks["log"].isHidden()
    assert not second.docks["chart"].isFloating()


def test_status_bar_shows_feed_state_exchange_clock_and_paper_badge(workstation, qtbot):
    window = workstation()
    window.engine.clock.advance_to(at(15, 0, 1))
    qtbot.waitUntil(lambda: "Exchange Mon 2026-11-02 10:00:01 ET" in window.clock_label.text())
    assert "replay feed: finished" in window.feed_label.text()
    assert window.badge.text() == "PAPER · REPLAY · Paper"
    assert "events/s" in window.rate_label.text()


def test_replay_menu_pauses_steps_and_resumes_the_feed(workstation, qtbot):
    ticks = [Tick("NQ", at(15, 0, s), 21000.00 + s * 0.25, 1, 1) for s in range(5)]
    window = workstation(events=ticks, paused=True)
    feed = window.engine.feed
    assert feed.ticks == 0
    assert window.actions["replay_pause"].shortcut().toString() == "Ctrl+P"
    window.actions["replay_step"].trigger()
    qtbot.waitUntil(lambda: feed.ticks == 1)
    assert cell(window, "NQ", 1) == "21,000.00"
    window.actions["replay_pause"].setChecked(False)
    qtbot.waitUntil(lambda: feed.ticks == 5)
    assert cell(window, "NQ", 1) == "21,001.00"
    qtbot.waitUntil(lambda: "replay feed: finished" in window.feed_label.text())
