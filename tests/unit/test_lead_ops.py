"""Lead operating rules end to end on a real store with a recording connector: routed owners
through diff-and-push, one SLA alert and task per breach, nurture re-entry with HubSpot's
lifecycle cleared first, and a dry run that stores nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import (
    RecordUpdate,
    RowResult,
    TaskInfo,
    TaskSpec,
    TaskUpdate,
    Usage,
)
from funnelsync.crm.source import Source
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import FunnelLead
from funnelsync.store import Store
from funnelsync.sync.evaluate import Evaluator, diffs_for
from funnelsync.sync.leads.operations import build_lead_ops, run_lead_ops, save_routing_state
from funnelsync.sync.push import PushSummary, push_diffs

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
CONFIG = """
[hubspot]
access_token = "pat-x"
[mapping.hubspot.lifecycle_stage]
other = "lost"
[routing]
[[routing.teams]]
name = "inbound"
members = ["a@x.io", "b@x.io", "gone@x.io"]
[[routing.rules]]
name = "all unowned"
team = "inbound"
[sla]
first_touch_hours = 4
escalate_hours = 8
escalation_owner = "m@x.io"
[nurture]
reentry_score = 20
quiet_days = 10
"""


STAGE_OF = {"lead": "awareness", "marketingqualifiedlead": "interest", "other": "lost",
            "salesqualifiedlead": "consideration"}


class Recorder:
    """The connector half a sync needs, recording every write."""

    source = "hubspot"

    def __init__(self) -> None:
        self.usage = Usage()
        self.updates: list[list[RecordUpdate]] = []
        self.tasks: list[TaskSpec] = []
        self.task_updates: list[TaskUpdate] = []

    def owners(self) -> list[dict[str, Any]]:
        return [{"id": "1", "email": "a@x.io"}, {"id": "2", "email": "b@x.io"},
                {"id": "3", "email": "gone@x.io", "archived": True},
                {"id": "9", "email": "m@x.io"}]

    def push_updates(self, changes: Sequence[RecordUpdate]) -> list[RowResult]:
        self.updates.append(list(changes))
        return [RowResult(c.record_id, True) for c in changes]

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> list[RowResult]:
        self.tasks += tasks
        return [RowResult(t.deal_id, True, created_id=f"T{len(self.tasks)}-{i}")
                for i, t in enumerate(tasks)]

    def find_tasks(self, ids: Sequence[str], target: str = "deal") -> list[dict[str, Any]]:
        return []

    def read_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskInfo]:
        done = {u.task_id for u in self.task_updates if u.complete}
        return {t: TaskInfo(t, "closed" if t in done else "open") for t in task_ids}

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[RowResult]:
        self.task_updates += updates
        return [RowResult(u.task_id, True) for u in updates]


def contact(n: int, **values: Any) -> FunnelLead:
    base: dict[str, Any] = {"status": "lead", "created_at": NOW - timedelta(days=90),
                            "updated_at": NOW - timedelta(days=60)}
    base.update(values)
    base["funnel_stage"] = STAGE_OF[base["status"]]  # what mapping sets from lifecyclestage
    return FunnelLead(source="hubspot", source_id=str(n), **base)


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Store, Source, Recorder, AppConfig]:
    config = parse_config(CONFIG)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    recorder = Recorder()
    source = Source("hubspot", recorder, config, StageMaps(config))  # type: ignore[arg-type]
    return store, source, recorder, config


def sync(store: Store, source: Source, config: AppConfig, now: datetime, run: int,
         dry_run: bool = False) -> dict[str, Any]:
    ops = build_lead_ops(store, source, config, now)
    assert ops is not None
    evaluator = Evaluator(config, now, {"hubspot": ops})
    diffs = list(diffs_for(store, evaluator, "hubspot", "leads", everything=True))
    if not dry_run:
        push_diffs(store, source, "leads", diffs, run, PushSummary())
        save_routing_state(store, ops)
    summary, _ = run_lead_ops(store, source, ops, dry_run=dry_run)
    return {"diffs": diffs, "summary": summary}


def test_routing_sla_and_nurture_through_one_store(setup: Any) -> None:
    store, source, recorder, config = setup
    run = store.start_run("t")
    engaged = {"email_opens": 40, "email_clicks": 9, "form_submissions": 6}
    store.upsert_records("hubspot", "leads", [
        contact(1), contact(2), contact(3, owner_id="3"),
        contact(4, status="other", extra=engaged, owner_id="1", title="VP Sales",
                industry="Technology", employees=1500)], run)
    first = sync(store, source, config, NOW, run)
    owners = {d.record_id: d.changes.get("owner_id") for d in first["diffs"]}
    assert owners == {"1": (None, "1"), "2": (None, "2"), "3": None, "4": None}
    assert store.get_state("routing.hubspot")["teams"]["inbound"]["assigned"] == {"1": 1, "2": 1}
    timers = store.load_timers("hubspot")
    assert timers["4"].lost_since == NOW - timedelta(days=60)  # first seen lost: its last change
    assert not any("status" in d.changes for d in first["diffs"])  # lost_since is new
    assert recorder.tasks == []
    second = sync(store, source, config, NOW, run)
    revived = next(d for d in second["diffs"] if d.record_id == "4")
    assert revived.changes["status"] == ("other", "lead")
    assert [r for r in revived.reasons if r.startswith("status")] == [
        "status: 'other' -> 'lead' (nurture re-entry: score 44 >= 20 after 10 quiet days)"]
    # HubSpot moves lifecyclestage backward only from empty: "" first, then the value
    pushed = [[u.fields for u in batch if u.record_id == "4"] for batch in recorder.updates[-2:]]
    assert pushed[0] == [{"lifecyclestage": ""}]
    assert pushed[1][0]["lifecyclestage"] == "lead"
    assert [t.subject.split(":")[0] for t in recorder.tasks] == ["Nurture re-entry"]
    assert recorder.tasks[0].owner_id == "1" and recorder.tasks[0].target == "lead"


def test_one_task_per_breach_then_resolved_on_touch(setup: Any) -> None:
    store, source, recorder, config = setup
    run = store.start_run("t")
    store.upsert_records("hubspot", "leads", [contact(5, owner_id="1")], run)
    assert sync(store, source, config, NOW, run)["summary"].opened == 0  # first pass: baseline
    run = store.start_run("t")
    store.upsert_records("hubspot", "leads", [
        contact(6, owner_id="2", status="marketingqualifiedlead")], run)
    sync(store, source, config, NOW, run)
    assert store.load_timers("hubspot")["6"].baseline is False
    for hours_later in (3, 4, 5, 8, 9):
        sync(store, source, config, NOW + timedelta(hours=hours_later), run)
    reasons = [(t.subject.split(":")[0], t.owner_id) for t in recorder.tasks]
    assert reasons == [("SLA", "2"), ("SLA escalation", "9")]
    assert len(store.open_alerts("hubspot")) == 2
    touched = contact(6, owner_id="2", status="salesqualifiedlead",
                      updated_at=NOW + timedelta(hours=10))
    store.upsert_records("hubspot", "leads", [touched], run)
    result = sync(store, source, config, NOW + timedelta(hours=11), run)
    assert result["summary"].resolved == 2
    assert store.open_alerts("hubspot") == []
    assert store.load_timers("hubspot")["6"].touch_kind == "status"


def test_dry_run_stores_nothing(setup: Any) -> None:
    store, source, recorder, config = setup
    run = store.start_run("t")
    store.upsert_records("hubspot", "leads", [contact(1), contact(2)], run)
    result = sync(store, source, config, NOW, run, dry_run=True)
    assert [d.changes["owner_id"] for d in result["diffs"]] == [(None, "1"), (None, "2")]
    assert recorder.updates == [] and recorder.tasks == []
    assert store.get_state("routing.hubspot") is None
    assert store.load_timers("hubspot") == {}


def test_a_touched_leads_tasks_are_completed_saying_why(setup: Any) -> None:
    store, source, recorder, config = setup
    run = store.start_run("t")
    store.upsert_records("hubspot", "leads", [contact(5, owner_id="1")], run)
    sync(store, source, config, NOW, run)  # first pass: baseline
    store.upsert_records("hubspot", "leads", [
        contact(6, owner_id="2", status="marketingqualifiedlead")], run)
    sync(store, source, config, NOW, run)
    sync(store, source, config, NOW + timedelta(hours=9), run)
    assert [t.subject.split(":")[0] for t in recorder.tasks] == ["SLA escalation", "SLA"]
    assert recorder.task_updates == []
    touched = contact(6, owner_id="2", status="salesqualifiedlead",
                      updated_at=NOW + timedelta(hours=10))
    store.upsert_records("hubspot", "leads", [touched], run)
    sync(store, source, config, NOW + timedelta(hours=11), run)
    assert [(u.task_id, u.complete, u.body) for u in recorder.task_updates] == [
        (task_id, True, "Completed by funnelsync on 2026-11-23: the lead was touched (or left "
                        "the SLA).\n\nIt was about:\n- " + line)
        for task_id, line in (("T2-0", "MQL not touched for 9.0 SLA hours (limit 8.0); escalated"),
                              ("T2-1", "MQL not touched for 9.0 SLA hours (limit 4.0)"))]
