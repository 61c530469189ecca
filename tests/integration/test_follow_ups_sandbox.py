"""Follow-up tasks end to end: both real clients against the sandbox, the job on a fake clock.

One open task per alerted deal; a re-run writes nothing; a deal that moves on gets its task
completed; the rep's completed or deleted task stays closed for the same reasons; a new reason
updates an open task or opens one new task; new tasks respect the per-owner daily limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config, tasks, written
from tasksupport import HS, SF, Crms

from funnelsync.config.models import AppConfig
from funnelsync.sandbox import Sandbox
from funnelsync.store import FollowUp, Store
from funnelsync.sync.follow_ups import planned_per_owner
from funnelsync.sync.job import RunResult, SyncJob

SIZE = {"seed": 11, "leads": 60, "deals": 100}
PAST = "2026-11-01"  # before the sandbox's today (2026-11-23)


@pytest.fixture
def world(tmp_path: Any) -> Iterator[tuple[Sandbox, FakeClock, AppConfig]]:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        yield sb, clock, sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}")


def sync(config: AppConfig, clock: FakeClock, dry_run: bool = False) -> RunResult:
    job = SyncJob(config, connector_factory=no_wait_factory(clock),
                  clock=lambda: datetime.fromtimestamp(clock(), UTC))
    return job.run(dry_run=dry_run)


def alerted_deals(config: AppConfig) -> set[tuple[str, str]]:
    """(crm, deal id) of every deal with an open stale-deal alert, from the store."""
    with Store.open(config.state.url) as store:
        return {(a.source, a.record_id) for a in store.open_alerts()
                if not a.reason.startswith(("sla_", "nurture_"))}


def follow_ups(config: AppConfig, crm: str) -> dict[str, FollowUp]:
    with Store.open(config.state.url) as store:
        return {f.record_id: f for f in store.live_follow_ups(crm, {"deal"}).values()}


def open_deal_tasks(crms: Crms) -> dict[tuple[str, str | None], list[Any]]:
    return {k: v for k, v in crms.open_tasks_by_record().items()
            if k[1] and not k[1].startswith(("00Q", "6"))}  # leave lead tasks out


def pick(config: AppConfig, crm: str, n: int, *, without: str | None = None,
         default_pipeline: bool = False) -> list[FollowUp]:
    """``n`` open follow-ups of ``crm`` (optionally without a reason code / in the default
    HubSpot pipeline), by record id."""
    with Store.open(config.state.url) as store:
        chosen = []
        for f in sorted(follow_ups(config, crm).values(), key=lambda f: f.record_id):
            codes = {r["code"] for r in f.reasons}
            stored = store.get_record(crm, "deals", f.record_id)
            pipeline = stored.data.get("pipeline") if stored else None
            if f.status == "open" and without not in codes and \
                    (not default_pipeline or crm == SF or pipeline == "default"):
                chosen.append(f)
    assert len(chosen) >= n
    return chosen[:n]


def test_first_sync_gives_every_alerted_deal_one_open_task_and_a_rerun_writes_nothing(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    crms = Crms(sb)
    first = sync(config, clock)
    assert first.errors == []
    by_deal = open_deal_tasks(crms)
    assert set(by_deal) == alerted_deals(config)
    assert Counter(len(found) for found in by_deal.values()) == {1: len(by_deal)}
    assert first.alerts_open == 330  # one alert per reason: as many tasks before
    assert first.tasks_created == len(by_deal) == 117
    before = (written(sb), tasks(sb))
    second = sync(config, clock)
    assert (second.tasks_created, second.tasks_updated, second.tasks_closed) == (0, 0, 0)
    assert (written(sb), tasks(sb)) == before


def test_a_task_lists_every_reason_with_its_evidence(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    for crm in (SF, HS):
        f = next(f for f in follow_ups(config, crm).values() if len(f.reasons) >= 2)
        task = crms.task(crm, str(f.task_id))
        assert task is not None and not task.closed
        texts = [r["text"] for r in f.reasons]
        assert task.subject.startswith("Stale deal: ")
        assert "; ".join(texts) in task.subject and task.subject.endswith("]")
        assert all(f"- {text}" in task.body for text in texts)


def test_a_deal_that_moves_on_gets_its_task_completed_with_why(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    won = {crm: pick(config, crm, 1, default_pipeline=True)[0] for crm in (SF, HS)}
    for crm, f in won.items():
        crms.win(crm, f.record_id)
    clock.tick(60)
    again = sync(config, clock)
    assert (again.tasks_closed, again.tasks_created, again.errors) == (2, 0, [])
    for crm, f in won.items():
        task = crms.task(crm, str(f.task_id))
        assert task is not None and task.closed
        assert task.status == ("Completed" if crm == SF else "COMPLETED")
        assert task.body.startswith("Completed by funnelsync on 2026-11-23: the deal was won")
        assert (crm, f.record_id) not in open_deal_tasks(crms)
        assert f.record_id not in follow_ups(config, crm)
    assert sync(config, clock).tasks_closed == 0


def test_the_reps_completed_or_deleted_task_stays_closed_and_a_new_reason_opens_one(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    done = {crm: pick(config, crm, 2, without="close_date_passed") for crm in (SF, HS)}
    for crm, (completed, deleted) in done.items():
        crms.complete(crm, str(completed.task_id))
        crms.delete(crm, str(deleted.task_id))
    clock.tick(3600)
    created = tasks(sb)
    quiet = sync(config, clock)
    assert (quiet.tasks_created, quiet.tasks_updated, tasks(sb)) == (0, 0, created)
    for crm, pair in done.items():
        crms.set_close_date(crm, pair[0].record_id, PAST)
    clock.tick(60)
    reopened = sync(config, clock)
    assert (reopened.tasks_created, reopened.tasks_updated, reopened.errors) == (2, 0, [])
    by_deal = open_deal_tasks(crms)
    for crm, (completed, deleted) in done.items():
        [new] = by_deal[(crm, completed.record_id)]
        assert new.id != completed.task_id and "close date passed 22 days ago" in new.subject
        assert (crm, deleted.record_id) not in by_deal


def test_a_changed_reason_rewrites_the_same_task(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    chosen = {crm: pick(config, crm, 1, without="close_date_passed")[0] for crm in (SF, HS)}
    for crm, f in chosen.items():
        crms.set_close_date(crm, f.record_id, PAST)
    clock.tick(60)
    created = tasks(sb)
    again = sync(config, clock)
    assert (again.tasks_updated, again.tasks_created, tasks(sb)) == (2, 0, created)
    by_deal = open_deal_tasks(crms)
    for crm, f in chosen.items():
        [task] = by_deal[(crm, f.record_id)]
        assert task.id == f.task_id
        assert "close date passed 22 days ago (2026-11-01)" in task.subject
        assert "- close date passed 22 days ago (2026-11-01)" in task.body
    assert sync(config, clock).tasks_updated == 0


def test_new_tasks_are_capped_per_owner_per_day_most_valuable_first(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    capped = sandbox_config(sb, config.state.url,
                            "[alerts]\nmax_new_tasks_per_owner_per_day = 2\n")
    dry = sync(capped, clock, dry_run=True)
    first = sync(capped, clock)
    per_owner = Counter((crm, f.owner_id) for crm in (SF, HS)  # the deal owners tasked
                        for f in follow_ups(capped, crm).values() if f.status == "open")
    assert set(per_owner.values()) == {1, 2}  # owners with one stale deal get one
    assert len(Crms(sb).tasks()) == sum(per_owner.values())
    assert planned_per_owner(dry.planned_tasks) == {
        key: n for key, n in sorted(per_owner.items(), key=lambda kv: (-kv[1], kv[0][0],
                                                                         str(kv[0][1])))}
    assert first.tasks_created == sum(per_owner.values()) == len(dry.planned_tasks)
    assert first.tasks_created + first.tasks_deferred == 117  # every alerted deal
    for crm in (SF, HS):
        waiting = [f for f in follow_ups(capped, crm).values() if f.status == "waiting"]
        tasked = [f for f in follow_ups(capped, crm).values() if f.status == "open"]
        for f in waiting:  # every waiting deal is worth less than its owner's tasked ones
            assert all(f.priority <= t.priority for t in tasked if t.owner_id == f.owner_id)
    assert sync(capped, clock).tasks_created == 0  # the same day: nothing more
    clock.tick(24 * 3600)
    next_day = sync(capped, clock)
    assert 0 < next_day.tasks_created <= first.tasks_created
    assert next_day.tasks_deferred < first.tasks_deferred


def test_a_snooze_in_the_task_silences_its_deal_until_the_date(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    chosen = {crm: pick(config, crm, 1, without="close_date_passed")[0] for crm in (SF, HS)}
    for crm, f in chosen.items():
        crms.write_in_task(crm, str(f.task_id), "Customer on holiday. snooze: 2026-12-07")
        crms.set_close_date(crm, f.record_id, PAST)
    clock.tick(60)
    silenced = sync(config, clock)
    assert (silenced.tasks_updated, silenced.tasks_created) == (0, 0)
    for crm, f in chosen.items():
        assert follow_ups(config, crm)[f.record_id].snoozed_until == datetime(2026, 12, 7,
                                                                              tzinfo=UTC)
        task = crms.task(crm, str(f.task_id))
        assert task is not None and "close date" not in task.subject
    clock.tick(14 * 24 * 3600 - 60)  # 2026-12-07 12:00: the snooze is over
    woken = sync(config, clock)
    assert woken.errors == []
    for crm, f in chosen.items():
        [task] = open_deal_tasks(crms)[(crm, f.record_id)]
        assert task.id == f.task_id and "close date passed 36 days ago" in task.subject
        assert follow_ups(config, crm)[f.record_id].snoozed_until is not None


class _CrashAfterTaskWrites:
    """Wraps a connector; dies right after its first ``update_tasks`` call reached the CRM."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_tasks(self, updates: Any) -> Any:
        self.inner.update_tasks(updates)
        raise _Crash("killed after update_tasks")


