"""The people table of the state store, and the privacy deletion that follows its links.

One row per linked record: (source, kind, record_id) → person_id, rule, confidence,
first_seen (the first refresh that saw this record in this person) and last_seen (the latest
refresh that confirmed it). Record keys are those of the linking (``salesforce:lead:00Q...``,
kind singular); the table keeps the store's plural kinds (``leads``).

``people_changes`` marks, per person, the last refresh (a ``seq`` counting up) that added, moved
or dropped one of their links, or the privacy deletion that removed them: ``iter_people_since``
gives readers (warehouse loads) the people changed after the mark they last saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.rules.linking import Linking, Person
from funnelsync.store.connection import StoreBase, chunked
from funnelsync.store.models import RefreshStats, StoredLink
from funnelsync.store.rows import delete_record_trail
from funnelsync.store.schema import lead_timers, people, people_changes, records

_FIELDS = ("person_id", "rule", "confidence")
_CHUNK = 1000  # people compared against the stored rows at once


class PeopleMixin(StoreBase):
    """people table: which person each lead/contact belongs to."""

    def save_people(self, linking: Linking, now: datetime) -> RefreshStats:
        """Make the table match ``linking``: new and changed links are written (first_seen =
        now), vanished ones deleted, and every row's last_seen moves to ``now``.

        Compared a chunk of people at a time against the stored rows, so memory stays that of
        the linking itself (the sync runs this over every lead of both CRMs).
        """
        new = changed = 0
        with self._write() as conn:
            seq = _next_seq(conn)
            gone = _gone_keys(conn, _linked_ids(linking))
            _delete_keys(conn, [key for key, _ in gone])
            self._mark_people(conn, {person_id for _, person_id in gone}, seq)
            for batch in _batches(linking, _CHUNK):
                stored = _stored_values(conn, [key for key, _ in batch])
                writes = [(key, value) for key, value in batch if stored.get(key) != value]
                fresh = sum(1 for key, _ in writes if key not in stored)
                new, changed = new + fresh, changed + len(writes) - fresh
                self._upsert_links(conn, writes, now)
                self._mark_people(conn, _moved_people(writes, stored), seq)
            conn.execute(people.update().values(last_seen=now))
            persons, total = conn.execute(sa.select(
                sa.func.count(sa.distinct(people.c.person_id)), sa.func.count())).one()
        return RefreshStats(int(persons), int(total), new, changed, len(gone))

    def stored_links(self, person_id: str | None = None) -> list[StoredLink]:
        """Stored rows (of one person, or all), ordered by person and record."""
        query = sa.select(people).order_by(people.c.person_id, people.c.source,
                                           people.c.record_id)
        if person_id is not None:
            query = query.where(people.c.person_id == person_id)
        with self._read() as conn:
            return [StoredLink(_key(r.source, r.kind, r.record_id), r.person_id, r.rule,
                               r.confidence, r.first_seen, r.last_seen)
                    for r in conn.execute(query)]

    def people_mark(self) -> int:
        """The highest change mark of ``people_changes`` (0 before any change was marked)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(
                sa.func.max(people_changes.c.seq), 0))).scalar_one())

    def iter_people_since(self, mark: int | None, through: int | None = None
                          ) -> Iterator[tuple[str, list[StoredLink]]]:
        """(person_id, their links now) of the people changed after ``mark`` and up to
        ``through`` (None: the latest change), ordered by person id; no links means the person
        is gone. ``mark`` None: every person the table holds now. Streams 1,000 at a time."""
        with self._read() as conn:
            if mark is None:
                rows = conn.execute(sa.select(people).order_by(*_PERSON_ORDER)
                                    .execution_options(yield_per=_CHUNK))
                yield from _grouped(rows)
                return
            seq = people_changes.c.seq
            query = sa.select(people_changes.c.person_id).where(seq > mark)
            if through is not None:
                query = query.where(seq <= through)
            changed = conn.execute(query.order_by(people_changes.c.person_id)).scalars().all()
            for chunk in chunked(changed, _CHUNK):
                links = dict(_grouped(conn.execute(sa.select(people).where(
                    people.c.person_id.in_(chunk)).order_by(*_PERSON_ORDER))))
                yield from ((person_id, links.get(person_id, [])) for person_id in chunk)

    def forget_records(self, person: Person | None, email: str) -> int:
        """Delete, in one transaction, every record of ``person`` plus every record whose
        e-mail is ``email`` (normalised), with their stage changes, alerts, push results, SLA
        timers and people rows. Returns the number of records removed."""
        with self._write() as conn:
            keys = {key for key, _ in _trail(conn, person, email)}
            forgotten = {person_id for key in sorted(keys)
                         for person_id in _forget_one(conn, *_split(key))}
            self._mark_people(conn, forgotten, _next_seq(conn))
        return len(keys)

    def person_records(self, person: Person | None, email: str) -> list[tuple[str, str | None]]:
        """(record key, normalised e-mail) of the records ``forget_records`` would delete,
        ordered by key; read whether or not their e-mail is suppressed."""
        with self._read() as conn:
            return _trail(conn, person, email)

    def _upsert_links(self, conn: Connection, rows: list[tuple[str, tuple]],
                      now: datetime) -> None:
        if not rows:
            return
        ins = self._insert(people)
        ins = ins.on_conflict_do_update(
            index_elements=["source", "kind", "record_id"],
            set_={**{f: ins.excluded[f] for f in _FIELDS}, "first_seen": ins.excluded.first_seen})
        for chunk in chunked(rows, 1000):
            conn.execute(ins, [dict(zip(("source", "kind", "record_id"), _split(k), strict=True),
                                    **dict(zip(_FIELDS, v, strict=True)),
                                    first_seen=now, last_seen=now) for k, v in chunk])

    def _mark_people(self, conn: Connection, person_ids: set[str], seq: int) -> None:
        if not person_ids:
            return
        ins = self._insert(people_changes)
        ins = ins.on_conflict_do_update(index_elements=["person_id"],
                                        set_={"seq": ins.excluded.seq})
        for chunk in chunked(sorted(person_ids), 1000):
            conn.execute(ins, [{"person_id": person_id, "seq": seq} for person_id in chunk])


