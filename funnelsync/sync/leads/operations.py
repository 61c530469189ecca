"""The funnel's operating rules for one CRM's leads: routing, the SLA and nurture re-entry.

Two halves, both driven by the sync job:
- ``LeadOps.decide`` runs inside the evaluation of each changed lead and adds the desired
  ``owner_id`` (routing) and ``status`` (nurture re-entry) to the stage and score, so they go
  through the same diff-and-push (and ``--dry-run`` lists them).
- ``run_lead_ops`` runs after the push over every live lead: it moves the SLA timers and
  nurture's lost-since marks, and opens, keeps and resolves the lead alerts
  (``sla_first_touch``, ``sla_escalation``, ``nurture_reentry``) with one task each (see
  ``leads.tasks``). Nothing is stored in a dry run; the tasks it would create are listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.crm import crm_spec
from funnelsync.crm.source import Source
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.nurture import REENTRY, STATUS_KEY, should_reenter, track_lost
from funnelsync.rules.routing import OWNER_KEY, OwnerDirectory, Router
from funnelsync.rules.sla import (
    ESCALATION,
    LeadTimer,
    breaches,
    hours,
    is_mql,
    observe,
    sla_elapsed,
)
from funnelsync.store import Store
from funnelsync.sync.alerts import LEAD_REASONS, AlertSummary
from funnelsync.sync.evaluate import Evaluator
from funnelsync.sync.leads.tasks import LeadAlert, escalation_target, reconcile_lead_alerts


def routing_state_key(source: str) -> str:
    return f"routing.{source}"


def sla_started_key(source: str) -> str:
    return f"sla.started.{source}"


@dataclass
class LeadOps:
    """Routing and nurture decisions for one CRM, with what they need loaded once a run."""

    source: str
    config: AppConfig
    now: datetime
    directory: OwnerDirectory
    router: Router | None = None
    timers: dict[str, LeadTimer] = field(default_factory=dict)

    def decide(self, lead: FunnelLead, stage: str | None,
               score: float) -> tuple[dict[str, Any], dict[str, str]]:
        """Desired owner and status of one lead (absent: leave as is), with reasons."""
        values: dict[str, Any] = {}
        why: dict[str, str] = {}
        if lead.is_deleted:
            return values, why
        if self.router is not None:
            assignment = self.router.route(lead, stage, score)
            if assignment is not None:
                values[OWNER_KEY], why[OWNER_KEY] = assignment.owner_id, assignment.reason
        status = self._reentry(lead, stage, score)
        if status is not None:
            nurture = self.config.nurture
            assert nurture is not None
            values[STATUS_KEY] = status
            why[STATUS_KEY] = (f"nurture re-entry: score {score:g} >= {nurture.reentry_score:g} "
                               f"after {nurture.quiet_days} quiet days")
        return values, why

    def _reentry(self, lead: FunnelLead, stage: str | None, score: float) -> str | None:
        nurture = self.config.nurture
        if nurture is None or not nurture.enabled:
            return None
        timer = self.timers.get(lead.source_id)
        if not should_reenter(lead, stage, score, timer.lost_since if timer else None, nurture,
                              self.config.funnel.lost_stage, self.now):
            return None
        return self.reentry_value()

    def reentry_value(self) -> str | None:
        """The lead status this CRM's revived leads get (None: nurture is not configured)."""
        nurture = self.config.nurture
        return crm_spec(self.source).nurture_reentry(nurture) if nurture is not None else None

    def allowed_keys(self) -> frozenset[str]:
        """The extra keys this CRM's leads may be written (none with write-back off)."""
        if not self.config.writeback.enabled:
            return frozenset()
        keys = {OWNER_KEY} if self.router is not None else set()
        nurture = self.config.nurture
        if nurture is not None and nurture.enabled and self.reentry_value():
            keys.add(STATUS_KEY)
        return frozenset(keys)

    @staticmethod
    def live_values(lead: FunnelLead) -> dict[str, Any]:
        return {OWNER_KEY: lead.owner_id, STATUS_KEY: lead.status}


def build_lead_ops(store: Store, source: Source, config: AppConfig,
                   now: datetime) -> LeadOps | None:
    """LeadOps for one CRM, or None when no operating rule is configured."""
    routing = config.routing if config.routing and config.routing.enabled else None
    sla = config.sla if config.sla and config.sla.enabled else None
    nurture = config.nurture if config.nurture and config.nurture.enabled else None
    if routing is None and sla is None and nurture is None:
        return None
    directory = OwnerDirectory(source.owners() if routing or sla else [])
    router = None
    if routing is not None and routing.rules:
        router = Router(routing, directory, store.get_state(routing_state_key(source.name)), now)
    timers = store.load_timers(source.name) if sla or nurture else {}
    return LeadOps(source.name, config, now, directory, router, timers)


