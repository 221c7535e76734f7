"""Positions, P&L and the account from fills and marks, every figure worked by hand.

NQ: point value 20, margin 25,000, commission 2.50 a side. AAPL: point value 1,
commission 0.005 a share, bought with cash. Starting cash 100,000.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from workstation.config import Settings
from workstation.model import NS_PER_SECOND, datetime_to_ns
from workstation.orders import Fill, OrderSide
from workstation.portfolio import Portfolio, PositionView

# Tuesday 2026-01-13 15:00 UTC = 10:00 New York (EST, UTC-5)
T0 = datetime_to_ns(datetime(2026, 1, 13, 15, 0, tzinfo=UTC))
S = NS_PER_SECOND
HOUR = 3_600 * S

BUY, SELL = OrderSide.BUY, OrderSide.SELL
_fill_ids = itertools.count(1)


def make_portfolio(now: int = T0) -> Portfolio:
    settings = Settings()
    instruments = settings.instrument_map()
    margins = {s: settings.margin(i) for s, i in instruments.items()}
    return Portfolio(instruments, margins, settings.paper.starting_cash, now)


def fill(side: OrderSide, qty: float, price: float, symbol: str = "NQ",
         ts: int = T0) -> Fill:
    per_unit = {"NQ": 2.50, "ES": 2.50, "AAPL": 0.005, "MSFT": 0.005}[symbol]
    n = next(_fill_ids)
    return Fill(f"F{n}", f"P{n}", f"c-{n}", symbol, side, qty, price, qty * per_unit, ts)


def test_realized_pnl_uses_the_point_value_and_commissions_are_kept_apart():
    book = make_portfolio()

    book.apply_fill(fill(BUY, 2, 21_000.00))
    realized = book.apply_fill(fill(SELL, 1, 21_010.25))

    assert realized == 205.00  # 1 x (21010.25 - 21000.00) x 20 = 1 x 10.25 x 20
    assert book.realized_pnl == 205.00
    assert book.commission == 7.50  # 3 contracts x 2.50
    assert book.cash == 100_197.50  # 100,000 + 205.00 - 7.50: futures move cash by P&L only
    position = book.positions["NQ"]
    assert (position.qty, position.avg_price, position.side) == (1, 21_000.00, "long")


def test_the_account_marks_open_futures_and_charges_margin_per_contract():
    book = make_portfolio()
    book.apply_fill(fill(BUY, 2, 21_000.00))
    book.apply_fill(fill(SELL, 1, 21_010.25))

    book.mark("NQ", 21_005.00, T0 + S)

    account = book.account()
    assert account.unrealized_pnl == 100.00  # 1 x (21005.00 - 21000.00) x 20
    assert account.equity == 100_297.50  # cash 100,197.50 + 100.00 open
    assert account.margin_used == 25_000.00  # 1 contract
    assert account.buying_power == 75_297.50  # 100,197.50 - 25,000 + 100.00
    assert account.day_pnl == 297.50  # equity - 100,000 at the start of the day
    assert book.position_views() == [
        PositionView("NQ", 1, 21_000.00, 21_005.00, 100.00, 205.00, 7.50)]


def test_selling_more_than_the_long_flips_to_a_short_at_the_fill_price():
    book = make_portfolio()
    book.apply_fill(fill(BUY, 2, 21_000.00))

    realized = book.apply_fill(fill(SELL, 5, 20_990.00))
    book.mark("NQ", 20_980.00, T0 + S)

    assert realized == -400.00  # the 2 closed: 2 x (20990 - 21000) x 20
    position = book.positions["NQ"]
    assert (position.qty, position.avg_price, position.side) == (-3, 20_990.00, "short")
    assert book.commission == 17.50  # 7 contracts x 2.50
    assert book.cash == 99_582.50  # 100,000 - 400.00 - 17.50
    account = book.account()
    assert account.unrealized_pnl == 600.00  # -3 x (20980 - 20990) x 20
    assert account.equity == 100_182.50  # 99,582.50 + 600.00
    assert account.margin_used == 75_000.00  # 3 contracts short


def test_an_order_needs_buying_power_only_for_what_it_opens():
    book = make_portfolio()
    book.apply_fill(fill(BUY, 2, 21_000.00))

    assert book.required_for("NQ", SELL, 2, 21_000.00) == 0  # closes the long
    assert book.required_for("NQ", SELL, 5, 21_000.00) == 75_000.00  # 3 opened short
    assert book.required_for("NQ", BUY, 1, 21_000.00) == 25_000.00  # adds one
    assert book.required_for("AAPL", BUY, 100, 230.00) == 23_000.00  # 100 x 230.00


def test_buying_an_equity_spends_its_notional_and_selling_it_returns_it():
    book = make_portfolio()

    book.apply_fill(fill(BUY, 100, 230.00, "AAPL"))
    book.mark("AAPL", 231.00, T0 + S)

    assert book.cash == 76_999.50  # 100,000 - 100 x 230.00 - 100 x 0.005
    account = book.account()
    assert account.equity == 100_099.50  # 76,999.50 + 100 x 231.00
    assert account.unrealized_pnl == 100.00  # 100 x (231.00 - 230.00)
    assert account.margin_used == 0
    assert account.buying_power == 76_999.50  # the cash

    realized = book.apply_fill(fill(SELL, 100, 232.00, "AAPL"))

    assert realized == 200.00  # 100 x (232.00 - 230.00)
    assert book.cash == 100_199.00  # 76,999.50 + 23,200.00 - 0.50
    assert book.account().equity == 100_199.00
    assert book.commission == 1.00


def test_a_short_equity_holds_its_proceeds_and_its_value_out_of_buying_power():
    book = make_portfolio()

    book.apply_fill(fill(SELL, 100, 230.00, "AAPL"))

    assert book.cash == 122_999.50  # 100,000 + 23,000 proceeds - 0.50
    account = book.account()
    assert account.equity == 99_999.50  # 122,999.50 - 100 x 230.00 owed
    assert account.buying_power == 76_999.50  # 122,999.50 - 2 x 23,000: like a long

    book.mark("AAPL", 225.00, T0 + S)

    account = book.account()
    assert account.unrealized_pnl == 500.00  # -100 x (225.00 - 230.00)
    assert account.equity == 100_499.50  # 122,999.50 - 22,500
    assert account.buying_power == 77_999.50  # 122,999.50 - 2 x 22,500
    assert book.required_for("AAPL", BUY, 100, 225.00) == 0  # covering
    assert book.required_for("AAPL", SELL, 50, 225.00) == 11_250.00  # 50 x 225.00 more


@pytest.mark.parametrize(("day", "roll_utc_hour"), [
    (datetime(2026, 1, 13, 15, 0, tzinfo=UTC), 22),  # EST: 17:00 New York = 22:00 UTC
    (datetime(2026, 7, 14, 15, 0, tzinfo=UTC), 21),  # EDT: 17:00 New York = 21:00 UTC
])
def test_todays_pnl_rolls_at_five_pm_new_york(day, roll_utc_hour):
    start = datetime_to_ns(day)
    roll = datetime_to_ns(day.replace(hour=roll_utc_hour))
    book = make_portfolio(start)
    book.apply_fill(fill(BUY, 1, 21_000.00, ts=start))
    book.mark("NQ", 21_010.00, start + HOUR)
    assert book.account().day_pnl == 197.50  # 1 x 10.00 x 20 - 2.50

    book.mark("NQ", 21_011.00, roll - S)  # still today
    assert book.account().day_pnl == 217.50  # 1 x 11.00 x 20 - 2.50
    book.mark("NQ", 21_012.00, roll)  # the new day starts from equity 100,217.50

    account = book.account()
    assert account.day_pnl == 20.00  # 1 x (21012 - 21011) x 20
    assert account.equity == 100_237.50  # 100,000 - 2.50 + 1 x 12.00 x 20


def test_a_fill_after_the_roll_before_the_first_tick_counts_in_the_new_day():
    book = make_portfolio()
    book.apply_fill(fill(BUY, 1, 21_000.00))
    book.mark("NQ", 21_010.00, T0 + HOUR)  # equity 100,197.50
    reopen = datetime_to_ns(datetime(2026, 1, 13, 23, 0, tzinfo=UTC))  # after the 22:00 roll

    book.apply_fill(fill(SELL, 1, 21_010.00, ts=reopen))  # a quote filled it: no tick yet
    book.mark("NQ", 21_011.00, reopen + S)

    # the new day started at 100,197.50; selling at the mark cost only its commission
    assert book.account().equity == 100_195.00  # 100,000 + 200.00 - 5.00
    assert book.account().day_pnl == -2.50


def test_reset_starts_the_account_over():
    book = make_portfolio()
    book.apply_fill(fill(BUY, 2, 21_000.00))
    book.apply_fill(fill(SELL, 100, 230.00, "AAPL"))
    book.mark("NQ", 21_050.00, T0 + S)

    book.reset(T0 + 2 * S)

    account = book.account()
    assert (account.cash, account.equity, account.buying_power) == (100_000, 100_000, 100_000)
    assert (account.realized_pnl, account.commission, account.margin_used) == (0, 0, 0)
    assert account.day_pnl == 0
    assert book.positions == {} and book.position_views() == []
    assert book.position("NQ") == 0
