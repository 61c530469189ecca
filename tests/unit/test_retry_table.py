"""The retry table, row by row, and the policy's waiting, re-auth and give-up behaviour."""

from __future__ import annotations

import pytest
import requests
import urllib3.exceptions
from support.clock import FakeClock

from funnelsync.config.models import LimitsConfig
from funnelsync.connectors.http import Action, Failure, RetryPolicy, classify, parse_retry_after
from funnelsync.errors import AuthError, RateLimited, RemoteError

TABLE = [
    # (status, code, exception, action)
    (None, None, requests.ConnectionError("refused"), Action.RETRY),
    (None, None, requests.ReadTimeout("slow"), Action.RETRY),
    (None, None, requests.ConnectTimeout("slow"), Action.RETRY),
    (None, None, urllib3.exceptions.ProtocolError("reset"), Action.RETRY),
    (None, None, urllib3.exceptions.MaxRetryError(None, "/x"), Action.RETRY),
    (None, None, ConnectionResetError("reset"), Action.RETRY),
    (None, None, TimeoutError("slow"), Action.RETRY),
    (429, None, None, Action.RETRY),
    (429, "TEN_SECONDLY_ROLLING", None, Action.RETRY),
    (429, "SECONDLY", None, Action.RETRY),
    (429, "DAILY", None, Action.QUOTA),
    (500, None, None, Action.RETRY),
    (502, None, None, Action.RETRY),
    (503, "SERVER_UNAVAILABLE", None, Action.RETRY),
    (504, None, None, Action.RETRY),
    (408, None, None, Action.RETRY),
    (400, "UNABLE_TO_LOCK_ROW", None, Action.RETRY),
    (None, "UNABLE_TO_LOCK_ROW", None, Action.RETRY),
    (401, "INVALID_SESSION_ID", None, Action.REAUTH),
    (401, None, None, Action.REAUTH),
    (401, "INVALID_AUTHENTICATION", None, Action.REAUTH),
    (400, None, None, Action.FAIL),
    (400, "MALFORMED_QUERY", None, Action.FAIL),
    (400, "INVALID_FIELD", None, Action.FAIL),
    (400, "VALIDATION_ERROR", None, Action.FAIL),
    (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", None, Action.FAIL),
    (403, None, None, Action.FAIL),
    (403, "INSUFFICIENT_ACCESS", None, Action.FAIL),
    (403, "REQUEST_LIMIT_EXCEEDED", None, Action.QUOTA),
    (404, "NOT_FOUND", None, Action.FAIL),
    (404, None, None, Action.FAIL),
    (409, None, None, Action.FAIL),
    (None, None, ValueError("bug"), Action.FAIL),
]


@pytest.mark.parametrize(("status", "code", "exc", "action"), TABLE)
def test_table_row(status: int | None, code: str | None, exc: BaseException | None,
                   action: Action) -> None:
    assert classify(status, code, exc) is action


def test_codes_match_case_insensitively() -> None:
    assert classify(403, "request_limit_exceeded") is Action.QUOTA


class Boom(Exception):
    def __init__(self, status: int | None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.retry_after = retry_after


def failure_of(exc: BaseException) -> Failure | None:
    if isinstance(exc, Boom):
        return Failure(exc.status, exc.code, exc, exc.retry_after, message="server says no")
    if isinstance(exc, requests.RequestException):
        return Failure(exc=exc)
    return None


def script(*outcomes: object):
    """A callable returning/raising the given outcomes in turn, counting calls."""
    items = list(outcomes)
    calls = {"n": 0}

    def fn() -> object:
        calls["n"] += 1
        item = items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return fn, calls


def make_policy(clock: FakeClock, max_seconds: float = 60.0) -> RetryPolicy:
    return RetryPolicy(max_seconds, base=1.0, cap=8.0, sleep=clock.sleep, clock=clock,
                       rand=lambda: 1.0)


def test_retries_with_capped_exponential_backoff_then_succeeds() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(503), Boom(502), Boom(500), Boom(500), Boom(500), "ok")
    seen: list[tuple[int, float]] = []
    result = make_policy(clock).call(fn, describe="query Lead", failure_of=failure_of,
                                     on_retry=lambda f, n, w: seen.append((n, w)))
    assert result == "ok"
    assert calls["n"] == 6
    # rand=1.0 gives the top of the jitter range: base * 2**(n-1), capped at 8
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert seen == [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0)]


