"""Prop-firm evaluation presets walked by hand: Topstep-style (end-of-day trailing drawdown
that locks at the starting balance), FTMO-style (daily loss from the day's starting balance,
floating P&L included; max loss from the initial balance) and intraday-trailing (the
threshold follows the highest equity, open P&L included).

Commission is 0 and futures margin 500 a contract, so the account moves only by points x
point value (NQ: 20 a point) and buying power never gets in the way. The trading day rolls
at 17:00 New York (22:00 UTC in January): the first market event after it closes the day.
"""

from __future__ import annotations

import pytest

from tests.unit.risk_desk import BUY, SELL, Desk, settings, utc
from workstation.orders import Bracket, OrderType
from workstation.risk.events import KillSwitchChanged
from workstation.risk.gate import Rejected
from workstation.risk.rules import prop_defaults, prop_rules
from workstation.risk.settings import OrderLimits, PortfolioLimits, PropFirm, RiskSettings

QUIET = OrderLimits(duplicate_window_s=0, max_orders_per_s=None, max_orders_per_min=None)
LIMIT = OrderType.LIMIT
ANY_TIME = PortfolioLimits(sessions_only=False, no_entry_minutes_before_close=None)

# trading days (CME open; Monday 2026-01-19 is Martin Luther King Jr. Day and is skipped)
DAYS = [(2026, 1, 13), (2026, 1, 14), (2026, 1, 15), (2026, 1, 16), (2026, 1, 20),
        (2026, 1, 21)]


def morning(day: int, minute: int = 0) -> int:
    """10:00 New York (+ minutes) on trading day ``day`` (1-based)."""
    return utc(*DAYS[day - 1], 15, minute)


def evening(day: int) -> int:
    """17:30 New York on trading day ``day``: half an hour after the roll."""
    return utc(*DAYS[day - 1], 22, 30)


def prop_desk(prop: PropFirm, portfolio: PortfolioLimits = ANY_TIME) -> Desk:
    trading = Desk(settings(RiskSettings(order=QUIET, portfolio=portfolio, prop=prop),
                            margin=500.0), morning(1))
    trading.market(21_000.00, ts=morning(1))
    return trading


def round_trip(trading: Desk, day: int, exit_price: float, qty: float = 1) -> None:
    """Buy ``qty`` NQ at 21,000.00 at 10:00 and sell at ``exit_price`` at 10:05."""
    trading.market(21_000.00, ts=morning(day))
    trading.filled(BUY, qty)
    trading.market(exit_price, ts=morning(day, 5))
    trading.filled(SELL, qty)


@pytest.fixture(autouse=True)
def no_handler_fails(caplog):
    """A bus handler that raises is logged and counted, not raised: fail the test on one."""
    yield
    failed = [r.getMessage() for when in ("setup", "call") for r in caplog.get_records(when)
              if r.name == "workstation.bus"]
    assert failed == []


def status(trading: Desk, rule: str) -> float:
    return next(s.value for s in trading.monitor.statuses if s.rule == rule)


# -- presets from the account size ---------------------------------------------------------------
@pytest.mark.parametrize(("prop", "expected"), [
    # FTMO-style: daily 5%, max loss 10%, target 10%, 4 trading days
    (PropFirm(style="ftmo", account_size=100_000), (5_000, 10_000, 10_000, 4, None)),
    (PropFirm(style="ftmo", account_size=200_000), (10_000, 20_000, 20_000, 4, None)),
    # Topstep-style: daily 2%, the table's trailing amounts, target 6%, 1 contract per 10k
    (PropFirm(style="topstep", account_size=50_000), (1_000, 2_000, 3_000, None, 5)),
    (PropFirm(style="topstep", account_size=100_000), (2_000, 3_000, 6_000, None, 10)),
    (PropFirm(style="topstep", account_size=150_000), (3_000, 4_500, 9_000, None, 15)),
    # an account size outside the table trails 4%: 0.04 x 75,000 = 3,000
    (PropFirm(style="topstep", account_size=75_000), (1_500, 3_000, 4_500, None, 7)),
    # intraday trailing: 5% trailing, target 6%, no daily loss, no contract cap
    (PropFirm(style="intraday_trailing", account_size=50_000), (None, 2_500, 3_000, None, None)),
    # explicit numbers win over the style's
    (PropFirm(style="topstep", account_size=50_000, daily_loss=800, max_contracts=3),
     (800, 2_000, 3_000, None, 3)),
])
def test_the_preset_numbers_come_from_the_style_and_the_account_size(prop, expected):
    filled = prop_defaults(prop)

    assert (filled.daily_loss, filled.max_loss, filled.profit_target, filled.min_trading_days,
            filled.max_contracts) == expected


