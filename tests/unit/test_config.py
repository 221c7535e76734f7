"""Settings (typed, validated, frozen) and the Bracket home folder."""

from __future__ import annotations

import json
import sys
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from workstation.config import (
    HOME_ENV,
    ConfigError,
    InstrumentSettings,
    Settings,
    load_settings,
    resolve_home,
)
from workstation.model import AssetClass
from workstation.strategies.instances import InstanceError, InstanceSettings


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


# -- defaults -------------------------------------------------------------------------------
def test_default_settings_include_nq_with_tick_quarter_point_and_point_value_20():
    nq = Settings().instrument_map()["NQ"]

    assert nq.tick_size == 0.25
    assert nq.point_value == 20.0
    assert nq.asset_class is AssetClass.FUTURE
    assert nq.schedule == "cme_globex"


def test_default_settings_include_es_with_point_value_50():
    es = Settings().instrument_map()["ES"]

    assert es.tick_size == 0.25
    assert es.point_value == 50.0


def test_default_settings_list_five_instruments_all_on_the_watchlist_with_simulation():
    settings = Settings()

    assert [item.symbol for item in settings.instruments] == ["NQ", "ES", "AAPL", "MSFT",
                                                              "BTC/USD"]
    assert settings.watchlist == ["NQ", "ES", "AAPL", "MSFT", "BTC/USD"]
    assert all(item.sim is not None for item in settings.instruments)


def test_default_equities_trade_in_cents_on_the_us_equity_schedule():
    instruments = Settings().instrument_map()

    for symbol in ("AAPL", "MSFT"):
        assert (instruments[symbol].tick_size, instruments[symbol].schedule) == (0.01,
                                                                                 "us_equity")


def test_default_feed_and_store_settings():
    settings = Settings()

    assert (settings.feed.kind, settings.feed.speed, settings.feed.seed) == ("sim", 1.0, 7)
    assert settings.store.flush_rows == 20_000
    assert settings.store.store_ticks is True
    assert settings.timeframes == ["5s", "1m", "5m", "15m", "1h", "1d"]


def test_settings_are_frozen():
    settings = Settings()

    with pytest.raises(ValidationError):
        settings.feed.speed = 5.0  # type: ignore[misc]


# -- loading a file ------------------------------------------------------------------------
def test_a_missing_settings_file_means_the_defaults(tmp_path):
    assert load_settings(tmp_path / "settings.toml") == Settings()


def test_a_settings_file_overrides_only_what_it_names(tmp_path):
    path = settings_file(tmp_path, "[feed]\nspeed = 10\nseed = 3\n\n[store]\nstore_ticks = false\n")

    settings = load_settings(path)

    assert (settings.feed.speed, settings.feed.seed) == (10.0, 3)
    assert settings.store.store_ticks is False
    assert settings.store.flush_rows == 20_000
    assert settings.instrument_map()["NQ"].point_value == 20.0


def test_an_unknown_key_is_reported_with_the_file_and_the_dotted_key(tmp_path):
    path = settings_file(tmp_path, "[feed]\nsped = 2\n")

    assert load_error(path) == f"{path}: feed.sped: Extra inputs are not permitted"


def test_an_unknown_top_level_key_is_reported(tmp_path):
    path = settings_file(tmp_path, "colour = 'red'\n")

    assert load_error(path) == f"{path}: colour: Extra inputs are not permitted"


def test_a_bad_value_is_reported_with_the_file_and_the_dotted_key(tmp_path):
    path = settings_file(tmp_path, "[feed]\nspeed = -1\n")

    assert load_error(path) == f"{path}: feed.speed: Input should be greater than 0"


def test_a_value_of_the_wrong_type_is_reported(tmp_path):
    path = settings_file(tmp_path, "[feed]\nseed = 'abc'\n")

    message = load_error(path)

    assert message.startswith(f"{path}: feed.seed: Input should be a valid integer")


