"""Every paged read stops with RemoteError when the CRM names the page just read as the next one,
instead of asking for it again forever."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from hubspot_portal import BASE_MS, FakeClock, Portal, PortalServer, make_connector
from responses import matchers
from salesforce_fixtures import (
    API,
    BATCH,
    INSTANCE,
    LEAD_FIELDS,
    LIMIT,
    add_describe,
    add_query,
    add_soap_login,
    connector,
    lead,
    password_config,
    query_page,
)

from funnelsync.errors import RemoteError

SELECT = ("SELECT Id, FirstName, LastName, Email, Company, NumberOfEmployees, Status, OwnerId, "
          "Owner.Name, SystemModstamp, IsDeleted, Funnel_Score__c FROM Lead")
SINCE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
INCREMENTAL = f"{SELECT} WHERE SystemModstamp >= 2026-11-20T08:00:00Z ORDER BY SystemModstamp, Id"
NEXT = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
LOOP = "named the page just read as the next one"


def add_more(rsps: responses.RequestsMock, url: str, body: Any) -> None:
    rsps.add(responses.GET, f"{INSTANCE}{url}", json=body, headers=LIMIT,
             match=[matchers.header_matcher(BATCH, strict_match=False)])


# -- Salesforce ----------------------------------------------------------------------------


def test_a_next_records_url_pointing_at_itself_stops_the_pull() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")],
                                                NEXT, 5))
        add_more(rsps, NEXT, query_page([lead(2, "2026-11-20T08:01:00.000+0000")], NEXT, 5))
        sf = connector()
        pages = sf.iter_pages("leads", since=SINCE)
        assert next(pages).resume == NEXT
        with pytest.raises(RemoteError) as info:
            next(pages)
    assert info.value.message == (f"Salesforce query Lead {LOOP} ('{NEXT}'); stopping instead "
                                  "of reading it again forever")
    assert info.value.code == "PAGING_LOOP"
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 2}
    assert sf.usage.records == 1


def test_a_resumed_pull_whose_page_points_at_itself_stops_at_once() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_more(rsps, NEXT, query_page([lead(2, "2026-11-20T08:01:00.000+0000")], NEXT, 5))
        sf = connector()
        with pytest.raises(RemoteError, match=f"^Salesforce query Lead {LOOP}"):
            list(sf.iter_pages("leads", since=SINCE, resume=NEXT))
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 1}


def test_users_stop_on_a_repeated_next_records_url() -> None:
    users = "SELECT Id, Name, Email, IsActive, ManagerId FROM User"
    url = "/services/data/v59.0/query/01gUSERS-1"
    row = {"attributes": {"type": "User"}, "Id": "005000000000001AAA", "Name": "U"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, users, query_page([row], url), endpoint="query", batch=False)
        add_more(rsps, url, query_page([row], url))
        with pytest.raises(RemoteError, match=f"^Salesforce query User {LOOP} \\('{url}'\\)"):
            connector().users()


def test_open_tasks_stop_on_a_repeated_next_records_url() -> None:
    opp = "0065e00000000001AA"
    soql = ("SELECT Id, WhatId, Subject, OwnerId FROM Task WHERE IsClosed = false AND WhatId "
            f"IN ('{opp}')")
    url = "/services/data/v59.0/query/01gTASKS-1"
    row = {"attributes": {"type": "Task"}, "Id": "00T5e01", "WhatId": opp, "Subject": "S"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, soql, query_page([row], url), endpoint="query", batch=False)
        rsps.add(responses.GET, f"{INSTANCE}{url}", json=query_page([row], url), headers=LIMIT)
        with pytest.raises(RemoteError, match=f"^Salesforce query open Tasks {LOOP}"):
            connector().find_tasks([opp])


def test_a_bulk_page_naming_its_own_locator_as_next_stops_the_load() -> None:
    job = "750R0000000zlh9IAA"
    csv = '"Id","SystemModstamp"\n"00Q5e0000000000001","2026-11-20T08:00:00.000Z"\n'
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        rsps.add(responses.GET, f"{API}/jobs/query/{job}/results", body=csv,
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "1"},
                 match=[matchers.query_param_matcher({"maxRecords": "10000",
                                                      "locator": "MTAwMDA"})])
        sf = connector(password_config(bulk_threshold=2))
        pages = sf.iter_pages("leads", resume=f"bulk2:{job}:MTAwMDA")
        with pytest.raises(RemoteError) as info:
            next(pages)
    assert info.value.message == (f"Salesforce Bulk 2.0 results {job} {LOOP} "
                                  f"('bulk2:{job}:MTAwMDA'); stopping instead of reading it "
                                  "again forever")
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "bulk": 1}


# -- HubSpot -------------------------------------------------------------------------------


@pytest.fixture
def site(portal_server: PortalServer) -> tuple[Portal, str]:
    return portal_server.fresh()


def listing(ids: range, after: str) -> dict[str, Any]:
    return {"results": [{"id": str(i), "properties": {}, "archived": False} for i in ids],
            "paging": {"next": {"after": after}}}


def test_a_list_answering_the_same_after_twice_stops_the_pull(site):
    portal, host = site
    portal.fail_next("/crm/v3/objects/contacts", 200, listing(range(1, 101), "101"))
    portal.fail_next("/crm/v3/objects/contacts", 200, listing(range(101, 201), "101"))
    hs = make_connector(host, FakeClock())

    pages = hs.iter_pages("leads")
    assert next(pages).resume == "live:101"
    with pytest.raises(RemoteError) as info:
        next(pages)

    assert info.value.message == (f"list HubSpot contacts (live) {LOOP} ('101'); stopping "
                                  "instead of reading it again forever")
    assert [c["args"].get("after") for c in portal.calls("GET", "/crm/v3/objects/contacts")] == [
        None, ["101"]]
    assert hs.usage.records == 100


def test_an_archived_list_resumed_at_its_own_next_page_stops(site):
    portal, host = site
    portal.fail_next("/crm/v3/objects/contacts", 200, listing(range(5, 6), "5"))
    hs = make_connector(host, FakeClock())

    with pytest.raises(RemoteError, match=f"^list HubSpot contacts \\(archived\\) {LOOP}"):
        list(hs.iter_pages("leads", resume="archived:5"))


def test_owners_answering_the_same_after_twice_stop(site):
    portal, host = site
    portal.fail_next("/crm/v3/owners", 200, listing(range(1, 101), "100"))
    portal.fail_next("/crm/v3/owners", 200, listing(range(1, 101), "100"))
    hs = make_connector(host, FakeClock())

    with pytest.raises(RemoteError, match=f"^list HubSpot owners {LOOP} \\('100'\\)"):
        hs.owners()
    assert len(portal.calls("GET", "/crm/v3/owners/")) == 2


def test_a_search_that_ignores_the_id_filter_stops_instead_of_looping(site):
    portal, host = site
    tie = BASE_MS + 5

    def page(ids: range) -> dict[str, Any]:
        return {"total": 400, "results": [
            {"id": str(i), "properties": {"hs_lastmodifieddate": str(tie), "hs_object_id": str(i)}}
            for i in ids]}

    # a full page on one timestamp switches to walking it by id (the walk reads that page's
    # records itself); the portal then answers the same ids whatever the hs_object_id filter
    # says, so the walk cannot get past them
    for ids in (range(1, 201), range(201, 401), range(201, 401)):
        portal.fail_next("/crm/v3/objects/contacts/search", 200, page(ids))
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    pages = hs.iter_pages("leads", since=datetime.fromtimestamp(BASE_MS / 1000, tz=UTC))
    assert len(next(pages).records) == 200
    with pytest.raises(RemoteError, match=f"^search HubSpot contacts {LOOP} "
                                          r"\('search:split:\d+:400'\)"):
        next(pages)
    searches = [c["json"] for c in portal.calls("POST", "/crm/v3/objects/contacts/search")]
    assert [s["filterGroups"][0]["filters"][-1]["value"] for s in searches] == [
        str(BASE_MS), "0", "400"]
