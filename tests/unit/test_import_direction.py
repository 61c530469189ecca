"""Imports go one way (ARCHITECTURE.md): an AST scan of every module in the package.

cli → sync/reports → mapping, connectors → errors/config. mapping never imports connectors,
sync, reports or cli; connectors never import mapping or sync; the sandbox shares no code with
the product (it may use errors only); nothing imports cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "funnelsync"

# package (first part after funnelsync.) → funnelsync packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "mapping": {"connectors", "sync", "reports", "cli", "sandbox"},
    "connectors": {"mapping", "sync", "reports", "cli", "sandbox"},
    "errors": {"config", "mapping", "connectors", "sync", "reports", "cli", "sandbox"},
    "config": {"mapping", "connectors", "sync", "reports", "cli", "sandbox"},
}
SANDBOX_ALLOWED = {"sandbox", "errors"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every funnelsync module a file imports, at any depth (function-level imports too)."""
    return imports_of(path.read_text(encoding="utf-8"), module_name(path),
                      is_package=path.name == "__init__.py")


def imports_of(text: str, module: str, *, is_package: bool = False) -> set[str]:
    tree = ast.parse(text)
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "funnelsync" or name.startswith("funnelsync.")}


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def real_targets(imports: set[str]) -> set[str]:
    """Drop `funnelsync.x.Name` entries that are names inside a module, not modules."""
    return {name for name in imports if area(name)}


def test_the_scan_sees_the_package() -> None:
    names = {module_name(p) for p in modules()}
    assert {"funnelsync.cli.main", "funnelsync.mapping.salesforce",
            "funnelsync.config.models"} <= names
    assert "funnelsync.mapping.schema" in imported_modules(PACKAGE / "mapping" / "salesforce.py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: module_name(p))
def test_imports_go_one_way(path: Path) -> None:
    source = module_name(path)
    targets = {area(t) for t in real_targets(imported_modules(path))} - {area(source)}
    if area(source) == "sandbox":
        assert targets - SANDBOX_ALLOWED == set(), f"{source} may only import errors"
    assert targets & FORBIDDEN.get(area(source), set()) == set()
    if source != "funnelsync.cli.main":
        assert "cli" not in targets, f"{source} imports cli; nothing may"


def test_relative_and_nested_imports_are_seen() -> None:
    text = ("from ..connectors import base\nfrom . import parse\n"
            "def f():\n    import funnelsync.cli.main\n")
    found = imports_of(text, "funnelsync.mapping.probe")
    assert {area(t) for t in real_targets(found)} == {"connectors", "mapping", "cli"}
    assert "funnelsync.connectors.base" in found and "funnelsync.mapping.parse" in found
