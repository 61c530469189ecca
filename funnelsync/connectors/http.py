"""Retries in one place: a table from (status, error code, exception type) to an action.

Both connectors call every remote operation through :meth:`RetryPolicy.call`; nothing else in
funnelsync retries, sleeps or re-authenticates on its own.

API (small on purpose)
----------------------
``Failure(status=None, code=None, exc=None, retry_after=None, message="")``
    What one failed attempt looked like, built by the *connector* from its client library's
    exception: HTTP status, the vendor's error code (Salesforce ``errorCode``; HubSpot
    ``policyName`` for 429s, otherwise ``category``), the ``Retry-After`` seconds if sent, and a
    short server message that carries no secret.
``classify(status=None, code=None, exc=None) -> Action``
    Looks the failure up in ``RULES`` (first matching row wins): ``RETRY``, ``REAUTH``,
    ``FAIL`` or ``QUOTA``. Codes are matched before statuses, so 403 REQUEST_LIMIT_EXCEEDED is
    QUOTA while a plain 403 is FAIL. An answer that is not the API's (``connectors.decode``:
    an HTML page, JSON cut off, JSON of the wrong shape) has a code of its own.
``RetryPolicy(max_seconds=120.0, *, base=0.5, cap=30.0, sleep=time.sleep,
clock=time.monotonic, rand=random.random, max_reauth=1)``
    Capped exponential back-off with jitter (``min(cap, base * 2**(n-1))`` scaled by a random
    factor in [0.5, 1.0)), ``Retry-After`` honoured when present, and a bounded total time:
    a retry whose wait would end past ``max_seconds`` after the first attempt is not made.
    ``sleep``/``clock``/``rand`` are injectable so tests never sleep.
    ``RetryPolicy.from_limits(limits, **kw)`` takes ``max_seconds`` from ``LimitsConfig``.
``policy.call(fn, *, describe, failure_of, on_reauth=None, on_retry=None, classify=classify)``
    Runs ``fn()`` until it returns. When it raises, ``failure_of(exc)`` turns the exception
    into a ``Failure`` (return None for exceptions that are not remote failures: they propagate
    untouched). Then, by action:

    * RETRY  - wait and call ``fn`` again; after the time budget: ``RemoteError(retryable=True)``
      saying which call (``describe``), the status, code, attempts and seconds spent.
    * REAUTH - call ``on_reauth()`` (log in again / refresh the token) and call ``fn`` again at
      once, at most ``max_reauth`` times per call; without ``on_reauth``, or when the fresh
      credentials are rejected too: ``AuthError``. ``on_reauth`` may raise AuthError itself
      (e.g. a bare Salesforce session id that cannot be renewed).
    * FAIL   - ``RemoteError(retryable=False)`` at once.
    * QUOTA  - ``RateLimited`` at once (a daily quota does not come back by waiting).

    ``on_retry(failure, attempt, wait_seconds)`` is told about every retry (count them in
    ``Usage.retries``). ``fn`` must be safe to repeat: resuming a page is (same URL again);
    creating records is the caller's judgement (pass a stricter ``classify``).

Messages carry the describe text, status, code and the server's message: never headers,
request bodies or tokens. Errors raised here are chained ``from None`` so the client library's
exception (which may echo the request URL) is not printed with them.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import requests
import tenacity
import urllib3.exceptions

from funnelsync.config.models import LimitsConfig
from funnelsync.errors import AuthError, FunnelsyncError, RateLimited, RemoteError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Action(StrEnum):
    RETRY = "retry"
    REAUTH = "reauth"
    FAIL = "fail"
    QUOTA = "quota"


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the connector saw it."""

    status: int | None = None
    code: str | None = None
    exc: BaseException | None = field(default=None, repr=False)
    retry_after: float | None = None
    message: str = ""

    def summary(self) -> str:
        """``HTTP 503 SERVER_UNAVAILABLE: message`` or the exception type for transport errors."""
        head = f"HTTP {self.status}" if self.status is not None else _exc_name(self.exc)
        code = f" {self.code}" if self.code else ""
        text = f": {self.message}" if self.message else ""
        return f"{head}{code}{text}"


# Transport failures: the request may never have reached the server, or its answer was lost.
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.TimeoutError,
    urllib3.exceptions.MaxRetryError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
)