@pytest.mark.parametrize(("style", "rules"), [
    ("ftmo", [("prop_daily_loss", "FTMO-style daily loss", 5_000),
              ("prop_max_loss", "FTMO-style max loss", 10_000)]),
    ("topstep", [("prop_daily_loss", "Topstep-style daily loss", 2_000),
                 ("prop_trailing_drawdown", "Topstep-style trailing drawdown", 3_000),
                 ("prop_contracts", "Topstep-style contracts", 10)]),
    ("intraday_trailing", [("prop_trailing_drawdown", "Intraday-trailing trailing drawdown",
                            5_000)]),
])
def test_each_style_measures_its_own_rules_and_the_loss_rules_are_hard(style, rules):
    built = prop_rules(PropFirm(style=style, account_size=100_000))

    assert [(r.name, r.label, r.limit) for r in built] == rules
    assert [r.hard for r in built] == [r.unit == "$" for r in built]


# -- Topstep-style ---------------------------------------------------------------------------------
def test_topstep_trailing_drawdown_follows_the_end_of_day_high_locks_at_the_start_and_breaches():
    trading = prop_desk(PropFirm(style="topstep", account_size=50_000))  # 2,000 trailing
    monitor = trading.monitor
    assert monitor.trailing_threshold == 48_000.0  # 50,000 - 2,000

    # day 1: +80 points open (equity 51,600) but closed at +50: +1,000
    trading.market(21_000.00, ts=morning(1))
    trading.filled(BUY, 1)
    trading.market(21_080.00, ts=morning(1, 1))
    assert monitor.equity == 51_600.0
    trading.market(21_050.00, ts=morning(1, 2))
    trading.filled(SELL, 1)
    assert monitor.trailing_threshold == 48_000.0  # only the day's close moves it
    closes = []

    def close_day(day: int) -> None:
        trading.market(21_000.00, ts=evening(day))  # after 17:00 ET: the day rolls
        closes.append((monitor.balance, monitor.eod_high_balance, monitor.trailing_threshold))

    close_day(1)  # high 51,000: 51,000 - 2,000 = 49,000 (not 51,600 - 2,000)
    round_trip(trading, 2, 20_970.00)  # -30 points: -600 -> 50,400
    close_day(2)  # below the high: the threshold does not come down
    round_trip(trading, 3, 21_090.00)  # +90: +1,800 -> 52,200
    close_day(3)  # 52,200 - 2,000 = 50,200: capped at the 50,000 start, where it locks
    round_trip(trading, 4, 20_955.00)  # -45: -900 -> 51,300
    close_day(4)
    round_trip(trading, 5, 20_955.00)  # -900 -> 50,400: 400 above the threshold
    close_day(5)

    assert closes == [
        (51_000.0, 51_000.0, 49_000.0),
        (50_400.0, 51_000.0, 49_000.0),
        (52_200.0, 52_200.0, 50_000.0),
        (51_300.0, 52_200.0, 50_000.0),
        (50_400.0, 52_200.0, 50_000.0),
    ]
    assert sorted(monitor.trading_days) == ["2026-01-13", "2026-01-14", "2026-01-15",
                                            "2026-01-16", "2026-01-20"]
    assert trading.kills == []

    # day 6: -10 points open: equity 50,200, 1,800 of the 2,000 used (90%): entries blocked
    trading.market(21_000.00, ts=morning(6))
    trading.filled(BUY, 1)
    trading.market(20_990.00, ts=morning(6, 1))
    blocked = trading.check(BUY, 1)
    assert isinstance(blocked, Rejected) and blocked.reason == (
        "topstep-style trailing drawdown 1,800.00 of 2,000.00 limit (90%): new entries blocked")
    # -20 points: equity 50,000 = the locked threshold: a breach, though the day is only -400
    trading.market(20_980.00, ts=morning(6, 2))

    reason = "Topstep-style trailing drawdown breached: 2,000.00 of 2,000.00 limit"
    assert trading.kills == [KillSwitchChanged(morning(6, 2), True, reason, True)]
    assert status(trading, "prop_daily_loss") == 400.0
    # the firm closes a failed account's positions: so does the switch, at 20,980.00
    assert trading.portfolio.position("NQ") == 0
    assert [(f.side, f.qty, f.price, f.source) for f in trading.fills[-1:]] == [
        (SELL, 1, 20_980.00, "kill-switch")]


