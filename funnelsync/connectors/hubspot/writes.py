"""HubSpot write shapes and result mapping: batch updates, tasks, custom properties.

Pure functions: they build request bodies, turn responses into one :class:`RowResult` per
row, in the order the rows were given, and decide which failed creates may be repeated.
No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import urllib3.exceptions

from funnelsync.connectors.base import (
    RecordUpdate,
    RowResult,
    TaskInfo,
    TaskSpec,
    TaskState,
    TaskUpdate,
)
from funnelsync.connectors.http import Action, classify
from funnelsync.errors import RemoteError

BATCH_LIMIT = 100
TASK_TO_DEAL = 216  # HUBSPOT_DEFINED association type: task -> deal
TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type: task -> contact
PRIORITIES = {"High": "HIGH", "Normal": "MEDIUM", "Low": "LOW"}
OPEN_TASK_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS", "WAITING", "DEFERRED"})
TASK_PROPERTIES = ["hs_task_subject", "hs_task_status", "hubspot_owner_id", "hs_timestamp"]
TASK_STATE_PROPERTIES = ["hs_task_subject", "hs_task_status", "hs_task_body"]
COMPLETED = "COMPLETED"

# Custom properties funnelsync writes back; anything else is created as a text property.
KNOWN_PROPERTIES: dict[str, dict[str, str]] = {
    "funnel_stage": {"label": "Funnel stage", "type": "string", "fieldType": "text"},
    "funnel_score": {"label": "Funnel score", "type": "number", "fieldType": "number"},
    "funnel_win_probability": {"label": "Win probability (funnelsync)", "type": "number",
                               "fieldType": "number"},
}
PROPERTY_GROUPS = {"contacts": "contactinformation", "deals": "dealinformation"}


def create_classify(status: int | None, code: str | None,
                    exc: BaseException | None) -> Action:
    """Creating is not idempotent: repeat only when the request surely was not processed."""
    action = classify(status, code, exc)
    refused = isinstance(exc, urllib3.exceptions.NewConnectionError)
    if action is Action.RETRY and status != 429 and not refused:
        return Action.FAIL
    return action


def chunk_updates(changes: Sequence[RecordUpdate]) -> list[list[int]]:
    """Row indexes in batches of at most 100, never the same id twice in one batch
    (HubSpot rejects a batch with duplicate ids; a later change goes in a later batch)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    ids: set[str] = set()
    for index, change in enumerate(changes):
        if len(current) >= BATCH_LIMIT or change.record_id in ids:
            chunks.append(current)
            current, ids = [], set()
        current.append(index)
        ids.add(change.record_id)
    if current:
        chunks.append(current)
    return chunks


def update_body(changes: Sequence[RecordUpdate]) -> dict[str, Any]:
    return {"inputs": [{"id": c.record_id, "properties": _as_strings(c.fields)} for c in changes]}


def _as_strings(fields: dict[str, Any]) -> dict[str, str | None]:
    """HubSpot property values travel as strings; None clears a value ('' in HubSpot)."""
    return {k: ("" if v is None else str(v)) for k, v in fields.items()}


def batch_results(status: int, body: dict[str, Any], ids: Sequence[str]) -> list[RowResult]:
    """Rows of a batch answer: 200 all ok; 207 failures named by ``errors[].context.ids``."""
    if status != 207:
        return [RowResult(record_id=i, ok=True) for i in ids]
    failed: dict[str, tuple[str, str]] = {}
    unnamed: tuple[str, str] | None = None
    for error in body.get("errors") or []:
        code = str(error.get("category") or error.get("status") or "ERROR")
        message = str(error.get("message") or "")
        named = (error.get("context") or {}).get("ids") or []
        for rid in named:
            failed[str(rid)] = (code, message)
        if not named:
            unnamed = (code, message)
    done = {str(r.get("id")) for r in body.get("results") or []}
    return [_row_of(i, failed, done, unnamed) for i in ids]


def _row_of(rid: str, failed: dict[str, tuple[str, str]], done: set[str],
            unnamed: tuple[str, str] | None) -> RowResult:
    if rid in failed:
        return RowResult(record_id=rid, ok=False, error_code=failed[rid][0],
                         message=failed[rid][1])
    if rid in done or unnamed is None:
        return RowResult(record_id=rid, ok=True)
    return RowResult(record_id=rid, ok=False, error_code=unnamed[0], message=unnamed[1])


def failed_rows(error: RemoteError, ids: Sequence[str], object_type: str) -> list[RowResult]:
    """Every row of a batch HubSpot rejected as a whole (e.g. a property that does not exist)."""
    if error.code == "PROPERTY_DOESNT_EXIST":
        message = (f"a property in this batch does not exist on HubSpot {object_type} "
                   f"({error.message}); create it with `funnelsync doctor --fix`")
    else:
        message = error.message
    code = error.code or (f"HTTP_{error.status}" if error.status else "REMOTE_ERROR")
    return [RowResult(record_id=i, ok=False, error_code=code, message=message) for i in ids]


