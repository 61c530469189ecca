"""Salesforce reads: query text, paging, boundary de-dup, re-auth, splits, Bulk 2.0, quota."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers
from salesforce_fixtures import (
    API,
    BATCH,
    INSTANCE,
    LEAD_FIELDS,
    LIMIT,
    SESSION,
    add_describe,
    add_query,
    add_soap_login,
    connector,
    error,
    field,
    lead,
    password_config,
    query_page,
)
from support.clock import FakeClock

from funnelsync.config.models import LimitsConfig, SalesforceConfig
from funnelsync.connectors.base import Page
from funnelsync.connectors.paging import AfterKey
from funnelsync.errors import AuthError, RateLimited, RemoteError

SELECT = ("SELECT Id, FirstName, LastName, Email, Company, NumberOfEmployees, Status, OwnerId, "
          "Owner.Name, SystemModstamp, IsDeleted, Funnel_Score__c FROM Lead")
SINCE = datetime(2026, 11, 20, 8, 0, 0, 500000, tzinfo=UTC)
INCREMENTAL = f"{SELECT} WHERE SystemModstamp >= 2026-11-20T08:00:00Z ORDER BY SystemModstamp, Id"
FULL = f"{SELECT} ORDER BY SystemModstamp, Id"
NEXT = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
NEXT2 = "/services/data/v59.0/query/01gD0000002HU6KIAW-4000"


def add_more(rsps: responses.RequestsMock, url: str, body: object, status: int = 200,
             batch: bool = True) -> None:
    match = [matchers.header_matcher(BATCH, strict_match=False)] if batch else []
    rsps.add(responses.GET, f"{INSTANCE}{url}", json=body, status=status, headers=LIMIT,
             match=match)


def ids(page: Page) -> list[str]:
    return [r["Id"][-3:] for r in page.records]


def test_incremental_query_text_paging_cursor_and_resume() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, query_page(
            [lead(1, "2026-11-20T08:00:00.000+0000"), lead(2, "2026-11-20T08:30:00.000+0000")],
            NEXT, total=3))
        add_more(rsps, NEXT, query_page([lead(3, "2026-11-20T09:00:00.000+0000",
                                              IsDeleted=True)], total=3))
        sf = connector()
        pages = list(sf.iter_pages("leads", since=SINCE))
    assert [ids(p) for p in pages] == [["001", "002"], ["003"]]
    assert [p.cursor for p in pages] == [datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
                                         datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    assert [p.resume for p in pages] == [NEXT, None]
    assert pages[1].records[0]["IsDeleted"] is True
    assert pages[0].records[0]["Owner"]["Name"] == "Dana Kim"
    assert sf.usage.records == 3
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 2}


def test_full_load_is_ordered_without_where_and_resume_continues_the_page() -> None:
    config = password_config(bulk_threshold=50_000)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        # no COUNT(): the first page's totalSize (3, under the threshold) decides REST
        add_query(rsps, FULL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")], NEXT, 3))
        add_more(rsps, NEXT2, query_page([lead(3, "2026-11-20T09:00:00.000+0000")], total=3))
        sf = connector(config)
        first = next(iter(sf.iter_pages("leads")))
        resumed = list(sf.iter_pages("leads", resume=NEXT2))
    assert (ids(first), first.resume) == (["001"], NEXT)
    assert [ids(p) for p in resumed] == [["003"]]


def test_boundary_ties_are_not_yielded_twice() -> None:
    """The next pull starts after the last (SystemModstamp, Id) stored: rows sharing the
    boundary time that were already read are not asked for again."""
    after = "2026-11-20T09:00:00.500Z"
    again = (f"{SELECT} WHERE SystemModstamp > {after} OR (SystemModstamp = {after} AND "
             "Id > '00Q5e0000000000003') ORDER BY SystemModstamp, Id")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, query_page([
            lead(1, "2026-11-20T08:10:00.000+0000"), lead(2, "2026-11-20T09:00:00.000+0000"),
            lead(3, "2026-11-20T09:00:00.500+0000")]))
        add_query(rsps, again, query_page([
            lead(4, "2026-11-20T09:00:00.500+0000"), lead(5, "2026-11-20T09:00:00.700+0000")]))
        sf = connector()
        pages = list(sf.iter_pages("leads", since=SINCE))
        key = AfterKey(pages[-1].cursor, pages[-1].last_id)  # type: ignore[arg-type]
        first = [r for p in pages for r in p.records]
        later = [r for p in sf.iter_pages("leads", resume=key.encode()) for r in p.records]
    assert key == AfterKey(datetime(2026, 11, 20, 9, 0, 0, 500000, tzinfo=UTC),
                           "00Q5e0000000000003")
    assert [r["Id"][-3:] for r in first] == ["001", "002", "003"]
    assert [r["Id"][-3:] for r in later] == ["004", "005"]
    assert sf.usage.records == sf.usage.received == 5


def test_a_key_at_a_whole_second_uses_the_documented_literal() -> None:
    """Salesforce stamps are whole seconds: the key's literal has no fraction then."""
    key = AfterKey(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "00Q5e0000000000002")
    soql = (f"{SELECT} WHERE SystemModstamp > 2026-11-20T09:00:00Z OR (SystemModstamp = "
            "2026-11-20T09:00:00Z AND Id > '00Q5e0000000000002') ORDER BY SystemModstamp, Id")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, soql, query_page([]))
        pages = list(connector().iter_pages("leads", since=SINCE, resume=key.encode()))
    assert [(p.records, p.cursor, p.last_id) for p in pages] == [([], None, None)]


