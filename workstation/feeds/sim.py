"""The embedded simulated market: the default feed, with no keys and no network.

Each instrument follows a random walk in whole ticks with GARCH-style volatility
clustering, occasional jumps, a U-shaped intraday profile of activity and an
overnight gap. Trades print at the bid or the ask. Events are generated a slice
of simulated time at a time with numpy, merged across instruments in time
order, then published one by one on the bus with the SimClock advanced to each.
All randomness comes from per-instrument generators seeded from (seed, symbol),
so the same seed and start give the same events at any speed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from workstation.bus import EventBus
from workstation.clock import SimClock
from workstation.config import SimParams
from workstation.feeds.base import Backpressure, FeedState, no_backpressure
from workstation.model import NS_PER_SECOND, Instrument, Quote, Tick
from workstation.sessions import Session, get_schedule

log = logging.getLogger(__name__)

SLICE_NS = 10 * NS_PER_SECOND
_PACE_S = 0.02
_MAX_BURST = 2_048
_SECONDS_PER_TRADING_DAY = 23_400.0
_JUMPS_PER_SECOND = 1 / 1_800


def default_start_ns(now_ns: int) -> int:
    """The open of the latest US equity session: every default market is open then."""
    return get_schedule("us_equity").previous_session(now_ns).open_ns


@dataclass(slots=True)
class _Walker:
    """One instrument's simulated state."""

    instrument: Instrument
    params: SimParams
    rng: np.random.Generator
    mid_ticks: float
    last_bid: int = -1
    last_ask: int = -1
    variance: float = 1.0
    session: Session | None = None
    had_session: bool = False
    sigma_ticks_per_s: float = field(init=False)

    def __post_init__(self) -> None:
        per_second = self.params.daily_vol / math.sqrt(_SECONDS_PER_TRADING_DAY)
        self.sigma_ticks_per_s = self.params.price * per_second / self.instrument.tick_size


class _Slice:
    """The merged events of one slice, as plain lists (fast to index)."""

    __slots__ = (
        "ask",
        "ask_size",
        "bid",
        "bid_size",
        "price",
        "quote",
        "side",
        "size",
        "symbol",
        "ts",
    )

    def __init__(self, columns: dict[str, list]) -> None:
        for name in self.__slots__:
            setattr(self, name, columns[name])


