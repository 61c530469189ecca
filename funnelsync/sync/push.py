"""Push: changed write-back values to the CRMs in batches, every row's result stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from funnelsync.connectors.base import Kind, RecordUpdate
from funnelsync.crm.source import Source
from funnelsync.rules.diff import FieldDiff
from funnelsync.store import PushRow, Store

PUSH_CHUNK = 1000  # diffs held in memory at once; connectors batch further (200 / 100)


@dataclass
class PushSummary:
    """What one CRM's push did."""

    changes: int = 0
    written: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def push_diffs(store: Store, source: Source, kind: Kind, diffs: Iterable[FieldDiff],
               run_id: int, summary: PushSummary) -> None:
    """Write each diff once; store every row's outcome for the next run to retry failures."""
    chunk: list[FieldDiff] = []
    for found in diffs:
        chunk.append(found)
        if len(chunk) >= PUSH_CHUNK:
            _push_chunk(store, source, kind, chunk, run_id, summary)
            chunk = []
    if chunk:
        _push_chunk(store, source, kind, chunk, run_id, summary)


def _push_chunk(store: Store, source: Source, kind: Kind, chunk: list[FieldDiff],
                run_id: int, summary: PushSummary) -> None:
    updates = [RecordUpdate(kind, d.record_id, source.writeback_fields(kind, new_values(d)))
               for d in chunk]
    updates = [u for u in updates if u.fields]
    summary.changes += len(updates)
    if not updates:
        return
    updates = _clear_first(store, source, kind, updates, run_id, summary)
    results = source.connector.push_updates(updates) if updates else []
    rows = []
    for update, result in zip(updates, results, strict=True):
        rows.append(PushRow(kind, update.record_id, update.fields, result.ok,
                            result.error_code, result.message))
        if result.ok:
            summary.written += 1
        else:
            summary.failed += 1
            summary.errors.append({"source": source.name, "kind": kind,
                                   "record_id": update.record_id, "code": result.error_code,
                                   "message": result.message})
    store.record_push_results(run_id, source.name, rows)


def _clear_first(store: Store, source: Source, kind: Kind, updates: list[RecordUpdate],
                 run_id: int, summary: PushSummary) -> list[RecordUpdate]:
    """Send the blanking updates some fields need first (HubSpot lifecyclestage moves back only
    from empty); a row whose blanking failed is not sent further, its error is stored."""
    clears = [RecordUpdate(kind, u.record_id, source.clear_first(kind, u.fields))
              for u in updates]
    clears = [c for c in clears if c.fields]
    if not clears:
        return updates
    failed: set[str] = set()
    rows = []
    for clear, result in zip(clears, source.connector.push_updates(clears), strict=True):
        if not result.ok:
            failed.add(clear.record_id)
            rows.append(PushRow(kind, clear.record_id, clear.fields, False, result.error_code,
                                result.message))
            summary.failed += 1
            summary.errors.append({"source": source.name, "kind": kind,
                                   "record_id": clear.record_id, "code": result.error_code,
                                   "message": result.message})
    if rows:
        store.record_push_results(run_id, source.name, rows)
    return [u for u in updates if u.record_id not in failed]


def new_values(found: FieldDiff) -> dict[str, Any]:
    """The desired values of a diff, keyed by normalised key."""
    return {key: new for key, (_old, new) in found.changes.items()}
