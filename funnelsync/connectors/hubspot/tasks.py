"""HubSpot tasks: create (batch, 100 a call), find open tasks of deals or contacts, read the
state of tasks by id, update and complete them (batch, 100 a call).

Open tasks of records are found through the v4 association batch read plus a task batch read,
never search: search is rate limited separately and its index lags behind fresh writes. A
task batch read answers 207 for ids it cannot return (deleted or archived tasks): those are
``deleted``. A batch update names the tasks it could not change in ``errors[].context.ids``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from funnelsync.connectors.base import RowResult, TaskInfo, TaskSpec, TaskUpdate
from funnelsync.connectors.hubspot.transport import RAW, HubSpotTransport
from funnelsync.connectors.hubspot.writes import (
    BATCH_LIMIT,
    TASK_PROPERTIES,
    TASK_STATE_PROPERTIES,
    batch_results,
    create_classify,
    created_rows,
    failed_rows,
    open_task_rows,
    task_body,
    task_error_code,
    task_ids_by_deal,
    task_infos,
    task_update_body,
)
from funnelsync.connectors.paging import batched
from funnelsync.errors import RateLimited, RemoteError

ASSOCIATION_READ_LIMIT = 1000


class HubSpotTasks:
    """Task half of HubSpotConnector (mixed in; uses its ``_http`` transport)."""

    _http: HubSpotTransport

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> list[RowResult]:
        """Tasks owned and associated to their deals, 100 per batch-create call; one result per
        spec, in order, ``created_id`` the task id.

        HubSpot does not promise the order of batch results, so results are matched back to
        specs by subject (callers make subjects unique, e.g. with a marker). A batch whose call
        fails after it may have been processed is reported as failed rows, never repeated: the
        caller finds such tasks later instead of creating them twice.
        """
        rows: list[RowResult] = []
        for chunk in batched(tasks, BATCH_LIMIT):
            rows += self._create_task_batch(chunk)
        return rows

    def _create_task_batch(self, chunk: list[TaskSpec]) -> list[RowResult]:
        """One batch-create call. A 400 means HubSpot created nothing (one invalid input, e.g.
        an archived owner, fails the whole batch), so the batch is split to isolate that row."""
        api = self._http.api("tasks.batch")
        try:
            _, body = self._http.call(
                "task_create", f"create {len(chunk)} HubSpot tasks",
                partial(api.create, {"inputs": [task_body(t) for t in chunk]}, **RAW),
                classify=create_classify)
        except RemoteError as err:
            if isinstance(err, RateLimited):
                raise
            if err.status == 400 and len(chunk) > 1:
                half = len(chunk) // 2
                return self._create_task_batch(chunk[:half]) + \
                    self._create_task_batch(chunk[half:])
            code = task_error_code(err)
            return [RowResult(record_id=t.deal_id, ok=False, error_code=code,
                              message=err.message) for t in chunk]
        return created_rows(chunk, body)

    def find_tasks(self, deal_ids: Sequence[str],
                   target: Literal["deal", "lead"] = "deal") -> list[dict[str, Any]]:
        """Open tasks associated with these deals or contacts (v4 association read + task
        batch read)."""
        deal_of: dict[str, str] = {}
        api = self._http.api("associations")
        ids = list(dict.fromkeys(str(d) for d in deal_ids))
        from_object = "contacts" if target == "lead" else "deals"
        for chunk in batched(ids, ASSOCIATION_READ_LIMIT):
            inputs = {"inputs": [{"id": d} for d in chunk]}
            _, body = self._http.call("associations", f"read HubSpot {from_object}-task "
                                      "associations",
                                      partial(api.get_page, from_object, "tasks", inputs, **RAW))
            for deal_id, task_ids in task_ids_by_deal(body).items():
                deal_of.update((t, deal_id) for t in task_ids)
        return open_task_rows(self._read_tasks(list(deal_of), TASK_PROPERTIES), deal_of)

    def read_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskInfo]:
        """Each task's state by id (batch read, 100 a call); unreturned ids are ``deleted``."""
        ids = list(dict.fromkeys(str(t) for t in task_ids))
        return task_infos(ids, self._read_tasks(ids, TASK_STATE_PROPERTIES))

    def _read_tasks(self, task_ids: list[str], properties: list[str]) -> list[dict[str, Any]]:
        api = self._http.api("tasks.batch")
        tasks: list[dict[str, Any]] = []
        for chunk in batched(task_ids, BATCH_LIMIT):
            body_in = {"properties": properties, "inputs": [{"id": t} for t in chunk]}
            _, body = self._http.call("batch_read", "read HubSpot tasks",
                                      partial(api.read, body_in, **RAW))
            tasks.extend(body.get("results") or [])
        return tasks

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[RowResult]:
        """Change or complete tasks, 100 per batch-update call; ``record_id`` is the task id."""
        rows: list[RowResult] = []
        for chunk in batched(updates, BATCH_LIMIT):
            rows += self._update_task_batch(chunk)
        return rows

    def _update_task_batch(self, chunk: list[TaskUpdate]) -> list[RowResult]:
        api = self._http.api("tasks.batch")
        ids = [str(u.task_id) for u in chunk]
        try:
            status, body = self._http.call(
                "batch_update", f"update {len(chunk)} HubSpot tasks",
                partial(api.update, task_update_body(chunk), **RAW))
        except RemoteError as err:
            if err.retryable or err.status != 400:
                raise
            return failed_rows(err, ids, "tasks")
        return batch_results(status, body, ids)
