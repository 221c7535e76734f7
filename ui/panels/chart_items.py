"""The chart's items: candles and volume, drawn in chunks of bars cached as pictures, and
the price axis with its tags.

A week of 1-minute bars is thousands of candles; a new bar redraws only the last chunk,
and a paint plays only the chunks in view, so a chart with days of history costs about
what one with a hundred bars does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPicture

from ui import theme

BODY_WIDTH = 0.7
CHUNK = 128  # bars per cached picture


class ChunkedBarsItem(pg.GraphicsObject):
    """Bars at x = 0, 1, 2 ... from parallel arrays; subclasses draw one chunk."""

    def __init__(self) -> None:
        super().__init__()
        self._columns: dict[str, np.ndarray] = {}
        self._pictures: dict[int, QPicture] = {}
        self._bounds = QRectF()

    def set_data(self, x: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray,
                 c: np.ndarray, v: np.ndarray | None = None) -> None:
        """Everything anew (another series)."""
        self._columns = {"x": x, "o": o, "h": h, "l": low, "c": c,
                         "v": v if v is not None else np.zeros(len(x))}
        self._pictures.clear()
        self._changed()

    def append(self, x: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray,
               c: np.ndarray, v: np.ndarray | None = None) -> None:
        """Bars added at the end: only the last chunk is drawn again."""
        old = len(self)
        added = {"x": x, "o": o, "h": h, "l": low, "c": c,
                 "v": v if v is not None else np.zeros(len(x))}
        self._columns = {k: np.concatenate((self._columns.get(k, np.zeros(0)), added[k]))
                         for k in added}
        for chunk in range(old // CHUNK, len(self) // CHUNK + 1):
            self._pictures.pop(chunk, None)
        self._changed()

    def __len__(self) -> int:
        return len(self._columns.get("x", ()))

    def _changed(self) -> None:
        self.prepareGeometryChange()
        self._bounds = self._measure()
        self.update()

    def _measure(self) -> QRectF:
        raise NotImplementedError

    def _draw(self, painter: QPainter, first: int, last: int) -> None:
        raise NotImplementedError

    def _picture(self, chunk: int) -> QPicture:
        picture = self._pictures.get(chunk)
        if picture is None:
            picture = QPicture()
            painter = QPainter(picture)
            self._draw(painter, chunk * CHUNK, min((chunk + 1) * CHUNK, len(self)))
            painter.end()
            self._pictures[chunk] = picture
        return picture

    def paint(self, painter: QPainter, *_: object) -> None:
        if not len(self):
            return
        view = self.viewRect()  # what is in view, in bar positions
        if view is None or not view.isValid():
            first, last = 0, len(self) - 1
        else:
            first = max(0, int(np.floor(view.left())) - 1)
            last = min(len(self) - 1, int(np.ceil(view.right())) + 1)
        for chunk in range(first // CHUNK, last // CHUNK + 1):
            self._picture(chunk).play(painter)

    def boundingRect(self) -> QRectF:
        return self._bounds


class CandlestickItem(ChunkedBarsItem):
    """Candles: a wick from low to high and a body from open to close, green up, red down."""

    def _measure(self) -> QRectF:
        a = self._columns
        if not len(self):
            return QRectF()
        x, low, high = a["x"], a["l"], a["h"]
        return QRectF(float(x.min()) - 1, float(low.min()), float(x.max() - x.min()) + 2,
                      float(high.max() - low.min()))

    def _draw(self, painter: QPainter, first: int, last: int) -> None:
        a = self._columns
        half = BODY_WIDTH / 2
        x, o, h, low, c = (a[k][first:last] for k in ("x", "o", "h", "l", "c"))
        for color, mask in ((theme.UP, c >= o), (theme.DOWN, c < o)):
            pen = QPen(color)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(color)
            for xi, oi, hi, li, ci in zip(x[mask], o[mask], h[mask], low[mask], c[mask],
                                          strict=True):
                painter.drawLine(QPointF(xi, li), QPointF(xi, hi))
                top, bottom = max(oi, ci), min(oi, ci)
                painter.drawRect(QRectF(xi - half, bottom, BODY_WIDTH, max(top - bottom, 1e-9)))


class VolumeItem(ChunkedBarsItem):
    """Volume bars, darker green or red as their candle."""

    def _measure(self) -> QRectF:
        a = self._columns
        if not len(self):
            return QRectF()
        x = a["x"]
        return QRectF(float(x.min()) - 1, 0.0, float(x.max() - x.min()) + 2,
                      float(a["v"].max()) or 1.0)

    def _draw(self, painter: QPainter, first: int, last: int) -> None:
        a = self._columns
        half = BODY_WIDTH / 2
        x, o, c, v = (a[k][first:last] for k in ("x", "o", "c", "v"))
        painter.setPen(pg.mkPen(None))
        for color, mask in ((QColor(theme.UP).darker(160), c >= o),
                            (QColor(theme.DOWN).darker(160), c < o)):
            painter.setBrush(color)
            for xi, vi in zip(x[mask], v[mask], strict=True):
                painter.drawRect(QRectF(xi - half, 0.0, BODY_WIDTH, vi))


TOP_TAG = "last"  # drawn over the others where tags overlap


@dataclass(slots=True)
class Tag:
    value: float
    text: str
    fg: QColor
    bg: QColor


class PriceAxis(pg.AxisItem):
    """The right price axis, with tags: a price's label drawn on the axis at its height
    (the last price, orders), never over the candles."""

    def __init__(self) -> None:
        super().__init__(orientation="right")
        self.tags: dict[str, Tag] = {}

    def set_tag(self, key: str, value: float, text: str, fg: QColor, bg: QColor) -> None:
        tag = self.tags.get(key)
        if tag is not None and (tag.value, tag.text, tag.fg, tag.bg) == (value, text, fg, bg):
            return
        self.tags[key] = Tag(value, text, fg, bg)
        self.update()

    def clear_tag(self, key: str) -> None:
        if self.tags.pop(key, None) is not None:
            self.update()

    def tag_rect(self, key: str) -> QRectF | None:
        """Where a tag is drawn, in this axis's coordinates (None: not in view)."""
        tag = self.tags.get(key)
        view = self.linkedView()
        if tag is None or view is None:
            return None
        y = self.mapFromScene(view.mapViewToScene(QPointF(0.0, tag.value))).y()
        size = self.geometry().size()
        if not 0.0 <= y <= size.height():
            return None
        height = QFontMetrics(self._font()).height() + 4
        return QRectF(1.0, y - height / 2, size.width() - 1.0, height)

    def _font(self) -> QFont:
        return self.style["tickFont"] or QFont()

    def paint(self, painter: QPainter, *args: object) -> None:
        super().paint(painter, *args)
        painter.setFont(self._font())
        on_top = sorted(self.tags.items(), key=lambda item: item[0] == TOP_TAG)
        for key, tag in on_top:
            rect = self.tag_rect(key)
            if rect is None:
                continue
            painter.fillRect(rect, tag.bg)
            painter.setPen(tag.fg)
            painter.drawText(rect.adjusted(4.0, 0.0, 0.0, 0.0),
                             int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                             tag.text)
