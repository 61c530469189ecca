"""Pull: connectors → mapping → state store, page by page, each page with its watermark.

A page and the watermark that points past it are committed in one transaction, so a crash
re-reads at most one page and never skips one. Ordered pulls (Salesforce, HubSpot search) move
the cursor page by page; unordered full loads (HubSpot list endpoints) keep a resume token per
page and set the cursor once the load is complete: to when the load started, minus a lookback,
so records changed while it ran are read again next time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funnelsync.connectors.base import KINDS, Kind, Page
from funnelsync.crm.source import Source
from funnelsync.errors import DataError
from funnelsync.mapping.schema import FunnelDeal, FunnelLead, StageChange
from funnelsync.store import Store

FULL_LOAD_LOOKBACK = timedelta(minutes=5)
HISTORY_BATCH = 2000
MAX_WARNINGS = 200

Progress = Callable[[str, str, int], None]


def _no_progress(source: str, stream: str, count: int) -> None:
    return None


@dataclass
class SourcePull:
    """What one pull of one CRM received."""

    leads: int = 0
    deals: int = 0
    stage_changes: int = 0
    deleted: dict[str, int] = field(default_factory=lambda: {"leads": 0, "deals": 0})
    rejected: int = 0
    _seen: dict[str, list[Any]] = field(default_factory=dict)

    def add_warning(self, text: str) -> None:
        """Collect a warning; the same problem on many records is reported once, counted.

        Mapping warnings read "<crm> <object> <id>: <problem>"; the problem is the key.
        """
        label, sep, problem = text.partition(": ")
        key = problem if sep else text
        entry = self._seen.get(key)
        if entry is not None:
            entry[0] += 1
        elif len(self._seen) < MAX_WARNINGS:
            self._seen[key] = [1, label if sep else ""]

    @property
    def warnings(self) -> list[str]:
        out = []
        for problem, (count, label) in self._seen.items():
            if not label:
                out.append(problem)
            elif count == 1:
                out.append(f"{label}: {problem}")
            else:
                out.append(f"{label} and {count - 1} more: {problem}")
        return out

    def counts(self) -> dict[str, int]:
        return {"leads": self.leads, "deals": self.deals, "stage_changes": self.stage_changes}


def pull_source(store: Store, source: Source, run_id: int, now: datetime, *,
                full: bool = False, progress: Progress = _no_progress) -> SourcePull:
    """Pull one CRM's catalog, leads, deals and stage history into the store."""
    result = SourcePull()
    store.replace_catalog(source.name, source.load_catalog())
    for kind in KINDS:
        _pull_stream(store, source, kind, run_id, now, full, result, progress)
    _pull_history(store, source, full, result, progress)
    return result


def _pull_stream(store: Store, source: Source, kind: Kind, run_id: int, now: datetime,
                 full: bool, result: SourcePull, progress: Progress) -> None:
    mark = None if full else store.get_watermark(source.name, kind)
    since = mark.cursor if mark else None
    resume = mark.resume if mark and mark.cursor is None else None
    unordered = False
    received = 0
    for page in source.connector.iter_pages(kind, since=since, resume=resume):
        unordered = unordered or page.cursor is None
        records, changes = _map_page(source, kind, page, result)
        if changes:
            store.add_stage_changes(changes)  # before the page: a re-read dedupes them
            result.stage_changes += len(changes)
        stats = store.write_page(source.name, kind, records, page.cursor,
                                 page.resume if page.cursor is None else None, run_id)
        received += len(page.records)
        result.deleted[kind] += stats.deleted
        progress(source.name, kind, received)
    setattr(result, kind, received)
    if unordered:
        store.set_watermark(source.name, kind, now - FULL_LOAD_LOOKBACK, None)


def _map_page(source: Source, kind: Kind, page: Page, result: SourcePull
              ) -> tuple[list[FunnelLead | FunnelDeal], list[StageChange]]:
    records: list[FunnelLead | FunnelDeal] = []
    changes: list[StageChange] = []
    for raw in page.records:
        try:
            mapped = source.map_record(kind, raw)
            changes += source.stage_changes_in(kind, raw)
        except DataError as exc:
            result.rejected += 1
            result.add_warning(str(exc))
            continue
        records.append(mapped.record)
        for warning in mapped.warnings:
            result.add_warning(warning)
    return records, changes


def _pull_history(store: Store, source: Source, full: bool, result: SourcePull,
                  progress: Progress) -> None:
    mark = None if full else store.get_watermark(source.name, "stage_changes")
    batch: list[StageChange] = []
    for change in source.iter_history(mark.cursor if mark else None):
        batch.append(change)
        if len(batch) >= HISTORY_BATCH:
            _flush_history(store, source.name, batch, result, progress)
            batch = []
    if batch:
        _flush_history(store, source.name, batch, result, progress)


def _flush_history(store: Store, name: str, batch: list[StageChange], result: SourcePull,
                   progress: Progress) -> None:
    cursor = max(c.changed_at for c in batch)
    store.write_page(name, "stage_changes", batch, cursor, None, run_id=0)
    result.stage_changes += len(batch)
    progress(name, "stage_changes", result.stage_changes)


def usage_of(source: Source) -> dict[str, Any]:
    """The connector's spend in a JSON-ready form."""
    usage = source.connector.usage
    return {"api_calls": usage.api_calls, "retries": usage.retries,
            "quota_used": usage.quota_used, "quota_max": usage.quota_max}
