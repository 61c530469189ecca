"""Row conversions and batch look-ups behind ``Store`` (records, stage changes, catalog)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.errors import DataError
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.store.connection import chunked
from funnelsync.store.models import RecordKind, StoredRecord, UpsertStats, content_hash
from funnelsync.store.schema import (
    alerts,
    follow_ups,
    normalise_email,
    push_results,
    records,
    stage_changes,
)

_MODEL_FOR_KIND: dict[str, type[FunnelLead] | type[FunnelDeal]] = {
    "leads": FunnelLead, "deals": FunnelDeal}
_LOOKUP_CHUNK = 1000  # ids per IN (...) lookup: well under every driver's parameter limit


def stream_kind(stream: str) -> RecordKind:
    if stream not in _MODEL_FOR_KIND:
        raise ValueError(f"unknown stream {stream!r}: use leads, deals or stage_changes")
    return "leads" if stream == "leads" else "deals"


def require_models(items: Sequence[Any], model: type, source: str) -> Sequence[Any]:
    for item in items:
        if not isinstance(item, model) or item.source != source:
            raise DataError(f"expected {model.__name__} from {source}, got "
                            f"{type(item).__name__} from {getattr(item, 'source', '?')}",
                            source=source)
    return items


def record_row(source: str, kind: RecordKind, item: FunnelLead | FunnelDeal,
                run_id: int) -> dict[str, Any]:
    require_models([item], _MODEL_FOR_KIND[kind], source)
    data = item.model_dump(mode="json")
    return {"source": source, "kind": kind, "id": item.source_id, "data": data,
            "funnel_stage": item.funnel_stage, "content_hash": content_hash(data),
            "is_deleted": item.is_deleted, "updated_at": item.updated_at,
            "first_seen_run": run_id, "changed_run": run_id,
            "email": normalise_email(getattr(item, "email", None)), "owner_id": item.owner_id}


def existing_records(conn: Connection, source: str, kind: str,
              ids: list[str]) -> dict[str, sa.Row[Any]]:
    found: dict[str, sa.Row[Any]] = {}
    for chunk in chunked(ids, _LOOKUP_CHUNK):
        query = sa.select(records.c.id, records.c.content_hash, records.c.is_deleted,
                          records.c.updated_at).where(
            records.c.source == source, records.c.kind == kind, records.c.id.in_(chunk))
        found.update((row.id, row) for row in conn.execute(query))
    return found


def change_key(change: StageChange) -> tuple[str, str, str, datetime]:
    return change.source, change.record_id, change.to_stage, change.changed_at


def existing_changes(conn: Connection,
                      wanted: dict[tuple[str, str, str, datetime], StageChange]) -> list[Any]:
    c = stage_changes.c
    found = []
    for source in {key[0] for key in wanted}:
        ids = sorted({key[1] for key in wanted if key[0] == source})
        for chunk in chunked(ids, _LOOKUP_CHUNK):
            query = sa.select(c.source, c.record_id, c.to_stage, c.changed_at).where(
                c.source == source, c.record_id.in_(chunk))
            found.extend(key for key in map(tuple, conn.execute(query)) if key in wanted)
    return found


def classify(rows: dict[str, dict[str, Any]],
              before: dict[str, sa.Row[Any]]) -> tuple[list[dict[str, Any]], UpsertStats]:
    writes: list[dict[str, Any]] = []
    inserted = updated = unchanged = deleted = 0
    for record_id, row in rows.items():
        old = before.get(record_id)
        if old is None:
            inserted += 1
            deleted += row["is_deleted"]
        elif old.content_hash == row["content_hash"]:
            unchanged += 1
            if old.updated_at == row["updated_at"]:
                continue  # nothing at all to write
        else:
            updated += 1
            deleted += row["is_deleted"] and not old.is_deleted
        writes.append(row)
    return writes, UpsertStats(inserted, updated, unchanged, deleted)


def delete_record_trail(conn: Connection, source: str, kind: str, record_id: str) -> None:
    conn.execute(stage_changes.delete().where(stage_changes.c.source == source,
                                              stage_changes.c.record_id == record_id))
    conn.execute(alerts.delete().where(alerts.c.source == source,
                                       alerts.c.record_id == record_id))
    conn.execute(follow_ups.delete().where(follow_ups.c.source == source,
                                           follow_ups.c.record_id == record_id))
    conn.execute(push_results.delete().where(push_results.c.source == source,
                                             push_results.c.kind == kind,
                                             push_results.c.record_id == record_id))


def stored_record(row: sa.Row[Any]) -> StoredRecord:
    return StoredRecord(source=row.source, kind=row.kind, id=row.id, data=row.data,
                        funnel_stage=row.funnel_stage, content_hash=row.content_hash,
                        is_deleted=row.is_deleted, updated_at=row.updated_at,
                        first_seen_run=row.first_seen_run, changed_run=row.changed_run,
                        email=row.email, owner_id=row.owner_id)


def catalog_row(stage: CatalogStage) -> dict[str, Any]:
    return {"source": stage.source, "kind": stage.kind, "pipeline": stage.pipeline or "",
            "stage": stage.stage, "label": stage.label, "position": stage.order,
            "probability": stage.probability, "is_closed": stage.is_closed,
            "is_won": stage.is_won, "active": stage.active}


def catalog_stage(row: sa.Row[Any]) -> CatalogStage:
    return CatalogStage(source=row.source, kind=row.kind, pipeline=row.pipeline or None,
                        stage=row.stage, label=row.label, order=row.position,
                        probability=row.probability, is_closed=row.is_closed,
                        is_won=row.is_won, active=row.active)
