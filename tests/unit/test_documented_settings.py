"""Every settings.toml example in the README and the plugin guide is valid as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workstation.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "strategies.md"]


def toml_examples() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S), 1):
            found.append((f"{document.name} example {number}", block))
    return found


def test_the_documents_have_settings_examples():
    assert len(toml_examples()) >= 4


@pytest.mark.parametrize(("where", "example"), toml_examples(), ids=lambda v: v[:40])
def test_a_documented_settings_example_loads(tmp_path, where, example):
    path = tmp_path / "settings.toml"
    path.write_text(re.sub(r"^  ", "", example, flags=re.M), encoding="utf-8")

    load_settings(path)  # raises ConfigError naming the key if the example is wrong
