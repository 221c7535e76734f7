"""A new strategy plugin from a template: a small, commented, ready-to-run file.

``new_strategy_file(folder, "My breakout")`` writes ``my_breakout.py`` with a class
``MyBreakout`` whose ``name`` is "My breakout": a moving-average trend follower with
parameters, a warm-up, a protective stop and state that survives restarts, meant to be
edited. It never overwrites a file.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

# names the generated file imports: a class of the same name would hide them
_IMPORTED = frozenset({"Bar", "Param", "SMA", "Strategy"})
_WORDS = re.compile(r"[^\W_]+")
MAX_NAME = 60

_TEMPLATE = '''\
"""{name}: a strategy plugin made from Bracket's template.

Edit and save: Bracket reloads this file within about a second and restarts the running
instances of it with their state. A mistake (a syntax error, an exception) is shown in the
Strategies panel's plugin errors with the file and line; the previous version keeps running.

The strategy below is a plain trend follower: long while the close is above a moving
average, flat below it, with a protective stop on every entry. Replace the logic in
on_bar with your own.
"""

from __future__ import annotations

from workstation.indicators import SMA
from workstation.strategy import Bar, Param, Strategy


class {cls}(Strategy):
    name = {name!r}  # unique: what the Strategies panel lists
    version = "0.1"  # shown beside the name; raise it when the logic changes
    description = "Long above a moving average, flat below it (edit me)."
    symbols = ("NQ",)  # the default instruments; each instance chooses its own
    timeframes = ("1m",)
    warmup = 50  # closed bars per series replayed through on_bar before going live

    # Parameters: the Strategies panel builds its form from these (bounds and step), and
    # each instance has its own values. Read them as attributes: self.length.
    length = Param(20, min=2, max=200, step=1, doc="moving average length, in bars")
    qty = Param(1, min=1, max=10, step=1, doc="contracts (or shares) per entry")
    stop_points = Param(10.0, min=0.25, max=500.0, step=0.25,
                        doc="protective stop distance below the entry, in points")

    def on_start(self) -> None:
        """Runs at every start (also after a reload or a parameter change): set up here."""
        self.averages = {{(symbol, timeframe): SMA(self.length)
                          for symbol in self.symbols for timeframe in self.timeframes}}
        # self.state holds JSON values kept in the database across restarts
        self.state.setdefault("entries", 0)

    def on_bar(self, bar: Bar) -> None:
        """A closed bar of one of this instance's series."""
        average = self.averages.get((bar.symbol, bar.timeframe))
        if average is None:
            return
        average.update(bar)
        if not average.ready or self.warming_up:  # orders are not sent while warming up
            return
        held = self.position(bar.symbol)
        if bar.close > average.value and held <= 0:
            # goes through the instance's limits and the risk gate; None if refused
            order = self.buy(bar.symbol, self.qty, stop_loss=bar.close - self.stop_points)
            if order is not None:
                self.state["entries"] += 1
                self.log.info("long %s above SMA(%d) %.2f", bar.symbol, self.length,
                              average.value)
        elif bar.close < average.value and held > 0:
            self.flatten(bar.symbol)  # cancels its working orders and closes the position

    def on_stop(self) -> None:
        """The instance is stopping (by you, a reload or shutdown)."""
        self.log.info("stopped after %d entries", self.state["entries"])
'''


def class_name(strategy_name: str) -> str:
    """"My breakout" -> "MyBreakout": the words of the name, each capitalized."""
    words = _WORDS.findall(strategy_name)
    cls = "".join(word[:1].upper() + word[1:] for word in words)
    if not cls:
        raise ValueError(f"strategy name {strategy_name.strip()!r}: use letters and digits, "
                         "e.g. My breakout")
    if not cls.isidentifier() or keyword.iskeyword(cls):
        raise ValueError(f"strategy name {strategy_name.strip()!r}: start it with a letter, "
                         "e.g. My breakout")
    if cls in _IMPORTED:
        raise ValueError(f"strategy name {strategy_name.strip()!r} would make a class named "
                         f"{cls}, which the template itself uses: choose another name")
    return cls


def file_name(strategy_name: str) -> str:
    """"My breakout" -> "my_breakout.py"; camel case splits too ("SMACross" -> sma_cross)."""
    parts = []
    for word in _WORDS.findall(strategy_name):
        word = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", word)
        parts.append(re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", word).lower())
    return "_".join(parts) + ".py"


def new_strategy_file(folder: Path, strategy_name: str) -> Path:
    """Write a ready-to-run strategy named ``strategy_name`` into ``folder`` (created if
    needed) and return its path. FileExistsError if that file exists, ValueError for a
    name that makes no class."""
    name = " ".join(strategy_name.split())
    if not name:
        raise ValueError("the strategy needs a name, e.g. My breakout")
    if len(name) > MAX_NAME:
        raise ValueError(f"strategy name is {len(name)} characters long; keep it to "
                         f"{MAX_NAME}")
    cls = class_name(name)
    path = folder / file_name(name)
    source = _TEMPLATE.format(name=name, cls=cls)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as out:  # "x": never overwrite
            out.write(source)
    except FileExistsError:
        raise FileExistsError(f"{path} already exists: choose another name, or open and edit "
                              "that file") from None
    return path
