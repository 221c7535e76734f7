"""One look and feel for the trading tables: row selection, no grid, compact rows,
and columns sized once from sample values (ResizeToContents would follow every
live update and cost a layout pass per frame)."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui import theme
from workstation.model import Instrument

ROW_HEIGHT = 22
PADDING = 12


def make_table(model: QAbstractItemModel, name: str, parent: QWidget | None = None
               ) -> QTableView:
    table = QTableView(parent)
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    return table


def fit_columns(table: QTableView, samples: Sequence[str], mono: Container[int] = ()
                ) -> int:
    """Size each column for its widest sample value (in the monospace font for the
    ``mono`` columns) or its header, whichever is wider; returns the total width."""
    model = table.model()
    table.ensurePolished()  # the style sheet's font, not the default one
    table.horizontalHeader().ensurePolished()
    fixed = QFontMetrics(theme.MONO)
    plain = QFontMetrics(table.font())
    header = QFontMetrics(table.horizontalHeader().font())
    total = 0
    for column, sample in enumerate(samples):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        value = (fixed if column in mono else plain).horizontalAdvance(sample)
        width = max(value, header.horizontalAdvance(title)) + PADDING
        table.horizontalHeader().resizeSection(column, width)
        total += width
    return total


def show_rows(table: QTableView, rows: int) -> int:
    """Keep ``table`` tall enough for its header, ``rows`` rows and a horizontal scrollbar,
    so no layout can squeeze it to nothing; returns that minimum height."""
    table.ensurePolished()
    header = table.horizontalHeader().sizeHint().height()
    rows_height = rows * table.verticalHeader().defaultSectionSize()
    scrollbar = table.horizontalScrollBar().sizeHint().height()
    height = header + rows_height + scrollbar + 2 * table.frameWidth()
    table.setMinimumHeight(height)
    return height


def price_sample(instruments: dict[str, Instrument], reference: Callable[[str], float]) -> str:
    """The widest price any instrument is likely to show (5% above its reference)."""
    widest = "99,999.99"
    for inst in instruments.values():
        text = f"{max(reference(inst.symbol), 1.0) * 1.05:,.{inst.price_decimals}f}"
        if len(text) > len(widest):
            widest = text
    return widest
