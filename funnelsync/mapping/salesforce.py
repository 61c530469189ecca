"""Salesforce REST query rows → the funnel schema, and funnel values → Salesforce field updates.

Input is each row of a query page exactly as the REST API (and simple-salesforce) returns it:
``attributes``, JSON numbers and booleans, relationship objects (``"Owner": {"Name": ...}`` or
``"Owner": null``), dates ``YYYY-MM-DD`` and datetimes ``...T08:00:00.000+0000``.

Lead (``map_lead``, query with ``LEAD_FIELDS``) → ``FunnelLead``:
  source_id←Id, email←Email (trimmed, lower case), first_name←FirstName, last_name←LastName,
  company←Company, title←Title, industry←Industry, employees←NumberOfEmployees,
  country←Country, lead_source←LeadSource, owner_id←OwnerId, owner_name←Owner.Name,
  status←Status, funnel_stage←Status via [mapping.salesforce.lead_status] (a warning when the
  row has no Status field at all), created_at←CreatedDate,
  updated_at←LastModifiedDate (else SystemModstamp), last_activity_at←LastActivityDate (a date:
  midnight UTC), is_deleted←IsDeleted.
  extra: rating←Rating, lead_source←LeadSource, is_converted←IsConverted,
  system_modstamp←SystemModstamp; email_opens, email_clicks, form_submissions, page_views,
  meetings are null (no standard Salesforce fields); bant←Budget__c, Authority__c, Need__c,
  Timeline__c (only when the query selected them; they are org custom fields).

Opportunity (``map_opportunity``, query with ``OPPORTUNITY_FIELDS``) → ``FunnelDeal``:
  source_id←Id, name←Name, amount←Amount, currency←CurrencyIsoCode (multi-currency orgs only),
  stage and stage_label←StageName, funnel_stage←StageName via
  [mapping.salesforce.opportunity_stage] (a warning when the row has no StageName field at all),
  probability←Probability, is_closed←IsClosed,
  is_won←IsWon, close_date←CloseDate, owner_id←OwnerId, owner_name←Owner.Name,
  account_id←AccountId, account_name←Account.Name, created_at←CreatedDate,
  updated_at←LastModifiedDate (else SystemModstamp), last_activity_at←LastActivityDate,
  stage_entered_at←LastStageChangeDate (newer API versions only; else filled from history),
  is_deleted←IsDeleted.
  extra: forecast_category←ForecastCategoryName (else ForecastCategory), lead_source←LeadSource,
  type←Type, system_modstamp←SystemModstamp.

Both put ``extra["live"] = {"stage": ..., "score": ...}`` — the record's current values of the
[writeback] fields (Funnel_Stage__c, Funnel_Score__c) — when a WritebackConfig is given; the
sync compares against them so that unchanged values are never re-sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from funnelsync.config.models import WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.parse import (
    RecordReader,
    date_to_datetime,
    parse_datetime,
    parse_percent,
    parse_text,
    require_id,
    require_record,
)
from funnelsync.mapping.result import (
    MapResult,
    build_model,
    construct_parsed,
    missing_stage_warning,
    unmapped_warning,
)
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.mapping.writeback import (
    LiveFields,
    WritebackTarget,
    live_fields,
    with_writeback,
)

SOURCE = "salesforce"

LEAD_FIELDS: tuple[str, ...] = (
    "Id", "FirstName", "LastName", "Email", "Company", "Title", "Industry", "NumberOfEmployees",
    "Country", "LeadSource", "Status", "OwnerId", "Owner.Name", "CreatedDate",
    "LastModifiedDate", "SystemModstamp", "LastActivityDate", "IsDeleted", "IsConverted",
    "Rating",
)
OPPORTUNITY_FIELDS: tuple[str, ...] = (
    "Id", "Name", "Amount", "StageName", "Probability", "IsClosed", "IsWon", "CloseDate",
    "OwnerId", "Owner.Name", "AccountId", "Account.Name", "CreatedDate", "LastModifiedDate",
    "SystemModstamp", "LastActivityDate", "IsDeleted", "ForecastCategoryName", "LeadSource",
    "Type",
)
# Fields that exist only in some orgs / API versions: request them after describe() shows them.
OPTIONAL_OPPORTUNITY_FIELDS: tuple[str, ...] = ("CurrencyIsoCode", "LastStageChangeDate")
HISTORY_FIELDS: tuple[str, ...] = ("Id", "OpportunityId", "StageName", "CreatedDate")
OPPORTUNITY_STAGE_FIELDS: tuple[str, ...] = (
    "ApiName", "MasterLabel", "IsActive", "IsClosed", "IsWon", "DefaultProbability", "SortOrder",
)
LEAD_STATUS_FIELDS: tuple[str, ...] = ("ApiName", "MasterLabel", "IsConverted", "SortOrder")
BANT_FIELDS: dict[str, str] = {
    "budget": "Budget__c", "authority": "Authority__c", "need": "Need__c",
    "timeline": "Timeline__c",
}


def lead_fields(writeback: WritebackConfig | None = None) -> list[str]:
    """LEAD_FIELDS plus the configured write-back fields (to read their live values)."""
    return with_writeback(LEAD_FIELDS, writeback, SOURCE, with_score=True)


def opportunity_fields(writeback: WritebackConfig | None = None,
                       optional: tuple[str, ...] = ()) -> list[str]:
    """OPPORTUNITY_FIELDS plus the optional fields the org has and the write-back stage field."""
    return with_writeback(OPPORTUNITY_FIELDS + optional, writeback, SOURCE,
                          with_score=False)


def _reader(raw: Any, kind: str, sobject: str) -> RecordReader:
    record = require_record(raw, SOURCE, kind)
    record_id = require_id(record.get("Id"), SOURCE, kind, "Id")
    attributes = record.get("attributes")
    found = attributes.get("type") if type(attributes) is dict or isinstance(
        attributes, Mapping) else None
    if isinstance(found, str) and found != sobject:
        raise DataError(f"{SOURCE} {kind} {record_id}: record is of type {found}, "
                        f"expected {sobject}",
                        source=SOURCE, record_id=record_id, field="attributes.type",
                        hint=f"map {found} rows with the matching mapper (normalize --object)")
    return RecordReader(SOURCE, kind, record_id, record)


def shape_of(raw: Any) -> str | None:
    """What kind of Salesforce row ``raw`` is ("a Salesforce Lead row"), or None when it does
    not look like one."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return None
    attributes = raw.get("attributes")
    sobject = attributes.get("type") if type(attributes) is dict or isinstance(
        attributes, Mapping) else None
    if isinstance(sobject, str):
        return f"a Salesforce {sobject} row"
    return "a Salesforce row" if "Id" in raw else None


