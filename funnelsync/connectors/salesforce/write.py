"""Salesforce writes: sObject Collections update/create (≤200 rows a call, allOrNone=false).

Per-row failures come back inside HTTP 200; every row is read. Rows failing with
UNABLE_TO_LOCK_ROW are sent again (only those rows) a bounded number of times. A whole call
rejected for a reason that is not temporary (e.g. a field that does not exist) becomes that
error on each of its rows; outages, expired quota and rejected credentials still raise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import requests

from funnelsync.connectors.base import RecordUpdate, RowResult, TaskSpec, Usage
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

    def push_updates(self, changes: Sequence[RecordUpdate]) -> list[RowResult]:
        """One RowResult per change, in order."""
        results: list[RowResult | None] = [None] * len(changes)
        pending = list(range(len(changes)))
        for round_no in range(self.lock_retries + 1):
            for batch in batched(pending, COLLECTION_MAX):
                for index, result in zip(batch, self._update_batch([changes[i] for i in batch]),
                                         strict=True):
                    results[index] = result
            pending = [i for i in pending if results[i].error_code == LOCKED]  # type: ignore[union-attr]
            if not pending or round_no == self.lock_retries:
                break
            self.usage.retries += len(pending)
            self.retry.sleep(self.retry.backoff(round_no + 1))
        return [r for r in results if r is not None]

    def _update_batch(self, batch: list[RecordUpdate]) -> list[RowResult]:
        records = [{"attributes": {"type": OBJECTS[c.kind]}, "id": c.record_id, **c.fields}
                   for c in batch]
        ids = [c.record_id for c in batch]
        return self._collection("PATCH", records, ids, f"update of {len(batch)} record(s)")

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
