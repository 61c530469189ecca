"""The funnel as tables (app.tables): columns, types and descriptions that export and the
warehouse integrations share, and the people rows built from the identity step's links."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from funnelsync.app import export
from funnelsync.app.tables import TABLES, person_row
from funnelsync.cli.admin import export_cmd
from funnelsync.store import StoredLink

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_every_exported_object_is_a_table_and_the_cli_offers_it() -> None:
    assert list(TABLES) == list(export.OBJECTS) == [
        "leads", "deals", "stage_changes", "people", "alerts", "runs"]
    option = next(p for p in export_cmd.params if p.name == "obj")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == list(export.OBJECTS)


def test_column_types_follow_the_schema() -> None:
    deals = {c.name: c for c in TABLES["deals"].columns}
    assert [(n, deals[n].data_type) for n in ("amount", "probability", "close_date", "created_at",
                                              "is_won", "extra", "source")] == [
        ("amount", "decimal"), ("probability", "double"), ("close_date", "date"),
        ("created_at", "timestamp"), ("is_won", "bool"), ("extra", "json"), ("source", "text")]
    assert (deals["source"].nullable, deals["name"].nullable) == (False, True)
    runs = {c.name: c.data_type for c in TABLES["runs"].columns}
    assert (runs["run_id"], runs["counts"], runs["errors"], runs["status"]) == (
        "bigint", "json", "json", "text")
    assert TABLES["leads"].primary_key == ("source", "source_id")
    assert TABLES["people"].primary_key == ("person_id",)


def test_every_column_is_described() -> None:
    undescribed = [f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns
                   if not c.description]
    assert undescribed == []
    amount = next(c for c in TABLES["deals"].columns if c.name == "amount")
    assert amount.description == "Deal amount, a decimal in `currency`."


def test_a_person_row_from_links() -> None:
    links = [StoredLink("salesforce:lead:00Q1", "p_1", "email", 1.0, T0, T0),
             StoredLink("hubspot:lead:51", "p_1", "name_domain", 0.8, T0.replace(day=2), T0)]
    row = person_row("p_1", links)
    assert (row.person_id, row.rule, row.confidence, row.sources, row.record_count,
            row.first_linked_at, row.is_deleted) == (
        "p_1", "name_domain", 0.8, ["hubspot", "salesforce"], 2, T0, False)
    assert row.records[1] == {"source": "hubspot", "kind": "leads", "record_id": "51",
                              "rule": "name_domain", "confidence": 0.8}
    gone = person_row("p_2", [])
    assert (gone.is_deleted, gone.record_count, gone.records) == (True, 0, [])
