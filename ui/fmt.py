"""Number and time formatting shared by the trading tables, so every panel shows
a price with its instrument's decimals and money the same way."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt

from workstation.model import NS_PER_SECOND

DISPLAY_ZONE = ZoneInfo("America/New_York")
NONE = "—"
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def header_data(columns: tuple[str, ...], section: int, orientation: Qt.Orientation, role: int,
                *, left: Collection[str], tips: Mapping[str, str] | None = None) -> object:
    """A table's column header: the name, text columns (``left``) aligned left and numbers
    right, and the column's tip; nothing for row headers."""
    if orientation != Qt.Orientation.Horizontal:
        return None
    name = columns[section]
    if role == Qt.ItemDataRole.DisplayRole:
        return name
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return LEFT if name in left else RIGHT
    if role == Qt.ItemDataRole.ToolTipRole and tips:
        return tips.get(name)
    return None


def price(value: float | None, decimals: int) -> str:
    return NONE if value is None else f"{value:,.{decimals}f}"


def signed_price(value: float | None, decimals: int) -> str:
    return NONE if value is None else f"{value:+,.{decimals}f}"


def money(value: float) -> str:
    return f"{value:,.2f}"


def signed_money(value: float) -> str:
    return f"{value:+,.2f}"


def r_multiple(value: float | None) -> str:
    return NONE if value is None else f"{value:+.2f}"


def qty(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def local_time(ts: int, pattern: str = "%H:%M:%S") -> str:
    """Exchange (New York) time: the engine is UTC inside, local only at the edge."""
    moment = datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC).astimezone(DISPLAY_ZONE)
    return moment.strftime(pattern)


def duration(seconds: float) -> str:
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"-{text}" if seconds < 0 else text
