"""The workstation on the Alpaca market (a fake Alpaca on 127.0.0.1): the badge and the
status bar say where orders go and how the connections are, safe mode is shown, and
acknowledging it (confirmed) lets entries through again."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.fake_alpaca import FakeAlpaca, trade_msg
from tests.fake_alpaca.helpers import credentials_for, settings_for
from tests.ui.conftest import close_windows, open_window
from ui.main_window import MainWindow
from workstation.alpaca.market import AlpacaMarket, namespace_for
from workstation.engine import Engine

ACCOUNT = "alpaca-paper"


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


@pytest.fixture
def alpaca_window(tmp_path, qtbot, run, fake):
    windows: list[MainWindow] = []

    def _open(extra: str = "") -> MainWindow:
        settings = settings_for(fake, tmp_path, extra)
        market = AlpacaMarket(settings, credentials_for(fake), namespace_for(tmp_path, ACCOUNT))
        engine = Engine(settings, tmp_path, market.feed, account=ACCOUNT, live=market,
                        plugin_folders=[])
        window = open_window(engine, tmp_path, qtbot, run)
        windows.append(window)
        return window

    yield _open
    close_windows(windows, run)


def test_the_status_bar_shows_the_alpaca_market_and_its_connections(
        alpaca_window, qtbot, fake, tmp_path):
    window = alpaca_window()
    qtbot.waitUntil(lambda: fake.subscriptions() >= {"AAPL", "MSFT"}, timeout=10_000)
    fake.push([trade_msg("AAPL", 231.25, 100, datetime.now(UTC), 1)])
    qtbot.waitUntil(lambda: window.engine.feed.ticks == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "alpaca feed: live" in window.feed_label.text(), timeout=5_000)
    assert window.badge.text() == f"PAPER · ALPACA · {ACCOUNT}"
    assert "broker: live" in window.feed_label.text()
    if os.environ.get("BRACKET_SCREENSHOTS"):
        window.grab().save(str(tmp_path / "alpaca_workstation.png"))


def test_safe_mode_is_shown_and_acknowledged_with_a_confirmation(
        alpaca_window, qtbot, fake, monkeypatch):
    fake.set_position("AAPL", 10, 230.0)
    window = alpaca_window()
    live = window.engine.live
    assert live.safe_mode.active
    qtbot.waitUntil(lambda: "SAFE MODE: entries blocked (1 difference(s) to acknowledge)"
                    in window.feed_label.text(), timeout=5_000)
    asked: list[str] = []

    def answer(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.actions["acknowledge_safe_mode"].trigger()
    assert asked == ["reconciliation at the start found 1 difference(s) with Alpaca:\n\n"
                     "• position AAPL: Alpaca holds 10, the journal 0\n\n"
                     "Allow new entries again?"]
    assert not live.safe_mode.active


def test_any_alpaca_symbol_is_found_by_name_added_streamed_and_kept(
        alpaca_window, qtbot, fake, run):
    window = alpaca_window()
    panel = window.watchlist
    panel.adder.setFocus()
    qtbot.keyClicks(panel.adder.lineEdit(), "nvidia")
    qtbot.waitUntil(lambda: panel.suggestions.stringList() == ["NVDA — NVIDIA Corporation"],
                    timeout=5_000)
    panel.adder.lineEdit().setText("NVDA — NVIDIA Corporation")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "NVDA" in window.watchlist_model.symbols(), timeout=10_000)
    engine = window.engine
    assert engine.instruments["NVDA"].schedule == "us_equity"
    assert window.chart.symbol_box.findText("NVDA") >= 0
    qtbot.waitUntil(lambda: "NVDA" in fake.subscriptions(), timeout=10_000)
    fake.push([trade_msg("NVDA", 181.5, 10, datetime.now(UTC), 7)])
    qtbot.waitUntil(lambda: engine.market.get("NVDA").last == 181.5, timeout=10_000)


def test_a_symbol_taken_off_the_watchlist_stops_streaming_unless_it_is_charted(
        alpaca_window, qtbot, fake):
    window = alpaca_window()
    panel = window.watchlist
    qtbot.waitUntil(lambda: {"AAPL", "MSFT"} <= fake.subscriptions(), timeout=10_000)
    window.show_series("MSFT", "1m")
    panel.symbol_removed.emit("MSFT")  # as if the charted MSFT had been removed: kept

    row = window.watchlist_model.symbols().index("AAPL")
    panel.table.setCurrentIndex(window.watchlist_model.index(row, 0))
    with qtbot.waitSignal(panel.symbol_removed) as removed:
        panel.remove_selected()  # the chart moves on to another row: AAPL is let go

    qtbot.waitUntil(lambda: "AAPL" not in fake.subscriptions(), timeout=10_000)
    assert removed.args == ["AAPL"] and "AAPL" not in window.watchlist_model.symbols()
    assert window.chart.symbol != "AAPL"
    assert "MSFT" in fake.subscriptions()


def test_a_symbol_alpaca_does_not_have_is_refused_with_a_notice(alpaca_window, qtbot):
    window = alpaca_window()
    panel = window.watchlist
    problems: list[str] = []
    panel.problem.connect(problems.append)
    panel.adder.lineEdit().setText("delist")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(problems), timeout=10_000)
    assert problems == ["DELIST is not a tradable Alpaca stock or crypto pair"]
    assert "DELIST" not in window.watchlist_model.symbols()


def test_a_live_account_shows_a_red_live_badge(alpaca_window):
    window = alpaca_window("paper = false")
    assert window.badge.text() == f"LIVE MONEY · ALPACA · {ACCOUNT}"
    assert window.badge.objectName() == "badgeLive"
    assert "background: #ef4444" in window.badge.styleSheet()


def test_the_workstation_falls_back_to_the_simulated_market_without_keys_or_confirmation(
        fake, tmp_path, monkeypatch, caplog):
    import keyring
    from keyring.backends import fail

    from ui import app
    from ui.dialogs import connections

    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        no_keys = app._live_market(tmp_path, settings_for(fake, tmp_path), "alpaca")
    finally:
        keyring.set_keyring(before)
    assert no_keys is None
    assert "the Alpaca market cannot start (no usable OS keyring" in caplog.text
    monkeypatch.setenv("APCA_API_KEY_ID", fake.key)
    monkeypatch.setenv("APCA_API_SECRET_KEY", fake.secret)
    live = settings_for(fake, tmp_path, "paper = false")
    monkeypatch.setattr(connections, "confirm_live", lambda: False)
    assert app._live_market(tmp_path, live, "alpaca") is None
    monkeypatch.setattr(connections, "confirm_live", lambda: True)
    assert app._live_market(tmp_path, live, "alpaca") is not None
    assert app._live_market(tmp_path, live, "sim") is None