def test_topstep_daily_loss_counts_open_losses_and_fires_the_kill_switch():
    trading = prop_desk(PropFirm(style="topstep", account_size=50_000))  # 1,000 daily

    trading.filled(BUY, 2)
    trading.market(20_980.00, ts=morning(1, 1))  # 2 x -20 x 20 = -800: 80%, danger
    assert not trading.kill_switch.active
    trading.market(20_975.00, ts=morning(1, 2))  # 2 x -25 x 20 = -1,000

    reason = "Topstep-style daily loss breached: 1,000.00 of 1,000.00 limit"
    assert trading.kills == [KillSwitchChanged(morning(1, 2), True, reason, True)]
    # the trailing drawdown is half used: 2,000 - (49,000 - 48,000) = 1,000
    assert status(trading, "prop_trailing_drawdown") == 1_000.0


def test_topstep_contracts_are_capped_at_five_on_a_50k_account():
    trading = prop_desk(PropFirm(style="topstep", account_size=50_000))

    six = trading.check(BUY, 6)
    trading.filled(BUY, 3)
    three_more = trading.check(BUY, 3)
    two_more = trading.submit(BUY, 2)

    assert isinstance(six, Rejected) and six.reason == (
        "topstep-style contracts 0.00 of 5.00 limit: this order would make 6")
    assert isinstance(three_more, Rejected) and three_more.reason == (
        "topstep-style contracts 3.00 of 5.00 limit: this order would make 6")
    assert two_more.status == "filled" and trading.portfolio.position("NQ") == 5


def test_a_100k_topstep_account_can_hold_its_tenth_contract():
    # bug: 9 of 10 contracts is 90%, "locked", and the gate blocked the tenth
    trading = prop_desk(PropFirm(style="topstep", account_size=100_000))

    trading.filled(BUY, 9)
    tenth = trading.submit(BUY, 1)
    eleventh = trading.check(BUY, 1)

    assert tenth.status == "filled" and trading.portfolio.position("NQ") == 10
    assert isinstance(eleventh, Rejected) and eleventh.reason == (
        "topstep-style contracts 10.00 of 10.00 limit: this order would make 11")


