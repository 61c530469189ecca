"""How every HubSpot call is made: kept API objects, limiter, usage, retry policy, raw JSON.

- The generated client builds a new ``ApiClient`` (and connection pool) on every
  ``client.crm.deals.basic_api`` access, so each API object is built once, on first use, and kept.
- Calls pass ``_preload_content=False``: the client then returns the urllib3 response without
  building its models (slow: ~20 ms per 100-record page) and without logging the body (an OAuth
  token answer would otherwise reach the debug log). We parse the JSON ourselves, and check it
  (``decode``): an HTML page, JSON cut off, or JSON that is not HubSpot's envelope (``results``
  a list of objects, ``paging.next.after``; ``results`` required from the read calls) is a
  ``BadResponse`` the retry table knows.
- urllib3's own retries are off (``retry=False``): retries happen in one place,
  :class:`funnelsync.connectors.http.RetryPolicy`, which sees every failure through
  :meth:`HubSpotTransport.failure_of`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from hubspot import HubSpot

from funnelsync.config.models import HubSpotConfig, LimitsConfig
from funnelsync.connectors.base import Usage
from funnelsync.connectors.decode import (
    BadResponse,
    bad_shape,
    decode_json,
    is_list_of_objects,
    require,
)
from funnelsync.connectors.http import (
    TRANSIENT_EXCEPTIONS,
    Action,
    Failure,
    RetryPolicy,
    parse_retry_after,
)
from funnelsync.connectors.http import classify as default_classify
from funnelsync.connectors.hubspot.auth import TokenManager, token_failure_message
from funnelsync.connectors.hubspot.limits import HubSpotLimiter
from funnelsync.errors import AuthError

# (connect, read) seconds: a stuck socket becomes a retryable timeout instead of a hang.
REQUEST_TIMEOUT = (10.0, 120.0)
RAW: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT}

_API_FACTORIES: dict[str, Callable[[HubSpot], Any]] = {
    "contacts.basic": lambda c: c.crm.contacts.basic_api,
    "contacts.search": lambda c: c.crm.contacts.search_api,
    "contacts.batch": lambda c: c.crm.contacts.batch_api,
    "deals.basic": lambda c: c.crm.deals.basic_api,
    "deals.search": lambda c: c.crm.deals.search_api,
    "deals.batch": lambda c: c.crm.deals.batch_api,
    "tasks.basic": lambda c: c.crm.objects.tasks.basic_api,
    "tasks.batch": lambda c: c.crm.objects.tasks.batch_api,
    "pipelines": lambda c: c.crm.pipelines.pipelines_api,
    "properties": lambda c: c.crm.properties.core_api,
    "owners": lambda c: c.crm.owners.owners_api,
    "associations": lambda c: c.crm.associations.v4.batch_api,
    "oauth": lambda c: c.oauth.tokens_api,
}

Classifier = Callable[[int | None, str | None, BaseException | None], Action]


def is_api_exception(exc: BaseException) -> bool:
    """True for any generated package's ``ApiException`` (each package has its own class)."""
    return (type(exc).__module__.startswith("hubspot.")
            and isinstance(getattr(exc, "status", None), int) and hasattr(exc, "body"))