def _stage(r: RecordReader, field: str, value: str | None, table: dict[str, str], what: str,
           config_table: str) -> str | None:
    if not r.has(field):
        r.warnings.append(missing_stage_warning(r.label(), field))
    if value is None:
        return None
    stage = table.get(value)
    if stage is None:
        r.warnings.append(unmapped_warning(r.label(), f"{what} {value!r}", config_table))
    return stage


def _bant(r: RecordReader) -> dict[str, Any]:
    present = {key: r.text(name) for key, name in BANT_FIELDS.items() if r.has(name)}
    return {"bant": present} if present else {}


def map_lead(raw: Any, maps: StageMaps,
             writeback: WritebackConfig | None = None) -> MapResult:
    """One Lead row → FunnelLead (see the module docstring for the field list)."""
    return _map_lead(raw, maps, live_fields(writeback, SOURCE, with_score=True))


def lead_mapper(maps: StageMaps,
                writeback: WritebackConfig | None = None) -> Callable[[Any], MapResult]:
    """``map_lead`` bound to one config, which is read once, not for every row."""
    live = live_fields(writeback, SOURCE, with_score=True)
    return lambda raw: _map_lead(raw, maps, live)


def _map_lead(raw: Any, maps: StageMaps, live: LiveFields | None) -> MapResult:
    r = _reader(raw, "lead", "Lead")
    text = r.text
    status = text("Status")
    lead_source = text("LeadSource")
    extra = {
        "rating": text("Rating"), "email_opens": None, "email_clicks": None,
        "form_submissions": None, "page_views": None, "meetings": None,
        "lead_source": lead_source, "is_converted": r.flag("IsConverted", None),
        "system_modstamp": r.timestamp("SystemModstamp"), **_bant(r),
    }
    if live is not None:
        extra["live"] = live.read(r)
    values = {
        "source": SOURCE, "source_id": r.record_id, "email": r.email("Email"),
        "first_name": text("FirstName"), "last_name": text("LastName"),
        "company": text("Company"), "title": text("Title"), "industry": text("Industry"),
        "employees": r.integer("NumberOfEmployees"), "country": text("Country"),
        "lead_source": lead_source, "owner_id": text("OwnerId"),
        "owner_name": text("Owner.Name"), "status": status,
        "funnel_stage": _stage(r, "Status", status, maps.lead_status, "status",
                               "mapping.salesforce.lead_status"),
        "created_at": r.timestamp("CreatedDate"),
        "updated_at": r.first_timestamp("LastModifiedDate", "SystemModstamp"),
        "last_activity_at": date_to_datetime(r.day("LastActivityDate")),
        "is_deleted": r.flag("IsDeleted"), "extra": extra,
    }
    return MapResult(construct_parsed(FunnelLead, values), r.warnings)


