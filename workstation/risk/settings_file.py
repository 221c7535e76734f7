"""Writing the ``[risk]`` section of settings.toml (the Risk settings dialog's save).

The file is read, only ``risk`` is replaced, and the whole result is validated as
Settings before anything is written: a bad value is refused with its dotted key and
the file stays as it was. Other sections and values are kept; TOML comments cannot
be carried through a parser, so the previous file is kept beside it as
``settings.toml.bak``. The write is atomic (a temporary file, then a rename).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from workstation.config import ConfigError, Settings
from workstation.risk.settings import RiskSettings

BACKUP_SUFFIX = ".bak"


def risk_table(risk: RiskSettings) -> dict[str, Any]:
    """``risk`` as TOML data: values left at their defaults and unset limits are left out,
    so the file says only what the trader chose."""
    return _without_empty(risk.model_dump(mode="json", exclude_none=True,
                                          exclude_defaults=True))


def validated_risk(data: dict[str, Any]) -> RiskSettings:
    """RiskSettings from plain data, or ConfigError naming the setting (``risk.prop...``)."""
    try:
        return RiskSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, "risk")) from None


def save_risk(path: Path, risk: RiskSettings) -> Settings:
    """Replace ``[risk]`` in the settings file at ``path`` (created if missing); returns the
    settings the next start will load. Raises ConfigError, leaving the file untouched."""
    raw: dict[str, Any] = {}
    old_text = None
    if path.exists():
        try:
            old_text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(old_text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    table = risk_table(risk)
    if table:
        raw["risk"] = table
    else:
        raw.pop("risk", None)
    try:
        settings = Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_problems(exc, '')}") from None
    text = tomli_w.dumps(raw)
    temporary = path.with_name(path.name + ".tmp")
    try:
        if old_text is not None:
            path.with_name(path.name + BACKUP_SUFFIX).write_text(old_text, encoding="utf-8")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write settings: {exc.strerror or exc}") from None
    return settings


def _problems(exc: ValidationError, prefix: str) -> str:
    return "; ".join(
        f"{'.'.join([prefix] * bool(prefix) + [str(p) for p in err['loc']]) or '(top level)'}: "
        f"{err['msg']}" for err in exc.errors())


def _without_empty(data: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _without_empty(value)
            if not value:
                continue
        cleaned[key] = value
    return cleaned
