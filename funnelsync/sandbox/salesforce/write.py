"""Salesforce writes: sObject create/update, sObject Collections, and the `touch` control.

Every write validates each field as Salesforce does (unknown field, read-only field, restricted
picklist, inactive owner, required field), then bumps SystemModstamp/LastModifiedDate to the
server's now. A StageName, Amount or CloseDate change on an Opportunity appends an
OpportunityHistory row; a stage change also moves LastStageChangeDate and the catalog fields.
"""

from __future__ import annotations

import re

from funnelsync.sandbox.common import (
    Request,
    Response,
    json_response,
    parse_datetime_ms,
    sf_date,
    sf_datetime,
    sf_id,
)
from funnelsync.sandbox.data.dataset import history_row
from funnelsync.sandbox.salesforce.api import OBJECT_NAMES, api_user_id, not_found, sf_error
from funnelsync.sandbox.salesforce.schema import (
    CLOSED_TASK_STATUSES,
    CORPORATE_CURRENCY,
    CREATEABLE,
    FIELD_INDEX_CI,
    KEY_PREFIX,
    PICKLISTS,
    STAGE_INFO,
    Field,
)
from funnelsync.sandbox.state import SandboxState

MAX_COLLECTION = 200
_REQUIRED = {"Lead": ("LastName", "Company"), "Opportunity": ("Name", "StageName", "CloseDate"),
             "Account": ("Name",), "Task": (), "Contact": ("LastName",)}
_DEFAULTS = {"Lead": {"Status": "Open - Not Contacted", "IsConverted": False},
             "Task": {"Status": "Not Started", "Priority": "Normal"},
             "Opportunity": {"CurrencyIsoCode": CORPORATE_CURRENCY},  # the user's currency
             "Account": {}, "Contact": {}}
_HISTORY_FIELDS = ("StageName", "Amount", "CloseDate")


class RowError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def as_json(self) -> dict[str, object]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


# -- validation -------------------------------------------------------------------------------
def _coerce(state: SandboxState, obj: str, f: Field, value: object) -> object:
    if value is None or value == "":
        if not f.nillable:
            raise RowError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]",
                           [f.name])
        return None
    if f.type in ("double", "currency", "percent", "int"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise RowError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {f.type} "
                           f"from VALUE_STRING value {value}", [f.name]) from None
        return int(number) if f.type == "int" else number
    if f.type == "boolean":
        return bool(value)
    if f.type in ("date", "datetime"):
        return _coerce_time(f, value)
    if f.type == "reference":
        return _check_reference(state, obj, f, str(value))
    allowed = PICKLISTS.get((obj, f.name))
    if allowed and value not in allowed:
        raise RowError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                       f"{f.name}: bad value for restricted picklist field: {value}", [f.name])
    return str(value)


def _coerce_time(f: Field, value: object) -> str:
    ms = parse_datetime_ms(str(value))
    if ms is None:
        raise RowError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                       f"{f.name}: value not of required type: {value}", [f.name])
    return sf_date(ms) if f.type == "date" else sf_datetime(ms)


def _check_reference(state: SandboxState, obj: str, f: Field, value: str) -> str:
    target = state.by_id.get(value)
    target_obj = next((o for o, p in KEY_PREFIX.items() if value.startswith(p)), None)
    if target is None or target_obj not in f.reference_to or target.get("IsDeleted"):
        raise RowError("INVALID_CROSS_REFERENCE_KEY",
                       f"invalid cross reference id: {value}", [f.name])
    if target_obj == "User" and not target["IsActive"]:
        raise RowError("INACTIVE_OWNER_OR_USER",
                       f"operation performed with inactive user [{value}] as owner of "
                       f"{obj.lower()}", [f.name])
    return value


def validate(state: SandboxState, obj: str, values: dict, creating: bool) -> dict[str, object]:
    """Canonical field name -> coerced value; RowError on the first problem."""
    index = FIELD_INDEX_CI[obj]
    out: dict[str, object] = {}
    for name, value in values.items():
        if name in ("attributes", "Id", "id") and not creating:
            continue
        if name == "attributes":
            continue
        f = index.get(name.lower())
        if f is None:
            raise RowError("INVALID_FIELD",
                           f"No such column '{name}' on sobject of type {obj}", [name])
        if not f.updateable:
            raise RowError("INVALID_FIELD_FOR_INSERT_UPDATE",
                           f"Unable to create/update fields: {f.name}. Please check the security "
                           "settings of this field and verify that it is read/write for your "
                           "profile or permission set.", [f.name])
        out[f.name] = _coerce(state, obj, f, value)
    if creating:
        missing = [n for n in _REQUIRED[obj] if out.get(n) is None]
        if missing:
            raise RowError("REQUIRED_FIELD_MISSING",
                           f"Required fields are missing: [{', '.join(missing)}]", missing)
    return out


