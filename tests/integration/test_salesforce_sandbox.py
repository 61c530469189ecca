"""The Salesforce connector through simple-salesforce against the local sandbox."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from support.clock import FakeClock

from funnelsync.config.models import LimitsConfig, SalesforceConfig
from funnelsync.connectors.http import RetryPolicy
from funnelsync.connectors.paging import AfterKey
from funnelsync.connectors.salesforce.connector import SalesforceConnector, parse_sf_datetime
from funnelsync.sandbox import Sandbox


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=200, clock=clock) as sb:
        yield sb


def make(sb: Sandbox, **config: Any) -> SalesforceConnector:
    cfg = SalesforceConfig(username="demo@funnelsync.local", password="demo",
                           security_token="demo", login_url=sb.url, **config)
    no_wait = RetryPolicy(60.0, sleep=lambda seconds: None)
    return SalesforceConnector(cfg, LimitsConfig(), retry=no_wait, bulk_poll_seconds=0.0)


def pull(sf: SalesforceConnector, kind: str) -> dict[str, dict[str, Any]]:
    return {r["Id"]: dict(r) for r in sf.iter_records(kind)}  # type: ignore[arg-type]


def counts(sb: Sandbox, sobject: str) -> tuple[int, int]:
    stats = sb.stats()["salesforce"]
    return stats["counts"][sobject], stats["deleted"][sobject]  # type: ignore[index]


def test_full_pull_matches_sandbox_stats(sandbox: Sandbox) -> None:
    sf = make(sandbox)
    leads, deals = pull(sf, "leads"), pull(sf, "deals")
    live, deleted = counts(sandbox, "Lead")
    assert (len(leads), sum(r["IsDeleted"] for r in leads.values())) == (live + deleted, deleted)
    live, deleted = counts(sandbox, "Opportunity")
    assert (len(deals), sum(r["IsDeleted"] for r in deals.values())) == (live + deleted, deleted)
    assert sf.usage.by_kind["login"] == 1


def test_bulk_full_pull_equals_rest_full_pull(sandbox: Sandbox) -> None:
    rest = pull(make(sandbox), "leads")
    bulk_sf = make(sandbox, bulk_threshold=10)
    bulk = pull(bulk_sf, "leads")
    assert bulk_sf.usage.by_kind.get("bulk", 0) >= 3
    assert bulk.keys() == rest.keys()
    sample = sorted(rest)[:20]
    assert [_plain(bulk[i]) for i in sample] == [_plain(rest[i]) for i in sample]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """Compare values, not the attributes block (Bulk CSV has no polymorphic lookup types)."""
    out = {k: v for k, v in record.items() if k not in ("attributes", "Owner")}
    out["Owner.Name"] = (record.get("Owner") or {}).get("Name")
    return out


def test_incremental_after_touch_fetches_the_touched_records(sandbox: Sandbox) -> None:
    sf = make(sandbox)
    pages = list(sf.iter_pages("leads"))
    first = {r["Id"]: r for p in pages for r in p.records}
    watermark = max(parse_sf_datetime(r["SystemModstamp"]) for r in first.values())
    key = AfterKey(pages[-1].cursor, pages[-1].last_id)  # type: ignore[arg-type]
    assert key.stamp == watermark
    touched = sandbox.touch("salesforce", "Lead", 5)
    before = sf.usage.api_calls
    later = {r["Id"] for p in sf.iter_pages("leads", resume=key.encode()) for r in p.records}
    assert set(touched["ids"]) <= later  # type: ignore[arg-type]
    assert len(later) == 5
    assert sf.usage.api_calls - before == 1


def test_faults_and_short_token_ttl_still_yield_the_same_records() -> None:
    ticks = itertools.count(1_700_000_000)  # the sandbox clock moves one second per reading
    with Sandbox(seed=7, leads=300, deals=6000, fail_rate=0.1, token_ttl=4,
                 clock=lambda: float(next(ticks))) as sb:
        sf = make(sb)
        flaky = pull(sf, "deals")
        sb.set_faults(fail_rate=0, token_ttl=0)
        clean = pull(make(sb), "deals")
        live, deleted = counts(sb, "Opportunity")
    assert len(flaky) == live + deleted
    assert flaky.keys() == clean.keys()
    assert [flaky[i]["SystemModstamp"] for i in sorted(clean)] == \
        [clean[i]["SystemModstamp"] for i in sorted(clean)]
    assert sf.usage.retries >= 1
    assert sf.usage.by_kind["login"] >= 2
