"""Columnar tick chunks: packing for the writer, unpacking and merging for reads."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

TS_DTYPE = np.dtype("<i8")
FLOAT_DTYPE = np.dtype("<f8")
SIDE_DTYPE = np.dtype("<i1")

ChunkRow = tuple[str, int, int, int, bytes, bytes, bytes, bytes]


@dataclass(slots=True)
class TickColumns:
    """One symbol's ticks as column lists: appending four values is cheaper than a row."""

    ts: list[int] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    side: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)


def pack(symbol: str, columns: TickColumns) -> ChunkRow:
    order = np.argsort(np.asarray(columns.ts, dtype=TS_DTYPE), kind="stable")
    ts = np.asarray(columns.ts, dtype=TS_DTYPE)[order]
    price = np.asarray(columns.price, dtype=FLOAT_DTYPE)[order]
    size = np.asarray(columns.size, dtype=FLOAT_DTYPE)[order]
    side = np.asarray(columns.side, dtype=SIDE_DTYPE)[order]
    return (symbol, int(ts[0]), int(ts[-1]), len(ts), ts.tobytes(), price.tobytes(),
            size.tobytes(), side.tobytes())


@dataclass(slots=True)
class Chunk:
    symbol: str
    start_ts: int
    ts: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray


def unpack(symbol: str, start_ts: int, ts: bytes, price: bytes, size: bytes,
           side: bytes) -> Chunk:
    return Chunk(symbol, start_ts, np.frombuffer(ts, TS_DTYPE), np.frombuffer(price, FLOAT_DTYPE),
                 np.frombuffer(size, FLOAT_DTYPE), np.frombuffer(side, SIDE_DTYPE))


TickRecord = tuple[str, int, float, float, int]


def merge_chunks(chunks: Iterable[Chunk], start_ns: int | None,
                 end_ns: int | None) -> Iterator[list[TickRecord]]:
    """Ticks of chunks given in ``start_ts`` order, merged into one time-ordered stream.

    Once a chunk starting at ``s`` is read, no later chunk holds a tick before
    ``s``: everything pending before ``s`` is final and can be emitted.
    """
    pending: list[tuple[int, int, TickRecord]] = []
    sequence = 0
    for chunk in chunks:
        ready = _pop_before(pending, chunk.start_ts)
        if ready:
            yield ready
        mask = np.ones(len(chunk.ts), dtype=bool)
        if start_ns is not None:
            mask &= chunk.ts >= start_ns
        if end_ns is not None:
            mask &= chunk.ts < end_ns
        rows = zip(chunk.ts[mask].tolist(), chunk.price[mask].tolist(),
                   chunk.size[mask].tolist(), chunk.side[mask].tolist(), strict=True)
        for ts, price, size, side in rows:
            heapq.heappush(pending, (ts, sequence, (chunk.symbol, ts, price, size, side)))
            sequence += 1
    rest = _pop_before(pending, None)
    if rest:
        yield rest


def _pop_before(pending: list[tuple[int, int, TickRecord]], limit: int | None) -> list[TickRecord]:
    out = []
    while pending and (limit is None or pending[0][0] < limit):
        out.append(heapq.heappop(pending)[2])
    return out
