"""Test helpers around the fake server: settings that point at it, a fake clock, an
in-memory keyring."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import keyring.backend

from tests.fake_alpaca.server import FakeAlpaca
from workstation.alpaca.credentials import Credentials
from workstation.config import Settings, load_settings


def settings_for(fake: FakeAlpaca, tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "settings.toml"
    path.write_text(f"[alpaca]\n{extra}\n{fake.settings_toml()}", encoding="utf-8")
    return load_settings(path)


def credentials_for(fake: FakeAlpaca) -> Credentials:
    return Credentials(fake.key, fake.secret, "environment")


class DictKeyring(keyring.backend.KeyringBackend):
    """A keyring in a dict: what a desktop session's keyring does, without one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


class FakeTime:
    """Monotonic seconds that move only when something sleeps on them."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_s += seconds
        await asyncio.sleep(0)


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Yield to the loop until ``condition`` holds; fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)
