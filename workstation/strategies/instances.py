"""Strategy instances (the seed designs' bots): their settings, status and storage.

One strategy class can run as several instances, each with its own parameters,
instruments, capital allocation, trading window and risk limits. Settings are
validated strictly (a bad value names the field); instances, their status and
their ``state`` dict live in SQLite and come back after a restart as they were.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection
from datetime import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from workstation.settings_types import (
    ClockTime,
    Money,
    Name,
    Quantity,
    Strict,
    lax,
    storable_text,
    timeframe_label,
)
from workstation.strategy import ParamError, Strategy

if TYPE_CHECKING:
    from sqlalchemy import Connection, TextClause


def text(statement: str) -> TextClause:
    """SQLAlchemy's ``text``, imported at the first query: settings load without it."""
    from sqlalchemy import text as sql_text

    return sql_text(statement)

log = logging.getLogger(__name__)


class InstanceStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # keeps its data up to date; orders and signals are not sent
    STOPPED = "stopped"
    ERROR = "error"  # disabled by the host; the reason says why


class InstanceError(ValueError):
    """Bad instance settings, phrased for the person who has to fix them."""


Percent = Annotated[float, Field(gt=0, lt=100)]
ParamValue = bool | int | float | str  # what a strategy's Param can hold
MAX_PARAM_INT = 2**53  # exact as a float and in JSON


class InstanceRisk(Strict):
    """Per-instance limits, checked before the account-wide risk gate."""

    stop_pct: Percent | None = None  # entries without a stop-loss get one this far away
    take_profit_pct: Percent | None = None  # ... and a target this far away
    max_position: Quantity | None = None  # per symbol, this instance's
    max_daily_loss: Money | None = None  # breach pauses the instance
    max_concurrent_positions: Annotated[int, Field(ge=1, le=10_000)] | None = None


class InstanceSettings(Strict):
    instance_id: Annotated[str, Field(min_length=1, max_length=40,
                                      pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    strategy: Name
    params: dict[Annotated[str, Field(max_length=100)], Any] = Field(default_factory=dict)
    symbols: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=24)], ...],
                       lax()] = ()  # empty: the strategy's own default symbols
    timeframes: Annotated[tuple[str, ...], Field(min_length=1, max_length=20), lax()] = ("1m",)
    allocation: Money | None = None  # capital it may hold
    window_start: ClockTime | None = None  # entries only inside the window (exchange time)
    window_end: ClockTime | None = None
    risk: InstanceRisk = InstanceRisk()
    # a running instance comes back running after a restart only when this is ticked;
    # otherwise it comes back paused (issue 10: a restart must not start trading by itself)
    resume_automatically: bool = False

    @field_validator("params")
    @classmethod
    def _plain_params(cls, values: dict[str, Any]) -> dict[str, Any]:
        """A parameter is a number, true/false or text, as ``Param`` declares them; the
        strategy's own ``Param`` checks its type and bounds when the instance is added."""
        for key, value in values.items():
            storable_text(key)
            if isinstance(value, str):
                storable_text(value)
            elif isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key}: {value} is not a finite number")
            elif isinstance(value, int) and not isinstance(value, bool) and \
                    abs(value) > MAX_PARAM_INT:
                raise ValueError(f"{key}: {value} is too large")
            elif not isinstance(value, ParamValue):
                raise ValueError(f"{key}: {value!r} is not a number, true/false or text")
        return values

    @field_validator("timeframes")
    @classmethod
    def _valid_timeframes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(timeframe_label(value) for value in values)

    def in_window(self, local: time) -> bool:
        """Whether an exchange-local time is inside the trading window (which may wrap
        midnight, e.g. 18:00-02:00 for a futures night session)."""
        start, end = self.window_start, self.window_end
        if start is None and end is None:
            return True
        start, end = start or time.min, end or time.max
        return start <= local < end if start <= end else local >= start or local < end

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceSettings:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = data.get("instance_id", "instance") if isinstance(data, dict) else "instance"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
                f"{err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors())
            raise InstanceError(f"strategy instance {where}: {problems}") from None