def body_text(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else ""


def parse_json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def error_code(status: int | None, text: str) -> str | None:
    """HubSpot's code for a failure: ``policyName`` for 429, else ``category``; a missing
    property is named by its own code (it hides inside a VALIDATION_ERROR message)."""
    if "PROPERTY_DOESNT_EXIST" in text:
        return "PROPERTY_DOESNT_EXIST"
    parsed = parse_json(text)
    if status == 429:
        return parsed.get("policyName") or parsed.get("errorType") or None
    return parsed.get("category") or None


class HubSpotTransport:
    """Makes calls: token fresh, limiter passed, call counted, failures classified, JSON out."""

    def __init__(self, config: HubSpotConfig, limits: LimitsConfig, *, usage: Usage,
                 retry: RetryPolicy | None = None, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        clock = clock or time.monotonic
        self.policy = retry or RetryPolicy.from_limits(limits, clock=clock,
                                                       sleep=sleep or time.sleep)
        self.limiter = HubSpotLimiter(limits, clock=clock, sleep=sleep or self.policy.sleep)
        self.usage = usage
        self.host = config.host
        self._client = HubSpot(host=config.host, retry=False)
        self._apis: dict[str, Any] = {}
        self.auth = TokenManager(config, clock=clock, refresh_call=self._refresh,
                                 on_token=self._set_token)

    def __repr__(self) -> str:
        return f"HubSpotTransport(apis={sorted(self._apis)}, auth={self.auth!r})"

    def api(self, name: str) -> Any:
        """The API object ``name`` (see ``_API_FACTORIES``), built on first use and kept."""
        if name not in self._apis:
            api = _API_FACTORIES[name](self._client)
            api.api_client.configuration.access_token = self.auth.token
            self._apis[name] = api
        return self._apis[name]

    def call(self, kind: str, describe: str, fn: Callable[[], Any], *,
             classify: Classifier | None = None) -> tuple[int, dict[str, Any]]:
        """Run ``fn`` (one client call with ``**RAW``) under limiter and retry policy."""
        def attempt() -> tuple[int, dict[str, Any]]:
            self.auth.ensure_fresh()
            self.limiter.acquire(kind)
            self.usage.count_call(kind)
            response = fn()
            self._note_quota(response.headers)
            return decode(response, kind)

        return self.policy.call(attempt, describe=describe, failure_of=self.failure_of,
                                on_reauth=self.auth.reauth(), on_retry=self._on_retry,
                                classify=classify or default_classify)

    def failure_of(self, exc: BaseException) -> Failure | None:
        """A secret-free :class:`Failure` for a client exception; None if not a remote one."""
        if isinstance(exc, BadResponse):
            return Failure(status=exc.status, code=exc.code, exc=exc,
                           message=self.scrub(exc.message))
        if is_api_exception(exc):
            text = body_text(exc)
            status = getattr(exc, "status", None)
            headers = getattr(exc, "headers", None) or {}
            message = str(parse_json(text).get("message") or getattr(exc, "reason", "") or "")
            return Failure(status=status, code=error_code(status, text), exc=exc,
                           retry_after=parse_retry_after(headers.get("Retry-After")),
                           message=self.scrub(message)[:500])
        if isinstance(exc, TRANSIENT_EXCEPTIONS):
            # e.g. "cannot reach http://127.0.0.1:9 (Connection refused)": names the host
            return Failure(exc=exc, message=self.scrub(f"cannot reach {self.host} "
                                                       f"({_reason(exc)})")[:300])
        return None

    def scrub(self, text: str) -> str:
        for secret in self.auth.secrets():
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        for api in self._apis.values():
            api.api_client.rest_client.pool_manager.clear()
        self._apis.clear()

    def _note_quota(self, headers: Any) -> None:
        """Private apps see the daily quota in ``X-HubSpot-RateLimit-Daily(-Remaining)``."""
        try:
            daily = int(headers.get("X-HubSpot-RateLimit-Daily"))
            left = int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        except (TypeError, ValueError):
            return
        self.usage.quota_max, self.usage.quota_used = daily, daily - left

    def _on_retry(self, failure: Failure, attempt: int, wait: float) -> None:
        self.usage.retries += 1

    def _set_token(self, token: str) -> None:
        for api in self._apis.values():
            api.api_client.configuration.access_token = token

    def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        api = self.api("oauth")

        def attempt() -> dict[str, Any]:
            self.usage.count_call("auth")
            return decode(api.create(**form, **RAW), "auth")[1]

        def failure_of(exc: BaseException) -> Failure | None:
            if is_api_exception(exc) and getattr(exc, "status", None) in (400, 401, 403):
                raise AuthError(token_failure_message(getattr(exc, "status", None),
                                                      body_text(exc)),
                                hint="re-authorise the app and update hubspot.refresh_token "
                                     "(and check client_id / client_secret)") from None
            return self.failure_of(exc)

        return self.policy.call(attempt, describe="HubSpot OAuth token refresh",
                                failure_of=failure_of, on_retry=self._on_retry)


def _reason(exc: BaseException) -> str:
    """The last, most specific part of a connection error ("[Errno 111] Connection refused")."""
    text = str(getattr(exc, "reason", None) or exc)
    return text.rsplit(": ", 1)[-1].strip(" )'\"") or type(exc).__name__


# The read calls: their answer always holds ``results``.
RESULTS_KINDS = frozenset({"list", "search", "probe", "pipelines", "owners", "associations",
                           "batch_read"})


def decode(response: Any, kind: str = "") -> tuple[int, dict[str, Any]]:
    """Status and parsed, checked JSON body of a raw (``_preload_content=False``) response;
    a list answer comes as ``{"results": [...]}``. BadResponse for an HTML page, a body that is
    not whole JSON, or one that is not HubSpot's envelope."""
    data = response.data
    response.release_conn()
    status = int(response.status)
    if not data or not data.strip():
        return status, {}
    parsed = decode_json(data, response.headers.get("Content-Type"), status)
    if isinstance(parsed, list):
        parsed = {"results": parsed}
    if not isinstance(parsed, dict):
        raise bad_shape("an answer must be a JSON object or list", status)
    check_envelope(parsed, kind, status)
    return status, parsed


def check_envelope(body: dict[str, Any], kind: str, status: int | None = None) -> None:
    """BadResponse (BAD_SHAPE) unless ``body`` has HubSpot's envelope for a call of ``kind``."""
    if kind in RESULTS_KINDS or "results" in body:
        require(is_list_of_objects(body.get("results")),
                "results must be a list of objects", status)
    paging = body.get("paging")
    if paging is not None:
        following = paging.get("next") if isinstance(paging, dict) else None
        require(isinstance(paging, dict) and (following is None or (
            isinstance(following, dict)
            and isinstance(following.get("after"), str | int | None))),
            "paging must be an object with next.after", status)
    if kind == "probe":
        require(isinstance(body.get("total"), int) and not isinstance(body.get("total"), bool),
                "a search answer needs a numeric total", status)
    if kind == "auth":
        require(isinstance(body.get("access_token"), str)
                and isinstance(body.get("expires_in"), int | float | None),
                "a token answer needs access_token (and a numeric expires_in)", status)