def map_opportunity(raw: Any, maps: StageMaps,
                    writeback: WritebackConfig | None = None) -> MapResult:
    """One Opportunity row → FunnelDeal (see the module docstring for the field list)."""
    return _map_opportunity(raw, maps, live_fields(writeback, SOURCE, with_score=False))


def opportunity_mapper(maps: StageMaps,
                       writeback: WritebackConfig | None = None) -> Callable[[Any], MapResult]:
    """``map_opportunity`` bound to one config, which is read once, not for every row."""
    live = live_fields(writeback, SOURCE, with_score=False)
    return lambda raw: _map_opportunity(raw, maps, live)


def _map_opportunity(raw: Any, maps: StageMaps, live: LiveFields | None) -> MapResult:
    r = _reader(raw, "opportunity", "Opportunity")
    text, timestamp = r.text, r.timestamp
    stage = text("StageName")
    extra = {
        "forecast_category": text("ForecastCategoryName") or text("ForecastCategory"),
        "lead_source": text("LeadSource"), "type": text("Type"),
        "system_modstamp": timestamp("SystemModstamp"),
    }
    if live is not None:
        extra["live"] = live.read(r)
    # Every field, in schema order: the record is built without re-ordering.
    values = {
        "source": SOURCE, "source_id": r.record_id, "name": text("Name"),
        "amount": r.amount("Amount"), "currency": text("CurrencyIsoCode"), "home_amount": None,
        "pipeline": None, "stage": stage, "stage_label": stage,
        "funnel_stage": _stage(r, "StageName", stage, maps.opportunity_stage, "stage",
                               "mapping.salesforce.opportunity_stage"),
        "probability": r.parsed("Probability", parse_percent), "is_closed": r.flag("IsClosed"),
        "is_won": r.flag("IsWon"), "close_date": r.day("CloseDate"),
        "owner_id": text("OwnerId"), "owner_name": text("Owner.Name"),
        "account_id": text("AccountId"), "account_name": text("Account.Name"),
        "created_at": timestamp("CreatedDate"),
        "updated_at": r.first_timestamp("LastModifiedDate", "SystemModstamp"),
        "last_activity_at": date_to_datetime(r.day("LastActivityDate")),
        "stage_entered_at": timestamp("LastStageChangeDate"),
        "is_deleted": r.flag("IsDeleted"), "extra": extra,
    }
    return MapResult(construct_parsed(FunnelDeal, values), r.warnings)


def map_history(raw: Any) -> StageChange:
    """One OpportunityHistory row → StageChange. ``from_stage`` stays None: the caller fills it
    by ordering an opportunity's rows by time (see ``order_history``)."""
    record = require_record(raw, SOURCE, "opportunity history")
    row_id = record.get("Id") if isinstance(record.get("Id"), str) else None
    opp_id = require_id(record.get("OpportunityId"), SOURCE, "opportunity history",
                        "OpportunityId")
    label = row_id or opp_id
    to_stage = _required(record, "StageName", parse_text, label)
    changed_at = _required(record, "CreatedDate", parse_datetime, label)
    return StageChange(source=SOURCE, record_id=opp_id, from_stage=None, to_stage=to_stage,
                       changed_at=changed_at)


def order_history(changes: list[StageChange]) -> list[StageChange]:
    """One opportunity's history rows in time order, each with from_stage set from the one
    before; rows that repeat the previous stage (amount-only edits) are dropped."""
    ordered: list[StageChange] = []
    for change in sorted(changes, key=lambda c: c.changed_at):
        previous = ordered[-1].to_stage if ordered else None
        if change.to_stage != previous:
            ordered.append(change.model_copy(update={"from_stage": previous}))
    return ordered


