"""Alpaca keys: the environment first (headless runs, CI), then the OS keyring.

There is no third place. Without a usable keyring backend (no desktop session, a locked
collection) the message says how to fix it; a plain-text keyring backend is refused as
if there were none, so a secret never lands in a file by accident (invariant 8). A
loaded secret is registered with ``redaction.protect`` so no log line can carry it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import keyring
import keyring.backend
from keyring.errors import KeyringError, PasswordDeleteError

from workstation.redaction import protect

ENV_KEY_ID = "APCA_API_KEY_ID"
ENV_SECRET = "APCA_API_SECRET_KEY"
_KEY_ID = "key_id"
_SECRET = "secret_key"
_NO_BACKEND = ("fail.Keyring", "null.Keyring")  # store nothing
_PLAIN_TEXT = ("PlaintextKeyring",)  # keyrings.alt's file backend: base64, not encryption
HOW_TO_FIX = (f"set {ENV_KEY_ID} and {ENV_SECRET} in the environment, or install and unlock "
              "an OS keyring (GNOME Keyring or KWallet in a desktop session, macOS Keychain, "
              "Windows Credential Manager)")


class CredentialsError(RuntimeError):
    """No usable keys, phrased for the person who has to fix it (never holds a secret)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    key_id: str
    secret: str = field(repr=False)
    source: str  # "environment" or "keyring": said in the log, never the values

    @property
    def looks_live(self) -> bool:
        """Alpaca live keys start with AK, paper keys with PK."""
        return self.key_id.upper().startswith("AK")


def service_name(paper: bool) -> str:
    return f"bracket-alpaca-{'paper' if paper else 'live'}"


def load_credentials(paper: bool = True, environ: Mapping[str, str] | None = None
                     ) -> Credentials:
    """The keys to use, or a ``CredentialsError`` that says what to do."""
    env = os.environ if environ is None else environ
    key_id, secret = env.get(ENV_KEY_ID, "").strip(), env.get(ENV_SECRET, "").strip()
    if key_id or secret:
        missing = [name for name, value in ((ENV_KEY_ID, key_id), (ENV_SECRET, secret))
                   if not value]
        if missing:
            raise CredentialsError(f"{missing[0]} is not set (the other Alpaca variable is): "
                                   "set both, or neither to use the keyring")
        return _found(Credentials(key_id, secret, "environment"))
    backend = usable_keyring()
    service = service_name(paper)
    try:
        key_id = backend.get_password(service, _KEY_ID) or ""
        secret = backend.get_password(service, _SECRET) or ""
    except KeyringError as exc:
        raise CredentialsError(f"the OS keyring could not be read ({type(exc).__name__}): "
                               f"{HOW_TO_FIX}") from None
    if not key_id or not secret:
        raise CredentialsError(f"no Alpaca {'paper' if paper else 'live'} keys: enter them in "
                               f"File > Connections, or set {ENV_KEY_ID} and {ENV_SECRET}")
    return _found(Credentials(key_id, secret, "keyring"))


def save_credentials(key_id: str, secret: str, paper: bool = True) -> None:
    """Into the OS keyring only; refused (with what to do) when there is none."""
    key_id, secret = key_id.strip(), secret.strip()
    if not key_id or not secret:
        raise CredentialsError("both the key id and the secret are needed")
    backend = usable_keyring()
    service = service_name(paper)
    try:
        backend.set_password(service, _KEY_ID, key_id)
        backend.set_password(service, _SECRET, secret)
    except KeyringError as exc:
        raise CredentialsError(f"the OS keyring refused the keys ({type(exc).__name__}): "
                               f"{HOW_TO_FIX}") from None
    protect(secret)


def forget_credentials(paper: bool = True) -> None:
    backend = usable_keyring()
    for name in (_KEY_ID, _SECRET):
        try:
            backend.delete_password(service_name(paper), name)
        except PasswordDeleteError:
            pass
        except KeyringError as exc:
            raise CredentialsError(f"the OS keyring could not be changed "
                                   f"({type(exc).__name__}): {HOW_TO_FIX}") from None


def usable_keyring() -> keyring.backend.KeyringBackend:
    """The active backend, unless it stores nothing or stores in plain text."""
    backend = keyring.get_keyring()
    inner = getattr(backend, "backends", None)
    candidates = list(inner) if inner is not None else [backend]
    names = [f"{type(b).__module__}.{type(b).__name__}" for b in candidates]
    if not candidates or all(n.endswith(_NO_BACKEND) for n in names):
        raise CredentialsError(f"no usable OS keyring on this machine ({', '.join(names) or 'none'}"
                               f"): {HOW_TO_FIX}")
    if names[0].endswith(_PLAIN_TEXT):
        raise CredentialsError(f"the keyring backend stores secrets in plain text ({names[0]}); "
                               f"Bracket will not use it: {HOW_TO_FIX}")
    return backend


def _found(credentials: Credentials) -> Credentials:
    protect(credentials.secret)
    return credentials
