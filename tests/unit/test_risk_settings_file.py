"""Saving [risk] to settings.toml: only risk changes, a broken file is never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.config import ConfigError
from workstation.risk.settings import PortfolioLimits, PropFirm, RiskSettings
from workstation.risk.settings_file import risk_table, save_risk

TOPSTEP = RiskSettings(prop=PropFirm(style="topstep", account_size=50_000))


def test_only_chosen_values_are_written_and_defaults_are_left_out():
    risk = RiskSettings(portfolio=PortfolioLimits(daily_loss=1_000.0, sessions_only=True))
    assert risk_table(risk) == {"portfolio": {"daily_loss": 1_000.0}}
    assert risk_table(RiskSettings()) == {}


def test_a_file_that_does_not_parse_is_reported_with_its_path_and_left_alone(tmp_path: Path):
    path = tmp_path / "settings.toml"
    path.write_text("[feed\nspeed = 2\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"settings.toml: cannot read settings"):
        save_risk(path, TOPSTEP)

    assert path.read_text(encoding="utf-8") == "[feed\nspeed = 2\n"


def test_a_file_whose_other_sections_are_invalid_is_not_written(tmp_path: Path):
    path = tmp_path / "settings.toml"
    path.write_text("[feed]\nspeed = -1\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"feed.speed: Input should be greater than 0"):
        save_risk(path, TOPSTEP)

    assert path.read_text(encoding="utf-8") == "[feed]\nspeed = -1\n"
    assert not (tmp_path / "settings.toml.bak").exists()


def test_clearing_every_limit_removes_the_risk_section(tmp_path: Path):
    path = tmp_path / "settings.toml"
    path.write_text('[risk.prop]\nstyle = "ftmo"\naccount_size = 100000\n\n[feed]\nspeed = 2.0\n',
                    encoding="utf-8")

    save_risk(path, RiskSettings())

    assert path.read_text(encoding="utf-8") == "[feed]\nspeed = 2.0\n"
