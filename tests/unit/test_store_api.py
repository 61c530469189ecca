"""The state store is one package with one public API: ``funnelsync.store``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import funnelsync.store
from funnelsync.store import Store

PACKAGE = Path(__file__).resolve().parents[2] / "funnelsync"
STORE = PACKAGE / "store"
OWN = {"self", "cls"}


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_package_exports_the_store_and_its_value_types() -> None:
    assert sorted(funnelsync.store.__all__) == [
        "Alert", "AlertStatus", "FollowUp", "FollowUpStatus", "LockInfo", "PushResult",
        "PushRow", "RecordKind", "RefreshStats", "RunInfo", "RunStatus", "Store", "StoredLink",
        "StoredRecord", "UpsertStats", "VOLATILE_FIELDS", "Watermark", "content_hash",
        "default_holder", "owner_directory"]
    assert all(hasattr(funnelsync.store, name) for name in funnelsync.store.__all__)


def test_people_and_timers_are_methods_of_the_store() -> None:
    for name in ("save_people", "stored_links", "forget_records", "save_owner_emails",
                 "owner_emails", "load_timers", "iter_timers", "iter_timer_rows",
                 "save_timers"):
        assert callable(getattr(Store, name)), name


@pytest.mark.parametrize("path", [p for p in python_files(PACKAGE)
                                  if STORE not in p.parents], ids=lambda p: p.stem)
def test_code_outside_the_store_imports_only_its_package(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and (node.module or "").startswith("funnelsync.store.")]
    inner += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
              for alias in node.names if alias.name.startswith("funnelsync.store.")]
    assert inner == []


def private_reaches(text: str) -> list[str]:
    """``x._name`` where x is not self or cls: another object's private attribute."""
    return [f"{ast.unparse(node.value)}.{node.attr}" for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Attribute) and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in OWN)]


def test_the_scan_sees_a_private_reach() -> None:
    assert private_reaches("def f(store):\n    with store._write() as c:\n        self._x\n") \
        == ["store._write"]


@pytest.mark.parametrize("path", python_files(STORE), ids=lambda p: p.stem)
def test_no_store_module_reaches_another_objects_private_attribute(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert private_reaches(text) == []
    assert "SLF001" not in text
