"""Incremental technical indicators: O(1) per update, the same code live and in backtests.

Every indicator is fed one input at a time with ``update(x)`` and keeps only what
it needs for the next value (a window deque, running sums, Wilder averages,
monotonic deques), so a strategy pays the same small cost per bar after ten bars
or ten million. An input is a number or a bar (anything with open, high, low,
close and volume, such as ``workstation.model.Bar``). Single-input indicators use
a bar's close; bar indicators (ATR, Stochastic, OBV, VWAP, Field) need a bar and
raise TypeError on a number.

Contract: ``value`` is nan until ``ready``; ``warmup`` is the number of updates
needed to become ready, counted in raw inputs through any source chain; ``count``
is the number of updates seen; ``reset()`` empties the indicator and its source.

Composition: a single-input indicator takes an optional source indicator as its
second argument. ``update(x)`` hands the raw input to the source and consumes
``source.value`` only once the source is ready, so warm-ups add up::

    smooth_rsi = SMA(3, RSI(14))            # warmup = 15 + 3 - 1 = 17
    breakout = Highest(20, Field("high"))   # highest high, not highest close
    golden = CrossAbove(EMA(10), EMA(30))   # both sides get the same input
    for bar in bars:
        smooth_rsi.update(bar)              # updates the RSI with the bar, then the SMA

An indicator owns its source: do not give one instance to two parents (it would
be updated twice per input).
"""

from __future__ import annotations

import math
from collections import deque
from operator import attrgetter
from typing import Protocol

from workstation.model import BarFlag

__all__ = [
    "ATR", "EMA", "MACD", "OBV", "ROC", "RSI", "SMA", "VWAP", "WMA", "BollingerBands",
    "Change", "CrossAbove", "CrossBelow", "Field", "Highest", "Indicator", "Lowest",
    "Stochastic",
]

NAN = math.nan
_SESSION_FIRST = int(BarFlag.SESSION_FIRST)
_RESYNC = 256  # running sums are recomputed exactly every max(period, _RESYNC) updates


class BarLike(Protocol):
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...


Input = float | BarLike


def _positive(owner: str, period: int) -> int:
    if not isinstance(period, int) or period < 1:
        raise ValueError(f"{owner}: period must be a positive int, got {period!r}")
    return period


class Indicator:
    """Base: source handling, the ready/value contract, reset and repr. Subclasses
    implement ``_step(x)`` on a float and ``_clear()`` for their own state."""

    __slots__ = ("_params", "count", "ready", "source", "value", "warmup")

    def __init__(self, warmup: int, source: Indicator | None = None, *params: object) -> None:
        if source is not None and not isinstance(source, Indicator):
            raise TypeError(f"{type(self).__name__}: source must be an Indicator, got {source!r}")
        self.source = source
        self.warmup = warmup if source is None else source.warmup + warmup - 1
        self._params = params
        self.value, self.ready, self.count = NAN, False, 0
        self._clear()

    def update(self, x: Input) -> float:
        """Feed one input; returns the new value (nan while not ready)."""
        self.count += 1
        src = self.source
        if src is not None:
            src.update(x)
            return self._step(src.value) if src.ready else self.value
        if x.__class__ is not float:
            try:
                x = x.close  # type: ignore[union-attr]
            except AttributeError:
                x = self._number(x)
        return self._step(x)  # type: ignore[arg-type]

    def _number(self, x: object) -> float:
        if isinstance(x, int | float):
            return float(x)
        raise TypeError(f"{self.spec()} needs a number or a bar, got {x!r}")

    def _step(self, x: float) -> float:
        raise NotImplementedError

    def _clear(self) -> None:
        """(Re)initialise subclass state; called by __init__ and reset()."""

    def reset(self) -> None:
        """Back to empty, as if just constructed (its source too)."""
        self.value, self.ready, self.count = NAN, False, 0
        self._clear()
        if self.source is not None:
            self.source.reset()

    def spec(self) -> str:
        """The constructor call, e.g. ``SMA(3, RSI(14))``."""
        args = [p.spec() if isinstance(p, Indicator) else repr(p) for p in self._params]
        if self.source is not None:
            args.append(self.source.spec())
        return f"{type(self).__name__}({', '.join(args)})"

    def __repr__(self) -> str:
        return f"{self.spec()}={self.value:.6g}"

    def __float__(self) -> float:
        return self.value