_PERSON_ORDER = (people.c.person_id, people.c.source, people.c.kind, people.c.record_id)


def _next_seq(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(people_changes.c.seq), 0)))
               .scalar_one()) + 1


def _moved_people(writes: list[tuple[str, tuple]], stored: dict[str, tuple]) -> set[str]:
    """The people a batch of link writes concerns: the new person and the one left behind."""
    moved = {value[0] for _, value in writes}
    return moved | {stored[key][0] for key, _ in writes if key in stored}


def _grouped(rows: Iterable[Any]) -> Iterator[tuple[str, list[StoredLink]]]:
    """Consecutive people rows of one person (rows ordered by person id) as its links."""
    person_id: str | None = None
    links: list[StoredLink] = []
    for r in rows:
        if r.person_id != person_id and person_id is not None:
            yield person_id, links
            links = []
        person_id = r.person_id
        links.append(StoredLink(_key(r.source, r.kind, r.record_id), r.person_id, r.rule,
                                r.confidence, r.first_seen, r.last_seen))
    if person_id is not None:
        yield person_id, links


def _split(key: str) -> tuple[str, str, str]:
    source, kind, record_id = key.split(":", 2)
    return source, kind + "s", record_id  # record keys use "lead"; the store "leads"


def _key(source: str, kind: str, record_id: str) -> str:
    return f"{source}:{kind.removesuffix('s')}:{record_id}"


