"""Catalogs, describes and owners are read from the CRM only when they can have changed.

The sync job runs against the sandbox with the real clients, on a :class:`FakeClock` shared
with it; calls are counted per kind by each connector. Seed 7 with 300 leads and 600 deals
makes the counts literals. A run within the time-to-live (24 h) spends nothing on metadata;
after it, Salesforce asks each describe ``If-Modified-Since`` (the sandbox answers 304, as
Salesforce does when nothing changed), reads the two catalogs again, and owners changed since
the last read, all folded with the run's first pages into composite requests; HubSpot reads its
pipelines (and owner lists) again. A deal moved into a stage the cached catalog lacks makes that
run read the catalog again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from syncsupport import FakeClock, no_wait_factory, sandbox_config

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import RunResult, SyncJob


def plus(*counts: dict[str, int]) -> dict[str, int]:
    return dict(sum((Counter(c) for c in counts), Counter()))


DAY = 24 * 3600
# Salesforce folds a run's first reads into the Composite resource (one API call for up to 25
# GETs, at most 5 of them queries; kind "composite_read"): the metadata that is due and each
# stream's first page (leads, deals, OpportunityHistory). HubSpot reads them one call each.
#
# An increment with nothing changed: Salesforce login + one composite (the three streams' first
# queries); HubSpot one look per stream (a search for the newest record and the count of live
# records, which finds nothing new and nothing archived).
QUIET = {"salesforce": {"login": 1, "composite_read": 1}, "hubspot": {"probe": 2}}
# HubSpot's metadata read again: its deal pipelines and the account's currency settings
# (company currency, exchange rates).
METADATA = {"hubspot": {"pipelines": 1, "settings": 2}}
# Owners: HubSpot's active and archived owner lists.
OWNERS = {"hubspot": {"owners": 2}}
# A full pull (the first run), HubSpot: 3 + 6 list pages live, 1 + 1 archived.
FULL = {"hubspot": {"list": 11}}
# The first run (and --full): Salesforce login; composite 1: describes of Lead, Opportunity and
# OpportunityHistory, the list of objects, OpportunityStage, LeadStatus, users, queues (4
# queries); composite 2, built from those describes: CurrencyType and DatedConversionRate (a
# multi-currency org with dated rates) and the first page of each stream (5 queries); then the
# second page of OpportunityHistory (3,275 rows). HubSpot: the full pull, metadata and owners.
FIRST = {"salesforce": {"login": 1, "composite_read": 2, "query": 1},
         "hubspot": plus(FULL["hubspot"], METADATA["hubspot"])}
# Metadata due again, the describes kept (the time-to-live passed): Salesforce login; the three
# describes asked If-Modified-Since, the list of objects, the two catalogs, users and queues
# changed since, the currency tables (the kept Opportunity describe has a currency) and the
# three first pages: 9 queries, so two composites. --refresh-metadata reads the describes whole
# and the currency tables after them: the same two composites.
DUE = {"salesforce": {"login": 1, "composite_read": 2},
       "hubspot": plus(QUIET["hubspot"], METADATA["hubspot"])}


class NotesOwnerReads:
    """The real Salesforce connector, noting the time each owner read asks from."""

    def __init__(self, inner: Connector, log: list[datetime | None]) -> None:
        self.inner, self.log = inner, log

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def users(self, since: datetime | None = None) -> list[dict[str, Any]]:
        self.log.append(since)
        return self.inner.users(since)  # type: ignore[attr-defined, no-any-return]


@dataclass
class World:
    sandbox: Sandbox
    clock: FakeClock
    config: AppConfig
    made: dict[str, Connector] = field(default_factory=dict)
    owner_reads: list[datetime | None] = field(default_factory=list)

    def factory(self, name: str, config: AppConfig) -> Connector:
        connector = no_wait_factory(self.clock)(name, config)
        if name == "salesforce":
            connector = NotesOwnerReads(connector, self.owner_reads)  # type: ignore[assignment]
        self.made[name] = connector
        return connector

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def pull(self, *crms: str, full: bool = False, refresh: bool = False) -> RunResult:
        """One pull of ``crms`` (every CRM when none is named) a minute later."""
        self.clock.tick(60)
        self.made.clear()
        job = SyncJob(self.config, sources=list(crms) or None, connector_factory=self.factory,
                      clock=self.now, refresh_metadata=refresh)
        return job.pull(full=full)

    def calls(self, crm: str) -> dict[str, int]:
        return self.made[crm].usage.by_kind

    def not_modified(self) -> int:
        """Salesforce answers 304, alone or as subrequests of a composite request."""
        stats = self.sandbox.stats()["salesforce"]
        return sum(int(stats[counts].get("304", 0))  # type: ignore[index]
                   for counts in ("status_counts", "subrequest_status_counts"))


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    clock = FakeClock()
    with Sandbox(seed=7, leads=300, deals=600, clock=clock) as sandbox:
        yield World(sandbox, clock, sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}"))


def test_metadata_is_read_once_then_not_within_the_time_to_live(crm: str, world: World) -> None:
    world.pull(crm)
    assert world.calls(crm) == FIRST[crm]

    world.pull(crm)
    assert world.calls(crm) == QUIET[crm]
    world.clock.tick(DAY - 3600)
    world.pull(crm)
    assert world.calls(crm) == QUIET[crm]
    assert world.not_modified() == 0


def test_after_the_time_to_live_describes_are_asked_if_modified_since(crm: str,
                                                                      world: World) -> None:
    world.pull(crm)
    world.clock.tick(DAY)

    pulled = world.pull(crm)

    assert pulled.pulled[crm] == {"leads": 0, "deals": 0, "stage_changes": 0}
    assert world.calls(crm) == DUE[crm]
    assert world.not_modified() == {"salesforce": 3, "hubspot": 0}[crm]  # all 3 describes
    world.pull(crm)
    assert world.calls(crm) == QUIET[crm]  # read again: fresh for another day


def test_refresh_metadata_and_full_read_it_again_at_once(crm: str, world: World) -> None:
    world.pull(crm)
    world.pull(crm, refresh=True)
    assert world.calls(crm) == DUE[crm]
    assert world.not_modified() == 0  # describes read whole, not asked if modified

    world.pull(crm, full=True)
    assert world.calls(crm) == FIRST[crm]
    world.pull(crm)
    assert world.calls(crm) == QUIET[crm]


def test_owners_are_kept_and_only_changes_read_after_the_time_to_live(world: World) -> None:
    """Both CRMs in one run: the identity step reads each CRM's owners (owner conflicts)."""
    world.pull()
    first_read = world.now()
    assert world.calls("salesforce") == FIRST["salesforce"]  # owners in the first composite
    assert world.calls("hubspot") == plus(FIRST["hubspot"], OWNERS["hubspot"])
    world.pull()
    assert (world.calls("salesforce"), world.calls("hubspot")) == (QUIET["salesforce"],
                                                                   QUIET["hubspot"])
    world.clock.tick(DAY)

    world.pull()

    assert world.calls("salesforce") == DUE["salesforce"]
    assert world.calls("hubspot") == plus(DUE["hubspot"], OWNERS["hubspot"])
    # every user and queue at first; then those changed since that read (10 min of slack)
    assert world.owner_reads == [None, first_read - timedelta(minutes=10)]
    with Store.open(world.config.state.url) as store:
        kept = store.get_state("metadata.salesforce.owners")
    assert len(kept["value"]) == 14 and kept["absent"] == []


def test_a_deal_in_a_stage_the_cache_lacks_reads_the_catalog_in_that_run(crm: str,
                                                                         world: World) -> None:
    world.pull(crm)
    world.pull(crm)
    added = world.sandbox.add_stage(crm, "Security Review", 65, count=3)

    pulled = world.pull(crm)

    assert pulled.pulled[crm]["deals"] == 3
    if crm == "salesforce":  # OpportunityStage + LeadStatus again; the page is mapped again
        assert world.calls(crm) == plus(QUIET[crm], {"query": 2})
    else:  # the deals' search; the pipelines again, then the deals from their watermark,
        # asking the new stage's entry time
        assert world.calls(crm) == plus(QUIET[crm], {"pipelines": 1, "search": 2})
    with Store.open(world.config.state.url) as store:
        catalog = [s.stage for s in store.catalog(crm) if s.label == "Security Review"]
        entered = sorted(c.record_id for c in store.iter_stage_changes(crm)
                         if c.to_stage == added["stage"])
    assert catalog == [added["stage"]]
    assert entered == sorted(added["ids"])  # type: ignore[arg-type]
    world.pull(crm)
    assert world.calls(crm) == QUIET[crm]
