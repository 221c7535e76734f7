"""Price alerts on the chart: set from the context menu at the clicked price (on the tick),
drawn as an orange line on their symbol's chart, removed from the menu on their line or
from the list, checked against the last trade once a frame; one that fires beeps, shows a
desktop notification and a status note, once, and is gone. The book is saved to the
window's settings file at every change."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMenu

from ui import theme
from ui.alerts import Alerts
from ui.panels.chart import ChartPanel
from ui.price_alerts import AlertBook, PriceAlert
from workstation.model import Instrument

SETTINGS_KEY = "alerts/price"
LABEL_AT = 0.5  # across the plot: clear of the position's and the orders' labels

Notify = Callable[[str, bool], None]


class ChartAlerts:
    def __init__(self, chart: ChartPanel, settings: QSettings,
                 instruments: dict[str, Instrument], last: Callable[[str], float],
                 alerts: Alerts, notify: Notify) -> None:
        self.chart = chart
        self._settings = settings
        self._instruments = instruments
        self._last = last
        self._alerts = alerts
        self._notify = notify
        self.book, problems = AlertBook.load(str(settings.value(SETTINGS_KEY, "")),
                                             instruments)
        self.problems = problems  # said once the window can say it
        self.lines: dict[PriceAlert, pg.InfiniteLine] = {}
        chart.menu_providers.append(self.add_menu_actions)
        chart.series_shown.connect(self.redraw)

    def describe(self, alert: PriceAlert) -> str:
        return alert.describe(self._instruments[alert.symbol].price_decimals)

    def add(self, price: float, symbol: str = "") -> PriceAlert:
        """An alert at ``price`` (on the tick) on ``symbol``, the chart's by default (the
        watchlist names another)."""
        symbol = symbol or self.chart.symbol
        last = self.last(symbol) or (self.chart.last_price if symbol == self.chart.symbol
                                     else None)
        alert = self.book.add(symbol, self._instruments[symbol].round_price(price), last)
        self._changed()
        self._notify(f"Price alert set: {self.describe(alert)}", False)
        return alert

    def last(self, symbol: str) -> float | None:
        """The symbol's last trade; None before the first."""
        last = self._last(symbol)
        return last if last and last > 0 else None

    def remove(self, alert: PriceAlert) -> None:
        if self.book.remove(alert):
            self._changed()
            self._notify(f"Price alert removed: {self.describe(alert)}", False)

    def check(self) -> list[PriceAlert]:
        """Once a frame: alerts the last trades reached fire, once."""
        fired = []
        for symbol in self.book.symbols():
            fired += self.book.check(symbol, self._last(symbol))
        if fired:
            for alert in fired:
                text = f"{self.describe(alert)} reached"
                QApplication.beep()
                self._alerts.alert("Bracket: price alert", text, critical=False)
                self._notify(f"Price alert: {text}", False)
            self._changed()
        return fired

    def _changed(self) -> None:
        self._settings.setValue(SETTINGS_KEY, self.book.dump())
        self._settings.sync()
        self.redraw()

    def redraw(self) -> None:
        shown = set(self.book.of(self.chart.symbol))
        for alert in [a for a in self.lines if a not in shown]:
            self.chart.price_plot.removeItem(self.lines.pop(alert))
        for alert in shown - set(self.lines):
            line = pg.InfiniteLine(
                pos=alert.price, angle=0, movable=False,
                pen=pg.mkPen(theme.ORANGE, style=Qt.PenStyle.DotLine, width=1),
                label=f"ALERT {self.describe(alert)}",
                labelOpts={"position": LABEL_AT, "anchors": [(0.5, 1), (0.5, 1)],
                           "color": theme.ORANGE, "fill": theme.PANEL})
            line.setZValue(8)
            self.chart.price_plot.addItem(line, ignoreBounds=True)
            self.lines[alert] = line

    def add_menu_actions(self, menu: QMenu, price: float, reach: float) -> None:
        d = self._instruments[self.chart.symbol].price_decimals
        near = [a for a in self.book.of(self.chart.symbol) if abs(a.price - price) <= reach]
        menu.addSeparator()
        action = menu.addAction(f"Alert at {price:,.{d}f}")
        action.setObjectName("chart_alert")
        action.triggered.connect(lambda _=False, p=price: self.add(p))
        for alert in near:
            remove = menu.addAction(f"Remove alert {self.describe(alert)}")
            remove.setObjectName("chart_remove_alert")
            remove.triggered.connect(lambda _=False, a=alert: self.remove(a))
