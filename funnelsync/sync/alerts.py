"""Stale-deal alerts: one per (deal, reason), a follow-up task for its owner, never twice.

Each alert is marked ``pending`` in the store *before* its task is created, and the task's
subject carries a marker derived from (source, deal, reason). After a crash between the CRM call
and the store update, the next run finds the task by that marker instead of creating another.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import RowResult, TaskSpec
from funnelsync.crm.source import Source
from funnelsync.mapping.schema import FunnelDeal, StageChange
from funnelsync.rules.stale import StaleReason, stale_reasons
from funnelsync.store import Alert, Store

LEAD_REASONS = frozenset({"sla_first_touch", "sla_escalation", "nurture_reentry"})


@dataclass
class AlertSummary:
    """What the alert step did for one CRM (or would do, in a dry run)."""

    opened: int = 0
    resolved: int = 0
    tasks_created: int = 0
    tasks_deferred: int = 0
    open_total: int = 0
    planned_tasks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    new_alerts: list[dict[str, Any]] = field(default_factory=list)


def marker(source: str, record_id: str, reason: str) -> str:
    """A short stable tag for one alert, written into its task's subject."""
    digest = hashlib.sha1(f"{source}|{record_id}|{reason}".encode()).hexdigest()[:10]
    return f"[fs:{digest}]"


def current_reasons(store: Store, source: Source, config: AppConfig, now: datetime
                    ) -> dict[tuple[str, str], tuple[StaleReason, FunnelDeal]]:
    """Every (deal id, reason) that holds now for the CRM's live open deals."""
    history: dict[str, list[StageChange]] = defaultdict(list)
    for change in store.iter_stage_changes(source.name):
        history[change.record_id].append(change)
    found: dict[tuple[str, str], tuple[StaleReason, FunnelDeal]] = {}
    for stored in store.iter_records(source.name, "deals"):
        deal = stored.to_model()
        assert isinstance(deal, FunnelDeal)
        stage_of = source.stage_of(deal)
        for reason in stale_reasons(deal, history.get(deal.source_id, []), config, now,
                                    stage_of=stage_of):
            found[(deal.source_id, reason.code)] = (reason, deal)
    return found


def run_alerts(store: Store, source: Source, config: AppConfig, now: datetime, *,
               dry_run: bool) -> AlertSummary:
    """Open, keep and resolve alerts; create the missing tasks. Store writes are batched."""
    summary = AlertSummary()
    wanted = current_reasons(store, source, config, now)
    existing = {(a.record_id, a.reason): a for a in store.open_alerts(source.name)
                if a.reason not in LEAD_REASONS}  # lead alerts belong to the lead operations
    gone = [alert for key, alert in existing.items() if key not in wanted]
    summary.resolved = len(gone)
    fresh = [(reason, deal) for key, (reason, deal) in wanted.items() if key not in existing]
    summary.opened = len(fresh)
    summary.new_alerts = [_alert_json(source.name, deal, reason) for reason, deal in fresh]
    summary.open_total = len(wanted)
    if dry_run:
        if config.alerts.create_tasks:
            planned = [_task_json(source.name, deal, reason)
                       for key, (reason, deal) in wanted.items()
                       if key not in existing or not existing[key].task_id]
            summary.planned_tasks = _capped(planned, config, summary)
        return summary
    store.update_alerts_bulk([(a.alert_id, {"status": "resolved"}) for a in gone], now)
    current = store.open_alerts_bulk(
        source.name, [(deal.source_id, reason.code, reason.evidence)
                      for reason, deal in wanted.values()], now)
    if config.alerts.create_tasks:
        need = [(current[key], reason.code, _task_spec(source.name, deal, reason, config, now))
                for key, (reason, deal) in wanted.items() if not current[key].task_id]
        need.sort(key=lambda item: (item[0].opened_at, item[0].alert_id))  # oldest first
        ensure_tasks(store, source, now, _capped(need, config, summary), summary)
    return summary


T = TypeVar("T")


def _capped(items: list[T], config: AppConfig, summary: AlertSummary) -> list[T]:
    """At most ``alerts.max_new_tasks_per_run`` items; the rest are counted as deferred (their
    alerts stay open without a task, so a later run creates them)."""
    cap = config.alerts.max_new_tasks_per_run
    if cap is None or len(items) <= cap:
        return items
    summary.tasks_deferred += len(items) - cap
    return items[:cap]


