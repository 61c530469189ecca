"""Gone query locators, end to end: the sandbox expires and releases them as Salesforce does, and
a pull asks the query again after the last page it stored, receiving every record once.

Salesforce expires a query locator after 15 minutes unused and keeps 10 open per user,
releasing the oldest; following a gone one answers HTTP 400 ``INVALID_QUERY_LOCATOR``. The
sandbox does both on request (faults ``locator_ttl`` seconds and ``max_cursors``), on its
injected clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sfclient import salesforce_client
from simple_salesforce.exceptions import SalesforceMalformedRequest
from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector
from funnelsync.connectors.salesforce import composite as sf_composite
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob

PAGE_200 = {"Sforce-Query-Options": "batchSize=200"}
LEADS = "SELECT Id FROM Lead ORDER BY Id"
GONE = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=600, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


def test_a_locator_unused_longer_than_its_ttl_is_gone(sandbox: Sandbox) -> None:
    sandbox.set_faults(locator_ttl=900)
    sf = salesforce_client(sandbox.url)
    clock: FakeClock = sandbox.state.clock  # type: ignore[assignment]
    first = sf.query(LEADS, headers=PAGE_200)
    clock.tick(900)  # unused for exactly the ttl: still there, and used again now
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=PAGE_200)
    assert (len(first["records"]), len(second["records"]), second["done"]) == (200, 86, True)
    again = sf.query(LEADS, headers=PAGE_200)
    clock.tick(901)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more(again["nextRecordsUrl"], identifier_is_url=True, headers=PAGE_200)
    assert (info.value.status, info.value.content) == (400, GONE)


def test_an_eleventh_open_query_releases_the_oldest(sandbox: Sandbox) -> None:
    sandbox.set_faults(max_cursors=10)
    sf = salesforce_client(sandbox.url)
    opened = [sf.query(f"SELECT Id FROM Lead WHERE NumberOfEmployees > {n} ORDER BY Id",
                       headers=PAGE_200) for n in range(11)]
    sf.query("SELECT Id FROM Lead LIMIT 5")  # one page, no locator: releases nothing
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more(opened[0]["nextRecordsUrl"], identifier_is_url=True, headers=PAGE_200)
    assert info.value.content == GONE
    for page in opened[1:]:
        assert sf.query_more(page["nextRecordsUrl"], identifier_is_url=True,
                             headers=PAGE_200)["done"] is True


def test_a_pull_whose_third_stream_locator_expired_stores_every_record_once(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 200; the run reads each stream's first page ahead, then stores a page every 4
    minutes (the clock moves on each page stored). Leads (300 rows) and deals (600) follow their
    locators within 15 minutes of their last use; OpportunityHistory's first page was read 20
    minutes before its locator is followed, so that locator is gone, and the query is asked
    again after the key of the history page stored."""
    monkeypatch.setattr(sf_composite, "BATCH_HEADERS", PAGE_200)
    clock = FakeClock()
    made: list[Connector] = []
    with Sandbox(seed=7, leads=300, deals=600, clock=clock) as sandbox:
        sandbox.set_faults(locator_ttl=900)
        config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}")
        pulled = _pull(config, clock, made)
        stats: dict[str, Any] = sandbox.stats()["salesforce"]  # type: ignore[assignment]

    assert pulled == {"leads": 300, "deals": 600, "stage_changes": 3275}
    usage = made[-1].usage
    assert usage.records == 300 + 600 + 3275  # each row received once
    # Without the expiry, 19 queries follow the composite reads: 1 more leads page, 2 deals, 16
    # history. Here the gone locator is one call more: the query asked again answers with the
    # history page that locator named, and the 15 after it follow as before.
    assert usage.by_kind == {"login": 1, "composite_read": 2, "query": 20}
    assert stats["status_counts"] == {"200": 22, "400": 1}  # the gone locator
    with Store.open(config.state.url) as store:
        assert store.count_records("salesforce", "leads", include_deleted=True) == 300
        assert store.count_records("salesforce", "deals", include_deleted=True) == 600
        assert sum(1 for _ in store.iter_stage_changes("salesforce")) == 3275


def _pull(config: AppConfig, clock: FakeClock, made: list[Connector]) -> dict[str, int]:
    def factory(name: str, config: AppConfig) -> Connector:
        made.append(no_wait_factory(clock)(name, config))
        return made[-1]

    def slow_progress(source: str, stream: str, count: int) -> None:
        clock.tick(240)  # four minutes of work per page stored

    job = SyncJob(config, sources=["salesforce"], connector_factory=factory,
                  clock=lambda: datetime.fromtimestamp(clock(), UTC), progress=slow_progress)
    return job.pull().pulled["salesforce"]