def _batches(linking: Linking, size: int) -> Iterator[list[tuple[str, tuple]]]:
    """(record key, (person_id, rule, confidence)) of every linked record, ``size`` a list."""
    batch: list[tuple[str, tuple]] = []
    for person in linking.people():
        batch += [(rec.key, (person.person_id, rec.rule, rec.confidence))
                  for rec in person.records]
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _linked_ids(linking: Linking) -> dict[tuple[str, str], set[str]]:
    """(source, singular kind) → ids of the linked records (the linking's own id strings)."""
    ids: dict[tuple[str, str], set[str]] = {}
    for rec in linking.records:
        ids.setdefault((rec.source, rec.kind.removesuffix("s")), set()).add(rec.id)
    return ids


def _gone_keys(conn: Connection, linked: dict[tuple[str, str], set[str]]
               ) -> list[tuple[str, str]]:
    """(key, person_id) of the stored links no longer in the linking, streaming the table."""
    query = sa.select(people.c.source, people.c.kind, people.c.record_id, people.c.person_id)
    # On the statement: Connection.execution_options would make later executemany calls on
    # this connection use server-side cursors too (psycopg refuses that).
    return [(_key(r.source, r.kind, r.record_id), r.person_id)
            for r in conn.execute(query.execution_options(yield_per=1000))
            if r.record_id not in linked.get((r.source, r.kind.removesuffix("s")), ())]


def _stored_values(conn: Connection, keys: list[str]) -> dict[str, tuple]:
    """The stored (person_id, rule, confidence) of these keys (absent keys left out)."""
    by_stream: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        source, kind, record_id = _split(key)
        by_stream.setdefault((source, kind), []).append(record_id)
    found: dict[str, tuple] = {}
    for (source, kind), ids in by_stream.items():
        query = sa.select(people.c.source, people.c.kind, people.c.record_id, *_cols()).where(
            people.c.source == source, people.c.kind == kind, people.c.record_id.in_(ids))
        found.update((_key(r.source, r.kind, r.record_id), (r.person_id, r.rule, r.confidence))
                     for r in conn.execute(query))
    return found


def _cols() -> list[Any]:
    return [people.c[f] for f in _FIELDS]


def _delete_keys(conn: Connection, keys: Iterable[str]) -> None:
    rows = [{"s": s, "k": k, "i": i} for s, k, i in map(_split, keys)]
    if rows:  # one executemany, not one round trip per vanished record
        conn.execute(people.delete().where(
            people.c.source == sa.bindparam("s"), people.c.kind == sa.bindparam("k"),
            people.c.record_id == sa.bindparam("i")), rows)


def _trail(conn: Connection, person: Person | None, email: str
           ) -> list[tuple[str, str | None]]:
    """(key, e-mail) of every record of ``person`` and every record whose e-mail is ``email``."""
    wanted = email.strip().lower()
    keys = {rec.key for rec in person.records} if person else set()
    keys |= {_key(*row) for row in conn.execute(
        sa.select(records.c.source, records.c.kind, records.c.id)
        .where(records.c.email == wanted))}
    found: dict[str, str | None] = dict.fromkeys(keys)
    for key in keys:
        source, kind, record_id = _split(key)
        found[key] = conn.execute(sa.select(records.c.email).where(
            records.c.source == source, records.c.kind == kind,
            records.c.id == record_id)).scalar()
    return sorted(found.items())


def _forget_one(conn: Connection, source: str, kind: str, record_id: str) -> list[str]:
    """Delete one record and everything about it; returns the person it belonged to (if any)."""
    delete_record_trail(conn, source, kind, record_id)
    conn.execute(records.delete().where(records.c.source == source, records.c.kind == kind,
                                        records.c.id == record_id))
    person = conn.execute(people.delete().where(
        people.c.source == source, people.c.kind == kind, people.c.record_id == record_id)
        .returning(people.c.person_id)).scalars().all()
    if kind == "leads":
        conn.execute(lead_timers.delete().where(lead_timers.c.source == source,
                                                lead_timers.c.lead_id == record_id))
    return list(person)
