"""Incremental pulls receive what changed and nothing more, on both CRMs, through the sync job.

Each stream's watermark is the key (modification time, id) of the last record it stored, so an
increment asks only for what comes after it: N records touched (the sandbox's ``touch`` gives
them one shared time, like a bulk update) are N records received, and nothing touched is
nothing received, however many records share the watermark's time. The job runs one CRM at a
time (``sources=[crm]``) with real clients, on a :class:`FakeClock` shared with the sandbox.

Seed 7 with 300 leads and 600 deals makes the counts literals. What is received beyond the
changed records is named where it is asserted: HubSpot's look at each object before its search
(one record each: the newest, with the count of live records), and the one full search page
that reveals more than a page of records sharing one time (read again while that time is walked
by id). Nothing archived, so no archived list is read (tests/integration/test_deletions_pull.py
reads them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from syncsupport import FakeClock, no_wait_factory, sandbox_config

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, Kind, Page
from funnelsync.connectors.paging import AfterKey
from funnelsync.connectors.salesforce import composite as sf_composite
from funnelsync.errors import RemoteError
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob

OBJECTS = {"salesforce": {"leads": "Lead", "deals": "Opportunity"},
           "hubspot": {"leads": "contacts", "deals": "deals"}}
LOOKS = {"salesforce": 0, "hubspot": 2}  # records HubSpot's looks receive, one per stream
# Calls of an increment when nothing changed: login + one call per stream, or fewer. Salesforce:
# login + one composite request (kind composite_read) carrying the first query of each stream
# (leads, deals, OpportunityHistory) as subrequests. HubSpot (a private-app token: no login):
# one look per stream (search, newest first, one result), which finds nothing newer than the
# watermark and as many live records as the store holds, so neither a search nor an archived
# list follows. Metadata (describes, stage catalogs, owners) comes from the state store's cache
# while fresh: no call (tests/integration/test_metadata_cache.py counts its reads).
QUIET_CALLS = {"salesforce": {"login": 1, "composite_read": 1}, "hubspot": {"probe": 2}}
# After changes that fit one page a stream: the same (Salesforce's first pages carry them), and
# on HubSpot the search after the look.
CHANGED_CALLS = {"salesforce": {"login": 1, "composite_read": 1},
                 "hubspot": {"probe": 2, "search": 2}}


@dataclass
class World:
    """A seed-7 sandbox, a state store, and the connectors of the last pull."""

    sandbox: Sandbox
    clock: FakeClock
    config: AppConfig
    made: list[Connector] = field(default_factory=list)

    def factory(self, name: str, config: AppConfig) -> Connector:
        connector = no_wait_factory(self.clock)(name, config)
        self.made.append(connector)
        return connector

    def pull(self, crm: str, factory: Any = None) -> dict[str, int]:
        """One incremental pull of ``crm`` a minute later; what it stored per stream."""
        self.clock.tick(60)
        self.made.clear()
        job = SyncJob(self.config, sources=[crm], connector_factory=factory or self.factory,
                      clock=lambda: datetime.fromtimestamp(self.clock(), UTC))
        return job.pull().pulled[crm]

    @property
    def connector(self) -> Connector:
        return self.made[-1]

    def touch(self, crm: str, kind: str, count: int) -> list[str]:
        return self.sandbox.touch(crm, OBJECTS[crm][kind], count)["ids"]  # type: ignore[return-value]

    def watermark(self, crm: str, stream: str) -> tuple[datetime | None, str | None]:
        with Store.open(self.config.state.url) as store:
            mark = store.get_watermark(crm, stream)
        assert mark is not None
        return mark.cursor, mark.resume


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _world(url: str) -> Iterator[World]:
    clock = FakeClock()
    with Sandbox(seed=7, leads=300, deals=600, clock=clock) as sandbox:
        yield World(sandbox, clock, sandbox_config(sandbox, url))


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    yield from _world(f"sqlite:///{tmp_path / 'fs.db'}")


@pytest.fixture
def any_store_world(db_url: str) -> Iterator[World]:
    """The same world on each state-store backend (SQLite, PostgreSQL)."""
    yield from _world(db_url)


NOTHING = {"leads": 0, "deals": 0, "stage_changes": 0}


def test_nothing_changed_receives_nothing_with_one_call_per_stream(crm: str,
                                                                   world: World) -> None:
    full = world.pull(crm)
    assert (full["leads"], full["deals"]) == (300, 600)
    assert world.pull(crm) == NOTHING  # the first increment after the full load
    assert world.pull(crm) == NOTHING
    usage = world.connector.usage
    assert (usage.records, usage.received) == (0, LOOKS[crm])
    assert usage.by_kind == QUIET_CALLS[crm]


def test_an_increment_receives_exactly_the_touched_records(crm: str, world: World) -> None:
    world.pull(crm)
    world.pull(crm)
    touched = {kind: set(world.touch(crm, kind, 7)) for kind in ("leads", "deals")}

    pulled = world.pull(crm)

    assert (pulled["leads"], pulled["deals"]) == (7, 7)
    usage = world.connector.usage
    # Salesforce: one OpportunityHistory row per touched opportunity, too
    assert usage.records == {"salesforce": 21, "hubspot": 14}[crm]
    assert usage.received == usage.records + LOOKS[crm]
    assert usage.by_kind == CHANGED_CALLS[crm]  # one page per stream holds every change
    assert world.pull(crm) == NOTHING
    assert len(touched["leads"]) == len(touched["deals"]) == 7


def test_a_key_whose_time_has_not_settled_is_kept_as_a_closed_start(crm: str,
                                                                    world: World) -> None:
    world.pull(crm)
    world.pull(crm)
    world.touch(crm, "deals", 3)
    now = datetime.fromtimestamp(world.clock(), UTC)  # pulled the same instant they changed
    job = SyncJob(world.config, sources=[crm], connector_factory=world.factory,
                  clock=lambda: now)

    assert job.pull().pulled[crm]["deals"] == 3

    cursor, resume = world.watermark(crm, "deals")
    assert resume == AfterKey(cursor, "").encode()  # the CRM may still stamp rows at `cursor`
    assert world.pull(crm)["deals"] == 3  # read once more, a minute later: now settled
    cursor, resume = world.watermark(crm, "deals")
    assert AfterKey.decode(resume).id != ""
    assert world.pull(crm) == NOTHING


def test_hundreds_sharing_one_time_are_received_once(crm: str, world: World) -> None:
    """250 leads and 250 deals touched at one time: the increment receives each once, and the
    next one (whose watermark sits on that time) receives none of them again."""
    world.pull(crm)
    world.pull(crm)
    world.touch(crm, "leads", 250)
    world.touch(crm, "deals", 250)

    pulled = world.pull(crm)

    assert (pulled["leads"], pulled["deals"]) == (250, 250)
    usage = world.connector.usage
    if crm == "salesforce":
        assert pulled["stage_changes"] == 250  # 250 history rows sharing one CreatedDate
        assert usage.records == usage.received == 750
        assert usage.by_kind == QUIET_CALLS[crm]  # each stream fits one 2,000-row page
    else:
        # per stream: a full page on one time (200, read again while walking that time by
        # id), the walk (200 + 50) and the search after it that finds nothing newer
        assert usage.records == 500
        assert usage.received == 500 + 2 * 200 + LOOKS[crm]
        assert usage.by_kind == {**QUIET_CALLS[crm], "search": 2 * 4}
    assert world.pull(crm) == NOTHING
    assert world.connector.usage.by_kind == QUIET_CALLS[crm]


def test_a_key_inside_a_tie_continues_after_its_id(crm: str, world: World) -> None:
    """Records after (T, id) where 250 records share T: exactly those with a greater id."""
    world.pull(crm)
    ids = world.touch(crm, "deals", 250)
    world.pull(crm)
    stamp, _ = world.watermark(crm, "deals")
    assert stamp is not None
    order = sorted(ids) if crm == "salesforce" else sorted(ids, key=int)
    key = AfterKey(stamp, order[99])

    connector = no_wait_factory(world.clock)(crm, world.config)
    pages = list(connector.iter_pages("deals", resume=key.encode()))

    got = [_id(crm, r) for p in pages for r in p.records if not _deleted(crm, r)]
    # Salesforce answers in Id order; HubSpot's order among equal times is its own
    assert (got if crm == "salesforce" else sorted(got, key=int)) == order[100:]
    assert len(got) == 150
    assert connector.usage.received == 150  # a sync's HubSpot connector reads no archived list
    assert (pages[0].cursor, pages[0].last_id) == (stamp, order[-1])


def test_a_watermark_without_an_id_reads_its_time_once_then_keys(crm: str,
                                                                 world: World) -> None:
    """A watermark stored before keys were kept (a cursor, no id) starts at its time, ``>=``:
    the records sharing it are read once more, then the key it stores ends that."""
    world.pull(crm)
    world.touch(crm, "deals", 250)
    world.pull(crm)
    stamp, token = world.watermark(crm, "deals")
    assert AfterKey.decode(token) is not None
    with Store.open(world.config.state.url) as store:
        store.set_watermark(crm, "deals", stamp, None)

    assert world.pull(crm)["deals"] == 250
    assert world.watermark(crm, "deals") == (stamp, token)
    assert world.pull(crm)["deals"] == 0


class DiesAfterFirstPage:
    """The real connector, except that a pull of ``kind`` breaks after its first page."""

    def __init__(self, inner: Connector, kind: Kind) -> None:
        self.inner, self.kind = inner, kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def iter_pages(self, kind: Kind, since: datetime | None = None,
                   resume: str | None = None) -> Iterator[Page]:
        pages = self.inner.iter_pages(kind, since=since, resume=resume)
        if kind != self.kind:
            yield from pages
            return
        yield next(pages)
        raise RemoteError("connection reset by peer", code="TEST_CRASH")


def test_a_pull_cut_short_goes_on_after_the_last_page_it_stored(
        crm: str, any_store_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """250 deals at one time, pages of 200 on both CRMs: the pull dies after its first page;
    the next one receives the other 50 and none of the first 200 again."""
    world = any_store_world
    monkeypatch.setattr(sf_composite, "BATCH_HEADERS", {"Sforce-Query-Options": "batchSize=200"})
    world.pull(crm)
    world.touch(crm, "deals", 250)

    def dying(name: str, config: AppConfig) -> Connector:
        return DiesAfterFirstPage(world.factory(name, config), "deals")  # type: ignore[return-value]

    with pytest.raises(RemoteError, match="connection reset by peer"):
        world.pull(crm, dying)
    stored = world.connector.usage.records
    pulled = world.pull(crm)

    assert pulled["deals"] == 50
    if crm == "salesforce":
        assert stored == 200  # the first deals page (leads had nothing new)
        assert world.connector.usage.records == 50 + 250  # and the history rows
    else:
        assert stored == 200
        assert world.connector.usage.records == 50
    assert world.pull(crm) == NOTHING


def _id(crm: str, record: dict[str, Any]) -> str:
    return str(record["Id"] if crm == "salesforce" else record["id"])


def _deleted(crm: str, record: dict[str, Any]) -> bool:
    return bool(record.get("IsDeleted") if crm == "salesforce" else record.get("archived"))
