"""HubSpot CRM v3 objects → the funnel schema, and funnel values → HubSpot property updates.

Input is each element of ``results`` exactly as the v3 list/search endpoints return it:
top-level ``id``, ``createdAt``, ``updatedAt``, ``archived`` and ``properties``, where every
value is a string or null (numbers, booleans and times must be parsed; times come as ISO with
``Z`` or as epoch milliseconds). ``dealstage`` and ``pipeline`` are ids.

Contact (``map_contact``, request ``CONTACT_PROPERTIES``) → ``FunnelLead``:
  source_id←id (else hs_object_id), email←email (trimmed, lower case), first_name←firstname,
  last_name←lastname, company←company, title←jobtitle, industry←industry,
  employees←numberofemployees (a number; an enumeration band such as "25-50" or "1000+" gives
  its lower bound), country←country, lead_source←hs_analytics_source,
  owner_id←hubspot_owner_id, status←lifecyclestage, funnel_stage←lifecyclestage via
  [mapping.hubspot.lifecycle_stage], created_at←createdate (else createdAt),
  updated_at←lastmodifieddate (else hs_lastmodifieddate, else updatedAt),
  last_activity_at←notes_last_updated, is_deleted←archived.
  extra: lead_status←hs_lead_status, email_opens←hs_email_open, email_clicks←hs_email_click,
  form_submissions←num_conversion_events, page_views←hs_analytics_num_page_views,
  lead_source←hs_analytics_source; rating, meetings, is_converted are null (no standard
  properties); bant←budget, authority, need, timeline (custom properties, when present).

Deal (``map_deal``, request ``deal_properties(...)``) → ``FunnelDeal``:
  source_id←id (else hs_object_id), name←dealname, amount←amount, currency←deal_currency_code,
  pipeline←pipeline, stage←dealstage, stage_label←the catalog's label,
  funnel_stage←dealstage via [mapping.hubspot.deal_stages.<pipeline>],
  probability←hs_deal_stage_probability ("0.2" → 20.0; else the catalog's),
  is_closed←hs_is_closed (else catalog), is_won←hs_is_closed_won (else catalog),
  close_date←closedate (its UTC date), owner_id←hubspot_owner_id, created_at←createdate (else
  createdAt), updated_at←hs_lastmodifieddate (else updatedAt),
  last_activity_at←notes_last_updated, stage_entered_at←hs_v2_date_entered_<dealstage>,
  is_deleted←archived; account_id/owner_name stay null (they need other API calls).
  extra: forecast_category←hs_forecast_category, lead_source←hs_analytics_source,
  type←dealtype.

With a WritebackConfig both put ``extra["live"] = {"stage": ..., "score": ...}``: the current
values of the [writeback.hubspot] properties (funnel_stage, funnel_score), so the sync never
re-sends an unchanged value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from funnelsync.config.models import WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot_catalog import HubSpotCatalog, map_pipelines
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
from funnelsync.mapping.result import MapResult, build_model, unmapped_warning
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.mapping.writeback import WritebackTarget, live_values, with_writeback

SOURCE = "hubspot"
ENTERED_PREFIX = "hs_v2_date_entered_"

CONTACT_PROPERTIES: tuple[str, ...] = (
    "email", "firstname", "lastname", "company", "jobtitle", "industry", "numberofemployees",
    "country", "lifecyclestage", "hs_lead_status", "hubspot_owner_id", "createdate",
    "lastmodifieddate", "hs_lastmodifieddate", "notes_last_updated", "hs_email_open",
    "hs_email_click", "num_conversion_events", "hs_analytics_num_page_views",
    "hs_analytics_source", "hs_object_id",
)
DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname", "amount", "deal_currency_code", "pipeline", "dealstage", "closedate",
    "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "notes_last_updated",
    "hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability", "hs_forecast_category",
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
    record = require_record(raw, SOURCE, kind)
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


def _top(r: RecordReader, record: Mapping[str, Any]) -> dict[str, Any]:
    """Values from the top level of the object, used when the properties lack them."""
    return {
        "created_at": r.parsed("createdAt", parse_datetime, record.get("createdAt")),
        "updated_at": r.parsed("updatedAt", parse_datetime, record.get("updatedAt")),
        "is_deleted": bool(r.parsed("archived", parse_bool, record.get("archived"))),
    }


def parse_employees(value: Any) -> int | None:
    """A head count, or the lower bound of HubSpot's enumeration bands ("25-50", "1000+")."""
    try:
        return parse_int(value)
    except ValueError:
        band = _BAND.fullmatch(value.strip()) if isinstance(value, str) else None
        if band is None:
            raise
        return int(band.group(1).replace(",", ""))


