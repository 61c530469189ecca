"""When a pull reads deletions apart: HubSpot's archived records, which search cannot see.

HubSpot lists archived records (``archived=true``) in no documented order and cannot be asked
for those archived since a time, so "only what was archived since the last run" cannot be
read. Counts tell instead whether anything was. Each increment looks at the object first
(``Connector.newest``): its ``total`` is the number of live records the CRM counts. Records
created or restored since the last run come in the increment itself, so once it is stored the
CRM's count and the store's count of live records move together - unless records were archived,
or records the pull does not store (mapping rejects, people it skips) appeared or went. The
difference between the two (``drift``) is measured after every full read of the archived list;
while the difference now is the same, nothing was archived and no archived record is read.
When it differs, the whole archived list is read and every deletion in it applied, and the
difference is measured again.

The whole list is also read when no difference is known (the first increment after a full load
cut short, or after an upgrade) and when the last full read is older than
``limits.deletion_reconcile_days``; a full pull reads it anyway and measures the difference from
what it listed.

Search is eventually consistent, so the CRM's count may lag; every lag errs on the side of
reading, or delays a deletion until the index has caught up:

* a record archived but still counted: both counts still hold it, nothing is read; once the
  index drops it, the difference changes and the next run reads the list and applies it;
* a record created but not indexed yet: neither count holds it;
* a record created between the look and the search: the store counts it, the look did not, so
  the difference changes and the list is read once more than needed.

Only changes that cancel out between two runs (a record archived while one the pull does not
store appears) leave the difference as it was; such a deletion is applied by the next full read,
at most ``limits.deletion_reconcile_days`` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from funnelsync.connectors.base import Kind
from funnelsync.store import Store

STATE_KEY = "deletions.{source}.{stream}"


@dataclass(frozen=True)
class Reconciled:
    """The last full read of a stream's deletions: when, and the count difference after it
    (live records the CRM counted minus live records the store held)."""

    read_at: datetime
    drift: int

    @classmethod
    def load(cls, store: Store, source: str, stream: Kind) -> Reconciled | None:
        data = store.get_state(_key(source, stream))
        if not isinstance(data, dict) or not isinstance(data.get("drift"), int):
            return None
        try:
            return cls(datetime.fromisoformat(str(data.get("read_at"))), data["drift"])
        except ValueError:
            return None


def must_read(store: Store, source: str, stream: Kind, total: int, now: datetime,
              every: timedelta) -> bool:
    """Whether the archived list must be read now, the CRM counting ``total`` live records
    and the increment already stored (see the module docstring)."""
    last = Reconciled.load(store, source, stream)
    if last is None or now - last.read_at >= every:
        return True
    return total - store.count_records(source, stream) != last.drift


def note_read(store: Store, source: str, stream: Kind, live: int, now: datetime) -> None:
    """Keep a full read of the deletions: done at ``now``, the CRM counting ``live`` live
    records (the look's total, or the live records a full load listed)."""
    drift = live - store.count_records(source, stream)
    store.set_state(_key(source, stream), {"read_at": now.isoformat(), "drift": drift})


def forget(store: Store, source: str, stream: Kind) -> None:
    """No difference is known (a full load went on from an earlier run): read the list next."""
    store.set_state(_key(source, stream), None)


def _key(source: str, stream: str) -> str:
    return STATE_KEY.format(source=source, stream=stream)