class _BarIndicator(Indicator):
    """An indicator of whole bars: no source, and a number is a TypeError."""

    __slots__ = ()

    def update(self, x: Input) -> float:
        try:
            hi, lo, close, vol = x.high, x.low, x.close, x.volume  # type: ignore[union-attr]
        except AttributeError:
            raise TypeError(f"{self.spec()} needs a bar (open/high/low/close/volume), "
                            f"got {type(x).__name__} {x!r}") from None
        self.count += 1
        return self._bar(hi, lo, close, vol, x)

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        raise NotImplementedError


class _Windowed(Indicator):
    """An indicator over the last ``period`` inputs, kept in a deque."""

    __slots__ = ("_buf", "_every", "_since", "period")
    _EXTRA = 0  # inputs needed beyond ``period`` before the first value

    def __init__(self, period: int, source: Indicator | None = None) -> None:
        self.period = _positive(type(self).__name__, period)
        self._buf: deque = deque()
        self._every = max(period, _RESYNC)  # exact recomputation stays amortized O(1)
        super().__init__(period + self._EXTRA, source, period)

    def _clear(self) -> None:
        self._buf.clear()
        self._since = 0


class SMA(_Windowed):
    """Simple moving average: a running sum, recomputed exactly (fsum) every
    max(period, 256) updates so rounding cannot drift over a long run."""

    __slots__ = ("_sum",)

    def _clear(self) -> None:
        super()._clear()
        self._sum = 0.0

    def _step(self, x: float) -> float:
        buf, n = self._buf, self.period
        buf.append(x)
        self._sum += x
        if len(buf) > n:
            self._sum -= buf.popleft()
            self._since += 1
            if self._since >= self._every:
                self._since, self._sum = 0, math.fsum(buf)
        elif len(buf) < n:
            return NAN
        self.ready = True
        self.value = v = self._sum / n
        return v


class WMA(_Windowed):
    """Linearly weighted average, newest weight ``period``, oldest 1. O(1): when the
    window slides every weight drops by one, so ``W' = W - S + period * x``."""

    __slots__ = ("_sum", "_wsum")

    def _clear(self) -> None:
        super()._clear()
        self._sum = self._wsum = 0.0

    def _step(self, x: float) -> float:
        buf, n = self._buf, self.period
        if len(buf) < n:
            buf.append(x)
            self._sum += x
            self._wsum += len(buf) * x
            if len(buf) < n:
                return NAN
        else:
            self._wsum += n * x - self._sum
            self._sum += x - buf.popleft()
            buf.append(x)
            self._since += 1
            if self._since >= self._every:
                self._since, self._sum = 0, math.fsum(buf)
                self._wsum = math.fsum(i * v for i, v in enumerate(buf, 1))
        self.ready = True
        self.value = v = self._wsum / (n * (n + 1) / 2)
        return v


class EMA(Indicator):
    """Exponential average, alpha = 2/(period+1). Seeded with the SMA of the first
    ``period`` inputs (ready on that input), then ``v += alpha * (x - v)``; without
    the seed the first values would lean on whatever input came first."""

    __slots__ = ("_alpha", "_n", "_sum", "period")

    def __init__(self, period: int, source: Indicator | None = None) -> None:
        self.period = _positive("EMA", period)
        self._alpha = 2.0 / (period + 1)
        super().__init__(period, source, period)

    def _clear(self) -> None:
        self._n, self._sum = 0, 0.0

    def _step(self, x: float) -> float:
        if self.ready:
            self.value = v = self.value + self._alpha * (x - self.value)
            return v
        self._n += 1
        self._sum += x
        if self._n < self.period:
            return NAN
        self.ready = True
        self.value = v = self._sum / self.period
        return v


