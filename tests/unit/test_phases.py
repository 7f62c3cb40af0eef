"""Every phase that has option rows with an applier is applied somewhere in pysocat.

``OptionSet.apply(Phase.X, fd)`` applies the rows of phase X; a phase that no code
passes to it leaves its rows accepted by the parser and then silently dropped.
The call sites are found by parsing pysocat's source: ``<obj>.apply(Phase.X, ...)``,
and ``<obj>.apply(name, ...)`` inside ``for name in (Phase.X, Phase.Y):``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import pysocat
from pysocat.options import TABLE, Phase

SOURCE = Path(pysocat.__file__).resolve().parent


class _PhaseCalls(ast.NodeVisitor):
    """Collects the phases passed to ``.apply(...)`` calls, with ``file:line``."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.loops: list[dict[str, list[Phase]]] = []
        self.found: dict[Phase, list[str]] = defaultdict(list)
        self.calls_apply_process = False

    @staticmethod
    def _phase(node: ast.expr) -> Phase | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Phase":
            return Phase[node.attr] if node.attr in Phase.__members__ else None
        return None

    def visit_For(self, node: ast.For) -> None:
        bound: dict[str, list[Phase]] = {}
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Tuple | ast.List | ast.Set):
            phases = [self._phase(item) for item in node.iter.elts]
            if phases and all(phase is not None for phase in phases):
                bound[node.target.id] = [phase for phase in phases if phase is not None]
        self.loops.append(bound)
        self.generic_visit(node)
        self.loops.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "apply_process":
            self.calls_apply_process = True
        if isinstance(func, ast.Attribute) and func.attr == "apply":
            args = list(node.args[:1]) + [kw.value for kw in node.keywords if kw.arg == "phase"]
            for arg in args:
                for phase in self._resolve(arg):
                    self.found[phase].append(f"{self.where}:{node.lineno}")
        self.generic_visit(node)

    def _resolve(self, arg: ast.expr) -> list[Phase]:
        phase = self._phase(arg)
        if phase is not None:
            return [phase]
        if isinstance(arg, ast.Name):
            for bound in reversed(self.loops):
                if arg.id in bound:
                    return bound[arg.id]
        return []


def scan(source: str, where: str = "<source>") -> _PhaseCalls:
    visitor = _PhaseCalls(where)
    visitor.visit(ast.parse(source))
    return visitor


def call_sites() -> tuple[dict[Phase, list[str]], bool]:
    """Phase -> where pysocat applies it; and whether anything calls apply_process()."""
    sites: dict[Phase, list[str]] = defaultdict(list)
    process = False
    for path in sorted(SOURCE.rglob("*.py")):
        found = scan(path.read_text(encoding="utf-8"), str(path.relative_to(SOURCE.parent)))
        for phase, where in found.found.items():
            sites[phase] += where
        process = process or found.calls_apply_process
    return sites, process


def rows_applied_by_phase(phase: Phase) -> list[str]:
    """Rows that ``apply(phase, fd)`` applies (PROCESS rows go through apply_process instead)."""
    return [d.name for d in TABLE if d.phase is phase and d.apply is not None and "PROCESS" not in d.groups]


PHASES = [phase for phase in Phase if rows_applied_by_phase(phase)]
UNWIRED: dict[Phase, str] = {}


@pytest.mark.parametrize(
    "phase",
    [pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=UNWIRED[p])) if p in UNWIRED else p for p in PHASES],
    ids=lambda phase: phase.name,
)
def test_every_phase_with_appliers_is_applied_somewhere(phase: Phase) -> None:
    sites, _ = call_sites()
    assert sites.get(phase), (
        f"no opts.apply(Phase.{phase.name}, fd) in pysocat/: "
        f"{', '.join(rows_applied_by_phase(phase))} are accepted and never applied"
    )


def test_process_rows_are_applied_by_apply_process() -> None:
    assert [d.name for d in TABLE if d.apply is not None and "PROCESS" in d.groups]
    _, process = call_sites()
    assert process, "nothing calls OptionSet.apply_process(): the PROCESS rows are never applied"


def test_the_scanner_reads_literal_phases_and_loops_over_them() -> None:
    found = scan(
        "opts.apply(Phase.FD, fd)\n"
        "for phase in (Phase.LATE, Phase.EARLY):\n"
        "    opts.apply(phase, 0)\n"
        "opts.apply(other, 0)\n"
        "opts.apply(phase=Phase.BIND, fd=3)\n"
        "opts.apply_process()\n"
    ).found
    assert dict(found) == {
        Phase.FD: ["<source>:1"], Phase.LATE: ["<source>:3"], Phase.EARLY: ["<source>:3"], Phase.BIND: ["<source>:5"],
    }
