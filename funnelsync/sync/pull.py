"""Pull: connectors → mapping → state store, page by page, each page with its watermark.

A page and the watermark that points past it are committed in one transaction, so a crash
re-reads at most one page and never skips one. Ordered pulls (Salesforce queries, HubSpot
search) go by (modification time, id): the watermark is the key of the last record stored
(its time as the cursor, the key as an ``AfterKey`` token), and the next pull asks only for
what comes after it, so records sharing the boundary time are not read again. A watermark
with a cursor and no key (stored before keys were kept) starts at the cursor, ``>=``, once.
The newest key of an increment is kept only once its time has settled (``SETTLE``): rows
that the CRM stamps with that same time a moment later, with a smaller id, would fall behind
a key, so a recent last time is stored as a closed start (``>=``) and its few rows are read
once more next time.
Unordered full loads (HubSpot list endpoints, Bulk 2.0) keep a resume token per page and set
the cursor once the load is complete: to when the load started, minus a lookback, so records
changed while it ran are read again next time. Deletions an incremental pull reads apart
(HubSpot's archived lists) are stored without moving the watermark. Leads and contacts of
forgotten people (the store's suppression list) are not stored; ``SourcePull.suppressed``
counts them.

Where the connector can look at an object's newest record and count its live records in one
call (HubSpot), an increment looks first: it searches only when something is newer than the
watermark key (see ``sync.probe``), and reads the archived list only when the counts say
something was archived (see ``sync.deletions``). Nothing changed costs that one call a stream.

The stage catalog comes from the metadata cache (see ``crm.metadata``). A page whose records
carry a stage the cached catalog lacks makes the pull read the catalog again before the page is
stored; where the catalog decides what a pull asks for (HubSpot's stage-entry times), the
stream is then read again from its watermark, so that page is read with the new catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funnelsync.connectors.base import KINDS, Kind, Newest, Page
from funnelsync.connectors.paging import AfterKey
from funnelsync.crm.source import Source
from funnelsync.errors import DataError
from funnelsync.mapping.currency import RATES_STATE_KEY
from funnelsync.mapping.schema import FunnelDeal, FunnelLead, StageChange
from funnelsync.store import Store, Watermark
from funnelsync.sync import deletions
from funnelsync.sync.probe import mark_complete, nothing_new

FULL_LOAD_LOOKBACK = timedelta(minutes=5)
SETTLE = timedelta(seconds=30)  # a record time this close to `now` may still gain rows
RATES = "rates"  # the metadata cache's name for the currency rates
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
    suppressed: int = 0  # leads/contacts not stored: their e-mail is on the suppression list
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
    source.prefetch(_starts(store, source.name, full), _rates_due(source, full))
    source.load_describes()
    store.replace_catalog(source.name, source.load_catalog())
    _pull_rates(store, source, now, full)
    for kind in KINDS:
        _pull_stream(store, source, kind, run_id, now, full, result, progress)
    _pull_history(store, source, now, full, result, progress)
    source.keep_describes()
    source.keep_read_ahead()
    return result


def _starts(store: Store, source: str, full: bool
            ) -> dict[str, tuple[datetime | None, str | None]]:
    """Where each stream's pull starts (``start_of`` its watermark; a full pull: the start)."""
    return {stream: start_of(None if full else store.get_watermark(source, stream))
            for stream in (*KINDS, "stage_changes")}


def _rates_due(source: Source, full: bool) -> bool:
    return full or not source.cache.fresh(source.cache.get(source.name, RATES))


def _pull_rates(store: Store, source: Source, now: datetime, full: bool) -> None:
    """The org's currencies and rates: metadata like the catalogs, read again when the
    metadata cache says so (time-to-live, ``--refresh-metadata``, ``--full``)."""
    if not _rates_due(source, full):
        return
    rates = source.spec.read_rates(source.connector)
    source.cache.put(source.name, RATES, rates)
    if rates is not None:
        store.set_state(RATES_STATE_KEY.format(source=source.name),
                        {**rates, "read_at": now.isoformat()})


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


@dataclass
class _Stream:
    """One stream's pull so far."""

    received: int = 0
    unordered: bool = False  # an unordered full load: the cursor is set when it is complete
    fresh: bool = False  # the load began in this run (not from an earlier run's token)
    listed_live: int = 0  # live records an unordered load listed (rejected ones included)
    last: datetime | None = None  # the newest record time stored by an ordered pull