class RSI(Indicator):
    """Wilder's RSI. The first average gain/loss is the mean of the first ``period``
    changes, then ``avg = (avg * (period - 1) + x) / period``; ready after period+1
    inputs. 100 when the average loss is 0, and 50 when both are 0 (a flat market
    is neither overbought nor oversold)."""

    __slots__ = ("_gain", "_loss", "_n", "_prev", "period")

    def __init__(self, period: int = 14, source: Indicator | None = None) -> None:
        self.period = _positive("RSI", period)
        super().__init__(period + 1, source, period)

    def _clear(self) -> None:
        self._prev, self._gain, self._loss, self._n = NAN, 0.0, 0.0, 0

    def _step(self, x: float) -> float:
        change, self._prev = x - self._prev, x
        n = self._n = self._n + 1
        if n == 1:
            return NAN
        p = self.period
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        if n <= p:
            self._gain += gain
            self._loss += loss
            return NAN
        if n == p + 1:
            self._gain = (self._gain + gain) / p
            self._loss = (self._loss + loss) / p
            self.ready = True
        else:
            self._gain = (self._gain * (p - 1) + gain) / p
            self._loss = (self._loss * (p - 1) + loss) / p
        total = self._gain + self._loss  # 100 * g / (g + l) == 100 - 100 / (1 + g / l)
        self.value = v = 100.0 * self._gain / total if total > 0.0 else 50.0
        return v


class MACD(Indicator):
    """``value`` = EMA(fast) - EMA(slow), both fed every input; ``signal`` = EMA(signal)
    of that line, fed from when the slow EMA is ready; ``histogram`` = value - signal.
    All three stay nan until the signal is ready."""

    __slots__ = ("_fast", "_signal", "_slow", "histogram", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9,
                 source: Indicator | None = None) -> None:
        self._fast, self._slow, self._signal = EMA(fast), EMA(slow), EMA(signal)
        super().__init__(max(fast, slow) + signal - 1, source, fast, slow, signal)

    def _clear(self) -> None:
        for ema in (self._fast, self._slow, self._signal):
            ema.reset()
        self.signal = self.histogram = NAN

    def _step(self, x: float) -> float:
        fast, slow, sig = self._fast, self._slow, self._signal
        fast._step(x)
        slow._step(x)
        if not (slow.ready and fast.ready):
            return NAN
        line = fast.value - slow.value
        sig._step(line)
        if not sig.ready:
            return NAN
        self.ready = True
        self.signal = sig.value
        self.histogram = line - sig.value
        self.value = line
        return line

    def __repr__(self) -> str:
        return f"{super().__repr__()} signal={self.signal:.6g} hist={self.histogram:.6g}"


class BollingerBands(_Windowed):
    """``value`` = SMA middle; ``upper``/``lower`` = middle +/- k * population std
    (ddof=0, as charting packages draw them); ``width`` = upper - lower.

    Running sums of ``x - shift`` and its square, with ``shift`` re-centred on the
    window mean (sums recomputed exactly) every max(period, 256) updates: unshifted,
    ``E[x^2] - E[x]^2`` at prices near 20000 loses about eight digits to cancellation.
    """

    __slots__ = ("_shift", "_sq", "_sum", "k", "lower", "upper", "width")

    def __init__(self, period: int = 20, k: float = 2.0, source: Indicator | None = None) -> None:
        self.k = float(k)
        super().__init__(period, source)
        self._params = (period, self.k)

    def _clear(self) -> None:
        super()._clear()
        self._shift = self._sum = self._sq = 0.0
        self.upper = self.lower = self.width = NAN

    def _step(self, x: float) -> float:
        buf, n = self._buf, self.period
        if not buf:
            self._shift = x
        d = x - self._shift
        buf.append(x)
        self._sum += d
        self._sq += d * d
        if len(buf) > n:
            old = buf.popleft() - self._shift
            self._sum -= old
            self._sq -= old * old
            self._since += 1
            if self._since >= self._every:
                self._since, self._shift = 0, math.fsum(buf) / n
                self._sum = math.fsum(v - self._shift for v in buf)
                self._sq = math.fsum((v - self._shift) ** 2 for v in buf)
        elif len(buf) < n:
            return NAN
        mean = self._sum / n
        var = self._sq / n - mean * mean
        band = self.k * math.sqrt(var) if var > 0.0 else 0.0  # rounding can dip below 0
        self.value = mid = self._shift + mean
        self.upper, self.lower, self.width = mid + band, mid - band, 2.0 * band
        self.ready = True
        return mid

    def __repr__(self) -> str:
        return f"{super().__repr__()} [{self.lower:.6g}, {self.upper:.6g}]"


