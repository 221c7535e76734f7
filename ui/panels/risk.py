"""Risk dock: the kill switch (big, colored, with its button and reset), the day's
risk numbers, every measured rule with a bar colored by its level, and the
compliance history; plus the status bar's risk indicator.

Rules, numbers and the switch's state are pulled once a frame from the engine's
RiskMonitor and KillSwitch, and only while every fill is committed (as the
Account panel does, invariant 4); the history shows only journal-committed
events. The panel holds no risk logic: levels come from the monitor (with its
hysteresis), commands go through the registry's actions.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QAction, QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import fmt, theme
from ui.models.risk_model import (
    LEVEL_COLORS,
    LEVEL_PILLS,
    LEVEL_ROLE,
    USED,
    USED_ROLE,
    RiskHistoryModel,
    RiskRulesModel,
)
from ui.panels.tables import fit_columns, make_table, show_rows
from ui.panels.widgets import action_button, figure
from workstation.model import NS_PER_SECOND
from workstation.risk.kill_switch import KillSwitch
from workstation.risk.monitor import RiskMonitor
from workstation.risk.rules import Level, RuleStatus

PROP_NOTE = "Prop-firm numbers: check your firm's current rules"
PROP_TIP = ("Prop-firm numbers here are presets of common evaluation styles (FTMO-style, "
            "Topstep-style, intraday trailing) for your account size. Firms change their "
            "rules: check each limit against your firm's current rules before relying on it.")
NO_RULES = ("No measured limits set: choose a prop-firm preset or your own limits in "
            "Risk settings… (the Risk menu, or the button above)")
PENDING = "Saved: restart Bracket to apply"
# (key, caption, tooltip): short captions beside their values, so the dock stays compact
SUMMARY = (
    ("day_pnl", "Today", "Today's P&L: equity change since the 17:00 New York day roll"),
    ("drawdown", "Drawdown", "Drawdown from the high-water mark: how far equity is below "
                             "its highest value"),
    ("deployed", "Exposure", "Capital deployed: futures margin plus the market value of "
                             "other positions (% of equity)"),
    ("positions", "Positions", "Open positions, and futures contracts held"),
    ("streak", "Losses", "Consecutive losing trades; after the configured streak no new "
                         "entries until the cooldown ends (time left shown)"),
    ("threshold", "Trailing", "Prop-firm trailing threshold: equity at or below it breaks "
                              "the trailing drawdown rule"),
)
COLUMNS = 3
RULE_WIDTH = 190  # at most, for the rule's label
RULE_ROWS = 4  # the rules table never shows fewer (the default limits are four)
VALUE_FONT = QFont(theme.MONO)
VALUE_FONT.setPointSize(10)
STATE_FONT = QFont()
STATE_FONT.setPointSize(13)
STATE_FONT.setBold(True)


def worst(statuses: list[RuleStatus], level_of: Callable[[str], Level]
          ) -> tuple[Level, RuleStatus | None]:
    """The rule at the worst level (the fullest one among equals), for the indicator."""
    if not statuses:
        return Level.SAFE, None
    status = max(statuses, key=lambda s: (level_of(s.rule), s.used_pct))
    return level_of(status.rule), status


def locked_note(status: RuleStatus, holding: bool) -> tuple[str, str]:
    """Why entries are blocked while the kill switch is off, and what still runs: a short
    line for the dock and the whole story for its tooltip."""
    short = f"{status.label} locked ({status.used_pct:.0f}%): new entries blocked"
    full = f"{status.label} is at {status.used_pct:.0f}% of its limit: new entries are blocked."
    if status.hard and status.breached:
        return (f"{short}; the kill switch turns on at the next price",
                f"{full} It is a hard limit: the kill switch turns on at the next price.")
    if not holding:
        return short, full
    return (f"{short}; open positions keep running",
            f"{full} Open positions keep running: this limit does not close them (only a "
            "hard limit fires the kill switch). Close them, or turn the kill switch on.")


class LevelBarDelegate(QStyledItemDelegate):
    """A progress bar filled to the share of the limit used, in the level's color; the
    text is dark over the fill and light over the empty track, so it reads on both."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        level = index.data(LEVEL_ROLE)
        used = index.data(USED_ROLE)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is None or not isinstance(level, Level) or not isinstance(used, float):
            super().paint(painter, option, index)
            return
        opt.text = ""
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)
        bar = opt.rect.adjusted(4, 3, -4, -3)
        filled = QRect(bar)
        filled.setWidth(round(bar.width() * min(max(used, 0.0), 100.0) / 100.0))
        text = str(index.data(Qt.ItemDataRole.DisplayRole))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.GRID)
        painter.drawRoundedRect(bar, 3, 3)
        painter.setBrush(LEVEL_COLORS[level])
        painter.setClipRect(filled)
        painter.drawRoundedRect(bar, 3, 3)
        font = QFont(theme.MONO)
        font.setBold(True)
        painter.setFont(font)
        text_rect = bar.adjusted(6, 0, -4, 0)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setPen(theme.ON_BRIGHT)
        painter.drawText(text_rect, align, text)
        painter.setClipRect(bar.adjusted(filled.width(), 0, 0, 0))
        painter.setPen(theme.NEUTRAL)
        painter.drawText(text_rect, align, text)
        painter.restore()


