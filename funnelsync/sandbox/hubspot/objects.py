"""HubSpot CRM v3 object endpoints: list, get, create, update, archive, batch read/create/update.

List pages are cached as bytes per data version (the benchmark's hot path). Batch calls take at
most 100 inputs; unknown ids give HTTP 207 with `errors`, an unknown or read-only property fails
the whole batch with 400 (as HubSpot does).
"""

from __future__ import annotations

import bisect
import re

from funnelsync.sandbox.common import Request, Response, dumps, hs_datetime, json_response
from funnelsync.sandbox.hubspot.records import (
    OBJECT_ALIASES,
    PropertyProblem,
    hs_error,
    new_record,
    not_found,
    property_error,
    render,
    split_param,
    validate,
    wanted,
)
from funnelsync.sandbox.hubspot.records import apply as apply_values
from funnelsync.sandbox.state import SandboxState

MAX_LIST = 100
MAX_BATCH = 100
TASK_TO_DEAL = 216
TASK_TO_CONTACT = 204


def _obj(m: re.Match) -> str | None:
    return OBJECT_ALIASES.get(m["obj"])


def sorted_ids(state: SandboxState, obj: str, archived: bool) -> list[int]:
    key = ("hs_ids", obj, archived, state.version)
    ids = state.cache.get(key)
    if ids is None:
        ids = state.cache[key] = sorted(int(r["id"]) for r in state.data.hs[obj].values()
                                        if r["archived"] == archived)
    return ids  # type: ignore[return-value]


