"""Lead alerts and their follow-up tasks: one alert per (lead, reason); one open task per lead
for its owner (first-touch SLA, nurture re-entry) and one for whoever an escalation goes to.

An escalation is a task for someone else (the owner's manager or the escalation owner), so it
is a follow-up of its own rather than a line in the owner's task. Tasks sit on the lead
(Salesforce Task with WhoId; HubSpot task associated with the contact, type 204) and follow the
same lifecycle as stale-deal tasks (``sync.follow_ups``): crash-safe creation by marker,
rewritten when reasons change, completed when none is left, the rep's action wins.
Escalations may also go to a webhook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.config.operations import SlaConfig
from funnelsync.crm.source import Source
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.follow_ups import ReasonLine, Wanted
from funnelsync.rules.routing import OwnerDirectory
from funnelsync.rules.sla import ESCALATION
from funnelsync.store import Store
from funnelsync.sync.alerts import AlertSummary
from funnelsync.sync.follow_ups import FollowUpRun, reconcile
from funnelsync.sync.legacy_tasks import fold_legacy_tasks
from funnelsync.sync.webhook import post_webhook

TITLES = {"sla_first_touch": "SLA: first touch overdue",
          "sla_escalation": "SLA escalation: MQL untouched",
          "nurture_reentry": "Nurture re-entry"}
ORDER = ("sla_first_touch", "nurture_reentry", "sla_escalation")  # the title's reason first
KINDS = {"sla_first_touch": "lead", "nurture_reentry": "lead", "sla_escalation": "escalation"}


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
    """Resolve alerts that no longer hold, open new ones, keep each lead's tasks in line."""
    summary = AlertSummary()
    existing = {(a.record_id, a.reason): a for a in store.open_alerts(source.name)
                if a.reason in reasons}
    gone = [alert for key, alert in existing.items() if key not in wanted]
    fresh = [item for key, item in wanted.items() if key not in existing]
    summary.resolved, summary.opened, summary.open_total = len(gone), len(fresh), len(wanted)
    if not dry_run:
        store.update_alerts_bulk([(a.alert_id, {"status": "resolved"}) for a in gone], now)
        store.open_alerts_bulk(source.name, [(i.lead.source_id, i.reason, i.evidence)
                                             for i in wanted.values()], now)
    if config.alerts.create_tasks:
        run = FollowUpRun(store, source, config, now, dry_run, frozenset(KINDS.values()),
                          resolution=_resolution)
        follow = lead_follow_ups([i for i in wanted.values() if _wants_task(i, config)])
        folded = fold_legacy_tasks(run, follow, KINDS.get)
        summary.add_tasks(reconcile(run, follow, {
            **store.live_follow_ups(source.name, run.kinds), **folded}))
    return summary, ([] if dry_run else _escalate(config, fresh))


def lead_follow_ups(items: list[LeadAlert]) -> dict[tuple[str, str], Wanted]:
    """One follow-up per lead and kind: the owner's (first touch, re-entry), the escalation."""
    groups: dict[tuple[str, str], list[LeadAlert]] = {}
    for item in sorted(items, key=lambda i: ORDER.index(i.reason)):
        groups.setdefault((item.lead.source_id, KINDS[item.reason]), []).append(item)
    return {key: _follow_up(key[1], group) for key, group in groups.items()}


def _follow_up(kind: str, group: list[LeadAlert]) -> Wanted:
    lead = group[0].lead
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.source_id
    lines = tuple(ReasonLine(i.reason, i.reason, i.message, i.evidence) for i in group)
    return Wanted(lead.source_id, kind, "lead", f"{TITLES[group[0].reason]}: {name}", lines,
                  group[0].assignee)


def _resolution(lead_id: str, kind: str, lines: Sequence[ReasonLine]) -> str:
    codes = {line.code for line in lines}
    if codes and codes <= {"nurture_reentry"}:
        return "the lead is no longer a re-entry candidate"
    return "the lead was touched (or left the SLA)"


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


def _alert_json(source: str, item: LeadAlert) -> dict[str, Any]:
    return {"source": source, "kind": "lead", "deal_id": item.lead.source_id,
            "record_id": item.lead.source_id, "reason": item.reason, "message": item.message,
            "evidence": item.evidence}


__all__ = ["LeadAlert", "escalation_target", "lead_follow_ups", "reconcile_lead_alerts"]