@dataclass(frozen=True)
class Rule:
    """One row of the table. ``None`` fields match anything; ``status=500`` with
    ``status_class=True`` matches every 5xx."""

    action: Action
    status: int | None = None
    code: str | None = None
    exc: tuple[type[BaseException], ...] | None = None
    status_class: bool = False
    why: str = ""

    def matches(self, status: int | None, code: str | None, exc: BaseException | None) -> bool:
        if self.exc is not None and not isinstance(exc, self.exc):
            return False
        if self.code is not None and (code or "").upper() != self.code:
            return False
        if self.status is None:
            return True
        if status is None:
            return False
        return status // 100 == self.status // 100 if self.status_class else status == self.status


# First match wins: code-specific rows come before the status rows they refine.
RULES: tuple[Rule, ...] = (
    Rule(Action.RETRY, exc=TRANSIENT_EXCEPTIONS, why="connection error or timeout"),
    Rule(Action.QUOTA, code="REQUEST_LIMIT_EXCEEDED", why="Salesforce daily API quota used up"),
    Rule(Action.QUOTA, status=429, code="DAILY", why="HubSpot daily limit reached"),
    Rule(Action.RETRY, code="UNABLE_TO_LOCK_ROW", why="record locked by another transaction"),
    Rule(Action.RETRY, code="SERVER_UNAVAILABLE", why="Salesforce temporarily unavailable"),
    Rule(Action.RETRY, code="HTML_PAGE", why="an HTML page instead of the API's answer (proxy, "
                                              "portal or maintenance page)"),
    Rule(Action.RETRY, code="BAD_JSON", why="an answer cut off or not JSON"),
    Rule(Action.FAIL, code="BAD_SHAPE", why="JSON of the wrong shape: not the API's answer"),
    Rule(Action.REAUTH, code="INVALID_SESSION_ID", why="Salesforce session expired"),
    Rule(Action.REAUTH, status=401, why="token expired or rejected"),
    Rule(Action.FAIL, code="MALFORMED_QUERY", why="the query is invalid"),
    Rule(Action.FAIL, code="INVALID_FIELD", why="a field does not exist or is not visible"),
    Rule(Action.FAIL, code="INVALID_QUERY_LOCATOR",
         why="a query's next-page locator expired or was released: the same URL cannot work "
             "again; the connector asks the query again after its last page"),
    Rule(Action.RETRY, status=429, why="rate limited (Retry-After honoured)"),
    Rule(Action.RETRY, status=408, why="request timeout"),
    Rule(Action.RETRY, status=500, status_class=True, why="server error"),
    Rule(Action.FAIL, status=400, why="request rejected (validation)"),
    Rule(Action.FAIL, status=403, why="permission denied"),
    Rule(Action.FAIL, status=404, why="not found"),
)


def classify(status: int | None = None, code: str | None = None,
             exc: BaseException | None = None) -> Action:
    """The action for one failure: the first matching row of ``RULES``; FAIL when none does."""
    for rule in RULES:
        if rule.matches(status, code, exc):
            return rule.action
    return Action.FAIL


def _exc_name(exc: BaseException | None) -> str:
    return type(exc).__name__ if exc is not None else "error"


class _Again(Exception):
    """Internal: this attempt failed in a way worth another attempt."""

    def __init__(self, failure: Failure, *, immediate: bool = False) -> None:
        super().__init__(failure.summary())
        self.failure = failure
        self.immediate = immediate


@dataclass
class _CallState:
    describe: str
    start: float
    attempts: int = 0
    reauths: int = 0
    last: Failure | None = None


