"""HubSpot records as HubSpot documents and sends them, beyond what our own sandbox produces:
contact company-size bands, deals saved without the calculated closed flags, the older stage
entry properties, records lacking their stage property, and the legacy v1 object shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from funnelsync.errors import DataError
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import StageChange

MAPS = StageMaps()
CATALOG = hs.HubSpotCatalog.from_pipelines({"results": [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
        {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4,
         "metadata": {"isClosed": "false", "probability": "0.9"}},
        {"id": "closedwon", "label": "Closed Won", "displayOrder": 5,
         "metadata": {"isClosed": "true", "probability": "1.0"}}]},
    {"id": "2847561", "label": "Renewals", "displayOrder": 1, "stages": [
        {"id": "1190345", "label": "Won", "displayOrder": 4,
         "metadata": {"isClosed": "true", "probability": "1.0"}},
        {"id": "1190346", "label": "Lost", "displayOrder": 5,
         "metadata": {"isClosed": "true", "probability": "0.0"}}]},
]})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def deal(**props: Any) -> dict[str, Any]:
    """A deal as another tool saved it: the default properties, no hs_is_closed* flags."""
    return {"id": "9005", "properties": {"dealname": "Globex renewal", "amount": "5000",
                                         "pipeline": "default", "hs_object_id": "9005", **props},
            "createdAt": "2026-08-01T09:00:00Z", "updatedAt": "2026-11-02T10:00:00Z",
            "archived": False}


def contact(**props: Any) -> dict[str, Any]:
    return {"id": "501", "properties": {"email": "ana@stark.example", "hs_object_id": "501",
                                        "lifecyclestage": "lead", **props},
            "createdAt": "2026-07-07T07:07:00Z", "updatedAt": "2026-11-01T10:00:00Z",
            "archived": False}


@pytest.mark.parametrize(("band", "employees"), [
    ("1-5", 1), ("5-25", 5), ("25-50", 25), ("50-100", 50), ("100-500", 100),
    ("500-1000", 500), ("1000+", 1000), ("10001+", 10001), ("1,001-5,000", 1001)])
def test_contact_company_size_is_numemployees_and_a_band_gives_its_lower_bound(
        band: str, employees: int) -> None:
    result = hs.map_contact(contact(numemployees=band), MAPS)
    assert (result.record.employees, result.warnings) == (employees, [])


def test_contact_numberofemployees_is_a_company_property_and_is_not_read() -> None:
    assert hs.map_contact(contact(numberofemployees="250"), MAPS).record.employees is None


def test_an_unknown_band_warns() -> None:
    result = hs.map_contact(contact(numemployees="a few"), MAPS)
    assert result.record.employees is None
    assert result.warnings == ["hubspot contact 501: numemployees 'a few' is neither a head "
                               "count nor a band such as '25-50' or '1000+'; using null"]


@pytest.mark.parametrize(("stage", "closed", "won", "funnel"), [
    ("closedwon", True, True, "purchase"), ("closedlost", True, False, "lost"),
    ("contractsent", False, False, "decision")])
def test_default_pipeline_closed_stages_are_closed_without_flags_or_catalog(
        stage: str, closed: bool, won: bool, funnel: str) -> None:
    result = hs.map_deal(deal(dealstage=stage), MAPS)
    record = result.record
    assert (record.is_closed, record.is_won, record.funnel_stage) == (closed, won, funnel)
    assert result.warnings == []


def test_a_deal_without_pipeline_is_in_the_default_one() -> None:
    raw = deal(dealstage="closedlost")
    del raw["properties"]["pipeline"]
    record = hs.map_deal(raw, MAPS).record
    assert (record.is_closed, record.is_won) == (True, False)


def test_flags_that_contradict_the_stage_warn_and_the_stage_wins() -> None:
    result = hs.map_deal(deal(dealstage="closedwon", hs_is_closed="false",
                              hs_is_closed_won="false"), MAPS)
    assert (result.record.is_closed, result.record.is_won) == (True, True)
    assert result.warnings == [
        "hubspot deal 9005: hs_is_closed false and hs_is_closed_won false contradict stage "
        "'closedwon', which is closed won; using the stage's flags"]


def test_one_contradicting_flag_against_the_catalog() -> None:
    result = hs.map_deal(deal(pipeline="2847561", dealstage="1190346", hs_is_closed="true",
                              hs_is_closed_won="true"), MAPS, CATALOG)
    assert (result.record.is_closed, result.record.is_won) == (True, False)
    assert result.warnings[-1] == (
        "hubspot deal 9005: hs_is_closed_won true contradicts stage '1190346', which is closed "
        "lost; using the stage's flags")


def test_the_catalog_decides_for_custom_pipelines() -> None:
    record = hs.map_deal(deal(pipeline="2847561", dealstage="1190345"), MAPS, CATALOG).record
    assert (record.is_closed, record.is_won, record.probability) == (True, True, 100.0)


def test_an_open_catalog_stage_overrides_closed_flags_with_a_warning() -> None:
    result = hs.map_deal(deal(dealstage="contractsent", hs_is_closed="true"), MAPS, CATALOG)
    assert (result.record.is_closed, result.record.is_won) == (False, False)
    assert result.warnings == ["hubspot deal 9005: hs_is_closed true contradicts stage "
                               "'contractsent', which is open; using the stage's flags"]


def test_flags_decide_for_a_stage_nobody_knows() -> None:
    result = hs.map_deal(deal(pipeline="777", dealstage="888", hs_is_closed="true",
                              hs_is_closed_won="false"), MAPS)
    assert (result.record.is_closed, result.record.is_won) == (True, False)


def test_a_deal_without_dealstage_warns() -> None:
    result = hs.map_deal(deal(), MAPS)
    assert (result.record.stage, result.record.funnel_stage) == (None, None)
    assert result.warnings == ["hubspot deal 9005: dealstage is missing, so the funnel stage is "
                               "unknown; include dealstage in the fields you request"]


def test_a_contact_without_lifecyclestage_warns_but_an_empty_one_does_not() -> None:
    raw = contact()
    del raw["properties"]["lifecyclestage"]
    assert hs.map_contact(raw, MAPS).warnings == [
        "hubspot contact 501: lifecyclestage is missing, so the funnel stage is unknown; "
        "include lifecyclestage in the fields you request"]
    assert hs.map_contact(contact(lifecyclestage=None), MAPS).warnings == []


def test_older_date_entered_properties_give_stage_entry_times() -> None:
    raw = deal(dealstage="contractsent",
               hs_date_entered_appointmentscheduled="1759309200000",
               hs_date_entered_contractsent="2026-11-12T16:45:00.000Z")
    assert hs.map_deal(raw, MAPS).record.stage_entered_at == utc(2026, 11, 12, 16, 45)
    assert hs.stage_changes_from_deal(raw) == [
        StageChange(source="hubspot", record_id="9005", from_stage=None,
                    to_stage="appointmentscheduled", changed_at=utc(2025, 10, 1, 9)),
        StageChange(source="hubspot", record_id="9005", from_stage="appointmentscheduled",
                    to_stage="contractsent", changed_at=utc(2026, 11, 12, 16, 45)),
    ]


def test_v2_date_entered_wins_over_the_older_property() -> None:
    raw = deal(dealstage="contractsent",
               hs_date_entered_contractsent="2026-11-01T00:00:00Z",
               hs_v2_date_entered_contractsent="2026-11-12T16:45:00Z",
               hs_date_entered_closedwon="2026-11-20T00:00:00Z",
               hs_v2_date_entered_closedwon=None)
    assert hs.map_deal(raw, MAPS).record.stage_entered_at == utc(2026, 11, 12, 16, 45)
    assert [(c.to_stage, c.changed_at) for c in hs.stage_changes_from_deal(raw)] == [
        ("contractsent", utc(2026, 11, 12, 16, 45)), ("closedwon", utc(2026, 11, 20))]


def test_date_entered_current_stage_is_not_a_stage() -> None:
    raw = deal(dealstage="contractsent",
               hs_v2_date_entered_contractsent="2026-11-12T16:45:00Z",
               hs_v2_date_entered_current_stage="2026-11-12T16:45:00Z")
    assert [c.to_stage for c in hs.stage_changes_from_deal(raw)] == ["contractsent"]


def test_forecast_category_is_the_manual_forecast_category_property() -> None:
    record = hs.map_deal(deal(dealstage="contractsent", hs_manual_forecast_category="COMMIT"),
                         MAPS).record
    assert record.extra["forecast_category"] == "COMMIT"
    assert "hs_manual_forecast_category" in hs.DEAL_PROPERTIES


# /deals/v1/deal/paged and /contacts/v1/lists/all/contacts/all, as HubSpot documented them.
V1_DEAL = {
    "portalId": 62515, "dealId": 18039629, "isDeleted": False,
    "associations": {"associatedVids": [], "associatedCompanyIds": [], "associatedDealIds": []},
    "properties": {
        "dealname": {"value": "Company renewal", "timestamp": 1457040864519, "source": "API",
                     "sourceId": None, "versions": [{"name": "dealname", "value": "Company "
                                                     "renewal", "timestamp": 1457040864519}]},
        "dealstage": {"value": "closedwon", "timestamp": 1457040864519, "source": "API"},
        "pipeline": {"value": "default", "timestamp": 1457040864519, "source": "API"},
        "amount": {"value": "60000", "timestamp": 1457040864519, "source": "API"},
        "closedate": {"value": "1459468800000", "timestamp": 1457040864519},
        "createdate": {"value": "1457040864519", "timestamp": 1457040864519},
        "hs_lastmodifieddate": {"value": "1457040865000", "timestamp": 1457040865000},
    },
    "imports": [], "stateChanges": [],
}
V1_CONTACT = {
    "addedAt": 1390574181854, "vid": 204727, "canonical-vid": 204727, "merged-vids": [],
    "portal-id": 62515, "is-contact": True,
    "properties": {"firstname": {"value": "Bob"}, "lastname": {"value": "Record"},
                   "lifecyclestage": {"value": "customer"},
                   "lastmodifieddate": {"value": "1483461406481"}},
    "form-submissions": [], "list-memberships": [],
    "identity-profiles": [{"vid": 204727, "saved-at-timestamp": 1476768116149,
                           "identities": [{"type": "LEAD_GUID", "value": "f9d7-2a1c"},
                                          {"type": "EMAIL", "value": "Bob@Record.example",
                                           "is-primary": True}]}],
}


def test_v1_deal_maps_like_its_v3_self() -> None:
    result = hs.map_deal(V1_DEAL, MAPS)
    record = result.record
    assert (record.source_id, record.name, str(record.amount), record.stage,
            record.funnel_stage, record.is_closed, record.is_won) == (
        "18039629", "Company renewal", "60000", "closedwon", "purchase", True, True)
    assert (record.created_at, record.updated_at) == (utc(2016, 3, 3, 21, 34, 24, 519000),
                                                      utc(2016, 3, 3, 21, 34, 25))
    assert result.warnings == []


def test_v1_contact_maps_with_its_primary_email() -> None:
    result = hs.map_contact(V1_CONTACT, MAPS)
    record = result.record
    assert (record.source_id, record.email, record.first_name, record.funnel_stage,
            record.updated_at) == ("204727", "bob@record.example", "Bob", "purchase",
                                   utc(2017, 1, 3, 16, 36, 46, 481000))
    assert result.warnings == []


@pytest.mark.parametrize(("mapper", "raw", "message"), [
    (hs.map_deal, V1_CONTACT, "hubspot deal (no id): this is a HubSpot v1 contact (vid 204727), "
                              "not a deal (map v1 contacts as contacts (normalize --object "
                              "lead))"),
    (hs.map_contact, V1_DEAL, "hubspot contact (no id): this is a HubSpot v1 deal (dealId "
                              "18039629), not a contact (map v1 deals as deals (normalize "
                              "--object deal))"),
])
def test_a_v1_object_of_the_other_kind_is_rejected_by_name(
        mapper: Any, raw: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError) as caught:
        mapper(raw, MAPS)
    assert str(caught.value) == message


def test_a_v1_deal_without_its_id_value_is_rejected_by_name() -> None:
    with pytest.raises(DataError) as caught:
        hs.map_deal({**V1_DEAL, "dealId": None}, MAPS)
    assert str(caught.value) == ("hubspot deal (no id): this HubSpot v1 deal has no dealId value "
                                 "(pass the records exactly as the v1 API returned them)")


def test_v1_values_inside_a_v3_object_are_unwrapped() -> None:
    raw = {"id": "9006", "properties": {"dealstage": {"value": "closedlost"},
                                        "amount": {"value": "12"}}}
    record = hs.map_deal(raw, MAPS).record
    assert (record.stage, str(record.amount), record.is_closed) == ("closedlost", "12", True)


def test_a_contacts_became_a_stage_dates_give_its_lifecycle_path() -> None:
    raw = contact(hs_lifecyclestage_lead_date="2026-07-07T07:07:00Z",
                  hs_lifecyclestage_customer_date="2026-10-01T00:00:00Z",
                  hs_v2_date_entered_customer="2026-10-02T00:00:00Z",
                  hs_lifecyclestage_opportunity_date=None)
    assert [(c.to_stage, c.changed_at) for c in hs.stage_changes_from_deal(raw)] == [
        ("lead", utc(2026, 7, 7, 7, 7)), ("customer", utc(2026, 10, 2))]


def test_v1_stage_path_of_a_contact() -> None:
    raw = {**V1_CONTACT, "properties": {
        "hs_date_entered_lead": {"value": "1476768116137"},
        "hs_date_entered_customer": {"value": "1483461406481"}}}
    assert [(c.record_id, c.to_stage) for c in hs.stage_changes_from_deal(raw)] == [
        ("204727", "lead"), ("204727", "customer")]


@pytest.mark.parametrize(("raw", "shape"), [
    (V1_DEAL, "a HubSpot v1 deal (dealId)"), (V1_CONTACT, "a HubSpot v1 contact (vid)"),
    ({"id": "1", "properties": {}}, "a HubSpot v3 object"),
    ({"attributes": {"type": "Lead"}, "Id": "00Q"}, None), ("x", None)])
def test_shape_of(raw: Any, shape: str | None) -> None:
    assert hs.shape_of(raw) == shape
