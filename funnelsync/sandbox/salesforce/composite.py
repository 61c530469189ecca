"""The Composite resource (``POST /services/data/vXX.X/composite``) for reads.

Request: ``{"allOrNone": false, "compositeRequest": [{"method": "GET", "url":
"/services/data/v59.0/query/?q=...", "referenceId": "r0", "httpHeaders": {...}}, ...]}``.
Answer: HTTP 200 with ``{"compositeResponse": [{"body": ..., "httpHeaders": {},
"httpStatusCode": 200, "referenceId": "r0"}, ...]}``, one result per subrequest in order; a
failed subrequest carries its own status and Salesforce's error list as its body, and the
others still run (reads change nothing, so ``allOrNone`` has nothing to roll back). As
Salesforce documents: at most 25 subrequests, at most 5 of them query operations (query,
queryAll, and their next pages); ``Accept``, ``Authorization`` and ``Content-Type`` are
inherited from the top-level request and refused in ``httpHeaders``; the whole request counts
as one API call. A malformed request is refused whole with 400, no subrequest run.

The sandbox runs GET subrequests on sObject, query and queryAll resources (what funnelsync
folds); a subrequest with another method answers 405 ``METHOD_NOT_ALLOWED``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from funnelsync.sandbox.common import Request, Response, json_response
from funnelsync.sandbox.salesforce.api import sf_error
from funnelsync.sandbox.state import SandboxState

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
INHERITED = frozenset({"accept", "authorization", "content-type"})
_DATA = re.compile(r"^/services/data/v\d+\.\d+/")
_QUERY_KINDS = frozenset({"query", "query_more"})


def composite(state: SandboxState, req: Request, m: re.Match, routes: Sequence[Any]) -> Response:
    """The composite answer; ``routes`` is the sandbox's routing table (its Salesforce routes
    run the subrequests)."""
    body = req.json()
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not all(isinstance(s, dict) for s in subrequests):
        return sf_error(400, "JSON_PARSER_ERROR",
                        "The request body needs a 'compositeRequest' list of subrequests")
    refused = _refusal(subrequests, routes)
    if refused is not None:
        return refused
    results = [_run(state, req, sub, routes) for sub in subrequests]
    return json_response(200, {"compositeResponse": results})


def _refusal(subrequests: list[dict], routes: Sequence[Any]) -> Response | None:
    if len(subrequests) > MAX_SUBREQUESTS:
        return sf_error(400, "INVALID_INPUT", f"Maximum number of subrequests is "
                                              f"{MAX_SUBREQUESTS}, got {len(subrequests)}")
    for sub in subrequests:
        url, ref = sub.get("url"), sub.get("referenceId")
        if not isinstance(url, str) or not _DATA.match(url) or not isinstance(ref, str) \
                or not isinstance(sub.get("method"), str):
            return sf_error(400, "INVALID_INPUT", "Each subrequest needs a method, a url under "
                                                  "/services/data/vXX.X/ and a referenceId")
        headers = sub.get("httpHeaders") or {}
        if not isinstance(headers, dict) or INHERITED & {str(k).lower() for k in headers}:
            return sf_error(400, "INVALID_INPUT", "httpHeaders may not set Accept, "
                                                  "Authorization or Content-Type")
    queries = sum(_kind(sub["url"], routes) in _QUERY_KINDS for sub in subrequests)
    if queries > MAX_QUERIES:
        return sf_error(400, "INVALID_INPUT", f"A composite request may have at most "
                                              f"{MAX_QUERIES} query operations, got {queries}")
    return None


def _kind(url: str, routes: Sequence[Any]) -> str | None:
    route, _ = _route("GET", urlsplit(url).path, routes)
    return route.kind if route is not None else None


def _route(method: str, path: str, routes: Sequence[Any]) -> tuple[Any, re.Match | None]:
    for route in routes:
        if route.crm == "salesforce" and route.auth and method in route.methods:
            match = route.pattern.match(path)
            if match:
                return route, match
    return None, None


def _run(state: SandboxState, top: Request, sub: dict, routes: Sequence[Any]) -> dict:
    parts = urlsplit(sub["url"])
    headers = {"authorization": top.headers.get("authorization", "")}
    headers.update({str(k).lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()})
    route, match = _route(sub["method"], parts.path, routes)
    if sub["method"] != "GET":
        resp = sf_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{sub['method']}' not allowed "
                                                   "in this sandbox's composite requests")
    elif route is None:
        resp = sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    else:
        request = Request("GET", parts.path, parse_qs(parts.query, keep_blank_values=True),
                          headers)
        resp = route.handler(state, request, match)
        with state.lock:
            state.count("salesforce", f"composite:{route.kind}", api_call=False)
    with state.lock:
        counts = state.counters["salesforce"].subrequest_status_counts
        counts[str(resp.status)] = counts.get(str(resp.status), 0) + 1
    return {"body": json.loads(resp.body) if resp.body else None, "httpHeaders": {},
            "httpStatusCode": resp.status, "referenceId": sub["referenceId"]}
