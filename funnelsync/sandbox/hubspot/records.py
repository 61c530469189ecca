"""HubSpot record helpers shared by the object, search and metadata handlers.

Rendering (only requested properties, every value a string or null), property validation (a
bad property fails the whole request with HubSpot's 400 body) and applying writes (bumping
hs_lastmodifieddate, stamping hs_v2_date_entered_<stage>, lifecycle stages only moving forward).
"""

from __future__ import annotations

import json
import uuid

from funnelsync.sandbox.common import Response, hs_datetime, json_response, parse_datetime_ms
from funnelsync.sandbox.hubspot.schema import (
    ALWAYS,
    COMPANY_SIZE_BANDS,
    DEFAULT_PROPERTIES,
    HOME_AMOUNT,
    HOME_AMOUNT_INPUTS,
    LEAD_STATUS,
    LIFECYCLE,
    PIPELINES,
    STAGE_META,
    home_amount,
    is_read_only,
)
from funnelsync.sandbox.state import SandboxState

OBJECT_ALIASES = {"contacts": "contacts", "contact": "contacts", "0-1": "contacts",
                  "deals": "deals", "deal": "deals", "0-3": "deals",
                  "tasks": "tasks", "task": "tasks", "0-27": "tasks"}
_OPTIONS = {"lifecyclestage": LIFECYCLE, "hs_lead_status": LEAD_STATUS,
            "hs_task_status": ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            "hs_task_priority": ("NONE", "LOW", "MEDIUM", "HIGH"),
            "pipeline": tuple(p[0] for p in PIPELINES), "numemployees": COMPANY_SIZE_BANDS}


class PropertyProblem(Exception):
    def __init__(self, code: str, name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


def hs_error(status: int, category: str, message: str, **extra: object) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}
    return json_response(status, body)


def not_found() -> Response:
    return hs_error(404, "OBJECT_NOT_FOUND", "resource not found")


def property_error(problem: PropertyProblem) -> Response:
    detail = [{"isValid": False, "message": problem.message, "error": problem.code,
               "name": problem.name}]
    return hs_error(400, "VALIDATION_ERROR",
                    f"Property values were not valid: {json.dumps(detail)}",
                    errors=[{"message": problem.message, "code": problem.code,
                             "context": {"propertyName": [problem.name]}}])


def wanted(obj: str, requested: list[str] | None) -> tuple[str, ...]:
    """Properties to render: the requested ones plus HubSpot's always-returned few."""
    if not requested:
        return DEFAULT_PROPERTIES[obj]
    extra = tuple(n for n in ALWAYS if n not in requested)
    return tuple(dict.fromkeys([*requested, *extra]))


