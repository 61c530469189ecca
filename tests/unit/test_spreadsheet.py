"""CSV cells safe to open in a spreadsheet: the one rule of ``export`` and ``report``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from funnelsync.app.export import export
from funnelsync.mapping.schema import FunnelLead
from funnelsync.reports.spreadsheet import csv_cell
from funnelsync.store import Store


@pytest.mark.parametrize(("value", "cell"), [
    ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
    ("+1 555", "'+1 555"),
    ("-5", "'-5"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Ada = Lovelace", "Ada = Lovelace"),
    ("", ""),
    (None, ""),
    (-5, -5),
    (2.5, 2.5),
])
def test_formula_like_text_is_quoted_and_numbers_stay(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_an_exported_lead_named_like_a_formula_is_plain_text(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.start_run("t")
    store.upsert_records("hubspot", "leads", [FunnelLead(
        source="hubspot", source_id="1", first_name='=HYPERLINK("x")', last_name="-Smith",
        company="@corp", employees=-5)], run)
    out = io.StringIO()

    assert export(store, "leads", "csv", None, out) == 1

    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["first_name"], row["last_name"], row["company"], row["employees"]) == (
        '\'=HYPERLINK("x")', "'-Smith", "'@corp", "-5")