# -- applying ---------------------------------------------------------------------------------
def apply_update(state: SandboxState, obj: str, row: dict, changes: dict, now_ms: int) -> None:
    stamp = sf_datetime(now_ms)
    history_due = obj == "Opportunity" and any(
        k in changes and changes[k] != row.get(k) for k in _HISTORY_FIELDS)
    stage_changed = obj == "Opportunity" and "StageName" in changes \
        and changes["StageName"] != row["StageName"]
    row.update(changes)
    if stage_changed:
        _, prob, closed, won, forecast = STAGE_INFO[row["StageName"]]
        if "Probability" not in changes:
            row["Probability"] = float(prob)
        row.update(IsClosed=closed, IsWon=won, ForecastCategoryName=forecast,
                   LastStageChangeDate=stamp)
    if obj == "Task":
        row["IsClosed"] = row["Status"] in CLOSED_TASK_STATUSES
    if obj in ("Lead", "Contact") and ("FirstName" in changes or "LastName" in changes):
        row["Name"] = f"{row.get('FirstName') or ''} {row['LastName']}".strip()
    row["LastModifiedDate"] = row["SystemModstamp"] = stamp
    if history_due:
        history = state.data.sf["OpportunityHistory"]
        hid = sf_id("008", len(history) + 1)
        history[hid] = history_row(hid, row, row["StageName"], now_ms)
        history[hid]["CreatedById"] = api_user_id()


def create_record(state: SandboxState, obj: str, values: dict, now_ms: int) -> str:
    prefix = KEY_PREFIX[obj]
    number = state.data.counters.get(prefix, len(state.data.sf[obj]) + 1)
    state.data.counters[prefix] = number + 1
    rid = sf_id(prefix, number)
    stamp = sf_datetime(now_ms)
    row: dict[str, object] = {f.name: None for f in FIELD_INDEX_CI[obj].values()}
    row.update(Id=rid, IsDeleted=False, CreatedDate=stamp, OwnerId=api_user_id())
    row.update(_DEFAULTS[obj])
    state.data.sf[obj][rid] = row
    state.by_id[rid] = row
    # Applied as an update of the empty row, so stage catalog fields and history get filled.
    apply_update(state, obj, row, {**_DEFAULTS[obj], **values}, now_ms)
    return rid


# -- endpoints --------------------------------------------------------------------------------
def _object(name: str) -> str | None:
    obj = OBJECT_NAMES.get(name.lower())
    return obj if obj in CREATEABLE else None


def _target(m: re.Match, req: Request) -> tuple[str, dict] | Response:
    """The writable object named in the URL and the JSON body, or the answer refusing them."""
    obj = _object(m["obj"])
    body = req.json()
    if obj is None:
        return not_found()
    if not isinstance(body, dict):
        return sf_error(400, "JSON_PARSER_ERROR", "bad body")
    return obj, body


def _rejected(exc: RowError) -> Response:
    return json_response(400, [{"message": exc.message, "errorCode": exc.code,
                                "fields": exc.fields}])


def update_one(state: SandboxState, req: Request, m: re.Match) -> Response:
    target = _target(m, req)
    if isinstance(target, Response):
        return target
    obj, body = target
    with state.lock:
        row = state.data.sf[obj].get(m["id"])
        if row is None or row["IsDeleted"]:
            return not_found()
        try:
            changes = validate(state, obj, body, creating=False)
        except RowError as exc:
            return _rejected(exc)
        apply_update(state, obj, row, changes, state.now_ms())
        state.counters["salesforce"].records_written += 1
        state.bump()
    return Response(204, b"")


def delete_one(state: SandboxState, req: Request, m: re.Match) -> Response:
    """``DELETE /sobjects/{type}/{id}``: the record goes to the recycle bin (``IsDeleted``,
    visible to ``queryAll`` only); 204, or 404 ``ENTITY_IS_DELETED`` when already there."""
    obj = _object(m["obj"])
    with state.lock:
        row = state.data.sf[obj].get(m["id"]) if obj else None
        if row is None:
            return not_found()
        if row["IsDeleted"]:
            return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted")
        row["IsDeleted"] = True
        row["LastModifiedDate"] = row["SystemModstamp"] = sf_datetime(state.now_ms())
        state.bump()
    return Response(204, b"")


def create_one(state: SandboxState, req: Request, m: re.Match) -> Response:
    target = _target(m, req)
    if isinstance(target, Response):
        return target
    obj, body = target
    with state.lock:
        try:
            values = validate(state, obj, body, creating=True)
        except RowError as exc:
            return _rejected(exc)
        rid = create_record(state, obj, values, state.now_ms())
        _count_create(state, obj)
        state.bump()
    return json_response(201, {"id": rid, "success": True, "errors": []})


def _count_create(state: SandboxState, obj: str) -> None:
    counters = state.counters["salesforce"]
    counters.records_created += 1
    if obj == "Task":
        counters.tasks_created += 1
