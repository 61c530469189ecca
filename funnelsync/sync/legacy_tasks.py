"""Fold the tasks of earlier versions (one per alert) into one follow-up per record.

Runs at the start of each reconcile until no legacy alert is left, which after the first
successful run of this version is never. Per record and kind:

- its follow-up already has a task: every legacy task still open is completed, "merged";
- no reason holds any more: every legacy task still open is completed with why;
- reasons hold and some legacy tasks are open: the oldest open one becomes the follow-up's
  task (rewritten by the reconcile that follows: one task listing every reason, its marker
  in the subject) and the other open ones are completed, "merged";
- reasons hold and the rep closed every legacy task: the follow-up is ``dismissed`` with
  those reasons acknowledged, so only a new reason opens a task.

Tasks are completed before the store records the fold; a crash in between makes the next run
find them closed and carry on. A legacy alert that was ``pending`` (its task being created when
an earlier version stopped) has its task looked up by that version's per-reason marker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from funnelsync.connectors.base import TaskInfo, TaskUpdate
from funnelsync.rules.follow_ups import ReasonLine, Wanted, closing_body, keys_of, reason_key
from funnelsync.store import Alert, FollowUp
from funnelsync.sync.follow_ups import TARGETS, FollowUpRun, Key, marker, marker_in

KindOf = Callable[[str], str | None]  # alert reason -> follow-up kind (None: not this step's)


@dataclass
class _Fold:
    completes: list[tuple[Key, TaskUpdate]] = field(default_factory=list)
    rows: dict[Key, dict[str, Any]] = field(default_factory=dict)
    alert_ids: dict[Key, list[int]] = field(default_factory=dict)


def fold_legacy_tasks(run: FollowUpRun, wanted: Mapping[Key, Wanted],
                      kind_of: KindOf) -> dict[Key, FollowUp]:
    """Fold what earlier versions left; returns the follow-ups the fold made (in a dry run,
    the ones it would make, with id 0)."""
    groups: dict[Key, list[Alert]] = defaultdict(list)
    for alert in run.store.legacy_task_alerts(run.source.name):
        kind = kind_of(alert.reason)
        if kind in run.kinds:
            groups[(alert.record_id, kind)].append(alert)  # type: ignore[index]
    if not groups:
        return {}
    task_of = _legacy_tasks(run, groups)
    infos = run.source.connector.read_tasks(sorted(set(task_of.values())))
    live = run.store.live_follow_ups(run.source.name, run.kinds)
    fold = _Fold()
    for key, alerts in groups.items():
        open_ids = list(dict.fromkeys(task_of[a.alert_id] for a in alerts
                                      if _is_open(infos, task_of.get(a.alert_id))))
        _fold_group(run, key, alerts, open_ids, wanted.get(key), live.get(key), fold)
    return _apply(run, fold)


def _is_open(infos: Mapping[str, TaskInfo], task_id: str | None) -> bool:
    return task_id is not None and task_id in infos and infos[task_id].state == "open"


def _legacy_tasks(run: FollowUpRun, groups: Mapping[Key, list[Alert]]) -> dict[int, str]:
    """Each legacy alert's task id; a pending one's found by its per-reason marker."""
    task_of = {a.alert_id: a.task_id for alerts in groups.values() for a in alerts
               if a.task_id}
    pending = [(key, a) for key, alerts in groups.items() for a in alerts if not a.task_id]
    for target in sorted({TARGETS[key[1]] for key, _ in pending}):
        ids = sorted({a.record_id for key, a in pending if TARGETS[key[1]] == target})
        by_marker = {marker_in(str(t.get("subject") or "")): str(t["id"])
                     for t in run.source.connector.find_tasks(ids, target=target)}  # type: ignore[arg-type]
        for key, alert in pending:
            found = by_marker.get(marker(run.source.name, alert.record_id, alert.reason))
            if TARGETS[key[1]] == target and found:
                task_of[alert.alert_id] = found
    return task_of  # type: ignore[return-value]


def _fold_group(run: FollowUpRun, key: Key, alerts: Sequence[Alert], open_ids: list[str],
                want: Wanted | None, live: FollowUp | None, fold: _Fold) -> None:
    noun = TARGETS[key[1]]
    merged = f"merged into one follow-up task per {noun}"
    fold.alert_ids[key] = [a.alert_id for a in alerts]
    lines = tuple(ReasonLine(a.reason, reason_key(a.reason, a.evidence), "", a.evidence)
                  for a in alerts if a.status != "resolved")
    if live is not None and live.task_id:
        _complete(run, key, open_ids, merged, fold)
    elif want is None:
        _complete(run, key, open_ids, run.resolution(key[0], key[1], lines), fold)
    elif open_ids:
        _complete(run, key, open_ids[1:], merged, fold)
        fold.rows[key] = {"record_id": key[0], "kind": key[1], "status": "open",
                          "task_id": open_ids[0], "owner_id": want.owner_id,
                          "priority": want.priority, "task_created_at": alerts[0].opened_at}
    else:
        fold.rows[key] = {"record_id": key[0], "kind": key[1], "status": "dismissed",
                          "owner_id": want.owner_id, "priority": want.priority,
                          "reasons": [line.as_json() for line in lines],
                          "acknowledged": sorted(keys_of(lines))}


def _complete(run: FollowUpRun, key: Key, task_ids: Sequence[str], note: str,
              fold: _Fold) -> None:
    body = closing_body((), note, run.today)
    fold.completes += [(key, TaskUpdate(tid, body=body, complete=True)) for tid in task_ids]


def _apply(run: FollowUpRun, fold: _Fold) -> dict[Key, FollowUp]:
    if run.dry_run:
        run.outcome.closed += len(fold.completes)
        return {key: FollowUp(0, run.source.name, key[0], key[1], **_model_values(row))
                for key, row in fold.rows.items()}
    results = run.source.connector.update_tasks([u for _, u in fold.completes])
    failed = set()
    for (key, _), result in zip(fold.completes, results, strict=True):
        if result.ok:
            run.outcome.closed += 1
        else:
            failed.add(key)
            run.error(key[0], result)
    done = [key for key in fold.alert_ids if key not in failed]
    rows = run.store.save_follow_ups(run.source.name, (),
                                     [fold.rows[k] for k in done if k in fold.rows], run.now)
    run.store.mark_alerts_folded([i for k in done for i in fold.alert_ids[k]], run.now)
    return rows


def _model_values(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("record_id", "kind")}


__all__ = ["KindOf", "fold_legacy_tasks"]
