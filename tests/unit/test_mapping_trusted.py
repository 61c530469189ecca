"""The mappers build records from already-parsed values without validating them again: the
record must be exactly what the schema's validation would make of the same values."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import test_mapping_property as prop
from hypothesis import given

from funnelsync.config.models import HubSpotWriteback, SalesforceWriteback, WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping import salesforce as sf
from funnelsync.mapping.result import MapResult, construct_parsed
from funnelsync.mapping.schema import FunnelDeal, FunnelLead


def _same_as_validated(mapper: Callable[[Any], MapResult], raw: Any) -> None:
    try:
        record = mapper(raw).record
    except DataError:
        return
    values = {name: getattr(record, name) for name in record.model_fields_set}
    validated = type(record).model_validate(values)
    assert validated == record
    assert validated.model_dump_json() == record.model_dump_json()
    assert validated.model_fields_set == record.model_fields_set


@prop.PROFILE
@given(prop.sf_records(prop.SF_OPPORTUNITY))
def test_salesforce_opportunity_is_what_validation_makes(raw: dict[str, Any]) -> None:
    _same_as_validated(lambda r: sf.map_opportunity(r, prop.MAPS, prop.WB), raw)


@prop.PROFILE
@given(prop.sf_records(prop.SF_LEAD))
def test_salesforce_lead_is_what_validation_makes(raw: dict[str, Any]) -> None:
    _same_as_validated(lambda r: sf.map_lead(r, prop.MAPS, prop.WB), raw)


@prop.PROFILE
@given(prop.hs_records(prop.HS_DEAL))
def test_hubspot_deal_is_what_validation_makes(raw: dict[str, Any]) -> None:
    _same_as_validated(lambda r: hs.map_deal(r, prop.MAPS, prop.CATALOG, prop.WB), raw)


@prop.PROFILE
@given(prop.hs_records(prop.HS_CONTACT))
def test_hubspot_contact_is_what_validation_makes(raw: dict[str, Any]) -> None:
    _same_as_validated(lambda r: hs.map_contact(r, prop.MAPS, prop.WB), raw)


def test_fields_left_out_take_their_defaults_in_schema_order() -> None:
    deal = construct_parsed(FunnelDeal, {"source_id": "d1", "source": "hubspot",
                                         "amount": Decimal("5")})
    assert list(deal.model_dump())[:4] == ["source", "source_id", "name", "amount"]
    assert (deal.is_won, deal.extra, deal.amount) == (False, {}, Decimal("5"))
    assert deal.model_fields_set == {"source", "source_id", "amount"}
    other = construct_parsed(FunnelDeal, {"source": "hubspot", "source_id": "d2"})
    assert other.extra is not deal.extra  # a fresh default per record


def test_a_name_the_schema_lacks_or_a_required_field_left_out_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="FunnelLead has no field colour"):
        construct_parsed(FunnelLead, {"source": "hubspot", "source_id": "1", "colour": "red"})
    with pytest.raises(TypeError, match="FunnelLead: field source_id is required"):
        construct_parsed(FunnelLead, {"source": "hubspot",
                                      "created_at": datetime(2026, 1, 1, tzinfo=UTC)})


NAMED_WB = WritebackConfig(salesforce=SalesforceWriteback(
    stage_field="Stage__c", score_field="Score__c", probability_field="Win__c"))


@prop.PROFILE
@given(prop.sf_records({**prop.SF_OPPORTUNITY, "Stage__c": "intent", "Win__c": "40"}))
def test_a_bound_opportunity_mapper_maps_as_map_opportunity(raw: dict[str, Any]) -> None:
    for wb in (prop.WB, NAMED_WB, None):
        _same_result(sf.opportunity_mapper(prop.MAPS, wb),
                     lambda r, wb=wb: sf.map_opportunity(r, prop.MAPS, wb), raw)


@prop.PROFILE
@given(prop.sf_records({**prop.SF_LEAD, "Stage__c": "intent", "Score__c": 12.5}))
def test_a_bound_lead_mapper_maps_as_map_lead(raw: dict[str, Any]) -> None:
    for wb in (prop.WB, NAMED_WB, None):
        _same_result(sf.lead_mapper(prop.MAPS, wb),
                     lambda r, wb=wb: sf.map_lead(r, prop.MAPS, wb), raw)


HS_NAMED_WB = WritebackConfig(hubspot=HubSpotWriteback(
    stage_property="stage_x", score_property="score_x", probability_property="win_x"))
PIPELINES_PAGE = {"results": [{"id": "default", "stages": [
    {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4,
     "metadata": {"isClosed": "true", "probability": "1.0"}}]}]}


@prop.PROFILE
@given(prop.hs_records({**prop.HS_CONTACT, "properties": {
    **prop.HS_CONTACT["properties"], "stage_x": "intent", "score_x": "12.5"}}))
def test_a_bound_contact_mapper_maps_as_map_contact(raw: dict[str, Any]) -> None:
    for wb in (prop.WB, HS_NAMED_WB, None):
        _same_result(hs.contact_mapper(prop.MAPS, wb),
                     lambda r, wb=wb: hs.map_contact(r, prop.MAPS, wb), raw)


@prop.PROFILE
@given(prop.hs_records({**prop.HS_DEAL, "properties": {
    **prop.HS_DEAL["properties"], "stage_x": "intent", "win_x": "40"}}))
def test_a_bound_deal_mapper_maps_as_map_deal(raw: dict[str, Any]) -> None:
    for wb in (prop.WB, HS_NAMED_WB, None):
        for catalog in (prop.CATALOG, PIPELINES_PAGE, None):
            _same_result(hs.deal_mapper(prop.MAPS, catalog, wb),
                         lambda r, wb=wb, c=catalog: hs.map_deal(r, prop.MAPS, c, wb), raw)


def test_the_bound_hubspot_mappers_read_the_configured_write_back_names() -> None:
    contact = {**prop.HS_CONTACT, "properties": {**prop.HS_CONTACT["properties"],
                                                 "stage_x": "intent", "score_x": "12.5"}}
    deal = {**prop.HS_DEAL, "properties": {**prop.HS_DEAL["properties"], "stage_x": "intent",
                                           "win_x": "40"}}
    lead = hs.contact_mapper(prop.MAPS, HS_NAMED_WB)(contact).record
    bound = hs.deal_mapper(prop.MAPS, PIPELINES_PAGE, HS_NAMED_WB)(deal).record
    assert lead.extra["live"] == {"stage": "intent", "score": 12.5}
    assert bound.extra["live"] == {"stage": "intent", "score": None, "win_probability": 40.0}
    assert (bound.stage_label, bound.is_closed, bound.is_won) == ("Contract Sent", True, True)
    assert "live" not in hs.deal_mapper(prop.MAPS)(deal).record.extra


def _same_result(bound: Callable[[Any], MapResult], unbound: Callable[[Any], MapResult],
                 raw: Any) -> None:
    try:
        expected = unbound(raw)
    except DataError as exc:
        with pytest.raises(DataError, match=re.escape(str(exc))):
            bound(raw)
        return
    got = bound(raw)
    assert (got.record, got.warnings) == (expected.record, expected.warnings)
    assert got.record.model_dump_json() == expected.record.model_dump_json()


def test_the_bound_mapper_reads_the_configured_write_back_names() -> None:
    raw = {**prop.SF_OPPORTUNITY, "Stage__c": "intent", "Win__c": 40}
    record = sf.opportunity_mapper(prop.MAPS, NAMED_WB)(raw).record
    assert record.extra["live"] == {"stage": "intent", "score": None, "win_probability": 40.0}


@pytest.mark.parametrize(("amount", "expected", "warning"), [
    (48000.0, Decimal("48000.0"), None), (0.1, Decimal("0.1"), None),
    (-0.0, Decimal("-0.0"), None), (9999999999999998.0, Decimal("9999999999999998.0"), None),
    (1e16, None, "is out of range (an amount must be smaller than 10^16)"),
    (-1e16, None, "is out of range (an amount must be smaller than 10^16)"),
    (float("nan"), None, "is not a finite number"),
    ("1,200.50", Decimal("1200.50"), None), (None, None, None),
])
def test_amounts_read_as_parse_amount_reads_them(amount: Any, expected: Decimal | None,
                                                 warning: str | None) -> None:
    result = sf.map_opportunity({**prop.SF_OPPORTUNITY, "Amount": amount}, prop.MAPS)
    assert result.record.amount == expected  # type: ignore[union-attr]
    assert str(result.record.amount) == str(expected)  # type: ignore[union-attr]
    assert result.warnings == ([f"salesforce opportunity 006A: Amount {amount!r} {warning}; "
                                "using null"] if warning else [])


def test_hubspot_records_are_built_with_every_field_in_schema_order() -> None:
    lead = hs.contact_mapper(prop.MAPS, prop.WB)(prop.HS_CONTACT).record
    deal = hs.deal_mapper(prop.MAPS, prop.CATALOG, prop.WB)(prop.HS_DEAL).record
    for record in (lead, deal):
        assert record.model_fields_set == set(type(record).model_fields)
        assert list(record.__dict__) == list(type(record).model_fields)
    assert (lead.owner_name, deal.owner_name, deal.account_id, deal.account_name) == (
        None, None, None, None)
