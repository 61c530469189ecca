"""Salesforce writes: sObject Collections update/create (≤200 rows a call, allOrNone=false).

Per-row failures come back inside HTTP 200; every row is read. Rows failing with
UNABLE_TO_LOCK_ROW are sent again (only those rows) a bounded number of times. A whole call
rejected for a reason that is not temporary (e.g. a field that does not exist) becomes that
error on each of its rows; outages, expired quota and rejected credentials still raise.

Tasks are completed with the org's own closed status: ``TaskStatus`` is read once per connector
(``Completed`` when the org has it and it is closed, else the first closed status). A task's
state is read by id with ``query`` (not ``queryAll``), so a deleted task is simply absent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import requests

from funnelsync.connectors.base import (
    RecordUpdate,
    RowResult,
    TaskInfo,
    TaskSpec,
    TaskUpdate,
    Usage,
)
from funnelsync.connectors.http import Action, RetryPolicy, classify
from funnelsync.connectors.paging import batched, soql_pages
from funnelsync.connectors.salesforce.query import OBJECTS, soql_in
from funnelsync.errors import RateLimited, RemoteError

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

T = TypeVar("T")
COLLECTION_MAX = 200
FIND_TASKS_CHUNK = 300  # ids per IN (...) list: ~6,500 characters, well inside a URL
LOCKED = "UNABLE_TO_LOCK_ROW"
PREFERRED_CLOSED_STATUS = "Completed"
TASK_STATUS_SOQL = "SELECT MasterLabel, ApiName, IsClosed, IsDefault FROM TaskStatus"


def classify_create(status: int | None, code: str | None,
                    exc: BaseException | None) -> Action:
    """Creating is not idempotent: retry only failures that surely created nothing."""
    action = classify(status, code, exc)
    if action is not Action.RETRY:
        return action
    if isinstance(exc, requests.ConnectTimeout) or status in (429, 503):
        return Action.RETRY
    return Action.FAIL


def _row_result(record_id: str, row: dict[str, Any], created: bool = False) -> RowResult:
    if row.get("success"):
        return RowResult(record_id, True, created_id=row.get("id") if created else None)
    errors = row.get("errors") or [{}]
    return RowResult(record_id, False, error_code=errors[0].get("statusCode"),
                     message=errors[0].get("message"))


def _failed_rows(ids: list[str], err: RemoteError) -> list[RowResult]:
    return [RowResult(i, False, error_code=err.code, message=err.message) for i in ids]


class SalesforceWrites:
    """Write half of SalesforceConnector (mixed in; uses its ``_call``, ``_sf``, ``retry``)."""

    usage: Usage
    retry: RetryPolicy
    lock_retries: int
    _call: Callable[..., Any]
    _sf: Callable[[], Salesforce]
    _closed_status: str | None = None  # read from TaskStatus on first use

    def push_updates(self, changes: Sequence[RecordUpdate]) -> list[RowResult]:
        """One RowResult per change, in order."""
        records = [{"attributes": {"type": OBJECTS[c.kind]}, "id": c.record_id, **c.fields}
                   for c in changes]
        return self._patch_rows(records, "record(s)")

    def _patch_rows(self, records: list[dict[str, Any]], noun: str) -> list[RowResult]:
        """PATCH rows 200 a call; rows refused with UNABLE_TO_LOCK_ROW are sent again."""
        results: list[RowResult | None] = [None] * len(records)
        pending = list(range(len(records)))
        for round_no in range(self.lock_retries + 1):
            for batch in batched(pending, COLLECTION_MAX):
                rows = [records[i] for i in batch]
                answers = self._collection("PATCH", rows, [r["id"] for r in rows],
                                           f"update of {len(rows)} {noun}")
                for index, result in zip(batch, answers, strict=True):
                    results[index] = result
            pending = [i for i in pending if results[i].error_code == LOCKED]  # type: ignore[union-attr]
            if not pending or round_no == self.lock_retries:
                break
            self.usage.retries += len(pending)
            self.retry.sleep(self.retry.backoff(round_no + 1))
        return [r for r in results if r is not None]

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> list[RowResult]:
        """Create one open Task per spec on its deal; ``created_id`` is the new Task id."""
        results: list[RowResult] = []
        for batch in batched(tasks, COLLECTION_MAX):
            results += self._create_batch(batch)
        return results

    def _create_batch(self, batch: list[TaskSpec]) -> list[RowResult]:
        records = [_task_record(t) for t in batch]
        ids = [t.deal_id for t in batch]
        return self._collection("POST", records, ids, f"creation of {len(batch)} task(s)",
                                classify_create)

    def _collection(self, method: str, records: list[dict[str, Any]], ids: list[str],
                    what: str, decide: Callable[..., Action] = classify) -> list[RowResult]:
        """One sObject Collections call (allOrNone=false): a result per row, in order. A
        whole-call failure that retrying cannot fix fails every row of the batch."""
        body = {"allOrNone": False, "records": records}
        try:
            rows = self._call(lambda: self._sf().restful("composite/sobjects", method=method,
                                                         json=body), what, decide)
        except RateLimited:
            raise
        except RemoteError as err:
            if err.retryable:
                raise
            return _failed_rows(ids, err)
        created = method == "POST"
        return [_row_result(i, row, created=created)
                for i, row in zip(ids, rows or [], strict=True)]

    def find_tasks(self, deal_ids: Sequence[str],
                   target: Literal["deal", "lead"] = "deal") -> list[dict[str, Any]]:
        """Open Tasks on these Opportunities (WhatId) or Leads (WhoId) as
        ``{"id", "deal_id", "subject", "owner_id"}``."""
        found: list[dict[str, Any]] = []
        ref = "WhoId" if target == "lead" else "WhatId"
        for batch in batched(dict.fromkeys(deal_ids), FIND_TASKS_CHUNK):
            soql = (f"SELECT Id, {ref}, Subject, OwnerId FROM Task WHERE IsClosed = false "
                    f"AND {ref} IN {soql_in(batch)}")
            for page in soql_pages(partial(self._open_tasks_query, soql), self._open_tasks_more,
                                   "Salesforce query open Tasks"):
                found += [{"id": r["Id"], "deal_id": r[ref], "subject": r.get("Subject"),
                           "owner_id": r.get("OwnerId")} for r in page.records]
        return found

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[RowResult]:
        """Change or complete Tasks (sObject Collections PATCH); ``record_id`` is the Task id."""
        if not updates:
            return []
        closed = self.closed_task_status() if any(u.complete for u in updates) else ""
        return self._patch_rows([_task_changes(u, closed) for u in updates], "task(s)")

    def closed_task_status(self) -> str:
        """The status that completes a Task in this org (read from ``TaskStatus`` once)."""
        if self._closed_status is None:
            rows = self._call(lambda: self._sf().query(TASK_STATUS_SOQL),
                              "query TaskStatus")["records"]
            self._closed_status = pick_closed_status(rows)
        return self._closed_status

    def read_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskInfo]:
        """Each Task's state by id; a Task the query does not return is ``deleted``."""
        found = {tid: TaskInfo(tid, "deleted") for tid in dict.fromkeys(task_ids)}
        for batch in batched(list(found), FIND_TASKS_CHUNK):
            soql = ("SELECT Id, IsClosed, Subject, Description FROM Task WHERE Id IN "
                    f"{soql_in(batch)}")
            for page in soql_pages(partial(self._open_tasks_query, soql), self._open_tasks_more,
                                   "Salesforce query Tasks by id"):
                for row in page.records:
                    found[row["Id"]] = TaskInfo(row["Id"], "closed" if row.get("IsClosed")
                                                else "open", row.get("Subject") or "",
                                                row.get("Description") or "")
        return found

    def _open_tasks_query(self, soql: str) -> dict[str, Any]:
        return self._call(lambda: self._sf().query(soql), "query open Tasks")

    def _open_tasks_more(self, url: str) -> dict[str, Any]:
        return self._call(lambda: self._sf().query_more(url, identifier_is_url=True),
                          "query open Tasks (next page)")