class Highest(_Windowed):
    """Highest input over ``period``: the close of bars; for bar highs use
    ``Highest(20, Field("high"))``. A monotonic deque of (index, x) keeps it
    O(1) amortized: every input is pushed and popped at most once."""

    __slots__ = ("_i",)
    _SIGN = 1.0  # Lowest is Highest of -x (negation is exact)

    def _clear(self) -> None:
        super()._clear()
        self._i = 0

    def _step(self, x: float) -> float:
        mono, sign = self._buf, self._SIGN
        i = self._i = self._i + 1
        y = sign * x
        while mono and mono[-1][1] <= y:
            mono.pop()
        mono.append((i, y))
        if mono[0][0] <= i - self.period:
            mono.popleft()
        if i < self.period:
            return NAN
        self.ready = True
        self.value = v = sign * mono[0][1]
        return v


class Lowest(Highest):
    """Lowest input over ``period`` (for bar lows: ``Lowest(20, Field("low"))``)."""

    __slots__ = ()
    _SIGN = -1.0


class Change(_Windowed):
    """``x - x[period ago]``; ready after period+1 inputs."""

    __slots__ = ()
    _EXTRA = 1

    def __init__(self, period: int = 1, source: Indicator | None = None) -> None:
        super().__init__(period, source)

    def _step(self, x: float) -> float:
        buf = self._buf
        buf.append(x)
        if len(buf) <= self.period:
            return NAN
        self.ready = True
        self.value = v = self._calc(x, buf.popleft())
        return v

    def _calc(self, x: float, ago: float) -> float:
        return x - ago


class ROC(Change):
    """Rate of change in percent, ``100 * (x / x[period ago] - 1)``; nan if that was 0."""

    __slots__ = ()

    def _calc(self, x: float, ago: float) -> float:
        return 100.0 * (x / ago - 1.0) if ago != 0.0 else NAN


class Field(_BarIndicator):
    """A bar field ("open", "high", "low", "close", "volume") as an indicator, ready
    from the first bar: the way to point a single-input indicator at that field."""

    __slots__ = ("_get", "name")
    NAMES = ("open", "high", "low", "close", "volume")

    def __init__(self, name: str) -> None:
        if name not in self.NAMES:
            raise ValueError(f"Field: name must be one of {self.NAMES}, got {name!r}")
        self.name, self._get = name, attrgetter(name)
        super().__init__(1, None, name)

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        self.ready = True
        self.value = v = float(self._get(bar))
        return v


