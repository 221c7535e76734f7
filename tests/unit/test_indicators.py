"""Incremental indicators against batch pandas/numpy computations, plus hand-worked cases.

The reference series are written here, independently of workstation.indicators:
rolling windows, seeded ``ewm(adjust=False)``, Wilder averages by an explicit loop.
Tolerance: absolute 1e-9 on every bar after warm-up (prices are 15000-18000, so
that is about 1e-13 relative); the first ``warmup - 1`` updates must be nan and
not ready, and every update from ``warmup`` on ready.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from workstation.indicators import (
    ATR,
    EMA,
    MACD,
    OBV,
    ROC,
    RSI,
    SMA,
    VWAP,
    WMA,
    BollingerBands,
    Change,
    CrossAbove,
    CrossBelow,
    Field,
    Highest,
    Indicator,
    Lowest,
    Stochastic,
)
from workstation.model import Bar, BarFlag

TOL = 1e-9
N_BARS = 5000
SESSION = 390  # one-minute bars in a regular US equity session
NAN = math.nan


def make_bar(o: float, h: float, lo: float, c: float, v: float = 100.0, flags: int = 0,
             i: int = 0) -> Bar:
    ts = i * 60_000_000_000
    return Bar("NQ", "1m", ts, ts + 60_000_000_000, o, h, lo, c, v, 1, flags)


def random_walk_bars(n: int = N_BARS, seed: int = 20240607) -> list[Bar]:
    """OHLC-consistent random-walk bars (about 15600-17300 for this seed) on a 0.25
    tick grid, so equal closes happen; a SESSION_FIRST flag every 390 bars."""
    rng = np.random.default_rng(seed)
    close = 16500.0 + np.cumsum(rng.normal(0.0, 20.0, n))
    close = np.round(close * 4) / 4
    opens = np.round((np.r_[close[0], close[:-1]] + rng.normal(0.0, 1.0, n)) * 4) / 4
    high = np.maximum(opens, close) + np.round(np.abs(rng.normal(0.0, 3.0, n)) * 4) / 4
    low = np.minimum(opens, close) - np.round(np.abs(rng.normal(0.0, 3.0, n)) * 4) / 4
    volume = rng.integers(1, 5000, n)
    return [
        make_bar(float(opens[i]), float(high[i]), float(low[i]), float(close[i]),
                 float(volume[i]), BarFlag.SESSION_FIRST if i % SESSION == 0 else 0, i)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def bars() -> list[Bar]:
    return random_walk_bars()


@pytest.fixture(scope="module")
def frame(bars: list[Bar]) -> pd.DataFrame:
    return pd.DataFrame(bars)


def run(ind: Indicator, inputs: list) -> tuple[np.ndarray, np.ndarray]:
    """Feed every input; the values update() returned, and ``ready`` after each."""
    values, ready = [], []
    for x in inputs:
        out = ind.update(x)
        assert out == ind.value or (math.isnan(out) and math.isnan(ind.value))
        values.append(out)
        ready.append(ind.ready)
    return np.array(values), np.array(ready)


def assert_matches(ind: Indicator, inputs: list, expected, values: np.ndarray | None = None,
                   ready: np.ndarray | None = None) -> None:
    """nan and not ready for exactly warmup-1 updates, then within TOL of expected."""
    if values is None:
        values, ready = run(ind, inputs)
    expected = np.asarray(expected, dtype=float)
    w = ind.warmup
    assert not ready[: w - 1].any()
    assert np.isnan(values[: w - 1]).all()
    assert ready[w - 1:].all()
    assert np.isnan(expected[: w - 1]).all(), "reference disagrees about the warm-up"
    assert not np.isnan(expected[w - 1:]).any()
    worst = np.max(np.abs(values[w - 1:] - expected[w - 1:]))
    assert worst <= TOL, f"{ind.spec()}: worst difference {worst:.3g}"


# --- batch references -----------------------------------------------------------------

def ema_ref(x: np.ndarray, n: int) -> np.ndarray:
    """nan for the first n-1, the SMA of the first n as seed, then ewm(adjust=False)."""
    out = np.full(len(x), NAN)
    seeded = np.r_[x[:n].mean(), x[n:]]
    out[n - 1:] = pd.Series(seeded).ewm(alpha=2 / (n + 1), adjust=False).mean().to_numpy()
    return out


def wilder_ref(x: np.ndarray, n: int) -> np.ndarray:
    """Seed with the mean of the first n values, then avg = (avg * (n - 1) + x) / n."""
    out = np.full(len(x), NAN)
    avg = x[:n].mean()
    out[n - 1] = avg
    for i in range(n, len(x)):
        avg = (avg * (n - 1) + x[i]) / n
        out[i] = avg
    return out


def rsi_ref(x: np.ndarray, n: int) -> np.ndarray:
    change = np.diff(x)
    gain = wilder_ref(np.where(change > 0, change, 0.0), n)
    loss = wilder_ref(np.where(change < 0, -change, 0.0), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    rsi = np.where(loss == 0.0, np.where(gain == 0.0, 50.0, 100.0), rsi)
    return np.r_[NAN, np.where(np.isnan(gain), NAN, rsi)]


def rolling(x: np.ndarray, n: int, fn) -> np.ndarray:
    out = np.full(len(x), NAN)
    out[n - 1:] = fn(sliding_window_view(x, n), axis=1)
    return out


# --- every indicator against its batch reference ----------------------------------------

@pytest.mark.parametrize("n", [1, 3, 20, 200])
def test_sma_matches_a_rolling_mean(bars, frame, n):
    assert_matches(SMA(n), bars, frame.close.rolling(n).mean())


@pytest.mark.parametrize("n", [1, 3, 12, 50])
def test_ema_matches_a_seeded_ewm(bars, frame, n):
    assert_matches(EMA(n), bars, ema_ref(frame.close.to_numpy(), n))


@pytest.mark.parametrize("n", [1, 3, 10, 30])
def test_wma_matches_a_weighted_rolling_dot(bars, frame, n):
    weights = np.arange(1, n + 1, dtype=float)
    expected = np.full(len(frame), NAN)
    expected[n - 1:] = sliding_window_view(frame.close.to_numpy(), n) @ weights / weights.sum()
    assert_matches(WMA(n), bars, expected)


@pytest.mark.parametrize("n", [2, 14])
def test_rsi_matches_wilder_averages_computed_in_a_loop(bars, frame, n):
    assert_matches(RSI(n), bars, rsi_ref(frame.close.to_numpy(), n))


def test_macd_line_signal_and_histogram_match_seeded_ewms(bars, frame):
    close = frame.close.to_numpy()
    line = ema_ref(close, 12) - ema_ref(close, 26)
    signal = np.full(len(close), NAN)
    signal[25:] = ema_ref(line[25:], 9)
    macd = MACD(12, 26, 9)
    assert macd.warmup == 34
    rows = []
    for bar in bars:
        macd.update(bar)
        rows.append((macd.value, macd.signal, macd.histogram, macd.ready))
    got = np.array(rows)
    expected_line = np.where(np.isnan(signal), NAN, line)
    assert_matches(macd, bars, expected_line, got[:, 0], got[:, 3].astype(bool))
    assert_matches(macd, bars, signal, got[:, 1], got[:, 3].astype(bool))
    assert_matches(macd, bars, expected_line - signal, got[:, 2], got[:, 3].astype(bool))


@pytest.mark.parametrize(("n", "k"), [(20, 2.0), (5, 1.5), (2, 3.0)])
def test_bollinger_bands_match_a_population_std_over_5000_bars(bars, frame, n, k):
    close = frame.close.to_numpy() + 3000.0  # 18000-21000: the harder end for cancellation
    mid = rolling(close, n, np.mean)
    std = rolling(close, n, np.std)  # ddof=0
    bands = BollingerBands(n, k)
    rows = []
    for x in close:
        bands.update(float(x))
        rows.append((bands.value, bands.upper, bands.lower, bands.width, bands.ready))
    got = np.array(rows)
    ready = got[:, 4].astype(bool)
    assert_matches(bands, close, mid, got[:, 0], ready)
    assert_matches(bands, close, mid + k * std, got[:, 1], ready)
    assert_matches(bands, close, mid - k * std, got[:, 2], ready)
    assert_matches(bands, close, 2 * k * std, got[:, 3], ready)


@pytest.mark.parametrize("n", [5, 20])
def test_bollinger_bands_stay_accurate_while_prices_trend_from_15000_to_20000(n):
    # a trend moves the window far from where the running sums started; without
    # re-centring, E[x^2] - E[x]^2 would lose the 1e-9
    rng = np.random.default_rng(3)
    close = np.linspace(15000.0, 20000.0, N_BARS) + rng.normal(0.0, 0.5, N_BARS)
    bands = BollingerBands(n, 2.0)
    rows = []
    for x in close:
        bands.update(float(x))
        rows.append((bands.value, bands.upper, bands.ready))
    got = np.array(rows)
    mid = rolling(close, n, np.mean)
    upper = mid + 2.0 * rolling(close, n, np.std)
    assert_matches(bands, close, mid, got[:, 0], got[:, 2].astype(bool))
    assert_matches(bands, close, upper, got[:, 1], got[:, 2].astype(bool))


@pytest.mark.parametrize(("k_period", "d_period", "smooth"), [(14, 3, 1), (5, 3, 3), (1, 1, 1)])
def test_stochastic_matches_rolling_extremes(bars, frame, k_period, d_period, smooth):
    hh = frame.high.rolling(k_period).max()
    ll = frame.low.rolling(k_period).min()
    span = hh - ll
    raw = (100 * (frame.close - ll) / span).where(span > 0, 50.0).where(span.notna())
    k = raw.rolling(smooth).mean()
    d = k.rolling(d_period).mean()
    stoch = Stochastic(k_period, d_period, smooth)
    assert stoch.warmup == k_period + smooth - 1 + d_period - 1
    rows = []
    for bar in bars:
        stoch.update(bar)
        rows.append((stoch.value, stoch.d, stoch.ready))
    got = np.array(rows)
    ready = got[:, 2].astype(bool)
    assert_matches(stoch, bars, k.where(d.notna()), got[:, 0], ready)
    assert_matches(stoch, bars, d, got[:, 1], ready)


@pytest.mark.parametrize("n", [1, 14])
def test_atr_matches_wilder_smoothed_true_range(bars, frame, n):
    prev = frame.close.shift(1)
    tr = np.maximum(frame.high, prev) - np.minimum(frame.low, prev)
    tr.iloc[0] = frame.high.iloc[0] - frame.low.iloc[0]
    assert_matches(ATR(n), bars, wilder_ref(tr.to_numpy(), n))


def test_obv_matches_a_signed_volume_cumsum(bars, frame):
    signed = np.sign(frame.close.diff().fillna(0.0)) * frame.volume
    assert (frame.close.diff() == 0).any(), "the data should exercise equal closes"
    assert_matches(OBV(), bars, signed.cumsum())


def test_vwap_matches_a_per_session_cumulative_average(bars, frame):
    session = (frame["flags"] & BarFlag.SESSION_FIRST).astype(bool).cumsum()
    pv = ((frame.high + frame.low + frame.close) / 3 * frame.volume).groupby(session).cumsum()
    vol = frame.volume.groupby(session).cumsum()
    assert session.iloc[-1] >= 10
    assert_matches(VWAP(), bars, pv / vol)


@pytest.mark.parametrize("n", [1, 5, 60])
def test_highest_and_lowest_match_rolling_max_and_min(bars, frame, n):
    assert_matches(Highest(n), bars, frame.close.rolling(n).max())
    assert_matches(Lowest(n), bars, frame.close.rolling(n).min())
    assert_matches(Highest(n, Field("high")), bars, frame.high.rolling(n).max())
    assert_matches(Lowest(n, Field("low")), bars, frame.low.rolling(n).min())


@pytest.mark.parametrize("n", [1, 10])
def test_change_and_roc_match_diff_and_pct_change(bars, frame, n):
    assert_matches(Change(n), bars, frame.close.diff(n))
    assert_matches(ROC(n), bars, 100 * frame.close.pct_change(n))


def test_cross_above_and_below_match_sign_changes_of_two_emas(bars, frame):
    close = frame.close.to_numpy()
    fast, slow = ema_ref(close, 10), ema_ref(close, 30)
    above, below = fast > slow, fast < slow
    up = np.r_[NAN, np.where(above[1:] & ~above[:-1], 1.0, 0.0)]
    down = np.r_[NAN, np.where(below[1:] & ~below[:-1], 1.0, 0.0)]
    up[:30] = down[:30] = NAN  # the slow EMA is ready at 30; a cross needs two updates
    cross_up, cross_down = CrossAbove(EMA(10), EMA(30)), CrossBelow(EMA(10), EMA(30))
    assert cross_up.warmup == cross_down.warmup == 31
    assert_matches(cross_up, bars, up)
    assert_matches(cross_down, bars, down)
    assert 5 < np.nansum(up) < 500


def test_field_extracts_each_bar_field_and_is_ready_at_once(bars, frame):
    for name in Field.NAMES:
        assert_matches(Field(name), bars, frame[name])


# --- hand-worked cases --------------------------------------------------------------------

def values(ind: Indicator, inputs: list) -> list[float]:
    return [ind.update(x) for x in inputs]


def same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, abs=1e-12)
        for g, w in zip(got, want, strict=True))


def test_sma_of_four_numbers():
    # (1+2+3)/3 = 2, (2+3+4)/3 = 3
    assert same(values(SMA(3), [1, 2, 3, 4]), [NAN, NAN, 2.0, 3.0])


def test_ema_is_seeded_with_the_sma_of_the_first_period_values():
    # alpha = 2/(3+1) = 0.5; seed (1+2+3)/3 = 2; then 2 + 0.5*(4-2) = 3; 3 + 0.5*(10-3) = 6.5
    assert same(values(EMA(3), [1, 2, 3, 4, 10]), [NAN, NAN, 2.0, 3.0, 6.5])


def test_wma_weights_the_newest_value_most():
    # (1*1 + 2*2 + 3*3)/6 = 14/6; then (1*2 + 2*3 + 3*10)/6 = 38/6
    assert same(values(WMA(3), [1, 2, 3, 10]), [NAN, NAN, 14 / 6, 38 / 6])


def test_rsi_on_a_tiny_series():
    # RSI(2) on 10, 11, 10, 12, 12:
    # changes +1, -1  -> avg gain 0.5, avg loss 0.5            -> RSI 50
    # change +2       -> gain (0.5*1 + 2)/2 = 1.25, loss 0.25  -> 100*1.25/1.5 = 83.33..
    # change 0        -> gain 0.625, loss 0.125                -> 100*0.625/0.75 = 83.33..
    assert same(values(RSI(2), [10, 11, 10, 12, 12]), [NAN, NAN, 50.0, 250 / 3, 250 / 3])


def test_rsi_is_100_without_losses_and_50_when_flat():
    assert values(RSI(2), [1, 2, 3, 3])[2:] == [100.0, 100.0]
    assert values(RSI(2), [5, 5, 5])[2:] == [50.0]


def test_stochastic_k_on_three_bars():
    # lowest low 9, highest high 15 over the 3 bars; close 12 -> 100*(12-9)/(15-9) = 50
    # next bar: lows 10, 11, 12 / highs 13, 15, 16 -> 100*(16-10)/(16-10) = 100
    stoch = Stochastic(3, 1)
    bars = [make_bar(10, 12, 9, 11), make_bar(11, 15, 10, 13),
            make_bar(13, 13, 11, 12), make_bar(12, 16, 12, 16)]
    assert same(values(stoch, bars), [NAN, NAN, 50.0, 100.0])
    assert stoch.d == 100.0


def test_stochastic_is_50_when_the_range_is_zero():
    bars = [make_bar(5, 5, 5, 5)] * 3
    assert values(Stochastic(2, 1), bars)[1:] == [50.0, 50.0]


def test_atr_true_range_reaches_back_to_the_previous_close_over_a_gap():
    # bar 1: TR = 11 - 9 = 2 (no previous close); bar 2 gaps up from 10 to 20-22:
    # TR = max(22, 10) - min(20, 10) = 12; ATR(2) seed = (2 + 12)/2 = 7
    # bar 3: TR = max(21, 21) - min(19, 21) = 2 -> (7*1 + 2)/2 = 4.5
    bars = [make_bar(10, 11, 9, 10), make_bar(20, 22, 20, 21), make_bar(21, 21, 19, 20)]
    assert same(values(ATR(2), bars), [NAN, 7.0, 4.5])


def test_obv_adds_on_up_closes_subtracts_on_down_closes_and_ignores_equal():
    closes_volumes = [(10, 100), (11, 50), (11, 70), (9, 30), (12, 5)]
    bars = [make_bar(c, c, c, c, v) for c, v in closes_volumes]
    assert values(OBV(), bars) == [0.0, 50.0, 50.0, 20.0, 25.0]


def test_vwap_restarts_on_a_session_first_bar():
    # typical prices: (12+9+9)/3 = 10 x 100, (22+18+20)/3 = 20 x 300 -> (1000+6000)/400 = 17.5
    # then a new session: (31+29+30)/3 = 30 x 10 -> 30
    first = BarFlag.SESSION_FIRST
    bars = [make_bar(10, 12, 9, 9, 100, first), make_bar(20, 22, 18, 20, 300),
            make_bar(30, 31, 29, 30, 10, first)]
    assert values(VWAP(), bars) == [10.0, 17.5, 30.0]


def test_vwap_is_nan_until_the_session_trades_volume():
    vwap = VWAP()
    assert math.isnan(vwap.update(make_bar(5, 6, 4, 5, 0.0, BarFlag.SESSION_FIRST)))
    assert not vwap.ready
    assert vwap.update(make_bar(5, 6, 4, 5, 10.0)) == 5.0
    vwap.reset()
    assert not vwap.ready and math.isnan(vwap.value)


def test_cross_above_fires_once_on_the_crossing_update_and_not_on_a_touch():
    cross = CrossAbove(SMA(1), 10.0)
    # 9 -> 10 touches (no), 10 -> 9 back down, 9 -> 11 crosses (yes), 11 -> 12 stays above
    got = values(cross, [9, 10, 9, 11, 12, 10, 10.5])
    assert got[0] != got[0]  # nan: needs two ready updates
    assert got[1:] == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert cross.crossed and bool(cross)


def test_cross_below_mirrors_cross_above():
    cross = CrossBelow(SMA(1), 10.0)
    got = values(cross, [11, 10, 11, 9, 8])
    assert got[1:] == [0.0, 0.0, 1.0, 0.0]
    assert not cross.crossed and not bool(cross)


def test_cross_from_equal_to_above_counts_as_a_cross():
    # the rule is "from <= b to > b": a touch followed by a break is a cross
    assert values(CrossAbove(SMA(1), 10.0), [10, 11])[1] == 1.0


def test_change_and_roc_on_a_small_series():
    # Change(2): 13 - 10 = 3, 8 - 12 = -4; ROC(2): 100*(13/10 - 1) = 30, 100*(8/12 - 1) = -33.3..
    assert same(values(Change(2), [10, 12, 13, 8]), [NAN, NAN, 3.0, -4.0])
    assert same(values(ROC(2), [10, 12, 13, 8]), [NAN, NAN, 30.0, -100 / 3])
    assert values(Change(), [1, 4])[1] == 3.0


def test_highest_and_lowest_of_bar_highs_and_lows_via_field():
    bars = [make_bar(10, 14, 9, 10), make_bar(10, 12, 8, 11), make_bar(11, 13, 10, 12),
            make_bar(12, 12, 11, 11)]
    # highs 14, 12, 13, 12 -> windows of 2: 14, 13, 13; lows 9, 8, 10, 11 -> 8, 8, 10
    assert same(values(Highest(2, Field("high")), bars), [NAN, 14.0, 13.0, 13.0])
    assert same(values(Lowest(2, Field("low")), bars), [NAN, 8.0, 8.0, 10.0])
    # without a Field they follow the close: 10, 11, 12, 11
    assert same(values(Highest(2), bars), [NAN, 11.0, 12.0, 12.0])


# --- composition, reset, inputs --------------------------------------------------------------

def test_sma_of_rsi_warms_up_through_the_chain(bars, frame):
    expected = pd.Series(rsi_ref(frame.close.to_numpy(), 14)).rolling(3).mean()
    smooth = SMA(3, RSI(14))
    assert smooth.warmup == 15 + 3 - 1 == 17
    values_, ready = run(smooth, bars)
    assert not ready[:16].any() and ready[16]
    assert_matches(smooth, bars, expected, values_, ready)
    assert repr(smooth).startswith("SMA(3, RSI(14))=")


def test_reset_makes_a_chain_not_ready_and_replays_identically(bars):
    smooth = SMA(3, RSI(14))
    first, _ = run(smooth, bars[:100])
    smooth.reset()
    assert not smooth.ready and math.isnan(smooth.value) and smooth.count == 0
    assert not smooth.source.ready
    again, ready = run(smooth, bars[:100])
    assert not ready[:16].any()
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("make", [
    lambda: SMA(7), lambda: EMA(7), lambda: WMA(7), lambda: RSI(7), lambda: MACD(3, 7, 4),
    lambda: BollingerBands(7), lambda: Stochastic(5, 3, 2), lambda: ATR(7), lambda: OBV(),
    lambda: VWAP(), lambda: Highest(7, Field("high")), lambda: Lowest(7), lambda: Change(3),
    lambda: ROC(3), lambda: CrossAbove(EMA(3), SMA(5)), lambda: EMA(4, WMA(3, Change(2))),
])
def test_every_indicator_replays_identically_after_reset(bars, make):
    ind = make()
    first, _ = run(ind, bars[:1500])
    ind.reset()
    again, _ = run(ind, bars[:1500])
    np.testing.assert_array_equal(first, again)
    assert ind.count == 1500


def test_composed_warmups_add_up(bars):
    for ind in [EMA(5, RSI(3)), Highest(4, Change(2)), ROC(2, SMA(3)), WMA(2, EMA(3, ATR(4)))]:
        _, ready = run(ind, bars[:50])
        assert not ready[: ind.warmup - 1].any() and ready[ind.warmup - 1:].all(), ind.spec()
    assert WMA(2, EMA(3, ATR(4))).warmup == 4 + 3 - 1 + 2 - 1


def test_single_input_indicators_take_numbers_or_bar_closes(bars):
    closes = [b.close for b in bars[:100]]
    for make in (lambda: RSI(5), lambda: BollingerBands(5), lambda: MACD(3, 6, 2)):
        np.testing.assert_array_equal(run(make(), bars[:100])[0], run(make(), closes)[0])
    sma = SMA(2)
    sma.update(1)
    assert sma.update(np.float64(2.0)) == 1.5


@pytest.mark.parametrize("ind", [ATR(), Stochastic(), OBV(), VWAP(), Field("high")])
def test_bar_indicators_given_a_float_raise_type_error_naming_the_indicator(ind):
    name = type(ind).__name__
    with pytest.raises(TypeError, match=rf"^{name}\(.*needs a bar"):
        ind.update(17000.25)
    assert ind.count == 0


def test_a_single_input_indicator_given_garbage_raises_type_error():
    with pytest.raises(TypeError, match="SMA"):
        SMA(3).update("17000")  # type: ignore[arg-type]


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="period"):
        SMA(0)
    with pytest.raises(ValueError, match="Field"):
        Field("hi")
    with pytest.raises(TypeError, match="source"):
        SMA(3, 14)  # type: ignore[arg-type]


def test_float_and_repr_show_the_value():
    sma = SMA(2)
    values(sma, [1, 2])
    assert float(sma) == 1.5
    assert repr(sma) == "SMA(2)=1.5"
    assert repr(Highest(20, Field("high"))) == "Highest(20, Field('high'))=nan"
    assert repr(CrossAbove(EMA(10), 5.0)) == "CrossAbove(EMA(10), 5.0)=nan"
