"""The test suite passes on any day: no test module builds a sandbox or a sync job on the wall
clock, or reads the wall clock or sleeps itself.

A sandbox anchors its data to its clock's day and a job decides with its clock's "now", so both
take ``clock=`` (the test's ``FakeClock``: see tests/conftest.py). CLI commands run on the
test's clock through the autouse fixture there.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
NEED_CLOCK = frozenset({"Sandbox", "SyncJob"})
WALL_CLOCK = frozenset({("datetime", "now"), ("datetime", "utcnow"), ("date", "today"),
                        ("time", "time"), ("time", "sleep"), ("time", "monotonic"),
                        ("time", "perf_counter")})


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def unpinned(source: str) -> list[str]:
    """``line: call`` for every call in ``source`` that builds a Sandbox or SyncJob without
    ``clock=``, or reads the wall clock or sleeps."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in NEED_CLOCK and "clock" not in {k.arg for k in node.keywords}:
            found.append((node.lineno, f"{name}( without clock="))
        func = node.func
        if isinstance(func, ast.Attribute) and (_name(func.value), func.attr) in WALL_CLOCK:
            found.append((node.lineno, f"{_name(func.value)}.{func.attr}()"))
    return [f"{line}: {call}" for line, call in sorted(found)]


def test_the_checker_finds_each_kind_of_unpinned_call() -> None:
    source = ("with Sandbox(seed=7, leads=10) as sb:\n"
              "    SyncJob(config, connector_factory=f).run()\n"
              "    lock(datetime.now(UTC))\n"
              "    time.sleep(0.1)\n"
              "server.Sandbox(**SIZE)\n"
              "Sandbox(**SIZE, clock=clock)\n"
              "SyncJob(config,\n        clock=clock.utc)\n")
    assert unpinned(source) == ["1: Sandbox( without clock=", "2: SyncJob( without clock=",
                                "3: datetime.now()", "4: time.sleep()",
                                "5: Sandbox( without clock="]


def test_no_test_module_runs_on_the_wall_clock() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 50
    found = {str(path.relative_to(TESTS)): unpinned(path.read_text(encoding="utf-8"))
             for path in modules}
    assert {path: calls for path, calls in found.items() if calls} == {}
