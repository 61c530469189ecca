"""sObject Collections (`/composite/sobjects`, ≤200 rows, allOrNone) and the SF `touch` control.

Results come back one per input row, in order, inside HTTP 200 — failures included — exactly
as Salesforce answers. Injected row-lock faults (`UNABLE_TO_LOCK_ROW`) hit single rows.
"""

from __future__ import annotations

import re

from funnelsync.sandbox.common import Request, Response, json_response, sf_datetime
from funnelsync.sandbox.salesforce.api import sf_error
from funnelsync.sandbox.salesforce.schema import OPEN_STAGES
from funnelsync.sandbox.salesforce.write import (
    MAX_COLLECTION,
    RowError,
    _count_create,
    _object,
    apply_update,
    create_record,
    validate,
)
from funnelsync.sandbox.state import SandboxState

_ROLLED_BACK = RowError("ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request "
                        "was using AllOrNone header")
_LOCKED = RowError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")


def collection(state: SandboxState, req: Request, m: re.Match) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return sf_error(400, "JSON_PARSER_ERROR", "The request body needs a 'records' list")
    records = body["records"]
    if len(records) > MAX_COLLECTION:
        return sf_error(400, "EXCEEDED_ID_LIMIT",
                        "record limit reached. cannot submit more than 200 records into this call")
    creating = req.method == "POST"
    with state.lock:
        plans = [_plan(state, rec, creating, req.row_faults) for rec in records]
        failed = any(isinstance(p, RowError) for p in plans)
        if failed and body.get("allOrNone"):
            return json_response(200, [_result(None, p if isinstance(p, RowError) else
                                               _ROLLED_BACK, rec) for p, rec in
                                       zip(plans, records, strict=True)])
        now = state.now_ms()
        results = [_apply(state, plan, rec, creating, now) for plan, rec in
                   zip(plans, records, strict=True)]
        if not all(isinstance(p, RowError) for p in plans):
            state.bump()
    return json_response(200, results)


def _plan(state: SandboxState, rec: object, creating: bool,
          lock_faults: bool) -> RowError | tuple[str, dict | None, dict]:
    if not isinstance(rec, dict):
        return RowError("JSON_PARSER_ERROR", "Each record must be a JSON object")
    obj = _object(str((rec.get("attributes") or {}).get("type", "")))
    if obj is None:
        return RowError("INVALID_TYPE", "sObject type is missing or not supported in this org")
    row = None
    if not creating:
        rid = rec.get("id") or rec.get("Id")
        if not rid:
            return RowError("MISSING_ARGUMENT", "Id not specified in an update call")
        row = state.data.sf[obj].get(str(rid))
        if row is None:
            return RowError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {rid}")
        if row["IsDeleted"]:
            return RowError("ENTITY_IS_DELETED", "entity is deleted")
    if lock_faults and state.fault_rng.random() < 0.5:
        return _LOCKED
    try:
        return obj, row, validate(state, obj, rec, creating)
    except RowError as exc:
        return exc


def _apply(state: SandboxState, plan: RowError | tuple, rec: object, creating: bool,
           now: int) -> dict[str, object]:
    if isinstance(plan, RowError):
        return _result(None, plan, rec)
    obj, row, values = plan
    counters = state.counters["salesforce"]
    if creating:
        rid = create_record(state, obj, values, now)
        _count_create(state, obj)
        return {"id": rid, "success": True, "errors": []}
    apply_update(state, obj, row, values, now)
    counters.records_written += 1
    return {"id": row["Id"], "success": True, "errors": []}


def _result(rid: str | None, error: RowError, rec: object) -> dict[str, object]:
    if rid is None and isinstance(rec, dict):
        rid = rec.get("id") or rec.get("Id")
    return {"id": rid, "success": False, "errors": [error.as_json()]}


def touch(state: SandboxState, obj: str, count: int) -> dict[str, object]:
    """Change `count` live Leads (Status) or Opportunities (stage or amount) at one timestamp."""
    if obj not in ("Lead", "Opportunity"):
        raise ValueError("salesforce touch supports the objects Lead and Opportunity")
    with state.lock:
        live = [r for r in state.data.sf[obj].values() if not r["IsDeleted"]]
        chosen = state.pick_rng.sample(live, min(count, len(live)))
        now = state.now_ms()
        for row in chosen:
            apply_update(state, obj, row, _touch_change(state, obj, row), now)
        state.bump()
        return {"ids": [r["Id"] for r in chosen], "modified_at": sf_datetime(now)}


def _touch_change(state: SandboxState, obj: str, row: dict) -> dict[str, object]:
    rng = state.pick_rng
    if obj == "Lead":
        options = [s for s in ("Open - Not Contacted", "Working - Contacted",
                               "Closed - Not Converted") if s != row["Status"]]
        return {"Status": rng.choice(options)}
    if row["IsClosed"] or rng.random() < 0.5:
        return {"Amount": float(rng.randrange(20, 2500) * 100)}
    later = OPEN_STAGES[OPEN_STAGES.index(row["StageName"]) + 1:] + ("Closed Won", "Closed Lost")
    return {"StageName": rng.choice(later)}