def list_objects(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = _obj(m)
    if obj is None:
        return not_found()
    try:
        limit = int(req.arg("limit") or 10)
        after = int(req.arg("after") or 0)
    except ValueError:
        return hs_error(400, "VALIDATION_ERROR", "limit and after must be integers")
    if not 1 <= limit <= MAX_LIST:
        return hs_error(400, "VALIDATION_ERROR",
                        f"limit must be between 1 and {MAX_LIST}, got {limit}")
    archived = (req.arg("archived") or "false").lower() == "true"
    names = wanted(obj, split_param(req.query.get("properties")))
    assoc = split_param(req.query.get("associations"))
    with state.lock:
        key = ("hs_list", obj, after, limit, names, tuple(assoc), archived,
               req.headers.get("host"))
        body = state.page(key, lambda: _list_page(state, req, obj, after, limit, archived,
                                                  names, assoc))
    return Response(200, body)


def _list_page(state: SandboxState, req: Request, obj: str, after: int, limit: int,
               archived: bool, names: tuple[str, ...], assoc: list[str]) -> bytes:
    ids = sorted_ids(state, obj, archived)
    start = bisect.bisect_left(ids, after)
    chunk = ids[start: start + limit]
    rows = state.data.hs[obj]
    page: dict[str, object] = {
        "results": [render(state, obj, rows[str(i)], names, assoc) for i in chunk]}
    if start + limit < len(ids):
        nxt = str(ids[start + limit])
        host = req.headers.get("host", "127.0.0.1")
        page["paging"] = {"next": {"after": nxt, "link":
                                   f"http://{host}/crm/v3/objects/{obj}?after={nxt}"}}
    return dumps(page)


def get_object(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = _obj(m)
    archived = (req.arg("archived") or "false").lower() == "true"
    with state.lock:
        rec = state.data.hs[obj].get(m["id"]) if obj else None
        if rec is None or rec["archived"] != archived:
            return not_found()
        names = wanted(obj, split_param(req.query.get("properties")))  # type: ignore[arg-type]
        assoc = split_param(req.query.get("associations"))
        return json_response(200, render(state, obj, rec, names, assoc))  # type: ignore[arg-type]


def create_object(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = _obj(m)
    body = req.json()
    if obj is None or not isinstance(body, dict):
        return not_found() if obj is None else hs_error(400, "VALIDATION_ERROR", "bad body")
    with state.lock:
        try:
            values = validate(state, obj, body.get("properties", {}), None)
            deal_ids = _association_targets(state, obj, body.get("associations") or [])
        except PropertyProblem as exc:
            return property_error(exc)
        rec = _create(state, obj, values, deal_ids)
        state.bump()
        return json_response(201, render(state, obj, rec, wanted(obj, list(values))))


def _association_targets(state: SandboxState, obj: str, specs: list) -> set[str]:
    """Deal ids a new task is associated with (type 216); other associations are refused."""
    ids = set()
    for spec in specs:
        to_id = str((spec.get("to") or {}).get("id", "")) if isinstance(spec, dict) else ""
        types = [t.get("associationTypeId") for t in spec.get("types", [])] \
            if isinstance(spec, dict) else []
        if obj == "tasks" and TASK_TO_CONTACT in types and to_id in state.data.hs["contacts"]:
            ids.add(f"contact:{to_id}")  # task -> contact (lead tasks)
            continue
        if obj != "tasks" or TASK_TO_DEAL not in types or to_id not in state.data.hs["deals"]:
            raise PropertyProblem("INVALID_ASSOCIATION", "associations",
                                  f"association to {to_id or '?'} (types {types}) is not valid")
        ids.add(to_id)
    return ids


def _create(state: SandboxState, obj: str, values: dict, deal_ids: set[str]) -> dict:
    rec = new_record(state, obj, values, state.now_ms())
    counters = state.counters["hubspot"]
    counters.records_created += 1
    if obj == "tasks":
        counters.tasks_created += 1
        state.data.hs_assoc[rec["id"]] = {i for i in deal_ids if not i.startswith("contact:")}
        contacts = {i.removeprefix("contact:") for i in deal_ids if i.startswith("contact:")}
        if contacts:
            state.data.hs_contact_assoc[rec["id"]] = contacts
    return rec


def update_object(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = _obj(m)
    body = req.json()
    with state.lock:
        rec = state.data.hs[obj].get(m["id"]) if obj else None
        if rec is None or rec["archived"] or not isinstance(body, dict):
            return not_found()
        try:
            values = validate(state, obj, body.get("properties", {}), rec)  # type: ignore[arg-type]
        except PropertyProblem as exc:
            return property_error(exc)
        apply_values(obj, rec, values, state.now_ms())  # type: ignore[arg-type]
        state.counters["hubspot"].records_written += 1
        state.bump()
        return json_response(200, render(state, obj, rec, wanted(obj, list(values))))  # type: ignore[arg-type]


def archive_object(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = _obj(m)
    with state.lock:
        rec = state.data.hs[obj].get(m["id"]) if obj else None
        if rec is not None and not rec["archived"]:
            rec["archived"] = True
            rec["archivedAt"] = hs_datetime(state.now_ms())
            state.bump()
    return Response(204, b"")


# -- batch ------------------------------------------------------------------------------------
def _inputs(body: object) -> list | Response:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return hs_error(400, "VALIDATION_ERROR", "inputs must be a list")
    if len(inputs) > MAX_BATCH:
        return hs_error(400, "VALIDATION_ERROR",
                        f"Batch size of {len(inputs)} exceeds the limit of {MAX_BATCH} inputs")
    return inputs


def _batch(m: re.Match, req: Request) -> tuple[str, dict, list] | Response:
    """The object named in the URL, the JSON body and its inputs, or the answer refusing them."""
    obj, body = _obj(m), req.json()
    inputs = _inputs(body)
    if obj is None:
        return not_found()
    if isinstance(inputs, Response):
        return inputs
    return obj, body, inputs


def _batch_response(state: SandboxState, results: list, missing: list[str],
                    started: str, ok_status: int = 200) -> Response:
    body: dict[str, object] = {"status": "COMPLETE", "results": results,
                               "startedAt": started, "completedAt": hs_datetime(state.now_ms())}
    if not missing:
        return json_response(ok_status, body)
    body["numErrors"] = 1
    body["errors"] = [{
        "status": "error", "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {len(missing)} objects, they may be deleted or not exist.",
        "context": {"ids": missing}, "links": {}, "errors": [],
    }]
    return json_response(207, body)


def _batch_record(state: SandboxState, obj: str, item: object, *,
                  archived: bool) -> tuple[str, dict | None]:
    """The id a batch input names, and its record (None when absent or not in that archive)."""
    rid = str(item.get("id", "")) if isinstance(item, dict) else ""
    rec = state.data.hs[obj].get(rid)
    return rid, rec if rec is not None and rec["archived"] == archived else None


def batch_read(state: SandboxState, req: Request, m: re.Match) -> Response:
    batch = _batch(m, req)
    if isinstance(batch, Response):
        return batch
    obj, body, inputs = batch
    archived = (req.arg("archived") or "false").lower() == "true"
    names = wanted(obj, body.get("properties") or None)
    with state.lock:
        started = hs_datetime(state.now_ms())
        results, missing = [], []
        for item in inputs:
            rid, rec = _batch_record(state, obj, item, archived=archived)
            if rec is None:
                missing.append(rid)
            else:
                results.append(render(state, obj, rec, names))
        return _batch_response(state, results, missing, started)


def batch_update(state: SandboxState, req: Request, m: re.Match) -> Response:
    batch = _batch(m, req)
    if isinstance(batch, Response):
        return batch
    obj, _, inputs = batch
    with state.lock:
        started = hs_datetime(state.now_ms())
        plans, missing = [], []
        for item in inputs:
            rid, rec = _batch_record(state, obj, item, archived=False)
            if rec is None:
                missing.append(rid)
                continue
            try:
                plans.append((rec, validate(state, obj, item.get("properties", {}), rec)))
            except PropertyProblem as exc:
                return property_error(exc)
        now = state.now_ms()
        for rec, values in plans:
            apply_values(obj, rec, values, now)
        state.counters["hubspot"].records_written += len(plans)
        if plans:
            state.bump()
        names = wanted(obj, sorted({n for _, v in plans for n in v}))
        results = [render(state, obj, rec, names) for rec, _ in plans]
        return _batch_response(state, results, missing, started)


def batch_create(state: SandboxState, req: Request, m: re.Match) -> Response:
    batch = _batch(m, req)
    if isinstance(batch, Response):
        return batch
    obj, _, inputs = batch
    with state.lock:
        started = hs_datetime(state.now_ms())
        try:
            plans = [(validate(state, obj, item.get("properties", {}), None),
                      _association_targets(state, obj, item.get("associations") or []))
                     for item in inputs]
        except (PropertyProblem, AttributeError) as exc:
            if isinstance(exc, PropertyProblem):
                return property_error(exc)
            return hs_error(400, "VALIDATION_ERROR", "each input must be an object")
        recs = [_create(state, obj, values, deals) for values, deals in plans]
        state.bump()
        names = wanted(obj, sorted({n for v, _ in plans for n in v}))
        return _batch_response(state, [render(state, obj, r, names) for r in recs], [],
                               started, ok_status=201)