def test_a_bad_instrument_value_names_its_position_in_the_list(tmp_path):
    path = settings_file(tmp_path, "watchlist = ['NQ']\n\n[[instruments]]\nsymbol = 'NQ'\n"
                                   "tick_size = -0.25\nasset_class = 'future'\n"
                                   "schedule = 'cme_globex'\n")

    assert load_error(path) == (f"{path}: instruments.0.tick_size: Input should be greater "
                                "than or equal to 0.0000000001")


def test_an_unknown_schedule_is_reported_with_the_known_ones(tmp_path):
    path = settings_file(tmp_path, "watchlist = ['NQ']\n\n[[instruments]]\nsymbol = 'NQ'\n"
                                   "tick_size = 0.25\nasset_class = 'future'\n"
                                   "schedule = 'lunar'\n")

    message = load_error(path)

    assert message.startswith(f"{path}: instruments.0.schedule: ")
    assert "unknown schedule 'lunar'" in message
    assert "cme_globex" in message


def test_several_problems_are_reported_together(tmp_path):
    path = settings_file(tmp_path, "[feed]\nspeed = 0\nsped = 1\n\n[store]\nflush_rows = 0\n")

    message = load_error(path)

    assert "feed.speed: Input should be greater than 0" in message
    assert "feed.sped: Extra inputs are not permitted" in message
    assert "store.flush_rows: Input should be greater than or equal to 1" in message


def test_a_watchlist_naming_an_unknown_instrument_is_refused(tmp_path):
    path = settings_file(tmp_path, "watchlist = ['NQ', 'ZZ']\n")

    message = load_error(path)

    assert message.startswith(f"{path}: ")
    assert "watchlist names unknown instruments: ZZ" in message


def test_a_bad_timeframe_is_refused(tmp_path):
    path = settings_file(tmp_path, "timeframes = ['1m', '7x']\n")

    message = load_error(path)

    assert message.startswith(f"{path}: timeframes: ")
    assert "'7x'" in message


def test_a_file_that_is_not_toml_is_reported_with_the_file(tmp_path):
    path = settings_file(tmp_path, "[feed\nspeed = 1\n")

    message = load_error(path)

    assert message.startswith(f"{path}: cannot read settings: ")
    assert "line 1" in message


def test_instrument_symbols_must_be_unique():
    nq = {"symbol": "NQ", "tick_size": 0.25, "asset_class": "future", "schedule": "cme_globex"}

    with pytest.raises(ValidationError, match="instrument symbols appear twice: NQ"):
        Settings(instruments=[InstrumentSettings(**nq), InstrumentSettings(**nq)],
                 watchlist=["NQ"])


# -- the home folder -----------------------------------------------------------------------
def test_the_explicit_home_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from_env"))

    home = resolve_home(tmp_path / "explicit")

    assert home == (tmp_path / "explicit").resolve()
    assert (home / "plugins").is_dir()
    assert not (tmp_path / "from_env").exists()


