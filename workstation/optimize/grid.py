"""The parameter space of an optimisation: each varied ``Param``'s values, and the
conditions a combination must meet.

A range defaults to the ``Param``'s own ``min..max`` by ``step`` and can be narrowed
(``fast=5:20:5``) or listed (``fast=5,8,13``). A combination that breaks a condition
(``fast<slow``) or a ``Param``'s bounds is skipped with its reason, never run.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from workstation.config import ConfigError
from workstation.strategy import Param, ParamError

MAX_VALUES = 100_000  # values in one range: more is a typo (a step of 0.0001), not a plan


class GridProblem(ConfigError):
    """A parameter range or condition that cannot be used: says which and why."""


@dataclass(frozen=True, slots=True)
class ParamRange:
    """The values one parameter takes, in order."""

    name: str
    values: tuple[Any, ...]

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "==": operator.eq,
    "<": operator.lt, ">": operator.gt}
_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|!=|==|<|>)\s*([A-Za-z_]\w*|-?[\d.]+)\s*$")


@dataclass(frozen=True, slots=True)
class Condition:
    """``left OP right``: a parameter against another parameter or a number."""

    text: str
    left: str
    op: str
    right: str | float

    def holds(self, params: Mapping[str, Any]) -> bool:
        right = params[self.right] if isinstance(self.right, str) else self.right
        return _OPERATORS[self.op](params[self.left], right)


def parse_condition(text: str, names: set[str]) -> Condition:
    """``"fast<slow"``, ``"stop_points>=10"``: names must be the strategy's parameters."""
    match = _CONDITION.match(text)
    if match is None:
        raise GridProblem(f"condition {text!r}: expected NAME OP NAME or NAME OP NUMBER "
                          "with OP one of < <= > >= == !=")
    left, op, right_text = match.groups()
    right: str | float
    try:
        right = float(right_text)
    except ValueError:
        right = right_text
    for name in (left, right):
        if isinstance(name, str) and name not in names:
            raise GridProblem(f"condition {text!r}: no parameter {name!r} "
                              f"(parameters: {', '.join(sorted(names))})")
    return Condition(text.strip(), left, op, right)


def param_values(param: Param, spec: str | None = None) -> tuple[Any, ...]:
    """The values of ``param``: ``spec`` is ``MIN:MAX:STEP``, ``MIN:MAX`` (the Param's
    step), ``V1,V2,...``, or None for the Param's own range."""
    label = param.name
    if param.kind is bool:
        return _listed(param, spec) if spec else (False, True)
    if param.kind is str:
        if spec:
            return _listed(param, spec)
        if param.choices is None:
            raise GridProblem(f"parameter {label}: text without choices cannot be varied; "
                              f"list the values ({label}=a,b)")
        return param.choices
    if spec and ":" not in spec:
        return _listed(param, spec)
    low, high, step = param.min, param.max, param.step
    if spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise GridProblem(f"parameter {label}={spec}: expected MIN:MAX[:STEP] or V1,V2,...")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise GridProblem(f"parameter {label}={spec}: not numbers") from None
        low, high = numbers[0], numbers[1]
        step = numbers[2] if len(numbers) == 3 else step
    if low is None or high is None or step is None:
        raise GridProblem(f"parameter {label}: no min/max/step declared; give a range "
                          f"({label}=MIN:MAX:STEP)")
    if high < low:
        raise GridProblem(f"parameter {label}: empty range {low:g}..{high:g}")
    if step <= 0:
        raise GridProblem(f"parameter {label}: step {step:g} must be positive")
    count = int((high - low) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise GridProblem(f"parameter {label}: {count:,} values; use a larger step")
    values = [low + k * step for k in range(count)]
    if param.kind is int:
        if any(v != int(v) for v in (low, step)):
            raise GridProblem(f"parameter {label}: whole numbers only ({spec or 'its range'})")
        return tuple(int(v) for v in values)
    return tuple(round(v, 10) for v in values)


def _value(text: str) -> Any:
    """A value as typed: true/false, a number, or text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _listed(param: Param, spec: str) -> tuple[Any, ...]:
    values = [_value(v.strip()) for v in spec.split(",") if v.strip()]
    if not values:
        raise GridProblem(f"parameter {param.name}: no values")
    if param.kind is float:
        values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                  for v in values]
    return tuple(dict.fromkeys(values))


class Grid:
    """Every combination of the ranges (the last parameter varying fastest), with the
    fixed parameters merged in."""

    def __init__(self, declared: Mapping[str, Param], ranges: list[ParamRange],
                 conditions: list[Condition] | None = None,
                 fixed: Mapping[str, Any] | None = None) -> None:
        unknown = [r.name for r in ranges if r.name not in declared]
        if unknown:
            raise GridProblem(f"no parameter {', '.join(map(repr, unknown))} "
                              f"(parameters: {', '.join(declared) or 'none'})")
        if not ranges:
            raise GridProblem("nothing to vary: name at least one parameter")
        self.declared = dict(declared)
        self.ranges = ranges
        self.conditions = conditions or []
        base = {name: p.default for name, p in declared.items()}
        self.fixed = {**base, **(fixed or {})}

    @property
    def size(self) -> int:
        """Combinations before any is skipped."""
        total = 1
        for item in self.ranges:
            total *= len(item.values)
        return total

    def check(self, varied: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The full parameter set, and why it cannot run (None when it can)."""
        params = {**self.fixed, **varied}
        for name, value in varied.items():
            try:
                params[name] = self.declared[name].validate(value)
            except ParamError as exc:
                return params, str(exc)
        for condition in self.conditions:
            if not condition.holds(params):
                return params, f"{condition.text} does not hold"
        return params, None

    def combos(self) -> Iterator[tuple[dict[str, Any], str | None]]:
        names = [r.name for r in self.ranges]
        for values in itertools.product(*(r.values for r in self.ranges)):
            yield self.check(dict(zip(names, values, strict=True)))


def build_grid(declared: Mapping[str, Param], specs: Mapping[str, str | None],
               conditions: list[str] | None = None,
               fixed: Mapping[str, Any] | None = None) -> Grid:
    """A grid from ``{name: spec}`` (see ``param_values``) and condition texts."""
    unknown = [name for name in specs if name not in declared]
    if unknown:
        raise GridProblem(f"no parameter {', '.join(map(repr, unknown))} "
                          f"(parameters: {', '.join(declared) or 'none'})")
    ranges = [ParamRange(name, param_values(declared[name], spec))
              for name, spec in specs.items()]
    parsed = [parse_condition(text, set(declared)) for text in conditions or []]
    return Grid(declared, ranges, parsed, fixed)