def _task_record(task: TaskSpec) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Task"}, "Subject": task.subject[:255],
        "Description": task.body, "Status": "Not Started",
        # a Lead is a "who" (WhoId); an Opportunity is a "what" (WhatId)
        ("WhoId" if task.target == "lead" else "WhatId"): task.deal_id,
        "Priority": task.priority, "ActivityDate": task.due.isoformat()}
    if task.owner_id:
        record["OwnerId"] = task.owner_id
    return record


def _task_changes(update: TaskUpdate, closed_status: str) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Task"}, "id": update.task_id}
    if update.subject is not None:
        record["Subject"] = update.subject[:255]
    if update.body is not None:
        record["Description"] = update.body
    if update.due is not None:
        record["ActivityDate"] = update.due.isoformat()
    if update.complete:
        record["Status"] = closed_status
    return record


def pick_closed_status(rows: Sequence[dict[str, Any]]) -> str:
    """``Completed`` when the org has it as a closed status, else its first closed status."""
    closed = [str(r.get("ApiName") or r.get("MasterLabel")) for r in rows if r.get("IsClosed")]
    if not closed:
        raise RemoteError("the org has no closed TaskStatus: tasks cannot be completed",
                          code="NO_CLOSED_TASK_STATUS")
    return PREFERRED_CLOSED_STATUS if PREFERRED_CLOSED_STATUS in closed else closed[0]
