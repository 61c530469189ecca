"""Follow-up tasks in the CRM: one open task per record and kind, rewritten when its reasons
change, completed when none is left, never created twice.

- Crash-safe creation: a follow-up is stored ``pending`` before its task is created, and the
  task's subject carries a marker derived from (source, record, kind); after a crash between
  the CRM call and the store update the next run finds the task by its marker. Rewrites and
  completions are idempotent, so repeating them after a crash changes nothing.
- The rep's action wins: before a task is rewritten or completed its current state is read. A
  task the rep completed or deleted makes the follow-up ``dismissed`` with its reasons
  acknowledged; only a reason the rep has not seen opens a new task. A snooze tag with a date
  in the task silences the record until that date (resolving it still completes the task).
- Reading costs nothing when nothing changed: task states are read only for follow-ups whose
  reasons changed or cleared.
- New capped tasks (stale deals) go most valuable first, within the per-owner daily and the
  per-run limits; the rest wait as ``waiting`` follow-ups and compete again next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import RowResult, TaskInfo, TaskSpec, TaskUpdate
from funnelsync.crm.source import Source
from funnelsync.rules.follow_ups import (
    ReasonLine,
    Wanted,
    closing_body,
    keys_of,
    snooze_until,
    task_body,
    task_subject,
    within_caps,
)
from funnelsync.store import FollowUp, Store

Key = tuple[str, str]  # (record_id, kind)
Resolution = Callable[[str, str, Sequence[ReasonLine]], str]  # (record_id, kind, lines) -> why
CAPPED_KIND = "deal"  # the kind the per-owner daily limit counts
TARGETS = {"deal": "deal", "lead": "lead", "escalation": "lead"}
INACTIVE_OWNER_CODES = frozenset({"INACTIVE_OWNER_OR_USER", "INVALID_OWNER_ID"})


def marker(source: str, record_id: str, tag: str) -> str:
    """A short stable tag written into a task's subject: ``tag`` is the follow-up's kind
    (earlier versions used the alert's reason, one task per reason)."""
    digest = hashlib.sha1(f"{source}|{record_id}|{tag}".encode()).hexdigest()[:10]
    return f"[fs:{digest}]"


def marker_in(subject: str) -> str | None:
    if "[fs:" not in subject:
        return None
    return subject[subject.index("[fs:"):].split("]")[0] + "]"


@dataclass
class TaskOutcome:
    """What one reconcile did to CRM tasks (or would do, in a dry run)."""

    created: int = 0
    updated: int = 0
    closed: int = 0
    deferred: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FollowUpRun:
    """One reconcile of the follow-ups of some kinds in one CRM."""

    store: Store
    source: Source
    config: AppConfig
    now: datetime
    dry_run: bool
    kinds: frozenset[str]
    resolution: Resolution
    outcome: TaskOutcome = field(default_factory=TaskOutcome)

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    def lines(self, follow_up: FollowUp) -> tuple[ReasonLine, ...]:
        return tuple(ReasonLine.from_json(d) for d in follow_up.reasons)

    def error(self, record_id: str, result: RowResult) -> None:
        self.outcome.errors.append({"source": self.source.name, "kind": "task",
                                    "record_id": record_id, "code": result.error_code,
                                    "message": result.message})


@dataclass
class _Plan:
    candidates: list[Wanted] = field(default_factory=list)
    reuse: dict[Key, FollowUp] = field(default_factory=dict)  # waiting rows a candidate reuses
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # store only
    updates: list[tuple[FollowUp, Wanted]] = field(default_factory=list)
    completes: list[tuple[FollowUp, str]] = field(default_factory=list)  # with the note


def reconcile(run: FollowUpRun, wanted: Mapping[Key, Wanted],
              live: dict[Key, FollowUp]) -> TaskOutcome:
    """Bring the CRM tasks of ``live`` follow-ups in line with ``wanted``."""
    plan = _Plan()
    live = _adopt_pending(run, live, plan)
    infos = _read_states(run, live, wanted)
    for key, follow_up in live.items():
        _decide(run, follow_up, wanted.get(key), infos, plan)
    plan.candidates += [w for key, w in wanted.items() if key not in live]
    chosen, waiting = _within_caps(run, plan.candidates)
    run.outcome.deferred += sum(1 for w in waiting if w.capped)
    if run.dry_run:
        run.outcome.planned += [planned_task(run.source.name, w) for w in chosen]
        run.outcome.updated += len(plan.updates)
        run.outcome.closed += len(plan.completes)
        return run.outcome
    created = _store_plan(run, plan, chosen, waiting)
    _create_tasks(run, [(created[(w.record_id, w.kind)], w) for w in chosen])
    _write_tasks(run, plan)
    return run.outcome


# -- deciding ---------------------------------------------------------------------------------
def _adopt_pending(run: FollowUpRun, live: dict[Key, FollowUp],
                   plan: _Plan) -> dict[Key, FollowUp]:
    """Tasks a crashed run created but did not record: found by marker, they become the
    follow-up's task; pending follow-ups without one wait to be created again."""
    pending = [f for f in live.values() if f.status == "pending"]
    if not pending:
        return live
    found = _tasks_by_marker(run, pending)
    out = dict(live)
    for f in pending:
        task_id = found.get(marker(run.source.name, f.record_id, f.kind))
        if task_id is None:
            out[(f.record_id, f.kind)] = replace(f, status="waiting")
            plan.changes.append((f.follow_up_id, {"status": "waiting"}))
            continue
        out[(f.record_id, f.kind)] = replace(f, status="open", task_id=task_id)
        plan.changes.append((f.follow_up_id, {"status": "open", "task_id": task_id,
                                              "task_created_at": run.now}))
    return out


def _tasks_by_marker(run: FollowUpRun, follow_ups: Sequence[FollowUp]) -> dict[str, str]:
    """Open tasks of these follow-ups' records, by the marker in their subject."""
    found: dict[str, str] = {}
    for target in sorted({TARGETS[f.kind] for f in follow_ups}):
        ids = sorted({f.record_id for f in follow_ups if TARGETS[f.kind] == target})
        for task in run.source.connector.find_tasks(ids, target=target):  # type: ignore[arg-type]
            tag = marker_in(str(task.get("subject") or ""))
            if tag:
                found[tag] = str(task["id"])
    return found


def _read_states(run: FollowUpRun, live: Mapping[Key, FollowUp],
                 wanted: Mapping[Key, Wanted]) -> dict[str, TaskInfo]:
    ids = [f.task_id for key, f in live.items()
           if f.task_id and f.status == "open" and _changed(run, f, wanted.get(key))]
    return run.source.connector.read_tasks(ids) if ids else {}


def _changed(run: FollowUpRun, follow_up: FollowUp, want: Wanted | None) -> bool:
    """Whether an open follow-up's task needs a write: its reasons cleared or changed."""
    if want is None:
        return True
    return not _snoozed(run, follow_up) and want.keys != keys_of(run.lines(follow_up))


def _snoozed(run: FollowUpRun, follow_up: FollowUp) -> bool:
    return follow_up.snoozed_until is not None and run.now < follow_up.snoozed_until


def _decide(run: FollowUpRun, f: FollowUp, want: Wanted | None, infos: Mapping[str, TaskInfo],
            plan: _Plan) -> None:
    if f.status == "open":
        _decide_open(run, f, want, infos.get(f.task_id or ""), plan)
    elif want is None:
        plan.changes.append((f.follow_up_id, {"status": "closed", "note": "reasons cleared"}))
    elif f.status == "dismissed":
        if not _snoozed(run, f) and want.keys - set(f.acknowledged):
            _reopen(f, want, "the rep completed the task; a new reason came up", plan)
    else:  # waiting, or pending without a task
        plan.candidates.append(want)
        plan.reuse[(f.record_id, f.kind)] = f


def _decide_open(run: FollowUpRun, f: FollowUp, want: Wanted | None, info: TaskInfo | None,
                 plan: _Plan) -> None:
    if info is None:  # nothing changed: nothing to read, nothing to write
        return
    lines = run.lines(f)
    if info.state != "open":
        if want is None:
            plan.changes.append((f.follow_up_id, {"status": "closed",
                                                  "note": f"task {info.state} in the CRM"}))
        elif want.keys - keys_of(lines):
            _reopen(f, want, f"the task was {info.state} by the rep; a new reason came up",
                    plan)
        else:
            plan.changes.append((f.follow_up_id, {"status": "dismissed",
                                                  "acknowledged": sorted(keys_of(lines))}))
        return
    if want is None:
        plan.completes.append((f, run.resolution(f.record_id, f.kind, lines)))
        return
    until = snooze_until(f"{info.subject}\n{info.body}", run.config.alerts.snooze_tag)
    if until is not None and until > run.today:
        start = datetime(until.year, until.month, until.day, tzinfo=UTC)
        plan.changes.append((f.follow_up_id, {"snoozed_until": start}))
        return
    plan.updates.append((f, want))


def _reopen(f: FollowUp, want: Wanted, note: str, plan: _Plan) -> None:
    """Close a follow-up the rep dealt with; a new one takes the new reasons."""
    plan.changes.append((f.follow_up_id, {"status": "closed", "note": note}))
    plan.candidates.append(want)


def _within_caps(run: FollowUpRun, candidates: list[Wanted]) -> tuple[list[Wanted],
                                                                      list[Wanted]]:
    alerts = run.config.alerts
    per_owner = alerts.max_new_tasks_per_owner_per_day or None
    created: dict[str | None, int] = {}
    if per_owner is not None and any(w.capped for w in candidates):
        created = run.store.tasks_created_per_owner(run.source.name, CAPPED_KIND,
                                                    run.now - timedelta(days=1))
    return within_caps(candidates, created, per_owner, alerts.max_new_tasks_per_run)


# -- writing ----------------------------------------------------------------------------------
def _store_plan(run: FollowUpRun, plan: _Plan, chosen: Sequence[Wanted],
                waiting: Sequence[Wanted]) -> dict[Key, FollowUp]:
    """Store every decision; chosen follow-ups become ``pending`` *before* their tasks are
    created. Returns the pending follow-up of each chosen candidate."""
    changes = list(plan.changes)
    new: list[dict[str, Any]] = []
    for status, items in (("pending", chosen), ("waiting", waiting)):
        for want in items:
            old = plan.reuse.get((want.record_id, want.kind))
            values = _row_of(want, status)
            if old is None:
                new.append(values)
            elif status == "pending" or want.keys != keys_of(run.lines(old)):
                changes.append((old.follow_up_id, values))
    inserted = run.store.save_follow_ups(run.source.name, changes, new, run.now)
    pending = dict(inserted)
    for want in chosen:
        old = plan.reuse.get((want.record_id, want.kind))
        if old is not None:
            pending[(want.record_id, want.kind)] = replace(old, status="pending")
    return pending


def _row_of(want: Wanted, status: str) -> dict[str, Any]:
    return {"record_id": want.record_id, "kind": want.kind, "status": status,
            "owner_id": want.owner_id, "priority": want.priority,
            "reasons": [line.as_json() for line in want.lines]}


def _create_tasks(run: FollowUpRun, todo: Sequence[tuple[FollowUp, Wanted]]) -> None:
    if not todo:
        return
    specs = [task_spec(run, w) for _, w in todo]
    results = _create_with_owner_fallback(run.source, specs)
    done = []
    for (f, want), result in zip(todo, results, strict=True):
        if result.ok and result.created_id:
            done.append((f.follow_up_id, {"status": "open", "task_id": result.created_id,
                                          "task_created_at": run.now}))
        else:
            run.error(want.record_id, result)
    run.store.save_follow_ups(run.source.name, done, now=run.now)
    run.outcome.created += len(done)


def _write_tasks(run: FollowUpRun, plan: _Plan) -> None:
    """Rewrite tasks whose reasons changed and complete those whose reasons all cleared."""
    due = run.today + timedelta(days=run.config.alerts.task_due_days)
    writes = [(f, {"reasons": [line.as_json() for line in w.lines], "owner_id": w.owner_id,
                   "priority": w.priority},
               TaskUpdate(str(f.task_id), subject=_subject(run, w),
                          body=task_body(w.lines, run.today, _noun(w.kind)), due=due))
              for f, w in plan.updates]
    writes += [(f, {"status": "closed", "note": note},
                TaskUpdate(str(f.task_id), body=closing_body(run.lines(f), note, run.today),
                           complete=True)) for f, note in plan.completes]
    if not writes:
        return
    results = run.source.connector.update_tasks([update for _, _, update in writes])
    done = []
    for (f, values, update), result in zip(writes, results, strict=True):
        if result.ok:
            done.append((f.follow_up_id, values))
            run.outcome.closed += update.complete
            run.outcome.updated += not update.complete
        else:
            run.error(f.record_id, result)
    run.store.save_follow_ups(run.source.name, done, now=run.now)


def task_spec(run: FollowUpRun, want: Wanted) -> TaskSpec:
    due = run.today + timedelta(days=run.config.alerts.task_due_days)
    return TaskSpec(deal_id=want.record_id, subject=_subject(run, want),
                    body=task_body(want.lines, run.today, _noun(want.kind)), due=due,
                    owner_id=want.owner_id, target=want.target)


def _subject(run: FollowUpRun, want: Wanted) -> str:
    return task_subject(want.title, want.lines,
                        marker(run.source.name, want.record_id, want.kind))


def _noun(kind: str) -> str:
    return TARGETS[kind]


def planned_task(source: str, want: Wanted) -> dict[str, Any]:
    """A task a dry run would create, as ``sync --dry-run --json`` lists it."""
    return {"source": source, "kind": want.kind, f"{want.target}_id": want.record_id,
            "owner_id": want.owner_id, "reasons": [line.code for line in want.lines],
            "subject": task_subject(want.title, want.lines,
                                    marker(source, want.record_id, want.kind))}


def planned_per_owner(planned: Sequence[dict[str, Any]]) -> dict[tuple[str, str | None], int]:
    """How many tasks a dry run would create for each (CRM, owner), largest first."""
    counts: dict[tuple[str, str | None], int] = {}
    for task in planned:
        key = (str(task["source"]), task.get("owner_id"))
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], str(kv[0][1]))))


def _create_with_owner_fallback(source: Source, specs: list[TaskSpec]) -> list[RowResult]:
    """Create tasks; a task whose owner is inactive goes to the integration user instead,
    with a note in its body, rather than being lost."""
    inactive = source.inactive_owner_ids()
    specs = [_unowned(spec) if spec.owner_id in inactive else spec for spec in specs]
    results = source.connector.create_tasks(specs)
    again = [i for i, r in enumerate(results)
             if not r.ok and r.error_code in INACTIVE_OWNER_CODES and specs[i].owner_id]
    if again:
        retry = [_unowned(specs[i]) for i in again]
        for index, result in zip(again, source.connector.create_tasks(retry), strict=True):
            results[index] = result
    return results


def _unowned(spec: TaskSpec) -> TaskSpec:
    return replace(spec, owner_id=None, body=spec.body + f"\nThe owner {spec.owner_id} is "
                                                         "inactive; please reassign.")


__all__ = ["FollowUpRun", "TaskOutcome", "marker", "marker_in", "planned_per_owner", "planned_task",
           "reconcile"]