def test_the_environment_is_used_without_an_explicit_home(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from_env"))

    home = resolve_home(None)

    assert home == (tmp_path / "from_env").resolve()
    assert (home / "plugins").is_dir()


def test_resolving_an_existing_home_again_keeps_its_files(tmp_path):
    home = resolve_home(tmp_path / "home")
    (home / "plugins" / "mine.py").write_text("# a user's plugin\n", encoding="utf-8")

    again = resolve_home(str(tmp_path / "home"))

    assert again == home
    assert (home / "plugins" / "mine.py").read_text(encoding="utf-8") == "# a user's plugin\n"


@pytest.mark.skipif(sys.platform != "linux", reason="platformdirs follows XDG only on Linux")
def test_without_explicit_home_or_environment_the_user_data_dir_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    home = resolve_home()

    assert home == (tmp_path / "data" / "Bracket").resolve()
    assert (home / "plugins").is_dir()


def test_a_home_that_cannot_be_created_raises_config_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")

    with pytest.raises(ConfigError, match="cannot create the Bracket home"):
        resolve_home(blocker / "home")


# -- strict types: nothing coerced, nothing non-finite, nothing unstorable (issue 11.11) -----
def instance_file(tmp_path: Path, body: str) -> Path:
    return settings_file(tmp_path, f"[[strategies.instances]]\ninstance_id = 'a'\n"
                                   f"strategy = 'SMA crossover'\n{body}")


@pytest.mark.parametrize(("text", "expected"), [
    ("[feed]\nseed = true\n", "feed.seed: Input should be a valid integer"),
    ("[store]\nflush_rows = true\n", "store.flush_rows: Input should be a valid integer"),
    ("[store]\nflush_rows = 2.0\n", "store.flush_rows: Input should be a valid integer"),
    ("[store]\nstore_ticks = 'yes'\n", "store.store_ticks: Input should be a valid boolean"),
    ("[store]\nstore_ticks = 1\n", "store.store_ticks: Input should be a valid boolean"),
    ("[feed]\nspeed = '10'\n", "feed.speed: Input should be a valid number"),
    ("[risk.portfolio]\nsessions_only = 'false'\n",
     "risk.portfolio.sessions_only: Input should be a valid boolean"),
    ("[signals]\nexpiry_bars = 5.0\n", "signals.expiry_bars: Input should be a valid integer"),
])
def test_a_value_of_another_type_is_refused_not_coerced(tmp_path, text, expected):
    path = settings_file(tmp_path, text)

    assert load_error(path) == f"{path}: {expected}"


def test_a_whole_number_is_still_a_valid_decimal_setting(tmp_path):
    path = settings_file(tmp_path, "[paper]\nstarting_cash = 50000\n")

    assert load_settings(path).paper.starting_cash == 50_000.0


def test_an_absurd_timeframe_is_refused_with_a_clear_message(tmp_path):
    path = settings_file(tmp_path, "timeframes = ['1m', '99999999999999999999m']\n")

    assert load_error(path) == (f"{path}: timeframes: timeframe '99999999999999999999m' is "
                                "longer than a day; use at most 24h or 1d")


def test_an_absurd_instance_timeframe_is_refused_naming_the_instance(tmp_path):
    path = instance_file(tmp_path, "timeframes = ['1000000000000t']\n")

    assert load_error(path) == (f"{path}: strategies.instances.0.timeframes: timeframe "
                                "'1000000000000t': at most 10,000,000 per bar")


@pytest.mark.parametrize(("text", "where", "value"), [
    ("[paper]\nstarting_cash = inf\n", "paper.starting_cash", "inf"),
    ("[feed]\nspeed = nan\n", "feed.speed", "nan"),
    ("[signals]\ntarget_r = [1.0, -inf]\n", "signals.target_r.1", "-inf"),
    ("[risk.portfolio]\ndaily_loss = nan\n", "risk.portfolio.daily_loss", "nan"),
])
def test_a_non_finite_number_is_refused_naming_the_setting(tmp_path, text, where, value):
    path = settings_file(tmp_path, text)

    assert load_error(path) == f"{path}: {where}: {value} is not a finite number"


def test_a_non_finite_strategy_parameter_is_refused_naming_the_parameter(tmp_path):
    path = instance_file(tmp_path, "params = { stop_points = nan }\n")

    assert load_error(path) == (f"{path}: strategies.instances.0.params.stop_points: nan is "
                                "not a finite number")


def test_a_strategy_parameter_that_is_a_table_is_refused(tmp_path):
    path = instance_file(tmp_path, "params = { fast = { a = 1 } }\n")

    assert load_error(path) == (f"{path}: strategies.instances.0.params: fast: {{'a': 1}} is "
                                "not a number, true/false or text")


def test_a_non_finite_number_built_in_code_is_refused_too():
    nq = {"symbol": "NQ", "tick_size": float("nan"), "asset_class": "future",
          "schedule": "cme_globex"}

    with pytest.raises(ValidationError, match="Input should be a finite number"):
        InstrumentSettings(**nq)


def test_a_stored_instance_with_a_non_finite_parameter_is_refused_naming_it():
    with pytest.raises(InstanceError, match="strategy instance a: params: fast: nan is not a "
                                            "finite number"):
        InstanceSettings.from_dict(json.loads('{"instance_id": "a", "strategy": "S", '
                                              '"params": {"fast": NaN}}'))


def test_a_stored_instance_with_a_window_as_text_loads():
    settings = InstanceSettings.from_dict({"instance_id": "a", "strategy": "S",
                                           "symbols": ["NQ"], "window_start": "08:35:00"})

    assert (settings.symbols, settings.window_start) == (("NQ",), time(8, 35))


def test_a_window_given_as_a_number_is_refused(tmp_path):
    path = instance_file(tmp_path, "window_start = 930\n")

    assert load_error(path) == (f"{path}: strategies.instances.0.window_start: 930 is not a "
                                "time of day; write it as \"08:30\"")


def test_a_tick_size_far_below_any_market_is_refused(tmp_path):
    path = settings_file(tmp_path, "watchlist = ['X']\n\n[[instruments]]\nsymbol = 'X'\n"
                                   "tick_size = 1e-300\nasset_class = 'crypto'\n"
                                   "schedule = 'crypto_24_7'\n")

    assert load_error(path) == (f"{path}: instruments.0.tick_size: Input should be greater "
                                "than or equal to 0.0000000001")


def test_an_empty_instrument_list_is_refused_with_a_clear_message(tmp_path):
    path = settings_file(tmp_path, "instruments = []\nwatchlist = []\n")

    assert load_error(path) == (f"{path}: instruments: at least one instrument is needed (or "
                                "leave instruments out for the defaults)")


def test_deeply_nested_arrays_are_refused_without_a_recursion_error(tmp_path):
    path = settings_file(tmp_path, "timeframes = " + "[" * 5000 + "]" * 5000 + "\n")

    assert load_error(path) == (f"{path}: cannot read settings: tables or arrays are nested "
                                "too deeply")


def test_deeply_nested_tables_are_refused_naming_where(tmp_path):
    path = instance_file(tmp_path, "[strategies.instances.params" + ".x" * 40 + "]\n")

    message = load_error(path)

    assert message.startswith(f"{path}: strategies.instances.0.params.x.x.x")
    assert message.endswith(": nested more than 16 tables or arrays deep")


def test_duplicate_instance_ids_are_refused_naming_the_id(tmp_path):
    path = settings_file(tmp_path, "[[strategies.instances]]\ninstance_id = 'sma-nq'\n"
                                   "strategy = 'SMA crossover'\n\n"
                                   "[[strategies.instances]]\ninstance_id = 'sma-nq'\n"
                                   "strategy = 'Momentum signals'\n")

    assert load_error(path) == (f"{path}: strategies.instances: instance id sma-nq is used "
                                "twice; ids are unique")


def test_text_with_a_control_character_is_refused_naming_the_setting(tmp_path):
    path = settings_file(tmp_path, "watchlist = ['NQ']\n\n[[instruments]]\nsymbol = 'NQ'\n"
                                   "tick_size = 0.25\nasset_class = 'future'\n"
                                   "schedule = 'cme_globex'\ndescription = \"ab\\u0001c\"\n")

    assert load_error(path) == (f"{path}: instruments.0.description: a control character "
                                "(U+0001) at character 3 cannot be stored")


def test_text_with_a_control_character_built_in_code_is_refused():
    with pytest.raises(ValidationError, match=r"a control character \(U\+001B\) at character 1"):
        InstanceSettings(instance_id="a", strategy="\x1b[31mred")


def test_a_key_with_a_newline_is_refused_on_one_line(tmp_path):
    path = settings_file(tmp_path, '[feed]\n"sp\\need" = 1\n')

    assert load_error(path) == (f"{path}: feed: key 'sp\\need' holds characters that cannot "
                                "be shown")


def test_the_alert_endpoint_settings_are_strict_too(tmp_path):
    path = settings_file(tmp_path, '[signals.webhook]\nenabled = "yes"\n')

    assert "signals.webhook.enabled" in load_error(path)
