"""Lead alerts and their tasks: one alert per (lead, reason), one task per alert, never twice.

The same crash-safe scheme as the stale-deal alerts (``sync.alerts``): the alert is marked
``pending`` before its task is created and the task subject carries a marker, so a run that died
between the CRM call and the store update is followed by one that finds the task instead of
creating a second. Tasks sit on the lead (Salesforce Task with WhoId; HubSpot task associated
with the contact, type 204). Escalations may also go to a webhook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.config.operations import SlaConfig
from funnelsync.connectors.base import TaskSpec
from funnelsync.crm.source import Source
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.routing import OwnerDirectory
from funnelsync.rules.sla import ESCALATION
from funnelsync.store import Alert, Store
from funnelsync.sync.alerts import AlertSummary, ensure_tasks, marker
from funnelsync.sync.webhook import post_webhook

TITLES = {"sla_first_touch": "SLA: first touch overdue",
          "sla_escalation": "SLA escalation: MQL untouched",
          "nurture_reentry": "Nurture re-entry"}


@dataclass(frozen=True)
class LeadAlert:
    """A condition that holds for a lead now, and who should act on it."""

    lead: FunnelLead
    reason: str
    message: str
    evidence: dict[str, Any]
    assignee: str | None


def escalation_target(owner_id: str | None, sla: SlaConfig,
                      directory: OwnerDirectory) -> str | None:
    """The owner's active manager, else the configured escalation owner, else nobody."""
    manager = directory.manager_of(owner_id) if sla.escalate_to_manager else None
    if manager:
        return manager
    if sla.escalation_owner:
        found = directory.resolve(sla.escalation_owner)
        if found is not None and directory.is_active(found.id):
            return found.id
    return None


def reconcile_lead_alerts(store: Store, source: Source, config: AppConfig,
                          directory: OwnerDirectory, wanted: dict[tuple[str, str], LeadAlert],
                          now: datetime, *, dry_run: bool,
                          reasons: frozenset[str]) -> tuple[AlertSummary, list[str]]:
    """Resolve alerts that no longer hold, open new ones, create their missing tasks."""
    summary = AlertSummary()
    existing = {(a.record_id, a.reason): a for a in store.open_alerts(source.name)
                if a.reason in reasons}
    for key, alert in existing.items():
        if key not in wanted:
            summary.resolved += 1
            if not dry_run:
                store.resolve_alert(alert.alert_id, now)
    need: list[tuple[Alert | None, LeadAlert]] = []
    fresh: list[LeadAlert] = []
    for key, item in wanted.items():
        alert = existing.get(key)
        if alert is None:
            summary.opened += 1
            fresh.append(item)
            summary.new_alerts.append(_alert_json(source.name, item))
        if not dry_run:
            alert, _ = store.open_alert(source.name, item.lead.source_id, item.reason,
                                        item.evidence, now)
        if _wants_task(item, config) and (alert is None or not alert.task_id):
            need.append((alert, item))
    summary.open_total = len(wanted)
    if dry_run:
        summary.planned_tasks = [_task_json(source.name, item) for _, item in need]
        return summary, []
    ensure_tasks(store, source, now,
                 [(a, i.reason, _task_spec(source.name, i, config, now))
                  for a, i in need if a is not None], summary)
    return summary, _escalate(config, fresh)


def _wants_task(item: LeadAlert, config: AppConfig) -> bool:
    if not config.alerts.create_tasks:
        return False
    if item.reason == "nurture_reentry":
        return config.nurture is not None and config.nurture.create_task
    # an escalation with nobody to escalate to goes to the webhook only
    return item.reason != ESCALATION or item.assignee is not None


def _escalate(config: AppConfig, fresh: list[LeadAlert]) -> list[str]:
    url = config.sla.escalation_webhook if config.sla else None
    items = [_alert_json(i.lead.source, i) for i in fresh if i.reason == ESCALATION]
    if not url or not items:
        return []
    warning = post_webhook(url, items, title="SLA escalation(s)")
    return [warning] if warning else []


def _subject(source: str, item: LeadAlert) -> str:
    lead = item.lead
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.source_id
    title = TITLES.get(item.reason, item.reason)
    return f"{title}: {name} {marker(source, lead.source_id, item.reason)}"


def _task_spec(source: str, item: LeadAlert, config: AppConfig, now: datetime) -> TaskSpec:
    body = (f"{item.message}\nEvidence: {json.dumps(item.evidence, sort_keys=True)}\n"
            "Opened by funnelsync; the alert resolves when the lead is touched.")
    due = (now + timedelta(days=config.alerts.task_due_days)).date()
    return TaskSpec(deal_id=item.lead.source_id, subject=_subject(source, item)[:255], body=body,
                    due=due, owner_id=item.assignee, target="lead")


def _task_json(source: str, item: LeadAlert) -> dict[str, Any]:
    return {"source": source, "lead_id": item.lead.source_id, "owner_id": item.assignee,
            "reason": item.reason, "subject": _subject(source, item)}


def _alert_json(source: str, item: LeadAlert) -> dict[str, Any]:
    return {"source": source, "kind": "lead", "deal_id": item.lead.source_id,
            "record_id": item.lead.source_id, "reason": item.reason, "message": item.message,
            "evidence": item.evidence}


__all__ = ["LeadAlert", "escalation_target", "reconcile_lead_alerts"]
