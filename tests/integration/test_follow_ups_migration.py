"""Tasks of earlier versions (one per alert) fold into one follow-up per deal on the first run
of this version: no duplicates left open, the rep's closed tasks respected, resolved deals'
tasks completed, a task whose creation was cut short found by its old marker."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config, tasks
from tasksupport import HS, SF, Crms

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import TaskSpec
from funnelsync.sandbox import Sandbox
from funnelsync.store import Alert, Store
from funnelsync.sync.follow_ups import marker
from funnelsync.sync.job import RunResult, SyncJob

SIZE = {"seed": 11, "leads": 60, "deals": 100}
STALE_REASONS = ("idle", "stage_overdue", "close_date_passed", "moved_backward",
                 "skipped_stages")


def sync(config: AppConfig, clock: FakeClock) -> RunResult:
    return SyncJob(config, connector_factory=no_wait_factory(clock),
                   clock=lambda: datetime.fromtimestamp(clock(), UTC)).run()


Legacy = dict[str, dict[str, list[tuple[Alert, str]]]]  # crm -> deal -> (alert, its task)


def leave_legacy_tasks(config: AppConfig, clock: FakeClock) -> Legacy:
    """What an earlier version left: a task per open alert, its id on the alert."""
    legacy: Legacy = {SF: defaultdict(list), HS: defaultdict(list)}
    with Store.open(config.state.url) as store:
        alerts = [a for a in store.open_alerts() if a.reason in STALE_REASONS]
        for crm in (SF, HS):
            mine = [a for a in alerts if a.source == crm]
            specs = [TaskSpec(a.record_id, f"Stale deal: {a.record_id}: {a.reason} "
                              f"{marker(crm, a.record_id, a.reason)}", "one reason",
                              date(2026, 11, 25)) for a in mine]
            made = no_wait_factory(clock)(crm, config).create_tasks(specs)
            for alert, result in zip(mine, made, strict=True):
                store.set_alert_task(alert.alert_id, str(result.created_id))
                legacy[crm][alert.record_id].append((alert, str(result.created_id)))
    return legacy


def test_one_task_per_reason_folds_into_one_task_per_deal(tmp_path: Any) -> None:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}")
        sync(sandbox_config(sb, config.state.url, "[alerts]\ncreate_tasks = false\n"), clock)
        legacy = leave_legacy_tasks(config, clock)
        crms = Crms(sb)
        several = {crm: sorted(d for d, found in deals.items() if len(found) >= 3)
                   for crm, deals in legacy.items()}
        dismissed = {(SF, several[SF][0]), (HS, several[HS][0])}
        cut_short, won = several[SF][1], several[SF][2]
        for crm, deal in dismissed:  # the rep closed every task of these deals
            for _, task_id in legacy[crm][deal]:
                crms.complete(crm, task_id)
        with Store.open(config.state.url) as store:  # its task made, then a crash
            store.update_alerts_bulk([(legacy[SF][cut_short][0][0].alert_id,
                                       {"status": "pending", "task_id": None})])
        crms.win(SF, won)
        made = tasks(sb)
        clock.tick(60)

        first = sync(config, clock)

        assert (first.errors, first.tasks_created, tasks(sb)) == ([], 0, made)
        merged = sum(len(found) - 1 for crm, deals in legacy.items()
                     for deal, found in deals.items()
                     if (crm, deal) not in dismissed and (crm, deal) != (SF, won))
        assert first.tasks_closed == merged + len(legacy[SF][won])
        by_deal = {k: v for k, v in crms.open_tasks_by_record().items()
                   if k[1] and not k[1].startswith(("00Q", "6"))}
        alerted = {(crm, deal) for crm, deals in legacy.items() for deal in deals}
        assert set(by_deal) == alerted - dismissed - {(SF, won)}
        assert Counter(len(found) for found in by_deal.values()) == {1: len(by_deal)}
        for (crm, deal), [task] in by_deal.items():
            assert task.subject.startswith("Stale deal: ")
            assert task.subject.endswith(marker(crm, str(deal), "deal"))
            assert task.id in {t for _, t in legacy[crm][str(deal)]}  # an old task, kept
        closed_by_us = Counter(t.body.split(": ", 1)[1] for t in crms.tasks()
                               if t.closed and t.body.startswith("Completed by funnelsync"))
        assert closed_by_us == {"merged into one follow-up task per deal.": merged,
                                "the deal was won (Closed Won).": len(legacy[SF][won])}
        with Store.open(config.state.url) as store:
            assert store.legacy_task_alerts(SF) == store.legacy_task_alerts(HS) == []
            assert {(crm, f.record_id) for crm in (SF, HS)
                    for f in store.live_follow_ups(crm, {"deal"}).values()
                    if f.status == "dismissed"} == dismissed

        again = sync(config, clock)
        assert (again.tasks_created, again.tasks_updated, again.tasks_closed) == (0, 0, 0)
