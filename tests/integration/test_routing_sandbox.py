"""Routing, SLA and nurture end to end: both real clients against the sandbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.clock import FakeClock
from syncsupport import no_wait_factory, sandbox_config, tasks, written

from funnelsync.config.models import AppConfig
from funnelsync.sandbox import Sandbox
from funnelsync.sandbox.data.people import owners
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob

SIZE = {"seed": 7, "leads": 150, "deals": 40}
TEAM = [o.email for o in owners()[1:]]  # everyone but the director; two have left
EXTRA = f"""
[routing]
only_unowned = true
[[routing.teams]]
name = "inbound"
members = [{", ".join(f'"{e}"' for e in TEAM)}]
[[routing.rules]]
name = "unowned leads round-robin"
team = "inbound"

[sla]
first_touch_hours = 8
escalate_hours = 24
business_hours = "09:00-17:00"
timezone = "Europe/Berlin"
count_weekends = false
escalation_owner = "{owners()[0].email}"

[nurture]
reentry_score = 30
quiet_days = 14
"""


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(**SIZE, clock=clock) as sb:
        yield sb


def job(config: AppConfig, clock: FakeClock, **options: Any) -> SyncJob:
    return SyncJob(config, connector_factory=no_wait_factory(clock), clock=clock.utc, **options)


def lead_owners(config: AppConfig) -> dict[str, list[tuple[str | None, bool]]]:
    """(owner, converted) of every live lead/contact, read through the real clients."""
    factory = no_wait_factory()
    sf = [(r.get("OwnerId"), bool(r.get("IsConverted")))
          for r in factory("salesforce", config).iter_records("leads")
          if not r.get("IsDeleted")]
    hs = [((r.get("properties") or {}).get("hubspot_owner_id") or None, False)
          for r in factory("hubspot", config).iter_records("leads") if not r.get("archived")]
    return {"salesforce": sf, "hubspot": hs}


def routable(owner: str | None, converted: bool) -> bool:
    return not converted and (not owner or owner.startswith("00G"))


def test_routing_leaves_no_routable_lead_unowned_and_reruns_change_nothing(
        sandbox: Sandbox, tmp_path: Any, clock: FakeClock) -> None:
    config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}", EXTRA)
    before = lead_owners(config)
    waiting = {crm: sum(routable(*row) for row in rows) for crm, rows in before.items()}
    assert waiting["salesforce"] > 0 and waiting["hubspot"] > 0

    dry = job(config, clock).run(dry_run=True)
    assert (written(sandbox), tasks(sandbox)) == (0, 0)
    routed = [c for c in dry.planned_changes if "owner_id" in c["changes"]]
    assert Counter(c["source"] for c in routed) == waiting
    assert all("rule unowned leads round-robin" in " ".join(c["reasons"]) for c in routed)
    with Store.open(config.state.url) as store:
        assert store.get_state("routing.salesforce") is None  # a dry run moves no position

    first = job(config, clock).run()
    assert first.errors == []
    after = lead_owners(config)
    assert [row for rows in after.values() for row in rows if routable(*row)] == []
    active = {o.email for o in owners() if o.active}
    for crm in ("salesforce", "hubspot"):
        with Store.open(config.state.url) as store:
            assigned = store.get_state(f"routing.{crm}")["teams"]["inbound"]["assigned"]
        assert sum(assigned.values()) == waiting[crm]
        assert max(assigned.values()) - min(assigned.values()) <= 1
        assert len(assigned) == len(active & set(TEAM))  # inactive owners were skipped

    second = job(config, clock).run()
    assert (second.changes, second.records_written, second.tasks_created) == (0, 0, 0)
    assert second.errors == []
    recheck = job(config, clock, reevaluate_all=True).run(dry_run=True)
    assert recheck.planned_changes == [] and recheck.planned_tasks == []