class SimFeed:
    name = "sim"

    def __init__(self, instruments: list[tuple[Instrument, SimParams]], bus: EventBus,
                 clock: SimClock, *, seed: int, start_ns: int, speed: float | None = 1.0,
                 duration_ns: int | None = None,
                 backpressure: Backpressure = no_backpressure,
                 resume_prices: dict[str, float] | None = None) -> None:
        """``resume_prices``: continue a stored market from these last prices (a relaunch);
        the walk then draws from (seed, symbol, start) so it does not retrace the last run."""
        if not instruments:
            raise ValueError("the simulated feed needs at least one instrument")
        self._bus = bus
        self._clock = clock
        self._speed = speed
        self._start = start_ns
        self._end = None if duration_ns is None else start_ns + duration_ns
        self._backpressure = backpressure
        self._walkers = [
            _Walker(inst, params, _rng_for(seed, inst.symbol), params.price / inst.tick_size)
            for inst, params in instruments
        ]
        for walker in self._walkers:
            symbol = walker.instrument.symbol
            if resume_prices and symbol in resume_prices:
                walker.rng = _rng_for(seed, symbol, start_ns // NS_PER_SECOND)
                walker.mid_ticks = resume_prices[symbol] / walker.instrument.tick_size
                walker.session = get_schedule(walker.instrument.schedule).session_at(start_ns)
                walker.had_session = True  # a later session opens with an overnight gap
        self._symbols = [w.instrument.symbol for w in self._walkers]
        self._stopping = False
        self.state = FeedState.IDLE
        self.ticks = 0
        self.quotes = 0
        clock.advance_to(start_ns)

    def reference_prices(self) -> dict[str, float]:
        """Where each instrument starts: the watchlist's 'previous close'."""
        return {w.instrument.symbol: w.instrument.round_price(w.mid_ticks * w.instrument.tick_size)
                for w in self._walkers}

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        self.state = FeedState.LIVE
        wall_start = time.monotonic()
        t = self._start
        try:
            while not self._stopping and (self._end is None or t < self._end):
                t_end = t + SLICE_NS if self._end is None else min(t + SLICE_NS, self._end)
                batch = self._generate(t, t_end)
                if batch is None:
                    t = await self._skip_closed_market(t, wall_start)
                    continue
                if self._speed is None:
                    await self._emit_unpaced(batch)
                    self._clock.advance_to(t_end)
                else:
                    await self._emit_paced(batch, t_end, wall_start)
                t = t_end
        except Exception:
            self.state = FeedState.ERROR
            raise
        self.state = FeedState.STOPPED if self._stopping else FeedState.FINISHED

    async def _skip_closed_market(self, t: int, wall_start: float) -> int:
        """Every instrument is closed: move time to the next open (paced when live)."""
        next_open = min(get_schedule(w.instrument.schedule).next_session(t).open_ns
                        for w in self._walkers)
        if self._end is not None:
            next_open = min(next_open, self._end)
        self.state = FeedState.MARKET_CLOSED
        if self._speed is not None:
            while not self._stopping and self._sim_now(wall_start) < next_open:
                self._clock.advance_to(self._sim_now(wall_start))
                await asyncio.sleep(0.25)
        self._clock.advance_to(next_open)
        self.state = FeedState.LIVE
        return next_open

    def _sim_now(self, wall_start: float) -> int:
        assert self._speed is not None
        return self._start + int((time.monotonic() - wall_start) * self._speed * NS_PER_SECOND)

    async def _emit_unpaced(self, batch: _Slice) -> None:
        """As fast as possible, yielding to the loop every few thousand events."""
        for first in range(0, len(batch.ts), _MAX_BURST):
            self._emit(batch, first, min(first + _MAX_BURST, len(batch.ts)))
            await asyncio.sleep(0)
            await self._backpressure()

    async def _emit_paced(self, batch: _Slice, t_end: int, wall_start: float) -> None:
        done, count = 0, len(batch.ts)
        while not self._stopping:
            now = self._sim_now(wall_start)
            upto = done
            while upto < count and batch.ts[upto] <= now:
                upto += 1
            self._emit(batch, done, upto)
            done = upto
            self._clock.advance_to(min(now, t_end))
            if done >= count and now >= t_end:
                return
            await asyncio.sleep(_PACE_S)

    def _emit(self, batch: _Slice, first: int, last: int) -> None:
        publish = self._bus.publish
        advance = self._clock.advance_to
        ts_l, sym_l, quote_l = batch.ts, batch.symbol, batch.quote
        for i in range(first, last):
            ts = ts_l[i]
            symbol = sym_l[i]
            advance(ts)
            if quote_l[i]:
                publish(Quote(symbol, ts, batch.bid[i], batch.ask[i], batch.bid_size[i],
                              batch.ask_size[i]))
            publish(Tick(symbol, ts, batch.price[i], batch.size[i], batch.side[i]))
        self.ticks += last - first
        self.quotes += sum(quote_l[first:last])

    # -- generation ---------------------------------------------------------------
    def _generate(self, t0: int, t1: int) -> _Slice | None:
        parts = []
        any_open = False
        for index, walker in enumerate(self._walkers):
            session = self._session_for(walker, t0)
            if session is None:
                continue
            any_open = True
            lo, hi = max(t0, session.open_ns), min(t1, session.close_ns)
            if hi > lo:
                part = self._walk(walker, index, lo, hi, session)
                if part is not None:
                    parts.append(part)
        if not any_open:
            return None
        return self._merge(parts)

    def _session_for(self, walker: _Walker, t0: int) -> Session | None:
        session = walker.session
        if session is None or t0 >= session.close_ns:
            session = get_schedule(walker.instrument.schedule).next_session(t0)
            if walker.had_session and (walker.session is None
                                       or session.open_ns != walker.session.open_ns):
                self._overnight_gap(walker)
            walker.session = session
            walker.had_session = True
        return session if session.open_ns < t0 + SLICE_NS else None

    def _overnight_gap(self, walker: _Walker) -> None:
        gap_sigma = walker.sigma_ticks_per_s * math.sqrt(_SECONDS_PER_TRADING_DAY) * 0.3
        walker.mid_ticks = max(walker.mid_ticks + walker.rng.normal(0.0, gap_sigma),
                               10.0 * walker.params.spread_ticks)

    def _walk(self, walker: _Walker, index: int, lo: int, hi: int,
              session: Session) -> dict[str, np.ndarray] | None:
        rng, params = walker.rng, walker.params
        seconds = (hi - lo) / NS_PER_SECOND
        activity = _intraday_activity(lo, session)
        lam = params.trades_per_s * seconds * activity * (0.5 + 0.5 * walker.variance)
        count = int(rng.poisson(lam))
        sigma = walker.sigma_ticks_per_s * math.sqrt(seconds * walker.variance * activity)
        jump = 0.0
        if rng.random() < _JUMPS_PER_SECOND * seconds:
            jump = float(rng.choice((-1.0, 1.0)) * rng.uniform(4.0, 12.0) * sigma)
        shocks = rng.normal(0.0, sigma / math.sqrt(max(count, 1)), max(count, 1))
        shocks[int(rng.integers(0, len(shocks)))] += jump
        path = walker.mid_ticks + np.cumsum(shocks)
        floor_ticks = 10.0 * params.spread_ticks
        np.maximum(path, floor_ticks, out=path)
        move = (path[-1] - walker.mid_ticks) / max(sigma, 1e-12)
        walker.variance = min(max(0.02 + 0.90 * walker.variance + 0.08 * move * move, 0.2), 10.0)
        walker.mid_ticks = float(path[-1])
        if count == 0:
            return None
        spread = params.spread_ticks * (1 + (rng.random(count) < 0.08 * walker.variance))
        bid = np.floor(path - spread / 2.0).astype(np.int64)
        ask = bid + spread.astype(np.int64)
        side = np.where(rng.random(count) < 0.5, 1, -1)
        traded = np.where(side > 0, ask, bid)
        prev_bid = np.concatenate(([walker.last_bid], bid[:-1]))
        prev_ask = np.concatenate(([walker.last_ask], ask[:-1]))
        walker.last_bid, walker.last_ask = int(bid[-1]), int(ask[-1])
        lot = walker.instrument.lot_size
        p_size = min(1.0, lot / params.mean_size)
        return {
            "ts": np.sort(rng.integers(lo, hi, count)),
            "inst": np.full(count, index, dtype=np.int64),
            "price_ticks": traded,
            "size_lots": rng.geometric(p_size, count),
            "side": side,
            "quote": (bid != prev_bid) | (ask != prev_ask),
            "bid_ticks": bid,
            "ask_ticks": ask,
            "bid_lots": rng.geometric(min(1.0, p_size * 0.5), count),
            "ask_lots": rng.geometric(min(1.0, p_size * 0.5), count),
        }

    def _merge(self, parts: list[dict[str, np.ndarray]]) -> _Slice:
        if not parts:
            return _Slice({name: [] for name in _Slice.__slots__})
        cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        order = np.lexsort((cols["inst"], cols["ts"]))
        inst = cols["inst"][order]
        ticks = np.array([w.instrument.tick_size for w in self._walkers])[inst]
        lots = np.array([w.instrument.lot_size for w in self._walkers])[inst]
        price_dec = max(w.instrument.price_decimals for w in self._walkers)
        size_dec = max(w.instrument.size_decimals for w in self._walkers)

        def prices(key: str) -> list[float]:
            return np.round(cols[key][order] * ticks, price_dec).tolist()

        def sizes(key: str) -> list[float]:
            return np.round(cols[key][order] * lots, size_dec).tolist()

        symbols = self._symbols
        return _Slice({
            "ts": cols["ts"][order].tolist(),
            "symbol": [symbols[i] for i in inst.tolist()],
            "price": prices("price_ticks"),
            "size": sizes("size_lots"),
            "side": cols["side"][order].tolist(),
            "quote": cols["quote"][order].tolist(),
            "bid": prices("bid_ticks"),
            "ask": prices("ask_ticks"),
            "bid_size": sizes("bid_lots"),
            "ask_size": sizes("ask_lots"),
        })


def _rng_for(seed: int, symbol: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(symbol.encode()),
                                  *(value & 0xFFFFFFFF for value in more)])


def _intraday_activity(ts: int, session: Session) -> float:
    """U-shaped: busy after the open and before the close, quiet at midday."""
    length = session.close_ns - session.open_ns
    u = (ts - session.open_ns) / length if length > 0 else 0.5
    return 0.55 + 1.1 * (math.exp(-u / 0.06) + math.exp(-(1.0 - u) / 0.06))
