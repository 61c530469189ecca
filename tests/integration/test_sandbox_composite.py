"""The sandbox's Composite resource answers as Salesforce documents it: one result per
subrequest inside HTTP 200 (a failed subrequest with its own status and error list), headers
per subrequest, at most 25 subrequests and 5 queries, one API call for the whole request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from sfclient import salesforce_client
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from support.clock import SANDBOX_START, FakeClock

from funnelsync.sandbox import Sandbox

V = "/services/data/v59.0"
LATER = format_datetime(datetime.fromtimestamp(SANDBOX_START + 60, UTC), usegmt=True)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    return salesforce_client(sandbox.url)


def get(url: str, ref: str, **headers: str) -> dict[str, Any]:
    sub: dict[str, Any] = {"method": "GET", "url": url, "referenceId": ref}
    if headers:
        sub["httpHeaders"] = {k.replace("_", "-"): v for k, v in headers.items()}
    return sub


def composite(sf: Salesforce, subrequests: list[dict[str, Any]]) -> Any:
    return sf.restful("composite", method="POST",
                      json={"allOrNone": False, "compositeRequest": subrequests})


def test_each_subrequest_has_its_status_and_body_and_the_request_is_one_call(
        sf: Salesforce, sandbox: Sandbox) -> None:
    before = sandbox.stats()["salesforce"]["api_calls"]
    answer = composite(sf, [
        get(f"{V}/sobjects/Lead/describe", "lead", If_Modified_Since=LATER),
        get(f"{V}/sobjects/Opportunity/describe", "opp"),
        get(f"{V}/query/?q=SELECT+COUNT()+FROM+Lead", "count"),
        get(f"{V}/query/?q=SELEKT+Id+FROM+Lead", "bad"),
        get(f"{V}/sobjects/Nothing__c/describe", "missing"),
    ])
    results = {r["referenceId"]: r for r in answer["compositeResponse"]}
    assert [r["referenceId"] for r in answer["compositeResponse"]] == [
        "lead", "opp", "count", "bad", "missing"]
    assert (results["lead"]["httpStatusCode"], results["lead"]["body"]) == (304, None)
    assert results["opp"]["httpStatusCode"] == 200
    assert results["opp"]["body"]["name"] == "Opportunity"
    assert results["count"]["body"] == {"totalSize": 286, "done": True, "records": []}  # live leads
    assert results["bad"]["httpStatusCode"] == 400
    assert results["bad"]["body"][0]["errorCode"] == "MALFORMED_QUERY"
    assert results["missing"]["httpStatusCode"] == 404
    stats = sandbox.stats()["salesforce"]
    assert stats["api_calls"] == before + 1
    assert stats["subrequest_status_counts"] == {"304": 1, "200": 2, "400": 1, "404": 1}


def test_more_than_25_subrequests_is_refused_whole(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        composite(sf, [get(f"{V}/sobjects/Lead/describe", f"r{n}") for n in range(26)])
    assert info.value.content[0]["errorCode"] == "INVALID_INPUT"


def test_more_than_5_queries_is_refused_whole(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        composite(sf, [get(f"{V}/query/?q=SELECT+Id+FROM+User", f"r{n}") for n in range(6)])
    assert "at most 5 query operations" in info.value.content[0]["message"]


def test_inherited_headers_may_not_be_set_per_subrequest(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        composite(sf, [get(f"{V}/sobjects/Lead/describe", "r0", Authorization="Bearer x")])