def map_contact(raw: Any, maps: StageMaps,
                writeback: WritebackConfig | None = None) -> MapResult:
    """One contact object → FunnelLead (see the module docstring for the field list)."""
    r, record = _reader(raw, "contact")
    top = _top(r, record)
    lifecycle = r.text("lifecyclestage")
    lead_source = r.text("hs_analytics_source")
    bant = {k: r.text(p) for k, p in BANT_PROPERTIES.items() if r.has(p)}
    extra = {
        "lead_status": r.text("hs_lead_status"), "rating": None,
        "email_opens": r.integer("hs_email_open"), "email_clicks": r.integer("hs_email_click"),
        "form_submissions": r.integer("num_conversion_events"),
        "page_views": r.integer("hs_analytics_num_page_views"), "meetings": None,
        "lead_source": lead_source, "is_converted": None,
        **({"bant": bant} if bant else {}), **live_values(r, writeback, with_score=True),
    }
    funnel = maps.lifecycle_stage.get(lifecycle) if lifecycle else None
    if lifecycle and funnel is None:
        r.warnings.append(unmapped_warning(r.label(), f"lifecyclestage {lifecycle!r}",
                                           "mapping.hubspot.lifecycle_stage"))
    values = {
        "source": SOURCE, "source_id": r.record_id, "email": r.email("email"),
        "first_name": r.text("firstname"), "last_name": r.text("lastname"),
        "company": r.text("company"), "title": r.text("jobtitle"),
        "industry": r.text("industry"),
        "employees": r.parsed("numberofemployees", parse_employees),
        "country": r.text("country"), "lead_source": lead_source,
        "owner_id": r.text("hubspot_owner_id"), "status": lifecycle, "funnel_stage": funnel,
        "created_at": r.timestamp("createdate") or top["created_at"],
        "updated_at": r.first_timestamp("lastmodifieddate", "hs_lastmodifieddate")
        or top["updated_at"],
        "last_activity_at": r.timestamp("notes_last_updated"),
        "is_deleted": top["is_deleted"], "extra": extra,
    }
    record_out = build_model(FunnelLead, values, source=SOURCE, kind="contact",
                             record_id=r.record_id)
    return MapResult(record_out, r.warnings)


def map_deal(raw: Any, maps: StageMaps, catalog: HubSpotCatalog | Mapping[Any, Any] | None = None,
             writeback: WritebackConfig | None = None) -> MapResult:
    """One deal object → FunnelDeal. ``catalog`` (``HubSpotCatalog.from_pipelines``, built once
    per run) supplies stage labels and, when the deal lacks them, probability and closed/won
    flags. A raw pipelines page ``{"results": [...]}`` is accepted too, but is re-read per call."""
    r, record = _reader(raw, "deal")
    top = _top(r, record)
    pipeline, stage = r.text("pipeline"), r.text("dealstage")
    known = _as_catalog(catalog).stage(pipeline, stage) if catalog is not None else None
    values = {
        "source": SOURCE, "source_id": r.record_id, "name": r.text("dealname"),
        "amount": r.decimal("amount"), "currency": r.text("deal_currency_code"),
        "pipeline": pipeline, "stage": stage, "stage_label": known.label if known else None,
        "funnel_stage": _deal_stage(r, maps, pipeline, stage, known),
        **_deal_state(r, known), "close_date": r.day("closedate"),
        "owner_id": r.text("hubspot_owner_id"),
        "created_at": r.timestamp("createdate") or top["created_at"],
        "updated_at": r.timestamp("hs_lastmodifieddate") or top["updated_at"],
        "last_activity_at": r.timestamp("notes_last_updated"),
        "stage_entered_at": r.timestamp(f"{ENTERED_PREFIX}{stage}") if stage else None,
        "is_deleted": top["is_deleted"],
        "extra": {"forecast_category": r.text("hs_forecast_category"),
                  "lead_source": r.text("hs_analytics_source"), "type": r.text("dealtype"),
                  **live_values(r, writeback, with_score=False)},
    }
    record_out = build_model(FunnelDeal, values, source=SOURCE, kind="deal",
                             record_id=r.record_id)
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


