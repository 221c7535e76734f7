"""Backtest metrics: hand-worked figures on tiny curves, empyrical's conventions, the 17:00
New York trading day, and None (never NaN) where a figure is undefined."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from workstation.backtest.metrics import (
    METRICS,
    compute_metrics,
    daily_returns,
    format_metric,
    monthly_returns,
    r_histogram,
    trading_day_closes,
)
from workstation.model import NS_PER_SECOND
from workstation.portfolio import next_day_roll
from workstation.sessions import NEW_YORK
from workstation.trades import TradeRecord

CASH = 100_000.0
HOUR_NS = 3600 * NS_PER_SECOND


def curve(points: dict[str, float]) -> pd.Series:
    """An equity curve from {"UTC time": equity}."""
    return pd.Series(list(points.values()), index=pd.DatetimeIndex(list(points), tz="UTC"),
                     dtype="float64")


def trade(trade_id: str, gross: float, commission: float, *, r: float | None = None,
          mfe_r: float | None = None, mae_r: float | None = None, exit_h: int = 1,
          held_s: int = 60) -> TradeRecord:
    exit_ts = 1_767_600_000 * NS_PER_SECOND + exit_h * HOUR_NS
    return TradeRecord(
        trade_id=trade_id, symbol="NQ", side="long", qty=1.0, entry=100.0, exit=101.0,
        stop=99.0, target=None, entry_ts=exit_ts - held_s * NS_PER_SECOND, exit_ts=exit_ts,
        mfe_points=0.0, mae_points=0.0, mfe_r=mfe_r, mae_r=mae_r, r_multiple=r,
        realized_pnl=gross, commission=commission, exit_reason="manual", break_even_ts=None,
        source="test")


def days(series: pd.Series) -> list[str]:
    return [d.date().isoformat() for d in series.index]


def assert_plain(figures: dict) -> None:
    """Every figure is None, an int or a finite float: never NaN, inf or a numpy scalar."""
    assert list(figures) == list(METRICS)
    for key, value in figures.items():
        assert value is None or type(value) in (int, float), (key, value)
        assert value is None or math.isfinite(value), (key, value)


# Three trading days in January (New York is UTC-5: 17:00 there is 22:00 UTC).
# Day closes 101,000; 99,990; 101,989.8, so the daily returns are +1 %, -1 %, +2 %.
THREE_DAYS = curve({
    "2026-01-05 15:00": 100_500.0,
    "2026-01-05 21:00": 101_000.0,   # close of Jan 5
    "2026-01-06 15:00": 96_960.0,    # 101,000 * 0.96: the intraday low
    "2026-01-06 22:00": 99_990.0,    # 17:00 New York exactly: still Jan 6's close
    "2026-01-07 21:00": 101_989.8,   # 99,990 * 1.02: close of Jan 7
})


# -- returns-based figures on the three-day curve --------------------------------------------
def test_day_closes_are_each_trading_days_last_equity():
    closes = trading_day_closes(THREE_DAYS)
    assert days(closes) == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert closes.tolist() == [101_000.0, 99_990.0, 101_989.8]
    assert closes.index.tz is None and closes.index.name == "day"


def test_first_daily_return_is_against_starting_cash():
    returns = daily_returns(trading_day_closes(THREE_DAYS), CASH)
    assert returns.tolist() == pytest.approx([0.01, -0.01, 0.02], rel=1e-12)


def test_returns_based_figures_match_the_hand_arithmetic():
    m = compute_metrics(THREE_DAYS, [], starting_cash=CASH, exposure=0.25)
    # r = [0.01, -0.01, 0.02]; mean = 0.02 / 3; deviations from it (in 1/300ths): 1, -5, 4
    # sample variance = (1 + 25 + 16) / 90000 / 2 = 21 / 90000, std = sqrt(21) / 300
    # sharpe = (0.02 / 3) / (sqrt(21) / 300) * sqrt(252) = 2 / sqrt(21) * sqrt(252) = 4 sqrt(3)
    assert m["sharpe"] == pytest.approx(4 * math.sqrt(3), rel=1e-12)
    # annual volatility = sqrt(21) / 300 * sqrt(252) = 21 sqrt(12) / 300 = 0.14 sqrt(3)
    assert m["annual_volatility"] == pytest.approx(0.14 * math.sqrt(3), rel=1e-12)
    # downside deviation = sqrt((0 + 0.01^2 + 0) / 3) = 0.01 / sqrt(3)
    # sortino = (0.02 / 3 * 252) / (0.01 / sqrt(3) * sqrt(252))
    #         = 1.68 / (0.01 sqrt(84)) = 4 sqrt(21)
    assert m["sortino"] == pytest.approx(4 * math.sqrt(21), rel=1e-12)
    # growth 1.01 * 0.99 * 1.02 = 1.019898 over 3 days: cagr = 1.019898 ** (252 / 3) - 1
    assert m["cagr"] == pytest.approx(1.019898 ** 84 - 1, rel=1e-12)
    # daily peaks 100,000 -> 101,000; Jan 6 closes at 99,990: 99,990 / 101,000 - 1 = -1 %
    assert m["max_drawdown"] == pytest.approx(-0.01, rel=1e-12)
    assert m["calmar"] == pytest.approx((1.019898 ** 84 - 1) / 0.01, rel=1e-12)
    # the bar-level low 96,960 under the 101,000 peak: -4 %
    assert m["max_drawdown_intraday"] == pytest.approx(-0.04, rel=1e-12)
    # peak Jan 5, back above it Jan 7: two calendar days
    assert m["max_drawdown_duration_days"] == 2
    assert m["net_profit"] == pytest.approx(1_989.8, abs=1e-9)
    assert m["total_return"] == pytest.approx(0.019898, rel=1e-12)
    assert m["final_equity"] == 101_989.8
    assert m["trading_days"] == 3
    assert m["exposure"] == 0.25
    assert_plain(m)


def test_starting_cash_is_the_first_peak_of_both_drawdowns():
    # never above the starting cash: 98,000 is 2 % under it
    m = compute_metrics(curve({"2026-01-05 15:00": 99_000.0, "2026-01-05 20:00": 98_000.0}),
                        [], starting_cash=CASH, exposure=0.0)
    assert m["max_drawdown"] == pytest.approx(-0.02, rel=1e-12)
    assert m["max_drawdown_intraday"] == pytest.approx(-0.02, rel=1e-12)
    # the starting cash is Jan 4's close; never recovered by Jan 5, the last day: 1 day
    assert m["max_drawdown_duration_days"] == 1


def test_drawdown_duration_runs_from_the_last_close_at_the_peak_to_the_end_when_unrecovered():
    closes = curve({
        "2026-01-05 21:00": 110_000.0,  # peak
        "2026-01-06 21:00": 110_000.0,  # at the peak again: the drawdown starts after it
        "2026-01-07 21:00": 100_000.0,  # trough, -1/11
        "2026-01-12 21:00": 105_000.0,  # not recovered by the last day
    })
    m = compute_metrics(closes, [], starting_cash=CASH, exposure=0.0)
    assert m["max_drawdown"] == pytest.approx(100_000 / 110_000 - 1, rel=1e-12)
    assert m["max_drawdown_duration_days"] == 6  # Jan 6 to Jan 12


def test_duration_belongs_to_the_deepest_drawdown_not_the_longest():
    closes = curve({
        "2026-01-05 21:00": 99_000.0,   # -1 % from the start, lasting until Jan 20
        "2026-01-20 21:00": 101_000.0,  # new peak
        "2026-01-21 21:00": 90_900.0,   # -10 %
        "2026-01-23 21:00": 101_000.0,  # back at the peak two days later
    })
    m = compute_metrics(closes, [], starting_cash=CASH, exposure=0.0)
    assert m["max_drawdown"] == pytest.approx(-0.10, rel=1e-12)
    assert m["max_drawdown_duration_days"] == 3  # Jan 20 to Jan 23


# -- trade figures ----------------------------------------------------------------------------
TRADES = [  # listed out of exit order; by exit: T1, T3, T4, T2, T5
    trade("T1", 500.0, 10.0, r=1.0, mfe_r=1.5, mae_r=-0.25, exit_h=1, held_s=3600),
    trade("T2", -300.0, 10.0, r=-1.0, mfe_r=0.5, mae_r=-1.0, exit_h=4, held_s=1800),
    trade("T3", 1000.0, 10.0, r=2.0, mfe_r=2.5, mae_r=-0.5, exit_h=2, held_s=600),
    trade("T4", 10.0, 10.0, exit_h=3, held_s=1200),  # net 0, no stop: no R
    trade("T5", -200.0, 10.0, r=-0.5, mfe_r=0.2, mae_r=-0.6, exit_h=5, held_s=900),
]


def test_trade_figures_are_net_of_commission_and_match_the_hand_arithmetic():
    m = compute_metrics(THREE_DAYS, TRADES, starting_cash=CASH, exposure=0.5)
    # nets: T1 490, T2 -310, T3 990, T4 0, T5 -210
    assert m["trades"] == 5
    assert m["win_rate"] == pytest.approx(2 / 5)  # T4's 0 is neither, but counts
    assert m["profit_factor"] == pytest.approx((490 + 990) / (310 + 210))
    assert m["expectancy"] == pytest.approx((490 - 310 + 990 + 0 - 210) / 5)  # 192
    assert m["expectancy_r"] == pytest.approx((1.0 - 1.0 + 2.0 - 0.5) / 4)  # T4 has no R
    assert m["avg_win"] == pytest.approx(740.0)
    assert m["avg_loss"] == pytest.approx(-260.0)
    assert m["largest_win"] == 990.0
    assert m["largest_loss"] == -310.0
    assert m["max_consecutive_wins"] == 2  # T1, T3
    assert m["max_consecutive_losses"] == 2  # T2, T5
    assert m["avg_mfe_r"] == pytest.approx((1.5 + 0.5 + 2.5 + 0.2) / 4)
    assert m["avg_mae_r"] == pytest.approx((-0.25 - 1.0 - 0.5 - 0.6) / 4)
    assert m["commission"] == 50.0
    assert m["avg_trade_duration_s"] == pytest.approx((3600 + 1800 + 600 + 1200 + 900) / 5)
    assert_plain(m)


def test_a_break_even_trade_breaks_a_winning_streak():
    trades = [trade("a", 100.0, 0.0, exit_h=1), trade("b", 0.0, 0.0, exit_h=2),
              trade("c", 100.0, 0.0, exit_h=3)]
    m = compute_metrics(THREE_DAYS, trades, starting_cash=CASH, exposure=0.0)
    assert (m["max_consecutive_wins"], m["max_consecutive_losses"]) == (1, 0)


def test_commission_paid_by_the_account_overrides_the_trades_sum():
    m = compute_metrics(THREE_DAYS, TRADES, starting_cash=CASH, exposure=0.0,
                        commission_paid=62.5)
    assert m["commission"] == 62.5


# -- undefined figures are None ----------------------------------------------------------------
def test_no_trades_leave_trade_figures_undefined_and_counts_zero():
    m = compute_metrics(THREE_DAYS, [], starting_cash=CASH, exposure=0.0)
    for key in ("win_rate", "profit_factor", "expectancy", "expectancy_r", "avg_win",
                "avg_loss", "largest_win", "largest_loss", "avg_mfe_r", "avg_mae_r",
                "avg_trade_duration_s"):
        assert m[key] is None, key
    assert (m["trades"], m["max_consecutive_wins"], m["max_consecutive_losses"]) == (0, 0, 0)
    assert m["commission"] == 0.0
    assert_plain(m)


def test_one_day_has_no_standard_deviation():
    m = compute_metrics(curve({"2026-01-05 21:00": 101_000.0}), [], starting_cash=CASH,
                        exposure=0.0)
    assert (m["sharpe"], m["sortino"], m["annual_volatility"]) == (None, None, None)
    assert m["cagr"] == pytest.approx(1.01 ** 252 - 1, rel=1e-12)
    assert (m["max_drawdown"], m["calmar"], m["max_drawdown_duration_days"]) == (0.0, None, 0)
    assert_plain(m)


def test_all_winners_have_no_profit_factor_and_no_loss_figures():
    trades = [trade("a", 100.0, 1.0, r=1.0, exit_h=1), trade("b", 50.0, 1.0, r=0.5, exit_h=2)]
    m = compute_metrics(THREE_DAYS, trades, starting_cash=CASH, exposure=0.0)
    assert m["profit_factor"] is None
    assert (m["avg_loss"], m["largest_loss"]) == (None, None)
    assert (m["win_rate"], m["max_consecutive_wins"]) == (1.0, 2)
    assert_plain(m)


def test_flat_curve_has_zero_volatility_and_no_ratios():
    flat = curve({"2026-01-05 21:00": CASH, "2026-01-06 21:00": CASH, "2026-01-07 21:00": CASH})
    m = compute_metrics(flat, [], starting_cash=CASH, exposure=0.0)
    assert m["annual_volatility"] == 0.0
    assert (m["sharpe"], m["sortino"], m["calmar"]) == (None, None, None)
    assert (m["cagr"], m["max_drawdown"], m["max_drawdown_duration_days"]) == (0.0, 0.0, 0)
    assert_plain(m)


def test_steady_gains_have_no_sharpe_or_sortino_where_empyrical_gives_inf_or_noise():
    # +1 % every day: zero dispersion, no downside
    steady = curve({f"2026-01-{d:02d} 21:00": CASH * 1.01 ** (d - 4) for d in (5, 6, 7, 8)})
    returns = daily_returns(trading_day_closes(steady), CASH)
    assert not math.isfinite(empyrical.sortino_ratio(returns))
    assert empyrical.sharpe_ratio(returns) > 1e12  # a std of float noise
    m = compute_metrics(steady, [], starting_cash=CASH, exposure=0.0)
    assert (m["sharpe"], m["sortino"], m["annual_volatility"]) == (None, None, 0.0)
    assert_plain(m)


def test_no_bars_leave_every_curve_figure_undefined_and_equity_at_the_start():
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    m = compute_metrics(empty, [], starting_cash=CASH, exposure=0.0)
    assert (m["final_equity"], m["net_profit"], m["trading_days"]) == (CASH, 0.0, 0)
    for key in ("cagr", "sharpe", "sortino", "calmar", "annual_volatility", "max_drawdown",
                "max_drawdown_intraday", "max_drawdown_duration_days"):
        assert m[key] is None, key
    assert_plain(m)


def test_an_equity_below_zero_gives_no_cagr_instead_of_nan():
    m = compute_metrics(curve({"2026-01-05 21:00": 50_000.0, "2026-01-06 21:00": -10_000.0}),
                        [], starting_cash=CASH, exposure=0.0)
    assert m["cagr"] is None and m["calmar"] is None
    assert m["max_drawdown"] == pytest.approx(-1.1, rel=1e-12)  # -10,000 / 100,000 - 1
    assert_plain(m)


def test_starting_cash_must_be_positive():
    with pytest.raises(ValueError, match="starting cash must be a positive amount"):
        compute_metrics(THREE_DAYS, [], starting_cash=0.0, exposure=0.0)


# -- empyrical cross-check ----------------------------------------------------------------------
def test_returns_based_figures_match_empyrical_on_a_random_500_day_curve():
    rng = np.random.default_rng(20261203)
    day_closes = CASH * np.cumprod(1 + rng.normal(0.0004, 0.012, 500))
    sessions = pd.bdate_range("2024-01-02", periods=500)
    times, values = [], []
    for session, close in zip(sessions, day_closes, strict=True):
        # three bars a day in New York time; the last closes at 16:00, the day's close
        for hour, wobble in ((10, 1.004), (13, 0.993), (16, 1.0)):
            times.append(pd.Timestamp(session + pd.Timedelta(hours=hour), tz=NEW_YORK))
            values.append(close * wobble)
    equity = pd.Series(values, index=pd.DatetimeIndex(times).tz_convert("UTC"))
    m = compute_metrics(equity, [], starting_cash=CASH, exposure=1.0)

    # empyrical gets returns computed here, independently of daily_returns
    returns = pd.Series(np.diff(np.concatenate(([CASH], day_closes))) /
                        np.concatenate(([CASH], day_closes[:-1])), index=sessions)
    assert trading_day_closes(equity).to_numpy() == pytest.approx(day_closes, rel=1e-15)
    expected = {
        "sharpe": empyrical.sharpe_ratio(returns),
        "sortino": empyrical.sortino_ratio(returns),
        "cagr": empyrical.cagr(returns),
        "annual_volatility": empyrical.annual_volatility(returns),
        "calmar": empyrical.calmar_ratio(returns),
        "max_drawdown": empyrical.max_drawdown(returns),
    }
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, abs=1e-9), key
    assert m["max_drawdown"] < 0 and m["calmar"] is not None
    assert m["max_drawdown_intraday"] <= m["max_drawdown"]


# -- the trading day ----------------------------------------------------------------------------
@pytest.mark.parametrize(("utc", "day"), [
    ("2026-01-06 21:59", "2026-01-06"),  # 16:59 EST
    ("2026-01-06 22:00", "2026-01-06"),  # 17:00 EST: the day's last moment
    ("2026-01-06 22:01", "2026-01-07"),  # 17:01 EST: the next day
    ("2026-07-07 20:59", "2026-07-07"),  # 16:59 EDT
    ("2026-07-07 21:00", "2026-07-07"),  # 17:00 EDT
    ("2026-07-07 21:01", "2026-07-08"),  # 17:01 EDT
    ("2026-03-06 22:00", "2026-03-06"),  # Friday before clocks go forward: 17:00 EST
    ("2026-03-09 21:00", "2026-03-09"),  # Monday after: 17:00 EDT is an hour earlier in UTC
    ("2026-03-09 21:30", "2026-03-10"),  # 17:30 EDT (would still be Mar 9 on a UTC rule)
    ("2026-03-08 23:00", "2026-03-09"),  # Sunday 19:00 EDT: the futures week's first day
    ("2026-11-02 22:00", "2026-11-02"),  # after clocks go back: 17:00 EST again
    ("2026-11-02 22:01", "2026-11-03"),
])
def test_a_bar_belongs_to_the_trading_day_ending_at_or_after_its_close(utc, day):
    assert days(trading_day_closes(curve({utc: CASH}))) == [day]


def test_trading_days_agree_with_the_paper_accounts_day_roll_across_dst_changes():
    times = pd.date_range("2026-03-05", "2026-03-11", freq="7min", tz="UTC").append(
        pd.date_range("2026-10-29", "2026-11-04", freq="7min", tz="UTC"))
    closes = trading_day_closes(pd.Series(np.arange(len(times), dtype=float), index=times))
    by_roll: dict[str, float] = {}
    for value, ts in enumerate(times.as_unit("ns").asi8):
        # the first roll at or after the bar's close ends its day (a millisecond before the
        # close: next_day_roll converts through float seconds, which cannot hold 1 ns)
        roll = pd.Timestamp(next_day_roll(int(ts) - 1_000_000), tz="UTC").tz_convert(NEW_YORK)
        by_roll[roll.date().isoformat()] = float(value)
    assert dict(zip(days(closes), closes.tolist(), strict=True)) == by_roll


def test_days_without_bars_are_absent_and_unsorted_bars_are_sorted():
    closes = trading_day_closes(curve({"2026-01-12 21:00": 3.0, "2026-01-09 21:00": 2.0,
                                       "2026-01-09 15:00": 1.0}))
    assert dict(zip(days(closes), closes.tolist(), strict=True)) == {
        "2026-01-09": 2.0, "2026-01-12": 3.0}


def test_a_curve_without_time_zone_is_refused():
    naive = pd.Series([1.0], index=pd.DatetimeIndex(["2026-01-05 21:00"]))
    with pytest.raises(ValueError, match="tz-aware"):
        trading_day_closes(naive)


# -- tables ---------------------------------------------------------------------------------------
def test_monthly_returns_chain_month_ends_from_the_starting_cash():
    closes = pd.Series([110_000.0, 99_000.0, 104_500.0, 114_950.0], index=pd.DatetimeIndex(
        ["2025-12-31", "2026-01-15", "2026-01-30", "2026-03-02"], name="day"))
    table = monthly_returns(closes, CASH)
    assert list(table.columns) == [*range(1, 13), "year"]
    assert list(table.index) == [2025, 2026]
    assert table.loc[2025, 12] == pytest.approx(0.10)  # 110,000 / 100,000 - 1
    assert table.loc[2025, "year"] == pytest.approx(0.10)
    assert table.loc[2026, 1] == pytest.approx(-0.05)  # 104,500 / 110,000 - 1
    assert math.isnan(table.loc[2026, 2])  # no trading day in February
    assert table.loc[2026, 3] == pytest.approx(0.10)  # 114,950 / 104,500 - 1
    assert table.loc[2026, "year"] == pytest.approx(0.045)  # 114,950 / 110,000 - 1
    assert int(table.notna().to_numpy().sum()) == 5


def test_monthly_returns_of_no_days_is_an_empty_table():
    empty = pd.Series([], index=pd.DatetimeIndex([], name="day"), dtype="float64")
    assert monthly_returns(empty, CASH).empty


def test_r_histogram_counts_trades_per_half_r_with_empty_bins_between():
    rs = [1.0, -1.0, 2.0 - 1e-12, -0.5, 0.2, None]  # 2R less float noise counts as 2R
    counts, edges = r_histogram([trade(str(i), 0.0, 0.0, r=r) for i, r in enumerate(rs)])
    # bins from [-1.0, -0.5) to [2.0, 2.5)
    assert counts.tolist() == [1, 1, 1, 0, 1, 0, 1]
    assert edges.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_r_histogram_of_trades_without_r_is_empty():
    counts, edges = r_histogram([trade("a", 1.0, 0.0)])
    assert (len(counts), len(edges)) == (0, 0)
    with pytest.raises(ValueError, match="bin width"):
        r_histogram([], bin_width=0.0)


# -- display ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "text"), [
    ("net_profit", 12345.678, "12,345.68"),
    ("net_profit", -5.0, "-5.00"),
    ("total_return", 0.12345, "12.35%"),
    ("max_drawdown", -0.0425, "-4.25%"),
    ("sharpe", 1.234, "1.23"),
    ("trades", 1234, "1,234"),
    ("max_drawdown_duration_days", 1, "1 day"),
    ("max_drawdown_duration_days", 12, "12 days"),
    ("avg_trade_duration_s", 45.0, "45s"),
    ("avg_trade_duration_s", 200.0, "3m 20s"),
    ("avg_trade_duration_s", 3725.0, "1h 02m"),
    ("avg_trade_duration_s", 90_000.0, "1d 1h"),
    ("expectancy_r", 0.375, "0.38R"),
    ("sortino", None, "—"),
])
def test_format_metric_gives_the_same_text_everywhere(key, value, text):
    assert format_metric(key, value) == text


def test_every_metric_has_a_label_and_a_known_kind():
    kinds = {"money", "percent", "ratio", "count", "days", "seconds", "r"}
    assert all(label and kind in kinds for label, kind in METRICS.values())
