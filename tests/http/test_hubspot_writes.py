"""HubSpot writes: batch updates with 207 and PROPERTY_DOESNT_EXIST, tasks, owners, properties."""

from __future__ import annotations

from datetime import date

import pytest
from hubspot_portal import BASE_MS, Portal, PortalServer, make_connector
from support.clock import FakeClock

from funnelsync.connectors.base import RecordUpdate, RowResult, TaskInfo, TaskSpec, TaskUpdate
from funnelsync.connectors.hubspot.writes import chunk_updates


@pytest.fixture
def site(portal_server: PortalServer) -> tuple[Portal, str]:
    portal, host = portal_server.fresh()
    for i in range(1, 231):
        if i not in (7, 150):
            portal.add("deals", i, BASE_MS + i)
    portal.add("contacts", 1, BASE_MS)
    return portal, host


def stage(rid: str, value: str = "decision") -> RecordUpdate:
    return RecordUpdate(kind="deals", record_id=rid, fields={"funnel_stage": value})


def test_batch_update_maps_207_rows_and_keeps_the_given_order(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    changes = [stage(str(i)) for i in range(1, 231)]
    changes.insert(1, RecordUpdate(kind="leads", record_id="1",
                                   fields={"lifecyclestage": "lead"}))

    rows = hs.push_updates(changes)

    assert len(rows) == 231
    assert rows[1] == RowResult(record_id="1", ok=True)
    failed = [r for r in rows if not r.ok]
    assert [(r.record_id, r.error_code) for r in failed] == [
        ("7", "OBJECT_NOT_FOUND"), ("150", "OBJECT_NOT_FOUND")]
    assert failed[0].message == ("Could not get some deals objects, they may be deleted or "
                                 "not exist.")
    batches = portal.calls("POST", "/crm/v3/objects/deals/batch/update")
    assert [len(c["json"]["inputs"]) for c in batches] == [100, 100, 30]
    assert batches[0]["json"]["inputs"][0] == {"id": "1",
                                               "properties": {"funnel_stage": "decision"}}
    assert portal.calls("POST", "/crm/v3/objects/contacts/batch/update")[0]["json"] == {
        "inputs": [{"id": "1", "properties": {"lifecyclestage": "lead"}}]}
    assert portal.store["deals"][230].props["funnel_stage"] == "decision"
    assert hs.usage.by_kind == {"batch_update": 4}


def test_missing_property_fails_the_whole_batch_with_a_clear_code(site):
    portal, host = site
    hs = make_connector(host, FakeClock())

    rows = hs.push_updates([RecordUpdate(kind="deals", record_id="1",
                                         fields={"funnel_score": 40}), stage("2")])

    assert [(r.record_id, r.ok, r.error_code) for r in rows] == [
        ("1", False, "PROPERTY_DOESNT_EXIST"), ("2", False, "PROPERTY_DOESNT_EXIST")]
    assert "create it with `funnelsync doctor --fix`" in rows[0].message
    assert "funnel_score" in rows[0].message
    assert hs.usage.api_calls == 1  # a validation error is not retried


def test_batches_hold_at_most_100_rows_and_never_one_id_twice():
    changes = [stage("1"), stage("2"), stage("1", "intent")] + [stage(str(i))
                                                                for i in range(3, 203)]
    assert [len(c) for c in chunk_updates(changes)] == [2, 100, 100, 1]


def test_task_is_created_with_owner_and_deal_association(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    tasks = [TaskSpec(deal_id="9", subject="Stale deal: Acme", body="No activity for 20 days",
                      due=date(2026, 11, 30), owner_id="77"),
             TaskSpec(deal_id="10", subject="Close date passed", body="", due=date(2026, 12, 1),
                      priority="Low")]

    rows = hs.create_tasks(tasks)

    assert rows == [RowResult(record_id="9", ok=True, created_id="50000"),
                    RowResult(record_id="10", ok=True, created_id="50001")]
    calls = portal.calls("POST", "/crm/v3/objects/tasks/batch/create")
    assert len(calls) == 1
    first = calls[0]["json"]["inputs"][0]
    assert first == {"properties": {
        "hs_task_subject": "Stale deal: Acme", "hs_task_body": "No activity for 20 days",
        "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH",
        "hs_timestamp": "2026-11-30T09:00:00Z", "hubspot_owner_id": "77"},
        "associations": [{"to": {"id": "9"}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 216}]}]}
    second = calls[0]["json"]["inputs"][1]["properties"]
    assert "hubspot_owner_id" not in second
    assert second["hs_task_priority"] == "LOW"


