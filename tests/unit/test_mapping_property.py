"""Property: any strings or nulls in any raw field give a record or a DataError, nothing else."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelsync.config.models import WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping import salesforce as sf
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.result import MapResult

MAPS = StageMaps()
WB = WritebackConfig()
CATALOG = hs.HubSpotCatalog.from_pipelines([{"id": "default", "stages": [
    {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4,
     "metadata": {"isClosed": "false", "probability": "0.9"}}]}])

SF_OPPORTUNITY = {
    "attributes": {"type": "Opportunity", "url": "/services/data/v59.0/sobjects/Opportunity/006A"},
    "Id": "006A", "Name": "Acme", "Amount": 48000.0, "StageName": "Prospecting",
    "Probability": 10.0, "IsClosed": False, "IsWon": False, "CloseDate": "2026-12-15",
    "OwnerId": "005A", "Owner": {"attributes": {"type": "User"}, "Name": "Dana Kim"},
    "AccountId": "001A", "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
    "CreatedDate": "2026-09-02T14:05:11.000+0000",
    "LastModifiedDate": "2026-11-20T08:00:00.000+0000",
    "SystemModstamp": "2026-11-20T08:00:00.000+0000", "LastActivityDate": "2026-11-18",
    "LastStageChangeDate": "2026-11-02T10:15:00.000+0000", "IsDeleted": False,
    "ForecastCategoryName": "Pipeline", "LeadSource": "Web", "Type": "New Business",
    "CurrencyIsoCode": "USD", "Funnel_Stage__c": "intent",
}
SF_LEAD = {
    "attributes": {"type": "Lead", "url": "/x"}, "Id": "00QA", "FirstName": "Maria",
    "LastName": "Lopez", "Email": "m@x.example", "Company": "Acme", "Title": "VP",
    "Industry": "Technology", "NumberOfEmployees": 120, "Country": "Spain", "LeadSource": "Web",
    "Status": "Working - Contacted", "OwnerId": "005A", "Owner": {"Name": "Dana Kim"},
    "CreatedDate": "2026-10-02T08:15:00.000+0000",
    "LastModifiedDate": "2026-11-20T10:00:00.000+0000",
    "SystemModstamp": "2026-11-20T10:00:00.000+0000", "LastActivityDate": "2026-11-19",
    "IsDeleted": False, "IsConverted": False, "Rating": "Hot", "Budget__c": "yes",
    "Funnel_Stage__c": "interest", "Funnel_Score__c": 48.0,
}
HS_DEAL = {
    "id": "9001", "createdAt": "2026-10-01T12:00:00.000Z", "updatedAt": "2026-11-21T09:30:12.345Z",
    "archived": False, "properties": {
        "amount": "1200.5", "dealstage": "contractsent", "pipeline": "default",
        "dealname": "Acme", "deal_currency_code": "USD", "closedate": "2026-12-15T00:00:00Z",
        "hubspot_owner_id": "77", "createdate": "2026-10-01T12:00:00.000Z",
        "hs_lastmodifieddate": "1732350000000", "notes_last_updated": "2026-11-20T09:00:00Z",
        "hs_is_closed": "false", "hs_is_closed_won": "false", "hs_deal_stage_probability": "0.9",
        "hs_v2_date_entered_contractsent": "2026-11-12T16:45:00.000Z", "hs_object_id": "9001",
        "hs_forecast_category": "COMMIT", "dealtype": "newbusiness", "funnel_stage": "intent",
    },
}
HS_CONTACT = {
    "id": "501", "createdAt": "2026-10-02T08:15:00.000Z", "updatedAt": "2026-11-20T10:00:00Z",
    "archived": False, "properties": {
        "email": "M@X.example", "firstname": "Maria", "lastname": "Lopez", "company": "Acme",
        "jobtitle": "VP", "industry": "SOFTWARE", "numemployees": "25-50",
        "country": "Spain", "lifecyclestage": "lead", "hs_lead_status": "NEW",
        "hubspot_owner_id": "77", "createdate": "2026-10-02T08:15:00.000Z",
        "lastmodifieddate": "2026-11-20T10:00:00.000Z", "notes_last_updated": "1732350000000",
        "hs_email_open": "3", "hs_email_click": "1", "num_conversion_events": "2",
        "hs_analytics_num_page_views": "10", "hs_analytics_source": "DIRECT_TRAFFIC",
        "hs_object_id": "501", "budget": "yes", "funnel_stage": None, "funnel_score": "10",
    },
}

# Strings that look like the data types the mappers parse, plus anything at all.
TRICKY = st.sampled_from([
    "", " ", "abc", "1,200.50", "1,2,3", "NaN", "-Infinity", "1e400", "0.2", "-5", "20",
    "2026-02-30", "2026-11-20T08:00:00.000+0000", "2026-10-01T12:00:00Z", "9999999999999999999",
    "-62135596800001", "true", "FALSE", "1000+", "25-50", "0001-01-01T00:00:00+01:00",
    "٣٤٥", "\x00", "null", "{}", "[]",
])
VALUE = st.one_of(st.none(), st.text(max_size=30), TRICKY)


def _dirty(base: dict[str, Any], draw: st.DrawFn, nested: str | None) -> dict[str, Any]:
    raw = json.loads(json.dumps(base))
    target = raw[nested] if nested else raw
    keys = sorted(target) + ["Unknown__c", "hs_v2_date_entered_x"]
    for key in draw(st.lists(st.sampled_from(keys), max_size=8)):
        if draw(st.booleans()):
            target[key] = draw(VALUE)
        else:
            target.pop(key, None)
    if nested:
        for key in draw(st.lists(st.sampled_from(sorted(raw)), max_size=2)):
            raw[key] = draw(VALUE)
    return raw


@st.composite
def sf_records(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    raw = _dirty(base, draw, None)
    for rel in ("Owner", "Account"):
        if isinstance(raw.get(rel), dict) and draw(st.booleans()):
            raw[rel]["Name"] = draw(VALUE)
    return raw


@st.composite
def hs_records(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    return _dirty(base, draw, "properties")


def _check(mapper: Callable[[Any], MapResult], raw: Any) -> None:
    try:
        result = mapper(raw)
    except DataError as exc:
        assert exc.source in ("salesforce", "hubspot")
        assert exc.field
        return
    assert isinstance(result, MapResult)
    assert all(isinstance(w, str) for w in result.warnings)
    json.dumps(result.record.model_dump(mode="json"))  # always serialisable


PROFILE = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(sf_records(SF_OPPORTUNITY))
def test_salesforce_opportunity_never_crashes(raw: dict[str, Any]) -> None:
    _check(lambda r: sf.map_opportunity(r, MAPS, WB), raw)


@PROFILE
@given(sf_records(SF_LEAD))
def test_salesforce_lead_never_crashes(raw: dict[str, Any]) -> None:
    _check(lambda r: sf.map_lead(r, MAPS, WB), raw)


@PROFILE
@given(hs_records(HS_DEAL))
def test_hubspot_deal_never_crashes(raw: dict[str, Any]) -> None:
    _check(lambda r: hs.map_deal(r, MAPS, CATALOG, WB), raw)
    try:
        changes = hs.stage_changes_from_deal(raw)
    except DataError:
        return
    assert [c.changed_at for c in changes] == sorted(c.changed_at for c in changes)


@PROFILE
@given(hs_records(HS_CONTACT))
def test_hubspot_contact_never_crashes(raw: dict[str, Any]) -> None:
    _check(lambda r: hs.map_contact(r, MAPS, WB), raw)


@PROFILE
@given(st.one_of(VALUE, st.lists(VALUE, max_size=3),
                 st.dictionaries(st.sampled_from(["Id", "id", "properties", "attributes"]),
                                 VALUE)))
def test_anything_at_all_gives_a_record_or_data_error(raw: Any) -> None:
    for mapper in (lambda r: sf.map_lead(r, MAPS), lambda r: sf.map_opportunity(r, MAPS),
                   lambda r: hs.map_contact(r, MAPS), lambda r: hs.map_deal(r, MAPS)):
        _check(mapper, raw)


@PROFILE
@given(st.fixed_dictionaries({"Id": VALUE, "OpportunityId": VALUE, "StageName": VALUE,
                              "CreatedDate": VALUE}))
def test_history_rows_give_a_change_or_data_error(raw: dict[str, Any]) -> None:
    try:
        change = sf.map_history(raw)
    except DataError as exc:
        assert exc.field in ("OpportunityId", "StageName", "CreatedDate")
        return
    assert change.changed_at.utcoffset() is not None


V1_VALUE = st.one_of(VALUE, st.integers(), st.booleans(), st.lists(VALUE, max_size=2),
                     st.dictionaries(st.sampled_from(["value", "versions", "source"]), VALUE))
V1_PROPERTIES = st.dictionaries(
    st.sampled_from(["dealstage", "amount", "createdate", "email", "lifecyclestage",
                     "hs_date_entered_lead", "hs_v2_date_entered_closedwon", "numemployees"]),
    st.one_of(V1_VALUE, st.fixed_dictionaries({"value": VALUE})))
V1_IDENTITIES = st.lists(st.dictionaries(
    st.sampled_from(["type", "value", "is-primary"]),
    st.one_of(VALUE, st.just("EMAIL"), st.booleans())), max_size=2)
V1_RECORDS = st.fixed_dictionaries({}, optional={
    "dealId": st.one_of(st.integers(), VALUE), "vid": st.one_of(st.integers(), VALUE),
    "canonical-vid": st.one_of(st.integers(), VALUE), "isDeleted": V1_VALUE,
    "properties": st.one_of(V1_VALUE, V1_PROPERTIES),
    "identity-profiles": st.one_of(V1_VALUE, st.lists(st.dictionaries(
        st.sampled_from(["identities", "vid"]), st.one_of(V1_VALUE, V1_IDENTITIES)),
        max_size=2)),
})


@PROFILE
@given(V1_RECORDS)
def test_hubspot_v1_shapes_give_a_record_or_data_error(raw: dict[str, Any]) -> None:
    for mapper in (lambda r: hs.map_contact(r, MAPS, WB),
                   lambda r: hs.map_deal(r, MAPS, CATALOG)):
        _check(mapper, raw)
    with contextlib.suppress(DataError):
        hs.stage_changes_from_deal(raw)
