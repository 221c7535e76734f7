"""The prop-firm challenge simulation on hand-made trade days with answers known exactly."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from workstation.config import ConfigError
from workstation.optimize.challenge import ChallengeRules, preset_rules, simulate, trade_days
from workstation.trades import TradeRecord

NY = ZoneInfo("America/New_York")


def rules(**values) -> ChallengeRules:
    base = {"account_size": 100_000.0, "profit_target": 1_500.0, "max_days": 3}
    return ChallengeRules(**{**base, **values})


def test_every_day_winning_passes_in_the_days_the_target_needs_with_probability_one():
    result = simulate([[300.0, 200.0]], rules(profit_target=6_000.0, daily_loss=5_000.0,
                                              max_loss=10_000.0, max_days=30),
                      paths=500, seed=3)

    assert result.pass_probability == 1.0
    assert result.days_to_pass[11] == 500  # +500 a day: 6,000 on the 12th day
    assert result.days_to_pass.sum() == 500
    assert result.days_to_pass_stats() == {"mean": 12.0, "p10": 12.0, "median": 12.0,
                                           "p90": 12.0}
    assert result.sample_paths[0, :3].tolist() == [100_000.0, 100_500.0, 101_000.0]
    assert np.isnan(result.sample_paths[0, 13])  # ended on day 12


def test_the_minimum_trading_days_delay_a_pass():
    result = simulate([[2_000.0]], rules(min_trading_days=4, max_days=10), paths=10, seed=0)
    assert result.pass_probability == 1.0 and result.days_to_pass[3] == 10


def test_exact_enumeration_gives_the_hand_computed_odds_with_a_static_max_loss():
    # Days +1,000 (U) and -600 (D), three days: UU? passes on day 2 (2 of 8 sequences);
    # DD? loses 1,200 >= 1,000 on day 2 (2 of 8); the other four end inside both limits.
    result = simulate([[1_000.0], [-600.0]], rules(max_loss=1_000.0), exact=True)

    assert result.paths == 8
    assert (result.pass_probability, result.fail_max_probability,
            result.timeout_probability) == (0.25, 0.25, 0.5)
    assert result.days_to_pass.tolist() == [0, 2, 0]


def test_an_intraday_trailing_drawdown_follows_the_high_until_it_locks_at_the_start():
    # Trailing 1,000 from the highest equity: U D D goes 101,000 (threshold locked at
    # 100,000), 100,400, 99,800 -> fails, where the static rule let it run out of time.
    result = simulate([[1_000.0], [-600.0]], rules(max_loss=1_000.0, trailing="intraday"),
                      exact=True)

    assert (result.pass_probability, result.fail_max_probability,
            result.timeout_probability) == (0.25, 0.375, 0.375)


def test_end_of_day_trailing_ignores_an_intraday_high_that_intraday_trailing_counts():
    # Day A: +800 then -800 (flat at the close, intraday high 100,800); day B: -900.
    # A then B: intraday threshold 99,800 -> 99,100 fails; end-of-day threshold stays
    # 99,000 -> survives. B first: 99,100 is above 99,000 for both.
    days = [[800.0, -800.0], [-900.0]]
    intraday = simulate(days, rules(max_loss=1_000.0, trailing="intraday", max_days=2),
                        exact=True)
    eod = simulate(days, rules(max_loss=1_000.0, trailing="eod", max_days=2), exact=True)

    # AA: fine; AB: intraday fails; BA: 99,100 + 800 = 99,900 >= thresholds; BB: 98,200 fails
    assert intraday.fail_max_probability == 0.5
    assert eod.fail_max_probability == 0.25


def test_a_day_that_ends_green_still_fails_when_its_low_broke_the_daily_loss():
    result = simulate([[-300.0, -300.0, 1_000.0]], rules(daily_loss=500.0, max_days=1),
                      exact=True)
    assert result.fail_daily_probability == 1.0 and result.pass_probability == 0.0


def test_the_same_seed_gives_the_same_odds_and_another_seed_other_paths():
    days = [[500.0], [-400.0], [150.0, -50.0], [-900.0]]
    chosen = rules(profit_target=2_000.0, daily_loss=800.0, max_loss=2_500.0, max_days=20)
    first = simulate(days, chosen, paths=30_000, seed=11)
    again = simulate(days, chosen, paths=30_000, seed=11)
    other = simulate(days, chosen, paths=30_000, seed=12)

    assert first.as_dict() == again.as_dict()
    assert first.sample_paths.tolist() != other.sample_paths.tolist() or \
        first.days_to_pass.tolist() != other.days_to_pass.tolist()
    assert first.pass_probability + first.fail_daily_probability + \
        first.fail_max_probability + first.timeout_probability == pytest.approx(1.0)
    # a -900 day breaks the 800 daily loss: every path that drew one failed by daily loss
    assert first.fail_daily_probability > 0.5


def test_presets_come_from_the_risk_gates_prop_firm_definitions():
    assert preset_rules("ftmo", 100_000) == ChallengeRules(
        100_000.0, 10_000.0, 5_000.0, 10_000.0, "static", 4, 60, "ftmo 100,000")
    topstep = preset_rules("topstep", 50_000, max_days=30)
    assert (topstep.profit_target, topstep.daily_loss, topstep.max_loss, topstep.trailing,
            topstep.max_days) == (3_000.0, 1_000.0, 2_000.0, "eod", 30)
    trailing = preset_rules("intraday_trailing", 50_000)
    assert (trailing.profit_target, trailing.daily_loss, trailing.max_loss,
            trailing.trailing) == (3_000.0, None, 2_500.0, "intraday")


def trade(exit_local: datetime, pnl: float, commission: float = 0.0) -> TradeRecord:
    ts = int(exit_local.timestamp() * 1e9)
    return TradeRecord("t", "NQ", "long", 1, 100.0, 101.0, None, None, ts - 60_000_000_000,
                       ts, 0.0, 0.0, None, None, None, pnl, commission, "exit", None, "s")


def test_trades_are_grouped_by_the_trading_day_of_their_exit_at_the_17_00_roll():
    trades = [trade(datetime(2026, 11, 3, 17, 0, tzinfo=NY), 10.0, 1.0),
              trade(datetime(2026, 11, 3, 9, 30, tzinfo=NY), 5.0),
              trade(datetime(2026, 11, 3, 17, 1, tzinfo=NY), 7.0),  # Wednesday's
              trade(datetime(2026, 11, 4, 10, 0, tzinfo=NY), -3.0)]
    assert trade_days(trades) == [[5.0, 9.0], [7.0, -3.0]]


@pytest.mark.parametrize(("values", "message"), [
    ({"profit_target": 0.0}, "profit target 0: must be positive"),
    ({"trailing": "weekly"}, "trailing 'weekly': use one of static, eod, intraday"),
    ({"max_days": 0}, "max days 0: between 1 and 1000"),
])
def test_bad_rules_are_refused_with_what_is_wrong(values, message):
    with pytest.raises(ConfigError, match=message):
        rules(**values)


def test_no_trades_or_too_many_sequences_are_refused():
    with pytest.raises(ConfigError, match="no trades"):
        simulate([], rules())
    with pytest.raises(ConfigError, match="too many"):
        simulate([[1.0], [2.0]], rules(max_days=30), exact=True)