def test_expired_session_mid_pagination_logs_in_again_and_fetches_the_same_page() -> None:
    fresh = "00D5e000000AbCd!AQ4AQSecondSessionValue"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")],
                                                NEXT, 2))
        add_more(rsps, NEXT, error("INVALID_SESSION_ID", "Session expired or invalid"), 401)
        add_soap_login(rsps, session=fresh)
        # simple-salesforce repeats the request itself after logging in again, without the
        # batchSize hint header (a hint only; the page is the same)
        add_more(rsps, NEXT, query_page([lead(2, "2026-11-20T08:05:00.000+0000")], total=2),
                 batch=False)
        sf = connector()
        pages = list(sf.iter_pages("leads", since=SINCE))
        urls = [c.request.url.split("?")[0] for c in rsps.calls]
        last_auth = rsps.calls[-1].request.headers["Authorization"]
    assert [ids(p) for p in pages] == [["001"], ["002"]]
    assert urls == ["https://login.salesforce.com/services/Soap/u/59.0",
                    f"{API}/sobjects/Lead/describe", f"{API}/queryAll/",
                    f"{INSTANCE}{NEXT}", "https://login.salesforce.com/services/Soap/u/59.0",
                    f"{INSTANCE}{NEXT}"]
    assert last_auth == f"Bearer {fresh}"


def test_bare_session_id_expiry_is_a_clear_auth_error() -> None:
    config = SalesforceConfig(session_id=SESSION, instance_url=INSTANCE)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")],
                                                NEXT, 2))
        add_more(rsps, NEXT, error("INVALID_SESSION_ID", "Session expired or invalid"), 401)
        pages = connector(config).iter_pages("leads", since=SINCE)
        assert ids(next(pages)) == ["001"]
        with pytest.raises(AuthError) as info:
            next(pages)
    assert str(info.value) == (
        "the Salesforce session expired and a bare session_id cannot be renewed (configure "
        "credentials that can log in again: username + password + security_token, "
        "consumer_key + consumer_secret, or a JWT privatekey_file)")
    assert info.value.exit_code == 4


def test_describe_is_read_once_and_optional_fields_dropped() -> None:
    opp = [field("Id", "id"), field("Name"), field("StageName", "picklist"),
           field("OwnerId", "reference", relationshipName="Owner", referenceTo=["User"]),
           field("AccountId", "reference", relationshipName="Account", referenceTo=["Account"]),
           field("SystemModstamp", "datetime"), field("IsDeleted", "boolean"),
           field("Funnel_Stage__c")]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Opportunity", opp)
        sf = connector()
        assert sf.fields_for("Opportunity") == [
            "Id", "Name", "StageName", "OwnerId", "Owner.Name", "AccountId", "Account.Name",
            "SystemModstamp", "IsDeleted", "Funnel_Stage__c"]
        sf.fields_for("Opportunity")
    assert sf.usage.by_kind == {"login": 1, "describe": 1}


