"""Invariant 1: the OrderRouter (behind the RiskGate) is the only path to a broker.

Scans every engine and UI module for broker commands (submit, cancel, replace)
called on anything but the router; the broker's own module and the router are
the only places allowed to call them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {"submit", "cancel", "replace"}
ALLOWED = {Path("workstation/risk/router.py"), Path("workstation/brokers/paper.py")}


def broker_commands(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls like ``x.broker.submit(...)`` / ``broker.cancel(...)``: a command on a
    name or attribute that mentions a broker."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in COMMANDS):
            target = ast.unparse(node.func.value)
            if "broker" in target.lower():
                found.append((node.lineno, f"{target}.{node.func.attr}"))
    return found


def test_no_module_but_the_router_sends_commands_to_a_broker():
    offenders = []
    for folder in ("workstation", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            for line, call in broker_commands(ast.parse(path.read_text(encoding="utf-8"))):
                offenders.append(f"{relative}:{line}: {call}")
    assert offenders == []


def test_the_scan_catches_a_direct_broker_call():
    sample = "engine.broker.submit(intent)\nself._broker.cancel('P1')\nrouter.submit(intent)\n"
    assert broker_commands(ast.parse(sample)) == [(1, "engine.broker.submit"),
                                                  (2, "self._broker.cancel")]
