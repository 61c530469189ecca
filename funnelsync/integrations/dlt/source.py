"""``funnel_source(config)``: the funnel as a dlt source, merged incrementally into a warehouse.

One load = one funnelsync pull (never a write-back) into the configured state store, then, per
table, the rows the store changed since the position the previous load reached. Positions live
in dlt's resource state, so they travel with the pipeline (and its destination), not with the
state store: a new pipeline starts with everything, and a load that dlt undoes starts again from
where the last good one ended.

Tables (columns, types and descriptions from ``funnelsync.app.tables``, the same ``export``
writes): ``leads`` and ``deals`` keyed by (source, source_id), ``stage_changes`` by (source,
record_id, to_stage, changed_at), ``people`` by person_id, ``alerts`` by alert_id and, when
asked for, ``runs`` by run_id; all ``merge``. Deleted or archived records, and people whose
records are all gone, arrive with ``is_deleted = true``, or are deleted from the destination
with ``hard_delete=True``.

A failed load loses nothing: dlt keeps the load package and the next ``pipeline.run`` finishes
it; when the package is aborted instead (``pipeline.abort_packages()``, or
``load.auto_abort_on_terminal_error``), dlt restores the positions it held before, and the
next run yields the same rows again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.extract import DltResource, DltSource

from funnelsync.app.tables import TABLES, Table
from funnelsync.clock import Clock, utc_now
from funnelsync.config.loading import load_config
from funnelsync.config.models import AppConfig
from funnelsync.crm.source import ConnectorFactory, default_connector
from funnelsync.integrations.dlt import reading
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob
from funnelsync.sync.pull import Progress

SOURCE_NAME = "funnel"
RESOURCES = ("leads", "deals", "stage_changes", "people", "alerts", "runs")
POSITION = "through"  # key of the position in each resource's dlt state


class _Pull:
    """The funnelsync pull of one load, run once, when the first resource is read."""

    def __init__(self, config: AppConfig, connector_factory: ConnectorFactory, clock: Clock,
                 progress: Progress | None) -> None:
        self.config = config
        self._job = SyncJob(config, connector_factory=connector_factory, clock=clock,
                            progress=progress)
        self._run_id: int | None = None
        self._lock = threading.Lock()

    def run_id(self) -> int:
        """The id of this load's pull run: every record it wrote has changed_run <= it."""
        with self._lock:
            if self._run_id is None:
                self._run_id = self._job.pull().run_id
            return self._run_id

    def store(self) -> Store:
        return Store.open(self.config.state.url)


def funnel_source(config: AppConfig | str | Path, *, hard_delete: bool = False,
                  include_runs: bool = False,
                  connector_factory: ConnectorFactory = default_connector,
                  clock: Clock = utc_now, progress: Progress | None = None) -> DltSource:
    """The funnel as a dlt source (``config``: an ``AppConfig`` or a config file path).

    ``hard_delete``: delete deleted/archived records and vanished people from the destination
    instead of loading them with ``is_deleted = true``. ``include_runs``: also load the
    ``runs`` table (each load's own pull is a run, so it then gains a row on every load).
    Connector factory, clock and progress callback are passed to the pull (``SyncJob``).
    """
    app = config if isinstance(config, AppConfig) else load_config(config)
    pull = _Pull(app, connector_factory, clock, progress)

    @dlt.source(name=SOURCE_NAME, max_table_nesting=0)
    def funnel() -> list[DltResource]:
        runs = _resource("runs", hard_delete, _positioned(pull, reading.run_rows, _run_mark))
        runs.selected = include_runs
        return [
            _resource("leads", hard_delete, _positioned(pull, _records("leads"), _run_mark)),
            _resource("deals", hard_delete, _positioned(pull, _records("deals"), _run_mark)),
            _resource("stage_changes", hard_delete,
                      _positioned(pull, reading.stage_change_rows, _stage_changes_mark)),
            _resource("people", hard_delete,
                      _positioned(pull, reading.people_rows, _people_mark)),
            _resource("alerts", hard_delete, _alerts(pull)),
            runs,
        ]

    return funnel()


Reader = Callable[[Store, int | None, int], Iterator[dict[str, Any]]]
Mark = Callable[[_Pull, Store], int]


def _run_mark(pull: _Pull, store: Store) -> int:
    return pull.run_id()


def _stage_changes_mark(pull: _Pull, store: Store) -> int:
    return store.stage_changes_mark()


def _people_mark(pull: _Pull, store: Store) -> int:
    return store.people_mark()


def _records(kind: str) -> Reader:
    def read(store: Store, after: int | None, through: int) -> Iterator[dict[str, Any]]:
        return reading.record_rows(store, kind, after, through)  # type: ignore[arg-type]
    return read


def _positioned(pull: _Pull, read: Reader, mark: Mark) -> Callable[[], Iterator[list[Any]]]:
    """A resource body: pull, read from the stored position up to the store's mark now, and
    move the position there. A read that finds nothing leaves the position (and so dlt's
    state) as it was: nothing between the two can appear later, the runs before the mark have
    ended."""
    def rows() -> Iterator[list[Any]]:
        pull.run_id()
        state = dlt.current.resource_state()
        found = False
        with pull.store() as store:
            through = mark(pull, store)
            for batch in reading.batched(read(store, state.get(POSITION), through)):
                found = True
                yield batch
        if found:
            state[POSITION] = through
    return rows


def _alerts(pull: _Pull) -> Callable[..., Iterator[list[Any]]]:
    """Alerts change in syncs, not pulls: dlt's incremental on ``updated_at`` keeps what
    changed since the last load (rows on the boundary compared by content, so a second change
    within the same instant is still loaded)."""
    every_column = tuple(TABLES["alerts"].column_names)  # boundary rows compared by content

    def rows(updated_at: Any = dlt.sources.incremental(  # noqa: B008 - dlt's own idiom
            "updated_at", primary_key=every_column)) -> Iterator[list[Any]]:
        pull.run_id()
        with pull.store() as store:
            yield from reading.batched(reading.alert_rows(store))
    return rows


def _resource(name: str, hard_delete: bool, body: Callable[..., Iterator[list[Any]]]
              ) -> DltResource:
    table = TABLES[name]
    return dlt.resource(body, name=name, primary_key=list(table.primary_key),
                        write_disposition="merge", columns=column_hints(table, hard_delete))


def column_hints(table: Table, hard_delete: bool = False) -> dict[str, dict[str, Any]]:
    """dlt column hints of a table: type, nullability, description; ``is_deleted`` marks
    hard deletes when asked."""
    hints: dict[str, dict[str, Any]] = {}
    for column in table.columns:
        hint: dict[str, Any] = {"data_type": column.data_type,
                                "nullable": column.nullable and column.name not in
                                table.primary_key}
        if column.description:
            hint["description"] = column.description
        if hard_delete and column.name == "is_deleted":
            hint["hard_delete"] = True
        hints[column.name] = hint
    return hints


__all__ = ["RESOURCES", "SOURCE_NAME", "column_hints", "funnel_source"]
