"""What changed in the state store between two positions, as table rows (no dlt here).

Positions are the store's own change marks: a record carries the run that last changed its
content (``changed_run``; run ids only grow), a stage change its insertion position, a person
the identity refresh that last changed their links, a run its id. Every reader takes the
position of the previous load (None: the first load reads everything) and the position to read
up to, so a funnelsync run that writes while a load reads is left whole for the next load.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any, TypeVar

from funnelsync.app.tables import person_row
from funnelsync.connectors import paging
from funnelsync.store import RecordKind, Store

BATCH = 1000
T = TypeVar("T")


def batched(rows: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """Lists of ``size`` rows (dlt takes a list as one item, much cheaper than single rows)."""
    return paging.batched(rows, size)


def record_rows(store: Store, kind: RecordKind, after: int | None,
                through: int) -> Iterator[dict[str, Any]]:
    """Leads or deals whose content changed in a run after ``after`` up to ``through``,
    deleted ones included (``is_deleted``), as schema rows (decimals, UTC datetimes)."""
    for stored in store.iter_records(kind=kind, include_deleted=True, changed_since_run=after):
        if stored.changed_run is not None and stored.changed_run > through:
            continue  # a later run's write: the next load takes it
        yield stored.to_model().model_dump()


def stage_change_rows(store: Store, after: int | None,
                      through: int) -> Iterator[dict[str, Any]]:
    """Stage changes stored after position ``after`` up to ``through``."""
    for _, change in store.iter_stage_changes_since(after, through):
        yield change.model_dump()


def people_rows(store: Store, after: int | None, through: int) -> Iterator[dict[str, Any]]:
    """One row per person changed after mark ``after`` up to ``through`` (every person when
    ``after`` is None); a person whose links are all gone arrives with ``is_deleted``."""
    for person_id, links in store.iter_people_since(after, through):
        yield asdict(person_row(person_id, links))


def alert_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Every alert; the source keeps only those updated since the last load."""
    for alert in store.iter_alerts():
        yield asdict(alert)


def run_rows(store: Store, after: int | None, through: int) -> Iterator[dict[str, Any]]:
    """Runs with ids after ``after`` up to ``through``."""
    for run in store.iter_runs(after, through):
        yield asdict(run)


__all__ = ["BATCH", "alert_rows", "batched", "people_rows", "record_rows", "run_rows",
           "stage_change_rows"]
