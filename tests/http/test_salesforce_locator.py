"""A gone query locator: the keyset query is asked again after the last page handed over.

Salesforce answers following an expired or released ``nextRecordsUrl`` with HTTP 400
``[{"errorCode": "INVALID_QUERY_LOCATOR", ...}]``. The connector asks the query again for the
rows after the key (SystemModstamp, Id) of the last page it handed over, at most three times a
stream per run; the fourth time the read fails naming the stream (exit code 4).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from responses import matchers
from salesforce_fixtures import (
    BATCH,
    INSTANCE,
    LEAD_FIELDS,
    LIMIT,
    add_describe,
    add_query,
    add_soap_login,
    connector,
    error,
    lead,
    query_page,
)

from funnelsync.connectors.base import Page
from funnelsync.errors import RemoteError

SELECT = ("SELECT Id, FirstName, LastName, Email, Company, NumberOfEmployees, Status, OwnerId, "
          "Owner.Name, SystemModstamp, IsDeleted, Funnel_Score__c FROM Lead")
SINCE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FIRST = f"{SELECT} WHERE SystemModstamp >= 2026-11-20T08:00:00Z ORDER BY SystemModstamp, Id"
GONE = error("INVALID_QUERY_LOCATOR", "invalid query locator")


def after(stamp: str, n: int) -> str:
    """The restart query: the rows after lead ``n`` at ``stamp``."""
    return (f"{SELECT} WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND "
            f"Id > '00Q5e00000{n:08d}') ORDER BY SystemModstamp, Id")


def next_url(n: int) -> str:
    return f"/services/data/v59.0/query/01gD0000002HU6KIA{n}-200"


def add_more(rsps: responses.RequestsMock, url: str, body: object, status: int = 200) -> None:
    rsps.add(responses.GET, f"{INSTANCE}{url}", json=body, status=status, headers=LIMIT,
             match=[matchers.header_matcher(BATCH, strict_match=False)])


def ids(page: Page) -> list[str]:
    return [r["Id"][-3:] for r in page.records]


def test_a_gone_locator_asks_the_query_again_after_the_last_page() -> None:
    """Page 1 holds leads 1-2 (both at 08:30); its locator is gone; the query asked again after
    (08:30, lead 2) gives lead 3 and a locator that works: each lead is received once."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, FIRST, query_page([lead(1, "2026-11-20T08:30:00.000+0000"),
                                           lead(2, "2026-11-20T08:30:00.000+0000")],
                                          next_url(1), total=4))
        add_more(rsps, next_url(1), GONE, status=400)
        add_query(rsps, after("2026-11-20T08:30:00Z", 2), query_page(
            [lead(3, "2026-11-20T08:30:00.000+0000")], next_url(2), total=2))
        add_more(rsps, next_url(2), query_page([lead(4, "2026-11-20T09:00:00.000+0000")],
                                               total=2))
        sf = connector()
        pages = list(sf.iter_pages("leads", since=SINCE))
    assert [ids(p) for p in pages] == [["001", "002"], ["003"], ["004"]]
    assert [p.last_id for p in pages] == ["00Q5e0000000000002", "00Q5e0000000000003",
                                          "00Q5e0000000000004"]
    assert sf.usage.records == 4
    # the first query, the gone locator, the query asked again, its next page
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 4}


def test_a_fourth_gone_locator_in_a_stream_stops_the_run_naming_it() -> None:
    """Three restarts are made; the fourth gone locator is a RemoteError (exit code 4)."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, FIRST, query_page([lead(1, "2026-11-20T08:01:00.000+0000")],
                                          next_url(1), total=9))
        add_more(rsps, next_url(1), GONE, status=400)
        for n in (2, 3, 4):
            add_query(rsps, after(f"2026-11-20T08:0{n - 1}:00Z", n - 1), query_page(
                [lead(n, f"2026-11-20T08:0{n}:00.000+0000")], next_url(n), total=9))
            add_more(rsps, next_url(n), GONE, status=400)
        sf = connector()
        received: list[list[str]] = []
        with pytest.raises(RemoteError) as info:
            for page in sf.iter_pages("leads", since=SINCE):
                received.append(ids(page))
    assert received == [["001"], ["002"], ["003"], ["004"]]
    assert str(info.value) == ("Salesforce leads (Lead): the query's next-page locator was gone "
                               "4 times in this run (INVALID_QUERY_LOCATOR); stopping after 3 "
                               "restarts (the pages stored so far are kept and the next run goes "
                               "on after them; if it happens again, other clients of this "
                               "Salesforce user are opening many queries at once: Salesforce "
                               "keeps 10 open per user)")
    assert (info.value.code, info.value.status, info.value.exit_code) == (
        "INVALID_QUERY_LOCATOR", 400, 4)
    assert sf.usage.by_kind == {"login": 1, "describe": 1, "query": 8}


def test_the_bound_is_per_stream_and_per_run() -> None:
    """Two restarts in one read of the stream and two in the next read of it (the same run,
    one connector): the fourth restart of the stream stops it."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        add_query(rsps, FIRST, query_page([lead(1, "2026-11-20T08:01:00.000+0000")],
                                          next_url(1), total=9))
        add_more(rsps, next_url(1), GONE, status=400)
        add_query(rsps, after("2026-11-20T08:01:00Z", 1), query_page(
            [lead(2, "2026-11-20T08:02:00.000+0000")], next_url(2), total=9))
        add_more(rsps, next_url(2), GONE, status=400)
        add_query(rsps, after("2026-11-20T08:02:00Z", 2), query_page(
            [lead(3, "2026-11-20T08:03:00.000+0000")], total=1))
        sf = connector()
        assert [ids(p) for p in sf.iter_pages("leads", since=SINCE)] == [["001"], ["002"],
                                                                          ["003"]]
        add_query(rsps, FIRST, query_page([lead(1, "2026-11-20T08:01:00.000+0000")],
                                          next_url(5), total=9))
        add_more(rsps, next_url(5), GONE, status=400)
        add_query(rsps, after("2026-11-20T08:01:00Z", 1), query_page(
            [lead(2, "2026-11-20T08:02:00.000+0000")], next_url(6), total=9))
        add_more(rsps, next_url(6), GONE, status=400)
        with pytest.raises(RemoteError, match="gone 4 times"):
            list(sf.iter_pages("leads", since=SINCE))
