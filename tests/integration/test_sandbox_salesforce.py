"""The sandbox's Salesforce surface, driven by the real simple-salesforce client."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import requests
from sfclient import DEMO, salesforce_client, sandbox_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from support.clock import SANDBOX_START, FakeClock

from funnelsync.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    """A sandbox of its own for tests that write or change faults."""
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> Salesforce:
    return salesforce_client(sandbox.url)


def test_soap_login_gives_a_session_on_the_sandbox_host(sf: Salesforce, sandbox: Sandbox) -> None:
    assert sf.sf_instance == sandbox.url.removeprefix("http://")
    assert sf.session_id.startswith("00D")


def test_bad_password_is_an_invalid_login_soap_fault(sandbox: Sandbox) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        salesforce_client(sandbox.url, username=DEMO["username"], password="nope",
                          security_token="demo")
    assert info.value.code == "INVALID_LOGIN"


def test_oauth_password_and_client_credentials_grants(sandbox: Sandbox) -> None:
    pwd = Salesforce(username=DEMO["username"], password="demo", consumer_key="funnelsync-demo",
                     consumer_secret="demo-secret", session=sandbox_session(sandbox.url))
    assert pwd.query("SELECT COUNT() FROM User")["totalSize"] == 12
    cc = Salesforce(consumer_key="funnelsync-demo", consumer_secret="demo-secret",
                    domain="funnelsync-demo.my", session=sandbox_session(sandbox.url))
    assert cc.sf_instance == sandbox.url.removeprefix("http://")
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(consumer_key="funnelsync-demo", consumer_secret="wrong",
                   domain="funnelsync-demo.my", session=sandbox_session(sandbox.url))
    assert info.value.code == "invalid_grant"


def test_query_paging_totals_match_stats(sf: Salesforce, sandbox: Sandbox) -> None:
    stats = sandbox.stats()["salesforce"]
    live = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Lead"))
    every = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Lead", include_deleted=True))
    assert len(live) == stats["counts"]["Lead"] == 286
    assert len(every) - len(live) == stats["deleted"]["Lead"] == 14
    assert {r["Id"] for r in every if r["IsDeleted"]}.isdisjoint(r["Id"] for r in live)


def test_batch_size_header_pages_and_is_clamped(sf: Salesforce) -> None:
    first = sf.query("SELECT Id FROM Opportunity", headers={
        "Sforce-Query-Options": "batchSize=50"})
    assert len(first["records"]) == 200  # clamped to Salesforce's minimum of 200
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert rest["done"] is True
    assert "nextRecordsUrl" not in rest
    assert len(first["records"]) + len(rest["records"]) == first["totalSize"]


def test_relationship_fields_and_queue_owners(sf: Salesforce) -> None:
    rows = sf.query_all("SELECT Id, Owner.Name, OwnerId FROM Lead ORDER BY Id")["records"]
    queue_owned = [r for r in rows if r["OwnerId"].startswith("00G")]
    assert queue_owned
    assert queue_owned[0]["Owner"]["attributes"]["type"] == "Group"
    assert queue_owned[0]["Owner"]["Name"] in ("Inbound Leads Queue", "Partner Leads Queue")
    user_owned = next(r for r in rows if r["OwnerId"].startswith("005"))
    assert user_owned["Owner"]["attributes"]["type"] == "User"
    inactive = sf.query("SELECT Id FROM User WHERE IsActive = false")["totalSize"]
    assert inactive == 2


def test_soql_errors_are_salesforce_error_lists(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELEKT Id FROM Lead")
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Foo__c FROM Opportunity")
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_describe_matches_a_multi_currency_org(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["CurrencyIsoCode"]["type"] == "picklist"
    assert [v["value"] for v in fields["CurrencyIsoCode"]["picklistValues"]] == [
        "USD", "EUR", "GBP"]
    assert fields["LastStageChangeDate"]["type"] == "datetime"
    assert fields["Funnel_Score__c"]["type"] == "double"
    assert fields["Funnel_Stage__c"]["custom"] is True
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Opportunity", "OpportunityHistory", "OpportunityStage", "LeadStatus",
            "Task", "User", "CurrencyType", "DatedConversionRate"} <= names


def test_currencies_and_dated_rates_are_queryable(sf: Salesforce) -> None:
    types = sf.query("SELECT IsoCode, ConversionRate, IsCorporate, IsActive FROM CurrencyType")
    assert [(r["IsoCode"], r["ConversionRate"], r["IsCorporate"], r["IsActive"])
            for r in types["records"]] == [("USD", 1.0, True, True), ("EUR", 0.9, False, True),
                                           ("GBP", 0.78, False, True),
                                           ("JPY", 150.0, False, False)]
    dated = sf.query("SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM "
                     "DatedConversionRate WHERE IsoCode = 'EUR' ORDER BY StartDate")["records"]
    assert [(r["StartDate"], r["NextStartDate"], r["ConversionRate"]) for r in dated] == [
        ("0001-01-01", "2026-04-01", 0.95), ("2026-04-01", "2026-10-01", 0.92),
        ("2026-10-01", "9999-12-31", 0.9)]
    assert dated[0]["attributes"]["type"] == "DatedConversionRate"


def test_some_opportunities_are_in_euros_and_pounds(sf: Salesforce) -> None:
    counts = {code: sf.query(f"SELECT COUNT() FROM Opportunity WHERE CurrencyIsoCode = "
                             f"'{code}'")["totalSize"] for code in ("USD", "EUR", "GBP")}
    assert counts == {"USD": 245, "EUR": 29, "GBP": 18}  # of 292 live; by the seed


def test_stage_catalog_has_the_custom_stage(sf: Salesforce) -> None:
    rows = sf.query("SELECT ApiName, IsClosed, IsWon, DefaultProbability FROM OpportunityStage "
                    "ORDER BY SortOrder")["records"]
    assert [r["ApiName"] for r in rows][3:6] == [
        "Value Proposition", "Technical Validation", "Id. Decision Makers"]
    assert rows[-2]["IsWon"] is True
    statuses = sf.query("SELECT ApiName FROM LeadStatus")["records"]
    assert len(statuses) == 4


def test_stage_history_is_consistent_with_current_stage(sf: Salesforce) -> None:
    opps = {r["Id"]: r for r in sf.query_all(
        "SELECT Id, StageName, LastStageChangeDate FROM Opportunity")["records"]}
    history = sf.query_all("SELECT OpportunityId, StageName, CreatedDate FROM OpportunityHistory "
                           "ORDER BY CreatedDate")["records"]
    last: dict[str, dict] = {}
    for row in history:
        last[row["OpportunityId"]] = row
    for oid, opp in opps.items():
        assert last[oid]["StageName"] == opp["StageName"]
        assert last[oid]["CreatedDate"] == opp["LastStageChangeDate"]


def test_update_stage_bumps_modstamp_and_appends_history(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    fresh.state.clock.now += 3600  # type: ignore[attr-defined]
    opp = sf.query("SELECT Id, StageName FROM Opportunity WHERE IsClosed = false "
                   "AND StageName != 'Negotiation/Review' LIMIT 1")["records"][0]
    sf.Opportunity.update(opp["Id"], {"StageName": "Negotiation/Review"})
    after = sf.Opportunity.get(opp["Id"])
    assert after["SystemModstamp"] == "2026-11-23T13:00:00.000+0000"
    assert after["LastStageChangeDate"] == "2026-11-23T13:00:00.000+0000"
    assert after["Probability"] == 90.0
    rows = sf.query(f"SELECT StageName FROM OpportunityHistory WHERE OpportunityId = "
                    f"'{opp['Id']}' ORDER BY CreatedDate DESC LIMIT 1")["records"]
    assert rows[0]["StageName"] == "Negotiation/Review"
    assert fresh.stats()["salesforce"]["records_written"] == 1
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.get("0065g00000zzzzzAAA")


def test_collections_update_reports_every_row(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Opportunity LIMIT 2")["records"]]
    records = [
        {"attributes": {"type": "Opportunity"}, "id": ids[0], "Funnel_Stage__c": "intent"},
        {"attributes": {"type": "Opportunity"}, "Funnel_Stage__c": "intent"},
        {"attributes": {"type": "Opportunity"}, "id": ids[1], "Foo__c": 1},
    ]
    result = sf.restful("composite/sobjects", method="PATCH",
                        json={"allOrNone": False, "records": records})
    assert [r["success"] for r in result] == [True, False, False]
    assert result[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert result[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Opportunity.get(ids[0])["Funnel_Stage__c"] == "intent"
    rolled = sf.restful("composite/sobjects", method="PATCH",
                        json={"allOrNone": True, "records": [records[0], records[2]]})
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    with pytest.raises(SalesforceMalformedRequest) as too_many:
        sf.restful("composite/sobjects", method="PATCH",
                   json={"allOrNone": False, "records": [records[0]] * 201})
    assert too_many.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert fresh.stats()["salesforce"]["records_written"] == 1


def test_inactive_owner_is_refused_per_row(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    inactive = sf.query("SELECT Id FROM User WHERE IsActive = false LIMIT 1")["records"][0]["Id"]
    lead = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    result = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "id": lead, "OwnerId": inactive}]})
    assert result[0]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"


def test_task_creation_is_counted(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    opp = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    result = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Task"}, "Subject": "Stale deal", "WhatId": opp,
         "Status": "Not Started", "ActivityDate": "2026-11-30"}]})
    assert result[0]["success"] is True
    assert result[0]["id"].startswith("00T")
    created = sf.Task.get(result[0]["id"])
    assert (created["WhatId"], created["IsClosed"]) == (opp, False)
    assert fresh.stats()["salesforce"]["tasks_created"] == 1


def test_bulk2_query_returns_csv_pages(sandbox: Sandbox, sf: Salesforce) -> None:
    chunks = list(sf.bulk2.Lead.query("SELECT Id, Email, Owner.Name FROM Lead",
                                      max_records=120, wait=0))
    rows = [row for chunk in chunks for row in csv.DictReader(io.StringIO(chunk))]
    assert len(chunks) == 3
    assert list(rows[0]) == ["Id", "Email", "Owner.Name"]
    assert len(rows) == sandbox.stats()["salesforce"]["counts"]["Lead"]


def test_limits_and_limit_info_header(sandbox: Sandbox, sf: Salesforce) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100000
    sf.query("SELECT COUNT() FROM Lead")
    assert sf.api_usage["api-usage"].total == 100000
    assert sf.api_usage["api-usage"].used == sandbox.stats()["salesforce"]["api_calls"]


def test_daily_limit_answers_request_limit_exceeded(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    fresh.set_faults(daily_limit=1)
    sf.query("SELECT COUNT() FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_session_expires_after_token_ttl(fresh: Sandbox) -> None:
    fresh.set_faults(token_ttl=60)
    sf = salesforce_client(fresh.url)
    bare = Salesforce(session_id=sf.session_id, instance_url=fresh.url.replace("http", "https"),
                      session=sandbox_session(fresh.url))
    assert bare.query("SELECT COUNT() FROM Lead")["totalSize"] == 286
    fresh.state.clock.now += 61  # type: ignore[attr-defined]
    with pytest.raises(SalesforceExpiredSession) as info:
        bare.query("SELECT COUNT() FROM Lead")
    assert info.value.content == [{"message": "Session expired or invalid",
                                   "errorCode": "INVALID_SESSION_ID"}]
    # A client that logged in itself logs in again on INVALID_SESSION_ID and goes on.
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 286


def test_missing_session_is_401(sandbox: Sandbox) -> None:
    resp = requests.get(f"{sandbox.url}/services/data/v59.0/query",
                        params={"q": "SELECT Id FROM Lead"}, timeout=5)
    assert resp.status_code == 401
    assert resp.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_rate_limit_answers_503_with_retry_after(fresh: Sandbox) -> None:
    sf = salesforce_client(fresh.url)
    fresh.set_faults(rate_limit=2)
    sf.query("SELECT COUNT() FROM Lead")
    sf.query("SELECT COUNT() FROM Lead")
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.status == 503
    assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    fresh.state.clock.now += 10  # type: ignore[attr-defined]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 286


def test_query_all_pages_include_deleted_rows(sf: Salesforce, sandbox: Sandbox) -> None:
    first = sf.query("SELECT Id, IsDeleted FROM Lead", include_deleted=True,
                     headers={"Sforce-Query-Options": "batchSize=200"})
    assert "/queryAll/01g" in first["nextRecordsUrl"]
    rows = list(sf.query_all_iter("SELECT Id FROM Lead WHERE IsDeleted = true",
                                  include_deleted=True))
    assert len(rows) == sandbox.stats()["salesforce"]["deleted"]["Lead"]


def test_wide_soql_in_a_get_is_uri_too_long(sf: Salesforce) -> None:
    fields = ", ".join(["Id"] + [f"Name{n}__c" for n in range(1500)])
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query(f"SELECT {fields} FROM Lead")
    assert info.value.status == 414
