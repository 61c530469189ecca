"""HubSpot deletions through the sync job: read only when the counts say something was archived.

Search cannot see archived records, and the archived list has no order and no "since" filter.
Each increment looks at each object first (one search call: the newest record and the count of
live records); the archived list is read only when that count and the store's count of live
records moved apart since the last full read of the list, or once a week. Real clients against
the sandbox (seed 7: 300 contacts and 600 deals live, 6 contacts and 12 deals archived), one
fake clock shared by both; records are archived through the CRM's own API (``DELETE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot import HubSpot
from syncsupport import FakeClock, no_wait_factory, sandbox_config

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, Kind, Newest
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import RunResult, SyncJob

DAY = 24 * 3600
LOOKS = 2  # one look a stream, one record received each
ARCHIVED = {"leads": 6, "deals": 12}  # what the seed has archived
READS = ("probe", "search", "list")  # record reads; metadata kinds are counted elsewhere


@dataclass
class World:
    sandbox: Sandbox
    clock: FakeClock
    config: AppConfig
    made: list[Connector] = field(default_factory=list)

    def factory(self, name: str, config: AppConfig) -> Connector:
        connector = no_wait_factory(self.clock)(name, config)
        self.made.append(connector)
        return connector

    def pull(self, full: bool = False, factory: Any = None, after: float = 60) -> RunResult:
        """One pull of HubSpot ``after`` seconds later."""
        self.clock.tick(after)
        self.made.clear()
        job = SyncJob(self.config, sources=["hubspot"], connector_factory=factory or self.factory,
                      clock=lambda: datetime.fromtimestamp(self.clock(), UTC))
        return job.pull(full=full)

    @property
    def usage(self) -> Any:
        return self.made[-1].usage

    def reads(self) -> dict[str, int]:
        return {k: n for k, n in self.usage.by_kind.items() if k in READS}

    def live_ids(self, kind: Kind, count: int) -> list[str]:
        with Store.open(self.config.state.url) as store:
            return [r.id for r in store.iter_records("hubspot", kind)][:count]

    def archive(self, kind: Kind, ids: list[str]) -> None:
        """Archive records the way a HubSpot user or app does: DELETE /crm/v3/objects/..."""
        client = HubSpot(access_token="pat-demo", host=self.sandbox.url)
        api = client.crm.contacts.basic_api if kind == "leads" else client.crm.deals.basic_api
        for record_id in ids:
            api.archive(record_id)

    def deleted_in_store(self, kind: Kind, ids: list[str]) -> list[bool]:
        with Store.open(self.config.state.url) as store:
            return [store.get_record("hubspot", kind, i).is_deleted for i in ids]  # type: ignore[union-attr]


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    clock = FakeClock()
    with Sandbox(seed=7, leads=300, deals=600, clock=clock) as sandbox:
        world = World(sandbox, clock, sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}"))
        world.pull()  # the full load: it lists the archived records and counts the live ones
        yield world


def test_a_quiet_increment_reads_no_archived_record(world: World) -> None:
    for _ in range(2):
        result = world.pull()
        assert result.deleted["hubspot"] == {"leads": 0, "deals": 0}
        assert world.reads() == {"probe": 2}
        assert (world.usage.records, world.usage.received) == (0, LOOKS)


def test_a_deletion_in_the_crm_is_applied_on_the_next_run(world: World) -> None:
    world.pull()
    deals, contacts = world.live_ids("deals", 3), world.live_ids("leads", 2)
    world.archive("deals", deals)
    world.archive("leads", contacts)

    result = world.pull()

    assert result.deleted["hubspot"] == {"leads": 2, "deals": 3}
    assert world.deleted_in_store("deals", deals) == [True] * 3
    assert world.deleted_in_store("leads", contacts) == [True] * 2
    assert world.reads() == {"probe": 2, "list": 2}  # the counts moved: each archived list read
    assert world.usage.received == LOOKS + (6 + 2) + (12 + 3)
    assert result.pulled["hubspot"] == {"leads": 0, "deals": 0, "stage_changes": 0}

    world.pull()  # the counts agree again: back to one look a stream
    assert world.reads() == {"probe": 2}
    assert world.usage.received == LOOKS


def test_only_the_object_whose_count_moved_reads_its_archived_list(world: World) -> None:
    world.archive("deals", world.live_ids("deals", 1))

    result = world.pull()

    assert result.deleted["hubspot"] == {"leads": 0, "deals": 1}
    assert world.reads() == {"probe": 2, "list": 1}
    assert world.usage.received == LOOKS + 12 + 1


def test_changes_and_a_deletion_together(world: World) -> None:
    """Touched records come through the search, the deleted one through the archived list."""
    world.archive("deals", world.live_ids("deals", 1))
    world.sandbox.touch("hubspot", "deals", 5)  # live deals only

    result = world.pull()

    assert result.pulled["hubspot"]["deals"] == 5
    assert result.deleted["hubspot"] == {"leads": 0, "deals": 1}
    assert world.reads() == {"probe": 2, "search": 1, "list": 1}


def test_the_whole_list_is_read_once_a_week_even_when_the_counts_agree(world: World) -> None:
    world.pull(after=6 * DAY)
    assert world.reads() == {"probe": 2}

    result = world.pull(after=DAY)  # seven days after the full load's read

    assert world.reads() == {"probe": 2, "list": 2}
    assert world.usage.received == LOOKS + 6 + 12
    assert result.deleted["hubspot"] == {"leads": 0, "deals": 0}
    world.pull()
    assert world.reads() == {"probe": 2}


def test_a_steady_difference_costs_one_read_not_one_a_run(world: World) -> None:
    """A live contact the store does not hold (here: removed from the store, as a privacy
    request does) moves the counts apart once: the list is read, the difference kept."""
    with Store.open(world.config.state.url) as store:
        contact = next(r for r in store.iter_records("hubspot", "leads") if r.email)
        assert store.delete_person(contact.email or "") == 1

    world.pull()
    assert world.reads() == {"probe": 2, "list": 1}
    world.pull()
    assert world.reads() == {"probe": 2}
    world.archive("leads", world.live_ids("leads", 1))  # and a deletion is still seen
    assert world.pull().deleted["hubspot"] == {"leads": 1, "deals": 0}


class LaggingIndex:
    """The real connector, except that its look still counts ``lag`` records more: HubSpot's
    search index has not caught up with records archived a moment ago."""

    def __init__(self, inner: Connector, lag: int) -> None:
        self.inner, self.lag = inner, lag

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def newest(self, kind: Kind) -> Newest:
        found: Newest = self.inner.newest(kind)  # type: ignore[attr-defined]
        return replace(found, total=found.total + (self.lag if kind == "deals" else 0))


def test_a_deletion_the_index_still_counts_is_applied_once_it_does_not(world: World) -> None:
    gone = world.live_ids("deals", 1)
    world.archive("deals", gone)

    def lagging(name: str, config: AppConfig) -> Connector:
        return LaggingIndex(world.factory(name, config), lag=1)  # type: ignore[return-value]

    assert world.pull(factory=lagging).deleted["hubspot"]["deals"] == 0  # counts agree: no read
    assert world.deleted_in_store("deals", gone) == [False]

    assert world.pull().deleted["hubspot"]["deals"] == 1  # the index caught up: read, applied
    assert world.deleted_in_store("deals", gone) == [True]


def test_a_count_above_the_store_reads_the_list_rather_than_missing_one(world: World) -> None:
    """A look that counts fewer live records than the store holds after the increment (a record
    created between the look and the search, or one archived) always reads the list."""
    def behind(name: str, config: AppConfig) -> Connector:
        return LaggingIndex(world.factory(name, config), lag=-1)  # type: ignore[return-value]

    result = world.pull(factory=behind)

    assert world.reads() == {"probe": 2, "list": 1}
    assert result.deleted["hubspot"] == {"leads": 0, "deals": 0}


def test_a_full_pull_measures_the_counts_so_the_next_increment_is_quiet(world: World) -> None:
    world.archive("deals", world.live_ids("deals", 2))
    result = world.pull(full=True)
    assert result.deleted["hubspot"]["deals"] == 2
    assert world.reads() == {"list": 3 + 6 + 1 + 1}  # live contacts, deals; archived ones

    world.pull()
    assert world.reads() == {"probe": 2}