def check_instance(settings: InstanceSettings, offered: type[Strategy] | None,
                   loaded: Collection[str], instruments: Collection[str], *,
                   drop_unknown: bool = False) -> InstanceSettings:
    """An instance checked against its strategy class (``offered``; None when no loaded
    plugin has that name) and the instruments, with default symbols and parameters filled
    in; ``InstanceError`` names the instance and the problem. ``drop_unknown``: forget
    parameters the strategy no longer declares (a new version of its file) instead."""
    where = f"strategy instance {settings.instance_id}"
    if offered is None:
        raise InstanceError(f"{where}: unknown strategy {settings.strategy!r} (loaded: "
                            f"{', '.join(sorted(loaded)) or 'none'})")
    if not settings.symbols:
        settings = settings.model_copy(update={"symbols": tuple(offered.symbols)})
    unknown = [s for s in settings.symbols if s not in instruments]
    if unknown:
        raise InstanceError(f"{where}: unknown instruments {', '.join(unknown)}")
    declared = offered.declared_params()
    extra = sorted(set(settings.params) - set(declared))
    if extra and drop_unknown:
        log.warning("%s: %s no longer has parameter %s; dropped", where, offered.name,
                    ", ".join(extra))
    elif extra:
        raise InstanceError(f"{where}: {offered.name} has no parameter {', '.join(extra)}")
    params = {}
    for key, param in declared.items():
        try:
            params[key] = param.validate(settings.params.get(key, param.default))
        except ParamError as exc:
            raise InstanceError(f"{where}: {exc}") from None
    return settings.model_copy(update={"params": params})


class StoredInstance(BaseModel):
    """A row of ``strategy_instances``, as a restart reads it."""

    settings: InstanceSettings
    status: InstanceStatus
    reason: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


# -- storage: these run on the store's writer thread ------------------------------------------
def save_instance(conn: Connection, account: str, settings: InstanceSettings,
                  status: InstanceStatus, reason: str, now_ns: int) -> None:
    conn.execute(text(
        "INSERT INTO strategy_instances (account, instance_id, strategy, settings, status, reason, "
        "state, updated_ts) VALUES (:account, :id, :strategy, :settings, :status, :reason, '{}', "
        ":ts) ON CONFLICT (account, instance_id) DO UPDATE SET strategy = :strategy, "
        "settings = :settings, status = :status, reason = :reason, updated_ts = :ts"),
        {"account": account, "id": settings.instance_id, "strategy": settings.strategy,
         "settings": settings.to_json(), "status": status.value, "reason": reason, "ts": now_ns})


def save_state(conn: Connection, account: str, instance_id: str, state_json: str) -> None:
    conn.execute(text("UPDATE strategy_instances SET state = :state WHERE account = :account "
                      "AND instance_id = :id"),
                 {"state": state_json, "account": account, "id": instance_id})


def delete_instance(conn: Connection, account: str, instance_id: str) -> None:
    conn.execute(text("DELETE FROM strategy_instances WHERE account = :account "
                      "AND instance_id = :id"), {"account": account, "id": instance_id})


def load_instances(conn: Connection, account: str) -> tuple[list[StoredInstance], list[str]]:
    """Every stored instance, and a problem line for each row that no longer validates
    (kept in the table, untouched, so nothing is lost)."""
    found, problems = [], []
    rows = conn.execute(text("SELECT instance_id, settings, status, reason, state "
                             "FROM strategy_instances WHERE account = :account ORDER BY rowid"),
                        {"account": account}).all()
    for instance_id, settings, status, reason, state in rows:
        try:
            found.append(StoredInstance(settings=InstanceSettings.from_dict(json.loads(settings)),
                                        status=InstanceStatus(status), reason=reason,
                                        state=json.loads(state)))
        except (ValueError, InstanceError) as exc:
            problems.append(f"stored strategy instance {instance_id}: {exc}")
    return found, problems


def record_run(conn: Connection, account: str, instance_id: str, strategy: str, version: str,
               file: str, sha256: str, started_ns: int) -> None:
    """Which plugin file (by hash) an instance ran from, and from when: joined with the
    trades' source and times, it says which version produced each trade."""
    record_stop(conn, account, instance_id, started_ns)
    conn.execute(text(
        "INSERT INTO strategy_runs (account, instance_id, strategy, version, file, sha256, "
        "started_ts) VALUES (:account, :id, :strategy, :version, :file, :sha, :ts)"),
        {"account": account, "id": instance_id, "strategy": strategy, "version": version,
         "file": file, "sha": sha256, "ts": started_ns})


def record_stop(conn: Connection, account: str, instance_id: str, stopped_ns: int) -> None:
    conn.execute(text(
        "UPDATE strategy_runs SET stopped_ts = :ts WHERE account = :account "
        "AND instance_id = :id AND stopped_ts IS NULL"),
        {"ts": stopped_ns, "account": account, "id": instance_id})


def remember_file(conn: Connection, file: str, sha256: str, now_ns: int) -> str | None:
    """Record a plugin file's hash; returns the previous hash when the file changed."""
    row = conn.execute(text("SELECT sha256 FROM plugin_files WHERE file = :file"),
                       {"file": file}).first()
    if row is not None and row[0] == sha256:
        return None
    conn.execute(text(
        "INSERT INTO plugin_files (file, sha256, seen_ts) VALUES (:file, :sha, :ts) "
        "ON CONFLICT (file) DO UPDATE SET sha256 = :sha, seen_ts = :ts"),
        {"file": file, "sha": sha256, "ts": now_ns})
    return row[0] if row is not None else None
