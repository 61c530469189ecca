"""Pull: connectors → mapping → state store, page by page, each page with its watermark.

A page and the watermark that points past it are committed in one transaction, so a crash
re-reads at most one page and never skips one. Ordered pulls (Salesforce queries, HubSpot
search) go by (modification time, id): the watermark is the key of the last record stored
(its time as the cursor, the key as an ``AfterKey`` token), and the next pull asks only for
what comes after it, so records sharing the boundary time are not read again. A watermark
with a cursor and no key (stored before keys were kept) starts at the cursor, ``>=``, once.
Unordered full loads (HubSpot list endpoints, Bulk 2.0) keep a resume token per page and set
the cursor once the load is complete: to when the load started, minus a lookback, so records
changed while it ran are read again next time. Deletions an incremental pull reads apart
(HubSpot's archived lists) are stored without moving the watermark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funnelsync.connectors.base import KINDS, Kind, Page
from funnelsync.connectors.paging import AfterKey
from funnelsync.crm.source import Source
from funnelsync.errors import DataError
from funnelsync.mapping.currency import RATES_STATE_KEY
from funnelsync.mapping.schema import FunnelDeal, FunnelLead, StageChange
from funnelsync.store import Store, Watermark

FULL_LOAD_LOOKBACK = timedelta(minutes=5)
RATES_MAX_AGE = timedelta(days=1)
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
    _pull_rates(store, source, now, full)
    for kind in KINDS:
        _pull_stream(store, source, kind, run_id, now, full, result, progress)
    _pull_history(store, source, full, result, progress)
    return result


def _pull_rates(store: Store, source: Source, now: datetime, full: bool) -> None:
    """The org's currencies and rates, read again on a full pull or once they are a day old
    (rates change daily at most; reading them every increment costs calls)."""
    key = RATES_STATE_KEY.format(source=source.name)
    kept = store.get_state(key)
    if not full and kept and now - datetime.fromisoformat(kept["read_at"]) < RATES_MAX_AGE:
        return
    rates = source.spec.read_rates(source.connector)
    if rates is not None:
        store.set_state(key, {**rates, "read_at": now.isoformat()})


def start_of(mark: Watermark | None) -> tuple[datetime | None, str | None]:
    """``(since, resume)`` for a stream's next pull: a full load cut short goes on at its token;
    an incremental pull starts after the stored key, or at the cursor when there is no key."""
    if mark is None:
        return None, None
    if mark.cursor is None:
        return None, mark.resume
    key = AfterKey.decode(mark.resume)
    return mark.cursor, key.encode() if key else None


def _position(page: Page, incremental: bool, key: str | None) -> tuple[datetime | None, str | None]:
    """The watermark to store with a page: its key when the pull is ordered, its resume token
    in an unordered full load, the watermark unchanged (``key``) for deletions read apart."""
    if page.cursor is not None:
        return page.cursor, AfterKey(page.cursor, page.last_id or "").encode()
    return (None, key) if incremental else (None, page.resume)


def _pull_stream(store: Store, source: Source, kind: Kind, run_id: int, now: datetime,
                 full: bool, result: SourcePull, progress: Progress) -> None:
    since, resume = start_of(None if full else store.get_watermark(source.name, kind))
    key = resume if since is not None else None
    unordered = False
    received = 0
    for page in source.connector.iter_pages(kind, since=since, resume=resume):
        unordered = unordered or (since is None and page.cursor is None)
        records, changes = _map_page(source, kind, page, result)
        if changes:
            store.add_stage_changes(changes)  # before the page: a re-read dedupes them
            result.stage_changes += len(changes)
        cursor, token = _position(page, since is not None, key)
        key = token if cursor is not None else key
        stats = store.write_page(source.name, kind, records, cursor, token, run_id)
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
    since, resume = start_of(None if full else store.get_watermark(source.name,
                                                                   "stage_changes"))
    key = resume
    for page, changes in source.history_pages(since, resume):
        cursor, token = _position(page, True, key)
        key = token
        store.write_page(source.name, "stage_changes", changes, cursor, token, run_id=0)
        result.stage_changes += len(changes)
        progress(source.name, "stage_changes", result.stage_changes)


def usage_of(source: Source) -> dict[str, Any]:
    """The connector's spend in a JSON-ready form."""
    usage = source.connector.usage
    return {"api_calls": usage.api_calls, "retries": usage.retries,
            "quota_used": usage.quota_used, "quota_max": usage.quota_max}