def task_body(task: TaskSpec) -> dict[str, Any]:
    """``POST /crm/v3/objects/tasks`` body: the task, its owner, and its deal (or, for
    ``target="lead"``, contact) association."""
    properties = {"hs_task_subject": task.subject, "hs_task_body": task.body,
                  "hs_task_status": "NOT_STARTED",
                  "hs_task_priority": PRIORITIES.get(task.priority, "HIGH"),
                  "hs_timestamp": f"{task.due.isoformat()}T09:00:00Z"}
    if task.owner_id:
        properties["hubspot_owner_id"] = str(task.owner_id)
    return {"properties": properties,
            "associations": [{"to": {"id": str(task.deal_id)},
                              "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                         "associationTypeId": TASK_TO_CONTACT
                                         if task.target == "lead" else TASK_TO_DEAL}]}]}


def task_update_body(updates: Sequence[TaskUpdate]) -> dict[str, Any]:
    """``POST /crm/v3/objects/tasks/batch/update`` body: only the properties that change."""
    return {"inputs": [{"id": str(u.task_id), "properties": _task_changes(u)} for u in updates]}


def _task_changes(update: TaskUpdate) -> dict[str, str]:
    properties = {}
    if update.subject is not None:
        properties["hs_task_subject"] = update.subject
    if update.body is not None:
        properties["hs_task_body"] = update.body
    if update.due is not None:
        properties["hs_timestamp"] = f"{update.due.isoformat()}T09:00:00Z"
    if update.complete:
        properties["hs_task_status"] = COMPLETED
    return properties


def task_infos(task_ids: Sequence[str], tasks: list[dict[str, Any]]) -> dict[str, TaskInfo]:
    """Each id's state from a task batch read; ids the read did not return are ``deleted``."""
    found = {str(t): TaskInfo(str(t), "deleted") for t in task_ids}
    for task in tasks:
        props = task.get("properties") or {}
        tid = str(task.get("id"))
        is_open = (props.get("hs_task_status") or "NOT_STARTED") in OPEN_TASK_STATUSES
        state: TaskState = "deleted" if task.get("archived") else "open" if is_open else "closed"
        found[tid] = TaskInfo(tid, state,
                              props.get("hs_task_subject") or "", props.get("hs_task_body") or "")
    return found


def created_rows(specs: Sequence[TaskSpec], body: dict[str, Any]) -> list[RowResult]:
    """One row per spec from a batch-create answer, matched by task subject (HubSpot does
    not promise result order); a spec with no matching result is reported as failed."""
    by_subject: dict[str, list[str]] = {}
    for result in body.get("results") or []:
        subject = str((result.get("properties") or {}).get("hs_task_subject") or "")
        by_subject.setdefault(subject, []).append(str(result.get("id")))
    rows = []
    for spec in specs:
        ids = by_subject.get(spec.subject) or []
        if ids:
            rows.append(RowResult(record_id=spec.deal_id, ok=True, created_id=ids.pop(0)))
        else:
            rows.append(RowResult(record_id=spec.deal_id, ok=False, error_code="NOT_CREATED",
                                  message="the batch answer has no task with this subject"))
    return rows


def task_error_code(err: RemoteError) -> str:
    """The most specific code of a failed task create: HubSpot names a bad owner only inside
    the VALIDATION_ERROR message."""
    if "INVALID_OWNER_ID" in (err.message or ""):
        return "INVALID_OWNER_ID"
    return err.code or f"HTTP_{err.status}"


def task_ids_by_deal(body: dict[str, Any]) -> dict[str, list[str]]:
    """Task ids per deal from a v4 association batch read (``results[].from.id / to[]``)."""
    out: dict[str, list[str]] = {}
    for result in body.get("results") or []:
        deal_id = str((result.get("from") or {}).get("id"))
        out.setdefault(deal_id, []).extend(str(t.get("toObjectId")) for t in result.get("to") or [])
    return out


def open_task_rows(tasks: list[dict[str, Any]], deal_of: dict[str, str]) -> list[dict[str, Any]]:
    """``{"id", "deal_id", "subject", "owner_id", "status", "due"}`` for tasks not completed."""
    rows = []
    for task in tasks:
        props = task.get("properties") or {}
        if (props.get("hs_task_status") or "NOT_STARTED") not in OPEN_TASK_STATUSES:
            continue
        tid = str(task.get("id"))
        rows.append({"id": tid, "deal_id": deal_of.get(tid),
                     "subject": props.get("hs_task_subject"),
                     "owner_id": props.get("hubspot_owner_id"),
                     "status": props.get("hs_task_status"), "due": props.get("hs_timestamp")})
    return rows


def property_definition(object_type: str, name: str) -> dict[str, Any]:
    """``POST /crm/v3/properties/{object}`` body for one funnelsync property."""
    known = KNOWN_PROPERTIES.get(name, {"label": name.replace("_", " ").capitalize(),
                                        "type": "string", "fieldType": "text"})
    return {"name": name, **known, "groupName": PROPERTY_GROUPS.get(object_type, "")}
