"""HubSpot v3 objects → funnel schema, pipelines catalog, stage paths and write-back payloads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from funnelsync.config.loading import parse_config
from funnelsync.config.models import HubSpotWriteback, WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, StageChange

MAPS = StageMaps()
WB = WritebackConfig()

PIPELINES = {"results": [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
     "stages": [
         {"id": "appointmentscheduled", "label": "Appointment Scheduled", "displayOrder": 0,
          "archived": False, "metadata": {"isClosed": "false", "probability": "0.2"}},
         {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4,
          "archived": False, "metadata": {"isClosed": "false", "probability": "0.9"}},
         {"id": "closedwon", "label": "Closed Won", "displayOrder": 5, "archived": False,
          "metadata": {"isClosed": "true", "probability": "1.0"}},
         {"id": "closedlost", "label": "Closed Lost", "displayOrder": 6, "archived": False,
          "metadata": {"isClosed": "true", "probability": "0.0"}}]},
    {"id": "2847561", "label": "Renewals & Expansion", "displayOrder": 1, "archived": False,
     "stages": [
         {"id": "1190343", "label": "Proposal", "displayOrder": 2, "archived": False,
          "metadata": {"isClosed": "false", "probability": "0.6"}},
         {"id": "1190346", "label": "Lost", "displayOrder": 5, "archived": True,
          "metadata": {"isClosed": "true", "probability": "0.0"}}]},
]}


def deal(**props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "amount": "1200.5", "closedate": "2026-12-15T00:00:00Z", "createdate":
        "2026-10-01T12:00:00.000Z", "dealname": "Acme - 200 seats", "dealstage": "contractsent",
        "deal_currency_code": "USD", "hs_deal_stage_probability": "0.9", "hs_is_closed": "false",
        "hs_is_closed_won": "false", "hs_lastmodifieddate": "2026-11-21T09:30:12.345Z",
        "hs_object_id": "9001", "hubspot_owner_id": "77",
        "notes_last_updated": "1795165200000", "pipeline": "default",
        "hs_v2_date_entered_appointmentscheduled": "2026-10-01T12:00:00.000Z",
        "hs_v2_date_entered_contractsent": "2026-11-12T16:45:00.000Z",
        "hs_forecast_category": "COMMIT", "hs_analytics_source": "ORGANIC_SEARCH",
        "dealtype": "newbusiness", "funnel_stage": "intent",
    }
    properties.update(props)
    return {"id": "9001", "properties": properties, "createdAt": "2026-10-01T12:00:00.000Z",
            "updatedAt": "2026-11-21T09:30:12.345Z", "archived": False}


def contact(**props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "email": " Maria.Lopez@ACME.example", "firstname": "Maria", "lastname": "Lopez",
        "company": "Acme Corp", "jobtitle": "VP Operations", "industry": "COMPUTER_SOFTWARE",
        "numemployees": "1200", "country": "Spain",
        "lifecyclestage": "marketingqualifiedlead", "hs_lead_status": "IN_PROGRESS",
        "hubspot_owner_id": "77", "createdate": "2026-10-02T08:15:00.000Z",
        "lastmodifieddate": "2026-11-20T10:00:00.000Z",
        "hs_lastmodifieddate": "2026-11-20T10:00:00.500Z",
        "notes_last_updated": "2026-11-19T09:00:00.000Z", "hs_email_open": "31",
        "hs_email_click": "7", "num_conversion_events": "3",
        "hs_analytics_num_page_views": "64", "hs_analytics_source": "ORGANIC_SEARCH",
        "hs_object_id": "501", "funnel_stage": "interest", "funnel_score": "41.5",
    }
    properties.update(props)
    return {"id": "501", "properties": properties, "createdAt": "2026-10-02T08:15:00.000Z",
            "updatedAt": "2026-11-20T10:00:00.500Z", "archived": False}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_deal_maps_every_field_with_catalog() -> None:
    catalog = hs.HubSpotCatalog.from_pipelines(PIPELINES)
    result = hs.map_deal(deal(), MAPS, catalog, WB)
    assert result.warnings == []
    assert result.record.model_dump() == {
        "source": "hubspot", "source_id": "9001", "name": "Acme - 200 seats",
        "amount": Decimal("1200.5"), "currency": "USD", "home_amount": None,
        "pipeline": "default",
        "stage": "contractsent", "stage_label": "Contract Sent", "funnel_stage": "decision",
        "probability": 90.0, "is_closed": False, "is_won": False,
        "close_date": date(2026, 12, 15), "owner_id": "77", "owner_name": None,
        "account_id": None, "account_name": None, "created_at": utc(2026, 10, 1, 12),
        "updated_at": utc(2026, 11, 21, 9, 30, 12, 345000),
        "last_activity_at": utc(2026, 11, 20, 9), "stage_entered_at": utc(2026, 11, 12, 16, 45),
        "is_deleted": False,
        "extra": {"forecast_category": "COMMIT", "lead_source": "ORGANIC_SEARCH",
                  "type": "newbusiness", "live": {"stage": "intent", "score": None}},
    }


def test_contact_maps_every_field() -> None:
    result = hs.map_contact(contact(), MAPS, WB)
    assert result.warnings == []
    assert result.record.model_dump() == {
        "source": "hubspot", "source_id": "501", "email": "maria.lopez@acme.example",
        "first_name": "Maria", "last_name": "Lopez", "company": "Acme Corp",
        "title": "VP Operations", "industry": "COMPUTER_SOFTWARE", "employees": 1200,
        "country": "Spain", "lead_source": "ORGANIC_SEARCH", "owner_id": "77",
        "owner_name": None, "status": "marketingqualifiedlead", "funnel_stage": "interest",
        "created_at": utc(2026, 10, 2, 8, 15), "updated_at": utc(2026, 11, 20, 10),
        "last_activity_at": utc(2026, 11, 19, 9), "is_deleted": False,
        "extra": {"lead_status": "IN_PROGRESS", "rating": None, "email_opens": 31,
                  "email_clicks": 7, "form_submissions": 3, "page_views": 64, "meetings": None,
                  "lead_source": "ORGANIC_SEARCH", "is_converted": None,
                  "live": {"stage": "interest", "score": 41.5}},
    }


@pytest.mark.parametrize(("lifecycle", "stage"), [
    ("subscriber", "awareness"), ("lead", "awareness"), ("marketingqualifiedlead", "interest"),
    ("salesqualifiedlead", "consideration"), ("opportunity", "intent"),
    ("customer", "purchase"), ("evangelist", "purchase"),
])
def test_default_lifecycle_map(lifecycle: str, stage: str) -> None:
    assert hs.map_contact(contact(lifecyclestage=lifecycle), MAPS).record.funnel_stage == stage


def test_lifecycle_other_is_unmapped() -> None:
    result = hs.map_contact(contact(lifecyclestage="other"), MAPS)
    assert result.record.funnel_stage is None
    assert result.warnings == ["hubspot contact 501: lifecyclestage 'other' is not mapped; add "
                               "it under [mapping.hubspot.lifecycle_stage]"]


@pytest.mark.parametrize(("stage", "funnel"), [
    ("appointmentscheduled", "consideration"), ("qualifiedtobuy", "consideration"),
    ("presentationscheduled", "intent"), ("decisionmakerboughtin", "intent"),
    ("contractsent", "decision"), ("closedwon", "purchase"), ("closedlost", "lost"),
])
def test_default_deal_stage_map(stage: str, funnel: str) -> None:
    assert hs.map_deal(deal(dealstage=stage), MAPS).record.funnel_stage == funnel


def test_custom_pipeline_stage_is_unmapped_until_configured() -> None:
    catalog = hs.HubSpotCatalog.from_pipelines(PIPELINES["results"])
    raw = deal(pipeline="2847561", dealstage="1190343", hs_deal_stage_probability=None)
    result = hs.map_deal(raw, MAPS, catalog)
    assert (result.record.funnel_stage, result.record.stage_label,
            result.record.probability) == (None, "Proposal", 60.0)
    assert result.warnings == [
        "hubspot deal 9001: stage '1190343' (Proposal) in pipeline '2847561' is not mapped; add "
        "it under [mapping.hubspot.deal_stages.2847561]"]
    config = parse_config('[mapping.hubspot.deal_stages.2847561]\n"1190343" = "intent"\n')
    mapped = hs.map_deal(raw, StageMaps(config), catalog)
    assert (mapped.record.funnel_stage, mapped.warnings) == ("intent", [])


def test_pipeline_key_that_is_not_bare_is_quoted_in_the_hint() -> None:
    result = hs.map_deal(deal(pipeline="my pipe", dealstage="s1"), MAPS)
    assert result.warnings == ["hubspot deal 9001: stage 's1' in pipeline 'my pipe' is not "
                               "mapped; add it under [mapping.hubspot.deal_stages.\"my pipe\"]"]


def test_catalog_fills_closed_and_won_when_the_deal_lacks_them() -> None:
    catalog = hs.HubSpotCatalog.from_pipelines(PIPELINES)
    raw = deal(dealstage="closedwon", hs_is_closed=None, hs_is_closed_won=None,
               hs_deal_stage_probability=None)
    record = hs.map_deal(raw, MAPS, catalog).record
    assert (record.is_closed, record.is_won, record.probability) == (True, True, 100.0)
    bare = hs.map_deal(raw, MAPS).record
    assert (bare.is_closed, bare.is_won, bare.probability) == (True, True, None)


@pytest.mark.parametrize(("value", "expected"), [
    ("0.2", 20.0), ("0.9", 90.0), ("1", 100.0), ("0", 0.0), ("0.85", 85.0), (None, None)])
def test_probability_fraction_becomes_percent(value: str | None, expected: float | None) -> None:
    assert hs.map_deal(deal(hs_deal_stage_probability=value), MAPS).record.probability == \
        expected


def test_dirty_deal_values() -> None:
    result = hs.map_deal(deal(amount="1,200.50", closedate="2026-02-30", hs_is_closed="yes",
                              hs_deal_stage_probability="20"), MAPS)
    record = result.record
    assert (record.amount, record.close_date, record.is_closed, record.probability) == \
        (Decimal("1200.50"), None, False, None)
    assert result.warnings == [
        "hubspot deal 9001: hs_deal_stage_probability '20' is not between 0 and 1; using null",
        "hubspot deal 9001: hs_is_closed 'yes' is not true or false; using null",
        "hubspot deal 9001: closedate '2026-02-30' is not a valid date; using null",
    ]


@pytest.mark.parametrize(("amount", "expected", "warnings"), [
    ("", None, []), (None, None, []),
    ("abc", None, ["hubspot deal 9001: amount 'abc' is not a number; using null"]),
])
def test_empty_and_bad_amounts(amount: Any, expected: Any, warnings: list[str]) -> None:
    result = hs.map_deal(deal(amount=amount), MAPS)
    assert (result.record.amount, result.warnings) == (expected, warnings)


def test_epoch_millis_and_z_timestamps() -> None:
    record = hs.map_deal(deal(createdate="1732350000000", closedate="1765756800000",
                              hs_lastmodifieddate="2026-11-21T09:30:12Z"), MAPS).record
    assert record.created_at == utc(2024, 11, 23, 8, 20)
    assert record.close_date == date(2025, 12, 15)
    assert record.updated_at == utc(2026, 11, 21, 9, 30, 12)


def test_missing_properties_fall_back_to_top_level() -> None:
    raw = {"id": "9009", "properties": {"hs_object_id": "9009"},
           "createdAt": "2026-10-01T12:00:00.000Z", "updatedAt": "2026-11-21T09:30:12.345Z",
           "archived": True}
    result = hs.map_deal(raw, MAPS)
    assert result.warnings == ["hubspot deal 9009: dealstage is missing, so the funnel stage is "
                               "unknown; include dealstage in the fields you request"]
    record = result.record
    assert (record.created_at, record.updated_at, record.is_deleted, record.stage,
            record.funnel_stage) == (utc(2026, 10, 1, 12), utc(2026, 11, 21, 9, 30, 12, 345000),
                                     True, None, None)


def test_id_falls_back_to_hs_object_id() -> None:
    raw = deal()
    del raw["id"]
    assert hs.map_deal(raw, MAPS).record.source_id == "9001"


@pytest.mark.parametrize(("raw", "message", "field"), [
    (["x"], "hubspot deal (no id): record is a list, not a JSON object (pass the raw records "
            "exactly as the API returns them)", "(record)"),
    ({"properties": {}}, "hubspot deal (no id): field id is missing; every record needs its id "
                         "(include id in the fields you request)", "id"),
    ({"id": 9001, "properties": {}}, "hubspot deal (no id): field id must be a non-empty "
                                     "string, got 9001 (pass the raw records exactly as the "
                                     "API returns them)", "id"),
    ({"id": "9001", "properties": "amount=5"}, "hubspot deal 9001: field properties must be "
                                               "an object, got str", "properties"),
])
def test_unmappable_deals_raise_data_error(raw: Any, message: str, field: str) -> None:
    with pytest.raises(DataError) as caught:
        hs.map_deal(raw, MAPS)
    assert str(caught.value) == message
    assert (caught.value.source, caught.value.field) == ("hubspot", field)


@pytest.mark.parametrize(("value", "expected"), [
    ("250", 250), ("25-50", 25), ("1000+", 1000), ("1,000+", 1000), ("", None)])
def test_employee_counts_and_bands(value: str, expected: int | None) -> None:
    assert hs.map_contact(contact(numemployees=value), MAPS).record.employees == expected


def test_contact_dirty_values_and_bant() -> None:
    result = hs.map_contact(contact(email="  ", hs_email_open="many", budget="yes",
                                    timeline=None, lastmodifieddate=None), MAPS)
    record = result.record
    assert (record.email, record.extra["email_opens"]) == (None, None)
    assert record.updated_at == utc(2026, 11, 20, 10, 0, 0, 500000)
    assert record.extra["bant"] == {"budget": "yes", "timeline": None}
    assert result.warnings == ["hubspot contact 501: hs_email_open 'many' is not a "
                               "number; using null"]


def test_stage_changes_from_deal_in_time_order() -> None:
    raw = deal(**{"hs_v2_date_entered_qualifiedtobuy": "1760000000000",
                  "hs_v2_date_entered_closedwon": None,
                  "hs_v2_date_entered_presentationscheduled": "not a time"})
    # A deal can enter stages out of pipeline order (moved back, or a stage date edited):
    # time decides, not the pipeline's displayOrder.
    assert hs.stage_changes_from_deal(raw) == [
        StageChange(source="hubspot", record_id="9001", from_stage=None,
                    to_stage="qualifiedtobuy", changed_at=utc(2025, 10, 9, 8, 53, 20)),
        StageChange(source="hubspot", record_id="9001", from_stage="qualifiedtobuy",
                    to_stage="appointmentscheduled", changed_at=utc(2026, 10, 1, 12)),
        StageChange(source="hubspot", record_id="9001", from_stage="appointmentscheduled",
                    to_stage="contractsent", changed_at=utc(2026, 11, 12, 16, 45)),
    ]


def test_map_pipelines() -> None:
    stages = hs.map_pipelines(PIPELINES["results"])
    assert stages[2] == CatalogStage(source="hubspot", pipeline="default", stage="closedwon",
                                     label="Closed Won", order=5, probability=100.0,
                                     is_closed=True, is_won=True)
    assert stages[3] == CatalogStage(source="hubspot", pipeline="default", stage="closedlost",
                                     label="Closed Lost", order=6, probability=0.0,
                                     is_closed=True, is_won=False)
    assert stages[5] == CatalogStage(source="hubspot", pipeline="2847561", stage="1190346",
                                     label="Lost", order=5, probability=0.0, is_closed=True,
                                     active=False)
    assert len(stages) == 6


def test_catalog_lookup_and_property_list() -> None:
    catalog = hs.HubSpotCatalog.from_pipelines(PIPELINES)
    assert catalog.stage(None, "1190343").label == "Proposal"  # type: ignore[union-attr]
    assert catalog.stage("default", "1190343") is None
    assert catalog.stage_ids()[:2] == ["appointmentscheduled", "contractsent"]
    props = hs.deal_properties(WB, catalog)
    assert props[len(hs.DEAL_PROPERTIES)] == "funnel_stage"
    assert props[-1] == "hs_v2_date_entered_1190346"
    assert hs.contact_properties(WB)[-2:] == ["funnel_stage", "funnel_score"]


def test_bad_pipelines_payload_raises() -> None:
    with pytest.raises(DataError) as caught:
        hs.map_pipelines({"status": "error"})
    assert str(caught.value) == ("hubspot pipelines: expected a list of pipelines (the "
                                 "'results' of /crm/v3/pipelines/deals)")


def test_writeback_values_are_strings() -> None:
    assert hs.writeback_fields("leads", "interest", 72.0, WB) == {
        "funnel_stage": "interest", "funnel_score": "72"}
    assert hs.writeback_fields("leads", None, 72.46, WB) == {"funnel_score": "72.5"}
    assert hs.writeback_fields("deals", "decision", 50.0, WB) == {"funnel_stage": "decision"}
    skip = WritebackConfig(hubspot=HubSpotWriteback(stage_property=""))
    assert hs.writeback_fields("deals", "decision", None, skip) == {}
    with pytest.raises(ValueError, match="kind must be"):
        hs.writeback_fields("contacts", "x", None, WB)  # type: ignore[arg-type]


def test_raw_pipelines_page_is_accepted_as_catalog() -> None:
    record = hs.map_deal(deal(dealstage="closedwon"), MAPS, PIPELINES).record
    assert record.stage_label == "Closed Won"


def test_null_id_falls_back_to_hs_object_id() -> None:
    raw = deal()
    raw["id"] = None
    assert hs.map_deal(raw, MAPS).record.source_id == "9001"