def _deal_state(r: RecordReader, known: CatalogStage | None) -> dict[str, Any]:
    probability = r.parsed("hs_deal_stage_probability", parse_fraction_percent)
    closed, won = r.flag("hs_is_closed", None), r.flag("hs_is_closed_won", None)
    if known is not None:
        probability = known.probability if probability is None else probability
        closed = known.is_closed if closed is None else closed
        won = known.is_won if won is None else won
    return {"probability": probability, "is_closed": bool(closed), "is_won": bool(won)}


def stage_changes_from_deal(raw: Any) -> list[StageChange]:
    """The stage path of a deal (or a contact's lifecycle path) from its
    ``hs_v2_date_entered_<stageId>`` properties, oldest first, each ``from_stage`` the stage
    entered before it. Entries without a valid time are left out (they were never entered)."""
    r, _ = _reader(raw, "deal")
    entries: list[tuple[Any, str]] = []
    for name in r.values:
        if isinstance(name, str) and name.startswith(ENTERED_PREFIX):
            try:
                at = parse_datetime(r.values[name])
            except ValueError:
                continue
            if at is not None and len(name) > len(ENTERED_PREFIX):
                entries.append((at, name[len(ENTERED_PREFIX):]))
    changes: list[StageChange] = []
    previous: str | None = None
    for at, stage in sorted(entries):
        changes.append(StageChange(source=SOURCE, record_id=r.record_id, from_stage=previous,
                                   to_stage=stage, changed_at=at))
        previous = stage
    return changes


def writeback_fields(kind: Literal["leads", "deals"], stage: str | None, score: float | None,
                     writeback: WritebackConfig, *, owner_id: str | None = None,
                     status: str | None = None) -> dict[str, str]:
    """Computed stage/score (and, for routed or re-entering contacts, owner and lifecycle
    stage) → HubSpot property values (strings) for a batch update.

    None means "leave the property as it is"; a property configured as "" is never written;
    scores are written for contacts only, with at most one decimal ("72", "72.5"); owner →
    hubspot_owner_id, status → lifecyclestage (contacts only; see ``clear_first``)."""
    wb = writeback.hubspot
    target = WritebackTarget(wb.stage_property, wb.score_property, owner="hubspot_owner_id",
                             status="lifecyclestage", score_value=format_score, owner_value=str)
    return target.fields(kind, stage, score, owner_id=owner_id, status=status)


def clear_first(fields: Mapping[str, Any]) -> dict[str, str]:
    """Properties to blank in an earlier update: HubSpot keeps a later lifecyclestage when a
    write names an earlier one, so a re-entry first clears it, then sets the new value."""
    return {"lifecyclestage": ""} if fields.get("lifecyclestage") else {}


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


def format_score(score: float) -> str:
    """A score as HubSpot number text: one decimal at most, no trailing zeros."""
    text = f"{round(float(score), 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


__all__ = [
    "BANT_PROPERTIES",
    "CONTACT_PROPERTIES",
    "DEAL_PROPERTIES",
    "HubSpotCatalog",
    "contact_properties",
    "deal_properties",
    "clear_first",
    "format_score",
    "map_owners",
    "map_contact",
    "map_deal",
    "map_pipelines",
    "parse_employees",
    "stage_changes_from_deal",
    "writeback_fields",
]
