"""HubSpot CRM v3 objects → the funnel schema, and funnel values → HubSpot property updates.

Input is each element of ``results`` exactly as the v3 list/search endpoints return it:
top-level ``id``, ``createdAt``, ``updatedAt``, ``archived`` and ``properties``, where every
value is a string or null (numbers, booleans and times must be parsed; times come as ISO with
``Z`` or as epoch milliseconds). ``dealstage`` and ``pipeline`` are ids. Legacy v1 objects
(``dealId`` / ``vid``, ``properties.<name>.value``) are read too (see ``hubspot_v1``).
Property names are HubSpot's default properties of *that* object: a contact's company size is
``numemployees``; ``numberofemployees`` exists on companies only.

Contact (``map_contact``, request ``CONTACT_PROPERTIES``) → ``FunnelLead``:
  source_id←id (else hs_object_id), email←email (trimmed, lower case), first_name←firstname,
  last_name←lastname, company←company, title←jobtitle, industry←industry,
  employees←numemployees (a dropdown of bands such as "1-5", "25-50", "1000+", "10001+": a band
  gives its lower bound, see ``parse_employees``; a plain head count is read as it is),
  country←country, lead_source←hs_analytics_source,
  owner_id←hubspot_owner_id, status←lifecyclestage, funnel_stage←lifecyclestage via
  [mapping.hubspot.lifecycle_stage] (a warning when the record has no lifecyclestage property
  at all, i.e. it was not requested), created_at←createdate (else createdAt),
  updated_at←lastmodifieddate (else hs_lastmodifieddate, else updatedAt),
  last_activity_at←notes_last_updated, is_deleted←archived.
  extra: lead_status←hs_lead_status, email_opens←hs_email_open, email_clicks←hs_email_click,
  form_submissions←num_conversion_events, page_views←hs_analytics_num_page_views,
  lead_source←hs_analytics_source; rating, meetings, is_converted are null (no standard
  properties); bant←budget, authority, need, timeline (custom properties, when present).

Deal (``map_deal``, request ``deal_properties(...)``) → ``FunnelDeal``:
  source_id←id (else hs_object_id), name←dealname, amount←amount, currency←deal_currency_code,
  home_amount←amount_in_home_currency (calculated: the amount in the company currency),
  pipeline←pipeline, stage←dealstage, stage_label←the catalog's label,
  funnel_stage←dealstage via [mapping.hubspot.deal_stages.<pipeline>] (a warning when the
  deal has no dealstage property at all), probability←hs_deal_stage_probability ("0.2" →
  20.0; else the catalog's), is_closed / is_won←what the stage defines (see
  ``hubspot_stages``), else hs_is_closed / hs_is_closed_won (calculated properties, present
  only when requested; a warning when they contradict the stage), close_date←closedate (its
  UTC date), owner_id←hubspot_owner_id, created_at←createdate (else
  createdAt), updated_at←hs_lastmodifieddate (else updatedAt),
  last_activity_at←notes_last_updated, stage_entered_at←hs_v2_date_entered_<dealstage> (else
  the older hs_date_entered_<dealstage>), is_deleted←archived; account_id/owner_name stay null
  (they need other API calls).
  extra: forecast_category←hs_manual_forecast_category (the deal's "Forecast category"; else
  hs_forecast_category, found in pages saved by other tools), lead_source←hs_analytics_source,
  type←dealtype.

With a WritebackConfig both put ``extra["live"] = {"stage": ..., "score": ...}``: the current
values of the [writeback.hubspot] properties (funnel_stage, funnel_score), so the sync never
re-sends an unchanged value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from funnelsync.config.models import WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot.catalog import HubSpotCatalog, map_pipelines
from funnelsync.mapping.hubspot.stages import (
    ENTERED_PREFIX,
    check_flags,
    entered_at,
    stage_entries,
    stage_flags,
)
from funnelsync.mapping.hubspot.v1 import has_v1_values, to_v3, unwrap_values, v1_kind
from funnelsync.mapping.hubspot.writeback import clear_first, format_score, writeback_fields
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.parse import (
    RecordReader,
    parse_bool,
    parse_datetime,
    parse_fraction_percent,
    parse_int,
    require_id,
    require_record,
)
from funnelsync.mapping.result import (
    MapResult,
    construct_parsed,
    missing_stage_warning,
    unmapped_warning,
)
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.mapping.writeback import LiveFields, live_fields, with_writeback

SOURCE = "hubspot"
CONTACT_PROPERTIES: tuple[str, ...] = (
    "email", "firstname", "lastname", "company", "jobtitle", "industry", "numemployees",
    "country", "lifecyclestage", "hs_lead_status", "hubspot_owner_id", "createdate",
    "lastmodifieddate", "hs_lastmodifieddate", "notes_last_updated", "hs_email_open",
    "hs_email_click", "num_conversion_events", "hs_analytics_num_page_views",
    "hs_analytics_source", "hs_object_id",
)
DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname", "amount", "deal_currency_code", "amount_in_home_currency", "pipeline",
    "dealstage", "closedate",
    "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "notes_last_updated",
    "hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability",
    "hs_manual_forecast_category",
    "hs_analytics_source", "dealtype", "hs_object_id",
)
BANT_PROPERTIES: dict[str, str] = {
    "budget": "budget", "authority": "authority", "need": "need", "timeline": "timeline",
}
_BAND = re.compile(r"(\d[\d,]*)\s*(?:-\s*[\d,]+|\+)")


def contact_properties(writeback: WritebackConfig | None = None) -> list[str]:
    """CONTACT_PROPERTIES plus the configured write-back properties (their live values)."""
    return with_writeback(CONTACT_PROPERTIES, writeback, SOURCE, with_score=True)


def deal_properties(writeback: WritebackConfig | None = None,
                    catalog: HubSpotCatalog | None = None) -> list[str]:
    """DEAL_PROPERTIES, the write-back stage property and, given the pipeline catalog, one
    ``hs_v2_date_entered_<stageId>`` per stage (HubSpot returns only properties asked for)."""
    names = with_writeback(DEAL_PROPERTIES, writeback, SOURCE, with_score=False)
    if catalog is not None:
        names += [f"{ENTERED_PREFIX}{stage}" for stage in catalog.stage_ids()]
    return names


def _reader(raw: Any, kind: str) -> tuple[RecordReader, Mapping[str, Any]]:
    record = _as_v3(require_record(raw, SOURCE, kind), kind)
    props = record.get("properties", {})
    if props is None or not isinstance(props, Mapping):
        label = record.get("id") if isinstance(record.get("id"), str) else "(no id)"
        raise DataError(f"{SOURCE} {kind} {label}: field properties must be an object, got "
                        f"{type(props).__name__}", source=SOURCE, field="properties",
                        record_id=label if label != "(no id)" else None)
    raw_id = record.get("id")
    if raw_id is None:
        raw_id = props.get("hs_object_id")
    record_id = require_id(raw_id, SOURCE, kind, "id")
    return RecordReader(SOURCE, kind, record_id, props), record


def _as_v3(record: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """A v1 object (or v1 property values in a v3 object) in the v3 shape."""
    if v1_kind(record) is not None:
        return to_v3(record, kind)
    props = record.get("properties")
    if isinstance(props, Mapping) and has_v1_values(props):
        return {**record, "properties": unwrap_values(props)}
    return record


def shape_of(raw: Any) -> str | None:
    """What kind of HubSpot record ``raw`` is ("a HubSpot v1 deal (dealId)", "a HubSpot v3
    object"), or None when it does not look like one."""
    if not isinstance(raw, Mapping):
        return None
    legacy = v1_kind(raw)
    if legacy is not None:
        return f"a HubSpot v1 {legacy} ({'dealId' if legacy == 'deal' else 'vid'})"
    if "id" in raw or isinstance(raw.get("properties"), Mapping):
        return "a HubSpot v3 object"
    return None


def _top(r: RecordReader, record: Mapping[str, Any]) -> dict[str, Any]:
    """Values from the top level of the object, used when the properties lack them."""
    return {
        "created_at": r.parsed("createdAt", parse_datetime, record.get("createdAt")),
        "updated_at": r.parsed("updatedAt", parse_datetime, record.get("updatedAt")),
        "is_deleted": bool(r.parsed("archived", parse_bool, record.get("archived"))),
    }


def parse_employees(value: Any) -> int | None:
    """A head count from a contact's ``numemployees``: HubSpot's dropdown bands ("1-5",
    "25-50", "1000+", "10001+") give their lower bound, the one number the band guarantees
    (scoring thresholds such as "1000+" then match the band of the same name); a plain count,
    as imports or custom options hold it, is read as it is."""
    try:
        return parse_int(value)
    except ValueError:
        band = _BAND.fullmatch(value.strip()) if isinstance(value, str) else None
        if band is None:
            raise ValueError("is neither a head count nor a band such as '25-50' or "
                             "'1000+'") from None
        return int(band.group(1).replace(",", ""))


def map_contact(raw: Any, maps: StageMaps,
                writeback: WritebackConfig | None = None) -> MapResult:
    """One contact object → FunnelLead (see the module docstring for the field list)."""
    return _map_contact(raw, maps, live_fields(writeback, SOURCE, with_score=True))


def contact_mapper(maps: StageMaps,
                   writeback: WritebackConfig | None = None) -> Callable[[Any], MapResult]:
    """``map_contact`` bound to one config, which is read once, not for every record."""
    live = live_fields(writeback, SOURCE, with_score=True)
    return lambda raw: _map_contact(raw, maps, live)


def _map_contact(raw: Any, maps: StageMaps, live: LiveFields | None) -> MapResult:
    r, record = _reader(raw, "contact")
    top = _top(r, record)
    lifecycle = r.text("lifecyclestage")
    if not r.has("lifecyclestage"):
        r.warnings.append(missing_stage_warning(r.label(), "lifecyclestage"))
    lead_source = r.text("hs_analytics_source")
    bant = {k: r.text(p) for k, p in BANT_PROPERTIES.items() if r.has(p)}
    extra = {
        "lead_status": r.text("hs_lead_status"), "rating": None,
        "email_opens": r.integer("hs_email_open"), "email_clicks": r.integer("hs_email_click"),
        "form_submissions": r.integer("num_conversion_events"),
        "page_views": r.integer("hs_analytics_num_page_views"), "meetings": None,
        "lead_source": lead_source, "is_converted": None, **({"bant": bant} if bant else {}),
    }
    if live is not None:
        extra["live"] = live.read(r)
    funnel = maps.lifecycle_stage.get(lifecycle) if lifecycle else None
    if lifecycle and funnel is None:
        r.warnings.append(unmapped_warning(r.label(), f"lifecyclestage {lifecycle!r}",
                                           "mapping.hubspot.lifecycle_stage"))
    # Every field, in schema order: the record is built without re-ordering.
    values = {
        "source": SOURCE, "source_id": r.record_id, "email": r.email("email"),
        "first_name": r.text("firstname"), "last_name": r.text("lastname"),
        "company": r.text("company"), "title": r.text("jobtitle"),
        "industry": r.text("industry"),
        "employees": r.parsed("numemployees", parse_employees),
        "country": r.text("country"), "lead_source": lead_source,
        "owner_id": r.text("hubspot_owner_id"), "owner_name": None, "status": lifecycle,
        "funnel_stage": funnel,
        "created_at": r.timestamp("createdate") or top["created_at"],
        "updated_at": r.first_timestamp("lastmodifieddate", "hs_lastmodifieddate")
        or top["updated_at"],
        "last_activity_at": r.timestamp("notes_last_updated"),
        "is_deleted": top["is_deleted"], "extra": extra,
    }
    record_out = construct_parsed(FunnelLead, values)
    return MapResult(record_out, r.warnings)


def map_deal(raw: Any, maps: StageMaps, catalog: HubSpotCatalog | Mapping[Any, Any] | None = None,
             writeback: WritebackConfig | None = None) -> MapResult:
    """One deal object → FunnelDeal. ``catalog`` (``HubSpotCatalog.from_pipelines``, built once
    per run) supplies stage labels and, when the deal lacks them, probability and closed/won
    flags. A raw pipelines page ``{"results": [...]}`` is accepted too, but is re-read per call."""
    return _map_deal(raw, maps, _as_catalog(catalog) if catalog is not None else None,
                     live_fields(writeback, SOURCE, with_score=False))


def deal_mapper(maps: StageMaps, catalog: HubSpotCatalog | Mapping[Any, Any] | None = None,
                writeback: WritebackConfig | None = None) -> Callable[[Any], MapResult]:
    """``map_deal`` bound to one config and catalog, which are read once, not for every
    record."""
    known = _as_catalog(catalog) if catalog is not None else None
    live = live_fields(writeback, SOURCE, with_score=False)
    return lambda raw: _map_deal(raw, maps, known, live)


def _map_deal(raw: Any, maps: StageMaps, catalog: HubSpotCatalog | None,
              live: LiveFields | None) -> MapResult:
    r, record = _reader(raw, "deal")
    top = _top(r, record)
    pipeline, stage = r.text("pipeline"), r.text("dealstage")
    known = catalog.stage(pipeline, stage) if catalog is not None else None
    if not r.has("dealstage"):
        r.warnings.append(missing_stage_warning(r.label(), "dealstage"))
    # Every field, in schema order: the record is built without re-ordering.
    values = {
        "source": SOURCE, "source_id": r.record_id, "name": r.text("dealname"),
        "amount": r.amount("amount"), "currency": r.text("deal_currency_code"),
        "home_amount": r.amount("amount_in_home_currency"),
        "pipeline": pipeline, "stage": stage, "stage_label": known.label if known else None,
        "funnel_stage": _deal_stage(r, maps, pipeline, stage, known),
        **_deal_state(r, pipeline, stage, known),
        "close_date": r.day("closedate"),
        "owner_id": r.text("hubspot_owner_id"), "owner_name": None, "account_id": None,
        "account_name": None,
        "created_at": r.timestamp("createdate") or top["created_at"],
        "updated_at": r.timestamp("hs_lastmodifieddate") or top["updated_at"],
        "last_activity_at": r.timestamp("notes_last_updated"),
        "stage_entered_at": entered_at(r, stage),
        "is_deleted": top["is_deleted"],
        "extra": {"forecast_category": r.text("hs_manual_forecast_category")
                  or r.text("hs_forecast_category"),
                  "lead_source": r.text("hs_analytics_source"), "type": r.text("dealtype")},
    }
    if live is not None:
        values["extra"]["live"] = live.read(r)
    record_out = construct_parsed(FunnelDeal, values)
    return MapResult(record_out, r.warnings)


def _as_catalog(catalog: HubSpotCatalog | Mapping[Any, Any]) -> HubSpotCatalog:
    if isinstance(catalog, HubSpotCatalog):
        return catalog
    if "results" in catalog:
        return HubSpotCatalog.from_pipelines(catalog)
    return HubSpotCatalog(catalog)


def _deal_stage(r: RecordReader, maps: StageMaps, pipeline: str | None, stage: str | None,
                known: CatalogStage | None) -> str | None:
    if stage is None:
        return None
    funnel = maps.hubspot_deal_stage(pipeline, stage)
    if funnel is None:
        label = f" ({known.label})" if known else ""
        key = pipeline or "default"
        key = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'
        r.warnings.append(unmapped_warning(
            r.label(), f"stage {stage!r}{label} in pipeline {pipeline or 'default'!r}",
            f"mapping.hubspot.deal_stages.{key}"))
    return funnel


def _deal_state(r: RecordReader, pipeline: str | None, stage: str | None,
                known: CatalogStage | None) -> dict[str, Any]:
    probability = r.parsed("hs_deal_stage_probability", parse_fraction_percent)
    if probability is None and known is not None:
        probability = known.probability
    closed, won = r.flag("hs_is_closed", None), r.flag("hs_is_closed_won", None)
    by_stage = stage_flags(pipeline, stage, known)
    if by_stage is not None:
        check_flags(r, stage, by_stage, {"hs_is_closed": closed, "hs_is_closed_won": won})
        closed, won = by_stage
    return {"probability": probability, "is_closed": bool(closed), "is_won": bool(won)}


def stage_changes_from_deal(raw: Any) -> list[StageChange]:
    """The stage path of a deal (or a contact's lifecycle path) from its
    ``hs_v2_date_entered_<stageId>`` properties (else the older forms, see
    ``hubspot_stages``; the v2 one wins when several hold a time), oldest first, each
    ``from_stage`` the stage entered before it. Entries without a valid time are left out
    (they were never entered)."""
    legacy = v1_kind(raw) if isinstance(raw, Mapping) else None
    r, _ = _reader(to_v3(raw, legacy) if legacy else raw, "deal")
    changes: list[StageChange] = []
    previous: str | None = None
    for at, stage in sorted((at, stage) for stage, (_, at) in stage_entries(r.values).items()):
        changes.append(StageChange(source=SOURCE, record_id=r.record_id, from_stage=previous,
                                   to_stage=stage, changed_at=at))
        previous = stage
    return changes


def map_owners(rows: list[dict[str, Any]]) -> list[CrmOwner]:
    """``GET /crm/v3/owners`` results (active and archived) → CrmOwner (archived = inactive)."""
    owners = []
    for row in rows:
        if row.get("id") is None:
            continue
        email = row.get("email")
        name = " ".join(p for p in (row.get("firstName"), row.get("lastName")) if p) or None
        owners.append(CrmOwner(id=str(row["id"]), email=email.strip().lower() if email else None,
                               name=name, active=not row.get("archived")))
    return owners


__all__ = [
    "BANT_PROPERTIES",
    "CONTACT_PROPERTIES",
    "DEAL_PROPERTIES",
    "HubSpotCatalog",
    "contact_mapper",
    "contact_properties",
    "deal_mapper",
    "deal_properties",
    "clear_first",
    "format_score",
    "map_owners",
    "map_contact",
    "map_deal",
    "map_pipelines",
    "parse_employees",
    "shape_of",
    "stage_changes_from_deal",
    "writeback_fields",
]