class _Crash(BaseException):
    """Stands for the process dying: nothing in funnelsync catches it."""


def test_a_crash_after_task_writes_converges_on_the_next_run(
        world: tuple[Sandbox, FakeClock, AppConfig]) -> None:
    sb, clock, config = world
    sync(config, clock)
    crms = Crms(sb)
    changed = {crm: pick(config, crm, 1, without="close_date_passed")[0] for crm in (SF, HS)}
    won = {crm: pick(config, crm, 2, default_pipeline=True)[1] for crm in (SF, HS)}
    for crm in (SF, HS):
        crms.set_close_date(crm, changed[crm].record_id, PAST)
        crms.win(crm, won[crm].record_id)
    clock.tick(60)
    base = no_wait_factory(clock)
    job = SyncJob(config, connector_factory=lambda n, c: _CrashAfterTaskWrites(base(n, c)),
                  clock=lambda: datetime.fromtimestamp(clock(), UTC))
    with pytest.raises(_Crash):
        job.run()
    created = tasks(sb)
    sync(config, clock)
    final = sync(config, clock)
    assert (final.tasks_created, final.tasks_updated, final.tasks_closed) == (0, 0, 0)
    assert tasks(sb) == created
    by_deal = open_deal_tasks(crms)
    assert Counter(len(found) for found in by_deal.values()) == {1: len(by_deal)}
    for crm in (SF, HS):
        assert "close date passed" in by_deal[(crm, changed[crm].record_id)][0].subject
        assert (crm, won[crm].record_id) not in by_deal
