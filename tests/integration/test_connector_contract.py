"""One behavioural contract, run on both real connectors against the sandbox.

Every test takes ``crm`` (parametrised ``salesforce`` / ``hubspot``): the connector is built by
``default_connector`` and talks through simple-salesforce / hubspot-api-client to the sandbox.
:class:`Crm` reads what the product declares about each CRM (objects, id and deletion fields,
write-back names) from :mod:`funnelsync.crm` and adds only what the vendors otherwise
legitimately differ in (cursor stamps, page sizes, error codes); the assertions are the same
for both.

Sandbox seed 7 makes the data known, so counts are literals (and cross-checked against
``/__sandbox/stats``). Time is a :class:`FakeClock` shared by sandbox and connectors: retries
and limiter waits move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig, WritebackConfig
from funnelsync.connectors.base import (
    KINDS,
    Connector,
    Page,
    RecordUpdate,
    TaskInfo,
    TaskSpec,
    TaskUpdate,
)
from funnelsync.crm import CrmSpec, crm_spec
from funnelsync.sandbox import Sandbox

Raw = dict[str, Any]


def _sf_stamp(record: Raw) -> datetime:
    return datetime.fromisoformat(record["SystemModstamp"].replace("+0000", "+00:00"))


def _hs_stamp(record: Raw) -> datetime:
    props = record.get("properties") or {}
    text = props.get("hs_lastmodifieddate") or props.get("lastmodifieddate") or record["updatedAt"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Crm:
    """What the contract needs to know about one CRM beyond its product declaration
    (:mod:`funnelsync.crm`: name, objects, id and deletion keys, write-back names): page sizes,
    error codes, raw shapes and the seed-7 sandbox."""

    spec: CrmSpec
    gone: str  # stats key of deleted / archived counts
    list_page: int  # max records per page of a full pull
    search_page: int  # max records per page of an incremental pull
    stamp: Callable[[Raw], datetime]
    history_deal_key: str  # the deal id inside an iter_stage_changes row
    unknown_deal: str  # a well-formed id no record has
    unknown_task: str  # a well-formed task id no task has
    unknown_code: str
    deleted_code: str
    write_batch: int  # max rows per write call
    owner: str  # an active owner / user id
    gone_owner: str  # a deactivated owner / archived user id
    gone_owner_code: str
    in_properties: bool = False  # raw values sit under "properties" (else at the top level)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def objects(self) -> Mapping[str, str]:  # kind -> object name in /__sandbox/stats and touch
        return self.spec.objects

    @property
    def id_key(self) -> str:
        return self.spec.id_field

    @property
    def deleted_key(self) -> str:
        return self.spec.deleted_flag

    @property
    def stage_field(self) -> str:  # write-back field/property present on leads and deals
        return self.spec.writeback(WritebackConfig()).stage_name

    def value(self, record: Raw, name: str) -> Any:
        return (record.get("properties") or {}).get(name) if self.in_properties \
            else record.get(name)


CRMS = {crm.name: crm for crm in (
    Crm(spec=crm_spec("salesforce"), gone="deleted", list_page=2000, search_page=2000,
        stamp=_sf_stamp, history_deal_key="OpportunityId",
        unknown_deal="0065g0000000ZZZAAA", unknown_task="00T5g0000000ZZZAAA",
        unknown_code="INVALID_CROSS_REFERENCE_KEY",
        deleted_code="ENTITY_IS_DELETED", write_batch=200,
        owner="0055g0000000002AAA", gone_owner="0055g000000000BAAQ",
        gone_owner_code="INACTIVE_OWNER_OR_USER"),
    Crm(spec=crm_spec("hubspot"), gone="archived", list_page=100, search_page=200,
        stamp=_hs_stamp, history_deal_key="dealId",
        unknown_deal="5999999", unknown_task="9999999", unknown_code="OBJECT_NOT_FOUND",
        deleted_code="OBJECT_NOT_FOUND", write_batch=100,
        owner="102", gone_owner="111", gone_owner_code="INVALID_OWNER_ID", in_properties=True),
)}
# seed 7, leads=2100, deals=120: (live, deleted) per kind
BIG = {"salesforce": {"leads": (2044, 56), "deals": (118, 2)},
       "hubspot": {"leads": (2059, 41), "deals": (115, 5)}}
# seed 7, leads=60, deals=40
SMALL = {"salesforce": {"leads": (58, 2), "deals": (39, 1)},
         "hubspot": {"leads": (58, 2), "deals": (39, 1)}}


@dataclass
class World:
    sandbox: Sandbox
    clock: FakeClock
    config: AppConfig

    def connect(self, crm: Crm, config: AppConfig | None = None) -> Connector:
        return no_wait_factory(self.clock)(crm.name, config or self.config)

    def stats(self, crm: Crm) -> dict[str, Any]:
        return self.sandbox.stats()[crm.name]  # type: ignore[return-value]


@pytest.fixture(params=sorted(CRMS))
def crm(request: pytest.FixtureRequest) -> Crm:
    return CRMS[request.param]


@contextmanager
def _world(leads: int, deals: int) -> Iterator[World]:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(seed=7, leads=leads, deals=deals, clock=clock) as sandbox:
        yield World(sandbox, clock, sandbox_config(sandbox, "sqlite:///:memory:"))


@pytest.fixture(scope="module")
def big() -> Iterator[World]:
    """Read-only: more leads than one Salesforce page (2,000). Tests here never write."""
    with _world(2100, 120) as world:
        yield world


@pytest.fixture
def small() -> Iterator[World]:
    """A fresh sandbox for tests that write or touch."""
    with _world(60, 40) as world:
        yield world


def pull(connector: Connector, crm: Crm, kind: str,
         since: datetime | None = None) -> dict[str, Raw]:
    """Every record of ``kind`` by id; fails on an id yielded twice."""
    out: dict[str, Raw] = {}
    for record in connector.iter_records(kind, since):  # type: ignore[arg-type]
        rid = str(record[crm.id_key])
        assert rid not in out, f"{crm.name} {kind}: id {rid} yielded twice"
        out[rid] = record
    return out


def live_and_deleted(crm: Crm, records: dict[str, Raw]) -> tuple[int, int]:
    deleted = sum(1 for r in records.values() if r.get(crm.deleted_key) is True)
    return len(records) - deleted, deleted


# -- identity -----------------------------------------------------------------------------------

def test_is_a_connector_for_its_source(crm: Crm, small: World) -> None:
    connector = small.connect(crm)
    assert isinstance(connector, Connector)
    assert connector.source == crm.name
    assert connector.usage.api_calls == 0  # building it calls nothing
    connector.close()


def test_records_stream_lazily(crm: Crm, small: World) -> None:
    connector = small.connect(crm)
    records = connector.iter_records("deals")
    assert connector.usage.api_calls == 0  # a generator: nothing is fetched before next()
    first = next(records)
    assert isinstance(first, dict) and first[crm.id_key]
    assert connector.usage.api_calls > 0


# -- full pulls ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["leads", "deals"])
def test_full_pull_yields_every_record_once_with_deletions_marked(crm: Crm, big: World,
                                                                 kind: str) -> None:
    records = pull(big.connect(crm), crm, kind)
    stats = big.stats(crm)
    obj = crm.objects[kind]
    assert live_and_deleted(crm, records) == BIG[crm.name][kind]
    assert live_and_deleted(crm, records) == (stats["counts"][obj], stats[crm.gone][obj])
    assert all(isinstance(r, dict) for r in records.values())
    assert all(isinstance(r[crm.deleted_key], bool) for r in records.values())


def test_pages_respect_the_page_size_and_resume_continues_after_the_page(crm: Crm,
                                                                         big: World) -> None:
    full = [p.records for p in big.connect(crm).iter_pages("leads")]
    assert max(len(p) for p in full) == crm.list_page  # 2,100 leads: at least one full page
    all_ids = [str(r[crm.id_key]) for page in full for r in page]
    assert len(all_ids) == len(set(all_ids)) == 2100

    first: Page = next(iter(big.connect(crm).iter_pages("leads")))
    assert first.resume is not None
    restarted = big.connect(crm)  # a new process resuming from the stored token
    rest = [r for p in restarted.iter_pages("leads", resume=first.resume) for r in p.records]
    resumed_ids = [str(r[crm.id_key]) for r in [*first.records, *rest]]
    assert len(resumed_ids) == len(set(resumed_ids))
    assert set(resumed_ids) == set(all_ids)


# -- incremental --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["leads", "deals"])
def test_incremental_pull_after_touch_fetches_the_touched_records(crm: Crm, small: World,
                                                                 kind: str) -> None:
    connector = small.connect(crm)
    first = pull(connector, crm, kind)
    assert live_and_deleted(crm, first) == SMALL[crm.name][kind]
    watermark = max(crm.stamp(r) for r in first.values())
    # the cursor is compared at second precision (Salesforce literals have no fractions)
    at_mark = {rid for rid, r in first.items()
               if crm.stamp(r).replace(microsecond=0) == watermark.replace(microsecond=0)}
    small.clock.tick(60)
    touched = set(small.sandbox.touch(crm.name, crm.objects[kind], 7)["ids"])  # type: ignore[arg-type]
    assert len(touched) == 7

    later: dict[str, Raw] = {}
    cursors = []
    for page in connector.iter_pages(kind, since=watermark):  # type: ignore[arg-type]
        assert len(page.records) <= crm.search_page
        later.update((str(r[crm.id_key]), r) for r in page.records)
        cursors.append(page.cursor)

    assert touched <= set(later)
    # the next watermark: the highest cursor of the increment is the touch time
    assert max(c for c in cursors if c is not None) == max(crm.stamp(later[t]) for t in touched)
    assert set(later) - touched <= at_mark  # only the closed start's boundary re-reads
    assert all(crm.stamp(later[rid]) > watermark for rid in touched)


# -- catalog and stage history ------------------------------------------------------------------

def test_stage_catalog_and_stage_changes(crm: Crm, big: World) -> None:
    connector = big.connect(crm)
    catalog = connector.stage_catalog()
    assert catalog and all(isinstance(row, dict) for row in catalog)
    assert len(catalog) == {"salesforce": 15, "hubspot": 2}[crm.name]  # stages+statuses / pipelines
    deal_ids = set(pull(connector, crm, "deals"))
    changes = list(connector.iter_stage_changes())
    assert changes and all(isinstance(row, dict) for row in changes)
    assert {str(row[crm.history_deal_key]) for row in changes} <= deal_ids


# -- writes -------------------------------------------------------------------------------------

def test_push_updates_one_result_per_row_in_order_with_partial_failure(crm: Crm,
                                                                       small: World) -> None:
    connector = small.connect(crm)
    deals = [rid for rid, r in pull(connector, crm, "deals").items() if not r[crm.deleted_key]]
    leads = [rid for rid, r in pull(connector, crm, "leads").items() if not r[crm.deleted_key]]
    changes = [RecordUpdate("deals", deals[0], {crm.stage_field: "intent"}),
               RecordUpdate("leads", leads[0], {crm.stage_field: "mql"}),
               RecordUpdate("deals", crm.unknown_deal, {crm.stage_field: "intent"}),
               RecordUpdate("deals", deals[1], {crm.stage_field: "decision"})]

    results = connector.push_updates(changes)

    assert [(r.record_id, r.ok, r.error_code) for r in results] == [
        (deals[0], True, None), (leads[0], True, None),
        (crm.unknown_deal, False, crm.unknown_code), (deals[1], True, None)]
    assert results[2].message
    after_deals, after_leads = pull(connector, crm, "deals"), pull(connector, crm, "leads")
    assert crm.value(after_deals[deals[0]], crm.stage_field) == "intent"
    assert crm.value(after_deals[deals[1]], crm.stage_field) == "decision"
    assert crm.value(after_leads[leads[0]], crm.stage_field) == "mql"
    assert crm.value(after_deals[deals[2]], crm.stage_field) is None


def test_push_updates_keeps_rows_in_order_across_batches(crm: Crm) -> None:
    """250 rows (more than one write call) with a deleted record and an unknown id placed
    around the batch boundaries: every row gets its own result, at its own position."""
    with _world(10, 260) as world:
        connector = world.connect(crm)
        deals = pull(connector, crm, "deals")
        live = [rid for rid, r in deals.items() if not r[crm.deleted_key]]
        gone = next(rid for rid, r in deals.items() if r[crm.deleted_key])
        ids = live[:248]
        ids.insert(99, crm.unknown_deal)
        ids.insert(200, gone)
        changes = [RecordUpdate("deals", rid, {crm.stage_field: f"s{n}"})
                   for n, rid in enumerate(ids)]
        before = connector.usage.api_calls

        results = connector.push_updates(changes)

        calls = connector.usage.api_calls - before
        after = pull(connector, crm, "deals")
    assert len(ids) == 250 and len(live) == {"salesforce": 256, "hubspot": 255}[crm.name]
    assert calls == -(-250 // crm.write_batch)  # ceil: 2 for Salesforce, 3 for HubSpot
    assert [r.record_id for r in results] == ids
    assert [n for n, r in enumerate(results) if not r.ok] == [99, 200]
    assert (results[99].error_code, results[200].error_code) == (crm.unknown_code,
                                                                 crm.deleted_code)
    assert all(crm.value(after[rid], crm.stage_field) == f"s{n}"
               for n, rid in enumerate(ids) if n not in (99, 200))


def test_create_tasks_isolates_a_bad_owner_and_find_tasks_sees_the_rest(crm: Crm,
                                                                        small: World) -> None:
    connector = small.connect(crm)
    deals = [rid for rid, r in pull(connector, crm, "deals").items() if not r[crm.deleted_key]]
    due = date(2026, 12, 1)
    specs = [TaskSpec(deals[0], "contract: first", "body", due, owner_id=crm.owner),
             TaskSpec(deals[1], "contract: gone owner", "body", due, owner_id=crm.gone_owner),
             TaskSpec(deals[2], "contract: third", "body", due, owner_id=crm.owner)]

    results = connector.create_tasks(specs)

    assert [(r.record_id, r.ok, r.error_code) for r in results] == [
        (deals[0], True, None), (deals[1], False, crm.gone_owner_code), (deals[2], True, None)]
    assert results[0].created_id and results[2].created_id
    assert results[1].created_id is None
    found = {t["id"]: t for t in connector.find_tasks(deals[:3])
             if str(t["subject"]).startswith("contract:")}
    assert {(tid, t["deal_id"], t["subject"], t["owner_id"]) for tid, t in found.items()} == {
        (results[0].created_id, deals[0], "contract: first", crm.owner),
        (results[2].created_id, deals[2], "contract: third", crm.owner)}


def test_lead_tasks_are_found_on_their_lead(crm: Crm, small: World) -> None:
    connector = small.connect(crm)
    leads = [rid for rid, r in pull(connector, crm, "leads").items() if not r[crm.deleted_key]]
    spec = TaskSpec(leads[0], "contract: lead follow-up", "body", date(2026, 12, 1),
                    owner_id=crm.owner, target="lead")

    [result] = connector.create_tasks([spec])

    assert (result.record_id, result.ok, result.error_code) == (leads[0], True, None)
    found = [t for t in connector.find_tasks([leads[0]], target="lead")
             if t["id"] == result.created_id]
    assert [(t["deal_id"], t["subject"], t["owner_id"]) for t in found] == [
        (leads[0], "contract: lead follow-up", crm.owner)]
    on_deals = connector.find_tasks([leads[0]])  # the same id as a deal: a lead task is no deal's
    assert result.created_id not in {t["id"] for t in on_deals}


def test_tasks_are_read_rewritten_completed_and_unknown_ones_reported(crm: Crm,
                                                                      small: World) -> None:
    connector = small.connect(crm)
    deals = [rid for rid, r in pull(connector, crm, "deals").items() if not r[crm.deleted_key]]
    due = date(2026, 12, 1)
    made = connector.create_tasks([TaskSpec(deals[0], "contract: a", "body a", due, crm.owner),
                                   TaskSpec(deals[1], "contract: b", "body b", due, crm.owner)])
    a, b, unknown = str(made[0].created_id), str(made[1].created_id), crm.unknown_task

    assert connector.read_tasks([a, b, unknown]) == {
        a: TaskInfo(a, "open", "contract: a", "body a"),
        b: TaskInfo(b, "open", "contract: b", "body b"), unknown: TaskInfo(unknown, "deleted")}
    results = connector.update_tasks([
        TaskUpdate(a, subject="contract: a2", body="two reasons", due=date(2026, 12, 3)),
        TaskUpdate(b, body="Completed by funnelsync: the deal was won.", complete=True),
        TaskUpdate(unknown, complete=True)])

    assert [(r.record_id, r.ok, r.error_code) for r in results] == [
        (a, True, None), (b, True, None), (unknown, False, crm.unknown_code)]
    assert connector.read_tasks([a, b]) == {
        a: TaskInfo(a, "open", "contract: a2", "two reasons"),
        b: TaskInfo(b, "closed", "contract: b", "Completed by funnelsync: the deal was won.")}
    assert [t["id"] for t in connector.find_tasks(deals[:2])
            if str(t["subject"]).startswith("contract:")] == [a]
    assert connector.update_tasks([]) == [] and connector.read_tasks([]) == {}


def test_empty_writes_cost_nothing(crm: Crm, small: World) -> None:
    connector = small.connect(crm)
    assert connector.push_updates([]) == []
    assert connector.create_tasks([]) == []
    assert connector.find_tasks([]) == []
    assert connector.usage.api_calls == 0


# -- usage --------------------------------------------------------------------------------------

def test_usage_counts_every_call_like_the_sandbox(crm: Crm, small: World) -> None:
    """usage.api_calls counts every HTTP request the connector sends (== the sandbox's
    ``requests``). The sandbox's ``api_calls`` (like the vendors' quotas) leaves out logins:
    HubSpot with a private-app token has none, so the two are equal; Salesforce's SOAP login is
    the difference: usage.api_calls == sandbox api_calls + usage.by_kind["login"]."""
    connector = small.connect(crm)
    pull(connector, crm, "deals")
    after_deals = connector.usage.api_calls
    # Salesforce: login, describe, query; HubSpot: pipelines, live list, archived list
    assert after_deals == {"salesforce": 3, "hubspot": 3}[crm.name]
    pull(connector, crm, "leads")
    assert connector.usage.api_calls > after_deals
    connector.push_updates([RecordUpdate("deals", crm.unknown_deal, {crm.stage_field: "x"})])
    logins = connector.usage.by_kind.get("login", 0)
    assert logins == (1 if crm.name == "salesforce" else 0)
    stats = small.stats(crm)
    assert connector.usage.api_calls == stats["api_calls"] + logins == stats["requests"]
    assert connector.usage.retries == 0


# -- resilience ---------------------------------------------------------------------------------

HUBSPOT_OAUTH = '''
[hubspot]
client_id = "funnelsync-demo"
client_secret = "demo-secret"
refresh_token = "demo-refresh"
host = "{url}"
'''


def test_faults_and_expiring_tokens_yield_exactly_the_same_ids(crm: Crm) -> None:
    """fail_rate 0.1 and a 90 s token lifetime; a minute passes between pages, so Salesforce
    sessions expire mid-pull (re-login) and HubSpot OAuth tokens are refreshed (the private-app
    token never expires, hence OAuth here)."""
    with _world(2100, 120) as world:
        clean = {kind: _flags(crm, pull(world.connect(crm), crm, kind)) for kind in KINDS}
        world.sandbox.set_faults(fail_rate=0.1, token_ttl=90)
        config = world.config
        if crm.name == "hubspot":
            config = parse_config(HUBSPOT_OAUTH.format(url=world.sandbox.url))
        connector = world.connect(crm, config)
        before = world.stats(crm)
        noisy = {kind: _flags(crm, _slow_pull(world, connector, crm, kind)) for kind in KINDS}
        stats = _grown(before, world.stats(crm))

    assert noisy == clean
    assert {k: len(v) for k, v in noisy.items()} == {"leads": 2100, "deals": 120}
    assert stats["faults_injected"] > 0
    assert connector.usage.retries >= stats["faults_injected"]
    renewals = connector.usage.by_kind.get("login" if crm.name == "salesforce" else "auth", 0)
    assert renewals >= 2
    # every HTTP request is counted, failed ones too; the sandbox's quota count leaves out
    # logins / token refreshes and the 401s answered before a call is accepted
    assert connector.usage.api_calls == stats["requests"]
    assert stats["api_calls"] == (connector.usage.api_calls - renewals
                                  - stats["status_counts"].get("401", 0))


def _grown(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Sandbox counters of one CRM accrued between two stats snapshots."""
    keys = ("requests", "api_calls", "faults_injected")
    grown: dict[str, Any] = {k: after[k] - before[k] for k in keys}
    grown["status_counts"] = {code: n - before["status_counts"].get(code, 0)
                              for code, n in after["status_counts"].items()}
    return grown


def _flags(crm: Crm, records: dict[str, Raw]) -> dict[str, bool]:
    return {rid: bool(r.get(crm.deleted_key)) for rid, r in records.items()}


def _slow_pull(world: World, connector: Connector, crm: Crm, kind: str) -> dict[str, Raw]:
    out: dict[str, Raw] = {}
    for page in connector.iter_pages(kind):  # type: ignore[arg-type]
        for record in page.records:
            rid = str(record[crm.id_key])
            assert rid not in out, f"{crm.name} {kind}: id {rid} yielded twice"
            out[rid] = record
        world.clock.tick(60)
    return out
