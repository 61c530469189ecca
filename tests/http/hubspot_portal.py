"""A strict fake HubSpot portal for pytest-httpserver, answering in the shapes of API_SHAPES.md.

It behaves like the real API where our connector could be fooled: search refuses
``after + limit > 10,000`` with 400 VALIDATION_ERROR, returns records sharing a sort value in a
different random order on every call, lists page by id with an opaque ``after``, batch updates
answer 207 with ``errors[].context.ids``, and unknown properties fail a batch with
PROPERTY_DOESNT_EXIST. Failures can be queued per path (``fail_next``).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import json
import random
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from support.clock import FakeClock
from werkzeug import Request, Response

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
BASE_MS = 1_732_000_000_000
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
PIPELINES = [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
     "stages": [{"id": "appointmentscheduled", "label": "Appointment Scheduled",
                 "displayOrder": 0, "metadata": {"isClosed": "false", "probability": "0.2"}},
                {"id": "contractsent", "label": "Contract Sent", "displayOrder": 1,
                 "metadata": {"isClosed": "false", "probability": "0.9"}},
                {"id": "closedwon", "label": "Closed Won", "displayOrder": 2,
                 "metadata": {"isClosed": "true", "probability": "1.0"}}]},
    {"id": "2847561", "label": "Renewals", "displayOrder": 1, "archived": False,
     "stages": [{"id": "1190341", "label": "Discovery", "displayOrder": 0,
                 "metadata": {"isClosed": "false", "probability": "0.1"}},
                {"id": "1190345", "label": "Won", "displayOrder": 1,
                 "metadata": {"isClosed": "true", "probability": "1.0"}}]},
]


@functools.cache
def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")


def _error(status: int, category: str, message: str) -> Response:
    return _json(status, {"status": "error", "message": message, "category": category,
                          "correlationId": "aaaa-bbbb"})


@dataclass
class Rec:
    id: int
    ms: int
    props: dict[str, str | None] = field(default_factory=dict)
    archived_ms: int | None = None


@dataclass
class Portal:
    """The fake portal; ``handle`` is the pytest-httpserver handler."""

    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    cap: int = 10_000
    seed: int = 7
    store: dict[str, dict[int, Rec]] = field(default_factory=lambda: {"contacts": {}, "deals": {}})
    log: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    properties: dict[str, set[str]] = field(default_factory=lambda: {
        "contacts": {"email", "firstname", "lifecyclestage"},
        "deals": {"dealname", "amount", "dealstage", "pipeline", "funnel_stage"}})
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    archived_owner_ids: set[str] = field(default_factory=set)
    assoc: dict[str, list[int]] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    after_search: Callable[[Portal], None] | None = None
    queued: list[tuple[str, Response]] = field(default_factory=list)
    oauth: dict[str, Any] = field(default_factory=dict)
    issued: int = 0
    version: int = 0
    clock: Callable[[], float] | None = None  # enables the server-side rate limits below
    rate: tuple[int, float] = (100, 10.0)  # TEN_SECONDLY_ROLLING
    search_rate: tuple[int, float] = (5, 1.0)  # SECONDLY
    stamps: list[float] = field(default_factory=list)
    search_stamps: list[float] = field(default_factory=list)
    limited: int = 0
    extra_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._indexes: dict[str, tuple[int, list[Rec], list[tuple[int, int]]]] = {}

    # -- seeding -------------------------------------------------------------------------
    def add(self, obj: str, rid: int, ms: int, archived_ms: int | None = None,
            **props: str | None) -> Rec:
        rec = Rec(rid, ms, dict(props), archived_ms)
        self.store[obj][rid] = rec
        self.version += 1
        return rec

    def fail_next(self, path_prefix: str, status: int, body: dict[str, Any],
                  headers: dict[str, str] | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.queued.append((path_prefix, _json(status, body, headers)))

    def calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return [c for m, p, c in self.log
                if (method is None or m == method) and (path is None or p.startswith(path))]

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        response = self._handle(request)
        response.headers.update(self.extra_headers)
        return response

    def _handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.data else None
        info = {"args": request.args.to_dict(flat=False), "json": body,
                "form": request.form.to_dict(), "auth": request.headers.get("Authorization")}
        self.log.append((request.method, request.path, info))
        for i, (prefix, response) in enumerate(self.queued):
            if request.path.startswith(prefix):
                del self.queued[i]
                return response
        if request.path == "/oauth/v1/token":
            return self._token(request)
        refused = self._rate_limit(request.path.endswith("/search"))
        if refused is not None:
            return refused
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            return _json(401, {"status": "error", "message": "Authentication credentials not "
                               "found. This API supports OAuth 2.0 authentication.",
                               "category": "INVALID_AUTHENTICATION", "correlationId": "c-1"})
        return self._route(request, body or {})

    def _route(self, request: Request, body: dict[str, Any]) -> Response:
        path, method = request.path, request.method
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", r"/crm/v3/objects/(contacts|deals)", self._list),
            ("POST", r"/crm/v3/objects/(contacts|deals)/search", self._search),
            ("POST", r"/crm/v3/objects/(contacts|deals)/batch/update", self._update),
            ("POST", r"/crm/v3/objects/tasks", self._create_task),
            ("POST", r"/crm/v3/objects/tasks/batch/create", self._batch_create_tasks),
            ("POST", r"/crm/v3/objects/tasks/batch/read", self._read_tasks),
            ("POST", r"/crm/v3/objects/tasks/batch/update", self._update_tasks),
            ("POST", r"/crm/v4/associations/deals/tasks/batch/read", self._assoc_read),
            ("GET", r"/crm/v3/pipelines/deals", self._pipelines),
            ("GET", r"/crm/v3/owners/", self._owners),
            ("GET", r"/crm/v3/properties/(contacts|deals)", self._props_list),
            ("POST", r"/crm/v3/properties/(contacts|deals)", self._props_create),
        ]
        for verb, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return fn(request, body, *match.groups())
        return _error(404, "OBJECT_NOT_FOUND", f"no route {method} {path}")

    def _rate_limit(self, search: bool) -> Response | None:
        if self.clock is None:
            return None
        now = self.clock()
        checks = [(self.stamps, self.rate, "TEN_SECONDLY_ROLLING")]
        if search:
            checks.append((self.search_stamps, self.search_rate, "SECONDLY"))
        for stamps, (count, window), policy in checks:
            if sum(1 for t in stamps if t > now - window) >= count:
                self.limited += 1
                return _json(429, {"status": "error", "message": f"You have reached your "
                                   f"{policy.lower()} limit.", "errorType": "RATE_LIMIT",
                                   "policyName": policy, "correlationId": "c-9"})
        for stamps, _, _ in checks:
            stamps.append(now)
        return None

    # -- auth ----------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = request.form
        good = self.oauth.get("refresh_token")
        if (form.get("grant_type") != "refresh_token" or form.get("refresh_token") != good
                or form.get("client_id") != self.oauth.get("client_id")
                or form.get("client_secret") != self.oauth.get("client_secret")):
            return _json(400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown "
                               "refresh token", "error": "invalid_grant"})
        self.issued += 1
        token = f"oauth-access-{self.issued}-SECRETVALUE"
        if self.oauth.get("revoke_old"):
            self.tokens = set()
        self.tokens.add(token)
        return _json(200, {"access_token": token, "refresh_token": good,
                           "expires_in": self.oauth.get("expires_in", 1800),
                           "token_type": "bearer"})

    # -- records -------------------------------------------------------------------------
    def present(self, obj: str, rec: Rec, props: list[str]) -> dict[str, Any]:
        known = {MODIFIED[obj]: iso(rec.ms), "hs_object_id": str(rec.id),
                 "createdate": iso(BASE_MS), **rec.props}
        out = {"id": str(rec.id), "properties": {p: known.get(p) for p in props if p in known},
               "createdAt": iso(BASE_MS), "updatedAt": iso(rec.ms),
               "archived": rec.archived_ms is not None}
        if rec.archived_ms is not None:
            out["archivedAt"] = iso(rec.archived_ms)
        return out

    def _list(self, request: Request, body: dict[str, Any], obj: str) -> Response:
        limit = int(request.args.get("limit", "10"))
        if limit > 100:
            return _error(400, "VALIDATION_ERROR", "limit must be <= 100")
        archived = request.args.get("archived", "false") == "true"
        props = [p for raw in request.args.getlist("properties") for p in raw.split(",") if p]
        after = int(request.args.get("after") or 0)
        recs = sorted((r for r in self.store[obj].values()
                       if (r.archived_ms is not None) == archived and r.id >= after),
                      key=lambda r: r.id)
        page = recs[:limit]
        out: dict[str, Any] = {"results": [self.present(obj, r, props) for r in page]}
        if len(recs) > limit:
            nxt = str(recs[limit].id)
            out["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return _json(200, out)

    def _value(self, obj: str, rec: Rec, prop: str) -> Any:
        if prop == MODIFIED[obj]:
            return rec.ms
        if prop == "hs_object_id":
            return rec.id
        return rec.props.get(prop)

    def _predicate(self, obj: str, flt: dict[str, Any]) -> Callable[[Rec], bool]:
        prop, op, raw = flt["propertyName"], flt["operator"], flt.get("value")
        if prop in (MODIFIED[obj], "hs_object_id"):
            attr, target = ("ms" if prop == MODIFIED[obj] else "id"), int(raw)
            compare = {"EQ": int.__eq__, "NEQ": int.__ne__, "GT": int.__gt__,
                       "GTE": int.__ge__, "LT": int.__lt__, "LTE": int.__le__}[op]
            return lambda r: compare(getattr(r, attr), target)
        if op == "EQ":
            return lambda r: r.props.get(prop) == raw
        if op == "NEQ":
            return lambda r: r.props.get(prop) != raw
        raise ValueError(f"fake portal: unsupported filter {flt}")

    def _search(self, request: Request, body: dict[str, Any], obj: str) -> Response:
        limit, after = int(body.get("limit", 10)), int(body.get("after") or 0)
        if limit > 200:
            return _error(400, "VALIDATION_ERROR", "limit must be <= 200")
        if after + limit > self.cap:
            return _error(400, "VALIDATION_ERROR", "There was a problem with the request.")
        found = self._fast_search(obj, body, after + limit) or self._scan_search(obj, body)
        head, total = found
        out: dict[str, Any] = {"total": total, "results": [
            self.present(obj, r, body.get("properties") or []) for r in head[after:after + limit]]}
        if after + limit < total:
            out["paging"] = {"next": {"after": str(after + limit)}}
        if self.after_search is not None:
            self.after_search(self)
        return _json(200, out)

    def _scan_search(self, obj: str, body: dict[str, Any]) -> tuple[list[Rec], int]:
        groups = [[self._predicate(obj, f) for f in g["filters"]]
                  for g in body.get("filterGroups") or [{"filters": []}]]
        recs = [r for r in self.store[obj].values() if r.archived_ms is None
                and any(all(test(r) for test in g) for g in groups)]
        sort = (body.get("sorts") or [{"propertyName": "hs_object_id"}])[0]["propertyName"]
        # Order among equal sort values is not guaranteed: shuffle ties on every call.
        recs.sort(key=lambda r: (self._value(obj, r, sort), self.rng.random()))
        return recs, len(recs)

    def touch(self, obj: str, rid: int, ms: int) -> None:
        self.store[obj][rid].ms = ms
        self.version += 1

    def _index(self, obj: str) -> tuple[list[Rec], list[tuple[int, int]]]:
        cached = self._indexes.get(obj)
        if cached is None or cached[0] != self.version:
            recs = sorted((r for r in self.store[obj].values() if r.archived_ms is None),
                          key=lambda r: (r.ms, r.id))
            cached = (self.version, recs, [(r.ms, r.id) for r in recs])
            self._indexes[obj] = cached
        return cached[1], cached[2]

    def _fast_search(self, obj: str, body: dict[str, Any],
                     need: int) -> tuple[list[Rec], int] | None:
        """The same answer as a scan for the connector's own query shapes, from a sorted index
        (a scan of 10,000 records per call makes the cap tests slow)."""
        groups = body.get("filterGroups") or []
        sort = ((body.get("sorts") or [{}])[0]).get("propertyName")
        if len(groups) != 1:
            return None
        flt = {(f["propertyName"], f["operator"]): int(f["value"]) for f in groups[0]["filters"]}
        mod = MODIFIED[obj]
        recs, keys = self._index(obj)
        big = 1 << 62
        if set(flt) in ({(mod, "GTE")}, {(mod, "GT")}) and sort == mod:
            ts = flt.get((mod, "GTE"), flt.get((mod, "GT")))
            lo = bisect.bisect_left(keys, (ts, -1) if (mod, "GTE") in flt else (ts, big))
            return self._shuffled_head(recs, keys, lo, need), len(recs) - lo
        if set(flt) == {(mod, "EQ"), ("hs_object_id", "GT")} and sort == "hs_object_id":
            ts, last = flt[(mod, "EQ")], flt[("hs_object_id", "GT")]
            lo = bisect.bisect_right(keys, (ts, last))
            hi = bisect.bisect_right(keys, (ts, big))
            return recs[lo:min(hi, lo + need)], hi - lo
        return None

    def _shuffled_head(self, recs: list[Rec], keys: list[tuple[int, int]], lo: int,
                       need: int) -> list[Rec]:
        """The first ``need`` matches from ``lo`` in time order, ties in random order."""
        end = min(lo + need, len(recs))
        if end > lo:
            end = bisect.bisect_right(keys, (recs[end - 1].ms, 1 << 62))
        head: list[Rec] = []
        for _, group in itertools.groupby(recs[lo:end], key=lambda r: r.ms):
            tied = list(group)
            self.rng.shuffle(tied)
            head.extend(tied)
        return head

    def _update(self, request: Request, body: dict[str, Any], obj: str) -> Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "too many inputs")
        ids = [i["id"] for i in inputs]
        if len(set(ids)) != len(ids):
            return _error(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input")
        for item in inputs:
            for name in item["properties"]:
                if name not in self.properties[obj]:
                    detail = json.dumps([{"isValid": False, "message": f'Property "{name}" '
                                          "does not exist", "error": "PROPERTY_DOESNT_EXIST",
                                          "name": name}])
                    return _error(400, "VALIDATION_ERROR",
                                  f"Property values were not valid: {detail}")
        missing = [i for i in ids if int(i) not in self.store[obj]]
        results = []
        for item in inputs:
            if item["id"] in missing:
                continue
            rec = self.store[obj][int(item["id"])]
            rec.props.update(item["properties"])
            results.append(self.present(obj, rec, list(item["properties"])))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if not missing:
            return _json(200, out)
        out.update(numErrors=1, errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                         "message": "Could not get some deals objects, they may"
                                         " be deleted or not exist.",
                                         "context": {"ids": missing}}])
        return _json(207, out)

    # -- tasks ---------------------------------------------------------------------------
    def _create_task(self, request: Request, body: dict[str, Any]) -> Response:
        assocs = body.get("associations") or []
        for a in assocs:
            kinds = [(t["associationCategory"], t["associationTypeId"]) for t in a["types"]]
            if kinds != [("HUBSPOT_DEFINED", 216)]:
                return _error(400, "VALIDATION_ERROR", "invalid association type")
        tid = 50_000 + len(self.tasks)
        self.tasks[tid] = dict(body["properties"])
        for a in assocs:
            self.assoc.setdefault(str(a["to"]["id"]), []).append(tid)
        return _json(201, {"id": str(tid), "properties": body["properties"],
                           "createdAt": iso(BASE_MS), "updatedAt": iso(BASE_MS),
                           "archived": False})

    def _batch_create_tasks(self, request: Request, body: dict[str, Any]) -> Response:
        """Like HubSpot, the order of results is not the order of inputs (here: reversed)."""
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "at most 100 inputs")
        for item in inputs:  # one bad owner fails the whole batch, as HubSpot does
            owner = (item.get("properties") or {}).get("hubspot_owner_id")
            if owner in self.archived_owner_ids:
                return _error(400, "VALIDATION_ERROR", "Property values were not valid: "
                              f'[{{"message": "{owner} is not a valid owner id", '
                              '"error": "INVALID_OWNER_ID", "name": "hubspot_owner_id"}]')
        results = []
        for item in inputs:
            answer = self._create_task(request, item)
            if answer.status_code != 201:
                return answer
            results.append(json.loads(answer.get_data()))
        return _json(201, {"status": "COMPLETE", "results": results[::-1]})

    def _assoc_read(self, request: Request, body: dict[str, Any]) -> Response:
        results, errors = [], []
        for item in body["inputs"]:
            tasks = self.assoc.get(str(item["id"]))
            if not tasks:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No task is associated with deal {item['id']}.",
                               "context": {"fromObjectId": [str(item["id"])]}})
                continue
            results.append({"from": {"id": str(item["id"])}, "to": [
                {"toObjectId": t, "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 216, "label": None}]}
                for t in tasks]})
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            out.update(numErrors=len(errors), errors=errors)
        return _json(207 if errors else 200, out)

    def _read_tasks(self, request: Request, body: dict[str, Any]) -> Response:
        props = body.get("properties") or []
        results = [{"id": str(i["id"]), "properties": {
            p: self.tasks[int(i["id"])].get(p) for p in props}, "archived": False}
            for i in body["inputs"] if int(i["id"]) in self.tasks]
        return self._batch_answer(results, [str(i["id"]) for i in body["inputs"]
                                            if int(i["id"]) not in self.tasks])

    def _update_tasks(self, request: Request, body: dict[str, Any]) -> Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "at most 100 inputs")
        results = []
        for item in inputs:
            if int(item["id"]) in self.tasks:
                self.tasks[int(item["id"])].update(item["properties"])
                results.append({"id": str(item["id"]), "properties": item["properties"]})
        return self._batch_answer(results, [str(i["id"]) for i in inputs
                                            if int(i["id"]) not in self.tasks])

    @staticmethod
    def _batch_answer(results: list[dict[str, Any]], missing: list[str]) -> Response:
        """200, or 207 naming the ids HubSpot could not find (deleted or never there)."""
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if not missing:
            return _json(200, out)
        out.update(numErrors=1, errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                         "message": "Could not get some TASK objects, they may "
                                         "be deleted or not exist.", "context": {"ids": missing}}])
        return _json(207, out)

    # -- metadata ------------------------------------------------------------------------
    def _pipelines(self, request: Request, body: dict[str, Any]) -> Response:
        return _json(200, {"results": PIPELINES})

    def _owners(self, request: Request, body: dict[str, Any]) -> Response:
        archived = request.args.get("archived", "false") == "true"
        limit = int(request.args.get("limit", "100"))
        start = int(request.args.get("after") or 0)
        rows = [o for o in self.owners if o["archived"] == archived]
        out: dict[str, Any] = {"results": rows[start:start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return _json(200, out)

    def _props_list(self, request: Request, body: dict[str, Any], obj: str) -> Response:
        return _json(200, {"results": [{"name": n, "type": "string"}
                                       for n in sorted(self.properties[obj])]})

    def _props_create(self, request: Request, body: dict[str, Any], obj: str) -> Response:
        self.properties[obj].add(body["name"])
        return _json(201, body)


class PortalServer:
    """One local server (127.0.0.1) per test module; each test gets a fresh portal on it."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()
        # Accepted sockets inherit TCP_NODELAY: without it werkzeug's separate header and body
        # writes can meet delayed ACKs.
        self.server.server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"http://127.0.0.1:{self.server.port}"

    def fresh(self, **kwargs: Any) -> tuple[Portal, str]:
        portal = Portal(**kwargs)
        self.server.clear()
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(portal.handle)
        return portal, self.host

    def stop(self) -> None:
        self.server.clear()
        self.server.stop()


@contextlib.contextmanager
def running_portal(**kwargs: Any) -> Iterator[tuple[Portal, str]]:
    """A started server answering as a fresh portal; yields (portal, host)."""
    server = PortalServer()
    try:
        yield server.fresh(**kwargs)
    finally:
        server.stop()


def make_connector(host: str, clock: FakeClock, *, config: dict[str, Any] | None = None,
                   limits: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A HubSpotConnector on the fake portal with a fake clock and a sleeper that never sleeps."""
    from funnelsync.config.models import HubSpotConfig, LimitsConfig
    from funnelsync.connectors.http import RetryPolicy
    from funnelsync.connectors.hubspot.connector import HubSpotConnector

    settings = {"access_token": TOKEN} if config is None else dict(config)
    policy = RetryPolicy(60.0, sleep=clock.sleep, clock=clock, rand=lambda: 0.0)
    return HubSpotConnector(HubSpotConfig(host=host, **settings), LimitsConfig(**(limits or {})),
                            retry=policy, clock=clock, sleep=clock.sleep, **kwargs)
