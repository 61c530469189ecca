"""Whether an incremental pull of a stream needs to search at all.

Where the connector can look at an object's newest record in one call (``Connector.newest``:
HubSpot's search, sorted newest first, one result), an increment looks first and searches only
when something is newer than the stream's watermark key (T, I): when nothing is, that look is
the stream's only call, and the one record it receives is the only one.

Nothing is newer than the key when the newest record was modified before T, or at T with an id
not above I, provided the last pull of the stream ran to its end: a pull that completes has read
every record at T it could see, and a key is kept with its id only once its time has settled
(``sync.pull.SETTLE``), so no record is stamped T after it. A pull cut short leaves a key in the
middle of T's records, and a key without an id (a closed start, ``>= T``) means T's records are
to be read again: both are searched as before. So ``mark_complete`` notes, after a pull ran to
its end, the watermark it ended at; only that same watermark counts as complete.

Search is eventually consistent: a record changed a moment ago may not be the newest yet. The
look moves no watermark, so such a record is read by the next run that sees it, exactly as the
search itself would.
"""

from __future__ import annotations

from funnelsync.connectors.base import Newest
from funnelsync.connectors.paging import AfterKey
from funnelsync.store import Store, Watermark

COMPLETE_KEY = "pull.{source}.{stream}.complete"


def nothing_new(store: Store, source: str, stream: str, mark: Watermark | None,
                newest: Newest) -> bool:
    """True when no record of the stream can be after its watermark key (module docstring)."""
    if mark is None or mark.cursor is None:
        return False  # no key: a full load, or one cut short that goes on
    if newest.stamp is None:
        return True  # no live record at all
    if newest.stamp != mark.cursor:
        return newest.stamp < mark.cursor
    key = AfterKey.decode(mark.resume)
    if key is None or not key.id or _above(newest.id, key.id):
        return False
    return store.get_state(_key(source, stream)) == mark.resume


def mark_complete(store: Store, source: str, stream: str) -> None:
    """Note that the pull of ``stream`` ran to its end at the watermark now stored."""
    mark = store.get_watermark(source, stream)
    store.set_state(_key(source, stream), mark.resume if mark else None)


def _above(found: str | None, key_id: str) -> bool:
    """Whether id ``found`` sorts after ``key_id`` (numerically when both are numbers)."""
    if found is None:
        return False
    if found.isdigit() and key_id.isdigit():
        return int(found) > int(key_id)
    return found > key_id


def _key(source: str, stream: str) -> str:
    return COMPLETE_KEY.format(source=source, stream=stream)