@dataclass
class _MappedPage:
    records: list[FunnelLead | FunnelDeal] = field(default_factory=list)
    changes: list[StageChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: int = 0


def _pull_stream(store: Store, source: Source, kind: Kind, run_id: int, now: datetime,
                 full: bool, result: SourcePull, progress: Progress) -> None:
    stream = _Stream()
    mark = None if full else store.get_watermark(source.name, kind)
    stream.fresh = mark is None
    newest = source.newest(kind) if mark is not None and mark.cursor is not None else None
    if newest is None or not nothing_new(store, source.name, kind, mark, newest):
        while _read_pages(store, source, kind, run_id, mark, stream, result, progress):
            mark = store.get_watermark(source.name, kind)  # on after the last page stored
    setattr(result, kind, stream.received)
    if stream.unordered:
        store.set_watermark(source.name, kind, now - FULL_LOAD_LOOKBACK, None)
    else:
        _settle(store, source.name, kind, stream.last, now)
    if source.reads_deletions_apart:
        mark_complete(store, source.name, kind)
        _pull_deletions(store, source, kind, run_id, now, newest, stream, result)


def _pull_deletions(store: Store, source: Source, kind: Kind, run_id: int, now: datetime,
                    newest: Newest | None, stream: _Stream, result: SourcePull) -> None:
    """Deletions read apart (see ``sync.deletions``): after an unordered load, the count
    difference it leaves; after an increment, the archived list when the counts call for it."""
    if stream.unordered or newest is None:
        if stream.unordered and stream.fresh:
            deletions.note_read(store, source.name, kind, stream.listed_live, now)
        else:
            deletions.forget(store, source.name, kind)
        return
    every = timedelta(days=source.config.limits.deletion_reconcile_days)
    if not deletions.must_read(store, source.name, kind, newest.total, now, every):
        return
    mark = store.get_watermark(source.name, kind)
    for page in source.deleted_pages(kind):
        mapped = _map_page(source, kind, page)
        mapped.changes = []  # a deleted deal's stage history was stored while it was live
        _keep_mapped(source, mapped, result)
        stats = store.write_page(source.name, kind, mapped.records, None,
                                 mark.resume if mark else None, run_id)
        result.deleted[kind] += stats.deleted
    deletions.note_read(store, source.name, kind, newest.total, now)


def _settle(store: Store, source: str, stream: str, last: datetime | None,
            now: datetime) -> None:
    """Store a recent last key as a closed start at its time (see the module docstring)."""
    if last is not None and last > now - SETTLE:
        store.set_watermark(source, stream, last, AfterKey(last, "").encode())


def _read_pages(store: Store, source: Source, kind: Kind, run_id: int, mark: Watermark | None,
                stream: _Stream, result: SourcePull, progress: Progress) -> bool:
    """Store the stream's pages from ``mark`` on. True when it stopped to be read again: a page
    named a stage the catalog lacked, and the catalog decides what a pull asks for."""
    since, resume = start_of(mark)
    key = resume if since is not None else None
    for page in source.connector.iter_pages(kind, since=since, resume=resume):
        mapped = _map_page(source, kind, page)
        if _catalog_reloaded(store, source, mapped.records):
            if source.spec.catalog_in_reads:
                return True
            mapped = _map_page(source, kind, page)
        if since is None and page.cursor is None:
            stream.unordered = True
            stream.listed_live += mapped.rejected + sum(not r.is_deleted for r in mapped.records)
        _keep_mapped(source, mapped, result)
        if mapped.changes:
            store.add_stage_changes(mapped.changes)  # before the page: a re-read dedupes them
        cursor, token = _position(page, since is not None, key)
        key = token if cursor is not None else key
        stream.last = cursor or stream.last
        stats = store.write_page(source.name, kind, mapped.records, cursor, token, run_id)
        stream.received += len(page.records)
        result.deleted[kind] += stats.deleted
        result.suppressed += stats.suppressed
        progress(source.name, kind, stream.received)
    return False


def _catalog_reloaded(store: Store, source: Source,
                      records: list[FunnelLead | FunnelDeal]) -> bool:
    """Read the catalog again if ``records`` name a stage it lacks; True when it was."""
    stages = source.reload_catalog(records)
    if stages is None:
        return False
    store.replace_catalog(source.name, stages)
    return True


def _map_page(source: Source, kind: Kind, page: Page) -> _MappedPage:
    mapped = _MappedPage()
    for raw in page.records:
        try:
            record = source.map_record(kind, raw)
            mapped.changes += source.stage_changes_in(kind, raw)
        except DataError as exc:
            mapped.rejected += 1
            mapped.warnings.append(str(exc))
            continue
        mapped.records.append(record.record)
        mapped.warnings += record.warnings
    return mapped


def _keep_mapped(source: Source, mapped: _MappedPage, result: SourcePull) -> None:
    """Count a page that is stored: its rejects, warnings, stage changes and owners."""
    result.rejected += mapped.rejected
    for warning in mapped.warnings:
        result.add_warning(warning)
    result.stage_changes += len(mapped.changes)
    source.note_owners(mapped.records)


def _pull_history(store: Store, source: Source, now: datetime, full: bool, result: SourcePull,
                  progress: Progress) -> None:
    since, resume = start_of(None if full else store.get_watermark(source.name,
                                                                   "stage_changes"))
    key = resume
    last: datetime | None = None
    for page, changes in source.history_pages(since, resume):
        cursor, token = _position(page, True, key)
        key = token
        last = cursor or last
        store.write_page(source.name, "stage_changes", changes, cursor, token, run_id=0)
        result.stage_changes += len(changes)
        progress(source.name, "stage_changes", result.stage_changes)
    _settle(store, source.name, "stage_changes", last, now)


def usage_of(source: Source) -> dict[str, Any]:
    """The connector's spend in a JSON-ready form."""
    usage = source.connector.usage
    return {"api_calls": usage.api_calls, "retries": usage.retries,
            "quota_used": usage.quota_used, "quota_max": usage.quota_max}
