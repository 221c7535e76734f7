"""What a strategy plugin draws with ``self.plot(...)``: points on the chart of the symbol
it trades. Nothing listens in a backtest, an optimization or a headless run: ``Plots.sink``
is None there and a plot() call costs two attribute reads. The GUI sets a sink that
collects the points and draws them once a frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PRICE_PANE = "price"


@dataclass(frozen=True, slots=True)
class PlotPoint:
    """One value of one plotted line, at one bar of one series."""

    instance_id: str
    symbol: str
    timeframe: str
    ts: int  # the bar's open time (UTC ns)
    name: str  # the line's name, unique within the instance
    value: float  # nan leaves a gap
    pane: str = PRICE_PANE  # "price", or the name of a pane of its own below the price
    color: str = ""  # a colour name ("#4fc3f7", "orange"); "" picks one per line


class Plots:
    """Where the engine's plot points go: ``sink`` is None until a chart listens."""

    __slots__ = ("sink",)

    def __init__(self) -> None:
        self.sink: Callable[[PlotPoint], None] | None = None