def test_jitter_keeps_at_least_half_the_backoff() -> None:
    policy = RetryPolicy(60, base=1.0, cap=8.0, rand=lambda: 0.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_after_is_honoured() -> None:
    clock = FakeClock()
    fn, _ = script(Boom(429, "TEN_SECONDLY_ROLLING", retry_after=7.0), "ok")
    assert make_policy(clock).call(fn, describe="search deals", failure_of=failure_of) == "ok"
    assert clock.sleeps == [7.0]


def test_gives_up_after_the_time_budget_with_a_clear_message() -> None:
    clock = FakeClock()
    fn, calls = script(*[Boom(503, "SERVER_UNAVAILABLE")] * 10)
    with pytest.raises(RemoteError) as info:
        make_policy(clock, max_seconds=20).call(fn, describe="query Opportunity page 3",
                                                failure_of=failure_of)
    # waits 1+2+4+8 = 15; the next 8 s would end past 20 s, so attempt 5 is the last
    assert calls["n"] == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    err = info.value
    assert err.retryable is True
    assert err.status == 503
    assert err.code == "SERVER_UNAVAILABLE"
    assert err.message == ("query Opportunity page 3 failed after 5 attempt(s) over 15s: "
                           "HTTP 503 SERVER_UNAVAILABLE: server says no; giving up")


def test_connection_errors_give_up_naming_the_exception() -> None:
    clock = FakeClock()
    fn, calls = script(*[requests.ConnectionError("refused")] * 5)
    with pytest.raises(RemoteError) as info:
        make_policy(clock, max_seconds=3).call(fn, describe="login", failure_of=failure_of)
    assert calls["n"] == 3  # waits 1 + 2 fit in 3 s, the next 4 s would not
    assert info.value.message == "login failed after 3 attempt(s) over 3s: ConnectionError; " \
                                 "giving up"


def test_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(429, retry_after=3600.0), "never")
    with pytest.raises(RemoteError):
        make_policy(clock).call(fn, describe="list deals", failure_of=failure_of)
    assert calls["n"] == 1
    assert clock.sleeps == []


def test_fail_is_immediate() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(400, "MALFORMED_QUERY"))
    with pytest.raises(RemoteError) as info:
        make_policy(clock).call(fn, describe="query Lead", failure_of=failure_of)
    assert calls["n"] == 1
    assert info.value.retryable is False
    assert info.value.message == "query Lead: HTTP 400 MALFORMED_QUERY: server says no"


def test_quota_raises_rate_limited_without_retrying() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(403, "REQUEST_LIMIT_EXCEEDED"))
    with pytest.raises(RateLimited) as info:
        make_policy(clock).call(fn, describe="query Lead", failure_of=failure_of)
    assert calls["n"] == 1
    assert info.value.exit_code == 4
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"


def test_reauth_once_then_repeats_the_same_call_without_waiting() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(401, "INVALID_SESSION_ID"), "page 2")
    logins: list[int] = []
    result = make_policy(clock).call(fn, describe="query more", failure_of=failure_of,
                                     on_reauth=lambda: logins.append(1))
    assert (result, calls["n"], logins, clock.sleeps) == ("page 2", 2, [1], [0.0])


def test_reauth_rejected_twice_is_an_auth_error() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(401), Boom(401), "never")
    with pytest.raises(AuthError) as info:
        make_policy(clock).call(fn, describe="list deals", failure_of=failure_of,
                                on_reauth=lambda: None)
    assert calls["n"] == 2
    assert info.value.message == ("list deals: HTTP 401: server says no "
                                  "(credentials rejected after logging in again)")


def test_reauth_without_a_way_to_renew_is_an_auth_error() -> None:
    fn, _ = script(Boom(401, "INVALID_SESSION_ID"))
    with pytest.raises(AuthError):
        make_policy(FakeClock()).call(fn, describe="query", failure_of=failure_of)


def test_unclassified_exceptions_propagate_untouched() -> None:
    fn, calls = script(KeyError("records"))
    with pytest.raises(KeyError):
        make_policy(FakeClock()).call(fn, describe="query", failure_of=failure_of)
    assert calls["n"] == 1


def test_custom_classifier_can_refuse_retries() -> None:
    clock = FakeClock()
    fn, calls = script(Boom(503))
    with pytest.raises(RemoteError):
        make_policy(clock).call(fn, describe="create tasks", failure_of=failure_of,
                                classify=lambda s, c, e: Action.FAIL)
    assert calls["n"] == 1


def test_from_limits_and_retry_after_parsing() -> None:
    policy = RetryPolicy.from_limits(LimitsConfig(max_retry_seconds=42))
    assert policy.max_seconds == 42
    assert [parse_retry_after(v) for v in (None, "", "3", " 2.5 ", "Wed, 21 Oct 2026")] == \
        [None, None, 3.0, 2.5, None]
