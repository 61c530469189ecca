"""HubSpot rate limits: the client-side windows, 429 handling, give-up, usage counts."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from hubspot_portal import BASE_MS, Portal, PortalServer, make_connector
from support.clock import FakeClock

from funnelsync.config.models import LimitsConfig
from funnelsync.connectors.hubspot.limits import HubSpotLimiter
from funnelsync.errors import RateLimited, RemoteError

SINCE = datetime.fromtimestamp(BASE_MS / 1000, tz=UTC)
RATE_429 = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
            "correlationId": "c-1"}


@pytest.fixture
def site(portal_server: PortalServer) -> tuple[Portal, str]:
    portal, host = portal_server.fresh()
    for i in range(1, 2_001):
        portal.add("deals", i, BASE_MS + i)
    return portal, host


def max_in_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps if s <= t < s + window) for s in stamps)


def test_limiter_keeps_every_10_second_window_under_the_limit():
    clock = FakeClock()
    limiter = HubSpotLimiter(LimitsConfig(hubspot_requests_per_10s=90), clock=clock,
                             sleep=clock.sleep)
    stamps = []
    for _ in range(250):
        limiter.acquire("list")
        stamps.append(clock())

    assert max_in_window(stamps, 10.0) == 90
    assert stamps[89] == 1000.0
    assert stamps[90] == 1010.0
    assert clock.now == 1020.0


def test_search_calls_also_keep_the_per_second_limit():
    clock = FakeClock()
    limiter = HubSpotLimiter(LimitsConfig(hubspot_search_per_second=4), clock=clock,
                             sleep=clock.sleep)
    stamps = []
    for i in range(12):
        limiter.acquire("search" if i % 2 == 0 else "list")
        stamps.append(clock())
    searches = stamps[::2]

    assert max_in_window(searches, 1.0) == 4
    assert searches == [1000.0, 1000.0, 1000.0, 1000.0, 1001.0, 1001.0]


def test_a_normal_run_draws_no_429_from_a_strict_server(site):
    portal, host = site
    clock = FakeClock()
    portal.clock, portal.rate, portal.search_rate = clock, (10, 10.0), (2, 1.0)
    hs = make_connector(host, clock, limits={"hubspot_requests_per_10s": 9,
                                             "hubspot_search_per_second": 2})

    full = sum(len(p.records) for p in hs.iter_pages("deals"))
    changed = sum(len(p.records) for p in hs.iter_pages("deals", since=SINCE))

    assert (full, changed) == (2_000, 2_000)
    assert portal.limited == 0
    assert hs.usage.retries == 0
    assert hs.usage.by_kind == {"pipelines": 1, "list": 22, "search": 11}
    assert max_in_window(portal.stamps, 10.0) == 9
    assert max_in_window(portal.search_stamps, 1.0) == 2


def test_429_with_retry_after_is_honoured(site):
    portal, host = site
    clock = FakeClock()
    hs = make_connector(host, clock)
    hs.stage_catalog()
    portal.fail_next("/crm/v3/objects/deals", 429, RATE_429, headers={"Retry-After": "3"})

    page = next(hs.iter_pages("deals"))

    assert len(page.records) == 100
    assert clock.sleeps == [3.0]
    assert hs.usage.retries == 1
    assert hs.usage.by_kind == {"pipelines": 1, "list": 2}


def test_429_without_retry_after_backs_off_on_our_clock(site):
    portal, host = site
    clock = FakeClock()
    hs = make_connector(host, clock)
    hs.stage_catalog()
    portal.fail_next("/crm/v3/objects/deals/search", 429,
                     {**RATE_429, "policyName": "SECONDLY"}, times=2)

    pages = list(hs.iter_pages("deals", since=SINCE))

    assert sum(len(p.records) for p in pages) == 2_000
    assert clock.sleeps[:2] == [0.25, 0.5]  # base 0.5 s doubling, jitter factor 0.5
    assert hs.usage.retries == 2


def test_daily_limit_stops_the_run(site):
    portal, host = site
    hs = make_connector(host, FakeClock())
    portal.fail_next("/crm/v3/pipelines", 429, {**RATE_429, "policyName": "DAILY",
                                                "message": "You have reached your daily limit."})

    with pytest.raises(RateLimited) as caught:
        hs.stage_catalog()

    assert str(caught.value).startswith("read HubSpot deal pipelines: HTTP 429 DAILY: You have "
                                        "reached your daily limit. (API quota exhausted")
    assert hs.usage.retries == 0


def test_a_service_that_stays_down_is_given_up_after_the_time_budget(site):
    portal, host = site
    clock = FakeClock()
    hs = make_connector(host, clock)
    portal.fail_next("/crm/v3/pipelines", 503, {"status": "error", "message": "unavailable",
                                                "category": "SERVICE_UNAVAILABLE"}, times=50)

    with pytest.raises(RemoteError) as caught:
        hs.stage_catalog()

    assert caught.value.retryable is True
    assert str(caught.value).startswith(
        "read HubSpot deal pipelines failed after 9 attempt(s) over 46s: HTTP 503 "
        "SERVICE_UNAVAILABLE: unavailable; giving up")
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]  # next would pass 60 s
    assert hs.usage.api_calls == 9
    assert hs.usage.retries == 8


def test_daily_quota_headers_are_recorded(site):
    portal, host = site
    portal.extra_headers = {"X-HubSpot-RateLimit-Daily": "250000",
                            "X-HubSpot-RateLimit-Daily-Remaining": "249000"}
    hs = make_connector(host, FakeClock())

    hs.stage_catalog()

    assert (hs.usage.quota_used, hs.usage.quota_max) == (1000, 250000)


def test_refused_connections_are_retried_then_given_up():
    clock = FakeClock()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hs = make_connector(f"http://127.0.0.1:{port}", clock)

    with pytest.raises(RemoteError) as caught:
        hs.stage_catalog()

    assert "failed after 9 attempt(s)" in str(caught.value)
    assert "NewConnectionError" in str(caught.value)
    assert hs.usage.api_calls == 9
