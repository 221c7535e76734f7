"""File > Connections: keys to the keyring (never shown again), a test against a fake
Alpaca on 127.0.0.1, the live-money confirmation, and no keyring said plainly."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt

from tests.fake_alpaca import FakeAlpaca
from tests.fake_alpaca.helpers import DictKeyring, settings_for
from ui.dialogs.connections import ConnectionsDialog


@pytest.fixture
def fake():
    with FakeAlpaca() as server:
        yield server


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    before = keyring.get_keyring()
    store = DictKeyring()
    keyring.set_keyring(store)
    yield store
    keyring.set_keyring(before)


def dialog_for(qtbot, fake, tmp_path) -> ConnectionsDialog:
    dialog = ConnectionsDialog(settings_for(fake, tmp_path).alpaca)
    qtbot.addWidget(dialog)
    return dialog


def test_saved_keys_go_to_the_keyring_and_the_secret_is_never_shown_again(
        qtbot, qloop, fake, tmp_path, backend):
    dialog = dialog_for(qtbot, fake, tmp_path)
    qtbot.keyClicks(dialog.key_id, fake.key)
    qtbot.keyClicks(dialog.secret, fake.secret)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert backend.items == {("bracket-alpaca-paper", "key_id"): fake.key,
                             ("bracket-alpaca-paper", "secret_key"): fake.secret}
    assert dialog.secret.text() == ""
    assert dialog.stored.text() == (f"Using key {fake.key} from the keyring; the secret is not "
                                    "shown.")
    assert dialog.result.text() == "Keys saved to the OS keyring."


def test_test_connection_shows_the_account_and_the_market_clock(
        qtbot, qloop, fake, tmp_path, backend):
    dialog = dialog_for(qtbot, fake, tmp_path)
    qtbot.keyClicks(dialog.key_id, fake.key)
    qtbot.keyClicks(dialog.secret, fake.secret)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text() != "Testing…", timeout=10_000)
    assert dialog.result.text() == ("paper account PA3FAKE0001 · ACTIVE · buying power "
                                    "200,000.00 · market open")


def test_wrong_keys_are_reported_by_the_test(qtbot, qloop, fake, tmp_path, backend):
    dialog = dialog_for(qtbot, fake, tmp_path)
    qtbot.keyClicks(dialog.key_id, "PKWRONG")
    qtbot.keyClicks(dialog.secret, "not-the-secret")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text() != "Testing…", timeout=10_000)
    assert dialog.result.text() == ("failed: read the account: request is not authorized "
                                    "(HTTP 401)")


def test_live_money_needs_the_word_live_typed_first(qtbot, qloop, fake, tmp_path, backend):
    dialog = dialog_for(qtbot, fake, tmp_path)
    qtbot.keyClicks(dialog.key_id, "AKLIVE")
    qtbot.keyClicks(dialog.secret, "live-secret-123456")
    dialog.live.setChecked(True)
    assert not dialog.save_button.isEnabled() and not dialog.test_button.isEnabled()
    qtbot.keyClicks(dialog.confirm, "LIVE")
    assert dialog.save_button.isEnabled() and dialog.test_button.isEnabled()


def test_without_a_keyring_the_dialog_says_how_to_fix_it(qtbot, qloop, fake, tmp_path,
                                                         backend):
    keyring.set_keyring(fail.Keyring())
    dialog = dialog_for(qtbot, fake, tmp_path)
    qtbot.keyClicks(dialog.key_id, fake.key)
    qtbot.keyClicks(dialog.secret, fake.secret)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result.text().startswith("no usable OS keyring on this machine")
    assert "APCA_API_KEY_ID" in dialog.result.text()