class RetryPolicy:
    """Back-off, re-auth and give-up rules for remote calls. See the module docstring."""

    def __init__(self, max_seconds: float = 120.0, *, base: float = 0.5, cap: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random, max_reauth: int = 1) -> None:
        self.max_seconds = max_seconds
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.clock = clock
        self.rand = rand
        self.max_reauth = max_reauth

    @classmethod
    def from_limits(cls, limits: LimitsConfig, **kwargs: object) -> RetryPolicy:
        """A policy whose total time budget is ``limits.max_retry_seconds``."""
        return cls(limits.max_retry_seconds, **kwargs)  # type: ignore[arg-type]

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
        ceiling = min(self.cap, self.base * 2 ** max(attempt - 1, 0))
        return ceiling * (0.5 + self.rand() / 2)

    def call(self, fn: Callable[[], T], *, describe: str,
             failure_of: Callable[[BaseException], Failure | None],
             on_reauth: Callable[[], None] | None = None,
             on_retry: Callable[[Failure, int, float], None] | None = None,
             classify: Callable[[int | None, str | None, BaseException | None], Action]
             = classify) -> T:
        """Run ``fn`` under this policy; see the module docstring for what each action does."""
        state = _CallState(describe=describe, start=self.clock())

        def attempt() -> T:
            state.attempts += 1
            try:
                return fn()
            except FunnelsyncError:
                raise
            except Exception as exc:
                failure = failure_of(exc)
                if failure is None:
                    raise
                self._handle(failure, classify(failure.status, failure.code, failure.exc),
                             state, on_reauth)
                raise  # unreachable: _handle always raises

        retrying = tenacity.Retrying(
            sleep=self.sleep, reraise=True,
            retry=tenacity.retry_if_exception_type(_Again),
            wait=lambda rs: self._wait(rs, state), stop=lambda rs: self._stop(rs, state),
            before_sleep=lambda rs: self._before_sleep(rs, state, on_retry))
        try:
            return retrying(attempt)
        except _Again as again:
            raise self._give_up(again.failure, state) from None

    def _handle(self, failure: Failure, action: Action, state: _CallState,
                on_reauth: Callable[[], None] | None) -> None:
        state.last = failure
        where = f"{state.describe}: {failure.summary()}"
        if action is Action.RETRY:
            raise _Again(failure)
        if action is Action.REAUTH:
            if on_reauth is None or state.reauths >= self.max_reauth:
                raise AuthError(f"{where} (credentials rejected"
                                f"{' after logging in again' if state.reauths else ''})",
                                hint="check the credentials in the configuration") from None
            state.reauths += 1
            log.info("re-authenticating after %s", where)
            on_reauth()
            raise _Again(failure, immediate=True)
        if action is Action.QUOTA:
            raise RateLimited(f"{where} (API quota exhausted; stopping)",
                              retry_after=failure.retry_after, status=failure.status,
                              code=failure.code,
                              hint="records already pulled are kept; run again when the "
                                   "quota resets") from None
        raise RemoteError(where, retryable=False, status=failure.status, code=failure.code,
                          hint=_fail_hint(failure.status)) from None

    def _wait(self, rs: tenacity.RetryCallState, state: _CallState) -> float:
        again = _again_of(rs)
        if again is None or again.immediate:
            return 0.0
        if again.failure.retry_after is not None:
            return max(0.0, again.failure.retry_after)
        return self.backoff(rs.attempt_number)

    def _stop(self, rs: tenacity.RetryCallState, state: _CallState) -> bool:
        elapsed = self.clock() - state.start
        return elapsed + rs.upcoming_sleep > self.max_seconds

    def _before_sleep(self, rs: tenacity.RetryCallState, state: _CallState,
                      on_retry: Callable[[Failure, int, float], None] | None) -> None:
        again = _again_of(rs)
        if again is None:
            return
        log.info("retrying %s after %s (attempt %d, waiting %.1fs)", state.describe,
                 again.failure.summary(), rs.attempt_number, rs.upcoming_sleep)
        if on_retry is not None:
            on_retry(again.failure, rs.attempt_number, rs.upcoming_sleep)

    def _give_up(self, failure: Failure, state: _CallState) -> RemoteError:
        spent = self.clock() - state.start
        message = (f"{state.describe} failed after {state.attempts} attempt(s) over "
                   f"{spent:.0f}s: {failure.summary()}; giving up")
        return RemoteError(message, retryable=True, status=failure.status, code=failure.code,
                           hint=f"the service kept failing for {self.max_seconds:.0f}s "
                                "(limits.max_retry_seconds); run again later")


def _again_of(rs: tenacity.RetryCallState) -> _Again | None:
    outcome = rs.outcome
    if outcome is None or not outcome.failed:
        return None
    exc = outcome.exception()
    return exc if isinstance(exc, _Again) else None


def _fail_hint(status: int | None) -> str:
    if status == 403:
        return "the integration user lacks a permission; grant it or remove the field"
    if status == 404:
        return "the object or record does not exist for this user"
    return "the request was rejected; this is not temporary, check the message"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None when absent or a date."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


__all__ = [
    "RULES",
    "TRANSIENT_EXCEPTIONS",
    "Action",
    "Failure",
    "RetryPolicy",
    "Rule",
    "classify",
    "parse_retry_after",
]
