"""The ``lead_timers`` table: SLA timers and nurture's lost-since mark, one row per lead.

Registered on the store's metadata (so ``Store.open`` creates it when this module was imported
first) and created with CREATE TABLE IF NOT EXISTS semantics on first use otherwise; no schema
version bump is needed because the table is new and optional.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.rules.sla import LeadTimer
from funnelsync.store.api import Store
from funnelsync.store.schema import ID, UTCDateTime, metadata

lead_timers = sa.Table(
    "lead_timers", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("lead_id", ID, primary_key=True),
    sa.Column("mql_at", UTCDateTime),
    sa.Column("mql_status", sa.String(255)),
    sa.Column("activity_at_mql", UTCDateTime),
    sa.Column("owner_id", ID),
    sa.Column("lead_source", sa.String(255)),
    sa.Column("touched_at", UTCDateTime),
    sa.Column("touch_kind", sa.String(16)),
    sa.Column("baseline", sa.Boolean, nullable=False, default=False),
    sa.Column("lost_since", UTCDateTime),
)
_FIELDS = ("mql_at", "mql_status", "activity_at_mql", "owner_id", "lead_source", "touched_at",
           "touch_kind", "baseline", "lost_since")


def _ensure(conn: Connection) -> None:
    lead_timers.create(conn, checkfirst=True)


def load_timers(store: Store, source: str) -> dict[str, LeadTimer]:
    """Every stored timer of one CRM, by lead id."""
    return {t.lead_id: t for t in iter_timers(store, source)}


def iter_timers(store: Store, source: str | None = None) -> Iterator[LeadTimer]:
    """Stored timers (of one CRM, or all) ordered by source and lead id."""
    with store._write() as conn:  # noqa: SLF001 - the table lives beside the store
        _ensure(conn)
    query = sa.select(lead_timers).order_by(lead_timers.c.source, lead_timers.c.lead_id)
    if source is not None:
        query = query.where(lead_timers.c.source == source)
    with store._read() as conn:  # noqa: SLF001
        for row in conn.execution_options(yield_per=1000).execute(query):
            yield LeadTimer(row.lead_id, **{f: getattr(row, f) for f in _FIELDS})


def iter_timer_rows(store: Store) -> Iterator[tuple[str, LeadTimer]]:
    """(source, timer) for every stored timer (for reports)."""
    with store._write() as conn:  # noqa: SLF001
        _ensure(conn)
    query = sa.select(lead_timers).order_by(lead_timers.c.source, lead_timers.c.lead_id)
    with store._read() as conn:  # noqa: SLF001
        for row in conn.execute(query):
            yield row.source, LeadTimer(row.lead_id, **{f: getattr(row, f) for f in _FIELDS})


def save_timers(store: Store, source: str, changed: Iterable[LeadTimer],
                removed: Iterable[str] = ()) -> None:
    """Upsert changed timers and delete removed ones, in one transaction."""
    rows = [_row(source, t) for t in changed]
    gone = list(removed)
    with store._write() as conn:  # noqa: SLF001
        _ensure(conn)
        for start in range(0, len(gone), 500):
            conn.execute(lead_timers.delete().where(
                lead_timers.c.source == source, lead_timers.c.lead_id.in_(gone[start:start + 500])))
        if rows:
            ins = store._insert(lead_timers)  # noqa: SLF001
            ins = ins.on_conflict_do_update(index_elements=["source", "lead_id"], set_={
                f: ins.excluded[f] for f in _FIELDS})
            conn.execute(ins, rows)


def _row(source: str, timer: LeadTimer) -> dict[str, Any]:
    return {"source": source, "lead_id": timer.lead_id,
            **{f: getattr(timer, f) for f in _FIELDS}}


__all__ = ["iter_timer_rows", "iter_timers", "lead_timers", "load_timers", "save_timers"]
