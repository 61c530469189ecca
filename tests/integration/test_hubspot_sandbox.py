"""The HubSpot connector against the sandbox, through the real hubspot-api-client."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from support.clock import SANDBOX_START, FakeClock

from funnelsync.config.models import HubSpotConfig, LimitsConfig
from funnelsync.connectors.http import RetryPolicy
from funnelsync.connectors.hubspot.connector import HubSpotConnector
from funnelsync.connectors.hubspot.search import parse_stamp
from funnelsync.sandbox import Sandbox

OAUTH = {"client_id": "funnelsync-demo", "client_secret": "demo-secret",
         "refresh_token": "demo-refresh"}


@pytest.fixture
def world() -> Iterator[tuple[Sandbox, FakeClock]]:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(seed=7, leads=300, deals=300, clock=clock) as sandbox:
        yield sandbox, clock


def connect(sandbox: Sandbox, clock: FakeClock, auth: dict[str, Any] | None = None,
            **limits: Any) -> HubSpotConnector:
    config = HubSpotConfig(host=sandbox.url, **(auth or {"access_token": "pat-demo"}))
    policy = RetryPolicy(300.0, sleep=clock.sleep, clock=clock)
    return HubSpotConnector(config, LimitsConfig(**limits), retry=policy, clock=clock,
                            sleep=clock.sleep)


def snapshot(hs: HubSpotConnector, kind: str) -> dict[str, tuple[bool, tuple]]:
    out = {}
    for record in hs.iter_records(kind):  # type: ignore[arg-type]
        assert record["id"] not in out
        out[record["id"]] = (bool(record.get("archived")),
                             tuple(sorted(record["properties"].items())))
    return out


def test_full_pull_holds_exactly_what_the_sandbox_holds(world):
    sandbox, clock = world
    hs = connect(sandbox, clock)
    stats = sandbox.stats()["hubspot"]

    got = {kind: snapshot(hs, kind) for kind in ("leads", "deals")}

    for kind, obj in (("leads", "contacts"), ("deals", "deals")):
        archived = sum(a for a, _ in got[kind].values())
        assert (len(got[kind]) - archived, archived) == (stats["counts"][obj],
                                                         stats["archived"][obj])
    minimum = 1 + sum(math.ceil(stats["counts"][o] / 100) + math.ceil(stats["archived"][o] / 100)
                      for o in ("contacts", "deals"))
    assert hs.usage.api_calls == minimum
    assert sandbox.stats()["hubspot"]["api_calls"] == minimum


def test_incremental_after_touch_fetches_the_touched_records(world):
    sandbox, clock = world
    hs = connect(sandbox, clock)
    deals = list(hs.iter_records("deals"))
    mark = max(parse_stamp(d["properties"]["hs_lastmodifieddate"]) for d in deals)
    at_mark = {d["id"] for d in deals
               if parse_stamp(d["properties"]["hs_lastmodifieddate"]) == mark}
    clock.now += 60
    touched = set(sandbox.touch("hubspot", "deals", 25)["ids"])
    before = hs.usage.api_calls

    pages = list(hs.iter_pages("deals", since=datetime.fromtimestamp(mark / 1000, tz=UTC)))

    fetched = {r["id"] for p in pages for r in p.records if not r.get("archived")}
    assert touched <= fetched
    assert fetched - touched <= at_mark  # the closed start re-reads the watermark's own records
    archived_pages = math.ceil(sandbox.stats()["hubspot"]["archived"]["deals"] / 100)
    assert hs.usage.api_calls - before <= math.ceil(len(fetched) / 200) + archived_pages + 1


def test_faults_and_a_tight_rate_limit_yield_the_same_records(world):
    sandbox, clock = world
    clean = {kind: snapshot(connect(sandbox, clock), kind) for kind in ("leads", "deals")}
    sandbox.set_faults(fail_rate=0.1, rate_limit=8, token_ttl=10)
    hs = connect(sandbox, clock, OAUTH, hubspot_requests_per_10s=12)

    noisy = {kind: snapshot(hs, kind) for kind in ("leads", "deals")}

    assert noisy == clean
    stats = sandbox.stats()["hubspot"]
    assert stats["faults_injected"] > 0
    assert stats["rate_limited"] > 0
    assert hs.usage.retries >= stats["faults_injected"]
    assert hs.usage.by_kind["auth"] > 1
