"""The shipped example strategies (plugins/*.py) on a real engine, bar by bar.

Each test runs the REAL plugins folder in the StrategyDesk (tests/unit/strategy_desk.py)
with small parameters so a hand-built bar sequence is short, and the comments work out
by hand at which bar each strategy acts and with what order; the test asserts exactly
that, and that nothing happens on the bars before.

How the desk's market is driven here: for every bar, a trade at the bar's close one
second before the bar ends, then the closed bar. The paper broker (latency 0) fills a
market order at once against the current quote, so an order sent from on_bar fills at
that close; a trade published after the bar would come too late (the order has already
filled at the previous trade, or been rejected for want of market data). The trade
tracker's break-even move is off, so stops stay where the strategies put them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import pytest

from tests.unit.strategy_desk import (
    MINUTE,
    T0,
    S,
    StrategyDesk,
    desk_settings,
    instance,
    write_plugin,
)
from workstation.config import FillModel, PaperSettings, Settings
from workstation.model import Bar, Direction
from workstation.orders import OrderStatus
from workstation.strategies.guard import Watchdog
from workstation.strategies.instances import InstanceSettings, InstanceStatus
from workstation.strategies.loader import Catalog, plugin_files

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
NAMES = ["Donchian breakout", "Indicator vote", "Momentum signals", "RSI mean reversion",
         "SMA crossover"]

Scenario = Callable[[StrategyDesk], Awaitable[None]]


def settings() -> Settings:
    return desk_settings().model_copy(update={"paper": PaperSettings(
        fills=FillModel(commission=0.0), break_even_r=0.0)})


def run(tmp_path: Path, scenario: Scenario, *instances: InstanceSettings) -> None:
    async def main() -> None:
        desk = StrategyDesk(tmp_path, PLUGINS, settings=settings(), instances=list(instances))
        await desk.start()
        try:
            await scenario(desk)
        finally:
            await desk.stop()

    asyncio.run(main())


def close_bar(desk: StrategyDesk, minute: int, o: float, h: float, lo: float, c: float) -> Bar:
    """The last trade of the bar at its close, then the closed bar."""
    desk.trade(c, ts=T0 + (minute + 1) * MINUTE - S)
    return desk.bar(minute, o, h, lo, c)


def close_bars(desk: StrategyDesk, closes: Iterable[float], first_minute: int = 0,
               previous: float | None = None) -> list[Bar]:
    """One bar per close: open at the previous close, high/low one point around (as
    desk.bars), each with its closing trade."""
    made = []
    for offset, c in enumerate(closes):
        o = c if previous is None else previous
        made.append(close_bar(desk, first_minute + offset, o, max(o, c) + 1, min(o, c) - 1, c))
        previous = c
    return made


def orders(desk: StrategyDesk, source: str | None = None) -> list[tuple]:
    """(side, qty, bracket stop-loss) of each order the strategies sent, in order; the
    bracket legs the broker creates are left out."""
    return [(u.side.value, u.qty, u.intent.bracket.stop_loss if u.intent.bracket else None)
            for u in desk.updates
            if u.status is OrderStatus.ACCEPTED and u.intent.parent_id is None
            and (source is None or u.intent.source == source)]


def rejected(desk: StrategyDesk) -> list[str]:
    return [u.reason for u in desk.updates if u.status is OrderStatus.REJECTED]


def fills(desk: StrategyDesk) -> list[tuple]:
    return [(f.side.value, f.qty, f.price) for f in desk.fills]


def working(desk: StrategyDesk) -> list[tuple]:
    """The working orders: (side, type, qty, stop price)."""
    return [(o.side.value, o.type.value, o.qty, o.stop_price)
            for o in desk.engine.broker.open_orders()]


# -- loading -------------------------------------------------------------------------------
def test_all_five_examples_load_from_the_shipped_folder_without_errors(tmp_path):
    async def scenario(desk: StrategyDesk) -> None:
        report = desk.host.report()
        assert report["loaded"] == NAMES
        assert report["errors"] == []

    run(tmp_path, scenario)


# -- SMA crossover -------------------------------------------------------------------------
# fast = SMA(2), slow = SMA(3) of these closes:
#
#   bar  close   fast      slow
#    0   20000   -         -
#    1   20000   20000     -
#    2   20000   20000     20000      both ready: the first bar to compare the next with
#    3   19990   19995     19996.67   below, was equal: CROSS BELOW
#    4   19980   19985     19990      below
#    5   19990   19985     19986.67   below
#    6   20010   20000     19993.33   above, was below: CROSS ABOVE
#    7   20020   20015     20006.67   above
#    8   20000   20010     20010      equal: touching is not crossing
#    9   19990   19995     20003.33   below, was equal: CROSS BELOW
SMA_CLOSES = [20000, 20000, 20000, 19990, 19980, 19990, 20010, 20020, 20000, 19990]


def test_sma_crossover_goes_short_on_a_cross_below_and_reverses_on_each_cross(tmp_path):
    # stop_points 50: a short's stop is close + 50, a long's close - 50.
    # bar 3: sell 1 at 19990, stop 20040.
    # bar 6: short -> flatten (buy 1, which also cancels the 20040 stop), then buy 1 at
    #        20010 with its stop at 19960.
    # bar 9: long -> flatten (sell 1), then sell 1 at 19990, stop 20040.
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, SMA_CLOSES[:3])
        assert desk.updates == []
        close_bars(desk, SMA_CLOSES[3:4], 3, previous=20000)
        assert orders(desk) == [("sell", 1.0, 20040.0)]
        assert fills(desk) == [("sell", 1.0, 19990.0)]
        assert desk.ctx("sma").positions == {"NQ": -1.0}
        assert working(desk) == [("buy", "stop", 1.0, 20040.0)]

        close_bars(desk, SMA_CLOSES[4:6], 4, previous=19990)
        assert len(orders(desk)) == 1
        close_bars(desk, SMA_CLOSES[6:7], 6, previous=19990)
        assert orders(desk)[1:] == [("buy", 1.0, None), ("buy", 1.0, 19960.0)]
        assert fills(desk)[1:] == [("buy", 1.0, 20010.0), ("buy", 1.0, 20010.0)]
        assert desk.ctx("sma").positions == {"NQ": 1.0}
        assert working(desk) == [("sell", "stop", 1.0, 19960.0)]

        close_bars(desk, SMA_CLOSES[7:9], 7, previous=20010)
        assert len(orders(desk)) == 3
        close_bars(desk, SMA_CLOSES[9:], 9, previous=20000)
        assert orders(desk)[3:] == [("sell", 1.0, None), ("sell", 1.0, 20040.0)]
        assert fills(desk)[3:] == [("sell", 1.0, 19990.0), ("sell", 1.0, 19990.0)]
        assert desk.ctx("sma").positions == {"NQ": -1.0}
        assert working(desk) == [("buy", "stop", 1.0, 20040.0)]
        assert rejected(desk) == []
        assert desk.ctx("sma").errors == 0

    run(tmp_path, scenario, instance("sma", "SMA crossover",
                                     params={"fast": 2, "slow": 3, "stop_points": 50.0}))


@pytest.mark.parametrize("strategy", ["SMA crossover", "RSI mean reversion", "Indicator vote",
                                      "Donchian breakout"])
def test_every_shipped_example_that_trades_protects_its_entries_by_default(strategy):
    watchdog = Watchdog(2.0)
    catalog = Catalog()
    catalog.load(plugin_files([PLUGINS]), watchdog)
    cls = catalog.strategies[strategy].cls
    defaults = cls.default_params()
    # Donchian's stop is the far side of its channel unless atr_stop asks for ATRs
    assert defaults.get("stop_points", 20.0) == 20.0
    assert defaults.get("atr_stop", 0.0) == 0.0


def test_sma_crossover_with_default_parameters_sends_each_entry_with_a_20_point_stop(tmp_path):
    # bar 3 crosses below: sell 1 at 19990 with its stop 20 points above, at 20010
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, SMA_CLOSES[:4])
        assert orders(desk) == [("sell", 1.0, 20010.0)]
        assert working(desk) == [("buy", "stop", 1.0, 20010.0)]

    run(tmp_path, scenario, instance("sma", "SMA crossover", params={"fast": 2, "slow": 3}))


def test_sma_crossover_without_shorts_only_goes_flat_on_a_cross_below(tmp_path):
    # allow_short off, stop_points 0 (no stop): bar 3 does nothing (already flat);
    # bar 6 buys 1 at 20010 without a stop; bar 9 sells that 1 at 19990 and stays flat.
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, SMA_CLOSES[:6])
        assert desk.updates == []
        close_bars(desk, SMA_CLOSES[6:9], 6, previous=19990)
        assert orders(desk) == [("buy", 1.0, None)]
        assert fills(desk) == [("buy", 1.0, 20010.0)]
        assert working(desk) == []
        close_bars(desk, SMA_CLOSES[9:], 9, previous=20000)
        assert orders(desk) == [("buy", 1.0, None), ("sell", 1.0, None)]
        assert fills(desk)[1:] == [("sell", 1.0, 19990.0)]
        assert desk.ctx("sma").positions == {}

    run(tmp_path, scenario, instance("sma", "SMA crossover",
                                     params={"fast": 2, "slow": 3, "allow_short": False,
                                             "stop_points": 0.0}))


def test_sma_crossover_sends_nothing_for_a_cross_in_its_warm_up_bars(tmp_path):
    # Bars 0-5 close before the instance exists; the bar engine keeps them, so starting
    # the instance replays them as warm-up (fewer than its 201, all there are). The
    # cross below at bar 3 happens during warm-up: no order. The instance is flat when
    # bar 6 crosses above live, so it just buys 1 at 20010 (nothing to flatten).
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, SMA_CLOSES[:6])
        ctx = await desk.host.add(instance("sma", "SMA crossover",
                                           params={"fast": 2, "slow": 3, "stop_points": 0.0}))
        assert ctx.stats["on_bar"].calls == 6
        assert ctx.status is InstanceStatus.RUNNING and not ctx.warming_up
        assert desk.updates == []
        close_bars(desk, SMA_CLOSES[6:7], 6, previous=19990)
        assert orders(desk) == [("buy", 1.0, None)]
        assert fills(desk) == [("buy", 1.0, 20010.0)]
        assert ctx.positions == {"NQ": 1.0}

    run(tmp_path, scenario)


# -- RSI mean reversion --------------------------------------------------------------------
def test_rsi_reversion_buys_oversold_exits_at_50_and_shorts_overbought(tmp_path):
    # Wilder RSI(2): the first average gain and loss are the mean of the first 2 changes,
    # then avg = (avg * 1 + change) / 2; RSI = 100 * gain / (gain + loss).
    #
    #   bar  close  change  avg gain   avg loss   RSI
    #    0   20100
    #    1   20101   +1
    #    2   20100   -1     0.5        0.5        50     neither: nothing
    #    3   20096   -4     0.25       2.25       10     < 30: BUY 1 at 20096, stop 20076
    #    4   20097   +1     0.625      1.125      35.7   long, below 50: hold
    #    5   20100   +3     1.8125     0.5625     76.3   >= 50: SELL 1 (exit, cancels the
    #                                                    stop); now flat and > 70: SELL 1
    #                                                    short at 20100, stop 20120
    #    6   20101   +1     1.40625    0.28125    83.3   short, above 50: hold
    #    7   20099   -2     0.703125   1.140625   38.1   <= 50: BUY 1 (exit); 38 is not
    #                                                    oversold: stay flat
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, [20100, 20101, 20100])
        assert desk.updates == []
        close_bars(desk, [20096], 3, previous=20100)
        assert orders(desk) == [("buy", 1.0, 20076.0)]
        assert fills(desk) == [("buy", 1.0, 20096.0)]
        close_bars(desk, [20097], 4, previous=20096)
        assert len(orders(desk)) == 1
        close_bars(desk, [20100], 5, previous=20097)
        assert orders(desk)[1:] == [("sell", 1.0, None), ("sell", 1.0, 20120.0)]
        assert fills(desk)[1:] == [("sell", 1.0, 20100.0), ("sell", 1.0, 20100.0)]
        assert desk.ctx("rsi").positions == {"NQ": -1.0}
        assert working(desk) == [("buy", "stop", 1.0, 20120.0)]
        close_bars(desk, [20101], 6, previous=20100)
        assert len(orders(desk)) == 3
        close_bars(desk, [20099], 7, previous=20101)
        assert orders(desk)[3:] == [("buy", 1.0, None)]
        assert fills(desk)[3:] == [("buy", 1.0, 20099.0)]
        assert desk.ctx("rsi").positions == {}
        assert working(desk) == []
        assert rejected(desk) == []

    run(tmp_path, scenario, instance("rsi", "RSI mean reversion",
                                     params={"period": 2, "stop_points": 20.0}))


# -- Indicator vote ------------------------------------------------------------------------
# RSI(2), MACD(2, 3, 2), Bollinger(3, k=1), Stochastic(3) (%D of 3: ready on bar 4).
# A flat start, a fall that slows down, then a rise that slows down:
VOTE_CLOSES = [20100, 20100, 20100, 20100, 20100, 20060, 20040, 20030, 20025, 20022,
               20062, 20082, 20092, 20097]
VOTE_PARAMS = {"rsi_period": 2, "macd_fast": 2, "macd_slow": 3, "macd_signal": 2,
               "bb_period": 3, "bb_k": 1.0, "stoch_period": 3, "stop_points": 0.0}
#
#   bar  close  RSI   MACD hist  Bollinger [lower, upper]  %K     votes (rsi macd bb st)  net
#    4   20100  50     0          [20100, 20100]  on it    50      0  0  0  0             0
#    5   20060   0    -2.22       [20067.8, 20105.5] below  2.4   +1 -1 +1 +1            +2
#    6   20040   0    -1.48       [20041.7, 20091.6] below  1.6   +1 -1 +1 +1            +2
#    7   20030   0    -0.19       [20030.9, 20055.8] below  1.4   +1 -1 +1 +1            +2
#    8   20025   0    +0.60       [20025.4, 20037.9] below  2.7   +1 +1 +1 +1            +4
#    9   20022   0    +0.81       [20022.4, 20029.0] below  5.0   +1 +1 +1 +1            +4
#   10   20062  86.0  +3.06       [20018.1, 20054.5] above 97.6   -1 +1 -1 -1            -2
#   11   20082  92.5  +2.13       [20030.4, 20080.3] above 98.4   -1 +1 -1 -1            -2
#   12   20092  94.9  +0.61       [20066.2, 20091.1] above 98.6   -1 +1 -1 -1            -2
#   13   20097  96.1  -0.34       [20084.1, 20096.6] above 97.3   -1 -1 -1 -1            -4
#
# Bar 5 by hand: the EMAs stood at 20100. EMA(2) = 20100 + 2/3 * (20060 - 20100) =
# 20073.33, EMA(3) = 20100 + 1/2 * (-40) = 20080, MACD line = -6.67; signal EMA(2) =
# 0 + 2/3 * (-6.67) = -4.44; histogram = -6.67 + 4.44 = -2.22 (sell). RSI: no gains at all,
# 0 (buy). Bollinger: mean of 20100, 20100, 20060 = 20086.67, population std 18.86,
# lower 20067.81 > 20060 (buy). %K = 100 * (20060 - 20059) / (20101 - 20059) = 2.4 (buy).
# Bars 5-7: the three "buy the dip" votes against MACD. On bar 8 the fall slows (-5
# after -10), the MACD line (-5.99) rises above its signal (-6.58): all four agree.


def test_indicator_vote_takes_a_side_only_when_min_votes_agree_and_logs_each_ballot(
        tmp_path, caplog):
    # min_votes 3 (the default): +2 holds; bar 8 (+4) buys 1 at 20025; bar 9 (+4) is
    # already long; bars 10-12 (-2) keep the long; bar 13 (-4) flattens (sell 1) and
    # sells 1 short at 20097.
    caplog.set_level(logging.DEBUG, logger="strategy.vote")

    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, VOTE_CLOSES[:8])
        assert desk.updates == []
        close_bars(desk, VOTE_CLOSES[8:10], 8, previous=20030)
        assert orders(desk) == [("buy", 1.0, None)]
        assert fills(desk) == [("buy", 1.0, 20025.0)]
        close_bars(desk, VOTE_CLOSES[10:13], 10, previous=20022)
        assert len(orders(desk)) == 1
        assert desk.ctx("vote").positions == {"NQ": 1.0}
        close_bars(desk, VOTE_CLOSES[13:], 13, previous=20092)
        assert orders(desk)[1:] == [("sell", 1.0, None), ("sell", 1.0, None)]
        assert fills(desk)[1:] == [("sell", 1.0, 20097.0), ("sell", 1.0, 20097.0)]
        assert desk.ctx("vote").positions == {"NQ": -1.0}

    run(tmp_path, scenario, instance("vote", "Indicator vote", params=VOTE_PARAMS))
    ballots = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "strategy.vote"
               and "net=" in r.getMessage()]
    assert len(ballots) == 10  # one per bar from bar 4, when all four are ready
    assert ballots[0] == (logging.DEBUG, "NQ rsi=+0 macd=+0 bands=+0 stoch=+0 net=+0 -> hold "
                                         "(holding 0)")
    assert ballots[1] == (logging.DEBUG, "NQ rsi=+1 macd=-1 bands=+1 stoch=+1 net=+2 -> hold "
                                         "(holding 0)")
    assert ballots[4] == (logging.INFO, "NQ rsi=+1 macd=+1 bands=+1 stoch=+1 net=+4 -> long "
                                        "(holding 0)")
    assert ballots[9] == (logging.INFO, "NQ rsi=-1 macd=-1 bands=-1 stoch=-1 net=-4 -> short "
                                        "(holding 1)")


def test_indicator_vote_with_min_votes_2_goes_long_on_the_dip_and_reverses_on_the_rip(
        tmp_path):
    # Same bars, min_votes 2: bar 5 (+2) buys 1 at 20060; bar 10 (-2) flattens and sells 1
    # at 20062; bar 13 (-4) is already short.
    async def scenario(desk: StrategyDesk) -> None:
        close_bars(desk, VOTE_CLOSES[:5])
        assert desk.updates == []
        close_bars(desk, VOTE_CLOSES[5:10], 5, previous=20100)
        assert orders(desk) == [("buy", 1.0, None)]
        assert fills(desk) == [("buy", 1.0, 20060.0)]
        close_bars(desk, VOTE_CLOSES[10:], 10, previous=20022)
        assert orders(desk)[1:] == [("sell", 1.0, None), ("sell", 1.0, None)]
        assert fills(desk)[1:] == [("sell", 1.0, 20062.0), ("sell", 1.0, 20062.0)]
        assert desk.ctx("vote").positions == {"NQ": -1.0}

    run(tmp_path, scenario, instance("vote", "Indicator vote",
                                     params={**VOTE_PARAMS, "min_votes": 2}))


# -- Donchian breakout ---------------------------------------------------------------------
def test_donchian_breakout_compares_the_close_with_the_channel_of_the_previous_bars(tmp_path):
    # channel 3, stop at the other side of the channel.
    #
    #   bar  O      H      L      C      channel of the 3 bars before   action
    #    0   20000  20010  19990  20000  -
    #    1   20000  20008  19992  20000  -
    #    2   20000  20012  19995  20005  -
    #    3   20005  20015  20004  20011  bars 0-2: 20012 / 19990          inside: nothing
    #    4   20011  20020  20010  20018  bars 1-3: 20015 / 19992          above: BUY 1 at
    #                                                                     20018, stop 19992
    #    5   20018  20019  20005  20010  bars 2-4: 20020 / 19995          inside: nothing
    #    6   20010  20011  20000  20002  bars 3-5: 20020 / 20004          below: SELL 1 (exit)
    #                                                                     and SELL 1 short at
    #                                                                     20002, stop 20020
    # Bar 4 is the trap: a channel that already held bar 4 would top at its own high,
    # 20020, and the close (20018) could never break it.
    async def scenario(desk: StrategyDesk) -> None:
        close_bar(desk, 0, 20000, 20010, 19990, 20000)
        close_bar(desk, 1, 20000, 20008, 19992, 20000)
        close_bar(desk, 2, 20000, 20012, 19995, 20005)
        close_bar(desk, 3, 20005, 20015, 20004, 20011)
        assert desk.updates == []
        close_bar(desk, 4, 20011, 20020, 20010, 20018)
        assert orders(desk) == [("buy", 1.0, 19992.0)]
        assert fills(desk) == [("buy", 1.0, 20018.0)]
        assert working(desk) == [("sell", "stop", 1.0, 19992.0)]
        close_bar(desk, 5, 20018, 20019, 20005, 20010)
        assert len(orders(desk)) == 1
        close_bar(desk, 6, 20010, 20011, 20000, 20002)
        assert orders(desk)[1:] == [("sell", 1.0, None), ("sell", 1.0, 20020.0)]
        assert fills(desk)[1:] == [("sell", 1.0, 20002.0), ("sell", 1.0, 20002.0)]
        assert desk.ctx("dc").positions == {"NQ": -1.0}
        assert working(desk) == [("buy", "stop", 1.0, 20020.0)]
        assert rejected(desk) == []

    run(tmp_path, scenario, instance("dc", "Donchian breakout", params={"channel": 3}))


def test_donchian_breakout_puts_an_atr_stop_on_the_tick_and_shorts_only_if_allowed(tmp_path):
    # channel 2, ATR(2), stop 1.5 ATR from the close. Two instances on the same bars: "dc"
    # may short, "dc-long" may not.
    #
    #   bar  O      H      L         C      true range                     ATR(2)
    #    0   20000  20004  19996     20000  8 (high - low)
    #    1   20000  20003  19997     19999  6                              (8 + 6) / 2 = 7
    #    2   19999  20000  19990.25  19993  20000 - 19990.25 = 9.75        (7 + 9.75) / 2
    #                                                                      = 8.375
    # Bar 2 closes below the channel of bars 0-1 (low 19996): "dc" sells 1 at 19993 with
    # its stop at 19993 + 1.5 * 8.375 = 20005.5625, rounded to the 0.25 tick: 20005.50.
    # "dc-long" is flat and may not short: nothing.
    async def scenario(desk: StrategyDesk) -> None:
        close_bar(desk, 0, 20000, 20004, 19996, 20000)
        close_bar(desk, 1, 20000, 20003, 19997, 19999)
        assert desk.updates == []
        close_bar(desk, 2, 19999, 20000, 19990.25, 19993)
        assert orders(desk, "dc") == [("sell", 1.0, 20005.5)]
        assert orders(desk, "dc-long") == []
        assert fills(desk) == [("sell", 1.0, 19993.0)]
        assert working(desk) == [("buy", "stop", 1.0, 20005.5)]
        assert desk.ctx("dc").positions == {"NQ": -1.0}
        assert desk.ctx("dc-long").positions == {}

    params = {"channel": 2, "atr_period": 2, "atr_stop": 1.5}
    run(tmp_path, scenario, instance("dc", "Donchian breakout", params=params),
        instance("dc-long", "Donchian breakout", params={**params, "allow_short": False}))


# -- Momentum signals ----------------------------------------------------------------------
def test_momentum_signals_emits_on_wide_bars_closing_through_the_ema_and_sends_no_orders(
        tmp_path):
    # EMA(2) (alpha 2/3), ATR(2); a signal bar's range must be at least 1 ATR of the bars
    # before it.
    #
    #   bar  O      H      L      C      EMA(2)     close vs EMA     range  ATR before  signal
    #    0   20000  20002  19998  20000  -
    #    1   20000  20002  19998  20000  20000      equal                   -
    #    2   20000  20002  19999  20001  20000.67   crosses above    3      4           no: 3 < 4
    #    3   20001  20002  19994  19995  19996.89   crosses below    8      3.5         SHORT
    #    4   19995  20008  19995  20006  20002.96   crosses above    13     5.75        LONG
    #    5   20006  20020  20005  20018  20012.99   stays above      15     9.375       no cross
    # ATR: bars 0 and 1 range 4 -> 4; bar 2 true range 3 -> (4 + 3) / 2 = 3.5; bar 3 true
    # range 8 -> 5.75; bar 4 true range 13 -> 9.375.
    async def scenario(desk: StrategyDesk) -> None:
        desk.bar(0, 20000, 20002, 19998, 20000)
        desk.bar(1, 20000, 20002, 19998, 20000)
        desk.bar(2, 20000, 20002, 19999, 20001)
        assert desk.signals == []
        short_bar = desk.bar(3, 20001, 20002, 19994, 19995)
        long_bar = desk.bar(4, 19995, 20008, 19995, 20006)
        desk.bar(5, 20006, 20020, 20005, 20018)
        got = [(s.symbol, s.direction, s.price, s.bar, s.source, s.notes) for s in desk.signals]
        assert got == [
            ("NQ", Direction.SHORT, 19995.0, short_bar, "mom",
             "close below EMA, range 8 = 2.29 ATR"),
            ("NQ", Direction.LONG, 20006.0, long_bar, "mom",
             "close above EMA, range 13 = 2.26 ATR"),
        ]
        ctx = desk.ctx("mom")
        assert ctx.signals == 2
        assert ctx.last_signal is desk.signals[-1]
        assert desk.updates == []
        assert ctx.orders_sent == 0

    run(tmp_path, scenario, instance("mom", "Momentum signals",
                                     params={"ema_period": 2, "atr_period": 2}))


# -- all together --------------------------------------------------------------------------
def test_all_five_run_together_on_300_random_walk_bars_without_a_callback_error(tmp_path):
    rng = random.Random(20260113)
    ids = {"sma": "SMA crossover", "rsi": "RSI mean reversion", "vote": "Indicator vote",
           "dc": "Donchian breakout", "mom": "Momentum signals"}

    async def scenario(desk: StrategyDesk) -> None:
        close = 20000.0
        for minute in range(300):
            o = close
            close = round((close + rng.gauss(0.0, 6.0)) * 4) / 4
            high = max(o, close) + round(rng.uniform(0.0, 4.0) * 4) / 4
            low = min(o, close) - round(rng.uniform(0.0, 4.0) * 4) / 4
            close_bar(desk, minute, o, high, low, close)
        for instance_id in ids:
            ctx = desk.ctx(instance_id)
            assert ctx.errors == 0, ctx.last_error
            assert ctx.status is InstanceStatus.RUNNING
            assert ctx.stats["on_bar"].calls == 300
        assert desk.ctx("mom").signals >= 1
        assert desk.ctx("mom").orders_sent == 0
        assert sum(desk.ctx(i).orders_sent for i in ids) > 0
        assert desk.fills

    run(tmp_path, scenario, *(instance(i, name) for i, name in ids.items()))


# -- the guide's worked example ------------------------------------------------------------
def test_the_worked_example_in_the_guide_loads_and_trades_without_errors(tmp_path):
    guide = (Path(__file__).resolve().parents[2] / "docs" / "strategies.md").read_text()
    example = guide.split("## A complete example", 1)[1].split("```python\n", 1)[1]
    folder = tmp_path / "plugins"
    write_plugin(folder, "trend_pullback.py", example.split("```", 1)[0])
    rng = random.Random(7)

    async def main() -> None:
        desk = StrategyDesk(tmp_path, folder, settings=settings(), instances=[
            instance("tp", "Trend pullback", params={"trend": 10, "pullback": 2})])
        await desk.start()
        try:
            assert desk.host.report()["errors"] == []
            close = 20000.0
            for minute in range(300):
                o = close
                close = round((close + rng.gauss(0.5, 6.0)) * 4) / 4
                close_bar(desk, minute, o, max(o, close) + 1, min(o, close) - 1, close)
            ctx = desk.ctx("tp")
            assert ctx.errors == 0, ctx.last_error
            assert ctx.orders_sent > 0
            assert ctx.state["entries"]["NQ"] == ctx.orders_sent
            entries = [u for u in desk.updates if u.status is OrderStatus.ACCEPTED
                       and u.intent.parent_id is None and u.intent.bracket is not None]
            assert len(entries) == ctx.orders_sent == 3  # max_trades: the allowance is used up
        finally:
            await desk.stop()

    asyncio.run(main())