def test_task_create_is_not_repeated_after_a_server_error(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    portal.fail_next("/crm/v3/objects/tasks/batch/create", 502,
                     {"status": "error", "message": "Bad gateway", "category": "BAD_GATEWAY"})
    specs = [TaskSpec(deal_id=str(i), subject=f"s{i}", body="", due=date(2026, 1, 2))
             for i in range(150)]

    rows = hs.create_tasks(specs)

    # The failed batch (maybe processed) is not repeated; the next batch goes through.
    assert rows[:100] == [RowResult(record_id=str(i), ok=False, error_code="BAD_GATEWAY",
                                    message="create 100 HubSpot tasks: HTTP 502 BAD_GATEWAY: "
                                            "Bad gateway") for i in range(100)]
    assert rows[100:] == [RowResult(record_id=str(i), ok=True, created_id=str(50_000 + i - 100))
                          for i in range(100, 150)]
    assert len(portal.calls("POST", "/crm/v3/objects/tasks/batch/create")) == 2


def test_one_archived_owner_does_not_sink_the_other_tasks_of_its_batch(site):
    portal, host = site
    portal.archived_owner_ids.add("66")
    hs = make_connector(host, FakeClock())
    specs = [TaskSpec(deal_id=str(i), subject=f"t{i}", body="", due=date(2026, 1, 2),
                      owner_id="66" if i == 5 else "77") for i in range(8)]

    rows = hs.create_tasks(specs)

    assert [r.ok for r in rows] == [True] * 5 + [False] + [True] * 2
    assert rows[5].error_code == "INVALID_OWNER_ID"
    assert len(portal.tasks) == 7
    # 8 -> 4+4 -> the bad half 2+2 -> 1+1: five calls refused, four succeeded, none doubled.
    assert len(portal.calls("POST", "/crm/v3/objects/tasks/batch/create")) == 7


def test_find_tasks_returns_open_tasks_of_the_deals(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    hs.create_tasks([TaskSpec(deal_id="1", subject="a", body="", due=date(2026, 1, 2),
                              owner_id="77"),
                     TaskSpec(deal_id="2", subject="b", body="", due=date(2026, 1, 3))])
    portal.tasks[50001]["hs_task_status"] = "COMPLETED"

    found = hs.find_tasks(["1", "2", "3"])

    assert found == [{"id": "50000", "deal_id": "1", "subject": "a", "owner_id": "77",
                      "status": "NOT_STARTED", "due": "2026-01-02T09:00:00Z"}]
    read = portal.calls("POST", "/crm/v4/associations/deals/tasks/batch/read")[0]["json"]
    assert read == {"inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}
    assert hs.usage.by_kind == {"task_create": 1, "associations": 1, "batch_read": 1}


def test_owners_include_archived_and_follow_paging(site):
    portal, host = site
    portal.owners = [{"id": str(i), "email": f"o{i}@x.io", "firstName": "O", "lastName": str(i),
                      "userId": i, "archived": i > 150} for i in range(1, 153)]
    hs = make_connector(host, FakeClock())

    owners = hs.owners()

    assert [o["id"] for o in owners] == [str(i) for i in range(1, 153)]
    assert [o["archived"] for o in owners[-3:]] == [False, True, True]
    args = [c["args"] for c in portal.calls("GET", "/crm/v3/owners/")]
    assert [(a["archived"], a.get("after")) for a in args] == [
        (["false"], None), (["false"], ["100"]), (["true"], None)]


def test_ensure_properties_creates_only_the_missing_ones(site):
    portal, host = site
    hs = make_connector(host, FakeClock())

    created = hs.ensure_properties("deals", ["funnel_stage", "funnel_score"])

    assert created == ["funnel_score"]
    assert portal.calls("POST", "/crm/v3/properties/deals")[0]["json"] == {
        "name": "funnel_score", "label": "Funnel score", "type": "number",
        "fieldType": "number", "groupName": "dealinformation"}
    assert hs.ensure_properties("leads", ["funnel_stage"]) == ["funnel_stage"]
    assert portal.calls("POST", "/crm/v3/properties/contacts")[0]["json"]["groupName"] == \
        "contactinformation"


def test_tasks_are_read_rewritten_and_completed_in_batches(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    created = hs.create_tasks([TaskSpec(deal_id="9", subject="Stale deal: Acme [fs:1]",
                                        body="old", due=date(2026, 11, 30), owner_id="77"),
                               TaskSpec(deal_id="10", subject="Stale deal: Beta [fs:2]",
                                        body="old", due=date(2026, 11, 30))])
    first, second = (str(r.created_id) for r in created)

    rows = hs.update_tasks([
        TaskUpdate(first, subject="Stale deal: Acme [fs:1]", body="new", due=date(2026, 12, 2)),
        TaskUpdate(second, body="Completed by funnelsync: the deal was won.", complete=True),
        TaskUpdate("999", complete=True)])

    assert rows == [RowResult(first, True), RowResult(second, True),
                    RowResult("999", False, "OBJECT_NOT_FOUND", "Could not get some TASK "
                              "objects, they may be deleted or not exist.")]
    [call] = portal.calls("POST", "/crm/v3/objects/tasks/batch/update")
    assert call["json"]["inputs"][:2] == [
        {"id": first, "properties": {"hs_task_subject": "Stale deal: Acme [fs:1]",
                                     "hs_task_body": "new",
                                     "hs_timestamp": "2026-12-02T09:00:00Z"}},
        {"id": second, "properties": {"hs_task_body": "Completed by funnelsync: the deal was "
                                                      "won.", "hs_task_status": "COMPLETED"}}]
    assert hs.read_tasks([first, second, "999"]) == {
        first: TaskInfo(first, "open", "Stale deal: Acme [fs:1]", "new"),
        second: TaskInfo(second, "closed", "Stale deal: Beta [fs:2]",
                         "Completed by funnelsync: the deal was won."),
        "999": TaskInfo("999", "deleted")}
    assert [t["id"] for t in hs.find_tasks(["9", "10"])] == [first]