class RiskIndicator(QToolButton):
    """The status bar's risk pill: the worst rule's level, or KILL SWITCH ON; a click
    opens the Risk dock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskIndicator")
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._shown: tuple[str, str] | None = None
        self.show_state(Level.SAFE, None, False, {})

    def show_state(self, level: Level, status: RuleStatus | None, kill: bool,
                   paused: dict[str, str]) -> None:
        if kill:
            text, back, fore = "KILL SWITCH ON", theme.KILL_BG, theme.DANGER_TEXT
        else:
            back, fore = LEVEL_PILLS[level]
            text = "RISK safe" if status is None or level is Level.SAFE else (
                f"RISK {level.label} {status.used_pct:.0f}% {status.label.lower()}")
            if paused:
                text += f" · {len(paused)} paused"
        style = (f"QToolButton#riskIndicator {{ background-color: {back.name()}; "
                 f"color: {fore.name()}; border: none; border-radius: 3px; "
                 f"padding: 1px 8px; min-height: 0; font-weight: bold; }}")
        if (text, style) == self._shown:
            return
        self._shown = (text, style)
        self.setText(text)
        self.setStyleSheet(style)
        lines = [text + (" — new entries blocked" if kill or level is Level.LOCKED else "")]
        lines += [f"{name} paused: {why}" for name, why in paused.items()]
        lines.append("Click to open the Risk panel")
        self.setToolTip("\n".join(lines))


class RiskPanel(QWidget):
    """Kill switch on top, the day's numbers, the rules, the compliance history."""

    def __init__(self, risk: RiskMonitor, kill_switch: KillSwitch, now_ns: Callable[[], int],
                 settled: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._risk = risk
        self._kill = kill_switch
        self._now_ns = now_ns
        self._settled = settled
        self._shown: tuple[object, ...] | None = None
        self._kill_shown: tuple[object, ...] | None = None
        labels = {rule.name: rule.label for rule in risk.rules}
        units = {rule.name: rule.unit for rule in risk.rules}

        self.kill_state = QLabel(self)
        self.kill_state.setObjectName("killState")
        self.kill_state.setFont(STATE_FONT)
        self.kill_detail = QLabel(self)
        self.kill_detail.setObjectName("killDetail")
        self.kill_detail.setWordWrap(True)
        self.kill_detail.setContentsMargins(8, 0, 8, 0)
        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(6, 4, 6, 0)
        self.toolbar.setSpacing(6)
        self.toolbar.addWidget(self.kill_state)
        self.toolbar.addStretch(1)

        grid = QGridLayout()
        grid.setContentsMargins(8, 0, 8, 2)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        self.values: dict[str, QLabel] = {}
        self._titles: dict[str, QLabel] = {}
        for number, (key, caption, tip) in enumerate(SUMMARY):
            row, column = divmod(number, COLUMNS)
            title, value = figure(self, f"risk_{key}", caption, tip, VALUE_FONT)
            grid.addWidget(title, row, column * 2)
            grid.addWidget(value, row, column * 2 + 1)
            self.values[key] = value
            self._titles[key] = title
        for column in range(COLUMNS):
            grid.setColumnStretch(column * 2 + 1, 1)

        self.rules_model = RiskRulesModel()
        self.rules_table = make_table(self.rules_model, "riskRulesTable", self)
        self._bar = LevelBarDelegate(self.rules_table)
        self.rules_table.setItemDelegateForColumn(USED, self._bar)
        # the configured rules' longest label, capped: a longer one elides (its tooltip
        # says it in full) so the buffer keeps room for "2 contracts" in the default dock
        label = max((rule.label for rule in risk.rules), key=len, default="Daily loss")
        fit_columns(self.rules_table, [label, "9,999.99", "9,999.99", "100% locked",
                                       "9,999.99"], mono={1, 2, 3, 4})
        header = self.rules_table.horizontalHeader()
        header.resizeSection(0, min(header.sectionSize(0), RULE_WIDTH))
        show_rows(self.rules_table, RULE_ROWS)
        self.history_model = RiskHistoryModel(units, labels)
        self.history_table = make_table(self.history_model, "riskHistoryTable", self)
        # a long reason elides (its tooltip has it all); the columns can be dragged wider
        fit_columns(self.history_table, ["00:00:00", "kill switch", "Drawdown from high",
                                         "ON: turned on by the user", "947.50 / 1,000.00 (95%)"],
                    mono={0, 4})

        self.empty_note = QLabel(NO_RULES, self)
        self.empty_note.setObjectName("riskNoRules")
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet(f"color: {theme.MUTED.name()}; padding: 4px")
        rules_box = QWidget(self)
        rules_layout = QVBoxLayout(rules_box)
        rules_layout.setContentsMargins(0, 0, 0, 0)
        rules_layout.setSpacing(0)
        rules_layout.addWidget(self.empty_note)
        rules_layout.addWidget(self.rules_table, 1)
        rules_layout.addStretch(0)
        # the two tables share the dock's height as tabs: it is small in the default layout
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("riskTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(rules_box, "Rules")  # no mnemonics: Alt+R and Alt+H open menus
        self.tabs.addTab(self.history_table, "History")
        self.tabs.setTabToolTip(1, "Compliance history: level changes, kill-switch changes and "
                                   "blocked orders, as stored")
        self.note = QLabel(PROP_NOTE, self)
        self.note.setObjectName("propNote")
        self.note.setToolTip(PROP_TIP)
        self.note.setStyleSheet(f"color: {theme.WARN.name()}; font-size: 8pt; padding: 0 6px")
        self.tabs.setCornerWidget(self.note, Qt.Corner.TopRightCorner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(self.toolbar)
        layout.addWidget(self.kill_detail)
        layout.addLayout(grid)
        layout.addWidget(self.tabs, 1)
        self._show_kill()

    def show_pending_restart(self) -> None:
        """Saved settings wait for a restart: say so where the rules are."""
        self.note.setText(PENDING)
        self.note.setToolTip("The rules shown are the ones in force until Bracket restarts")
        self.note.show()

    def add_action_button(self, action: QAction) -> QToolButton:
        return action_button(self, self.toolbar, action)

    def apply(self, events: list[object]) -> None:
        """Committed events: the risk ones join the compliance history."""
        if self.history_model.apply(events):
            self.tabs.setTabText(1, f"History ({self.history_model.rowCount()})")

    def refresh(self) -> bool:
        """Once a frame; False (nothing shown changes) while a fill awaits its commit."""
        if not self._settled():
            return False
        risk = self._risk
        statuses = risk.statuses
        self.rules_model.refresh(statuses, {s.rule: risk.level_of(s.rule) for s in statuses})
        self._show_kill()
        now = self._now_ns()
        cooldown = max(0, risk.cooldown_until - now)
        shown = (risk.day_pnl, risk.drawdown, risk.high_water, risk.deployed, risk.equity,
                 risk.open_positions, risk.contracts, risk.consecutive_losses,
                 cooldown // NS_PER_SECOND, risk.trailing_threshold, len(statuses))
        if shown == self._shown:
            return True
        self._shown = shown
        self._set("day_pnl", fmt.signed_money(risk.day_pnl),
                  theme.direction_color(risk.day_pnl))
        self._set("drawdown", fmt.money(risk.drawdown),
                  theme.DOWN if risk.drawdown > 0.005 else theme.NEUTRAL)
        self.values["drawdown"].setToolTip(f"High-water mark {fmt.money(risk.high_water)}, "
                                           f"equity {fmt.money(risk.equity)}")
        share = 100.0 * risk.deployed / risk.equity if risk.equity > 0 else 0.0
        self._set("deployed", f"{fmt.money(risk.deployed)} ({share:.0f}%)", theme.NEUTRAL)
        contracts = (f" · {risk.contracts:g} contract{'s' if risk.contracts != 1 else ''}"
                     if risk.contracts else "")
        self._set("positions", f"{risk.open_positions}{contracts}", theme.NEUTRAL)
        streak = str(risk.consecutive_losses)
        if cooldown:
            streak += f" · cooldown {fmt.duration(cooldown / NS_PER_SECOND)}"
        self._set("streak", streak, theme.WARN if cooldown else theme.NEUTRAL)
        threshold = risk.trailing_threshold
        for widget in (self.values["threshold"], self._titles["threshold"]):
            widget.setVisible(threshold is not None)
        if threshold is not None:
            self._set("threshold", fmt.money(threshold), theme.NEUTRAL)
        self.tabs.setTabText(0, f"Rules ({len(statuses)})" if statuses else "Rules")
        self.empty_note.setVisible(not statuses)
        self.rules_table.setVisible(bool(statuses))
        return True

    def _set(self, key: str, text: str, color: QColor) -> None:
        self.values[key].setText(f"<span style='color:{color.name()}'>{text}</span>")

    def _show_kill(self) -> None:
        kill, risk = self._kill, self._risk
        locked = None if kill.active else self._locked_rule()
        state = (kill.active, kill.reason, kill.since, kill.automatic, kill.flattened,
                 tuple(kill.paused), locked, risk.open_positions > 0)
        if state == self._kill_shown:
            return
        self._kill_shown = state
        pill = "border-radius: 4px; padding: 3px 10px"
        tip = ""
        if kill.active:
            self.kill_state.setText("KILL SWITCH ON")
            self.kill_state.setStyleSheet(
                f"background-color: {theme.KILL_BG.name()}; color: #ffffff; {pill}")
            how = "automatic" if kill.automatic else "manual"
            closed = " Every position was closed at market." if kill.flattened else ""
            self.kill_detail.setText(f"On since {fmt.local_time(kill.since)} ET ({how}): "
                                     f"{kill.reason}.{closed} Only orders that reduce a "
                                     "position pass.")
            self.kill_detail.setStyleSheet(f"color: {theme.DANGER_TEXT.name()}")
        elif locked is not None:
            # a locked rule beside a green switch read as "all is well": say what holds
            back, fore = LEVEL_PILLS[Level.LOCKED]
            self.kill_state.setText("KILL SWITCH OFF · ENTRIES BLOCKED")
            self.kill_state.setStyleSheet(
                f"background-color: {back.name()}; color: {fore.name()}; {pill}")
            short, tip = locked_note(locked, risk.open_positions > 0)
            self.kill_detail.setText(short)
            self.kill_detail.setStyleSheet(f"color: {theme.DANGER_TEXT.name()}")
        else:
            self.kill_state.setText("KILL SWITCH OFF")
            self.kill_state.setStyleSheet(
                f"background-color: {theme.SAFE_BG.name()}; color: {theme.SAFE_TEXT.name()}; "
                f"{pill}")
            self.kill_detail.setText("")
            self.kill_detail.setStyleSheet(f"color: {theme.WARN.name()}")
        paused = "; ".join(f"{name} paused: {why}" for name, why in kill.paused.items())
        if paused:
            self.kill_detail.setText(f"{self.kill_detail.text()} {paused}".strip())
        self.kill_detail.setVisible(bool(self.kill_detail.text()))  # room for the rules
        self.kill_detail.setToolTip(tip or self.kill_detail.text())
        self.kill_state.setToolTip("On: working orders were canceled and only orders that "
                                   "reduce a position pass" if kill.active else
                                   f"Off, but {tip}" if tip else
                                   "Off: new entries are allowed within the risk limits")

    def _locked_rule(self) -> RuleStatus | None:
        """The fullest rule at the locked level (entries blocked), if any."""
        risk = self._risk
        locked = [s for s in risk.statuses if risk.level_of(s.rule) is Level.LOCKED]
        return max(locked, key=lambda s: s.used_pct, default=None)

    def value(self, key: str) -> str:
        """A figure as shown, without its color markup."""
        text = self.values[key].text()
        return text[text.find(">") + 1:text.rfind("<")] if text.startswith("<") else text
