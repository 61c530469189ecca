"""The funnel as tables: what each exported object's rows hold, one definition for every output.

``export`` (JSON lines, CSV, Parquet) and the warehouse integrations write the same columns for
an object because both read them from here. Leads, deals and stage changes are the schema models
(``mapping.schema``), their field descriptions the column descriptions; alerts and runs are the
store's value types; people are one row per person from the identity step's people table.
Column types are the schema's: amounts are decimals, times UTC timestamps, nested values JSON.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel

from funnelsync.mapping.schema import FunnelDeal, FunnelLead, StageChange
from funnelsync.store import Alert, RunInfo, StoredLink

DataType = Literal["text", "bigint", "double", "decimal", "bool", "timestamp", "date", "json"]
_TYPES: dict[type, DataType] = {
    str: "text", int: "bigint", float: "double", Decimal: "decimal", bool: "bool",
    datetime: "timestamp", date: "date", dict: "json", list: "json",
}


@dataclass(frozen=True)
class Column:
    """One column: its name, type and what it means."""

    name: str
    data_type: DataType
    description: str = ""
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """One exported object: name, what a row is, its key and its columns in order."""

    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class PersonRow:
    """One person as the identity step linked them (the people table, one row per person)."""

    person_id: str
    rule: str
    confidence: float
    sources: list[str]
    record_count: int
    records: list[dict[str, Any]]
    first_linked_at: datetime | None
    is_deleted: bool = False


_ALERT_DOCS = {
    "alert_id": "The alert's id in the state store.",
    "source": "CRM of the record the alert is about: salesforce or hubspot.",
    "record_id": "Id of the deal or lead the alert is about, in its CRM.",
    "reason": "Why it was raised, e.g. stale_in_stage.",
    "status": "open, pending (its task is being created) or resolved.",
    "task_id": "Id of the follow-up task created in the CRM.",
    "evidence": "The facts behind the alert, as JSON.",
    "opened_at": "When the alert was raised (UTC).",
    "updated_at": "When the alert last changed (UTC).",
    "resolved_at": "When the condition cleared (UTC).",
}
_RUN_DOCS = {
    "run_id": "The run's id; ids only grow.",
    "started_at": "When the run started (UTC).",
    "finished_at": "When it finished (UTC).",
    "status": "running, ok, partial (some rows rejected), failed or crashed.",
    "dry_run": "A dry run: nothing was written to the CRMs.",
    "holder": "host:pid:tag of the process that ran it.",
    "counts": "What the run pulled, wrote and raised, as JSON.",
    "errors": "Rows the CRMs rejected and errors that stopped the run, as JSON.",
    "timings": "Seconds spent per step, as JSON.",
    "kind": "sync, or forget: a privacy deletion (counts only, never an address).",
}
_PEOPLE_DOCS = {
    "person_id": "Stable id of the person (derived from their first e-mail or record key).",
    "rule": "The weakest linking rule holding the person's records together (single: one).",
    "confidence": "Confidence of that rule (0-1).",
    "sources": "CRMs holding a record of the person, as a JSON list.",
    "record_count": "How many leads/contacts belong to the person.",
    "records": "The person's records: source, kind, record_id, rule, confidence (JSON).",
    "first_linked_at": "When the identity step first saw a record of this person (UTC).",
    "is_deleted": "The person no longer exists: their records were deleted, merged elsewhere "
                  "or forgotten.",
}


def _data_type(annotation: Any) -> DataType:
    """The column type of a field annotation (optional and literal types unwrapped)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return _data_type(type(get_args(annotation)[0]))
    if origin in (Union, types.UnionType):
        return _data_type(next(a for a in get_args(annotation) if a is not type(None)))
    return _TYPES[origin or annotation]


def _nullable(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


def model_columns(model: type[BaseModel]) -> tuple[Column, ...]:
    """Columns of a schema model, descriptions from its fields."""
    return tuple(Column(name, _data_type(info.annotation), info.description or "",
                        _nullable(info.annotation) or not info.is_required())
                 for name, info in model.model_fields.items())


def dataclass_columns(cls: type, docs: dict[str, str]) -> tuple[Column, ...]:
    """Columns of a value type (a dataclass), descriptions from ``docs``."""
    hints = get_type_hints(cls)
    return tuple(Column(f.name, _data_type(hints[f.name]), docs.get(f.name, ""),
                        _nullable(hints[f.name])) for f in fields(cls))


TABLES: dict[str, Table] = {
    "leads": Table("leads", FunnelLead.__doc__ or "", ("source", "source_id"),
                   model_columns(FunnelLead)),
    "deals": Table("deals", FunnelDeal.__doc__ or "", ("source", "source_id"),
                   model_columns(FunnelDeal)),
    "stage_changes": Table("stage_changes", StageChange.__doc__ or "",
                           ("source", "record_id", "to_stage", "changed_at"),
                           model_columns(StageChange)),
    "people": Table("people", PersonRow.__doc__ or "", ("person_id",),
                    dataclass_columns(PersonRow, _PEOPLE_DOCS)),
    "alerts": Table("alerts", "A stale-deal or lead alert and its follow-up task.",
                    ("alert_id",), dataclass_columns(Alert, _ALERT_DOCS)),
    "runs": Table("runs", "One funnelsync run: pull, or pull and write-back.", ("run_id",),
                  dataclass_columns(RunInfo, _RUN_DOCS)),
}


def person_row(person_id: str, links: Iterable[StoredLink]) -> PersonRow:
    """A person from their stored links; without links, the person is gone (``is_deleted``)."""
    links = list(links)
    if not links:
        return PersonRow(person_id, "single", 0.0, [], 0, [], None, is_deleted=True)
    weakest = min(links, key=lambda link: link.confidence)
    records = [{"source": source, "kind": kind + "s", "record_id": record_id,
                "rule": link.rule, "confidence": link.confidence}
               for link in links for source, kind, record_id in [link.key.split(":", 2)]]
    return PersonRow(person_id, weakest.rule, weakest.confidence,
                     sorted({r["source"] for r in records}), len(records), records,
                     min(link.first_seen for link in links))


__all__ = ["TABLES", "Column", "DataType", "PersonRow", "Table", "dataclass_columns",
           "model_columns", "person_row"]
