"""Salesforce metadata reads that a run can skip: a describe asked ``If-Modified-Since``
(``304 Not Modified`` → nothing new), describes given from a cache, users changed since a time."""

from __future__ import annotations

from datetime import UTC, datetime

import responses
from responses import matchers
from salesforce_fixtures import (
    API,
    LEAD_FIELDS,
    LIMIT,
    add_query,
    add_soap_login,
    connector,
    query_page,
)

SINCE = datetime(2026, 11, 20, 8, 30, 5, tzinfo=UTC)
IF_MODIFIED = {"If-Modified-Since": "Fri, 20 Nov 2026 08:30:05 GMT"}


def add_conditional_describe(rsps: responses.RequestsMock, status: int,
                             body: dict | None = None) -> None:
    rsps.add(responses.GET, f"{API}/sobjects/Lead/describe", status=status, json=body,
             headers=LIMIT, match=[matchers.header_matcher(IF_MODIFIED, strict_match=False)])


def test_a_describe_not_modified_since_is_none_and_costs_one_call() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_conditional_describe(rsps, 304)
        sf = connector()
        assert sf.describe_changed("Lead", SINCE) is None
    assert sf.usage.by_kind == {"login": 1, "describe": 1}
    assert sf.usage.retries == 0


def test_a_describe_modified_since_is_read_and_used_by_reads() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_conditional_describe(rsps, 200, {"name": "Lead", "fields": LEAD_FIELDS})
        sf = connector()
        found = sf.describe_changed("Lead", SINCE)
        fields = sf.fields_for("Lead")
    assert found == {"name": "Lead", "fields": LEAD_FIELDS}
    assert fields[:3] == ["Id", "FirstName", "LastName"]
    assert sf.usage.by_kind == {"login": 1, "describe": 1}  # fields_for asked nothing more


def test_a_given_describe_is_used_without_a_call_and_described_keeps_what_reads_use() -> None:
    sf = connector()
    sf.use_describe("Lead", {"name": "Lead", "label": "Lead", "fields": LEAD_FIELDS[-4:]})

    assert sf.fields_for("Lead") == ["OwnerId", "Owner.Name", "SystemModstamp", "IsDeleted",
                                     "Funnel_Score__c"]
    assert sf.described() == {"Lead": {"name": "Lead", "fields": [
        {"name": "OwnerId", "type": "reference", "relationshipName": "Owner",
         "referenceTo": ["User", "Group"]},
        {"name": "SystemModstamp", "type": "datetime", "relationshipName": None,
         "referenceTo": None},
        {"name": "IsDeleted", "type": "boolean", "relationshipName": None, "referenceTo": None},
        {"name": "Funnel_Score__c", "type": "double", "relationshipName": None,
         "referenceTo": None}]}}
    assert sf.usage.api_calls == 0


def test_users_since_a_time_ask_for_those_changed_at_or_after_it() -> None:
    changed = "SystemModstamp >= 2026-11-20T08:30:05Z"
    user = {"attributes": {"type": "User"}, "Id": "005000000000001AAA", "Name": "U",
            "IsActive": False}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, f"SELECT Id, Name, Email, IsActive, ManagerId FROM User WHERE {changed}",
                  query_page([user]), endpoint="query", batch=False)
        add_query(rsps, f"SELECT Id, Name FROM Group WHERE Type = 'Queue' AND {changed}",
                  query_page([]), endpoint="query", batch=False)
        rows = connector().users(SINCE)
    assert rows == [user]
