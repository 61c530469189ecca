"""The metadata cache and a Source's use of it: what is read from the CRM, and when.

A fake Salesforce connector counts its metadata reads; the cache lives in a dict standing in for
the state store. Times are literals: a cache entry is trusted for the time-to-live, asked about
"changed since" its read time minus ten minutes, and read again at once when records name a
stage or an owner it lacks (values the CRM itself lacks are remembered, not asked about again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from funnelsync.config.models import AppConfig
from funnelsync.crm.metadata import Cached, MetadataCache, merge_rows
from funnelsync.crm.source import Source
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import FunnelDeal, FunnelLead

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class DictState:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get_state(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set_state(self, key: str, value: Any) -> None:
        self.values[key] = value


def stage(name: str, order: int) -> dict[str, Any]:
    return {"attributes": {"type": "OpportunityStage"}, "Id": f"01J{order}", "ApiName": name,
            "MasterLabel": name, "SortOrder": order, "IsActive": True, "IsClosed": False,
            "IsWon": False, "DefaultProbability": 10}


def status(name: str, order: int) -> dict[str, Any]:
    return {"attributes": {"type": "LeadStatus"}, "Id": f"01J1{order}", "ApiName": name,
            "MasterLabel": name, "SortOrder": order, "IsConverted": False}


def user(uid: str, active: bool = True) -> dict[str, Any]:
    return {"attributes": {"type": "User"}, "Id": uid, "Name": uid, "Email": None,
            "IsActive": active, "ManagerId": None}


class FakeSalesforce:
    """The metadata side of the Salesforce connector, counting what it is asked."""

    source = "salesforce"

    def __init__(self) -> None:
        self.catalog = [stage("Prospecting", 1), status("Open", 1)]
        self.users_all = [user("005A"), user("005B")]
        self.users_changed: list[dict[str, Any]] = []
        self.changed_describes: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.describes: dict[str, dict[str, Any]] = {}

    def stage_catalog(self) -> list[dict[str, Any]]:
        self.calls.append(("catalog", None))
        return [dict(r) for r in self.catalog]

    def users(self, since: datetime | None = None) -> list[dict[str, Any]]:
        self.calls.append(("users", since))
        return self.users_all if since is None else self.users_changed

    def describe_changed(self, sobject: str, since: datetime) -> dict[str, Any] | None:
        self.calls.append(("describe_changed", (sobject, since)))
        found = self.changed_describes.get(sobject)
        if found is not None:
            self.describes[sobject] = found
        return found

    def use_describe(self, sobject: str, describe: Mapping[str, Any]) -> None:
        self.describes[sobject] = dict(describe)

    def described(self) -> dict[str, dict[str, Any]]:
        return dict(self.describes)


class Run:
    """One run's Source on a shared state and connector, at ``now``."""

    def __init__(self, state: DictState, crm: FakeSalesforce, now: datetime, *,
                 ttl: timedelta = 24 * HOUR, refresh: bool = False) -> None:
        crm.calls.clear()
        self.source = Source("salesforce", crm, AppConfig(), StageMaps(),  # type: ignore[arg-type]
                             cache=MetadataCache(state, now, ttl, refresh))


def deal(stage_name: str, owner: str | None = None, deleted: bool = False) -> FunnelDeal:
    return FunnelDeal(source="salesforce", source_id="006X", stage=stage_name, owner_id=owner,
                      is_deleted=deleted)


def lead(status_name: str, owner: str | None = None) -> FunnelLead:
    return FunnelLead(source="salesforce", source_id="00QX", status=status_name, owner_id=owner)


@pytest.fixture
def state() -> DictState:
    return DictState()


@pytest.fixture
def crm() -> FakeSalesforce:
    return FakeSalesforce()


# -- the cache --------------------------------------------------------------------------------
def test_a_value_is_fresh_for_the_time_to_live_and_never_when_refreshing(state: DictState
                                                                          ) -> None:
    kept = MetadataCache(state, T0).put("salesforce", "catalog", [1, 2])

    assert MetadataCache(state, T0 + 24 * HOUR - timedelta(seconds=1)).fresh(kept)
    assert not MetadataCache(state, T0 + 24 * HOUR).fresh(kept)
    assert not MetadataCache(state, T0, refresh=True).fresh(kept)
    assert not MetadataCache(state, T0 + HOUR, ttl=timedelta(0)).fresh(kept)
    assert state.values == {"metadata.salesforce.catalog": {
        "value": [1, 2], "read_at": "2026-11-23T12:00:00+00:00", "absent": []}}
    assert MetadataCache(state, T0).get("salesforce", "catalog") == Cached([1, 2], T0)


