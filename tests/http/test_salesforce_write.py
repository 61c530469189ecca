"""Salesforce writes (sObject Collections), tasks, stage history and catalog reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import responses
from responses import matchers
from salesforce_fixtures import (
    API,
    LIMIT,
    add_describe,
    add_query,
    add_soap_login,
    connector,
    error,
    field,
    query_page,
)
from support.clock import FakeClock

from funnelsync.connectors.base import RecordUpdate, RowResult, TaskInfo, TaskSpec, TaskUpdate

OPP1, OPP2, OPP3 = "0065e00000000001AA", "0065e00000000002AA", "0065e00000000003AA"
LOCK = {"statusCode": "UNABLE_TO_LOCK_ROW",
        "message": "unable to obtain exclusive access to this record", "fields": []}


def patch_body(*rows: tuple[str, str]) -> dict[str, object]:
    return {"allOrNone": False, "records": [
        {"attributes": {"type": "Opportunity"}, "id": rid, "Funnel_Stage__c": stage}
        for rid, stage in rows]}


def test_update_maps_rows_and_retries_only_locked_rows() -> None:
    changes = [RecordUpdate("deals", rid, {"Funnel_Stage__c": "intent"})
               for rid in (OPP1, OPP2, OPP3)]
    url = f"{API}/composite/sobjects"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.PATCH, url, headers=LIMIT, json=[
            {"id": OPP1, "success": True, "errors": []},
            {"id": OPP2, "success": False, "errors": [LOCK]},
            {"id": OPP3, "success": False, "errors": [
                {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Stage locked",
                 "fields": ["Funnel_Stage__c"]}]}],
            match=[matchers.json_params_matcher(patch_body(
                (OPP1, "intent"), (OPP2, "intent"), (OPP3, "intent")))])
        rsps.add(responses.PATCH, url, headers=LIMIT,
                 json=[{"id": OPP2, "success": True, "errors": []}],
                 match=[matchers.json_params_matcher(patch_body((OPP2, "intent")))])
        clock = FakeClock()
        sf = connector(clock=clock)
        results = sf.push_updates(changes)
    assert results == [
        RowResult(OPP1, True), RowResult(OPP2, True),
        RowResult(OPP3, False, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Stage locked")]
    assert clock.sleeps == [1.0]
    assert sf.usage.retries == 1


def test_update_gives_up_on_a_row_locked_every_time() -> None:
    url = f"{API}/composite/sobjects"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.PATCH, url, headers=LIMIT,
                 json=[{"id": OPP1, "success": False, "errors": [LOCK]}])
        results = connector(lock_retries=2).push_updates(
            [RecordUpdate("deals", OPP1, {"Funnel_Stage__c": "intent"})])
        assert len(rsps.calls) == 4  # login + first try + two retries
    assert results == [RowResult(OPP1, False, "UNABLE_TO_LOCK_ROW",
                                 "unable to obtain exclusive access to this record")]


def test_update_sends_at_most_200_rows_a_call_and_maps_whole_call_errors() -> None:
    changes = [RecordUpdate("leads", f"00Q5e{n:013d}", {"Funnel_Score__c": 50}) for n in range(201)]
    url = f"{API}/composite/sobjects"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.PATCH, url, headers=LIMIT,
                 json=[{"id": c.record_id, "success": True, "errors": []} for c in changes[:200]])
        rsps.add(responses.PATCH, url, status=400, headers=LIMIT, json=error(
            "INVALID_FIELD", "No such column 'Funnel_Score__c' on sobject of type Lead"))
        results = connector().push_updates(changes)
        sizes = [len(json.loads(c.request.body)["records"])
                 for c in rsps.calls[1:]]
    assert sizes == [200, 1]
    assert all(r.ok for r in results[:200])
    assert results[200] == RowResult(
        changes[200].record_id, False, "INVALID_FIELD",
        "Salesforce update of 1 record(s): HTTP 400 INVALID_FIELD: No such column "
        "'Funnel_Score__c' on sobject of type Lead")


def test_create_tasks_posts_task_rows_and_returns_created_ids() -> None:
    task = TaskSpec(OPP1, "Stale deal: Acme", "No activity for 21 days", date(2026, 11, 30),
                    owner_id="0055e000001XyZ")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.POST, f"{API}/composite/sobjects", headers=LIMIT,
                 json=[{"id": "00T5e00000000001AA", "success": True, "errors": []}],
                 match=[matchers.json_params_matcher({"allOrNone": False, "records": [{
                     "attributes": {"type": "Task"}, "Subject": "Stale deal: Acme",
                     "Description": "No activity for 21 days", "WhatId": OPP1,
                     "Status": "Not Started", "Priority": "High", "ActivityDate": "2026-11-30",
                     "OwnerId": "0055e000001XyZ"}]})])
        results = connector().create_tasks([task])
    assert results == [RowResult(OPP1, True, created_id="00T5e00000000001AA")]


def test_find_tasks_queries_open_tasks_on_the_deals() -> None:
    soql = ("SELECT Id, WhatId, Subject, OwnerId FROM Task WHERE IsClosed = false AND WhatId "
            f"IN ('{OPP1}', '{OPP2}')")
    row = {"attributes": {"type": "Task"}, "Id": "00T5e01", "WhatId": OPP1,
           "Subject": "Stale deal: Acme", "OwnerId": "0055e01"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, soql, query_page([row]), endpoint="query", batch=False)
        found = connector().find_tasks([OPP1, OPP2, OPP1])
    assert found == [{"id": "00T5e01", "deal_id": OPP1, "subject": "Stale deal: Acme",
                      "owner_id": "0055e01"}]


TASK1, TASK2 = "00T5e00000000001AA", "00T5e00000000002AA"
STATUS_SOQL = "SELECT MasterLabel, ApiName, IsClosed, IsDefault FROM TaskStatus"


def _status(name: str, closed: bool) -> dict[str, object]:
    return {"attributes": {"type": "TaskStatus"}, "MasterLabel": name, "ApiName": name,
            "IsClosed": closed, "IsDefault": name == "Open"}


def test_update_tasks_completes_with_the_orgs_closed_status_read_once() -> None:
    statuses = [_status("Open", False), _status("Done", True), _status("Won't do", True)]
    completed = {"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "id": TASK1, "Subject": "Stale deal: Acme",
         "Description": "in Proposal for 41 days (max 21)", "ActivityDate": "2026-11-25"},
        {"attributes": {"type": "Task"}, "id": TASK2, "Description": "the deal was won",
         "Status": "Done"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, STATUS_SOQL, query_page(statuses), endpoint="query", batch=False)
        rsps.add(responses.PATCH, f"{API}/composite/sobjects", headers=LIMIT,
                 json=[{"id": TASK1, "success": True, "errors": []},
                       {"id": TASK2, "success": False, "errors": [
                           {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted",
                            "fields": []}]}],
                 match=[matchers.json_params_matcher(completed)])
        rsps.add(responses.PATCH, f"{API}/composite/sobjects", headers=LIMIT,
                 json=[{"id": TASK1, "success": True, "errors": []}])
        sf = connector()
        results = sf.update_tasks([
            TaskUpdate(TASK1, subject="Stale deal: Acme",
                       body="in Proposal for 41 days (max 21)", due=date(2026, 11, 25)),
            TaskUpdate(TASK2, body="the deal was won", complete=True)])
        again = sf.update_tasks([TaskUpdate(TASK1, complete=True)])
        assert json.loads(rsps.calls[-1].request.body)["records"][0]["Status"] == "Done"
    assert results == [RowResult(TASK1, True), RowResult(TASK2, False, "ENTITY_IS_DELETED",
                                                         "entity is deleted")]
    assert again == [RowResult(TASK1, True)]


def test_read_tasks_by_id_a_task_the_query_does_not_return_is_deleted() -> None:
    soql = ("SELECT Id, IsClosed, Subject, Description FROM Task WHERE Id IN "
            f"('{TASK1}', '{TASK2}')")
    row = {"attributes": {"type": "Task"}, "Id": TASK1, "IsClosed": True,
           "Subject": "Stale deal: Acme [fs:1]", "Description": None}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, soql, query_page([row]), endpoint="query", batch=False)
        found = connector().read_tasks([TASK1, TASK2, TASK1])
    assert found == {TASK1: TaskInfo(TASK1, "closed", "Stale deal: Acme [fs:1]", ""),
                     TASK2: TaskInfo(TASK2, "deleted")}


def test_stage_changes_from_opportunity_history() -> None:
    history = [field("Id", "id"), field("OpportunityId", "reference"),
               field("StageName", "picklist"), field("CreatedDate", "datetime"),
               field("IsDeleted", "boolean")]
    soql = ("SELECT Id, OpportunityId, StageName, CreatedDate, IsDeleted FROM OpportunityHistory "
            "WHERE CreatedDate >= 2026-11-01T00:00:00Z ORDER BY CreatedDate, Id")
    row = {"attributes": {"type": "OpportunityHistory"}, "Id": "0085e01", "OpportunityId": OPP1,
           "StageName": "Proposal/Price Quote", "CreatedDate": "2026-11-02T10:00:00.000+0000",
           "IsDeleted": False}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "OpportunityHistory", history)
        add_query(rsps, soql, query_page([row]))
        rows = list(connector().iter_stage_changes(datetime(2026, 11, 1, tzinfo=UTC)))
    assert rows == [row]


def test_stage_catalog_reads_opportunity_stages_and_lead_statuses() -> None:
    stage = {"attributes": {"type": "OpportunityStage"}, "Id": "01J5e01",
             "MasterLabel": "Prospecting", "ApiName": "Prospecting", "IsActive": True,
             "IsClosed": False, "IsWon": False, "DefaultProbability": 10.0,
             "ForecastCategoryName": "Pipeline", "SortOrder": 1}
    status = {"attributes": {"type": "LeadStatus"}, "Id": "01J5e02", "MasterLabel": "Open",
              "ApiName": "Open", "IsConverted": False, "IsDefault": True, "SortOrder": 1}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, "SELECT Id, MasterLabel, ApiName, IsActive, IsClosed, IsWon, "
                        "DefaultProbability, ForecastCategoryName, SortOrder FROM "
                        "OpportunityStage ORDER BY SortOrder", query_page([stage]),
                  endpoint="query", batch=False)
        add_query(rsps, "SELECT Id, MasterLabel, ApiName, IsConverted, IsDefault, SortOrder "
                        "FROM LeadStatus ORDER BY SortOrder", query_page([status]),
                  endpoint="query", batch=False)
        assert connector().stage_catalog() == [stage, status]
