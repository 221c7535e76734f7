"""File > Connections: Alpaca keys, paper or live, the data feed, and a test.

The secret goes to the OS keyring and nowhere else (the field is cleared once saved and
never shown again); with no usable keyring the dialog says how to fix it. Live money
needs the word LIVE typed before the keys can be saved or tested. The dialog holds no
trading logic: testing is ``test_connection``, storing is ``save_credentials``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from workstation.alpaca.connection import ConnectionReport, test_connection
from workstation.alpaca.credentials import (
    Credentials,
    CredentialsError,
    load_credentials,
    save_credentials,
)
from workstation.alpaca.settings import AlpacaSettings

LIVE_PHRASE = "LIVE"
Tester = Callable[[Credentials, AlpacaSettings], Awaitable[ConnectionReport]]


def confirm_live(parent: QWidget | None = None) -> bool:
    """Live money: the trader types LIVE, at every start."""
    text, ok = QInputDialog.getText(
        parent, "Live money", f"Bracket is set to trade a LIVE Alpaca account (real money).\n"
        f"Type {LIVE_PHRASE} to go on; anything else starts the simulated market.")
    return ok and text.strip() == LIVE_PHRASE


class ConnectionsDialog(QDialog):
    market_chosen = Signal(str)  # "sim" or "alpaca", for the next session

    def __init__(self, settings: AlpacaSettings, parent: QWidget | None = None,
                 tester: Tester = test_connection, market: str = "sim") -> None:
        super().__init__(parent)
        self.setObjectName("connectionsDialog")
        self.setWindowTitle("Connections")
        self._settings = settings
        self._tester = tester
        self._task: asyncio.Task[None] | None = None
        self.key_id = QLineEdit(self)
        self.key_id.setObjectName("alpacaKeyId")
        self.key_id.setPlaceholderText("PK…")
        self.secret = QLineEdit(self)
        self.secret.setObjectName("alpacaSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.paper = QRadioButton("Paper (default)", self)
        self.live = QRadioButton("Live money", self)
        group = QButtonGroup(self)
        for button in (self.paper, self.live):
            group.addButton(button)
        (self.paper if settings.paper else self.live).setChecked(True)
        self.confirm = QLineEdit(self)
        self.confirm.setObjectName("liveConfirm")
        self.confirm.setPlaceholderText(f"type {LIVE_PHRASE} to trade real money")
        self.feed = QComboBox(self)
        self.feed.addItems(["IEX (free)", "SIP (all exchanges, subscription)"])
        self.feed.setCurrentIndex(1 if settings.feed == "sip" else 0)
        self.market = QComboBox(self)
        self.market.setObjectName("sessionMarket")
        self.market.addItems(["Simulated", "Alpaca"])
        self.market.setCurrentIndex(1 if market == "alpaca" else 0)
        self.result = QLabel(self)
        self.result.setObjectName("connectionResult")
        self.result.setWordWrap(True)
        self.stored = QLabel(self)
        self.stored.setWordWrap(True)
        self.test_button = QPushButton("&Test connection", self)
        self.save_button = QPushButton("&Save keys", self)
        close = QPushButton("Close", self)
        self.test_button.clicked.connect(self.test)
        self.save_button.clicked.connect(self.save)
        close.clicked.connect(self.accept)
        self.live.toggled.connect(self._update)
        self.confirm.textChanged.connect(self._update)
        self.key_id.textChanged.connect(self._update)
        self.secret.textChanged.connect(self._update)
        self.market.currentIndexChanged.connect(
            lambda i: self.market_chosen.emit("alpaca" if i else "sim"))
        form = QFormLayout()
        form.addRow("Alpaca key id", self.key_id)
        form.addRow("Secret", self.secret)
        account = QHBoxLayout()
        account.addWidget(self.paper)
        account.addWidget(self.live)
        form.addRow("Account", account)
        form.addRow("", self.confirm)
        form.addRow("Data feed", self.feed)
        form.addRow("Market this session", self.market)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.stored)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        self._show_stored()
        self._update()

    @property
    def paper_account(self) -> bool:
        return not self.live.isChecked()

    def _live_confirmed(self) -> bool:
        return self.paper_account or self.confirm.text().strip() == LIVE_PHRASE

    def _update(self) -> None:
        self.confirm.setVisible(not self.paper_account)
        confirmed = self._live_confirmed()
        typed = bool(self.key_id.text().strip() and self.secret.text().strip())
        self.save_button.setEnabled(confirmed and typed)
        self.test_button.setEnabled(confirmed and self._task is None)

    def _show_stored(self) -> None:
        """Which keys are in use (the key id only; a secret is never shown)."""
        try:
            found = load_credentials(self.paper_account)
        except CredentialsError as exc:
            self.stored.setText(str(exc))
            return
        self.stored.setText(f"Using key {found.key_id} from the {found.source}; the secret is "
                            "not shown.")

    def _chosen_settings(self) -> AlpacaSettings:
        return self._settings.model_copy(update={
            "paper": self.paper_account, "feed": "sip" if self.feed.currentIndex() else "iex"})

    def _typed_or_stored(self) -> Credentials:
        key, secret = self.key_id.text().strip(), self.secret.text().strip()
        if key and secret:
            return Credentials(key, secret, "dialog")
        return load_credentials(self.paper_account)

    def save(self) -> None:
        try:
            save_credentials(self.key_id.text(), self.secret.text(), self.paper_account)
        except CredentialsError as exc:
            self._say(str(exc), False)
            return
        self.secret.clear()
        self._show_stored()
        self._say("Keys saved to the OS keyring.", True)

    def test(self) -> None:
        try:
            credentials = self._typed_or_stored()
        except CredentialsError as exc:
            self._say(str(exc), False)
            return
        self._say("Testing…", True)
        self._task = asyncio.ensure_future(self._test(credentials, self._chosen_settings()))
        self._update()

    async def _test(self, credentials: Credentials, settings: AlpacaSettings) -> None:
        try:
            report = await self._tester(credentials, settings)
            self._say(report.text, report.ok)
        finally:
            self._task = None
            self._update()

    def _say(self, text: str, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(f"color: {(theme.UP if ok else theme.DOWN).name()};")
