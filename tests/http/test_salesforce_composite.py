"""Reads folded into Salesforce's Composite resource: one call for what a run reads first, and
each subrequest's answer taken by its own call as if that call had made it: a 304 describe is
"unchanged", a failed subrequest takes the retry table's row for its status and error code (a
retry or a fresh login makes the single call; a rejected query fails as it would alone)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers
from salesforce_fixtures import (
    API,
    LEAD_FIELDS,
    LIMIT,
    add_query,
    add_soap_login,
    connector,
    error,
    field,
    lead,
    query_page,
)

from funnelsync.connectors.base import ReadPlan
from funnelsync.connectors.salesforce.composite import (
    describe_read,
    more_read,
    packed,
    query_read,
    request_body,
)
from funnelsync.connectors.salesforce.connector import SalesforceConnector
from funnelsync.connectors.salesforce.query import CATALOG_QUERIES
from funnelsync.errors import RemoteError

SINCE = datetime(2026, 11, 20, 8, 30, 5, tzinfo=UTC)
HTTP_DATE = "Fri, 20 Nov 2026 08:30:05 GMT"
V = "/services/data/v59.0"
LEADS_SOQL = ("SELECT Id, FirstName, LastName, Email, Company, NumberOfEmployees, Status, "
              "OwnerId, Owner.Name, SystemModstamp, IsDeleted, Funnel_Score__c FROM Lead "
              "ORDER BY SystemModstamp, Id")
STAGE = {"attributes": {"type": "OpportunityStage"}, "Id": "01J1", "MasterLabel": "Prospecting",
         "ApiName": "Prospecting", "IsActive": True, "IsClosed": False, "IsWon": False,
         "DefaultProbability": 10.0, "ForecastCategoryName": "Pipeline", "SortOrder": 1}
STATUS = {"attributes": {"type": "LeadStatus"}, "Id": "01J9", "MasterLabel": "Open",
          "ApiName": "Open", "IsConverted": False, "IsDefault": True, "SortOrder": 1}
OPPORTUNITY = {"name": "Opportunity", "fields": [field("Id", "id"), field("StageName")]}
HISTORY = {"name": "OpportunityHistory", "fields": [field("Id", "id"), field("StageName")]}


def result(ref: str, status: int, body: Any) -> dict[str, Any]:
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref}


def given_lead_describe() -> SalesforceConnector:
    sf = connector()
    sf.use_describe("Lead", {"name": "Lead", "fields": LEAD_FIELDS})
    return sf


# The plan below, as the composite request it becomes: the Lead describe given from a cache is
# asked If-Modified-Since, the two describes not given are read whole, the two catalogs are due,
# and the leads stream starts at the beginning (its query is known: the Lead describe is).
PLAN = ReadPlan(describes_since=SINCE, catalog=True, starts={"leads": (None, None)})
EXPECTED_BODY = {"allOrNone": False, "compositeRequest": [
    {"method": "GET", "url": f"{V}/sobjects/Lead/describe", "referenceId": "r0",
     "httpHeaders": {"If-Modified-Since": HTTP_DATE}},
    {"method": "GET", "url": f"{V}/sobjects/Opportunity/describe", "referenceId": "r1"},
    {"method": "GET", "url": f"{V}/sobjects/OpportunityHistory/describe", "referenceId": "r2"},
    {"method": "GET", "url": f"{V}/query/?" + query_read(CATALOG_QUERIES[0], deleted=False,
                                                          batch=False).path.split("?")[1],
     "referenceId": "r3"},
    {"method": "GET", "url": f"{V}/query/?" + query_read(CATALOG_QUERIES[1], deleted=False,
                                                          batch=False).path.split("?")[1],
     "referenceId": "r4"},
    {"method": "GET", "url": f"{V}/queryAll/?" + query_read(LEADS_SOQL, deleted=True,
                                                             batch=True).path.split("?")[1],
     "referenceId": "r5", "httpHeaders": {"Sforce-Query-Options": "batchSize=2000"}},
]}


def add_composite(rsps: responses.RequestsMock, results: list[dict[str, Any]]) -> None:
    rsps.add(responses.POST, f"{API}/composite", json={"compositeResponse": results},
             headers=LIMIT, match=[matchers.json_params_matcher(EXPECTED_BODY)])


def planned_answers(leads: tuple[int, Any], stage_status: tuple[int, Any] = (200, None)
                    ) -> list[dict[str, Any]]:
    return [result("r0", 304, None), result("r1", 200, OPPORTUNITY),
            result("r2", 200, HISTORY), result("r3", 200, query_page([STAGE])),
            result("r4", stage_status[0], stage_status[1] or query_page([STATUS])),
            result("r5", *leads)]


def test_a_plan_is_one_composite_call_and_each_call_takes_its_answer() -> None:
    page = query_page([lead(1, "2026-11-20T08:00:00.000+0000")])
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_composite(rsps, planned_answers((200, page)))
        sf = given_lead_describe()
        sf.prefetch(PLAN)
        unchanged = sf.describe_changed("Lead", SINCE)
        catalog = sf.stage_catalog()
        leads = [r["Id"] for p in sf.iter_pages("leads") for r in p.records]
        fields = sf.fields_for("Opportunity")
    assert unchanged is None  # answered 304 inside the composite
    assert catalog == [STAGE, STATUS]
    assert leads == ["00Q5e0000000000001"]
    assert fields == ["Id", "StageName"]
    assert sf.usage.by_kind == {"login": 1, "composite_read": 1}
    assert (sf.usage.records, sf.usage.retries) == (1, 0)


def test_a_subrequest_answered_503_is_retried_as_the_single_call() -> None:
    unavailable = error("SERVER_UNAVAILABLE", "Server temporarily unavailable")
    page = query_page([])
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_composite(rsps, planned_answers((200, page), (503, unavailable)))
        add_query(rsps, CATALOG_QUERIES[1], query_page([STATUS]), endpoint="query", batch=False)
        sf = given_lead_describe()
        sf.prefetch(PLAN)
        catalog = sf.stage_catalog()
    assert catalog == [STAGE, STATUS]
    assert sf.usage.by_kind == {"login": 1, "composite_read": 1, "query": 1}
    assert sf.usage.retries == 1


def test_a_subrequest_rejected_fails_the_call_as_the_single_call_would() -> None:
    invalid = error("INVALID_FIELD", "No such column 'Funnel_Score__c' on entity 'Lead'")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_composite(rsps, planned_answers((400, invalid)))
        sf = given_lead_describe()
        sf.prefetch(PLAN)
        with pytest.raises(RemoteError) as info:
            next(sf.iter_pages("leads"))
    assert (info.value.status, info.value.code) == (400, "INVALID_FIELD")
    assert str(info.value) == ("Salesforce query Lead: HTTP 400 INVALID_FIELD: No such column "
                               "'Funnel_Score__c' on entity 'Lead' (the request was rejected; "
                               "this is not temporary, check the message)")
    assert sf.usage.by_kind == {"login": 1, "composite_read": 1}  # nothing sent again


def test_a_subrequest_with_an_expired_session_logs_in_again_and_makes_the_single_call() -> None:
    expired = error("INVALID_SESSION_ID", "Session expired or invalid")
    page = query_page([lead(1, "2026-11-20T08:00:00.000+0000")])
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_composite(rsps, planned_answers((401, expired)))
        add_query(rsps, LEADS_SOQL, page)
        sf = given_lead_describe()
        sf.prefetch(PLAN)
        leads = [r["Id"] for p in sf.iter_pages("leads") for r in p.records]
    assert leads == ["00Q5e0000000000001"]
    assert sf.usage.by_kind == {"login": 2, "composite_read": 1, "query": 1}


def test_a_composite_answer_without_a_result_per_subrequest_is_not_salesforces() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_composite(rsps, planned_answers((200, query_page([])))[:5])
        sf = given_lead_describe()
        with pytest.raises(RemoteError) as info:
            sf.prefetch(PLAN)
    assert info.value.code == "BAD_SHAPE"


def test_nothing_due_and_one_stream_sends_no_composite() -> None:
    sf = given_lead_describe()
    sf.use_describe("Opportunity", OPPORTUNITY)
    sf.use_describe("OpportunityHistory", HISTORY)
    sf.prefetch(ReadPlan(starts={"leads": (None, None)}))  # one subrequest: not worth a call
    assert sf.usage.api_calls == 0


def test_reads_are_packed_25_subrequests_and_5_queries_a_composite() -> None:
    describes = [describe_read(f"Obj{n}__c") for n in range(22)]
    queries = [query_read(f"SELECT Id FROM Q{n}__c", deleted=False, batch=False)
               for n in range(7)]
    chunks = list(packed([*describes[:3], *queries, *describes[3:], queries[0]]))
    assert [(len(c), sum(r.is_query for r in c)) for c in chunks] == [(8, 5), (21, 2)]
    assert [len(c) for c in packed(describes + describes)] == [22]  # each key once
    assert [len(c) for c in packed([*describes, *describes[:1], *[
        describe_read(f"More{n}") for n in range(5)]])] == [25, 2]


def test_a_next_page_and_a_conditional_describe_as_subrequests() -> None:
    url = f"{V}/queryAll/01gD0000002HU6KIAW-2000"
    body = request_body([more_read(url), describe_read("Lead", HTTP_DATE)], "59.0")
    assert body == {"allOrNone": False, "compositeRequest": [
        {"method": "GET", "url": url, "referenceId": "r0",
         "httpHeaders": {"Sforce-Query-Options": "batchSize=2000"}},
        {"method": "GET", "url": f"{V}/sobjects/Lead/describe", "referenceId": "r1",
         "httpHeaders": {"If-Modified-Since": HTTP_DATE}}]}
