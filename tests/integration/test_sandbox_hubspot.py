"""The sandbox's HubSpot surface, driven by the real hubspot-api-client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.deals import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from support.clock import SANDBOX_START, FakeClock
from urllib3 import Retry

from funnelsync.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


@pytest.fixture(scope="module")
def hs(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token="pat-demo", host=sandbox.url)


def _search(hs: HubSpot, **body: object) -> object:
    return hs.crm.deals.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
        **body))


def test_list_paging_totals_match_stats(hs: HubSpot, sandbox: Sandbox) -> None:
    stats = sandbox.stats()["hubspot"]
    api = hs.crm.deals.basic_api
    seen, after = [], None
    while True:
        page = api.get_page(limit=100, after=after, properties=["dealstage", "amount"])
        seen += page.results
        if page.paging is None:
            break
        after = page.paging.next.after
    archived = api.get_page(limit=100, archived=True).results
    assert len(seen) == stats["counts"]["deals"] == 292
    assert len(archived) == stats["archived"]["deals"] == 8
    assert len({d.id for d in seen}) == len(seen)
    assert set(seen[0].properties) == {"dealstage", "amount", "createdate",
                                       "hs_lastmodifieddate", "hs_object_id"}
    assert all(isinstance(v, str) or v is None for d in seen for v in d.properties.values())


def test_list_limit_above_100_is_refused(hs: HubSpot) -> None:
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.basic_api.get_page(limit=101)
    assert info.value.status == 400


def test_messy_amounts_currencies_and_stage_dates(hs: HubSpot) -> None:
    props = ["amount", "deal_currency_code", "dealstage", "pipeline",
             "hs_v2_date_entered_appointmentscheduled", "hs_v2_date_entered_1190341"]
    deals = hs.crm.deals.get_all(properties=props)
    amounts = [d.properties["amount"] for d in deals]
    assert None in amounts and "" in amounts
    assert any(a in ("n/a", "TBD") for a in amounts)
    assert {d.properties["deal_currency_code"] for d in deals} == {"USD", "EUR", "GBP"}
    custom = [d for d in deals if d.properties["pipeline"] == "2847561"]
    assert custom and all(d.properties["dealstage"].isdigit() for d in custom)
    assert all(d.properties["hs_v2_date_entered_1190341"] for d in custom
               if d.properties["dealstage"] == "1190341")


def test_batch_read_reports_missing_ids_with_207(hs: HubSpot) -> None:
    first = hs.crm.deals.basic_api.get_page(limit=2).results
    body = BatchReadInputSimplePublicObjectId(
        properties=["dealstage"], inputs=[{"id": first[0].id}, {"id": "1"}])
    result = hs.crm.deals.batch_api.read(batch_read_input_simple_public_object_id=body)
    assert [r.id for r in result.results] == [first[0].id]
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["1"]}


def test_batch_update_partial_failure_and_unknown_property(fresh: Sandbox) -> None:
    hs = HubSpot(access_token="pat-demo", host=fresh.url)
    deal = hs.crm.deals.basic_api.get_page(limit=1).results[0]
    fresh.state.clock.now += 60  # type: ignore[attr-defined]
    ok = hs.crm.deals.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": deal.id, "properties": {"funnel_stage": "decision"}},
        {"id": "42", "properties": {"funnel_stage": "decision"}}]))
    assert ok.errors[0].context == {"ids": ["42"]}
    assert ok.results[0].properties["funnel_stage"] == "decision"
    assert ok.results[0].properties["hs_lastmodifieddate"] == "2026-11-23T12:01:00.000Z"
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[
            {"id": deal.id, "properties": {"no_such_property": "x"}}]))
    assert info.value.status == 400
    assert json.loads(info.value.body)["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert fresh.stats()["hubspot"]["records_written"] == 1


def test_stage_change_stamps_date_entered(fresh: Sandbox) -> None:
    hs = HubSpot(access_token="pat-demo", host=fresh.url)
    deal = next(d for d in hs.crm.deals.get_all(properties=["dealstage", "pipeline"])
                if d.properties["pipeline"] == "default"
                and d.properties["dealstage"] != "contractsent")
    fresh.state.clock.now += 120  # type: ignore[attr-defined]
    hs.crm.deals.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": deal.id, "properties": {"dealstage": "contractsent"}}]))
    after = hs.crm.deals.basic_api.get_by_id(deal.id, properties=[
        "dealstage", "hs_v2_date_entered_contractsent", "hs_deal_stage_probability"])
    assert after.properties["hs_v2_date_entered_contractsent"] == "2026-11-23T12:02:00.000Z"
    assert after.properties["hs_deal_stage_probability"] == "0.9"


def test_task_with_deal_association(fresh: Sandbox) -> None:
    hs = HubSpot(access_token="pat-demo", host=fresh.url)
    deal = hs.crm.deals.basic_api.get_page(limit=1).results[0]
    task = hs.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"hs_task_subject": "Stale deal", "hs_task_status": "NOT_STARTED",
                    "hs_timestamp": "2026-11-30T09:00:00Z", "hubspot_owner_id": "101"},
        associations=[{"to": {"id": deal.id}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 216}]}]))
    links = hs.crm.associations.v4.basic_api.get_page("tasks", task.id, "deals")
    assert [link.to_object_id for link in links.results] == [deal.id]
    assert links.results[0].association_types[0].type_id == 216
    assert fresh.stats()["hubspot"]["tasks_created"] == 1


def test_search_filters_sorts_and_totals(hs: HubSpot) -> None:
    result = _search(hs, filter_groups=[
        {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]},
        {"filters": [{"propertyName": "dealstage", "operator": "IN",
                      "values": ["closedlost"]}]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["dealstage"], limit=200)
    everything = hs.crm.deals.get_all(properties=["dealstage"])
    closed = [d for d in everything if d.properties["dealstage"] in ("closedwon", "closedlost")]
    assert result.total == len(closed) == 108
    stamps = [r.properties["hs_lastmodifieddate"] for r in result.results]
    assert stamps == sorted(stamps)
    by_id = _search(hs, filter_groups=[{"filters": [
        {"propertyName": "hs_object_id", "operator": "GT", "value": "5000290"}]}], limit=50)
    assert by_id.total == 10


def test_search_ties_are_not_in_id_order(sandbox: Sandbox, hs: HubSpot) -> None:
    stamp = "2026-11-20T12:00:00.345Z"  # the bulk-import block: 10% of 300 deals
    result = _search(hs, filter_groups=[{"filters": [
        {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": "1795176000345"}]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}], limit=100)
    ids = [int(r.id) for r in result.results]
    assert result.total == 30
    assert {r.properties["hs_lastmodifieddate"] for r in result.results} == {stamp}
    assert ids != sorted(ids)


def test_search_limits(sandbox: Sandbox, hs: HubSpot) -> None:
    with pytest.raises(DealsApiException) as too_big:
        _search(hs, limit=201)
    assert too_big.value.status == 400
    sandbox.state.clock.now += 5  # type: ignore[attr-defined]  # a fresh 1-second window
    for _ in range(5):
        _search(hs, limit=1)
    with pytest.raises(DealsApiException) as info:
        _search(hs, limit=1)
    assert info.value.status == 429
    assert json.loads(info.value.body)["policyName"] == "SECONDLY"
    sandbox.state.clock.now += 1.5  # type: ignore[attr-defined]
    assert _search(hs, limit=1).total == 292


def test_ten_thousand_result_cap() -> None:
    # a fixed clock: the data (and so the shared 'bulk import' time) is anchored on its day
    with Sandbox(seed=3, leads=0, deals=20000, clock=lambda: 1_790_000_000.0) as sb:
        url = f"{sb.url}/crm/v3/objects/deals/search"
        headers = {"Authorization": "Bearer pat-demo"}
        sb.set_faults(search_limit=0)
        block = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                                "operator": "EQ", "value": "1789732800345"}]}]}
        first = requests.post(url, json={**block, "limit": 200, "after": "9800"},
                              headers=headers, timeout=30).json()
        assert first["total"] == 11000
        assert len(first["results"]) == 200
        assert first["paging"]["next"]["after"] == "10000"
        past = requests.post(url, json={**block, "limit": 200, "after": "10000"},
                             headers=headers, timeout=30)
        assert past.status_code == 400
        assert past.json()["category"] == "VALIDATION_ERROR"
        hs = HubSpot(access_token="pat-demo", host=sb.url)
        with pytest.raises(DealsApiException) as info:
            _search(hs, filter_groups=block["filterGroups"], limit=100, after="9901")
        assert info.value.status == 400


def test_pipelines_properties_and_owners(hs: HubSpot) -> None:
    pipelines = hs.crm.pipelines.pipelines_api.get_all("deals").results
    assert [p.id for p in pipelines] == ["default", "2847561"]
    default = pipelines[0].stages
    assert [s.id for s in default][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert default[0].metadata == {"isClosed": "false", "probability": "0.2"}
    names = {p.name for p in hs.crm.properties.core_api.get_all("deals").results}
    assert {"funnel_stage", "funnel_score", "hs_v2_date_entered_closedwon"} <= names
    with pytest.raises(PropertiesApiException) as info:
        hs.crm.properties.core_api.create("deals", PropertyCreate(
            name="funnel_stage", label="Funnel stage", type="string", field_type="text",
            group_name="dealinformation"))
    assert info.value.status == 409
    active = hs.crm.owners.owners_api.get_page().results
    inactive = hs.crm.owners.owners_api.get_page(archived=True).results
    assert (len(active), len(inactive)) == (10, 2)


def test_oauth_refresh_and_expiry(fresh: Sandbox) -> None:
    client = HubSpot(host=fresh.url)
    token = client.oauth.tokens_api.create(
        grant_type="refresh_token", client_id="funnelsync-demo", client_secret="demo-secret",
        refresh_token="demo-refresh")
    assert token.expires_in == 1800
    hs = HubSpot(access_token=token.access_token, host=fresh.url)
    assert hs.crm.deals.basic_api.get_page(limit=1).results
    fresh.state.clock.now += 1800  # type: ignore[attr-defined]
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.basic_api.get_page(limit=1)
    assert info.value.status == 401
    assert json.loads(info.value.body)["category"] == "EXPIRED_AUTHENTICATION"
    bad = requests.post(f"{fresh.url}/oauth/v1/token", data={
        "grant_type": "refresh_token", "client_id": "funnelsync-demo",
        "client_secret": "demo-secret", "refresh_token": "stolen"}, timeout=5)
    assert (bad.status_code, bad.json()["status"]) == (400, "BAD_REFRESH_TOKEN")


def test_bad_token_is_401(sandbox: Sandbox) -> None:
    hs = HubSpot(access_token="pat-wrong", host=sandbox.url)
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.basic_api.get_page(limit=1)
    assert info.value.status == 401
    assert json.loads(info.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_rate_limit_answers_429_with_retry_after(fresh: Sandbox) -> None:
    fresh.set_faults(rate_limit=3)
    # urllib3's default Retry would sleep out Retry-After (3 times) before raising.
    hs = HubSpot(access_token="pat-demo", host=fresh.url,
                 retry=Retry(0, respect_retry_after_header=False))
    for _ in range(3):
        hs.crm.deals.basic_api.get_page(limit=1)
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.basic_api.get_page(limit=1)
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "10"
    assert json.loads(info.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    fresh.state.clock.now += 10  # type: ignore[attr-defined]
    assert hs.crm.deals.basic_api.get_page(limit=1).results


def test_lifecycle_stage_only_moves_forward_unless_cleared(fresh: Sandbox) -> None:
    hs = HubSpot(access_token="pat-demo", host=fresh.url)
    contact = next(c for c in hs.crm.contacts.get_all(properties=["lifecyclestage"])
                   if c.properties["lifecyclestage"] == "salesqualifiedlead")
    api = hs.crm.contacts.basic_api
    api.update(contact.id, {"properties": {"lifecyclestage": "lead"}})
    assert api.get_by_id(contact.id, properties=["lifecyclestage"]).properties[
        "lifecyclestage"] == "salesqualifiedlead"
    api.update(contact.id, {"properties": {"lifecyclestage": ""}})
    api.update(contact.id, {"properties": {"lifecyclestage": "lead"}})
    assert api.get_by_id(contact.id, properties=["lifecyclestage"]).properties[
        "lifecyclestage"] == "lead"


def test_unknown_id_is_404(hs: HubSpot) -> None:
    with pytest.raises(DealsApiException) as info:
        hs.crm.deals.basic_api.get_by_id("123")
    assert info.value.status == 404
