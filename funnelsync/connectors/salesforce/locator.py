"""Gone query locators: a keyset query whose next page is gone is asked again after its last page.

Salesforce keeps a query's locator (the ``nextRecordsUrl``) for 15 minutes unused, and keeps at
most 10 open per user, releasing the oldest; following a gone one answers HTTP 400
``INVALID_QUERY_LOCATOR``. A run reads each stream's first page ahead (``prefetch``), so a
stream's locator waits while the streams before it page through, and may be gone by its turn.

Ordered reads are keyset queries over (cursor, Id). A page is handed over only when the caller
asks for it, and the pull stores each page with its key before asking for the next, so the key
of the last page handed over is the key last stored: the query is asked again for the rows after
it, and no row is lost or read twice. Before any page was handed over, the query starts again
where it started. Each stream restarts at most ``MAX_RESTARTS`` times per run; past that the
read fails with a RemoteError naming the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from funnelsync.connectors.base import Page
from funnelsync.connectors.paging import AfterKey, SoqlResume
from funnelsync.errors import RemoteError

log = logging.getLogger(__name__)

LOCATOR_GONE = "INVALID_QUERY_LOCATOR"
MAX_RESTARTS = 3

PagesFrom = Callable[[AfterKey | None, SoqlResume | None], Iterator[Page]]


def restarting_pages(pages_from: PagesFrom, start: AfterKey | None, resume: SoqlResume | None,
                     on_restart: Callable[[RemoteError], None]) -> Iterator[Page]:
    """``pages_from(start, resume)``; when a locator is gone, ``on_restart(error)`` (which may
    raise to stop) and ``pages_from(key of the last page handed over, None)``."""
    while True:
        try:
            for page in pages_from(start, resume):
                start = key_after(page, start)
                yield page
            return
        except RemoteError as exc:
            if exc.code != LOCATOR_GONE:
                raise
            on_restart(exc)
            resume = None


def key_after(page: Page, start: AfterKey | None) -> AfterKey | None:
    """Where an ordered read goes on after ``page`` (``start`` when the page is empty)."""
    if page.cursor is None or not page.last_id:
        return start
    return AfterKey(page.cursor, page.last_id)


class RestartBudget:
    """The restarts each stream has made in one run (one connector), bounded."""

    def __init__(self, limit: int = MAX_RESTARTS) -> None:
        self.limit = limit
        self.made: dict[str, int] = {}

    def spend(self, stream: str, exc: RemoteError) -> None:
        """Count one restart of ``stream``; RemoteError naming it once the bound is passed."""
        count = self.made[stream] = self.made.get(stream, 0) + 1
        if count > self.limit:
            raise RemoteError(
                f"Salesforce {stream}: the query's next-page locator was gone {count} times "
                f"in this run (INVALID_QUERY_LOCATOR); stopping after {self.limit} restarts",
                code=LOCATOR_GONE, status=exc.status,
                hint="the pages stored so far are kept and the next run goes on after them; "
                     "if it happens again, other clients of this Salesforce user are opening "
                     "many queries at once: Salesforce keeps 10 open per user") from None
        log.info("Salesforce %s: query locator gone (%s); querying again after the last "
                 "page stored (restart %d of %d)", stream, exc, count, self.limit)


__all__ = ["LOCATOR_GONE", "MAX_RESTARTS", "RestartBudget", "key_after", "restarting_pages"]
