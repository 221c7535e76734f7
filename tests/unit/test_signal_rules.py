"""The pure rules of the signal confirmation engine on hand-built bars: the
confirming bar, pivots and the stop, the trade setup and the signal lifecycle.

NQ: tick 0.25, point value 20, lot 1. Bars are one minute apart from T0. Bars are
written (open, high, low, close); expected values are worked out in comments.
Stops use an offset of 1.00 point unless a test says otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from workstation.model import (
    NS_PER_SECOND,
    AssetClass,
    Bar,
    Direction,
    Instrument,
    Signal,
    datetime_to_ns,
)
from workstation.signals import (
    TRANSITIONS,
    IllegalSignalTransition,
    SetupError,
    SignalRecord,
    SignalState,
    Sizing,
    StopChoice,
    build_setup,
    confirms,
    is_pivot_high,
    is_pivot_low,
    pivot_stop,
    record_from_json,
    record_to_json,
)

NQ = Instrument("NQ", 0.25, 20.0, 1.0, AssetClass.FUTURE, "USD", "cme_globex")
BTC = Instrument("BTCUSD", 0.01, 1.0, 0.001, AssetClass.CRYPTO, "USD", "crypto_24x7")
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))  # a Tuesday, Globex open
MIN = 60 * NS_PER_SECOND
LONG, SHORT = Direction.LONG, Direction.SHORT
S = SignalState


def bar(i: int, o: float, h: float, low: float, c: float) -> Bar:
    """The i-th one-minute NQ bar from T0."""
    return Bar("NQ", "1m", T0 + i * MIN, T0 + (i + 1) * MIN, o, h, low, c, 100.0, 10)


def bars(*rows: tuple[float, float, float, float]) -> list[Bar]:
    return [bar(i, *row) for i, row in enumerate(rows)]


SIGNAL_BAR = bar(0, 21_000.00, 21_010.00, 20_990.00, 21_002.00)  # high 21010, low 20990

# Long: signal at 1, confirmation at 3. Range lows 20998, 20995, 21001: the lowest,
# bar 2 (20995), is below both neighbours -> range pivot; stop 20995 - 1 = 20994.
# Bar 4 is the bar after confirmation: the entry is its open, 21006.25.
LONG_BARS = bars(
    (21_010.00, 21_012.00, 21_004.00, 21_006.00),
    (21_006.00, 21_008.00, 20_998.00, 21_000.00),  # signal (bearish), high 21008
    (21_000.00, 21_005.00, 20_995.00, 21_003.00),  # pivot low 20995
    (21_003.00, 21_015.00, 21_001.00, 21_013.00),  # confirms: bullish, 21013 > 21008
    (21_006.25, 21_010.00, 21_004.00, 21_009.00),  # next bar: entry at its open
)

# Short mirror: signal at 1, confirmation at 3. Range highs 21002, 21005, 20999: bar 2
# (21005) is above both neighbours -> range pivot; stop 21005 + 1 = 21006.
# Entry at the next bar's open, 20985.75.
SHORT_BARS = bars(
    (20_990.00, 20_996.00, 20_988.00, 20_994.00),
    (20_994.00, 21_002.00, 20_992.00, 21_000.00),  # signal (bullish), low 20992
    (21_000.00, 21_005.00, 20_997.00, 20_998.00),  # pivot high 21005
    (20_998.00, 20_999.00, 20_985.00, 20_987.00),  # confirms: bearish, 20987 < 20992
    (20_985.75, 20_990.00, 20_980.00, 20_982.00),  # next bar: entry at its open
)


# --- confirmation ---------------------------------------------------------------------

def test_long_signal_confirms_when_bullish_bar_closes_above_signal_high() -> None:
    # bullish (21012 > 21000) and 21012 > signal high 21010
    assert confirms(LONG, SIGNAL_BAR, bar(1, 21_000.00, 21_015.00, 20_998.00, 21_012.00))


def test_short_signal_confirms_when_bearish_bar_closes_below_signal_low() -> None:
    # bearish (20988 < 21000) and 20988 < signal low 20990
    assert confirms(SHORT, SIGNAL_BAR, bar(1, 21_000.00, 21_002.00, 20_985.00, 20_988.00))


def test_bearish_bar_closing_above_signal_high_does_not_confirm_a_long() -> None:
    # closes 21011 above 21010, but opened higher at 21014: bearish
    assert not confirms(LONG, SIGNAL_BAR, bar(1, 21_014.00, 21_016.00, 21_008.00, 21_011.00))


def test_bullish_bar_closing_below_signal_low_does_not_confirm_a_short() -> None:
    # closes 20989 below 20990, but opened lower at 20986: bullish
    assert not confirms(SHORT, SIGNAL_BAR, bar(1, 20_986.00, 20_992.00, 20_984.00, 20_989.00))


def test_bullish_bar_closing_exactly_at_signal_high_does_not_confirm_a_long() -> None:
    assert not confirms(LONG, SIGNAL_BAR, bar(1, 21_000.00, 21_012.00, 20_998.00, 21_010.00))


def test_bearish_bar_closing_exactly_at_signal_low_does_not_confirm_a_short() -> None:
    assert not confirms(SHORT, SIGNAL_BAR, bar(1, 21_000.00, 21_001.00, 20_988.00, 20_990.00))


# --- pivots ---------------------------------------------------------------------------

def test_bar_with_low_strictly_below_both_neighbours_is_a_pivot_low() -> None:
    assert is_pivot_low(LONG_BARS, 2)  # 20995 < 20998 and < 21001
    assert not is_pivot_low(LONG_BARS, 1)  # 20998 < 21004 but not < 20995


def test_bar_with_high_strictly_above_both_neighbours_is_a_pivot_high() -> None:
    assert is_pivot_high(SHORT_BARS, 2)  # 21005 > 21002 and > 20999
    assert not is_pivot_high(SHORT_BARS, 1)


def test_neighbour_with_an_equal_extreme_makes_no_pivot() -> None:
    row = bars((21_004.00, 21_006.00, 20_995.00, 21_002.00),
               (21_002.00, 21_006.00, 20_995.00, 21_001.00),
               (21_001.00, 21_005.00, 20_999.00, 21_004.00))
    assert not is_pivot_low(row, 1)  # 20995 is not strictly below 20995
    assert not is_pivot_high(row, 1)  # 21006 is not strictly above 21006


def test_first_and_last_bars_are_never_pivots() -> None:
    row = bars((21_000.00, 21_009.00, 20_990.00, 21_005.00),
               (21_005.00, 21_006.00, 20_995.00, 21_000.00),
               (21_000.00, 21_009.00, 20_990.00, 21_005.00))
    for i in (0, 2):  # lowest lows and highest highs, but a neighbour is missing
        assert not is_pivot_low(row, i)
        assert not is_pivot_high(row, i)


# --- pivot stop -----------------------------------------------------------------------

def test_long_stop_goes_below_a_pivot_low_inside_the_confirmation_range() -> None:
    choice = pivot_stop(LONG, LONG_BARS, 1, 3, 1.0, NQ)
    assert choice == StopChoice(price=20_994.00, rule="range_pivot", bar=LONG_BARS[2],
                                anchor=20_995.00)


def test_short_stop_goes_above_a_pivot_high_inside_the_confirmation_range() -> None:
    choice = pivot_stop(SHORT, SHORT_BARS, 1, 3, 1.0, NQ)
    assert choice == StopChoice(price=21_006.00, rule="range_pivot", bar=SHORT_BARS[2],
                                anchor=21_005.00)


def test_signal_bar_is_a_range_pivot_judged_against_the_bar_before_it() -> None:
    # Range 1..3 lows 20995, 20997, 20998: the signal bar is lowest; its left neighbour
    # (bar 0, before the range) is 20999 and its right 20997 -> pivot; stop 20994.
    row = bars((21_002.00, 21_004.00, 20_999.00, 21_001.00),
               (21_001.00, 21_004.00, 20_995.00, 21_002.00),  # signal, high 21004
               (21_002.00, 21_003.00, 20_997.00, 20_999.00),
               (20_999.00, 21_010.00, 20_998.00, 21_008.00))  # confirms: 21008 > 21004
    choice = pivot_stop(LONG, row, 1, 3, 1.0, NQ)
    assert choice is not None
    assert (choice.rule, choice.bar, choice.price) == ("range_pivot", row[1], 20_994.00)


def test_signal_bar_is_no_pivot_when_the_bar_before_it_is_lower() -> None:
    # Range 2..4 lows 20995, 20997, 20998: the signal bar is lowest, but bar 1 (20994)
    # is lower -> no range pivot. Looking left, bar 1 is a pivot (21002 > 20994 < 20995):
    # stop 20994 - 1 = 20993.
    row = bars((21_008.00, 21_010.00, 21_002.00, 21_006.00),
               (21_006.00, 21_007.00, 20_994.00, 21_000.00),
               (21_000.00, 21_004.00, 20_995.00, 21_002.00),  # signal, high 21004
               (21_002.00, 21_003.00, 20_997.00, 20_999.00),
               (20_999.00, 21_010.00, 20_998.00, 21_008.00))  # confirms
    choice = pivot_stop(LONG, row, 2, 4, 1.0, NQ)
    assert choice is not None
    assert (choice.rule, choice.bar, choice.price) == ("left_pivot", row[1], 20_993.00)


# Signal at 2, confirmation at 4. Range lows 20999, 20998, 20997: the lowest is ON the
# confirmation bar, which has no completed right neighbour -> not a pivot. Looking
# left, bar 1 (20996, neighbours 21000 and 20999) is a pivot low: stop 20995.
CONFIRM_IS_LOWEST = bars(
    (21_008.00, 21_012.00, 21_000.00, 21_008.00),
    (21_008.00, 21_009.00, 20_996.00, 21_002.00),  # pivot low 20996
    (21_002.00, 21_006.00, 20_999.00, 21_001.00),  # signal, high 21006
    (21_001.00, 21_004.00, 20_998.00, 21_003.00),
    (21_003.00, 21_010.00, 20_997.00, 21_008.00),  # confirms, lowest low of the range
)


def test_lowest_low_on_the_confirmation_bar_is_no_pivot_so_the_stop_looks_left() -> None:
    choice = pivot_stop(LONG, CONFIRM_IS_LOWEST, 2, 4, 1.0, NQ)
    assert choice == StopChoice(price=20_995.00, rule="left_pivot",
                                bar=CONFIRM_IS_LOWEST[1], anchor=20_996.00)


def test_bars_after_the_confirmation_bar_are_not_looked_at() -> None:
    # A later bar with a higher low would make the confirmation bar a pivot low if it
    # were seen; the stop must not depend on it.
    later = [*CONFIRM_IS_LOWEST, bar(5, 21_008.00, 21_012.00, 21_005.00, 21_010.00)]
    choice = pivot_stop(LONG, later, 2, 4, 1.0, NQ)
    assert choice is not None
    assert choice.rule == "left_pivot"


def ladder(gap: int) -> list[Bar]:
    """A pivot low (20990) at bar 1, the signal bar ``gap`` bars after it, then the
    confirmation bar. Bars between climb 2 points a bar (bullish), so none is a pivot;
    the signal bar is bearish (21008 -> 21004), its low 21002 above the bar before it."""
    rows = [(21_003.00, 21_006.00, 21_000.00, 21_005.00),
            (20_993.00, 20_996.00, 20_990.00, 20_995.00)]
    for k in range(1, gap):
        low = 20_990.00 + 2 * k
        rows.append((low + 3, low + 6, low, low + 5))
    rows.append((21_008.00, 21_010.00, 21_002.00, 21_004.00))  # signal, high 21010
    rows.append((21_005.00, 21_014.00, 21_004.00, 21_012.00))  # confirms: 21012 > 21010
    return bars(*rows)


def test_long_stop_uses_a_pivot_low_five_bars_left_of_the_signal_bar() -> None:
    row = ladder(5)  # signal at 6; the look-back covers bars 5..1; pivot at 1
    choice = pivot_stop(LONG, row, 6, 7, 1.0, NQ)
    assert choice == StopChoice(price=20_989.00, rule="left_pivot", bar=row[1],
                                anchor=20_990.00)


def test_pivot_six_bars_left_is_out_of_reach_so_the_first_bearish_bar_is_used() -> None:
    row = ladder(6)  # signal at 7; the look-back covers bars 6..2; pivot at 1 unseen
    # range lows 21002 (signal), 21004: signal bar lowest but bar 6 (21000) is lower;
    # the first bearish bar of the range is the signal bar: stop 21002 - 1 = 21001
    choice = pivot_stop(LONG, row, 7, 8, 1.0, NQ)
    assert choice == StopChoice(price=21_001.00, rule="first_opposing_bar", bar=row[7],
                                anchor=21_002.00)


def test_short_stop_falls_back_to_the_first_bullish_bar_of_the_range() -> None:
    # Range 0..2 highs 21004, 21006, 21008: highest on the confirmation bar -> no pivot;
    # nothing to the left. The first bullish bar is the signal bar (21000 -> 21002):
    # stop 21004 + 1 = 21005.
    row = bars((21_000.00, 21_004.00, 20_996.00, 21_002.00),  # signal, low 20996
               (21_002.00, 21_006.00, 20_999.00, 21_001.00),
               (21_003.00, 21_008.00, 20_990.00, 20_993.00))  # confirms: 20993 < 20996
    choice = pivot_stop(SHORT, row, 0, 2, 1.0, NQ)
    assert choice == StopChoice(price=21_005.00, rule="first_opposing_bar", bar=row[0],
                                anchor=21_004.00)


def test_neighbour_with_an_equal_low_means_the_stop_falls_back() -> None:
    # Range 1..3 lows 20995, 20999, 21002: the signal bar is lowest but bar 0 has the
    # same low 20995 -> not strictly below, no pivot; bar 0 is the first bar (no pivot).
    # First bearish bar: the signal bar (21002 -> 21001): stop 20994.
    row = bars((21_004.00, 21_006.00, 20_995.00, 21_002.00),
               (21_002.00, 21_008.00, 20_995.00, 21_001.00),  # signal, high 21008
               (21_001.00, 21_005.00, 20_999.00, 21_004.00),
               (21_004.00, 21_012.00, 21_002.00, 21_010.00))  # confirms
    choice = pivot_stop(LONG, row, 1, 3, 1.0, NQ)
    assert choice is not None
    assert (choice.rule, choice.bar, choice.price) == ("first_opposing_bar", row[1],
                                                       20_994.00)


def test_equal_lowest_lows_in_the_range_use_the_earliest_bar() -> None:
    # Bars 2 and 4 both reach 20995 and both are pivot lows; the earliest (2) is used.
    row = bars((21_006.00, 21_008.00, 21_000.00, 21_004.00),
               (21_004.00, 21_009.00, 20_998.00, 21_000.00),  # signal, high 21009
               (21_000.00, 21_003.00, 20_995.00, 21_002.00),
               (21_002.00, 21_005.00, 20_999.00, 21_001.00),
               (21_001.00, 21_004.00, 20_995.00, 21_003.00),
               (21_003.00, 21_012.00, 20_997.00, 21_011.00))  # confirms: 21011 > 21009
    choice = pivot_stop(LONG, row, 1, 5, 1.0, NQ)
    assert choice is not None
    assert (choice.rule, choice.bar, choice.price) == ("range_pivot", row[2], 20_994.00)


def test_no_pivot_and_no_opposing_bar_gives_no_stop() -> None:
    # All bullish; the lowest low (20996) is on the confirmation bar; nothing to the left.
    row = bars((21_000.00, 21_006.00, 20_998.00, 21_004.00),  # signal, high 21006
               (21_001.00, 21_010.00, 20_996.00, 21_008.00))  # confirms: 21008 > 21006
    assert pivot_stop(LONG, row, 0, 1, 1.0, NQ) is None


def test_stop_is_rounded_to_the_nearest_tick() -> None:
    # long: 20995 - 2.3 = 20992.70 -> ticks 20992.50 / 20992.75: nearest is 20992.75
    # short: 21005 + 2.3 = 21007.30 -> ticks 21007.25 / 21007.50: nearest is 21007.25
    long_choice = pivot_stop(LONG, LONG_BARS, 1, 3, 2.3, NQ)
    short_choice = pivot_stop(SHORT, SHORT_BARS, 1, 3, 2.3, NQ)
    assert long_choice is not None and short_choice is not None
    assert (long_choice.price, long_choice.anchor) == (20_992.75, 20_995.00)
    assert (short_choice.price, short_choice.anchor) == (21_007.25, 21_005.00)


def test_off_grid_anchor_is_rounded_to_the_nearest_tick() -> None:
    # pivot low 21003.10 (off the grid) - 1.00 = 21002.10 -> nearest tick 21002.00
    row = bars((21_008.00, 21_010.00, 21_005.00, 21_007.00),
               (21_007.00, 21_008.00, 21_003.10, 21_004.00),  # signal, pivot low
               (21_004.00, 21_012.00, 21_004.00, 21_011.00))  # confirms: 21011 > 21008
    choice = pivot_stop(LONG, row, 1, 2, 1.0, NQ)
    assert choice is not None
    assert (choice.rule, choice.price, choice.anchor) == ("range_pivot", 21_002.00, 21_003.10)


def test_confirmation_range_outside_the_bars_is_refused() -> None:
    with pytest.raises(ValueError, match="bad confirmation range"):
        pivot_stop(LONG, LONG_BARS, 3, 1, 1.0, NQ)
    with pytest.raises(ValueError, match="bad confirmation range"):
        pivot_stop(LONG, LONG_BARS, 1, 5, 1.0, NQ)


# --- setup ----------------------------------------------------------------------------

LONG_STOP = pivot_stop(LONG, LONG_BARS, 1, 3, 1.0, NQ)  # 20994.00 below bar 2
SHORT_STOP = pivot_stop(SHORT, SHORT_BARS, 1, 3, 1.0, NQ)  # 21006.00 above bar 2


def long_setup(**kwargs: object):
    """Long NQ entered at the open of the bar after confirmation (21006.25), stop
    20994.00: 12.25 points, x 20 = 245.00 per contract."""
    assert LONG_STOP is not None
    args: dict[str, object] = {"sizing": Sizing.FIXED_MONEY, "risk_amount": 1_000.0,
                               "equity": 50_000.0, "signal_bar": LONG_BARS[1],
                               "confirm_bar": LONG_BARS[3]}
    args.update(kwargs)
    entry = args.pop("entry", LONG_BARS[4].open)
    stop = args.pop("stop", LONG_STOP)
    return build_setup(LONG, entry, stop, NQ, **args)


def test_long_setup_enters_at_the_next_open_and_measures_risk_in_points_and_money() -> None:
    setup = long_setup()
    # 21006.25 - 20994.00 = 12.25 points; 12.25 x 20 = 245.00; 1000 / 245 = 4.08 -> 4
    assert (setup.symbol, setup.direction, setup.entry, setup.stop) == (
        "NQ", LONG, 21_006.25, 20_994.00)
    assert (setup.risk_points, setup.risk_money_per_contract) == (12.25, 245.0)
    assert (setup.qty, setup.risk_money) == (4.0, 980.0)
    # targets: 21006.25 + 12.25 = 21018.50 (1R), + 24.50 = 21030.75 (2R)
    assert (setup.targets, setup.target_r) == ((21_018.50, 21_030.75), (1.0, 2.0))
    assert (setup.entry_kind, setup.stop_rule) == ("next_open", "range_pivot")
    assert (setup.signal_bar_ts, setup.confirm_bar_ts, setup.pivot_bar_ts) == (
        LONG_BARS[1].ts, LONG_BARS[3].ts, LONG_BARS[2].ts)


def test_short_setup_mirrors_risk_and_targets() -> None:
    assert SHORT_STOP is not None
    setup = build_setup(SHORT, SHORT_BARS[4].open, SHORT_STOP, NQ,
                        sizing=Sizing.FIXED_MONEY, risk_amount=1_000.0, equity=50_000.0,
                        signal_bar=SHORT_BARS[1], confirm_bar=SHORT_BARS[3])
    # 21006.00 - 20985.75 = 20.25 points, x 20 = 405.00; 1000 / 405 = 2.47 -> 2 (810.00)
    assert (setup.entry, setup.stop, setup.risk_points) == (20_985.75, 21_006.00, 20.25)
    assert (setup.qty, setup.risk_money_per_contract, setup.risk_money) == (2.0, 405.0, 810.0)
    # targets: 20985.75 - 20.25 = 20965.50 (1R), - 40.50 = 20945.25 (2R)
    assert setup.targets == (20_965.50, 20_945.25)


def test_size_at_a_percent_of_equity() -> None:
    # 1% of 50,000 = 500 allowed; 500 / 245 = 2.04 -> 2 contracts, 490 at risk
    setup = long_setup(sizing=Sizing.EQUITY_PCT, risk_amount=1.0, equity=50_000.0)
    assert (setup.qty, setup.risk_money) == (2.0, 490.0)


def test_size_is_rounded_down_never_up() -> None:
    # 979 / 245 = 3.996: 3 contracts, not 4 (4 would risk 980 > 979)
    assert long_setup(risk_amount=979.0).qty == 3.0


def test_size_is_rounded_down_to_the_lot_size() -> None:
    # BTC lot 0.001: 100 allowed / (300 points x 1) = 0.3333 -> 0.333, not 0.334
    stop = StopChoice(price=59_700.00, rule="range_pivot", bar=LONG_BARS[2],
                      anchor=59_701.00)
    setup = build_setup(LONG, 60_000.00, stop, BTC, sizing=Sizing.FIXED_MONEY,
                        risk_amount=100.0, equity=10_000.0, signal_bar=LONG_BARS[1],
                        confirm_bar=LONG_BARS[3])
    assert (setup.risk_points, setup.qty) == (300.0, 0.333)


def test_size_is_capped_at_max_qty() -> None:
    # 10,000 / 245 = 40.8 -> 40 contracts, capped at 5 (5 x 245 = 1225 at risk)
    setup = long_setup(risk_amount=10_000.0, max_qty=5.0)
    assert (setup.qty, setup.risk_money) == (5.0, 1_225.0)


@pytest.mark.parametrize("entry", [20_994.00, 20_990.00])
def test_long_stop_at_or_above_the_entry_is_refused(entry: float) -> None:
    with pytest.raises(SetupError, match=r"long stop 20994\.00 is not below the entry"):
        long_setup(entry=entry)


def test_short_stop_at_or_below_the_entry_is_refused() -> None:
    assert SHORT_STOP is not None  # 21006.00
    with pytest.raises(SetupError, match=r"short stop 21006\.00 is not above the entry "
                                         r"21010\.00"):
        build_setup(SHORT, 21_010.00, SHORT_STOP, NQ, sizing=Sizing.FIXED_MONEY,
                    risk_amount=1_000.0, equity=50_000.0, signal_bar=SHORT_BARS[1],
                    confirm_bar=SHORT_BARS[3])


def test_setup_whose_size_rounds_to_zero_is_refused_with_the_numbers() -> None:
    # entry 21024.00 - stop 20994.00 = 30 points x 20 = 600 per contract > 500 allowed
    with pytest.raises(SetupError) as info:
        long_setup(entry=21_024.00, risk_amount=500.0)
    assert str(info.value) == "risk per contract 600.00 exceeds the 500.00 allowed per trade"


def test_targets_at_r_multiples_are_rounded_to_the_tick() -> None:
    # 1.3R: 21006.25 + 1.3 x 12.25 = 21022.175 -> nearest tick 21022.25
    # 2.7R: 21006.25 + 2.7 x 12.25 = 21039.325 -> nearest tick 21039.25
    setup = long_setup(target_r=(1.3, 2.7))
    assert setup.targets == (21_022.25, 21_039.25)


# --- lifecycle ------------------------------------------------------------------------

SIGNAL = Signal("NQ", LONG, LONG_BARS[1].end, "Momentum signals", price=21_000.00,
                bar=LONG_BARS[1], notes="breakout")
PATH = [S.PENDING, S.CONFIRMED, S.AWAITING_APPROVAL, S.APPROVED, S.ACTIVE, S.CLOSED]


def record_at(state: SignalState) -> SignalRecord:
    """A record walked along the happy path up to ``state``, one minute a step."""
    record = SignalRecord.received("sig-1", SIGNAL, T0)
    for step, target in enumerate(PATH[:PATH.index(state) + 1] if state in PATH else []):
        record.move(target, T0 + (step + 1) * MIN, f"to {target}")
    return record


def test_signal_walks_the_legal_path_to_closed_with_times_and_reasons() -> None:
    record = SignalRecord.received("sig-1", SIGNAL, T0)
    reasons = ["valid", "bar 15:03 closed 21013.00 above 21008.00", "setup built",
               "trader approved", "entry filled", "target 1 hit"]
    for step, (state, reason) in enumerate(zip(PATH, reasons, strict=True)):
        record.move(state, T0 + (step + 1) * MIN, reason)
    assert record.state is S.CLOSED and record.state.terminal
    assert [t.state for t in record.history] == [S.RECEIVED, *PATH]
    assert [t.reason for t in record.history] == ["signal received", *reasons]
    assert [t.ts for t in record.history] == [T0 + k * MIN for k in range(7)]
    assert (record.confirmed_ts, record.approved_ts) == (T0 + 2 * MIN, T0 + 4 * MIN)
    assert record.history[2].as_dict() == {
        "state": "confirmed", "time": "2026-01-13T15:02:00+00:00",
        "reason": "bar 15:03 closed 21013.00 above 21008.00"}


def test_illegal_transition_raises_naming_the_signal_and_both_states() -> None:
    record = record_at(S.PENDING)
    with pytest.raises(IllegalSignalTransition,
                       match="signal sig-1: cannot go from pending to approved"):
        record.move(S.APPROVED, T0 + 5 * MIN, "skipping ahead")
    assert record.state is S.PENDING and len(record.history) == 2


@pytest.mark.parametrize("end", [S.CANCELLED, S.EXPIRED])
@pytest.mark.parametrize("stage", [S.RECEIVED, S.PENDING, S.CONFIRMED,
                                   S.AWAITING_APPROVAL, S.APPROVED])
def test_signal_can_be_cancelled_or_expire_at_any_stage_before_active(
        stage: SignalState, end: SignalState) -> None:
    record = record_at(stage)
    record.move(end, T0 + 10 * MIN, "withdrawn")
    assert record.state is end and end.terminal


@pytest.mark.parametrize("end", [S.CANCELLED, S.EXPIRED])
@pytest.mark.parametrize("stage", [S.ACTIVE, S.CLOSED])
def test_signal_cannot_be_cancelled_or_expire_once_active(
        stage: SignalState, end: SignalState) -> None:
    record = record_at(stage)
    with pytest.raises(IllegalSignalTransition, match=f"from {stage} to {end}"):
        record.move(end, T0 + 10 * MIN, "too late")


@pytest.mark.parametrize("stage", [S.RECEIVED, S.CONFIRMED, S.AWAITING_APPROVAL,
                                   S.APPROVED])
def test_signal_can_be_rejected_by_validation_setup_trader_or_risk_gate(
        stage: SignalState) -> None:
    record = record_at(stage)
    record.move(S.REJECTED, T0 + 10 * MIN, "refused")
    assert record.state is S.REJECTED


def test_terminal_states_lead_nowhere_and_only_they_are_terminal() -> None:
    for state in SignalState:
        assert state.terminal == (not TRANSITIONS[state])
    assert {s for s in SignalState if s.terminal} == {S.REJECTED, S.CLOSED, S.CANCELLED,
                                                       S.EXPIRED}


def test_report_has_no_entry_or_stop_before_confirmation() -> None:
    report = record_at(S.PENDING).as_report()
    assert {k: report[k] for k in ("id", "symbol", "direction", "source", "state")} == {
        "id": "sig-1", "symbol": "NQ", "direction": "long", "source": "Momentum signals",
        "state": "pending"}
    assert (report["entry"], report["stop"], report["targets"], report["qty"]) == (
        None, None, [], None)
    assert report["history"] == [
        {"state": "received", "time": "2026-01-13T15:00:00+00:00",
         "reason": "signal received"},
        {"state": "pending", "time": "2026-01-13T15:01:00+00:00", "reason": "to pending"}]


def full_record() -> SignalRecord:
    """A closed trade's record with every field set."""
    record = record_at(S.CLOSED)
    record.setup = long_setup()
    record.bars_waited = 2
    record.confirm_bar = LONG_BARS[3]
    record.order_client_ids = ["sig-1-1", "sig-1-2"]
    record.trade_id = "T-7"
    record.exit_reason = "target"
    record.gate_verdict = "approved"
    return record


def test_report_carries_the_setup_once_confirmed() -> None:
    report = full_record().as_report()
    assert report["state"] == "closed" and len(report["history"]) == 7
    assert (report["entry"], report["stop"], report["targets"], report["qty"]) == (
        21_006.25, 20_994.00, [21_018.50, 21_030.75], 4.0)
    assert (report["bars_waited"], report["exit_reason"]) == (2, "target")


def test_record_round_trips_through_json_exactly() -> None:
    record = full_record()
    loaded = record_from_json(record_to_json(record))
    assert loaded == record
    assert loaded.setup is not None and loaded.setup.direction is LONG
    assert isinstance(loaded.confirm_bar, Bar) and isinstance(loaded.signal.bar, Bar)
    assert isinstance(loaded.history[0].state, SignalState)


def test_fresh_record_without_setup_or_bars_round_trips_through_json() -> None:
    record = SignalRecord.received("sig-2", replace(SIGNAL, bar=None, price=None), T0)
    assert record_from_json(record_to_json(record)) == record


def test_malformed_record_json_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="signal record JSON is malformed"):
        record_from_json('{"version": 1, "id": "sig-3"}')
