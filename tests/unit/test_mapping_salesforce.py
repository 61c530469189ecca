"""Salesforce query rows → funnel schema, and back to field updates (literal expectations)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig, SalesforceWriteback, WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping import salesforce as sf
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, StageChange

MAPS = StageMaps()
WB = WritebackConfig()


def _user(uid: str, name: str) -> dict[str, Any]:
    return {"attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{uid}"},
            "Name": name}


def opportunity(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attributes": {"type": "Opportunity",
                       "url": "/services/data/v59.0/sobjects/Opportunity/006A"},
        "Id": "006A", "Name": "Acme - 200 seats", "Amount": 48000.0, "CurrencyIsoCode": "EUR",
        "StageName": "Negotiation/Review", "Probability": 90.0, "IsClosed": False,
        "IsWon": False, "CloseDate": "2026-12-15", "OwnerId": "005A",
        "Owner": _user("005A", "Dana Kim"), "AccountId": "001A",
        "Account": {"attributes": {"type": "Account", "url": "/x"}, "Name": "Acme Corp"},
        "CreatedDate": "2026-09-02T14:05:11.000+0000",
        "LastModifiedDate": "2026-11-20T08:00:00.000+0000",
        "SystemModstamp": "2026-11-20T08:00:01.000+0000", "LastActivityDate": "2026-11-18",
        "LastStageChangeDate": "2026-11-02T10:15:00.000+0200", "IsDeleted": False,
        "ForecastCategoryName": "Commit", "LeadSource": "Web", "Type": "New Business",
        "Funnel_Stage__c": "intent",
    }
    row.update(changes)
    return row


def lead(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attributes": {"type": "Lead", "url": "/services/data/v59.0/sobjects/Lead/00QA"},
        "Id": "00QA", "FirstName": "Maria", "LastName": "Lopez",
        "Email": "  Maria.Lopez@Acme.EXAMPLE ", "Company": "Acme Corp", "Title": "VP Operations",
        "Industry": "Technology", "NumberOfEmployees": 1200, "Country": "Spain",
        "LeadSource": "Web", "Status": "Working - Contacted", "OwnerId": "005A",
        "Owner": _user("005A", "Dana Kim"), "CreatedDate": "2026-10-02T08:15:00.000+0000",
        "LastModifiedDate": "2026-11-20T10:00:00.000+0000",
        "SystemModstamp": "2026-11-20T10:00:00.000+0000", "LastActivityDate": "2026-11-19",
        "IsDeleted": False, "IsConverted": False, "Rating": "Hot",
        "Funnel_Stage__c": "interest", "Funnel_Score__c": 48.5,
    }
    row.update(changes)
    return row


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_opportunity_maps_every_field() -> None:
    result = sf.map_opportunity(opportunity(), MAPS, WB)
    assert result.warnings == []
    assert result.record.model_dump() == {
        "source": "salesforce", "source_id": "006A", "name": "Acme - 200 seats",
        "amount": Decimal("48000.0"), "currency": "EUR", "home_amount": None,
        "pipeline": None,
        "stage": "Negotiation/Review", "stage_label": "Negotiation/Review",
        "funnel_stage": "decision", "probability": 90.0, "is_closed": False, "is_won": False,
        "close_date": date(2026, 12, 15), "owner_id": "005A", "owner_name": "Dana Kim",
        "account_id": "001A", "account_name": "Acme Corp",
        "created_at": utc(2026, 9, 2, 14, 5, 11), "updated_at": utc(2026, 11, 20, 8, 0, 0),
        "last_activity_at": utc(2026, 11, 18), "stage_entered_at": utc(2026, 11, 2, 8, 15),
        "is_deleted": False,
        "extra": {"forecast_category": "Commit", "lead_source": "Web", "type": "New Business",
                  "system_modstamp": utc(2026, 11, 20, 8, 0, 1),
                  "live": {"stage": "intent", "score": None}},
    }


def test_lead_maps_every_field() -> None:
    result = sf.map_lead(lead(), MAPS, WB)
    assert result.warnings == []
    assert result.record.model_dump() == {
        "source": "salesforce", "source_id": "00QA", "email": "maria.lopez@acme.example",
        "first_name": "Maria", "last_name": "Lopez", "company": "Acme Corp",
        "title": "VP Operations", "industry": "Technology", "employees": 1200,
        "country": "Spain", "lead_source": "Web", "owner_id": "005A", "owner_name": "Dana Kim",
        "status": "Working - Contacted", "funnel_stage": "interest",
        "created_at": utc(2026, 10, 2, 8, 15), "updated_at": utc(2026, 11, 20, 10, 0),
        "last_activity_at": utc(2026, 11, 19), "is_deleted": False,
        "extra": {"rating": "Hot", "email_opens": None, "email_clicks": None,
                  "form_submissions": None, "page_views": None, "meetings": None,
                  "lead_source": "Web", "is_converted": False,
                  "system_modstamp": utc(2026, 11, 20, 10, 0),
                  "live": {"stage": "interest", "score": 48.5}},
    }


@pytest.mark.parametrize(("status", "stage"), [
    ("Open - Not Contacted", "awareness"), ("Working - Contacted", "interest"),
    ("Closed - Converted", "consideration"), ("Closed - Not Converted", "lost"),
])
def test_default_lead_status_map(status: str, stage: str) -> None:
    assert sf.map_lead(lead(Status=status), MAPS).record.funnel_stage == stage


@pytest.mark.parametrize(("name", "stage"), [
    ("Prospecting", "consideration"), ("Qualification", "consideration"),
    ("Needs Analysis", "intent"), ("Value Proposition", "intent"),
    ("Id. Decision Makers", "intent"), ("Perception Analysis", "intent"),
    ("Proposal/Price Quote", "decision"), ("Negotiation/Review", "decision"),
    ("Closed Won", "purchase"), ("Closed Lost", "lost"),
])
def test_default_opportunity_stage_map(name: str, stage: str) -> None:
    assert sf.map_opportunity(opportunity(StageName=name), MAPS).record.funnel_stage == stage


def test_unmapped_stage_is_reported_not_guessed() -> None:
    result = sf.map_opportunity(opportunity(StageName="Technical Validation"), MAPS)
    assert result.record.funnel_stage is None
    assert result.record.stage == "Technical Validation"
    assert result.warnings == [
        "salesforce opportunity 006A: stage 'Technical Validation' is not mapped; add it under "
        "[mapping.salesforce.opportunity_stage]"]


def test_unmapped_lead_status_is_reported() -> None:
    result = sf.map_lead(lead(Status="Nurturing"), MAPS)
    assert result.record.funnel_stage is None
    assert result.warnings == [
        "salesforce lead 00QA: status 'Nurturing' is not mapped; add it under "
        "[mapping.salesforce.lead_status]"]


def test_config_overrides_and_extends_default_maps() -> None:
    config = parse_config('[mapping.salesforce.opportunity_stage]\n'
                          '"Technical Validation" = "intent"\n"Prospecting" = "awareness"\n'
                          '[mapping.salesforce.lead_status]\n"Nurturing" = "interest"\n')
    maps = StageMaps(config)
    tech = sf.map_opportunity(opportunity(StageName="Technical Validation"), maps)
    assert (tech.record.funnel_stage, tech.warnings) == ("intent", [])
    assert sf.map_opportunity(opportunity(StageName="Prospecting"), maps).record.funnel_stage \
        == "awareness"
    assert sf.map_lead(lead(Status="Nurturing"), maps).record.funnel_stage == "interest"


def test_null_relationships_and_deleted_row() -> None:
    record = sf.map_opportunity(opportunity(Owner=None, Account=None, AccountId=None,
                                            IsDeleted=True), MAPS).record
    assert (record.owner_name, record.account_name, record.account_id, record.is_deleted) == \
        (None, None, None, True)


def test_relationship_that_is_not_an_object_warns() -> None:
    result = sf.map_opportunity(opportunity(Owner="Dana Kim"), MAPS)
    assert result.record.owner_name is None
    assert result.warnings == [
        "salesforce opportunity 006A: Owner.Name: expected an object, got 'Dana Kim'; "
        "using null"]


@pytest.mark.parametrize(("amount", "expected", "warnings"), [
    ("1,200.50", Decimal("1200.50"), []),
    (1200.5, Decimal("1200.5"), []),
    ("", None, []),
    (None, None, []),
    ("abc", None, ["salesforce opportunity 006A: Amount 'abc' is not a number; using null"]),
    ("1,2,3", None, ["salesforce opportunity 006A: Amount '1,2,3' is not a number; using null"]),
    ("NaN", None, ["salesforce opportunity 006A: Amount 'NaN' is not a finite number; "
                   "using null"]),
])
def test_dirty_amounts(amount: Any, expected: Decimal | None, warnings: list[str]) -> None:
    result = sf.map_opportunity(opportunity(Amount=amount), MAPS)
    assert (result.record.amount, result.warnings) == (expected, warnings)


def test_impossible_dates_become_null_with_warning() -> None:
    result = sf.map_opportunity(opportunity(CloseDate="2026-02-30",
                                            CreatedDate="2026-13-01T00:00:00.000+0000"), MAPS)
    assert (result.record.close_date, result.record.created_at) == (None, None)
    assert result.warnings == [
        "salesforce opportunity 006A: CloseDate '2026-02-30' is not a valid date; using null",
        "salesforce opportunity 006A: CreatedDate '2026-13-01T00:00:00.000+0000' is not a "
        "valid date-time; using null",
    ]


def test_missing_keys_give_nulls_and_only_the_missing_stage_warning() -> None:
    result = sf.map_opportunity({"Id": "006B"}, MAPS)
    assert result.warnings == ["salesforce opportunity 006B: StageName is missing, so the funnel "
                               "stage is unknown; include StageName in the fields you request"]
    dumped = result.record.model_dump()
    assert dumped["amount"] is None and dumped["stage"] is None
    assert (dumped["is_closed"], dumped["is_won"], dumped["is_deleted"]) == (False, False, False)
    assert dumped["extra"] == {"forecast_category": None, "lead_source": None, "type": None,
                               "system_modstamp": None}


def test_updated_at_falls_back_to_system_modstamp() -> None:
    record = sf.map_opportunity(opportunity(LastModifiedDate=None), MAPS).record
    assert record.updated_at == utc(2026, 11, 20, 8, 0, 1)


def test_forecast_category_falls_back_to_the_older_field() -> None:
    row = opportunity(ForecastCategoryName=None, ForecastCategory="BestCase")
    assert sf.map_opportunity(row, MAPS).record.extra["forecast_category"] == "BestCase"


def test_probability_out_of_range_warns() -> None:
    result = sf.map_opportunity(opportunity(Probability=150), MAPS)
    assert result.record.probability is None
    assert result.warnings == ["salesforce opportunity 006A: Probability 150 is not between 0 "
                               "and 100; using null"]


def test_lead_dirty_employees_and_flags() -> None:
    result = sf.map_lead(lead(NumberOfEmployees="12.5", IsDeleted="maybe"), MAPS)
    assert (result.record.employees, result.record.is_deleted) == (None, False)
    assert result.warnings == [
        "salesforce lead 00QA: NumberOfEmployees '12.5' is not a whole number; using null",
        "salesforce lead 00QA: IsDeleted 'maybe' is not true or false; using null",
    ]


def test_bant_fields_are_read_when_the_query_selected_them() -> None:
    record = sf.map_lead(lead(Budget__c="50k", Need__c=" Reporting "), MAPS).record
    assert record.extra["bant"] == {"budget": "50k", "need": "Reporting"}
    assert "bant" not in sf.map_lead(lead(), MAPS).record.extra


def test_live_values_follow_the_configured_names() -> None:
    wb = WritebackConfig(salesforce=SalesforceWriteback(stage_field="Stage__c", score_field=""))
    record = sf.map_lead(lead(Stage__c="decision"), MAPS, wb).record
    assert record.extra["live"] == {"stage": "decision", "score": None}
    assert "live" not in sf.map_lead(lead(), MAPS).record.extra


@pytest.mark.parametrize(("raw", "message", "record_id", "field"), [
    ("not a row", "salesforce opportunity (no id): record is a str, not a JSON object (pass "
                  "the raw records exactly as the API returns them)", None, "(record)"),
    ({"Name": "x"}, "salesforce opportunity (no id): field Id is missing; every record needs "
                    "its id (include Id in the fields you request)", None, "Id"),
    ({"Id": 6}, "salesforce opportunity (no id): field Id must be a non-empty string, got 6 "
                "(pass the raw records exactly as the API returns them)", None, "Id"),
    ({"Id": "00QA", "attributes": {"type": "Lead"}},
     "salesforce opportunity 00QA: record is of type Lead, expected Opportunity (map Lead rows "
     "with the matching mapper (normalize --object))", "00QA", "attributes.type"),
])
def test_unmappable_records_raise_data_error(raw: Any, message: str, record_id: str | None,
                                             field: str) -> None:
    with pytest.raises(DataError) as caught:
        sf.map_opportunity(raw, MAPS)
    assert str(caught.value) == message
    assert (caught.value.source, caught.value.record_id, caught.value.field) == \
        ("salesforce", record_id, field)


def test_history_rows_become_ordered_stage_changes() -> None:
    rows = [
        {"attributes": {"type": "OpportunityHistory"}, "Id": "008C", "OpportunityId": "006A",
         "StageName": "Negotiation/Review", "CreatedDate": "2026-11-02T10:15:00.000+0000"},
        {"Id": "008A", "OpportunityId": "006A", "StageName": "Prospecting",
         "CreatedDate": "2026-09-02T14:05:11.000+0000"},
        {"Id": "008B", "OpportunityId": "006A", "StageName": "Prospecting",
         "CreatedDate": "2026-09-20T09:00:00.000+0000"},
    ]
    changes = sf.order_history([sf.map_history(r) for r in rows])
    assert changes == [
        StageChange(source="salesforce", record_id="006A", from_stage=None,
                    to_stage="Prospecting", changed_at=utc(2026, 9, 2, 14, 5, 11)),
        StageChange(source="salesforce", record_id="006A", from_stage="Prospecting",
                    to_stage="Negotiation/Review", changed_at=utc(2026, 11, 2, 10, 15)),
    ]


def test_history_row_without_time_raises() -> None:
    with pytest.raises(DataError) as caught:
        sf.map_history({"Id": "008A", "OpportunityId": "006A", "StageName": "Prospecting",
                        "CreatedDate": "yesterday"})
    assert str(caught.value) == ("salesforce opportunity history 008A: field CreatedDate is "
                                 "not a valid date-time")
    assert caught.value.field == "CreatedDate"


def test_catalog_from_opportunity_stages_and_lead_statuses() -> None:
    stages = [{"attributes": {"type": "OpportunityStage"}, "ApiName": "Technical Validation",
               "MasterLabel": "Technical Validation", "IsActive": True, "IsClosed": False,
               "IsWon": False, "DefaultProbability": 55.0, "SortOrder": 5},
              {"ApiName": "Closed Won", "MasterLabel": "Closed Won", "IsActive": True,
               "IsClosed": True, "IsWon": True, "DefaultProbability": 100.0, "SortOrder": 10}]
    statuses = [{"ApiName": "Closed - Converted", "MasterLabel": "Closed - Converted",
                 "IsConverted": True, "SortOrder": 3}]
    assert sf.map_catalog(stages, statuses) == [
        CatalogStage(source="salesforce", stage="Technical Validation",
                     label="Technical Validation", order=5, probability=55.0),
        CatalogStage(source="salesforce", stage="Closed Won", label="Closed Won", order=10,
                     probability=100.0, is_closed=True, is_won=True),
        CatalogStage(source="salesforce", stage="Closed - Converted",
                     label="Closed - Converted", order=3, is_closed=True, is_won=True,
                     kind="lead"),
    ]


def test_writeback_fields() -> None:
    assert sf.writeback_fields("leads", "interest", 72.349, WB) == {
        "Funnel_Stage__c": "interest", "Funnel_Score__c": 72.3}
    assert sf.writeback_fields("deals", "decision", 72.0, WB) == {"Funnel_Stage__c": "decision"}
    assert sf.writeback_fields("leads", None, 10.0, WB) == {"Funnel_Score__c": 10.0}
    no_score = WritebackConfig(salesforce=SalesforceWriteback(score_field=""))
    assert sf.writeback_fields("leads", "interest", 50.0, no_score) == {
        "Funnel_Stage__c": "interest"}
    with pytest.raises(ValueError, match="kind must be 'leads' or 'deals', not 'tasks'"):
        sf.writeback_fields("tasks", "x", None, WB)  # type: ignore[arg-type]


def test_field_lists_include_write_back_fields() -> None:
    assert sf.lead_fields(WB)[-2:] == ["Funnel_Stage__c", "Funnel_Score__c"]
    assert sf.lead_fields() == list(sf.LEAD_FIELDS)
    assert sf.opportunity_fields(WB, ("LastStageChangeDate",))[-2:] == [
        "LastStageChangeDate", "Funnel_Stage__c"]
    assert "Owner.Name" in sf.OPPORTUNITY_FIELDS and "Account.Name" in sf.OPPORTUNITY_FIELDS


def test_default_maps_from_app_config() -> None:
    assert StageMaps(AppConfig()).opportunity_stage["Closed Lost"] == "lost"