# -- FTMO-style ------------------------------------------------------------------------------------
def test_ftmo_daily_loss_breaches_on_floating_loss_while_closed_pnl_is_fine():
    trading = prop_desk(PropFirm(style="ftmo", account_size=100_000))  # 5,000 daily, 10,000 max

    round_trip(trading, 1, 21_100.00)  # +100 points: +2,000 -> balance 102,000
    trading.market(21_000.00, ts=evening(1))  # the day rolls: today starts at 102,000
    round_trip(trading, 2, 20_950.00)  # closed today: -1,000 (20% of 5,000): fine
    trading.filled(BUY, 1)  # at 20,950.00
    trading.market(20_800.00, ts=morning(2, 6))  # open -150 points: -3,000
    assert status(trading, "prop_daily_loss") == 4_000.0  # 102,000 - 98,000: 80%
    assert not trading.kill_switch.active

    trading.market(20_750.00, ts=morning(2, 7))  # open -200 points: -4,000, equity 97,000

    # 102,000 - 97,000 = 5,000: closed -1,000 + floating -4,000
    reason = "FTMO-style daily loss breached: 5,000.00 of 5,000.00 limit"
    assert trading.kills == [KillSwitchChanged(morning(2, 7), True, reason, True)]
    # flattened at 20,750.00: the floating -4,000 is realized, 102,000 - 1,000 - 4,000
    assert trading.portfolio.position("NQ") == 0
    assert trading.monitor.balance == 97_000.0
    assert status(trading, "prop_max_loss") == 3_000.0  # 100,000 - 97,000


def test_ftmo_daily_loss_starts_from_the_days_balance_so_a_carried_profit_fading_is_no_loss():
    trading = prop_desk(PropFirm(style="ftmo", account_size=100_000),
                        ANY_TIME.model_copy(update={"daily_loss": 10_000.0}))
    trading.filled(BUY, 1)  # at 21,000.00, held overnight
    trading.market(21_050.00, ts=evening(1))  # the roll: balance 100,000, equity 101,000

    trading.market(20_950.00, ts=morning(2))  # equity 99,000

    assert status(trading, "prop_daily_loss") == 1_000.0  # from the 100,000 balance
    assert status(trading, "daily_loss") == 2_000.0  # the trader's own rule: from equity


def test_ftmo_max_loss_is_from_the_initial_balance_and_does_not_trail():
    trading = prop_desk(PropFirm(style="ftmo", account_size=100_000))

    round_trip(trading, 1, 21_150.00)  # +150 points: +3,000 -> 103,000
    round_trip(trading, 2, 20_775.00)  # -225: -4,500 -> 98,500 (90% of the daily: not over)
    round_trip(trading, 3, 20_775.00)  # -4,500 -> 94,000
    assert status(trading, "prop_max_loss") == 6_000.0  # 100,000 - 94,000, not 103,000 - ...
    assert trading.kills == []

    trading.market(21_000.00, ts=morning(4))
    trading.filled(BUY, 1)
    trading.market(20_800.00, ts=morning(4, 1))  # open -200 points: -4,000 -> 90,000

    reason = "FTMO-style max loss breached: 10,000.00 of 10,000.00 limit"
    assert trading.kills == [KillSwitchChanged(morning(4, 1), True, reason, True)]
    assert status(trading, "prop_daily_loss") == 4_000.0  # the day alone was within 5,000


# -- intraday trailing -----------------------------------------------------------------------------
@pytest.mark.parametrize(("style", "breached"), [("intraday_trailing", True),
                                                 ("topstep", False)])
def test_an_intraday_trailing_threshold_follows_open_profit_and_an_eod_one_does_not(style,
                                                                                   breached):
    # the same 2,500 trailing for both, and a daily loss wide enough to stay out of the way
    trading = prop_desk(PropFirm(style=style, account_size=50_000, max_loss=2_500,
                                 daily_loss=5_000))
    trading.filled(BUY, 1)  # at 21,000.00; nothing closed all along

    trading.market(21_050.00, ts=morning(1, 1))  # open +1,000: equity 51,000, the high
    intraday = trading.monitor.trailing_threshold
    trading.market(20_975.00, ts=morning(1, 2))  # open -500: equity 49,500
    midway = status(trading, "prop_trailing_drawdown")
    trading.market(20_925.00, ts=morning(1, 3))  # open -1,500: equity 48,500

    if breached:  # 51,000 - 2,500 = 48,500; 2,500 - (49,500 - 48,500) = 1,500 used midway
        assert (intraday, midway) == (48_500.0, 1_500.0)
        reason = "Intraday-trailing trailing drawdown breached: 2,500.00 of 2,500.00 limit"
        assert trading.kills == [KillSwitchChanged(morning(1, 3), True, reason, True)]
    else:  # from the 50,000 start: 47,500; 2,500 - (49,500 - 47,500) = 500 used midway
        assert (intraday, midway) == (47_500.0, 500.0)
        assert trading.kills == []
        assert status(trading, "prop_trailing_drawdown") == 1_500.0  # 48,500 - 47,500 left