def _required(record: Mapping[str, Any], field: str, parser: Any, label: str) -> Any:
    value = record.get(field)
    try:
        parsed = parser(value)
    except ValueError as exc:
        parsed, reason = None, str(exc)
    else:
        reason = "is missing"
    if parsed is None:
        raise DataError(f"{SOURCE} opportunity history {label}: field {field} {reason}",
                        source=SOURCE, record_id=label, field=field)
    return parsed


def map_catalog(opportunity_stages: list[dict[str, Any]],
                lead_statuses: list[dict[str, Any]]) -> list[CatalogStage]:
    """OpportunityStage and LeadStatus rows → CatalogStage (kind "deal" and "lead")."""
    stages = [_catalog_row(row, "deal") for row in opportunity_stages]
    return stages + [_catalog_row(row, "lead") for row in lead_statuses]


def _catalog_row(raw: Any, kind: Literal["deal", "lead"]) -> CatalogStage:
    what = "opportunity stage" if kind == "deal" else "lead status"
    record = require_record(raw, SOURCE, what)
    name = record.get("ApiName") or record.get("MasterLabel")
    r = RecordReader(SOURCE, what, require_id(name, SOURCE, what, "ApiName"), record)
    if kind == "lead":
        # LeadStatus has no closed/won flags; a converted status is the lead's successful end.
        converted = bool(r.flag("IsConverted"))
        flags = {"is_closed": converted, "is_won": converted, "active": True,
                 "probability": None}
    else:
        flags = {"is_closed": r.flag("IsClosed"), "is_won": r.flag("IsWon"),
                 "active": r.flag("IsActive", True),
                 "probability": r.parsed("DefaultProbability", parse_percent)}
    values = {"source": SOURCE, "pipeline": None, "stage": r.record_id,
              "label": r.text("MasterLabel") or r.record_id,
              "order": r.integer("SortOrder") or 0, "kind": kind, **flags}
    return build_model(CatalogStage, values, source=SOURCE, kind=what, record_id=r.record_id)


def writeback_fields(kind: Literal["leads", "deals"], stage: str | None, score: float | None,
                     writeback: WritebackConfig, *, owner_id: str | None = None,
                     status: str | None = None,
                     probability: float | None = None) -> dict[str, Any]:
    """Computed stage/score (and, for routed or re-entering leads, owner and status) →
    Salesforce field values for a Collections update.

    None means "leave the field as it is"; a field configured as "" is never written; scores
    are written for leads only, rounded to one decimal; owner → OwnerId, status → Lead.Status
    (leads only), the win probability → the configured Opportunity Percent field, a whole
    number of percent (deals only)."""
    wb = writeback.salesforce
    target = WritebackTarget(wb.stage_field, wb.score_field, owner="OwnerId", status="Status",
                             score_value=_one_decimal, probability=wb.probability_field,
                             probability_value=round)
    return target.fields(kind, stage, score, owner_id=owner_id, status=status,
                         probability=probability)


def _one_decimal(score: float) -> float:
    return round(float(score), 1)


def map_owners(rows: list[dict[str, Any]]) -> list[CrmOwner]:
    """User rows (Id, Name, Email, IsActive, ManagerId) and queue rows (Group of Type Queue,
    ids 00G…) → CrmOwner; a queue counts as active but is never a real owner."""
    owners = []
    for row in rows:
        rid = str(row.get("Id") or "")
        if not rid:
            continue
        kind = str((row.get("attributes") or {}).get("type") or "")
        queue = kind == "Group" or rid.startswith("00G")
        email = row.get("Email")
        owners.append(CrmOwner(id=rid, email=email.strip().lower() if email else None,
                               name=row.get("Name"), active=queue or bool(row.get("IsActive")),
                               manager_id=row.get("ManagerId"), is_queue=queue))
    return owners


__all__ = [
    "BANT_FIELDS",
    "HISTORY_FIELDS",
    "LEAD_FIELDS",
    "LEAD_STATUS_FIELDS",
    "OPPORTUNITY_FIELDS",
    "OPPORTUNITY_STAGE_FIELDS",
    "OPTIONAL_OPPORTUNITY_FIELDS",
    "lead_fields",
    "lead_mapper",
    "map_catalog",
    "map_history",
    "map_lead",
    "map_owners",
    "map_opportunity",
    "opportunity_fields",
    "opportunity_mapper",
    "order_history",
    "shape_of",
    "writeback_fields",
]