def split_param(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def render(state: SandboxState, obj: str, rec: dict, names: tuple[str, ...],
           assoc_to: list[str] | None = None) -> dict[str, object]:
    props = rec["properties"]
    known = state.hs_properties[obj]
    out: dict[str, object] = {
        "id": rec["id"],
        "properties": {n: props.get(n) for n in names if n in known},
        "createdAt": props.get("createdate") or props.get("hs_createdate"),
        "updatedAt": props["hs_lastmodifieddate"], "archived": rec["archived"],
    }
    if rec["archived"]:
        out["archivedAt"] = rec.get("archivedAt", props["hs_lastmodifieddate"])
    if assoc_to:
        out["associations"] = associations_v3(state, obj, rec["id"], assoc_to)
    return out


def associated_ids(state: SandboxState, obj: str, rid: str, to: str) -> list[str]:
    if obj == "tasks" and to == "deals":
        return sorted(state.data.hs_assoc.get(rid, ()), key=int)
    if obj == "deals" and to == "tasks":
        return sorted((t for t, deals in state.data.hs_assoc.items() if rid in deals), key=int)
    if obj == "tasks" and to == "contacts":
        return sorted(state.data.hs_contact_assoc.get(rid, ()), key=int)
    if obj == "contacts" and to == "tasks":
        return sorted((t for t, people in state.data.hs_contact_assoc.items() if rid in people),
                      key=int)
    return []


def associations_v3(state: SandboxState, obj: str, rid: str, targets: list[str]) -> dict:
    out = {}
    for raw in targets:
        to = OBJECT_ALIASES.get(raw)
        ids = associated_ids(state, obj, rid, to) if to else []
        if ids:
            kind = f"{obj[:-1]}_to_{to[:-1]}"
            out[to] = {"results": [{"id": i, "type": kind} for i in ids]}
    return out


# -- validation -------------------------------------------------------------------------------
def validate(state: SandboxState, obj: str, props: object,
             rec: dict | None) -> dict[str, str | None]:
    """Normalised values (strings) for a write; PropertyProblem on the first bad one."""
    if not isinstance(props, dict):
        raise PropertyProblem("INVALID_PROPERTIES", "properties", "properties must be an object")
    known = state.hs_properties[obj]
    out: dict[str, str | None] = {}
    for name, value in props.items():
        if name not in known:
            raise PropertyProblem("PROPERTY_DOESNT_EXIST", name,
                                  f'Property "{name}" does not exist')
        if is_read_only(name):
            raise PropertyProblem("READ_ONLY_VALUE", name,
                                  f'"{name}" is a read only property; its value cannot be set.')
        out[name] = _normalise(state, known[name], name, value)
    _check_stage(obj, out, rec)
    return out


def _normalise(state: SandboxState, ptype: str, name: str, value: object) -> str | None:
    if value is None or value == "":
        return "" if value == "" else None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if ptype == "number":
        try:
            float(text)
        except ValueError:
            raise PropertyProblem("INVALID_FLOAT", name,
                                  f"{text} was not a valid number.") from None
    elif ptype == "datetime":
        ms = parse_datetime_ms(text)
        if ms is None:
            raise PropertyProblem("INVALID_DATE", name, f"{text} was not a valid date.")
        text = hs_datetime(ms)
    elif name == "hubspot_owner_id":
        owner = next((o for o in state.data.hs_owners if o["id"] == text), None)
        if owner is None or owner["archived"]:
            raise PropertyProblem("INVALID_OWNER_ID", name,
                                  f"{text} is not a valid owner id")
    elif name in _OPTIONS and text not in _OPTIONS[name]:
        raise PropertyProblem("INVALID_OPTION", name,
                              f"{text} was not one of the allowed options")
    return text


def _check_stage(obj: str, out: dict[str, str | None], rec: dict | None) -> None:
    if obj != "deals" or not (out.get("dealstage") or out.get("pipeline")):
        return
    current = rec["properties"] if rec else {}
    pipeline = out.get("pipeline") or current.get("pipeline") or "default"
    stage = out.get("dealstage") or current.get("dealstage")
    if stage and (stage not in STAGE_META or STAGE_META[stage][0] != pipeline):
        raise PropertyProblem("INVALID_OPTION", "dealstage",
                              f"{stage} is not a valid stage of pipeline {pipeline}")


# -- applying ---------------------------------------------------------------------------------
def apply(obj: str, rec: dict, values: dict[str, str | None], now_ms: int) -> None:
    props = rec["properties"]
    stamp = hs_datetime(now_ms)
    values = dict(values)
    if obj == "contacts":
        _lifecycle_forward_only(props, values, stamp)
    if obj == "deals" and values.get("dealstage") and values["dealstage"] != props.get("dealstage"):
        _, (sid, _, prob, closed) = STAGE_META[values["dealstage"]]
        props[f"hs_v2_date_entered_{sid}"] = stamp
        props["hs_is_closed"] = "true" if closed else "false"
        props["hs_is_closed_won"] = "true" if closed and prob == "1.0" else "false"
        props["hs_deal_stage_probability"] = prob
    props.update(values)
    if obj == "deals" and any(name in values for name in HOME_AMOUNT_INPUTS):
        props[HOME_AMOUNT] = home_amount(props)  # calculated by HubSpot
    props["hs_lastmodifieddate"] = stamp
    if "lastmodifieddate" in props:
        props["lastmodifieddate"] = stamp


def _lifecycle_forward_only(props: dict, values: dict, stamp: str) -> None:
    """HubSpot keeps a later lifecycle stage when a write names an earlier one: clear it first."""
    new, old = values.get("lifecyclestage"), props.get("lifecyclestage")
    if not new or new == old:
        return
    if old and old != "other" and new != "other" and LIFECYCLE.index(new) < LIFECYCLE.index(old):
        del values["lifecyclestage"]
        return
    props[f"hs_v2_date_entered_{new}"] = stamp


def new_record(state: SandboxState, obj: str, values: dict[str, str | None],
               now_ms: int) -> dict:
    rid = str(state.data.counters[obj])
    state.data.counters[obj] += 1
    stamp = hs_datetime(now_ms)
    props: dict[str, str | None] = {"hs_object_id": rid, "createdate": stamp,
                                    "hs_lastmodifieddate": stamp}
    if obj == "tasks":
        props["hs_createdate"] = stamp
    if obj == "contacts":
        props["lastmodifieddate"] = stamp
    if obj == "deals":
        values = {"pipeline": "default", **values}
    rec = {"id": rid, "properties": props, "archived": False,
           "tb": state.pick_rng.getrandbits(30)}
    apply(obj, rec, values, now_ms)
    state.data.hs[obj][rid] = rec
    return rec