def test_query_too_long_for_a_url_fetches_the_other_fields_by_id() -> None:
    wide = [f"Custom_Field_With_A_Long_Descriptive_Name_{i:03d}__c" for i in range(400)]
    fields = [field("Id", "id"), field("SystemModstamp", "datetime"),
              field("IsDeleted", "boolean")] + [field(n) for n in wide]
    wanted = {"Lead": ["Id", "SystemModstamp", "IsDeleted", *wide]}
    in_query, by_id = wide[:303], wide[303:]
    soql = (f"SELECT Id, SystemModstamp, IsDeleted, {', '.join(in_query)} FROM Lead "
            "ORDER BY SystemModstamp, Id")
    live = lead(1, "2026-11-20T08:00:00.000+0000")
    gone = lead(2, "2026-11-20T08:01:00.000+0000", IsDeleted=True)
    retrieved = [{"attributes": {"type": "Lead"}, "Id": live["Id"],
                  **{n: f"v{n[-6:-3]}" for n in by_id}}]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", fields)
        add_query(rsps, soql, query_page([live, gone]))
        rsps.add(responses.POST, f"{API}/composite/sobjects/Lead", json=retrieved,
                 headers=LIMIT, match=[matchers.json_params_matcher(
                     {"ids": [live["Id"]], "fields": by_id})])
        records = list(connector(fields=wanted).iter_records("leads"))
        assert len(rsps.calls[2].request.url) == 15_899  # under the 16,384 limit
    assert records[0]["Custom_Field_With_A_Long_Descriptive_Name_399__c"] == "v399"
    assert records[1]["IsDeleted"] is True
    assert records[1]["Custom_Field_With_A_Long_Descriptive_Name_399__c"] is None


BULK_CSV_1 = (
    '"Id","FirstName","LastName","Email","Company","NumberOfEmployees","Status","OwnerId",'
    '"Owner.Name","SystemModstamp","IsDeleted","Funnel_Score__c"\n'
    '"00Q5e0000000000001","Ann","Lee","ann@x.test","X","250","Open","0055e01","Dana Kim",'
    '"2026-11-20T08:00:00.000Z","false","42.5"\n')
BULK_CSV_2 = (
    '"Id","FirstName","LastName","Email","Company","NumberOfEmployees","Status","OwnerId",'
    '"Owner.Name","SystemModstamp","IsDeleted","Funnel_Score__c"\n'
    '"00Q5e0000000000002","","Roe","","Y","","Open","","",'
    '"2026-11-21T10:00:00.000Z","true",""\n')


def test_full_load_above_threshold_uses_bulk_2() -> None:
    job = "750R0000000zlh9IAA"
    jobs = f"{API}/jobs/query"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        # the first REST page says 3 rows, above the threshold of 2: Bulk 2.0 takes over
        add_query(rsps, FULL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")], NEXT, 3))
        rsps.add(responses.POST, jobs, json={"id": job, "state": "UploadComplete"},
                 match=[matchers.json_params_matcher({
                     "operation": "queryAll", "columnDelimiter": "COMMA", "lineEnding": "LF",
                     "query": SELECT})])
        rsps.add(responses.GET, f"{jobs}/{job}", json={"id": job, "state": "InProgress"})
        rsps.add(responses.GET, f"{jobs}/{job}", json={"id": job, "state": "JobComplete"})
        rsps.add(responses.GET, f"{jobs}/{job}/results", body=BULK_CSV_1,
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "1"},
                 match=[matchers.query_param_matcher({"maxRecords": "10000"})])
        rsps.add(responses.GET, f"{jobs}/{job}/results", body=BULK_CSV_2,
                 headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
                 match=[matchers.query_param_matcher({"maxRecords": "10000",
                                                      "locator": "MTAwMDA"})])
        clock = FakeClock()
        sf = connector(password_config(bulk_threshold=2), clock=clock)
        pages = list(sf.iter_pages("leads"))
    assert [(p.cursor, p.resume) for p in pages] == [
        (None, f"bulk2:{job}:MTAwMDA"), (datetime(2026, 11, 21, 10, tzinfo=UTC), None)]
    assert pages[0].records[0] == {
        "attributes": {"type": "Lead", "url": "/services/data/v59.0/sobjects/Lead/"
                                              "00Q5e0000000000001"},
        "Id": "00Q5e0000000000001", "FirstName": "Ann", "LastName": "Lee",
        "Email": "ann@x.test", "Company": "X", "NumberOfEmployees": 250, "Status": "Open",
        "OwnerId": "0055e01", "Owner": {"attributes": {"type": "User"}, "Name": "Dana Kim"},
        "SystemModstamp": "2026-11-20T08:00:00.000+0000", "IsDeleted": False,
        "Funnel_Score__c": 42.5}
    second = pages[1].records[0]
    assert (second["FirstName"], second["Owner"], second["IsDeleted"],
            second["NumberOfEmployees"]) == (None, None, True, None)
    assert clock.sleeps == [0.0]
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 1, "bulk": 5}


