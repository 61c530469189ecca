"""Stale-deal alerts: each reason that holds for a deal is an alert; each alerted deal has one
follow-up task for its owner listing all its reasons (``sync.follow_ups``), and the webhook
gets one digest per run.

Alerts are the history of conditions (one row per deal and reason, resolved when it clears);
the follow-up is what the rep sees and acts on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.crm.source import Source
from funnelsync.mapping.schema import FunnelDeal, StageChange
from funnelsync.rules.follow_ups import (
    ReasonLine,
    Wanted,
    deal_priority,
    deal_resolution,
    reason_key,
    stale_lines,
)
from funnelsync.rules.stale import StaleReason, stale_reasons
from funnelsync.store import Alert, Store
from funnelsync.sync.follow_ups import FollowUpRun, TaskOutcome, reconcile
from funnelsync.sync.legacy_tasks import fold_legacy_tasks

LEAD_REASONS = frozenset({"sla_first_touch", "sla_escalation", "nurture_reentry"})
DEAL = "deal"


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
    tasks_updated: int = 0
    tasks_closed: int = 0
    digest: list[dict[str, Any]] = field(default_factory=list)

    def add_tasks(self, outcome: TaskOutcome) -> None:
        """Count what the follow-up reconcile did."""
        self.tasks_created += outcome.created
        self.tasks_updated += outcome.updated
        self.tasks_closed += outcome.closed
        self.tasks_deferred += outcome.deferred
        self.planned_tasks += outcome.planned
        self.errors += outcome.errors


StaleDeals = dict[str, tuple[FunnelDeal, list[StaleReason]]]


def current_reasons(store: Store, source: Source, config: AppConfig,
                    now: datetime) -> StaleDeals:
    """Every live open deal of the CRM with at least one stale reason, by id."""
    history: dict[str, list[StageChange]] = defaultdict(list)
    for change in store.iter_stage_changes(source.name):
        history[change.record_id].append(change)
    found: StaleDeals = {}
    for stored in store.iter_records(source.name, "deals"):
        deal = stored.to_model()
        assert isinstance(deal, FunnelDeal)
        reasons = stale_reasons(deal, history.get(deal.source_id, []), config, now,
                                stage_of=source.stage_of(deal))
        if reasons:
            found[deal.source_id] = (deal, reasons)
    return found


def run_alerts(store: Store, source: Source, config: AppConfig, now: datetime, *,
               dry_run: bool) -> AlertSummary:
    """Open, keep and resolve the alerts; keep each alerted deal's follow-up task in line."""
    summary = AlertSummary()
    stale = current_reasons(store, source, config, now)
    existing = {(a.record_id, a.reason): a for a in store.open_alerts(source.name)
                if a.reason not in LEAD_REASONS}  # lead alerts belong to the lead operations
    wanted = {(deal_id, r.code): (deal, r) for deal_id, (deal, reasons) in stale.items()
              for r in reasons}
    gone = [alert for key, alert in existing.items() if key not in wanted]
    fresh = [(deal, r) for key, (deal, r) in wanted.items() if key not in existing]
    summary.resolved, summary.opened, summary.open_total = len(gone), len(fresh), len(wanted)
    if not dry_run:
        store.update_alerts_bulk([(a.alert_id, {"status": "resolved"}) for a in gone], now)
        store.open_alerts_bulk(source.name, [(deal.source_id, r.code, r.evidence)
                                             for deal, r in wanted.values()], now)
    if config.alerts.create_tasks:
        summary.add_tasks(_follow_ups(store, source, config, now, stale, dry_run))
    summary.digest = _digest(store, source, now, stale, fresh, gone)
    return summary


def _follow_ups(store: Store, source: Source, config: AppConfig, now: datetime,
                stale: StaleDeals, dry_run: bool) -> TaskOutcome:
    run = FollowUpRun(store, source, config, now, dry_run, frozenset({DEAL}),
                      resolution=lambda rid, _kind, lines: _resolution(store, source, rid, lines))
    wanted = {(deal_id, DEAL): deal_follow_up(deal, reasons)
              for deal_id, (deal, reasons) in stale.items()}
    folded = fold_legacy_tasks(run, wanted, _deal_kind)
    live = {**store.live_follow_ups(source.name, run.kinds), **folded}
    return reconcile(run, wanted, live)


def deal_follow_up(deal: FunnelDeal, reasons: Sequence[StaleReason]) -> Wanted:
    """The follow-up a stale deal needs: one task for its owner listing every reason."""
    return Wanted(deal.source_id, DEAL, "deal", f"Stale deal: {deal.name or deal.source_id}",
                  stale_lines(reasons), deal.owner_id, deal.owner_name,
                  deal_priority(deal, reasons), capped=True)


def _deal_kind(reason: str) -> str | None:
    return None if reason in LEAD_REASONS else DEAL


def _resolution(store: Store, source: Source, deal_id: str,
                lines: Sequence[ReasonLine]) -> str:
    stored = store.get_record(source.name, "deals", deal_id)
    deal = stored.to_model() if stored is not None else None
    return deal_resolution(lines, deal if isinstance(deal, FunnelDeal) else None)


def _digest(store: Store, source: Source, now: datetime, stale: StaleDeals,
            fresh: Iterable[tuple[FunnelDeal, StaleReason]],
            gone: Iterable[Alert]) -> list[dict[str, Any]]:
    """Deals newly alerted and deals whose every alert resolved, for the webhook digest;
    snoozed deals stay silent."""
    snoozed = {f.record_id for f in store.live_follow_ups(source.name, {DEAL}).values()
               if f.snoozed_until is not None and now < f.snoozed_until}
    events = []
    for deal_id in dict.fromkeys(deal.source_id for deal, _ in fresh):
        deal, reasons = stale[deal_id]
        if deal_id not in snoozed:
            events.append(_event(source.name, "new", deal, "; ".join(
                line.text for line in stale_lines(reasons))))
    cleared: dict[str, list[ReasonLine]] = defaultdict(list)
    for alert in gone:
        if alert.record_id not in stale and alert.record_id not in snoozed:
            cleared[alert.record_id].append(ReasonLine(alert.reason, reason_key(
                alert.reason, alert.evidence), "", alert.evidence))
    for deal_id, lines in cleared.items():
        stored = store.get_record(source.name, "deals", deal_id)
        deal = stored.to_model() if stored is not None else None
        if isinstance(deal, FunnelDeal):
            events.append(_event(source.name, "resolved", deal, deal_resolution(lines, deal)))
    return events


def _event(source: str, event: str, deal: FunnelDeal, text: str) -> dict[str, Any]:
    return {"source": source, "event": event, "owner_id": deal.owner_id,
            "owner": deal.owner_name or deal.owner_id, "deal_id": deal.source_id,
            "name": deal.name or deal.source_id, "text": text}


__all__ = ["LEAD_REASONS", "AlertSummary", "current_reasons", "deal_follow_up", "run_alerts"]