def ensure_tasks(store: Store, source: Source, now: datetime,
                 need: Sequence[tuple[Alert, str, TaskSpec]], summary: AlertSummary) -> None:
    """Create the task of each (alert, reason, spec) that has none, exactly once.

    Alerts left pending by a crashed run first look for their task by marker; the rest are
    marked pending before the CRM call and get their task id after it. ``spec.deal_id`` is
    the record the task is about (a deal, or a lead when ``spec.target == "lead"``).
    """
    if not need:
        return
    adopted = _adopt_existing_tasks(store, source, [n for n in need if n[0].status == "pending"],
                                    now)
    todo = [n for n in need if n[0].alert_id not in adopted]
    store.update_alerts_bulk([(a.alert_id, {"status": "pending"}) for a, _, _ in todo], now)
    results = _create_with_owner_fallback(source, [spec for _, _, spec in todo])
    done = []
    for (alert, _, spec), result in zip(todo, results, strict=True):
        if result.ok and result.created_id:
            done.append((alert.alert_id, {"status": "open", "task_id": result.created_id}))
        else:
            summary.errors.append({"source": source.name, "kind": "task",
                                   "record_id": spec.deal_id, "code": result.error_code,
                                   "message": result.message})
    store.update_alerts_bulk(done, now)
    summary.tasks_created += len(done)


INACTIVE_OWNER_CODES = frozenset({"INACTIVE_OWNER_OR_USER", "INVALID_OWNER_ID"})


def _create_with_owner_fallback(source: Source, specs: list[TaskSpec]) -> list[RowResult]:
    """Create tasks; a task whose owner is inactive goes to the integration user instead,
    with a note in its body, rather than being lost."""
    if not specs:
        return []
    inactive = source.inactive_owner_ids()
    specs = [_unowned(spec) if spec.owner_id in inactive else spec for spec in specs]
    results = source.connector.create_tasks(specs)
    again = [i for i, r in enumerate(results)
             if not r.ok and r.error_code in INACTIVE_OWNER_CODES and specs[i].owner_id]
    if again:
        retry = [_unowned(specs[i]) for i in again]
        for index, result in zip(again, source.connector.create_tasks(retry), strict=True):
            results[index] = result
    return results


def _unowned(spec: TaskSpec) -> TaskSpec:
    """A task for an inactive owner goes to the integration user, saying so."""
    return replace(spec, owner_id=None, body=spec.body + f"\nThe deal owner {spec.owner_id} is "
                                                         "inactive; please reassign.")


def _adopt_existing_tasks(store: Store, source: Source,
                          pending: Sequence[tuple[Alert, str, TaskSpec]],
                          now: datetime) -> set[int]:
    """Tasks a crashed run created but did not record: find them by marker."""
    by_marker: dict[str, dict[str, Any]] = {}
    for target in sorted({spec.target for _, _, spec in pending}):
        ids = sorted({spec.deal_id for _, _, spec in pending if spec.target == target})
        for task in source.connector.find_tasks(ids, target=target):
            subject = str(task.get("subject") or "")
            if "[fs:" in subject:
                by_marker[subject[subject.index("[fs:"):].split("]")[0] + "]"] = task
    found = []
    for alert, reason, spec in pending:
        task = by_marker.get(marker(source.name, spec.deal_id, reason))
        if task is not None:
            found.append((alert.alert_id, {"status": "open", "task_id": str(task["id"])}))
    store.update_alerts_bulk(found, now)
    return {alert_id for alert_id, _ in found}


def _subject(source: str, deal: FunnelDeal, reason: StaleReason) -> str:
    name = deal.name or deal.source_id
    return f"Stale deal: {name}: {reason.message} {marker(source, deal.source_id, reason.code)}"


def _task_spec(source: str, deal: FunnelDeal, reason: StaleReason, config: AppConfig,
               now: datetime) -> TaskSpec:
    body = (f"{reason.message}\nEvidence: {json.dumps(reason.evidence, sort_keys=True)}\n"
            "Opened by funnelsync; it resolves the alert when the condition clears.")
    due = (now + timedelta(days=config.alerts.task_due_days)).date()
    return TaskSpec(deal_id=deal.source_id, subject=_subject(source, deal, reason)[:255],
                    body=body, due=due, owner_id=deal.owner_id)


def _task_json(source: str, deal: FunnelDeal, reason: StaleReason) -> dict[str, Any]:
    return {"source": source, "deal_id": deal.source_id, "owner_id": deal.owner_id,
            "reason": reason.code, "subject": _subject(source, deal, reason)}


def _alert_json(source: str, deal: FunnelDeal, reason: StaleReason) -> dict[str, Any]:
    return {"source": source, "deal_id": deal.source_id, "reason": reason.code,
            "message": reason.message, "evidence": reason.evidence}
