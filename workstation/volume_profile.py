"""Volume traded at each price in the current session, per symbol: what the price ladder's
Volume column shows.

Counted from the ticks on the bus (O(1) a tick: one dict update), in whole ticks of the
instrument's grid so a price is never a float key. A symbol's count starts again with the
first tick of its next session (its exchange schedule; past the calendar's range, the
CME trading day's 17:00 New York roll). Counting starts when this object is made: the
stored history is bars, which say nothing about prices inside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workstation.bus import EventBus
from workstation.model import Instrument, Tick
from workstation.portfolio import next_day_roll
from workstation.sessions import SessionError, get_schedule


@dataclass(slots=True)
class _Book:
    ends: int  # the first nanosecond after its session
    volume: dict[int, float] = field(default_factory=dict)  # tick index -> size traded
    version: int = 0


class VolumeAtPrice:
    def __init__(self, bus: EventBus, instruments: dict[str, Instrument]) -> None:
        self._instruments = instruments
        self._books: dict[str, _Book] = {}
        bus.subscribe(Tick, self.on_tick, "VolumeAtPrice.on_tick")

    def on_tick(self, tick: Tick) -> None:
        book = self._books.get(tick.symbol)
        if book is None or tick.ts >= book.ends:
            inst = self._instruments.get(tick.symbol)
            if inst is None:
                return
            version = book.version + 1 if book is not None else 0
            book = self._books[tick.symbol] = _Book(self._session_end(inst, tick.ts),
                                                     version=version)
        key = round(tick.price / self._instruments[tick.symbol].tick_size)
        book.volume[key] = book.volume.get(key, 0.0) + tick.size
        book.version += 1

    @staticmethod
    def _session_end(inst: Instrument, ts: int) -> int:
        """The close of the session trading at ``ts`` (or the next to open)."""
        try:
            return get_schedule(inst.schedule).next_session(ts).close_ns
        except SessionError:
            return next_day_roll(ts)

    def at(self, symbol: str, index: int) -> float:
        """Size traded this session at tick ``index`` (the price over the tick size)."""
        book = self._books.get(symbol)
        return book.volume.get(index, 0.0) if book is not None else 0.0

    def version(self, symbol: str) -> int:
        """Changes with every tick counted (and with a new session): readers poll it."""
        book = self._books.get(symbol)
        return book.version if book is not None else -1

    def prices(self, symbol: str) -> dict[int, float]:
        """Every tick index traded this session and its size (a copy)."""
        book = self._books.get(symbol)
        return dict(book.volume) if book is not None else {}
