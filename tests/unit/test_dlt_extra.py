"""The dlt integration is an optional extra: funnelsync works without dlt, and the source's
column hints are the shared tables'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from funnelsync.app.tables import TABLES
from funnelsync.integrations.dlt.source import RESOURCES, column_hints

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_DLT = """
import importlib, pkgutil, sys
sys.modules["dlt"] = None  # as if dlt were not installed
import funnelsync
names = [m.name for m in pkgutil.walk_packages(funnelsync.__path__, "funnelsync.")
         if not m.name.startswith("funnelsync.integrations.dlt")]
for name in names:
    importlib.import_module(name)
try:
    import funnelsync.integrations.dlt
except ImportError as exc:
    print(len(names) > 100, exc)
"""


def test_funnelsync_imports_without_dlt_and_the_extra_names_its_fix() -> None:
    done = subprocess.run([sys.executable, "-c", WITHOUT_DLT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("True funnelsync.integrations.dlt needs dlt, which is not installed: "
                           "pip install 'funnelsync[dlt]'\n")


def test_column_hints_carry_type_nullability_and_description() -> None:
    hints = column_hints(TABLES["deals"])
    assert list(hints) == TABLES["deals"].column_names
    assert hints["amount"] == {"data_type": "decimal", "nullable": True,
                               "description": "Deal amount, a decimal in `currency`."}
    assert (hints["source"]["nullable"], hints["source_id"]["nullable"]) == (False, False)
    assert "hard_delete" not in hints["is_deleted"]
    assert column_hints(TABLES["deals"], hard_delete=True)["is_deleted"]["hard_delete"] is True
    assert list(TABLES) == list(RESOURCES)