def test_without_a_state_nothing_is_kept(state: DictState) -> None:
    cache = MetadataCache()
    cache.put("salesforce", "catalog", [1])
    assert cache.get("salesforce", "catalog") is None
    with pytest.raises(ValueError, match="needs the run's time"):
        MetadataCache(state)


def test_a_stored_value_of_another_shape_counts_as_none(state: DictState) -> None:
    state.set_state("metadata.salesforce.catalog", ["not", "an", "entry"])
    state.set_state("metadata.salesforce.owners", {"value": [], "read_at": "yesterday"})
    cache = MetadataCache(state, T0)
    assert cache.get("salesforce", "catalog") is None
    assert cache.get("salesforce", "owners") is None


def test_changed_since_is_ten_minutes_before_the_read() -> None:
    assert Cached([], T0).changed_since == datetime(2026, 11, 23, 11, 50, tzinfo=UTC)


def test_merged_rows_replace_by_key_and_append_new_ones() -> None:
    old = [{"Id": "a", "v": 1}, {"Id": "b", "v": 1}]
    assert merge_rows(old, [{"Id": "b", "v": 2}, {"Id": "c", "v": 2}], "Id") == [
        {"Id": "a", "v": 1}, {"Id": "b", "v": 2}, {"Id": "c", "v": 2}]


# -- the stage catalog ------------------------------------------------------------------------
def test_the_catalog_is_read_once_then_kept_for_the_time_to_live(state: DictState,
                                                                  crm: FakeSalesforce) -> None:
    first = Run(state, crm, T0).source.load_catalog()
    assert [(s.kind, s.stage) for s in first] == [("deal", "Prospecting"), ("lead", "Open")]
    assert crm.calls == [("catalog", None)]

    assert Run(state, crm, T0 + 23 * HOUR).source.load_catalog() == first
    assert crm.calls == []

    Run(state, crm, T0 + 24 * HOUR).source.load_catalog()
    assert crm.calls == [("catalog", None)]


def test_a_stage_the_catalog_lacks_reads_it_again_once_in_that_run(state: DictState,
                                                                    crm: FakeSalesforce) -> None:
    Run(state, crm, T0).source.load_catalog()
    crm.catalog.append(stage("Security Review", 2))
    source = Run(state, crm, T0 + HOUR).source
    source.load_catalog()

    assert source.reload_catalog([deal("Prospecting"), lead("Open")]) is None
    assert source.reload_catalog([deal("Security Review", deleted=True)]) is None
    stages = source.reload_catalog([deal("Security Review")])

    assert stages is not None and [s.stage for s in stages if s.kind == "deal"] == [
        "Prospecting", "Security Review"]
    assert crm.calls == [("catalog", None)]
    assert source.reload_catalog([lead("Nurture")]) is None  # read in this run already
    assert crm.calls == [("catalog", None)]


def test_a_stage_the_crm_lacks_too_is_remembered_and_not_asked_again(state: DictState,
                                                                      crm: FakeSalesforce) -> None:
    Run(state, crm, T0).source.load_catalog()
    source = Run(state, crm, T0 + HOUR).source
    source.load_catalog()
    assert source.reload_catalog([deal("Old Stage"), lead("Gone")]) is not None
    assert state.values["metadata.salesforce.catalog"]["absent"] == ["deal:Old Stage",
                                                                     "lead:Gone"]

    later = Run(state, crm, T0 + 2 * HOUR).source
    later.load_catalog()
    assert later.reload_catalog([deal("Old Stage"), lead("Gone")]) is None
    assert crm.calls == []