def save_routing_state(store: Store, ops: LeadOps) -> None:
    """Keep the round-robin position and counts (never in a dry run: the caller decides)."""
    if ops.router is not None:
        store.set_state(routing_state_key(ops.source), ops.router.state)
    # the owners as last seen, for the audit (which reads only the store)
    store.set_state(f"owners.{ops.source}", [asdict(o) for o in ops.directory.by_id.values()])


def run_lead_ops(store: Store, source: Source, ops: LeadOps, *,
                 dry_run: bool) -> tuple[AlertSummary, list[str]]:
    """Move timers over every live lead, then reconcile the lead alerts and their tasks."""
    config, now = ops.config, ops.now
    first_pass = store.get_state(sla_started_key(source.name)) is None
    wanted: dict[tuple[str, str], LeadAlert] = {}
    changed: list[LeadTimer] = []
    seen: set[str] = set()
    for lead, stage, score in _scored_leads(store, source, config, now):
        seen.add(lead.source_id)
        old = ops.timers.get(lead.source_id)
        if ops._reentry(lead, stage, score) is not None:
            wanted[(lead.source_id, REENTRY)] = _reentry_alert(lead, score, ops)
        new = _next_timer(old, lead, stage, ops, first_pass)
        if new != old and new is not None:
            changed.append(new)
        for reason in breaches(new, now, config.sla) if new and config.sla else []:
            wanted[(lead.source_id, reason)] = _breach_alert(lead, new, reason, ops)
        if new is None and old is not None:
            seen.discard(lead.source_id)  # its row goes
    removed = [lead_id for lead_id in ops.timers if lead_id not in seen]
    summary, warnings = reconcile_lead_alerts(store, source, config, ops.directory, wanted, now,
                                              dry_run=dry_run, reasons=LEAD_REASONS)
    if not dry_run:
        store.save_timers(source.name, changed, removed)
        if config.sla is not None and first_pass:
            store.set_state(sla_started_key(source.name), now.isoformat())
    return summary, warnings


def _scored_leads(store: Store, source: Source, config: AppConfig,
                  now: datetime) -> Iterator[tuple[FunnelLead, str | None, float]]:
    plain = Evaluator(config, now)  # stage and score only: routing must not run twice
    for stored in store.iter_records(source.name, "leads"):
        lead = stored.to_model()
        assert isinstance(lead, FunnelLead)
        want = plain.desired(lead)
        yield lead, want.values.get("stage"), float(want.values.get("score") or 0)


def _next_timer(old: LeadTimer | None, lead: FunnelLead, stage: str | None, ops: LeadOps,
                first_pass: bool) -> LeadTimer | None:
    config, new = ops.config, old
    if config.sla is not None and config.sla.enabled:
        mql = is_mql(stage, config.funnel.stage_ids())
        new = observe(new, lead, mql, ops.now, first_pass=first_pass,
                      alert_existing=config.sla.alert_existing)
    if config.nurture is not None and config.nurture.enabled:
        new = track_lost(new, lead, stage == config.funnel.lost_stage, ops.now)
    return new


def _breach_alert(lead: FunnelLead, timer: LeadTimer, reason: str, ops: LeadOps) -> LeadAlert:
    sla = ops.config.sla
    assert sla is not None and timer.mql_at is not None
    spent = hours(sla_elapsed(timer.mql_at, ops.now, sla))
    limit = sla.escalate_hours if reason == ESCALATION else sla.first_touch_hours
    who = lead.owner_id if lead.owner_id and ops.directory.is_active(lead.owner_id) else None
    if reason == ESCALATION:
        who = escalation_target(lead.owner_id, sla, ops.directory)
    message = (f"MQL not touched for {spent} SLA hours (limit {limit})"
               + ("; escalated" if reason == ESCALATION else ""))
    evidence = {"mql_at": timer.mql_at.isoformat(), "sla_hours": spent, "limit_hours": limit,
                "owner_id": lead.owner_id}
    return LeadAlert(lead, reason, message, evidence, who)


def _reentry_alert(lead: FunnelLead, score: float, ops: LeadOps) -> LeadAlert:
    who = lead.owner_id if lead.owner_id and ops.directory.is_active(lead.owner_id) else None
    value = ops.reentry_value()
    message = f"Lost lead shows new interest (score {score:g}); back in the funnel as {value}"
    return LeadAlert(lead, REENTRY, message, {"score": score, "status": value}, who)


__all__ = ["LeadOps", "STATUS_KEY", "build_lead_ops", "routing_state_key", "run_lead_ops",
           "save_routing_state", "sla_started_key"]
