"""The building blocks of every settings model: strict, frozen, finite, storable.

A settings file is typed by a person, so ``seed = true`` or ``store_ticks = "yes"``
is a mistake to report, never a value to coerce; ``inf`` and ``nan`` would end up
in reports and orders; text must always be storable in SQLite. Every settings
model derives from ``Strict``; containers that TOML or JSON can only give as lists
(tuples), enums given by value and clock times given as text say so with ``lax``.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from workstation.bars import Timeframe
from workstation.text import UnstorableText, check_storable

MAX_MONEY = 1e12  # a trillion: more than any account or limit; beyond it a value is a typo
MAX_QTY = 1e9  # contracts, shares or coins in one order or position
MAX_TIME_BAR_S = 86_400  # the longest time bar (a day); 1d session bars are separate
MAX_COUNT_BAR = 10_000_000  # ticks or volume per bar


class Strict(BaseModel):
    """No coercion (``true`` is not 1, ``"yes"`` is not true), no unknown keys, no
    infinities or NaN, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def lax() -> Any:
    """Field marker for values that arrive as lists (tuples), by value (enums) or as text
    (clock times): the container is converted, its items stay strict."""
    return Field(strict=False)


def storable_text(value: str) -> str:
    """Text a store or a log can always hold (no lone surrogates, no control characters)."""
    try:
        return check_storable("text", value)
    except UnstorableText as exc:
        raise ValueError(str(exc).removeprefix("text: ")) from None


def _clock_input(value: object) -> object:
    """A clock time is a TOML time (``08:30:00``) or text (``"08:30"``); a number is not."""
    if not isinstance(value, time | str):
        raise ValueError(f"{value!r} is not a time of day; write it as \"08:30\"")
    return value


def timeframe_label(value: str, *, time_only: bool = False) -> str:
    """A timeframe's canonical label, refusing absurd sizes with a clear message."""
    if len(value) > 24:
        raise ValueError(f"timeframe {value[:24]!r}...: too long; e.g. 5s, 1m, 1h, 1d")
    timeframe = Timeframe.parse(value)
    if time_only and timeframe.kind != "time":
        raise ValueError(f"{value}: confirmation needs time bars (e.g. 1m)")
    if timeframe.kind == "time" and timeframe.size > MAX_TIME_BAR_S:
        raise ValueError(f"timeframe {value!r} is longer than a day; use at most 24h or 1d")
    if timeframe.kind in ("tick", "volume") and timeframe.size > MAX_COUNT_BAR:
        raise ValueError(f"timeframe {value!r}: at most {MAX_COUNT_BAR:,} per bar")
    return timeframe.label


Text = Annotated[str, AfterValidator(storable_text)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(storable_text)]
ClockTime = Annotated[time, BeforeValidator(_clock_input), Field(strict=False)]
Seed = Annotated[int, Field(ge=0, lt=2**63)]
Money = Annotated[float, Field(gt=0, le=MAX_MONEY)]
Quantity = Annotated[float, Field(gt=0, le=MAX_QTY)]
