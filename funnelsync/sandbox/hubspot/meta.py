"""HubSpot metadata and auth: pipelines, properties, owners, OAuth token, v4 associations."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from funnelsync.sandbox.common import Request, Response, hs_datetime, json_response
from funnelsync.sandbox.hubspot.records import OBJECT_ALIASES, associated_ids, hs_error, not_found
from funnelsync.sandbox.hubspot.schema import pipelines_json, property_json
from funnelsync.sandbox.state import SandboxState

CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "funnelsync-demo", "demo-secret", "demo-refresh"
_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_TYPE_IDS = {("tasks", "deals"): 216, ("deals", "tasks"): 215,
             ("tasks", "contacts"): 204, ("contacts", "tasks"): 203}


def oauth_token(state: SandboxState, req: Request, m: re.Match) -> Response:
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "refresh_token":
        return json_response(400, {"status": "BAD_GRANT_TYPE",
                                   "message": "grant_type must be refresh_token here"})
    if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
        return json_response(400, {"status": "BAD_CLIENT_ID",
                                   "message": "missing or invalid client_id / client_secret"})
    if form.get("refresh_token") != REFRESH_TOKEN:
        return json_response(400, {"status": "BAD_REFRESH_TOKEN",
                                   "message": "missing or unknown refresh token"})
    token, ttl = state.new_hs_token()
    return json_response(200, {"access_token": token, "refresh_token": REFRESH_TOKEN,
                               "expires_in": ttl, "token_type": "bearer"})


def pipelines(state: SandboxState, req: Request, m: re.Match) -> Response:
    if OBJECT_ALIASES.get(m["obj"]) != "deals":
        return json_response(200, {"results": []})
    found = pipelines_json(state.data.now_ms, state.data.hs_pipelines)
    if m["pid"]:
        one = next((p for p in found if p["id"] == m["pid"]), None)
        if one is None:
            return not_found()
        return json_response(200, one["stages"] if m["stages"] else one)
    return json_response(200, {"results": found})


def list_properties(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = OBJECT_ALIASES.get(m["obj"])
    if obj is None:
        return not_found()
    with state.lock:
        props = state.hs_properties[obj]
        if m["name"]:
            if m["name"] not in props:
                return not_found()
            return json_response(200, _prop(state, obj, m["name"]))
        return json_response(200, {"results": [_prop(state, obj, n) for n in props]})


def _prop(state: SandboxState, obj: str, name: str) -> dict:
    label, field_type, group = state.hs_property_meta.get((obj, name), (None, None, None))
    ptype = state.hs_properties[obj][name]
    return property_json(obj, name, ptype, state.data.now_ms, label, field_type, group)


def create_property(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = OBJECT_ALIASES.get(m["obj"])
    body = req.json()
    if obj is None or not isinstance(body, dict):
        return not_found() if obj is None else hs_error(400, "VALIDATION_ERROR", "bad body")
    name, ptype = str(body.get("name") or ""), str(body.get("type") or "")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or ptype not in _TYPES \
            or not body.get("label") or not body.get("fieldType") or not body.get("groupName"):
        return hs_error(400, "VALIDATION_ERROR",
                        "name (lower-case), label, type, fieldType and groupName are required")
    with state.lock:
        if name in state.hs_properties[obj]:
            return hs_error(409, "OBJECT_ALREADY_EXISTS",
                            f"A property named '{name}' already exists.")
        state.hs_properties[obj][name] = ptype
        state.hs_property_meta[(obj, name)] = (body["label"], body["fieldType"],
                                               body["groupName"])
        state.bump()
        return json_response(201, property_json(obj, name, ptype, state.now_ms(), body["label"],
                                                body["fieldType"], body["groupName"]))


def owners(state: SandboxState, req: Request, m: re.Match) -> Response:
    archived = (req.arg("archived") or "false").lower() == "true"
    found = [o for o in state.data.hs_owners if o["archived"] == archived]
    if m["id"]:
        one = next((o for o in found if o["id"] == m["id"]), None)
        return json_response(200, one) if one else not_found()
    email = req.arg("email")
    if email:
        found = [o for o in found if o["email"].lower() == email.lower()]
    try:
        limit = min(500, int(req.arg("limit") or 100))
        after = int(req.arg("after") or 0)
    except ValueError:
        return hs_error(400, "VALIDATION_ERROR", "limit and after must be integers")
    page: dict[str, object] = {"results": found[after: after + limit]}
    if after + limit < len(found):
        page["paging"] = {"next": {"after": str(after + limit)}}
    return json_response(200, page)


# -- v4 associations (task <-> deal) ----------------------------------------------------------
def _assoc_item(from_obj: str, to_obj: str, to_id: str) -> dict:
    return {"toObjectId": int(to_id), "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": _TYPE_IDS[(from_obj, to_obj)], "label": None}]}


def assoc_list(state: SandboxState, req: Request, m: re.Match) -> Response:
    src, dst = OBJECT_ALIASES.get(m["obj"]), OBJECT_ALIASES.get(m["to"])
    if (src, dst) not in _TYPE_IDS:
        return json_response(200, {"results": []})
    with state.lock:
        ids = associated_ids(state, src, m["id"], dst)  # type: ignore[arg-type]
        return json_response(200, {"results": [_assoc_item(src, dst, i) for i in ids]})  # type: ignore[arg-type]


def assoc_batch_read(state: SandboxState, req: Request, m: re.Match) -> Response:
    src, dst = OBJECT_ALIASES.get(m["obj"]), OBJECT_ALIASES.get(m["to"])
    body = req.json()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if (src, dst) not in _TYPE_IDS or not isinstance(inputs, list):
        return hs_error(400, "VALIDATION_ERROR", "only tasks<->deals associations with inputs")
    with state.lock:
        results = []
        for item in inputs:
            rid = str(item.get("id", ""))
            ids = associated_ids(state, src, rid, dst)  # type: ignore[arg-type]
            if ids:
                results.append({"from": {"id": rid},
                                "to": [_assoc_item(src, dst, i) for i in ids]})  # type: ignore[arg-type]
        stamp = hs_datetime(state.now_ms())
        return json_response(200, {"status": "COMPLETE", "results": results,
                                   "startedAt": stamp, "completedAt": stamp})


def assoc_default(state: SandboxState, req: Request, m: re.Match) -> Response:
    src, dst = OBJECT_ALIASES.get(m["obj"]), OBJECT_ALIASES.get(m["to"])
    if (src, dst) not in _TYPE_IDS:
        return hs_error(400, "VALIDATION_ERROR", "only tasks<->deals associations")
    with state.lock:
        task, deal = (m["id"], m["to_id"]) if src == "tasks" else (m["to_id"], m["id"])
        if task not in state.data.hs["tasks"] or deal not in state.data.hs["deals"]:
            return not_found()
        state.data.hs_assoc.setdefault(task, set()).add(deal)
        state.bump()
        stamp = hs_datetime(state.now_ms())
        spec = {"associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": _TYPE_IDS[(src, dst)]}  # type: ignore[index]
        return json_response(200, {"status": "COMPLETE", "results": [
            {"from": {"id": m["id"]}, "to": {"id": m["to_id"]}, "associationSpec": spec}],
            "startedAt": stamp, "completedAt": stamp})