def test_failed_bulk_job_is_an_error_not_an_empty_result() -> None:
    job = "750R0000000zlh9IAB"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, FULL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")], NEXT, 3))
        rsps.add(responses.POST, f"{API}/jobs/query", json={"id": job, "state": "UploadComplete"})
        rsps.add(responses.GET, f"{API}/jobs/query/{job}",
                 json={"id": job, "state": "Failed", "errorMessage": "INVALID_FIELD: Foo"})
        with pytest.raises(RemoteError) as info:
            list(connector(password_config(bulk_threshold=2)).iter_pages("leads"))
    assert info.value.message == ("Salesforce Bulk 2.0 job 750R0000000zlh9IAB for Lead ended "
                                  "Failed: INVALID_FIELD: Foo")


def test_quota_share_stops_the_run_after_the_allowed_calls() -> None:
    limits = LimitsConfig(salesforce_quota_share=0.5)
    urls = [f"/services/data/v59.0/query/01gD0000002HU6KIAW-{n}" for n in range(1, 6)]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.GET, f"{API}/sobjects/Lead/describe",
                 json={"name": "Lead", "fields": LEAD_FIELDS},
                 headers={"Sforce-Limit-Info": "api-usage=99990/100000"})
        add_query(rsps, INCREMENTAL, query_page([lead(0, "2026-11-20T08:00:00.000+0000")],
                                                urls[0]),
                  headers={"Sforce-Limit-Info": "api-usage=99991/100000"})
        for n, url in enumerate(urls[:4], start=1):
            rsps.add(responses.GET, f"{INSTANCE}{url}", json=query_page(
                [lead(n, "2026-11-20T08:00:00.000+0000")], urls[n]),
                headers={"Sforce-Limit-Info": f"api-usage={99991 + n}/100000"})
        sf = connector(limits=limits)
        got: list[str] = []
        with pytest.raises(RateLimited) as info:
            for record in sf.iter_records("leads", since=SINCE):
                got.append(record["Id"][-3:])
    assert got == ["000", "001", "002", "003", "004"]
    assert info.value.exit_code == 4
    assert info.value.message == (
        "Salesforce API quota: this run may use 5 of the 10 calls left today "
        "(limits.salesforce_quota_share = 0.5) and has used 5; stopping before the next call")
    assert (sf.usage.quota_used, sf.usage.quota_max) == (99995, 100000)


def test_request_limit_exceeded_is_rate_limited() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, error("REQUEST_LIMIT_EXCEEDED",
                                           "TotalRequests Limit exceeded."), status=403)
        with pytest.raises(RateLimited) as info:
            list(connector().iter_records("leads", since=SINCE))
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"


def test_server_errors_and_timeouts_are_retried() -> None:
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, error("SERVER_UNAVAILABLE", "try later"), status=503)
        rsps.add(responses.GET, f"{API}/queryAll/", body=requests.ReadTimeout("read timed out"))
        add_query(rsps, INCREMENTAL, query_page([lead(1, "2026-11-20T08:00:00.000+0000")]))
        sf = connector(clock=clock)
        records = list(sf.iter_records("leads", since=SINCE))
    assert len(records) == 1
    assert clock.sleeps == [1.0, 2.0]
    assert sf.usage.retries == 2
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 3}


def test_gives_up_after_the_retry_budget_with_what_happened() -> None:
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, INCREMENTAL, error("SERVER_UNAVAILABLE", "try later"), status=503)
        with pytest.raises(RemoteError) as info:
            list(connector(clock=clock).iter_records("leads", since=SINCE))
        attempts = len(rsps.calls) - 2
    assert attempts == 6
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert info.value.message == ("Salesforce query Lead failed after 6 attempt(s) over 23s: "
                                  "HTTP 503 SERVER_UNAVAILABLE: try later; giving up")
    assert SESSION not in str(info.value)
