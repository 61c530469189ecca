"""Follow-ups of the state store: one task per record and kind, and its lifecycle.

Statuses: ``waiting`` (reasons hold; no task yet, e.g. held back by a cap), ``pending`` (a task
is being created right now: set *before* the CRM call, so after a crash the sync looks the task
up by its marker instead of creating a second), ``open`` (the task exists), ``dismissed`` (the
rep completed or deleted the task while its reasons still held), ``closed`` (history). At most
one follow-up per (source, record_id, kind) is not closed (a partial unique index).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from funnelsync.store.connection import StoreBase
from funnelsync.store.models import FollowUp, FollowUpStatus
from funnelsync.store.schema import follow_ups

_LIVE = follow_ups.c.status != "closed"
_DEFAULTS: dict[str, Any] = {"task_id": None, "owner_id": None, "reasons": [],
                             "acknowledged": [], "priority": 0.0, "snoozed_until": None,
                             "task_created_at": None, "closed_at": None, "note": None}


class FollowUpsMixin(StoreBase):
    """follow_ups table."""

    def live_follow_ups(self, source: str,
                        kinds: Collection[str]) -> dict[tuple[str, str], FollowUp]:
        """Follow-ups of these kinds that are not closed, keyed by (record_id, kind)."""
        query = (sa.select(follow_ups).where(follow_ups.c.source == source, _LIVE,
                                             follow_ups.c.kind.in_(list(kinds)))
                 .order_by(follow_ups.c.follow_up_id))
        with self._read() as conn:
            return {(r.record_id, r.kind): _follow_up(r) for r in conn.execute(query)}

    def save_follow_ups(self, source: str, changes: Sequence[tuple[int, dict[str, Any]]] = (),
                        new: Sequence[dict[str, Any]] = (), now: datetime | None = None
                        ) -> dict[tuple[str, str], FollowUp]:
        """In one transaction: change follow-ups by id (status ``closed`` stamps ``closed_at``),
        then insert ``new`` ones (``record_id``, ``kind``, ``status`` and any other column).
        Returns the inserted follow-ups keyed by (record_id, kind)."""
        at = self._now(now)
        with self._write() as conn:
            for follow_up_id, values in changes:
                extra = {"closed_at": at} if values.get("status") == "closed" else {}
                conn.execute(follow_ups.update()
                             .where(follow_ups.c.follow_up_id == follow_up_id)
                             .values(updated_at=at, **values, **extra))
            if not new:
                return {}
            conn.execute(follow_ups.insert(), [
                {**_DEFAULTS, **row, "source": source, "opened_at": at, "updated_at": at}
                for row in new])
            keys = {(row["record_id"], row["kind"]) for row in new}
            rows = conn.execute(sa.select(follow_ups).where(
                follow_ups.c.source == source, _LIVE,
                follow_ups.c.record_id.in_(sorted({k[0] for k in keys}))))
            return {(r.record_id, r.kind): _follow_up(r) for r in rows
                    if (r.record_id, r.kind) in keys}

    def tasks_created_per_owner(self, source: str, kind: str,
                                since: datetime) -> dict[str | None, int]:
        """How many follow-up tasks of ``kind`` were created for each owner after ``since``."""
        query = (sa.select(follow_ups.c.owner_id, sa.func.count())
                 .where(follow_ups.c.source == source, follow_ups.c.kind == kind,
                        follow_ups.c.task_created_at > since)
                 .group_by(follow_ups.c.owner_id))
        with self._read() as conn:
            return {owner: int(count) for owner, count in conn.execute(query)}

    def iter_follow_ups(self, source: str | None = None, record_id: str | None = None,
                        statuses: Sequence[FollowUpStatus] | None = None) -> Iterator[FollowUp]:
        """Follow-ups by id, filtered by source, record and status."""
        for row in self._iter_filtered(follow_ups, follow_ups.c.follow_up_id, source, record_id,
                                       statuses):
            yield _follow_up(row)


def _follow_up(row: sa.Row[Any]) -> FollowUp:
    return FollowUp(
        follow_up_id=row.follow_up_id, source=row.source, record_id=row.record_id,
        kind=row.kind, status=row.status, task_id=row.task_id, owner_id=row.owner_id,
        reasons=list(row.reasons or []), acknowledged=list(row.acknowledged or []),
        priority=row.priority, snoozed_until=row.snoozed_until, opened_at=row.opened_at,
        updated_at=row.updated_at, task_created_at=row.task_created_at,
        closed_at=row.closed_at, note=row.note)
