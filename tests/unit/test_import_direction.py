"""Imports go one way (ARCHITECTURE.md), checked on the source by an AST scan of the package.

Layers, top to bottom: cli → sync/reports/app → rules/store → mapping/connectors/crm →
config → errors/clock. A package is the first name under ``funnelsync`` (the package of
``funnelsync.sync.leads.operations`` is ``sync``; a top-level module such as ``errors`` is its
own). Each package has an allow-list of the packages it may import besides itself; a package
without one fails the scan, so a new package has to say where it stands. No module imports
another that imports it back, directly or through others (function-level imports count; those
under ``if TYPE_CHECKING:`` do not run, so they do not).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "funnelsync"
ROOT = "funnelsync"  # the package's own __init__: the lazy public API

BASE = frozenset({"errors", "clock"})  # base modules every layer may import
BELOW_APP = frozenset({"sync", "reports", "rules", "store", "mapping", "connectors", "crm",
                       "config", "sandbox"}) | BASE
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "clock": frozenset(),
    "config": BASE,
    "mapping": BASE | {"config"},
    "connectors": BASE | {"config"},
    "crm": BASE | {"config", "connectors", "mapping"},
    "rules": frozenset({"config", "mapping", "errors"}),  # pure: `now` is an argument
    "store": BASE | {"config", "mapping", "rules"},
    # sync reads reports for one figure: the forecast's win probability it may write back
    "sync": BASE | {"config", "mapping", "connectors", "crm", "rules", "store", "reports"},
    "reports": BASE | {"config", "mapping", "connectors", "crm", "rules", "store"},
    "sandbox": frozenset({"errors"}),  # the CRM stand-in shares no code with the product
    "app": BELOW_APP,
    "cli": BELOW_APP | {"app", ROOT},
    ROOT: BELOW_APP | {"app"},
    # Optional extras (dlt, ...): they use the library; nothing in it may import them back.
    "integrations": BELOW_APP | {"app"},
}


# -- the scan ---------------------------------------------------------------------------------
def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_paths() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@cache
def known_modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in module_paths())


def area(module: str) -> str:
    """The package a module belongs to: ``funnelsync.sync.leads.operations`` → ``sync``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def resolve(name: str, known: frozenset[str]) -> str | None:
    """The funnelsync module an import name stands for: the longest known module prefix."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST, *, runtime_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth; with ``runtime_only``, none under ``if TYPE_CHECKING:``
    (its ``else:`` branch does run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        children: Iterable[ast.AST] = ast.iter_child_nodes(node)
        if runtime_only and isinstance(node, ast.If) and _is_type_checking(node):
            children = node.orelse
        stack.extend(children)


def imports_of(text: str, module: str, *, is_package: bool = False, runtime_only: bool = False,
               known: frozenset[str] | None = None) -> set[str]:
    """The funnelsync modules one module's source imports (``from a import b`` is module
    ``a.b`` when that is a module, else ``a``)."""
    known = known_modules() if known is None else known
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str | None] = set()
    for node in _import_nodes(ast.parse(text), runtime_only=runtime_only):
        if isinstance(node, ast.Import):
            found |= {resolve(alias.name, known) for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            anchor = package[:len(package) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        found |= {resolve(f"{base}.{alias.name}", known) for alias in node.names}
    return {name for name in found if name is not None and name != module}


@cache
def import_graph(runtime_only: bool) -> Mapping[str, frozenset[str]]:
    """Module → the modules it imports."""
    return {module_name(p): frozenset(imports_of(p.read_text(encoding="utf-8"), module_name(p),
                                                 is_package=p.name == "__init__.py",
                                                 runtime_only=runtime_only))
            for p in module_paths()}


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Groups of modules that import each other in a circle (strongly connected components of
    more than one module), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        on_stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = on_stack[on_stack.index(node):]
            del on_stack[on_stack.index(node):]
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def packages() -> list[str]:
    return sorted({area(m) for m in known_modules()})


def crossings(package: str) -> set[tuple[str, str]]:
    """(module, imported module) pairs that leave ``package``, type-only imports included."""
    return {(source, target) for source, targets in import_graph(False).items()
            if area(source) == package for target in targets if area(target) != package}


# -- the rules --------------------------------------------------------------------------------
@pytest.mark.parametrize("package", packages())
def test_imports_go_one_way(package: str) -> None:
    assert package in ALLOWED, f"{package} has no allow-list: add it to ALLOWED"
    wrong = sorted(f"{source} imports {target}" for source, target in crossings(package)
                   if area(target) not in ALLOWED[package])
    assert wrong == []


def test_nothing_but_cli_imports_cli() -> None:
    assert {package for package, allowed in ALLOWED.items() if "cli" in allowed} == set()
    importers = {source for source, targets in import_graph(False).items()
                 if any(area(target) == "cli" for target in targets)}
    assert {area(source) for source in importers} == {"cli"}


def test_nothing_imports_the_optional_integrations() -> None:
    assert {package for package, allowed in ALLOWED.items() if "integrations" in allowed} == set()
    importers = {source for source, targets in import_graph(False).items()
                 if any(area(target) == "integrations" for target in targets)}
    assert {area(source) for source in importers} == {"integrations"}


def test_no_import_cycles() -> None:
    assert find_cycles(import_graph(True)) == []


# -- the scanner itself -----------------------------------------------------------------------
def test_the_scan_sees_the_package() -> None:
    assert {"funnelsync.cli.main", "funnelsync.mapping.salesforce", "funnelsync.config.models",
            "funnelsync.errors", "funnelsync.clock", "funnelsync"} <= known_modules()
    assert "funnelsync.mapping.schema" in import_graph(False)["funnelsync.mapping.salesforce"]
    assert {"sync", "cli", "errors", "clock", ROOT} <= set(packages())


def test_a_module_belongs_to_its_first_package() -> None:
    assert [area(m) for m in ("funnelsync.sync.leads.operations", "funnelsync.cli.admin",
                              "funnelsync.errors", "funnelsync")] == ["sync", "cli", "errors",
                                                                      ROOT]


def test_relative_nested_and_from_imports_are_resolved() -> None:
    known = frozenset({"funnelsync", "funnelsync.connectors", "funnelsync.connectors.base",
                       "funnelsync.mapping", "funnelsync.mapping.parse", "funnelsync.cli.main",
                       "funnelsync.errors"})
    text = ("from ..connectors import base\nfrom . import parse\nfrom funnelsync import "
            "__version__\nfrom funnelsync.errors import DataError\n"
            "def f():\n    import funnelsync.cli.main\n")
    found = imports_of(text, "funnelsync.mapping.probe", known=known)
    assert found == {"funnelsync.connectors.base", "funnelsync.mapping.parse", "funnelsync",
                     "funnelsync.errors", "funnelsync.cli.main"}


def test_type_checking_imports_do_not_run() -> None:
    known = frozenset({"funnelsync.sync.a", "funnelsync.sync.b", "funnelsync.sync.c"})
    text = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from funnelsync.sync.a import A\nelse:\n    from funnelsync.sync.b import B\n"
            "def f():\n    from funnelsync.sync.c import C\n")
    assert imports_of(text, "funnelsync.sync.probe", known=known, runtime_only=True) == {
        "funnelsync.sync.b", "funnelsync.sync.c"}
    assert imports_of(text, "funnelsync.sync.probe", known=known) == {
        "funnelsync.sync.a", "funnelsync.sync.b", "funnelsync.sync.c"}


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"},
             "f": {"g"}, "g": {"f"}}
    assert find_cycles(graph) == [["a", "b", "c"], ["f", "g"]]