class ATR(_BarIndicator):
    """Average true range, Wilder-smoothed, seeded with the mean of the first
    ``period`` true ranges. The first bar's true range is high - low; later ones
    reach back to the previous close, so gaps count."""

    __slots__ = ("_n", "_prev", "_sum", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = _positive("ATR", period)
        super().__init__(period, None, period)

    def _clear(self) -> None:
        self._prev, self._sum, self._n = NAN, 0.0, 0

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        prev, self._prev = self._prev, close
        if prev != prev:  # nan: the first bar has no previous close; this makes TR = h - l
            prev = hi
        tr = (hi if hi > prev else prev) - (lo if lo < prev else prev)
        p = self.period
        if self.ready:
            self.value = v = (self.value * (p - 1) + tr) / p
            return v
        self._n += 1
        self._sum += tr
        if self._n < p:
            return NAN
        self.ready = True
        self.value = v = self._sum / p
        return v


class Stochastic(_BarIndicator):
    """``value`` = %K = 100 * (close - lowest low) / (highest high - lowest low) over
    ``k_period`` bars (50 when that range is 0: no position to speak of), smoothed
    by SMA(smooth) when smooth > 1; ``d`` = SMA(d_period) of %K. Both are nan until
    %D is ready (warmup = k_period + smooth + d_period - 2)."""

    __slots__ = ("_d", "_hh", "_ll", "_smooth", "d")

    def __init__(self, k_period: int = 14, d_period: int = 3, smooth: int = 1) -> None:
        self._hh, self._ll = Highest(k_period), Lowest(k_period)
        self._smooth, self._d = SMA(smooth), SMA(d_period)
        super().__init__(k_period + smooth + d_period - 2, None, k_period, d_period, smooth)

    def _clear(self) -> None:
        for part in (self._hh, self._ll, self._smooth, self._d):
            part.reset()
        self.d = NAN

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        hh, ll = self._hh._step(hi), self._ll._step(lo)
        if not self._hh.ready:
            return NAN
        k = 100.0 * (close - ll) / (hh - ll) if hh > ll else 50.0
        if self._smooth.period > 1:
            k = self._smooth._step(k)
            if not self._smooth.ready:
                return NAN
        d = self._d._step(k)
        if not self._d.ready:
            return NAN
        self.ready = True
        self.d, self.value = d, k
        return k

    def __repr__(self) -> str:
        return f"{super().__repr__()} d={self.d:.6g}"


class OBV(_BarIndicator):
    """On-balance volume: 0 on the first bar, then +volume on an up close, -volume on
    a down close, unchanged on an equal one."""

    __slots__ = ("_prev",)

    def __init__(self) -> None:
        super().__init__(1)

    def _clear(self) -> None:
        self._prev = NAN

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        prev, self._prev = self._prev, close
        if not self.ready:
            self.ready, self.value = True, 0.0
        elif close > prev:
            self.value += vol
        elif close < prev:
            self.value -= vol
        return self.value


class VWAP(_BarIndicator):
    """Session VWAP of the typical price (h+l+c)/3. Restarts on a bar flagged
    SESSION_FIRST (and on reset()); nan, and not ready, until the session has
    traded some volume."""

    __slots__ = ("_pv", "_vol")

    def __init__(self) -> None:
        super().__init__(1)

    def _clear(self) -> None:
        self._pv = self._vol = 0.0

    def _bar(self, hi: float, lo: float, close: float, vol: float, bar: BarLike) -> float:
        if getattr(bar, "flags", 0) & _SESSION_FIRST:
            self._pv = self._vol = 0.0
        self._pv += (hi + lo + close) / 3.0 * vol
        self._vol += vol
        self.ready = self._vol > 0.0
        self.value = v = self._pv / self._vol if self.ready else NAN
        return v


class CrossAbove(Indicator):
    """1.0 on the update where ``a`` goes from <= ``b`` to > ``b``, else 0.0 (touching
    is not crossing). ``a`` and ``b`` are indicators, both fed every input, or
    constants. Ready once both sides have been ready on two consecutive updates;
    ``crossed`` and ``bool()`` give the same as a bool, for ``if cross: ...``."""

    __slots__ = ("_prev", "a", "b")

    def __init__(self, a: Indicator | float, b: Indicator | float) -> None:
        self.a, self.b = a, b
        sides = [s.warmup for s in (a, b) if isinstance(s, Indicator)]
        super().__init__(max([1, *sides]) + 1, None, a, b)

    def _clear(self) -> None:
        self._prev: bool | None = None

    def reset(self) -> None:
        super().reset()
        for side in (self.a, self.b):
            if isinstance(side, Indicator):
                side.reset()

    @staticmethod
    def _past(a: float, b: float) -> bool:
        return a > b

    def update(self, x: Input) -> float:
        self.count += 1
        a, b = self.a, self.b
        if isinstance(a, Indicator):
            a.update(x)
            a = a.value if a.ready else NAN
        if isinstance(b, Indicator):
            if b is not self.a:
                b.update(x)
            b = b.value if b.ready else NAN
        if a != a or b != b:  # a side is not ready: start over
            self._prev, self.ready, self.value = None, False, NAN
            return NAN
        now, prev = self._past(a, b), self._prev
        self._prev = now
        if prev is None:
            return NAN
        self.ready = True
        self.value = v = 1.0 if now and not prev else 0.0
        return v

    @property
    def crossed(self) -> bool:
        return self.value == 1.0

    def __bool__(self) -> bool:
        return self.value == 1.0


class CrossBelow(CrossAbove):
    """1.0 on the update where ``a`` goes from >= ``b`` to < ``b``, else 0.0."""

    __slots__ = ()

    @staticmethod
    def _past(a: float, b: float) -> bool:
        return a < b