# -- owners -----------------------------------------------------------------------------------
def test_owners_are_kept_and_read_again_only_for_changes_since_the_last_read(
        state: DictState, crm: FakeSalesforce) -> None:
    assert [o.id for o in Run(state, crm, T0).source.owners()] == ["005A", "005B"]
    assert crm.calls == [("users", None)]

    fresh = Run(state, crm, T0 + HOUR).source
    fresh.note_owners([deal("Prospecting", owner="005B")])
    assert [o.id for o in fresh.owners()] == ["005A", "005B"]
    assert crm.calls == []

    crm.users_changed = [user("005B", active=False), user("005C")]
    stale = Run(state, crm, T0 + 25 * HOUR).source
    assert stale.inactive_owner_ids() == {"005B"}
    assert [o.id for o in stale.owners()] == ["005A", "005B", "005C"]
    assert crm.calls == [("users", T0 - timedelta(minutes=10))]


def test_an_owner_the_cache_lacks_reads_the_changes_at_once(state: DictState,
                                                             crm: FakeSalesforce) -> None:
    Run(state, crm, T0).source.owners()
    crm.users_changed = [user("005C")]
    source = Run(state, crm, T0 + HOUR).source
    source.note_owners([lead("Open", owner="005C"), deal("Prospecting", owner="005D")])

    assert [o.id for o in source.owners()] == ["005A", "005B", "005C"]
    assert crm.calls == [("users", T0 - timedelta(minutes=10))]
    assert state.values["metadata.salesforce.owners"]["absent"] == ["005D"]

    again = Run(state, crm, T0 + 2 * HOUR).source
    again.note_owners([deal("Prospecting", owner="005D")])
    again.owners()
    assert crm.calls == []  # 005D is not there: known, not asked about again


def test_refreshing_reads_every_owner(state: DictState, crm: FakeSalesforce) -> None:
    Run(state, crm, T0).source.owners()
    Run(state, crm, T0 + HOUR, refresh=True).source.owners()
    assert crm.calls == [("users", None)]


# -- object descriptions ----------------------------------------------------------------------
def test_describes_are_kept_given_while_fresh_and_asked_about_when_stale(
        state: DictState, crm: FakeSalesforce) -> None:
    first = Run(state, crm, T0).source
    first.load_describes()
    crm.describes = {"Lead": {"name": "Lead", "fields": []}}  # described while pulling
    first.keep_describes()
    assert state.values["metadata.salesforce.describes"]["value"] == crm.describes

    crm.describes = {}
    Run(state, crm, T0 + HOUR).source.load_describes()
    assert crm.calls == []
    assert crm.describes == {"Lead": {"name": "Lead", "fields": []}}

    crm.describes = {}
    crm.changed_describes = {"Lead": {"name": "Lead", "fields": [{"name": "Id"}]}}
    stale = Run(state, crm, T0 + 25 * HOUR).source
    stale.load_describes()
    assert crm.calls == [("describe_changed", ("Lead", T0 - timedelta(minutes=10)))]
    assert crm.describes == {"Lead": {"name": "Lead", "fields": [{"name": "Id"}]}}
    assert state.values["metadata.salesforce.describes"]["read_at"] == (
        "2026-11-24T13:00:00+00:00")


def test_a_describe_not_modified_is_given_as_kept(state: DictState,
                                                 crm: FakeSalesforce) -> None:
    MetadataCache(state, T0).put("salesforce", "describes", {"Lead": {"name": "Lead"}})
    Run(state, crm, T0 + 25 * HOUR).source.load_describes()
    assert crm.calls == [("describe_changed", ("Lead", T0 - timedelta(minutes=10)))]
    assert crm.describes == {"Lead": {"name": "Lead"}}


def test_refreshing_leaves_describing_to_the_connector(state: DictState,
                                                       crm: FakeSalesforce) -> None:
    MetadataCache(state, T0).put("salesforce", "describes", {"Lead": {"name": "Lead"}})
    source = Run(state, crm, T0 + HOUR, refresh=True).source
    source.load_describes()
    assert crm.describes == {}
    crm.describes = {"Lead": {"name": "Lead", "fields": []}}
    source.keep_describes()
    assert state.values["metadata.salesforce.describes"] == {
        "value": {"Lead": {"name": "Lead", "fields": []}},
        "read_at": "2026-11-23T13:00:00+00:00", "absent": []}
