"""Property tests of the settings loader: whatever a settings document holds, loading it
gives a Settings or a ConfigError naming the file, never another exception and never a
non-finite number in the settings (issue 11)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.config import ConfigError, Settings, load_settings, settings_from_document

WHERE = Path("settings.toml")

# Names of real settings at every level, so generated documents reach the models' fields
KEYS = ["instruments", "watchlist", "timeframes", "feed", "store", "paper", "risk",
        "strategies", "signals", "speed", "seed", "flush_rows", "store_ticks", "symbol",
        "tick_size", "point_value", "lot_size", "asset_class", "schedule", "sim", "price",
        "starting_cash", "fills", "per_instrument", "instances", "instance_id", "strategy",
        "params", "symbols", "window_start", "portfolio", "order", "daily_loss", "prop",
        "style", "account_size", "rules", "windows", "start", "end", "target_r", "webhook",
        "enabled", "token", "timeframe", "NQ", "ES", "x"]

scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.25, 1e-300, 1e300, 2**63, "1m", "NQ", "future", "cme_globex",
                     "99999999999999999999m", "08:30", "yes", "", "\x00", "\ud800", "*"]),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=30)
documents = st.dictionaries(keys, values, max_size=6)


def _finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite_everywhere(v) for v in value)
    return True


def _loads_or_refuses(document: dict[str, Any]) -> None:
    try:
        loaded = settings_from_document(document, WHERE)
    except ConfigError as exc:
        assert str(exc).startswith(f"{WHERE}: ")
        assert "\n" not in str(exc)
        return
    assert isinstance(loaded, Settings)
    assert _finite_everywhere(loaded.model_dump())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_document_gives_settings_or_a_config_error(document):
    _loads_or_refuses(document)


def _with_leaf(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the leaf that ``path`` picks (indexes into each level) replaced."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    if isinstance(document, dict):
        key = list(document)[path[0] % len(document)]
        return {**document, key: _with_leaf(document[key], path[1:], value)}
    index = path[0] % len(document)
    return [*document[:index], _with_leaf(document[index], path[1:], value), *document[index + 1:]]


VALID = {
    "watchlist": ["NQ", "AAPL"],
    "timeframes": ["1m", "5m"],
    "instruments": [
        {"symbol": "NQ", "tick_size": 0.25, "point_value": 20.0, "asset_class": "future",
         "schedule": "cme_globex", "sim": {"price": 21000.0, "daily_vol": 0.016}},
        {"symbol": "AAPL", "tick_size": 0.01, "asset_class": "equity", "schedule": "us_equity"},
    ],
    "feed": {"speed": 10, "seed": 3},
    "store": {"flush_rows": 500, "store_ticks": False},
    "paper": {"starting_cash": 50000, "fills": {"slippage": "fixed", "latency_ms": 5.0},
              "per_instrument": {"NQ": {"commission": 2.0}}},
    "risk": {"portfolio": {"daily_loss": 1000.0, "loss_streak": 3},
             "strategies": {"sma-nq": {"daily_loss": 300.0}},
             "prop": {"style": "topstep", "account_size": 50000}},
    "strategies": {"instances": [{"instance_id": "sma-nq", "strategy": "SMA crossover",
                                  "params": {"fast": 5, "stop_points": 10.0},
                                  "symbols": ["NQ"], "window_start": "08:35"}]},
    "signals": {"timeframe": "1m", "target_r": [1.0, 2.0],
                "rules": {"NQ": {"windows": [{"start": "08:30", "end": "15:00"}]}}},
}


def test_the_valid_base_document_loads():
    assert isinstance(settings_from_document(VALID, WHERE), Settings)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6), values)
def test_a_valid_document_with_any_one_value_replaced_loads_or_is_refused(path, value):
    _loads_or_refuses(_with_leaf(VALID, path, value))


toml_scalars = st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                         st.floats(allow_nan=True, allow_infinity=True),
                         st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6), toml_values)
def test_a_settings_file_with_any_one_value_replaced_loads_or_is_refused(tmp_path, path, value):
    file = tmp_path / "settings.toml"
    file.write_text(tomli_w.dumps(_with_leaf(VALID, path, value)), encoding="utf-8")

    try:
        loaded = load_settings(file)
    except ConfigError as exc:
        assert str(exc).startswith(f"{file}: ")
        return
    assert _finite_everywhere(loaded.model_dump())
