"""Push results and alerts of the state store.

An alert is one reason holding for one record: ``open`` while it holds, ``resolved`` (history)
once it cleared. At most one alert per (source, record_id, reason) is not resolved (a partial
unique index); a new one may open later. The CRM task lives on the record's follow-up
(``store.follow_ups``), not on the alert.

Earlier versions gave every alert its own task (``task_id``; ``pending`` while it was being
created). Those alerts are "legacy" until their task has been folded into the record's
follow-up, which ``mark_alerts_folded`` records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.store.connection import StoreBase
from funnelsync.store.models import Alert, AlertStatus, PushResult, PushRow
from funnelsync.store.schema import ALERT_UNRESOLVED_WHERE, alerts, push_results


class AlertsMixin(StoreBase):
    """push_results and alerts tables."""

    # -- push results -------------------------------------------------------------------------
    def record_push_results(self, run_id: int, source: str, rows: Sequence[PushRow],
                            now: datetime | None = None) -> int:
        """Store one result per written row (ok or error); returns how many were stored."""
        at = self._now(now)
        values = [{"run_id": run_id, "source": source, "kind": r.kind, "record_id": r.record_id,
                   "fields": dict(r.fields), "ok": r.ok, "error_code": r.error_code,
                   "message": r.message, "at": at} for r in rows]
        if values:
            with self._write() as conn:
                conn.execute(push_results.insert(), values)
        return len(values)

    def failed_writes(self, source: str | None = None) -> list[PushResult]:
        """Records whose latest push result failed (to retry next run), oldest first."""
        key = (push_results.c.source, push_results.c.kind, push_results.c.record_id)
        latest = sa.select(sa.func.max(push_results.c.seq)).group_by(*key)
        if source is not None:
            latest = latest.where(push_results.c.source == source)
        query = (sa.select(push_results).where(push_results.c.seq.in_(latest),
                                               push_results.c.ok.is_(False))
                 .order_by(push_results.c.seq))
        with self._read() as conn:
            return [_push_result(row) for row in conn.execute(query)]

    def iter_push_results(self, run_id: int | None = None) -> Iterator[PushResult]:
        """Stored push results in the order they were recorded."""
        query = sa.select(push_results).order_by(push_results.c.seq)
        if run_id is not None:
            query = query.where(push_results.c.run_id == run_id)
        with self._read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield _push_result(row)

    # -- alerts -------------------------------------------------------------------------------
    def open_alert(self, source: str, record_id: str, reason: str, evidence: dict[str, Any],
                   now: datetime | None = None) -> tuple[Alert, bool]:
        """The unresolved alert for (source, record_id, reason), opening it if there is none.

        Returns (alert, created). An existing alert keeps its status and task and takes the new
        evidence (e.g. the days-in-stage grow).
        """
        at = self._now(now)
        ins = self._insert(alerts).values(
            source=source, record_id=record_id, reason=reason, status="open", task_id=None,
            evidence=dict(evidence), opened_at=at, updated_at=at)
        ins = ins.on_conflict_do_nothing(index_elements=["source", "record_id", "reason"],
                                         index_where=ALERT_UNRESOLVED_WHERE)
        with self._write() as conn:
            # A row comes back only if the insert happened (rowcount is -1 on psycopg here).
            created = conn.execute(ins.returning(alerts.c.alert_id)).first() is not None
            where = (alerts.c.source == source, alerts.c.record_id == record_id,
                     alerts.c.reason == reason, ALERT_UNRESOLVED_WHERE)
            if not created:
                conn.execute(alerts.update().where(*where).values(evidence=dict(evidence),
                                                                  updated_at=at))
            row = conn.execute(sa.select(alerts).where(*where)).one()
        return _alert(row), created

    def open_alerts_bulk(self, source: str,
                         items: Sequence[tuple[str, str, dict[str, Any]]],
                         now: datetime | None = None) -> dict[tuple[str, str], Alert]:
        """``open_alert`` for many (record_id, reason, evidence) at once, in one transaction.

        New alerts are inserted; unresolved ones whose evidence changed are updated. Returns
        every unresolved alert of ``source`` keyed by (record_id, reason).
        """
        at = self._now(now)
        with self._write() as conn:
            current = {(r.record_id, r.reason): r for r in conn.execute(
                sa.select(alerts).where(alerts.c.source == source, ALERT_UNRESOLVED_WHERE))}
            new = [{"source": source, "record_id": rid, "reason": reason, "status": "open",
                    "task_id": None, "evidence": dict(ev), "opened_at": at, "updated_at": at}
                   for rid, reason, ev in items if (rid, reason) not in current]
            changed = [{"b_id": current[(rid, reason)].alert_id, "b_evidence": dict(ev),
                        "b_at": at} for rid, reason, ev in items
                       if (rid, reason) in current and current[(rid, reason)].evidence != ev]
            if new:
                conn.execute(alerts.insert(), new)
            if changed:
                conn.execute(alerts.update().where(alerts.c.alert_id == sa.bindparam("b_id"))
                             .values(evidence=sa.bindparam("b_evidence"),
                                     updated_at=sa.bindparam("b_at")), changed)
            rows = conn.execute(sa.select(alerts).where(alerts.c.source == source,
                                                        ALERT_UNRESOLVED_WHERE))
            return {(r.record_id, r.reason): _alert(r) for r in rows}

    def update_alerts_bulk(self, changes: Sequence[tuple[int, dict[str, Any]]],
                           now: datetime | None = None) -> int:
        """Set ``status`` / ``task_id`` / ``resolved_at`` on many unresolved alerts at once."""
        at = self._now(now)
        done = 0
        with self._write() as conn:
            for alert_id, values in changes:
                extra = {"resolved_at": at} if values.get("status") == "resolved" else {}
                done += conn.execute(alerts.update().where(
                    alerts.c.alert_id == alert_id, alerts.c.status != "resolved")
                    .values(updated_at=at, **values, **extra)).rowcount
        return done

    def legacy_task_alerts(self, source: str) -> list[Alert]:
        """Alerts whose own task (from an earlier version) is not yet folded, by id."""
        query = (sa.select(alerts).where(
            alerts.c.source == source, alerts.c.folded_at.is_(None),
            sa.or_(alerts.c.task_id.is_not(None), alerts.c.status == "pending"))
            .order_by(alerts.c.alert_id))
        with self._read() as conn:
            return [_alert(row) for row in conn.execute(query)]

    def mark_alerts_folded(self, alert_ids: Sequence[int], now: datetime | None = None) -> int:
        """Their tasks are folded into their records' follow-ups; returns how many rows."""
        at = self._now(now)
        done = 0
        with self._write() as conn:
            for start in range(0, len(alert_ids), 500):
                done += conn.execute(alerts.update().where(
                    alerts.c.alert_id.in_(list(alert_ids[start:start + 500])))
                    .values(folded_at=at)).rowcount
        return done

    def mark_alert_pending(self, alert_id: int, now: datetime | None = None) -> Alert:
        """Note that a task for this alert is being created (call before the CRM call)."""
        return self._change_alert(alert_id, {"status": "pending"}, now)

    def set_alert_task(self, alert_id: int, task_id: str, now: datetime | None = None) -> Alert:
        """Record the CRM task of this alert; the alert is ``open`` again."""
        return self._change_alert(alert_id, {"status": "open", "task_id": task_id}, now)

    def resolve_alert(self, alert_id: int, now: datetime | None = None) -> Alert:
        """The condition cleared: the alert becomes history (a new one may open later)."""
        at = self._now(now)
        return self._change_alert(alert_id, {"status": "resolved", "resolved_at": at}, at)

    def get_alert(self, alert_id: int) -> Alert | None:
        with self._read() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).first()
        return _alert(row) if row else None

    def open_alerts(self, source: str | None = None) -> list[Alert]:
        """Alerts that are not resolved (status open or pending), by id."""
        return list(self.iter_alerts(source=source, statuses=("open", "pending")))

    def iter_alerts(self, source: str | None = None, record_id: str | None = None,
                    statuses: Sequence[AlertStatus] | None = None) -> Iterator[Alert]:
        """Alerts by id, filtered by source, record and status."""
        for row in self._iter_filtered(alerts, alerts.c.alert_id, source, record_id, statuses):
            yield _alert(row)

    def _change_alert(self, alert_id: int, values: dict[str, Any],
                      now: datetime | None) -> Alert:
        with self._write() as conn:
            _require_unresolved(conn, alert_id)
            conn.execute(alerts.update().where(alerts.c.alert_id == alert_id)
                         .values(updated_at=self._now(now), **values))
            return _alert(conn.execute(sa.select(alerts)
                                       .where(alerts.c.alert_id == alert_id)).one())


def _require_unresolved(conn: Connection, alert_id: int) -> None:
    status = conn.execute(sa.select(alerts.c.status)
                          .where(alerts.c.alert_id == alert_id)).scalar()
    if status is None:
        raise ValueError(f"no alert {alert_id} in the state store")
    if status == "resolved":
        raise ValueError(f"alert {alert_id} is already resolved")


def _alert(row: sa.Row[Any]) -> Alert:
    return Alert(alert_id=row.alert_id, source=row.source, record_id=row.record_id,
                 reason=row.reason, status=row.status, task_id=row.task_id,
                 evidence=row.evidence, opened_at=row.opened_at, updated_at=row.updated_at,
                 resolved_at=row.resolved_at)


def _push_result(row: sa.Row[Any]) -> PushResult:
    return PushResult(run_id=row.run_id, source=row.source, kind=row.kind,
                      record_id=row.record_id, fields=row.fields, ok=row.ok,
                      error_code=row.error_code, message=row.message, at=row.at)
