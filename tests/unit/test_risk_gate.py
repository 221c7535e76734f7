"""The risk gate, rule by rule, on hand-written markets (invariant 1: every order passes it).

Each test builds the engine's wiring (tests/unit/risk_desk.py) with the limits it studies,
drives the market by advancing the clock and publishing quotes and trades, and checks the
exact rejection text and numbers. Commission is 0 unless a test says otherwise, so P&L is
points x point value (NQ 20, ES 50); ``market(p)`` quotes bid = ask = p and trades at p, so
market orders fill at exactly p. The monitor measures on every fill and on a trade at most
every 250 ms; the trades here are a second or more apart.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.risk_desk import BUY, MINUTE, NQ_CLOSE, SELL, T0, Desk, S, settings, utc
from workstation.config import FillModel, InstrumentSettings, PaperSettings, Settings
from workstation.model import AssetClass, Quote, Tick
from workstation.orders import Bracket, OrderStatus, OrderType
from workstation.risk.events import KillSwitchChanged, OrderBlocked, RiskLevelChanged
from workstation.risk.gate import Approved, Rejected
from workstation.risk.kill_switch import KillSwitchError
from workstation.risk.router import RiskRejected
from workstation.risk.rules import Level
from workstation.risk.settings import (
    OrderLimits,
    PortfolioLimits,
    RiskSettings,
    StrategyLimits,
)

LIMIT, STOP = OrderType.LIMIT, OrderType.STOP
# no rate or duplicate guard, no session rule: what a test does not study stays out of its way
QUIET = OrderLimits(duplicate_window_s=0, max_orders_per_s=None, max_orders_per_min=None)
ANY_TIME = PortfolioLimits(sessions_only=False, no_entry_minutes_before_close=None)


def desk(order: OrderLimits = QUIET, portfolio: PortfolioLimits = ANY_TIME, *,
         start: int = T0, **risk: object) -> Desk:
    """NQ at 21,000.00 and ES at 6,000.00 (quoted and traded) at ``start``."""
    trading = Desk(settings(RiskSettings(order=order, portfolio=portfolio, **risk)), start)
    trading.market(21_000.00, ts=start)
    trading.market(6_000.00, "ES", ts=start)
    return trading


def rejected(verdict: Approved | Rejected) -> tuple[str, str]:
    assert isinstance(verdict, Rejected), verdict
    return verdict.rule, verdict.reason


def values(verdict: Approved | Rejected) -> dict[str, float]:
    assert isinstance(verdict, Rejected), verdict
    return verdict.values


@pytest.fixture(autouse=True)
def no_handler_fails(caplog):
    """A bus handler that raises is logged and counted, not raised: fail the test on one."""
    yield
    failed = [r.getMessage() for when in ("setup", "call") for r in caplog.get_records(when)
              if r.name == "workstation.bus"]
    assert failed == []


# -- order level: grid, price, size ------------------------------------------------------------
@pytest.mark.parametrize(("symbol", "qty", "reason"), [
    ("NQ", 1.5, "quantity 1.5 is not a positive multiple of NQ's lot size 1"),
    ("NQ", 0, "quantity 0 is not a positive multiple of NQ's lot size 1"),
    ("BTC/USD", 0.00015,
     "quantity 0.00015 is not a positive multiple of BTC/USD's lot size 0.0001"),
])
def test_a_quantity_off_the_lot_grid_is_rejected_naming_the_lot_size(symbol, qty, reason):
    trading = desk()

    verdict = trading.check(BUY, qty, symbol=symbol)

    assert rejected(verdict) == ("lot_size", reason)
    assert values(verdict) == {"qty": qty, "lot_size": 0.0001 if symbol == "BTC/USD" else 1.0}


def test_a_limit_or_stop_price_off_the_tick_grid_is_rejected_naming_the_tick():
    trading = desk()

    limit = trading.check(BUY, 1, LIMIT, limit_price=20_990.10)  # 0.10 is not a 0.25 step
    stop = trading.check(SELL, 1, STOP, stop_price=20_990.30)

    assert rejected(limit) == ("tick_size", "limit price 20990.1 is not on NQ's tick grid (0.25)")
    assert rejected(stop) == ("tick_size", "stop price 20990.3 is not on NQ's tick grid (0.25)")
    assert values(limit) == {"limit_price": 20_990.10, "tick_size": 0.25}
    assert isinstance(trading.check(BUY, 1, LIMIT, limit_price=20_990.25), Approved)


def test_an_instrument_trading_below_the_minimum_price_takes_no_orders():
    trading = desk(QUIET.model_copy(update={"min_price": 1.0}))
    trading.market(0.80, "AAPL")

    verdict = trading.check(BUY, 100, symbol="AAPL")

    assert rejected(verdict) == ("min_price", "AAPL trades at 0.8, below the 1 minimum")
    assert values(verdict) == {"last": 0.80, "min_price": 1.0}
    trading.market(1.00, "AAPL")  # not below 1.00
    assert isinstance(trading.check(BUY, 100, symbol="AAPL"), Approved)


def test_a_limit_or_stop_more_than_the_band_from_the_last_trade_is_rejected():
    trading = desk(QUIET.model_copy(update={"price_band_pct": 5.0}))

    # 21,000.00 - 19,900.00 = 1,100.00 = 5.238% of 21,000.00: outside the 5% band
    far_limit = trading.check(BUY, 1, LIMIT, limit_price=19_900.00)
    # 22,100.00 - 21,000.00 = 1,100.00: the same distance above
    far_stop = trading.check(BUY, 1, STOP, stop_price=22_100.00)
    # 21,000.00 - 19,950.00 = 1,050.00 = exactly 5%: inside
    edge = trading.check(BUY, 1, LIMIT, limit_price=19_950.00)

    assert rejected(far_limit) == ("price_band",
                                   "limit 19,900.00 is 5.24% from last 21,000.00 (band 5%)")
    assert rejected(far_stop) == ("price_band",
                                  "stop 22,100.00 is 5.24% from last 21,000.00 (band 5%)")
    assert values(far_limit) == {"limit_price": 19_900.00, "last": 21_000.00,
                                 "pct": pytest.approx(100 * 1_100 / 21_000)}
    assert isinstance(edge, Approved)


def test_an_order_over_the_per_order_quantity_is_rejected():
    trading = desk(QUIET.model_copy(update={"max_qty": 3}))

    verdict = trading.check(BUY, 4)

    assert rejected(verdict) == ("max_qty", "quantity 4 is over the 3 per-order limit")
    assert values(verdict) == {"qty": 4, "limit": 3}
    assert isinstance(trading.check(BUY, 3), Approved)


def test_an_order_over_the_per_order_notional_is_rejected():
    trading = desk(QUIET.model_copy(update={"max_notional": 500_000.0}))

    # 2 x 21,000.00 (the last trade: a market order) x 20 = 840,000.00
    verdict = trading.check(BUY, 2)

    assert rejected(verdict) == ("max_notional",
                                 "notional 840,000.00 is over the 500,000.00 per-order limit")
    assert values(verdict) == {"notional": 840_000.0, "limit": 500_000.0}
    assert isinstance(trading.check(BUY, 1), Approved)  # 1 x 21,000.00 x 20 = 420,000.00


@pytest.mark.parametrize(("cash", "ok_stop", "bad_stop", "numbers"), [
    # 1% of 100,000 = 1,000: 50 points x 20 = 1,000 passes; 50.25 x 20 = 1,005 does not
    (100_000.0, 20_950.00, 20_949.75, (1_005.0, 1_000.0)),
    # 1% of 50,000 = 500: 25 points x 20 = 500 passes; 25.25 x 20 = 505 does not
    (50_000.0, 20_975.00, 20_974.75, (505.0, 500.0)),
])
def test_risk_to_the_stop_over_the_percent_of_equity_is_rejected(cash, ok_stop, bad_stop,
                                                                 numbers):
    config = settings(RiskSettings(order=QUIET.model_copy(update={"max_risk_pct": 1.0}),
                                   portfolio=ANY_TIME), cash=cash)
    trading = Desk(config)
    trading.market(21_000.00, ts=T0)

    ok = trading.check(BUY, 1, bracket=Bracket(stop_loss=ok_stop))
    too_far = trading.check(BUY, 1, bracket=Bracket(stop_loss=bad_stop))

    risk, allowed = numbers
    assert isinstance(ok, Approved)
    assert rejected(too_far) == ("max_risk", f"risk to the stop {risk:,.2f} is over 1% of "
                                             f"equity ({allowed:,.2f})")
    assert values(too_far) == {"risk": risk, "allowed": allowed}


def test_the_same_order_again_inside_the_window_is_a_duplicate_and_after_it_is_not():
    trading = desk(QUIET.model_copy(update={"duplicate_window_s": 2.0}))

    trading.filled(BUY, 1)  # at T0
    trading.at(T0 + S)
    other = trading.submit(BUY, 2)  # not the same order: another quantity
    trading.at(T0 + 3 * S // 2)
    again = trading.rejected(BUY, 1)
    trading.at(T0 + 2 * S)
    after = trading.submit(BUY, 1)  # 2.00 s later: the window (< 2 s) is over

    assert other.status is OrderStatus.FILLED
    assert again == ("duplicate: the same order (buy 1 NQ market day) was sent 1.50 s ago "
                     "(guard 2 s)")
    assert after.status is OrderStatus.FILLED
    assert trading.portfolio.position("NQ") == 4  # 1 + 2 + 1


def test_the_same_order_from_another_source_is_not_a_duplicate():
    trading = desk(QUIET.model_copy(update={"duplicate_window_s": 2.0}))

    trading.filled(BUY, 1, source="sma-nq")
    other = trading.submit(BUY, 1, source="vote-nq")  # same bar, another strategy
    again = trading.rejected(BUY, 1, source="sma-nq")

    assert other.status is OrderStatus.FILLED
    assert again.startswith("duplicate: the same order (buy 1 NQ market day)")


def test_a_preview_counts_toward_neither_the_duplicate_guard_nor_the_order_rate():
    trading = desk(QUIET.model_copy(update={"duplicate_window_s": 2.0, "max_orders_per_s": 1}))

    previews = [trading.router.check(trading.intent(BUY, 1)) for _ in range(3)]

    assert all(isinstance(verdict, Approved) for verdict in previews)
    assert trading.submit(BUY, 1).status is OrderStatus.FILLED


def test_a_sixth_order_in_one_second_is_rejected_by_the_per_second_rate():
    trading = desk(QUIET.model_copy(update={"max_orders_per_s": 5}))

    # five resting buy limits a tick apart (not duplicates of each other), all at T0
    for ticks in range(5):
        update = trading.submit(BUY, 1, LIMIT, limit_price=20_950.00 - 0.25 * ticks)
        assert update.status is OrderStatus.ACCEPTED
    trading.at(T0 + S // 2)
    sixth = trading.rejected(BUY, 1, LIMIT, limit_price=20_940.00)
    trading.at(T0 + S)  # the five are a full second old
    later = trading.submit(BUY, 1, LIMIT, limit_price=20_940.00)

    assert sixth == "order_rate: 5 orders in the last second (limit 5)"
    assert later.status is OrderStatus.ACCEPTED


def test_an_order_over_the_per_minute_rate_is_rejected_until_the_oldest_is_a_minute_old():
    trading = desk(QUIET.model_copy(update={"max_orders_per_min": 3}))

    for seconds in (0, 10, 20):
        trading.at(T0 + seconds * S)
        trading.submit(BUY, 1, LIMIT, limit_price=20_950.00 - seconds)
    trading.at(T0 + 30 * S)
    fourth = trading.rejected(BUY, 1, LIMIT, limit_price=20_900.00)
    trading.at(T0 + 60 * S)  # the order sent at T0 is now 60 s old: out of the window
    later = trading.submit(BUY, 1, LIMIT, limit_price=20_900.00)

    assert fourth == "order_rate: 3 orders in the last minute (limit 3)"
    assert later.status is OrderStatus.ACCEPTED


def test_an_order_that_reduces_a_position_skips_size_band_and_rate_limits():
    trading = desk(QUIET.model_copy(update={"max_qty": 1, "price_band_pct": 5.0,
                                            "max_orders_per_min": 2}))
    trading.filled(BUY, 1)
    trading.filled(BUY, 1)  # long 2; two orders in this minute

    entry = trading.check(BUY, 1)
    # sell 2 (over the 1 per order) at 23,000.00 (9.52% from 21,000.00): it only reduces
    reducing = trading.check(SELL, 2, LIMIT, limit_price=23_000.00)
    flip = trading.check(SELL, 3)  # more than the position: it opens a short, so it is an entry
    bracketed = trading.check(SELL, 1, bracket=Bracket(stop_loss=21_100.00))  # opens exits

    assert rejected(entry) == ("order_rate", "2 orders in the last minute (limit 2)")
    assert isinstance(reducing, Approved)
    assert rejected(flip) == ("max_qty", "quantity 3 is over the 1 per-order limit")
    assert rejected(bracketed) == ("order_rate", "2 orders in the last minute (limit 2)")


def test_an_order_that_reduces_a_position_passes_in_the_last_minutes_and_as_a_duplicate():
    trading = desk(OrderLimits(), PortfolioLimits())  # default guards: 2 s, 5 a second, 5 min
    trading.filled(BUY, 2)
    trading.market(21_000.00, ts=NQ_CLOSE - 3 * MINUTE)  # 16:57 ET: 3 minutes to the close

    entry = trading.rejected(BUY, 1)
    first = trading.submit(SELL, 1)
    second = trading.submit(SELL, 1)  # the same order, at the same instant

    assert entry == "trading_hours: NQ closes in 3.0 minutes: no new entries in the last 5"
    assert (first.status, second.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert trading.portfolio.position("NQ") == 0


def test_a_rejected_order_is_published_as_blocked_and_never_reaches_the_broker():
    trading = desk(QUIET.model_copy(update={"max_qty": 3}))

    update = trading.submit(BUY, 4)

    assert update.status is OrderStatus.REJECTED and update.order_id == ""
    assert update.reason == "risk: max_qty: quantity 4 is over the 3 per-order limit"
    assert trading.blocked == [OrderBlocked(T0, "t-1", "NQ", "max_qty",
                                            "quantity 4 is over the 3 per-order limit",
                                            {"qty": 4, "limit": 3})]
    assert trading.broker.all_orders() == []


# -- strategy level ----------------------------------------------------------------------------
def test_a_strategy_cannot_hold_more_than_its_allocation_while_others_trade_on():
    trading = desk(strategies={"momo": StrategyLimits(allocation=60_000.0)})

    trading.filled(BUY, 2, source="momo")  # 2 x 25,000 NQ margin = 50,000 of 60,000
    over = trading.check(BUY, 1, source="momo")  # 50,000 + 25,000 = 75,000
    manual = trading.check(BUY, 1)

    assert rejected(over) == ("allocation", "momo would hold 75,000.00, over its 60,000.00 "
                                            "allocation")
    assert values(over) == {"exposure": 75_000.0, "allocation": 60_000.0}
    assert isinstance(manual, Approved)


def test_after_a_flatten_the_strategys_allocation_is_free_again():
    # bug: the flatten's fills were booked to the "flatten" source, so "momo" still held
    # 2 NQ (50,000) after the account was flat and could never use its allocation again
    trading = desk(strategies={"momo": StrategyLimits(allocation=60_000.0)})
    trading.filled(BUY, 2, source="momo")

    trading.router.flatten()

    assert trading.portfolio.position("NQ") == 0
    assert trading.monitor.strategy_exposure("momo") == 0.0
    assert isinstance(trading.check(BUY, 2, source="momo"), Approved)  # 50,000 again


def test_a_strategy_that_loses_its_daily_limit_is_paused_and_only_its_entries_are_rejected():
    config = settings(RiskSettings(order=QUIET, portfolio=ANY_TIME,
                                   strategies={"momo": StrategyLimits(daily_loss=500.0)}),
                      commission=2.50)
    trading = Desk(config)
    trading.market(21_000.00, ts=T0)

    trading.filled(BUY, 1, source="momo")  # at 21,000.00, 2.50 commission
    trading.market(20_975.00)
    trading.filled(SELL, 1, source="momo")  # at 20,975.00: -25.00 x 20 = -500.00, 2.50 more

    reason = "momo daily loss 505.00 reached its 500.00 limit"  # 500.00 + 2 x 2.50
    assert trading.kill_switch.paused == {"momo": reason}
    assert not trading.kill_switch.active
    assert trading.kills == [KillSwitchChanged(T0 + S, True, reason, True, "momo")]
    assert rejected(trading.check(BUY, 1, source="momo")) == (
        "strategy_paused", f"strategy momo is paused: {reason}")
    assert isinstance(trading.check(BUY, 1, source="swing"), Approved)

    trading.kill_switch.resume_strategy("momo", "RESET")

    assert trading.kill_switch.paused == {}
    assert trading.kills[-1] == KillSwitchChanged(T0 + S, False, "momo resumed", False, "momo")
    assert isinstance(trading.check(BUY, 1, source="momo"), Approved)


def test_a_strategy_in_drawdown_from_its_own_high_is_paused():
    trading = desk(strategies={"momo": StrategyLimits(max_drawdown=400.0)})

    trading.filled(BUY, 1, source="momo")  # T0 at 21,000.00
    trading.market(21_015.00, ts=T0 + 5 * S)
    trading.filled(SELL, 1, source="momo")  # +15.00 x 20 = +300.00: momo's high
    trading.filled(BUY, 1, source="momo")  # at 21,015.00
    trading.market(20_995.00, ts=T0 + 10 * S)
    trading.filled(SELL, 1, source="momo")  # -20.00 x 20 = -400.00: P&L -100.00

    # from its high +300.00 down to -100.00: 400.00, the limit
    assert trading.kill_switch.paused == {"momo": "momo drawdown 400.00 reached its 400.00 "
                                                  "limit"}
    assert rejected(trading.check(BUY, 1, source="momo"))[0] == "strategy_paused"
    assert isinstance(trading.check(BUY, 1, source="swing"), Approved)


# -- portfolio level: loss ---------------------------------------------------------------------
def test_the_daily_loss_counts_open_losses_and_names_what_the_entry_would_risk():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 2_000.0}))

    trading.filled(BUY, 1)  # T0 at 21,000.00
    trading.market(20_980.00, ts=T0 + 5 * S)
    trading.filled(SELL, 1)  # closed: -20.00 x 20 = -400.00
    trading.filled(BUY, 1)  # at 20,980.00
    trading.market(20_908.00, ts=T0 + 10 * S)  # open: -72.00 x 20 = -1,440.00

    # 400.00 closed + 1,440.00 open = 1,840.00 of 2,000.00; the ES entry risks
    # 6,000.00 - 5,994.00 = 6.00 x 50 = 300.00: 2,140.00 would be over the limit
    verdict = trading.check(BUY, 1, symbol="ES", bracket=Bracket(stop_loss=5_994.00))

    assert rejected(verdict) == ("daily_loss", "daily loss 1,840.00 of 2,000.00 limit: entry "
                                               "would risk 300.00")
    assert values(verdict) == {"value": 1_840.0, "limit": 2_000.0, "projected": 2_140.0}


def test_at_ninety_percent_of_the_daily_loss_every_new_entry_is_blocked():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 2_000.0}))
    trading.filled(BUY, 1)
    trading.market(20_908.00, ts=T0 + 5 * S)  # -92.00 x 20 = -1,840.00: 92%

    small = trading.check(BUY, 1, symbol="ES", bracket=Bracket(stop_loss=5_998.00))  # 100.00
    no_stop = trading.check(BUY, 1, symbol="ES")
    closing = trading.check(SELL, 1)

    blocked = ("daily_loss", "daily loss 1,840.00 of 2,000.00 limit (92%): new entries blocked")
    assert rejected(small) == rejected(no_stop) == blocked  # 1,940.00 would fit, but locked
    assert isinstance(closing, Approved)


def test_below_ninety_percent_an_entry_that_would_pass_the_daily_loss_is_rejected():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 2_000.0}))
    trading.filled(BUY, 1)
    trading.market(20_950.00, ts=T0 + 5 * S)  # open only: -50.00 x 20 = -1,000.00: 50%

    over = trading.check(BUY, 1, symbol="ES", bracket=Bracket(stop_loss=5_975.00))  # 1,250
    exact = trading.check(BUY, 1, symbol="ES", bracket=Bracket(stop_loss=5_980.00))  # 1,000

    assert rejected(over) == ("daily_loss", "daily loss 1,000.00 of 2,000.00 limit: entry "
                                            "would risk 1,250.00")
    # 1,000.00 + 1,000.00 = 2,000.00 is not over: approved, with the warning to confirm
    assert isinstance(exact, Approved)
    assert exact.warnings == ("Daily loss at 50% (warning)",)


def test_a_drawdown_from_the_equity_high_fires_the_kill_switch_though_the_day_is_up():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"max_drawdown": 1_000.0}))
    trading.filled(BUY, 1)  # T0 at 21,000.00

    trading.market(21_075.00, ts=T0 + 1 * S)  # +75.00 x 20: equity 101,500.00, the high
    trading.market(21_030.00, ts=T0 + 2 * S)  # 900.00 down from it: locked, not yet a breach
    assert not trading.kill_switch.active
    trading.market(21_025.00, ts=T0 + 3 * S)  # 1,000.00 down: equity 100,500.00

    reason = "Drawdown from high breached: 1,000.00 of 1,000.00 limit"
    assert trading.kills == [KillSwitchChanged(T0 + 3 * S, True, reason, True)]
    assert trading.monitor.equity == 100_500.0 and trading.monitor.high_water == 101_500.0
    assert rejected(trading.check(BUY, 1, symbol="ES")) == (
        "kill_switch", f"kill switch on since 10:00:03 ET ({reason}): only orders that reduce "
                       "a position pass")
    assert trading.portfolio.position("NQ") == 1  # flatten_on_kill is off
    assert trading.submit(SELL, 1).status is OrderStatus.FILLED  # reducing still passes


# -- portfolio level: exposure -----------------------------------------------------------------
def test_a_new_position_over_the_open_position_limit_is_rejected_but_adding_to_one_is_not():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"max_open_positions": 2}))
    trading.market(230.00, "AAPL")
    trading.filled(BUY, 1)
    trading.filled(BUY, 1, symbol="ES")  # 2 of 2 positions

    third = trading.check(BUY, 10, symbol="AAPL")
    more_nq = trading.check(BUY, 1)

    assert rejected(third) == ("open_positions", "open positions 2.00 of 2.00 limit: this order "
                                                 "would make 3")
    assert isinstance(more_nq, Approved)  # bug: "locked" at 100% blocked adding to a position


def ten_stocks() -> Settings:
    stocks = [InstrumentSettings(symbol=f"S{n}", tick_size=0.01,
                                 asset_class=AssetClass.EQUITY, schedule="us_equity")
              for n in range(10)]
    risk = RiskSettings(order=QUIET, portfolio=ANY_TIME.model_copy(
        update={"max_open_positions": 10}))
    return Settings(instruments=stocks, watchlist=[], risk=risk,
                    paper=PaperSettings(starting_cash=100_000.0))


def test_a_limit_of_ten_open_positions_lets_the_tenth_open():
    # bug: 9 of 10 is 90%, "locked", and the gate blocked the tenth position
    trading = Desk(ten_stocks())
    for n in range(10):
        trading.market(50.00, f"S{n}", ts=T0)
    for n in range(9):
        trading.filled(BUY, 100, symbol=f"S{n}")

    tenth = trading.submit(BUY, 100, symbol="S9")

    assert tenth.status is OrderStatus.FILLED
    assert isinstance(trading.check(BUY, 100, symbol="S0"), Approved)  # adds to one
    assert trading.monitor.open_positions == 10


def test_a_count_rule_shows_locked_only_when_full():
    # 9 of 10 positions is 90%: shown as danger (it still lets the tenth open); 10 of 10 locks
    trading = Desk(ten_stocks())
    for n in range(10):
        trading.market(50.00, f"S{n}", ts=T0)
    for n in range(9):
        trading.filled(BUY, 100, symbol=f"S{n}")
    assert trading.monitor.level_of("open_positions") is Level.DANGER

    trading.filled(BUY, 100, symbol="S9")

    assert trading.monitor.level_of("open_positions") is Level.LOCKED


def test_futures_contracts_over_the_limit_are_rejected_counting_every_symbol():
    config = settings(RiskSettings(order=QUIET, portfolio=ANY_TIME.model_copy(
        update={"max_contracts": 5})), margin=1_000.0)
    trading = Desk(config)
    trading.market(21_000.00, ts=T0)
    trading.market(6_000.00, "ES", ts=T0)
    trading.market(230.00, "AAPL", ts=T0)
    trading.filled(BUY, 3)
    trading.filled(SELL, 1, symbol="ES")  # 3 long NQ + 1 short ES = 4 contracts

    two_more = trading.check(BUY, 2)
    trading.filled(BUY, 1)  # 5 of 5
    one_more = trading.check(SELL, 1, symbol="ES")  # adds to the short
    stock = trading.check(BUY, 10, symbol="AAPL")

    assert rejected(two_more) == ("contracts", "contracts 4.00 of 5.00 limit: this order would "
                                               "make 6")
    assert rejected(one_more) == ("contracts", "contracts 5.00 of 5.00 limit: this order would "
                                               "make 6")
    assert isinstance(stock, Approved)  # shares are not contracts


def test_capital_deployed_at_ninety_percent_of_its_limit_blocks_new_entries():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"max_deployed_pct": 50.0}))
    trading.market(230.00, "AAPL")

    trading.filled(BUY, 100, symbol="AAPL")  # 100 x 230.00 = 23,000 of 100,000: 23%
    assert trading.monitor.statuses[0].used_pct == 46.0  # 23 of 50: safe
    trading.filled(BUY, 100, symbol="AAPL")  # 46,000: 46% of equity, 92% of the 50% limit

    assert rejected(trading.check(BUY, 1)) == (
        "deployed", "capital deployed 46.00 of 50.00 limit (92%): new entries blocked")


# -- portfolio level: hours and streaks --------------------------------------------------------
@pytest.mark.parametrize(("when", "symbol", "reason"), [
    # Tuesday 22:30 UTC = 17:30 ET: CME Globex's daily halt (17:00-18:00 ET)
    (utc(2026, 1, 13, 22, 30), "NQ", "NQ is outside its trading session"),
    # Tuesday 14:00 UTC = 09:00 ET: before the NYSE opens at 09:30
    (utc(2026, 1, 13, 14, 0), "AAPL", "AAPL is outside its trading session"),
    # Saturday
    (utc(2026, 1, 17, 15, 0), "ES", "ES is outside its trading session"),
])
def test_no_new_entries_outside_the_instruments_session(when, symbol, reason):
    trading = desk(QUIET, PortfolioLimits(), start=when)
    trading.market(230.00, "AAPL", ts=when)

    assert rejected(trading.check(BUY, 1, symbol=symbol)) == ("trading_hours", reason)


@pytest.mark.parametrize(("minutes_left", "reason"), [
    (3, "NQ closes in 3.0 minutes: no new entries in the last 5"),
    (5, "NQ closes in 5.0 minutes: no new entries in the last 5"),
    (6, None),
])
def test_no_new_entries_in_the_last_minutes_before_the_close(minutes_left, reason):
    trading = desk(QUIET, PortfolioLimits(no_entry_minutes_before_close=5.0))
    trading.market(21_000.00, ts=NQ_CLOSE - minutes_left * MINUTE)  # 22:00 UTC = 17:00 ET

    verdict = trading.check(BUY, 1)

    if reason is None:
        assert isinstance(verdict, Approved)
    else:
        assert rejected(verdict) == ("trading_hours", reason)


def lose(trading: Desk, at: int) -> None:
    """A losing round trip: buy 1 NQ at 21,000.00 at ``at``, sell at 20,990.00 a second later
    (-10.00 x 20 = -200.00)."""
    trading.market(21_000.00, ts=at)
    trading.filled(BUY, 1)
    trading.market(20_990.00, ts=at + S)
    trading.filled(SELL, 1)


def test_a_losing_streak_blocks_entries_for_the_cooldown_then_allows_them_again():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"loss_streak": 2,
                                                         "cooldown_minutes": 30.0}))

    lose(trading, T0)
    lose(trading, T0 + 10 * S)  # the second loss exits at T0 + 11 s: cooldown to + 30 min
    exit_ts = T0 + 11 * S
    assert trading.monitor.cooldown_until == exit_ts + 30 * MINUTE

    trading.at(exit_ts + 10 * MINUTE)
    during = trading.check(BUY, 1)
    trading.at(exit_ts + 30 * MINUTE)  # no trade since: nothing re-measured
    after = trading.check(BUY, 1)

    assert rejected(during) == ("loss_streak", "2 losing trades in a row: cooling down for "
                                               "20.0 more minutes")
    assert isinstance(after, Approved)
    trading.market(21_000.00)  # the next measurement forgets the streak that was sat out
    assert (trading.monitor.consecutive_losses, trading.monitor.cooldown_until) == (0, 0)


def test_a_winning_trade_resets_the_losing_streak():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"loss_streak": 2}))

    lose(trading, T0)
    trading.market(21_000.00, ts=T0 + 10 * S)
    trading.filled(BUY, 1)
    trading.market(21_010.00, ts=T0 + 11 * S)
    trading.filled(SELL, 1)  # +200.00
    lose(trading, T0 + 20 * S)

    assert trading.monitor.consecutive_losses == 1
    assert isinstance(trading.check(BUY, 1), Approved)


def test_nine_losses_of_a_ten_loss_streak_do_not_block_the_next_entry():
    # bug: 9 of 10 was "locked" at 90% and blocked every entry; with no new trade the
    # streak could never be broken or sat out, so entries stayed blocked for good
    trading = desk(portfolio=ANY_TIME.model_copy(update={"loss_streak": 10}))

    for n in range(9):
        lose(trading, T0 + 10 * n * S)

    assert trading.monitor.consecutive_losses == 9
    assert trading.monitor.cooldown_until == 0
    assert isinstance(trading.check(BUY, 1), Approved)


# -- levels ------------------------------------------------------------------------------------
def test_levels_go_up_at_50_70_90_percent_and_down_only_5_points_below_each_threshold():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 1_000.0}))
    trading.filled(BUY, 1)  # at 21,000.00: each point down is 20.00 of the 1,000.00

    path = [
        (20_975.00, "warning"),  # 25 points: 500 = 50%: safe -> warning
        (20_965.00, "danger"),  # 700 = 70%: warning -> danger
        (20_955.00, "locked"),  # 900 = 90%: danger -> locked
        (20_957.50, "locked"),  # 850 = 85%: not below 85 -> stays locked
        (20_958.00, "danger"),  # 840 = 84%: locked -> danger
        (20_967.50, "danger"),  # 650 = 65%: stays danger
        (20_968.00, "warning"),  # 640 = 64%: danger -> warning
        (20_977.50, "warning"),  # 450 = 45%: stays warning
        (20_978.00, "safe"),  # 440 = 44%: warning -> safe
    ]
    seen = []
    for n, (price, _) in enumerate(path, start=1):
        trading.market(price, ts=T0 + n * S)
        seen.append(trading.monitor.level_of("daily_loss").label)

    assert seen == [level for _, level in path]
    assert trading.levels == [
        RiskLevelChanged(T0 + 1 * S, "daily_loss", "Daily loss", "safe", "warning", 500.0,
                         1_000.0, 50.0),
        RiskLevelChanged(T0 + 2 * S, "daily_loss", "Daily loss", "warning", "danger", 700.0,
                         1_000.0, 70.0),
        RiskLevelChanged(T0 + 3 * S, "daily_loss", "Daily loss", "danger", "locked", 900.0,
                         1_000.0, 90.0),
        RiskLevelChanged(T0 + 5 * S, "daily_loss", "Daily loss", "locked", "danger", 840.0,
                         1_000.0, 84.0),
        RiskLevelChanged(T0 + 7 * S, "daily_loss", "Daily loss", "danger", "warning", 640.0,
                         1_000.0, 64.0),
        RiskLevelChanged(T0 + 9 * S, "daily_loss", "Daily loss", "warning", "safe", 440.0,
                         1_000.0, 44.0),
    ]


def test_a_level_jumps_straight_to_locked_in_one_event_and_back_to_safe_in_one():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 1_000.0}))
    trading.filled(BUY, 1)

    trading.market(20_952.00, ts=T0 + S)  # 48 x 20 = 960: 96%
    trading.market(21_000.00, ts=T0 + 2 * S)  # back to 0%

    assert [(e.old_level, e.new_level, e.value) for e in trading.levels] == [
        ("safe", "locked", 960.0), ("locked", "safe", 0.0)]


def test_between_measurements_the_gate_reads_the_last_measured_numbers():
    trading = desk(portfolio=ANY_TIME.model_copy(update={"daily_loss": 1_000.0}))
    trading.filled(BUY, 1)

    trading.market(20_955.00, ts=T0 + S)  # 900 = 90%: measured, locked
    trading.market(21_000.00, ts=T0 + S + 100_000_000)  # 100 ms later: not measured yet
    stale = trading.check(BUY, 1, symbol="ES")
    trading.market(21_000.00, ts=T0 + S + 250_000_000)  # 250 ms after the last measurement
    fresh = trading.check(BUY, 1, symbol="ES")

    assert rejected(stale)[0] == "daily_loss"
    assert isinstance(fresh, Approved)


def test_flattening_on_a_breach_leaves_no_stale_level_behind():
    # bug: the kill switch fired in the middle of a measurement; its flatten measured again,
    # then the outer measurement went on with the old numbers and set "contracts" back to
    # danger (4 of 5) with the account flat, publishing a bogus safe -> danger
    config = settings(RiskSettings(order=QUIET, portfolio=ANY_TIME.model_copy(
        update={"max_drawdown": 1_000.0, "max_contracts": 5}), flatten_on_kill=True),
        margin=1_000.0)
    trading = Desk(config)
    trading.market(21_000.00, ts=T0)
    trading.filled(BUY, 4)  # 4 of 5 contracts: danger

    trading.market(20_987.50)  # 4 x -12.50 x 20 = -1,000.00: drawdown breached, flatten

    assert trading.kill_switch.active and trading.portfolio.position("NQ") == 0
    contracts = [(e.old_level, e.new_level) for e in trading.levels if e.rule == "contracts"]
    assert contracts == [("safe", "danger"), ("danger", "safe")]
    assert trading.monitor.level_of("contracts").label == "safe"


# -- the kill switch ---------------------------------------------------------------------------
def test_a_manual_kill_switch_cancels_working_orders_and_blocks_entries_not_exits():
    trading = desk()
    trading.filled(BUY, 2, bracket=Bracket(stop_loss=20_950.00, take_profit=21_100.00))
    trading.submit(BUY, 1, LIMIT, limit_price=20_900.00)
    assert len(trading.broker.open_orders()) == 3  # stop-loss, take-profit, the limit
    trading.at(T0 + 5 * S)

    trading.kill_switch.activate("stepping away")

    assert trading.kills == [KillSwitchChanged(T0 + 5 * S, True, "stepping away", False)]
    # the entry limit is canceled; the legs protecting the open position stay
    assert [o.client_order_id for o in trading.broker.open_orders()] == ["t-1-SL", "t-1-TP"]
    canceled = [u for u in trading.updates if u.status is OrderStatus.CANCELED]
    assert [(u.client_order_id, u.reason) for u in canceled] == [("t-2", "kill switch")]
    assert trading.rejected(BUY, 1, symbol="ES") == (
        "kill_switch: kill switch on since 10:00:05 ET (stepping away): only orders that "
        "reduce a position pass")
    assert trading.submit(SELL, 1).status is OrderStatus.FILLED  # reduces: passes
    assert trading.portfolio.position("NQ") == 1
    # the protective legs shrink with the position: a stop-out cannot flip it short
    assert [o.qty for o in trading.broker.open_orders()] == [1, 1]


def test_a_stop_loss_whose_fill_breaches_the_drawdown_still_fills_and_the_rest_is_canceled():
    # bug: the stop's fill fired the kill switch, which canceled every working order,
    # the stop itself included while it was filling: the broker then failed to mark it
    # filled (canceled -> filled) and the store kept a fill for a "canceled" order
    trading = desk(portfolio=ANY_TIME.model_copy(update={"max_drawdown": 1_000.0}))
    trading.filled(BUY, 1, bracket=Bracket(stop_loss=20_950.00, take_profit=21_100.00))

    trading.market(20_950.00)  # the stop sells at 20,950.00: -50.00 x 20 = -1,000.00

    assert trading.kill_switch.active and trading.portfolio.position("NQ") == 0
    assert [(o.client_order_id, o.status, o.reason) for o in trading.broker.all_orders()] == [
        ("t-1", OrderStatus.FILLED, "filled"),
        ("t-1-SL", OrderStatus.FILLED, "filled"),
        ("t-1-TP", OrderStatus.CANCELED, "OCO: t-1-SL filled"),
    ]


def test_with_flatten_on_kill_the_kill_switch_also_closes_every_position():
    trading = desk(flatten_on_kill=True)
    trading.filled(BUY, 2)
    trading.filled(SELL, 1, symbol="ES")

    trading.kill_switch.activate("flatten everything")

    assert trading.portfolio.position("NQ") == trading.portfolio.position("ES") == 0
    closing = [(f.symbol, f.side, f.qty, f.source) for f in trading.fills[2:]]
    assert closing == [("NQ", SELL, 2, "kill-switch"), ("ES", BUY, 1, "kill-switch")]


@pytest.mark.parametrize("typed", ["reset", "Reset", "RESET!", "RESTE", ""])
def test_the_kill_switch_stays_on_unless_reset_is_typed_exactly(typed):
    trading = desk()
    trading.kill_switch.activate("stepping away")

    with pytest.raises(KillSwitchError, match="type RESET to reset the kill switch"):
        trading.kill_switch.reset(typed)

    assert trading.kill_switch.active
    assert len(trading.kills) == 1


def test_typing_reset_turns_the_kill_switch_off_and_records_who_and_why():
    trading = desk()
    trading.kill_switch.activate("stepping away")
    trading.at(T0 + 60 * S)

    trading.kill_switch.reset("RESET", who="desk")

    assert not trading.kill_switch.active
    assert trading.kills == [
        KillSwitchChanged(T0, True, "stepping away", False),
        KillSwitchChanged(T0 + 60 * S, False, "reset by desk (was: stepping away)", False),
    ]
    assert trading.submit(BUY, 1).status is OrderStatus.FILLED
    assert trading.errors == 0


def test_a_partial_fill_that_fires_the_kill_switch_leaves_the_rest_canceled_cleanly():
    # partial fills capped by displayed size 1; commission 10.00 a contract.
    # Buy 3 at market: the first contract fills at the ask 21,000.25 and is marked there,
    # so equity is 100,000 - 10.00 commission = 99,990.00: 10.00 under the high, which is
    # the 10.00 drawdown limit -> the kill switch fires while that fill is being handled
    # and cancels the 2 contracts still to fill.
    config = Settings(paper=PaperSettings(starting_cash=100_000.0, fills=FillModel(
        commission=10.0, partial_fills=True)), risk=RiskSettings(
        order=QUIET, portfolio=ANY_TIME.model_copy(update={"max_drawdown": 10.0})))
    trading = Desk(config)
    ts = trading.at(T0)
    trading.bus.publish(Quote("NQ", ts, 21_000.00, 21_000.25, 1, 1))
    trading.bus.publish(Tick("NQ", ts, 21_000.00, 1))

    trading.submit(BUY, 3)

    order = trading.broker.all_orders()[0]
    assert (order.status, order.filled_qty, order.reason) == (OrderStatus.CANCELED, 1,
                                                              "kill switch")
    assert trading.kill_switch.active and trading.portfolio.position("NQ") == 1
    assert trading.errors == 0


def test_changing_an_order_is_checked_by_the_gate_and_the_kill_switch_allows_only_less_risk():
    trading = desk()
    trading.filled(BUY, 1, bracket=Bracket(stop_loss=20_950.00, take_profit=21_100.00))
    stop = next(o for o in trading.broker.open_orders() if o.client_order_id == "t-1-SL")

    off_grid = re.escape("risk: tick_size: stop price 20960.1 is not on")
    with pytest.raises(RiskRejected, match=off_grid):
        trading.router.replace(stop.order_id, stop_price=20_960.10)
    # the default 5% band: 19,000.00 is 9.52% under the last 21,000.00
    far = re.escape("stop 19,000.00 is 9.52% from last 21,000.00")
    with pytest.raises(RiskRejected, match=far):
        trading.router.replace(stop.order_id, stop_price=19_000.00)

    trading.kill_switch.activate("done")
    # a sell stop moved down (away from the market) adds risk: refused
    with pytest.raises(RiskRejected, match="may only be changed to reduce risk"):
        trading.router.replace(stop.order_id, stop_price=20_940.00)
    # moved up (tighter) reduces risk: passes
    assert trading.router.replace(stop.order_id, stop_price=20_975.00).stop_price == 20_975.00
    assert [b.rule for b in trading.blocked] == ["tick_size", "price_band", "kill_switch"]


def test_capital_deployed_counts_the_new_order_before_it_is_sent():
    # NQ margin 25,000 a contract, equity 100,000, limit 60%: 2 contracts = 50,000 = 50%
    # (83% of the limit: danger, entries still allowed); a third would make 75,000 = 75%
    trading = desk(portfolio=ANY_TIME.model_copy(update={"max_deployed_pct": 60.0}))
    trading.filled(BUY, 2)

    assert trading.rejected(BUY, 1) == (
        "deployed: capital deployed would be 75.0% of equity (75,000.00), over the 60% limit")


def test_a_flip_counts_only_the_contracts_it_leaves_open():
    # long 4 NQ + short 1 ES = 5 contracts of 5; buying 2 ES turns the short 1 into a
    # long 1: still 5 contracts, so it passes (counting the order's 2 would make 7)
    config = settings(RiskSettings(order=QUIET, portfolio=ANY_TIME.model_copy(
        update={"max_contracts": 5})), margin=1_000.0)
    trading = Desk(config)
    trading.market(21_000.00, ts=T0)
    trading.market(6_000.00, "ES", ts=T0)
    trading.filled(BUY, 4)
    trading.filled(SELL, 1, symbol="ES")

    assert isinstance(trading.check(BUY, 2, symbol="ES"), Approved)
    assert trading.rejected(BUY, 3, symbol="ES") == (
        "contracts: contracts 5.00 of 5.00 limit: this order would make 6")
