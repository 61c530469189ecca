"""The sync job end to end: both real clients against the sandbox, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.clock import SANDBOX_START, FakeClock
from syncsupport import (
    crm_snapshot,
    no_wait_factory,
    sandbox_config,
    tasks,
    written,
)

from funnelsync.connectors.base import Connector, RecordUpdate, RowResult, TaskSpec
from funnelsync.errors import LockHeld
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob

SIZE = {"seed": 11, "leads": 120, "deals": 100}


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(**SIZE, clock=clock) as sb:
        yield sb


def job(config, clock: FakeClock, **kw) -> SyncJob:  # type: ignore[no-untyped-def]
    """A job on ``clock``: its "now", its back-off and its rate-limit pacing."""
    return SyncJob(config, connector_factory=kw.pop("factory", no_wait_factory(clock)),
                   clock=clock.utc, **kw)


def test_first_sync_writes_exactly_what_differs_then_nothing(sandbox: Sandbox, db_url: str,
                                                              clock: FakeClock) -> None:
    config = sandbox_config(sandbox, db_url)
    dry = job(config, clock).run(dry_run=True)
    assert (written(sandbox), tasks(sandbox)) == (0, 0)
    assert dry.records_written == 0 and dry.changes == len(dry.planned_changes) > 0

    first = job(config, clock).run()
    assert first.errors == []
    assert first.records_written == first.changes == len(dry.planned_changes)
    assert written(sandbox) == first.records_written
    assert first.tasks_created == len(dry.planned_tasks) == tasks(sandbox) > 0

    # Every record, re-evaluated against what the CRMs now hold, needs nothing more.
    check = job(config, clock, reevaluate_all=True).run(dry_run=True)
    assert check.planned_changes == [] and check.planned_tasks == []

    second = job(config, clock).run()
    assert (second.records_written, second.tasks_created, second.changes) == (0, 0, 0)
    assert written(sandbox) == first.records_written
    assert tasks(sandbox) == first.tasks_created


def test_after_touch_only_touched_records_are_written(sandbox: Sandbox, tmp_path,
                                                      clock: FakeClock) -> None:
    config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}")
    job(config, clock).run()
    touched = set(sandbox.touch("salesforce", "Opportunity", 8)["ids"])
    touched |= set(sandbox.touch("hubspot", "deals", 8)["ids"])
    again = job(config, clock).run()
    with Store.open(config.state.url) as store:
        pushed = {r.record_id for r in store.iter_push_results(again.run_id)}
    assert pushed <= touched
    assert again.records_written == len(pushed)
    assert again.pulled["salesforce"]["deals"] >= 8 and again.pulled["hubspot"]["deals"] >= 8


def test_dry_run_writes_nothing_and_lists_changes(sandbox: Sandbox, tmp_path,
                                                  clock: FakeClock) -> None:
    config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}")
    result = job(config, clock).run(dry_run=True)
    assert (written(sandbox), tasks(sandbox)) == (0, 0)
    change = result.planned_changes[0]
    assert set(change) == {"source", "kind", "record_id", "changes", "reasons"}
    assert result.to_json()["dry_run"] is True


def test_faults_token_expiry_and_429s_end_in_the_same_crm_state(tmp_path) -> None:
    calm = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=calm) as clean:
        config = sandbox_config(clean, f"sqlite:///{tmp_path / 'a.db'}")
        job(config, calm).run()
        expected = crm_snapshot(clean, config)
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as faulty:
        faulty.set_faults(fail_rate=0.1, token_ttl=30, rate_limit=40)
        config = sandbox_config(faulty, f"sqlite:///{tmp_path / 'b.db'}")
        result = job(config, clock).run()
        stats = faulty.stats()
        faulty.set_faults(fail_rate=0, token_ttl=0, rate_limit=0)
        retries = sum(result.retries.values())
        assert stats["salesforce"]["faults_injected"] + stats["hubspot"]["faults_injected"] > 0
        assert retries > 0
        if result.errors:  # rows that failed for good are retried by the next run
            job(config, clock).run()
        assert crm_snapshot(faulty, config) == expected


class _Crash(BaseException):
    """Stands for the process dying (kill -9): nothing in funnelsync catches it."""


class _CrashAfter:
    """Wraps a connector; dies after ``n`` write calls of the given kind have reached the CRM."""

    def __init__(self, inner: Connector, method: str, n: int) -> None:
        self.inner, self.method, self.left = inner, method, n

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def push_updates(self, changes: list[RecordUpdate]) -> list[RowResult]:
        return self._maybe_crash("push_updates", self.inner.push_updates(changes))

    def create_tasks(self, specs: list[TaskSpec]) -> list[RowResult]:
        return self._maybe_crash("create_tasks", self.inner.create_tasks(specs))

    def _maybe_crash(self, method: str, result: list[RowResult]) -> list[RowResult]:
        if method == self.method:
            self.left -= 1
            if self.left <= 0:
                raise _Crash(f"killed after {method}")
        return result


@pytest.mark.parametrize("method", ["push_updates", "create_tasks"])
def test_crash_mid_write_then_rerun_converges_without_duplicates(tmp_path, method: str,
                                                                  clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as clean:
        job(sandbox_config(clean, f"sqlite:///{tmp_path / 'a.db'}"), clock).run()
        expected = crm_snapshot(clean, sandbox_config(clean, f"sqlite:///{tmp_path / 'a.db'}"))
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, f"sqlite:///{tmp_path / 'b.db'}")
        base = no_wait_factory(clock)

        def crashing(name: str, cfg):  # type: ignore[no-untyped-def]
            return _CrashAfter(base(name, cfg), method, 1)

        with pytest.raises(_Crash):
            job(config, clock, factory=crashing).run()
        job(config, clock).run()
        job(config, clock).run()
        assert crm_snapshot(sb, config) == expected


def test_a_second_concurrent_run_is_refused_naming_the_holder(sandbox: Sandbox, db_url: str,
                                                              clock: FakeClock) -> None:
    config = sandbox_config(sandbox, db_url)
    with Store.open(config.state.url) as store:
        store.acquire_lock("ops-box:4242:abcd", clock.utc(), 600)
    with pytest.raises(LockHeld) as caught:
        job(config, clock).run()
    assert "ops-box:4242:abcd" in str(caught.value)
    assert caught.value.exit_code == 3
    assert (written(sandbox), tasks(sandbox)) == (0, 0)


def test_scores_that_decay_with_time_alone_reach_the_crm_once_a_day(tmp_path) -> None:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}")
        job(config, clock).run()
        clock.tick(3600)  # an hour later nothing is due: only changed records are evaluated
        assert job(config, clock).run().records_written == 0
        clock.tick(24 * 3600)  # a day later every record is re-scored; decay has moved some
        daily = job(config, clock).run()
        assert daily.records_written > 0
        with Store.open(config.state.url) as store:
            rows = list(store.iter_push_results(daily.run_id))
        assert {r.kind for r in rows} == {"leads"}
        assert all(set(r.fields) <= {"Funnel_Score__c", "funnel_score", "Funnel_Stage__c",
                                     "funnel_stage"} for r in rows)
        assert job(config, clock).run().records_written == 0
        off = sandbox_config(sb, config.state.url, "[writeback]\nrescore_interval_hours = 0\n")
        clock.tick(30 * 24 * 3600)
        assert job(off, clock).run().records_written == 0


def test_a_task_cap_spreads_new_tasks_over_runs_without_duplicates(sandbox: Sandbox, tmp_path,
                                                                   clock: FakeClock) -> None:
    config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'fs.db'}",
                            "[alerts]\nmax_new_tasks_per_run = 10\n")
    dry = job(config, clock).run(dry_run=True)
    assert len(dry.planned_tasks) == 20  # 10 per CRM
    wanted = dry.tasks_deferred + 20
    first = job(config, clock).run()
    assert (first.tasks_created, first.tasks_deferred) == (20, wanted - 20)
    assert first.to_json()["tasks_deferred"] == wanted - 20
    created = first.tasks_created
    while created < wanted:  # each run adds at most 10 per CRM until every alert has its task
        later = job(config, clock).run()
        assert 0 < later.tasks_created <= 20
        assert later.tasks_deferred == wanted - created - later.tasks_created
        created += later.tasks_created
    assert created == wanted == tasks(sandbox)
    assert job(config, clock).run().tasks_created == 0
