"""HubSpot CRM search: filterGroups (ORed) of filters (ANDed), one sort, offset paging.

Like the real API: at most 200 results a page, 400 once `after + limit` passes 10,000, about 5
requests a second (429 `SECONDLY`), archived records never found, and the order among equal
sort values is NOT the id order (a seeded per-record tiebreak), so clients cannot rely on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from funnelsync.sandbox.common import Request, Response, dumps, parse_datetime_ms
from funnelsync.sandbox.hubspot.records import OBJECT_ALIASES, hs_error, not_found, render, wanted
from funnelsync.sandbox.state import SandboxState

MAX_LIMIT = 200
RESULT_CAP = 10_000
MAX_GROUPS, MAX_FILTERS = 5, 25
_OPS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
        "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
_TEXT_SEARCHED = {"contacts": ("email", "firstname", "lastname", "company"),
                  "deals": ("dealname",), "tasks": ("hs_task_subject",)}


class SearchError(Exception):
    pass


def search(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = OBJECT_ALIASES.get(m["obj"])
    if obj is None:
        return not_found()
    with state.lock:
        wait = state.take_rate_slot("search", state.faults.search_limit, 1.0)
        if wait is not None:
            state.counters["hubspot"].rate_limited += 1
            return hs_error(429, "RATE_LIMITS", "You have reached your secondly limit.",
                            errorType="RATE_LIMIT", policyName="SECONDLY",
                            groupName="publicapi:crm-search")
    try:
        body = req.json() or {}
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
    except (ValueError, TypeError, AttributeError):
        return hs_error(400, "VALIDATION_ERROR", "limit and after must be integers")
    if not 1 <= limit <= MAX_LIMIT:
        return hs_error(400, "VALIDATION_ERROR", f"limit must be at most {MAX_LIMIT}")
    if after + limit > RESULT_CAP:
        return hs_error(400, "VALIDATION_ERROR",
                        f"The maximum number of results is {RESULT_CAP}: after + limit passes it")
    with state.lock:
        try:
            ids = _matching_ids(state, obj, body)
        except SearchError as exc:
            return hs_error(400, "VALIDATION_ERROR", str(exc))
        names = wanted(obj, body.get("properties") or None)
        rows = state.data.hs[obj]
        page: dict[str, object] = {"total": len(ids), "results": [
            render(state, obj, rows[i], names) for i in ids[after: after + limit]]}
        if after + limit < len(ids):
            page["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, dumps(page))


def _matching_ids(state: SandboxState, obj: str, body: dict) -> list[str]:
    groups = body.get("filterGroups") or []
    sorts = body.get("sorts") or []
    query = str(body.get("query") or "").strip().lower()
    key = ("hs_search", obj, json.dumps([groups, sorts, query], sort_keys=True), state.version)
    ids = state.cache.get(key)
    if ids is None:
        tests = _compile_groups(state, obj, groups)
        if query:
            tests = [_and(t, _text_test(obj, query)) for t in tests] or [_text_test(obj, query)]
        records = [r for r in state.data.hs[obj].values() if not r["archived"]
                   and (not tests or any(t(r) for t in tests))]
        records.sort(key=_sort_key(state, obj, sorts))
        ids = state.cache[key] = [r["id"] for r in records]
    return ids  # type: ignore[return-value]


def _and(a: Callable, b: Callable) -> Callable:
    return lambda r: a(r) and b(r)


def _text_test(obj: str, query: str) -> Callable[[dict], bool]:
    names = _TEXT_SEARCHED[obj]
    return lambda r: any(query in (r["properties"].get(n) or "").lower() for n in names)


def _compile_groups(state: SandboxState, obj: str, groups: list) -> list[Callable]:
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"at most {MAX_GROUPS} filterGroups are allowed")
    if sum(len(g.get("filters") or []) for g in groups) > MAX_FILTERS:
        raise SearchError(f"at most {MAX_FILTERS} filters are allowed in all")
    compiled = []
    for group in groups:
        tests = [_filter(state, obj, f) for f in group.get("filters") or []]
        compiled.append(lambda r, tests=tests: all(t(r) for t in tests))
    return compiled


def _converter(state: SandboxState, obj: str, name: str) -> Callable[[object], object]:
    if name == "hs_object_id":
        return lambda v: int(str(v))
    ptype = state.hs_properties[obj].get(name)
    if ptype == "number":
        return lambda v: float(str(v))
    if ptype in ("datetime", "date"):
        def to_ms(v: object) -> object:
            ms = parse_datetime_ms(str(v))
            if ms is None:
                raise ValueError(v)
            return ms
        return to_ms
    return lambda v: str(v).lower()


def _filter(state: SandboxState, obj: str, spec: dict) -> Callable[[dict], bool]:
    name, op = spec.get("propertyName"), spec.get("operator", "EQ")
    if name == "associations.deal" and obj == "tasks":
        wanted_id = str(spec.get("value"))
        return lambda r: wanted_id in state.data.hs_assoc.get(r["id"], ())
    if name not in state.hs_properties[obj] or op not in _OPS:
        raise SearchError(f"Invalid filter: property {name!r} with operator {op!r}")
    conv = _converter(state, obj, name)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = op == "HAS_PROPERTY"
        return lambda r: (r["properties"].get(name) not in (None, "")) == want
    try:
        target = _target(spec, op, conv)
    except (ValueError, TypeError):
        raise SearchError(f"Invalid filter value for {name}: {spec.get('value')!r}") from None
    test = _OP_TESTS[op]

    def check(r: dict) -> bool:
        raw = r["properties"].get(name)
        if raw is None or raw == "":
            return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
        try:
            return test(conv(raw), target)
        except (ValueError, TypeError):
            return False
    return check


def _target(spec: dict, op: str, conv: Callable) -> object:
    if op in ("IN", "NOT_IN"):
        return {conv(v) for v in spec.get("values") or []}
    if op == "BETWEEN":
        return conv(spec.get("value")), conv(spec.get("highValue"))
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return str(spec.get("value", "")).lower().strip("*")
    return conv(spec.get("value"))


_OP_TESTS: dict[str, Callable[[object, object], bool]] = {
    "EQ": lambda v, t: v == t, "NEQ": lambda v, t: v != t,
    "LT": lambda v, t: v < t, "LTE": lambda v, t: v <= t,  # type: ignore[operator]
    "GT": lambda v, t: v > t, "GTE": lambda v, t: v >= t,  # type: ignore[operator]
    "BETWEEN": lambda v, t: t[0] <= v <= t[1],  # type: ignore[index,operator]
    "IN": lambda v, t: v in t, "NOT_IN": lambda v, t: v not in t,  # type: ignore[operator]
    "CONTAINS_TOKEN": lambda v, t: t in str(v), "NOT_CONTAINS_TOKEN": lambda v, t: t not in str(v),
}


def _sort_key(state: SandboxState, obj: str, sorts: list) -> Callable[[dict], tuple]:
    """Sort by the one allowed sort; ties fall back to the seeded tiebreak, never to the id."""
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return lambda r: (int(r["id"]),)
    spec = sorts[0]
    if isinstance(spec, str):
        spec = {"propertyName": spec.lstrip("-"),
                "direction": "DESCENDING" if spec.startswith("-") else "ASCENDING"}
    name = spec.get("propertyName")
    if name not in state.hs_properties[obj]:
        raise SearchError(f"Invalid sort property {name!r}")
    conv = _converter(state, obj, name)
    sign = -1 if spec.get("direction", "ASCENDING").upper().startswith("DESC") else 1

    def key(r: dict) -> tuple:
        raw = r["properties"].get(name)
        try:
            value = conv(raw) if raw not in (None, "") else None
        except (ValueError, TypeError):
            value = None
        if value is None:
            return (1, 0, r["tb"])  # nulls last in either direction
        return (0, sign * value, r["tb"])  # type: ignore[operator]
    if _is_text(state, obj, name):
        return _text_key(name, sign)
    return key


def _is_text(state: SandboxState, obj: str, name: str) -> bool:
    return name != "hs_object_id" and state.hs_properties[obj].get(name) not in (
        "number", "datetime", "date")


def _text_key(name: str, sign: int) -> Callable[[dict], tuple]:
    # Text sorts descending need the inverse order of strings: sort by code points negated.
    def key(r: dict) -> tuple:
        raw = r["properties"].get(name)
        if raw in (None, ""):
            return (1, (), r["tb"])
        text = raw.lower()
        return (0, (*(sign * ord(c) for c in text), 0), r["tb"])
    return key