def test_an_intraday_trailing_threshold_locks_at_the_starting_balance():
    trading = prop_desk(PropFirm(style="intraday_trailing", account_size=50_000))  # 2,500
    trading.filled(BUY, 1)
    thresholds = []

    for n, price in enumerate([21_100.00, 21_130.00, 21_200.00, 21_010.00], start=1):
        trading.market(price, ts=morning(1, n))
        thresholds.append(trading.monitor.trailing_threshold)

    # equity 52,000 -> 49,500; 52,600 -> 50,100 capped at 50,000; 54,000 -> still 50,000
    assert thresholds == [49_500.0, 50_000.0, 50_000.0, 50_000.0]
    assert trading.kills == []  # 50,200 is above it
    trading.market(21_000.00, ts=morning(1, 5))  # equity 50,000: on the threshold
    assert trading.kill_switch.active and trading.portfolio.position("NQ") == 0
    # flat: any order would open a position, so none passes
    assert isinstance(trading.check(BUY, 1), Rejected)
    assert isinstance(trading.check(SELL, 1), Rejected)
    assert trading.errors == 0


# -- a breach closes the account, as the firm would ------------------------------------------------
def test_a_prop_breach_cancels_the_protective_legs_and_flattens_every_position():
    trading = prop_desk(PropFirm(style="topstep", account_size=50_000))  # 1,000 daily
    trading.market(6_000.00, symbol="ES", ts=morning(1))
    trading.filled(BUY, 2, bracket=Bracket(take_profit=21_100.00))
    trading.filled(SELL, 1, symbol="ES")
    trading.submit(BUY, 1, LIMIT, symbol="ES", limit_price=5_990.00)
    assert len(trading.broker.open_orders()) == 2  # the NQ take-profit, the ES entry limit

    trading.market(20_975.00, ts=morning(1, 1))  # NQ 2 x -25 x 20 = -1,000: the daily limit

    assert trading.kill_switch.active and trading.kill_switch.flattened
    assert trading.broker.open_orders() == []
    assert trading.portfolio.position("NQ") == 0 and trading.portfolio.position("ES") == 0
    closing = [(f.symbol, f.side, f.qty, f.price) for f in trading.fills
               if f.source == "kill-switch"]
    assert sorted(closing) == [("ES", BUY, 1, 6_000.00), ("NQ", SELL, 2, 20_975.00)]
    assert status(trading, "prop_daily_loss") == 1_000.0  # realized now, no further loss
    assert trading.errors == 0


def test_a_breach_of_the_traders_own_drawdown_keeps_the_position_and_its_legs():
    limits = ANY_TIME.model_copy(update={"max_drawdown": 500.0})
    trading = Desk(settings(RiskSettings(order=QUIET, portfolio=limits), margin=500.0),
                   morning(1))
    trading.market(21_000.00, ts=morning(1))
    trading.filled(BUY, 1, bracket=Bracket(take_profit=21_100.00))

    trading.market(20_975.00, ts=morning(1, 1))  # -25 x 20 = -500: the hard drawdown limit

    assert trading.kill_switch.active and not trading.kill_switch.flattened
    assert trading.portfolio.position("NQ") == 1  # flatten_on_kill is off: the trader decides
    assert [o.client_order_id for o in trading.broker.open_orders()] == ["t-1-TP"]
