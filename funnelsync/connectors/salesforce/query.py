"""Pure helpers for Salesforce pulls: field lists, SOQL text, URL-length splits, Bulk CSV rows.

No I/O here; the connector feeds these the describe results and the raw responses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from funnelsync.connectors.paging import AfterKey

OBJECTS: dict[str, str] = {"leads": "Lead", "deals": "Opportunity"}
CURSOR_FIELD = "SystemModstamp"

DEFAULT_FIELDS: dict[str, list[str]] = {
    "Lead": ["Id", "FirstName", "LastName", "Email", "Company", "Title", "Industry",
             "NumberOfEmployees", "Country", "LeadSource", "Status", "OwnerId", "Owner.Name",
             "CreatedDate", "LastModifiedDate", "SystemModstamp", "LastActivityDate",
             "IsDeleted", "IsConverted", "Rating", "Funnel_Stage__c", "Funnel_Score__c"],
    "Opportunity": ["Id", "Name", "Amount", "CurrencyIsoCode", "StageName", "Probability",
                    "IsClosed", "IsWon", "CloseDate", "OwnerId", "Owner.Name", "AccountId",
                    "Account.Name", "CreatedDate", "LastModifiedDate", "SystemModstamp",
                    "LastActivityDate", "LastStageChangeDate", "IsDeleted", "ForecastCategory",
                    "LeadSource", "Type", "Funnel_Stage__c"],
    "OpportunityHistory": ["Id", "OpportunityId", "StageName", "CreatedDate", "IsDeleted"],
}
CATALOG_QUERIES: tuple[str, ...] = (
    "SELECT Id, MasterLabel, ApiName, IsActive, IsClosed, IsWon, DefaultProbability, "
    "ForecastCategoryName, SortOrder FROM OpportunityStage ORDER BY SortOrder",
    "SELECT Id, MasterLabel, ApiName, IsConverted, IsDefault, SortOrder FROM LeadStatus "
    "ORDER BY SortOrder",
)

# Salesforce rejects REST URIs longer than 16,384 bytes; keep a margin for the host name.
MAX_QUERY_URL = 16_000
_URL_PREFIX_ALLOWANCE = 120  # "https://<instance>/services/data/vNN.0/queryAll/?q="
_NUMBER_TYPES = {"double": float, "currency": float, "percent": float, "int": int, "long": int}


def soql_datetime(value: datetime) -> str:
    """A SOQL dateTime literal, floored to the second (the documented literal has no
    fractions; flooring can only re-read rows, never skip them)."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_instant(value: datetime) -> str:
    """A SOQL dateTime literal naming ``value`` exactly, to the millisecond. Salesforce stamps
    are whole seconds, so for them this is the documented form without fractions."""
    value = _utc(value)
    if value.microsecond // 1000 == 0:
        return soql_datetime(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_sf_datetime(value: str | None) -> datetime | None:
    """``2026-11-20T08:00:00.000+0000`` (REST) or ``...Z`` (Bulk) as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def available_fields(wanted: Iterable[str], describe: Mapping[str, Any]) -> list[str]:
    """``wanted`` ∩ the object's fields, in the wanted order. ``Rel.Field`` stays when the
    object has a lookup whose relationshipName is ``Rel`` (or, failing that, a ``RelId``)."""
    fields = {f["name"]: f for f in describe.get("fields", [])}
    relationships = {f.get("relationshipName") for f in fields.values()}
    kept: list[str] = []
    for name in dict.fromkeys(wanted):
        rel = name.split(".", 1)[0]
        if name in fields or ("." in name and (rel in relationships or f"{rel}Id" in fields)):
            kept.append(name)
    return kept


def build_select(fields: list[str], sobject: str, start: AfterKey | None,
                 cursor: str = CURSOR_FIELD) -> str:
    """``SELECT .. FROM X [WHERE ..] ORDER BY cursor, Id``: the rows after ``start`` in that
    order (see :func:`key_filter`), every row without it."""
    where = f" WHERE {key_filter(start, cursor)}" if start is not None else ""
    return f"SELECT {', '.join(fields)} FROM {sobject}{where} ORDER BY {cursor}, Id"


def key_filter(start: AfterKey, cursor: str = CURSOR_FIELD) -> str:
    """The rows after ``start`` in (cursor, Id) order. Without an id: ``cursor >= t`` floored to
    the second (a closed start loses no row sharing the boundary time); with one:
    ``cursor > t OR (cursor = t AND Id > 'id')``, so no row at ``t`` is read twice."""
    if not start.id:
        return f"{cursor} >= {soql_datetime(start.stamp)}"
    stamp = soql_instant(start.stamp)
    return f"{cursor} > {stamp} OR ({cursor} = {stamp} AND Id > {soql_quote(start.id)})"


def query_url_length(soql: str) -> int:
    return _URL_PREFIX_ALLOWANCE + len(quote_plus(soql))


def split_for_url(fields: list[str], sobject: str, start: AfterKey | None,
                  limit: int = MAX_QUERY_URL) -> tuple[list[str], list[str]]:
    """``(query_fields, overflow)``: the fields that fit in one query URL, and the rest.

    The query keeps Id, the cursor, IsDeleted and relationship fields (which the by-Id
    retrieve cannot return); plain overflow fields are fetched per page with the sObject
    Collections retrieve (``POST composite/sobjects/X``, ids and fields in the body).
    """
    required = [f for f in fields if f in ("Id", CURSOR_FIELD, "IsDeleted") or "." in f]
    chosen = list(required)
    overflow: list[str] = []
    for name in fields:
        if name in required:
            continue
        if query_url_length(build_select([*chosen, name], sobject, start)) <= limit:
            chosen.append(name)
        else:
            overflow.append(name)
    return [f for f in fields if f in chosen], overflow


def page_cursor(records: list[dict[str, Any]], cursor: str = CURSOR_FIELD) -> datetime | None:
    """The highest cursor value in a page."""
    values = [r.get(cursor) for r in records if r.get(cursor)]
    return parse_sf_datetime(max(values)) if values else None


def last_id(records: list[dict[str, Any]]) -> str | None:
    """The Id of a page's last row: with the page's cursor, the key of an ordered page's end."""
    return str(records[-1]["Id"]) if records else None


def _convert(value: str, ftype: str | None) -> Any:
    if value == "":
        return None
    if ftype == "boolean":
        return value.lower() == "true"
    if ftype in _NUMBER_TYPES:
        return _NUMBER_TYPES[ftype](value)
    if ftype == "datetime" and value.endswith("Z"):
        return value[:-1] + "+0000"  # REST spells UTC as +0000
    return value


def _nest(record: dict[str, Any], path: list[str], value: Any, types: Mapping[str, str]) -> None:
    rel = path[0]
    child = record.get(rel)
    if child is None:
        child = {"attributes": {"type": types.get(f"{rel}.", rel)}}
        record[rel] = child
    if len(path) == 2:
        child[path[1]] = value
    else:
        _nest(child, path[1:], value, types)


def _empty_relationships(record: dict[str, Any]) -> None:
    """A lookup whose columns are all empty is ``null`` in REST; make it so."""
    for key, value in list(record.items()):
        if isinstance(value, dict) and key != "attributes":
            _empty_relationships(value)
            if all(v is None for k, v in value.items() if k != "attributes"):
                record[key] = None


def csv_records(text: str, sobject: str, types: Mapping[str, str],
                api_version: str) -> Iterator[dict[str, Any]]:
    """Bulk 2.0 CSV rows as REST-shaped dicts: typed per describe, ``Owner.Name`` nested.

    ``types`` maps field name to describe type, and ``"Rel."`` to the related object type.
    """
    for row in csv.DictReader(io.StringIO(text)):
        record: dict[str, Any] = {"attributes": {
            "type": sobject,
            "url": f"/services/data/v{api_version}/sobjects/{sobject}/{row.get('Id', '')}"}}
        for column, raw in row.items():
            if "." in column:
                _nest(record, column.split("."), None if raw == "" else raw, types)
            else:
                record[column] = _convert(raw, types.get(column))
        _empty_relationships(record)
        yield record


def describe_summary(describe: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a describe that reads use: each field's name, type and relationship (its
    name and the objects it refers to)."""
    keep = ("name", "type", "relationshipName", "referenceTo")
    return {"name": describe.get("name"),
            "fields": [{k: f.get(k) for k in keep} for f in describe.get("fields") or []]}


def field_types(describe: Mapping[str, Any]) -> dict[str, str]:
    """Field name → describe type, plus ``"Rel."`` → the lookup's first referenced object."""
    types: dict[str, str] = {}
    for f in describe.get("fields", []):
        types[f["name"]] = f.get("type", "string")
        if f.get("relationshipName") and f.get("referenceTo"):
            types[f"{f['relationshipName']}."] = f["referenceTo"][0]
    return types


def soql_quote(value: str) -> str:
    """A SOQL string literal, quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_in(ids: Iterable[str]) -> str:
    """``('a','b')`` with quotes escaped (ids never contain them; still, never trust input)."""
    return "(" + ", ".join(soql_quote(i) for i in ids) + ")"
