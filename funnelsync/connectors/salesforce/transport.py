"""The requests transport under simple-salesforce: URL rewriting, call counting, quota budget,
answer checks.

simple-salesforce always builds ``https://<host>`` URLs. To reach a local ``http://`` stand-in
(the sandbox) or a non-Salesforce https proxy, the session gets :class:`SalesforceTransport`,
which rewrites any Salesforce host (and the override's own host spelled with https) to the
configured ``login_url`` / ``instance_url``. Every request passes through it, so it is also
where calls are counted (by kind), where the quota budget is enforced before each call, and
where every successful answer is checked (``check_answer``): an HTML page, JSON cut off or JSON
of the wrong shape for its kind of call becomes a ``BadResponse`` for the retry table. The JSON
is parsed there once and handed to simple-salesforce as the response's ``json()``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from funnelsync.connectors.base import Usage
from funnelsync.connectors.decode import (
    BAD_JSON,
    BadResponse,
    decode_json,
    html_page,
    is_html,
    is_list_of_objects,
    require,
)
from funnelsync.connectors.http import TRANSIENT_EXCEPTIONS, Failure
from funnelsync.errors import RateLimited

_SALESFORCE_SUFFIXES = (".salesforce.com", ".force.com", ".cloudforce.com")
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


def is_salesforce_host(host: str) -> bool:
    """True for hosts Salesforce itself serves (login, My Domain, instances)."""
    host = host.lower()
    return host == "salesforce.com" or host.endswith(_SALESFORCE_SUFFIXES)


@dataclass(frozen=True)
class HostRewrite:
    """Maps the URLs simple-salesforce builds onto override bases (``scheme://host:port``).

    ``login_host`` is the host simple-salesforce logs in at (``{domain}.salesforce.com``);
    calls to it go to ``login_base``, every other Salesforce host to ``instance_base`` (or
    ``login_base`` when no instance override is given: the sandbox serves both).
    """

    login_host: str
    login_base: str | None = None
    instance_base: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.login_base or self.instance_base)

    def __call__(self, url: str) -> str:
        parts = urlsplit(url)
        base = self._target(parts.netloc, parts.hostname or "")
        if base is None:
            return url
        target = urlsplit(base)
        path = target.path.rstrip("/") + parts.path
        return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))

    def _target(self, netloc: str, host: str) -> str | None:
        for base in (self.instance_base, self.login_base):
            if base and urlsplit(base).netloc == netloc:
                return base
        if not is_salesforce_host(host):
            return None
        if host == self.login_host and self.login_base:
            return self.login_base
        return self.instance_base or self.login_base


def kind_of(url: str) -> str:
    """The kind of a Salesforce call, for ``Usage.by_kind``."""
    path = urlsplit(url).path
    if "/services/Soap/u/" in path or path.endswith("/services/oauth2/token"):
        return "login"
    if path.endswith("/describe") or path.endswith("/sobjects"):
        return "describe"
    if "/jobs/query" in path:
        return "bulk"
    if path.rstrip("/").endswith("/composite"):
        return "composite_read"  # the Composite resource: reads folded into one call
    if "/composite/" in path:
        return "composite"
    if "/query" in path:  # query, queryAll and their nextRecordsUrl pages
        return "query"
    if path.rstrip("/").endswith("/limits"):
        return "limits"
    return "other"


@dataclass
class QuotaBudget:
    """Stops a run before it spends more than ``share`` of the daily quota left at its start.

    The quota left is learnt from the first ``Sforce-Limit-Info`` header. Spent is the larger
    of this run's own calls since then and the org's usage growth since then (other
    integrations eat the same quota). Logins do not count against the API quota.
    """

    share: float
    usage: Usage
    start_used: int | None = None
    allowed: int | None = None
    own_calls: int = 0

    def observe(self, header: str | None) -> None:
        match = _LIMIT_INFO.search(header or "")
        if not match:
            return
        used, limit = int(match.group(1)), int(match.group(2))
        self.usage.quota_used, self.usage.quota_max = used, limit
        if self.start_used is None:
            self.start_used = used
            self.allowed = math.floor(self.share * max(limit - used, 0))

    def spent(self) -> int:
        grown = (self.usage.quota_used or 0) - (self.start_used or 0)
        return max(self.own_calls, grown)

    def check(self, kind: str) -> None:
        if kind == "login" or self.allowed is None:
            return
        if self.spent() + 1 > self.allowed:
            left = (self.usage.quota_max or 0) - (self.start_used or 0)
            raise RateLimited(
                f"Salesforce API quota: this run may use {self.allowed} of the {left} calls "
                f"left today (limits.salesforce_quota_share = {self.share}) and has used "
                f"{self.spent()}; stopping before the next call",
                status=None, code="QUOTA_SHARE",
                hint="records already pulled are kept; run again after the daily quota "
                     "resets, or raise limits.salesforce_quota_share")
        self.own_calls += 1


class SalesforceTransport(HTTPAdapter):
    """Rewrites URLs, counts every call by kind, reads the quota header, enforces the budget."""

    def __init__(self, rewrite: HostRewrite, usage: Usage, budget: QuotaBudget) -> None:
        super().__init__()
        self.rewrite = rewrite
        self.usage = usage
        self.budget = budget
        self.last_login_status: int | None = None

    def send(self, request: requests.PreparedRequest,  # type: ignore[override]
             **kwargs: Any) -> requests.Response:
        request.url = self.rewrite(request.url or "")
        kind = kind_of(request.url)
        self.budget.check(kind)
        self.usage.count_call(kind)
        response = super().send(request, **kwargs)
        if kind == "login":
            self.last_login_status = response.status_code
        self.budget.observe(response.headers.get("Sforce-Limit-Info"))
        if 200 <= response.status_code < 300 and not kwargs.get("stream"):
            check_answer(response, kind)
        return response


_JSON_KINDS = frozenset({"describe", "query", "composite", "composite_read", "limits"})


def check_answer(response: requests.Response, kind: str) -> None:
    """Raise BadResponse unless a successful answer is what the API sends for ``kind``: never
    an HTML page; a SOAP login with a session; JSON shaped for its call. Parsed JSON is kept
    as the response's ``json()`` so it is parsed once."""
    body = response.content or b""
    if not body.strip():
        return
    status, content_type = response.status_code, response.headers.get("Content-Type")
    path = urlsplit(response.url or "").path
    if is_html(body, content_type):
        raise html_page(body, status)
    if kind == "login" and "/services/Soap/" in path:
        require(b"sessionId>" in body and b"serverUrl>" in body,
                "a SOAP login answer without sessionId and serverUrl", status)
        return
    if kind not in _JSON_KINDS and "json" not in (content_type or "").lower():
        return  # Bulk 2.0 CSV results, an empty PATCH answer
    data = decode_json(body, content_type, status)
    check_shape(kind, path, data, status)
    # simple-salesforce calls response.json(object_pairs_hook=OrderedDict): give it the
    # object already parsed (a plain dict keeps its order too).
    response.json = lambda **_: data  # type: ignore[method-assign]


def check_shape(kind: str, path: str, data: Any, status: int | None = None) -> None:
    """BadResponse (BAD_SHAPE) unless ``data`` has the documented shape of its call."""
    if kind == "query":
        require(isinstance(data, dict) and is_list_of_objects(data.get("records"))
                and isinstance(data.get("done"), bool),
                "a query answer needs records (a list of objects) and done", status)
        require(data["done"] or isinstance(data.get("nextRecordsUrl"), str),
                "a query answer that is not done needs nextRecordsUrl", status)
    elif kind == "describe" and path.rstrip("/").endswith("/describe"):
        require(isinstance(data, dict) and is_list_of_objects(data.get("fields")),
                "a describe answer needs fields (a list of objects)", status)
    elif kind == "composite" and "/composite/sobjects" in path:
        require(isinstance(data, list) and all(isinstance(r, dict | None) for r in data),
                "an sObject Collections answer is a list of objects", status)
    elif kind == "composite_read":
        require(isinstance(data, dict) and is_list_of_objects(data.get("compositeResponse")),
                "a composite answer needs compositeResponse (a list of objects)", status)
    elif kind in ("limits", "bulk"):
        require(isinstance(data, dict), "the answer must be a JSON object", status)
    elif kind == "login":
        require(isinstance(data, dict) and isinstance(data.get("access_token"), str)
                and isinstance(data.get("instance_url"), str),
                "an OAuth token answer needs access_token and instance_url", status)
    elif path.rstrip("/").endswith("/services/data"):
        require(is_list_of_objects(data), "the API versions answer is a list of objects",
                status)
    else:
        require(isinstance(data, dict | list), "an answer must be a JSON object or list",
                status)


def make_session(rewrite: HostRewrite, usage: Usage, budget: QuotaBudget,
                 session: requests.Session | None = None
                 ) -> tuple[requests.Session, SalesforceTransport]:
    """A session (the given one or a new one) with the transport mounted for http and https."""
    session = session or requests.Session()
    adapter = SalesforceTransport(rewrite, usage, budget)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


@dataclass
class Scrubber:
    """Removes known secret values from text that may reach a message or a log."""

    secrets: list[str] = field(default_factory=list)

    def add(self, *values: str | None) -> None:
        self.secrets += [v for v in values if v and len(v) >= 4 and v not in self.secrets]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def first_error(content: Any) -> tuple[str | None, str]:
    """``(errorCode, message)`` of a Salesforce error body (a JSON list, or text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        return item.get("errorCode") or item.get("statusCode"), str(item.get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode") or content.get("error"), str(
            content.get("message") or content.get("error_description") or "")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return None, " ".join(str(content or "").split())[:200]


def login_failure(exc: SalesforceAuthenticationFailed, login_status: int | None,
                  scrub: Scrubber) -> Failure | None:
    """A retryable Failure when a login failed for a server reason (an error page rather
    than a SOAP fault or OAuth error); None for rejected credentials."""
    code = str(exc.code) if exc.code is not None else ""
    if code.isdigit():  # simple-salesforce puts the status here for unparseable bodies
        status: int | None = int(code)
    elif exc.code is None and "faultstring>" not in exc.auth_message:
        status = login_status
    else:
        return None
    if status is None or not (status >= 500 or status == 429):
        return None
    return Failure(status, None, exc, message=scrub(first_error(exc.auth_message)[1]))


_FAULT = re.compile(r"<(?:\w+:)?(faultcode|faultstring)>([^<]*)<")


def login_rejection(exc: SalesforceAuthenticationFailed) -> tuple[str, str]:
    """``(code, message)`` of a rejected login, reading a bare SOAP fault when needed."""
    found = dict(_FAULT.findall(exc.auth_message))
    code = str(exc.code) if exc.code is not None else found.get("faultcode", "UNKNOWN")
    message = exc.auth_message if exc.code is not None else found.get("faultstring", "")
    return code.split(":")[-1], message


def failure_of(exc: BaseException, scrub: Scrubber,
               login_status: int | None = None) -> Failure | None:
    """A ``Failure`` for the retry table from a simple-salesforce or transport exception."""
    if isinstance(exc, BadResponse):
        return Failure(exc.status, exc.code, exc, message=scrub(exc.message))
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return Failure(None, BAD_JSON, exc, message="the answer is not valid JSON")
    if isinstance(exc, SalesforceAuthenticationFailed):
        return login_failure(exc, login_status, scrub)
    if isinstance(exc, SalesforceError):
        code, message = first_error(exc.content)
        return Failure(exc.status, code, exc, message=scrub(message))
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return Failure(exc=exc, message=scrub(" ".join(str(exc).split())[:200]))
    return None
