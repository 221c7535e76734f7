"""Alpaca keys come from the environment, then the OS keyring, and from nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked

from tests.fake_alpaca.helpers import DictKeyring
from workstation.alpaca.credentials import (
    ENV_KEY_ID,
    ENV_SECRET,
    CredentialsError,
    forget_credentials,
    load_credentials,
    save_credentials,
)
from workstation.config import ConfigError, load_settings

SECRET = "sk-test-0123456789abcdef"


class LockedKeyring(DictKeyring):
    def get_password(self, service, username):
        raise KeyringLocked("the collection is locked")


class PlaintextKeyring(DictKeyring):
    """Named like keyrings.alt's file backend (base64, not encryption)."""


@pytest.fixture
def use_keyring() -> Iterator[callable]:
    before = keyring.get_keyring()

    def use(backend):
        keyring.set_keyring(backend)
        return backend

    yield use
    keyring.set_keyring(before)


def test_environment_variables_win_over_the_keyring(use_keyring):
    store = use_keyring(DictKeyring())
    save_credentials("PKFROMKEYRING", "keyring-secret-123", paper=True)
    found = load_credentials(True, {ENV_KEY_ID: "PKFROMENV", ENV_SECRET: SECRET})
    assert (found.key_id, found.secret, found.source) == ("PKFROMENV", SECRET, "environment")
    assert store.items  # the keyring was left alone


def test_keys_saved_to_the_keyring_are_loaded_back_for_the_same_account_kind(use_keyring):
    use_keyring(DictKeyring())
    save_credentials("PKPAPER", SECRET, paper=True)
    found = load_credentials(True, {})
    assert (found.key_id, found.secret, found.source) == ("PKPAPER", SECRET, "keyring")
    with pytest.raises(CredentialsError, match="no Alpaca live keys"):
        load_credentials(False, {})


def test_forgotten_keys_are_gone(use_keyring):
    use_keyring(DictKeyring())
    save_credentials("PKPAPER", SECRET)
    forget_credentials()
    with pytest.raises(CredentialsError, match="no Alpaca paper keys"):
        load_credentials(True, {})


def test_only_one_environment_variable_is_named_as_missing(use_keyring):
    use_keyring(DictKeyring())
    with pytest.raises(CredentialsError, match=f"^{ENV_SECRET} is not set"):
        load_credentials(True, {ENV_KEY_ID: "PKX"})


def test_no_keyring_backend_says_how_to_fix_it_and_stores_nothing(use_keyring, tmp_path):
    use_keyring(fail.Keyring())
    with pytest.raises(CredentialsError) as caught:
        save_credentials("PKX", SECRET)
    message = str(caught.value)
    assert message.startswith("no usable OS keyring on this machine")
    assert ENV_KEY_ID in message and ENV_SECRET in message
    assert SECRET not in message
    with pytest.raises(CredentialsError, match="no usable OS keyring"):
        load_credentials(True, {})


def test_a_plain_text_keyring_backend_is_refused(use_keyring):
    store = use_keyring(PlaintextKeyring())
    with pytest.raises(CredentialsError, match="stores secrets in plain text"):
        save_credentials("PKX", SECRET)
    assert store.items == {}


def test_a_locked_keyring_is_reported_without_a_traceback(use_keyring):
    use_keyring(LockedKeyring())
    with pytest.raises(CredentialsError, match=r"could not be read \(KeyringLocked\)"):
        load_credentials(True, {})


def test_credentials_never_show_the_secret_in_their_repr(use_keyring):
    found = load_credentials(True, {ENV_KEY_ID: "PKX", ENV_SECRET: SECRET})
    assert SECRET not in repr(found)


def test_a_loaded_secret_is_masked_in_every_log_line(use_keyring, caplog):
    load_credentials(True, {ENV_KEY_ID: "PKX", ENV_SECRET: SECRET})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("the secret is %s", SECRET)
    assert SECRET not in caplog.text


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_keys_in_settings_are_refused_without_echoing_them(tmp_path):
    path = write(tmp_path, f'[alpaca]\nkey_id = "PKX"\nsecret_key = "{SECRET}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "alpaca.key_id, alpaca.secret_key" in message
    assert "keyring" in message and ENV_KEY_ID in message
    assert SECRET not in message


def test_alpaca_defaults_to_paper_trading_and_the_iex_feed(tmp_path):
    alpaca = load_settings(tmp_path / "missing.toml").alpaca
    assert alpaca.paper and alpaca.feed == "iex"
    assert alpaca.trading_url() == "https://paper-api.alpaca.markets"
    assert alpaca.stock_stream_url() == "wss://stream.data.alpaca.markets/v2/iex"
    assert alpaca.trade_stream_url() == "wss://paper-api.alpaca.markets/stream"


def test_live_trading_and_sip_need_saying_so(tmp_path):
    alpaca = load_settings(write(tmp_path, '[alpaca]\npaper = false\nfeed = "sip"\n')).alpaca
    assert alpaca.trading_url() == "https://api.alpaca.markets"
    assert alpaca.stock_stream_url() == "wss://stream.data.alpaca.markets/v2/sip"


def test_every_endpoint_can_point_at_a_local_plain_server(tmp_path):
    path = write(tmp_path, """[alpaca.endpoints]
trading = "http://127.0.0.1:8001/"
data = "http://127.0.0.1:8002"
stock_stream = "ws://127.0.0.1:8003/v2/iex"
crypto_stream = "ws://localhost:8003/v1beta3/crypto/us"
trade_stream = "ws://127.0.0.1:8004/stream"
""")
    alpaca = load_settings(path).alpaca
    assert alpaca.trading_url() == "http://127.0.0.1:8001"
    assert alpaca.data_url() == "http://127.0.0.1:8002"
    assert alpaca.stock_stream_url() == "ws://127.0.0.1:8003/v2/iex"
    assert alpaca.crypto_stream_url() == "ws://localhost:8003/v1beta3/crypto/us"
    assert alpaca.trade_stream_url() == "ws://127.0.0.1:8004/stream"


def test_a_plain_endpoint_on_another_host_is_refused(tmp_path):
    path = write(tmp_path, '[alpaca.endpoints]\ntrading = "http://proxy.example.com"\n')
    with pytest.raises(ConfigError, match=r"alpaca\.endpoints\.trading: .*only on 127\.0\.0\.1"):
        load_settings(path)


def test_a_stream_endpoint_must_be_a_websocket_url(tmp_path):
    path = write(tmp_path, '[alpaca.endpoints]\nstock_stream = "https://x.example.com"\n')
    with pytest.raises(ConfigError, match=r"stock_stream: .*must start with wss://"):
        load_settings(path)
