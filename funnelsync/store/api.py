"""The state store: what funnelsync knows between runs, in SQLite (default) or PostgreSQL.

SQLAlchemy Core. ``Store.open(url)`` creates or upgrades the schema (see ``schema``) and
marks runs a dead process left ``running`` as ``crashed``. SQLite runs in WAL mode with foreign
keys on and a busy timeout; PostgreSQL through ``postgresql+psycopg://``. Every datetime in and
out is timezone-aware UTC; a naive one is refused. Use a database file, not ``sqlite://``
(in memory): iterating while writing needs two connections to the same database.

Tables and their methods:

- records (source, kind, id): the normalised record ``model_dump(mode="json")``, funnel_stage,
  content_hash (``models.content_hash``: sha256 of the canonical JSON without the
  volatile fields in ``VOLATILE_FIELDS``, i.e. ``updated_at``), is_deleted, updated_at (the CRM's
  modification time), first_seen_run, changed_run (the last run whose data changed the content:
  ``iter_records(changed_since_run=N)`` gives what changed after run N), email (normalised),
  owner_id. ``upsert_records``, ``write_page`` (records + watermark in one transaction),
  ``iter_records`` (streams), ``get_record``, ``count_records``, ``delete_person``.
- stage_changes, unique (source, record_id, to_stage, changed_at), ``seq`` their insertion
  position: ``add_stage_changes``, ``iter_stage_changes``, ``stage_changes_mark`` and
  ``iter_stage_changes_since`` (what was stored after a position).
- catalog: ``replace_catalog``, ``catalog``.
- watermarks (source, stream): ``get_watermark``, ``set_watermark``, ``clear_watermark``.
- runs and run_lock (``runs``): ``start_run``, ``finish_run``, ``get_run``, ``list_runs``,
  ``iter_runs``, ``last_run``, ``acquire_lock``, ``refresh_lock``, ``release_lock``, ``lock_info``.
- push_results and alerts (``alerts``): ``record_push_results``, ``failed_writes``,
  ``open_alert``, ``mark_alert_pending``, ``set_alert_task``, ``resolve_alert``,
  ``open_alerts``, ``iter_alerts``.
- people and people_changes (``people``): ``save_people``, ``stored_links``, ``forget_records``
  (the privacy deletion that follows a person's links), ``people_mark`` and
  ``iter_people_since`` (the people changed after a mark).
- lead_timers (``timers``): ``load_timers``, ``iter_timers``, ``iter_timer_rows``,
  ``save_timers``.
- suppressions (``suppression``): ``suppress``, ``suppression_count``, ``is_suppressed``,
  ``suppressed_filter``. A lead/contact whose e-mail is suppressed is neither written nor
  returned by ``iter_records``/``get_record`` nor counted by ``count_records``.
- state (key -> JSON): ``get_state``, ``set_state``; the CRMs' owner e-mails kept there:
  ``save_owner_emails``, ``owner_emails``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.clock import Clock, utc_now
from funnelsync.errors import DataError
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.store.alerts import AlertsMixin
from funnelsync.store.connection import (
    create_private_sqlite_file,
    opening_errors,
    parse_state_url,
    write_transaction,
)
from funnelsync.store.follow_ups import FollowUpsMixin
from funnelsync.store.models import RecordKind, StoredRecord, UpsertStats, Watermark
from funnelsync.store.people import PeopleMixin
from funnelsync.store.rows import (
    catalog_row,
    catalog_stage,
    change_key,
    classify,
    delete_record_trail,
    existing_changes,
    existing_records,
    record_row,
    require_models,
    stored_record,
    stream_kind,
)
from funnelsync.store.runs import RunsMixin
from funnelsync.store.schema import (
    catalog,
    create_engine,
    ensure_schema,
    meta,
    normalise_email,
    records,
    stage_changes,
    state,
    watermarks,
)
from funnelsync.store.suppression import (
    Suppressed,
    SuppressionMixin,
    count_suppressed,
    drop_suppressed,
    never_suppressed,
    read_filter,
    suppressed_in,
)
from funnelsync.store.timers import TimersMixin

_RECORD_KEY = (records.c.source, records.c.kind, records.c.id)
OWNERS_STATE = "identity.owner_emails"


class Store(RunsMixin, AlertsMixin, FollowUpsMixin, PeopleMixin, TimersMixin,
            SuppressionMixin):
    """Open with ``Store.open(url)``; use as a context manager or call ``close()``."""

    @classmethod
    def open(cls, url: str, *, clock: Clock = utc_now, busy_timeout_ms: int = 30_000) -> Store:
        """Connect, create or upgrade the schema, and mark dead runs crashed. A new SQLite file
        is readable by its owner only. A URL that does not parse or a SQLite file that cannot be
        used is a ConfigError, a database server that cannot be used a RemoteError."""
        create_private_sqlite_file(parse_state_url(url))
        with opening_errors(url):
            engine = create_engine(url, busy_timeout_ms=busy_timeout_ms)
            try:
                with write_transaction(engine) as conn:
                    ensure_schema(conn)
                store = cls(engine, clock)
                store.recover_crashed_runs()
            except BaseException:
                engine.dispose()
                raise
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(meta.c.value)
                                    .where(meta.c.key == "schema_version")).scalar_one())

    # -- records ------------------------------------------------------------------------------
    def upsert_records(self, source: str, kind: RecordKind,
                       items: Sequence[FunnelLead | FunnelDeal], run_id: int) -> UpsertStats:
        """Insert or update one batch; identical content is left alone (changed_run kept)."""
        with self._write() as conn:
            return self._upsert(conn, source, kind, items, run_id)

    def write_page(self, source: str, stream: str,
                   items: Sequence[FunnelLead | FunnelDeal | StageChange],
                   watermark_cursor: datetime | None, resume: str | None,
                   run_id: int) -> UpsertStats:
        """Store one page and move the (source, stream) watermark in ONE transaction.

        ``stream`` is ``leads``/``deals`` (records) or ``stage_changes``. A None cursor keeps the
        stored cursor (unordered full loads page by ``resume`` only). If anything fails, neither
        the page nor the watermark is stored, so a restart re-reads this page and skips none.
        """
        with self._write() as conn:
            if stream == "stage_changes":
                new = self._add_stage_changes(conn, require_models(items, StageChange, source))
                stats = UpsertStats(inserted=new, unchanged=len(items) - new)
            else:
                stats = self._upsert(conn, source, stream_kind(stream), items, run_id)
            self._save_watermark(conn, source, stream, watermark_cursor, resume,
                                 keep_cursor=True)
        return stats

    def iter_records(self, source: str | None = None, kind: RecordKind | None = None, *,
                     include_deleted: bool = False, changed_since_run: int | None = None,
                     batch_size: int = 1000) -> Iterator[StoredRecord]:
        """Stream records ordered by (source, kind, id), ``batch_size`` rows in memory at once.

        ``changed_since_run=N``: only records whose content changed in a run after N.
        Leads/contacts whose e-mail is suppressed are left out.
        """
        query = self._filter(sa.select(records), source, kind, include_deleted,
                             changed_since_run).order_by(*_RECORD_KEY)
        with self._read() as conn:
            suppressed = self._suppressed_reader(conn, kind)
            # yield_per streams: a server-side cursor on PostgreSQL, lazy fetches on SQLite.
            for row in conn.execution_options(yield_per=batch_size).execute(query):
                if not (row.kind == "leads" and suppressed(row.email)):
                    yield stored_record(row)

    def get_record(self, source: str, kind: RecordKind, record_id: str) -> StoredRecord | None:
        """One record; None when absent, or a lead/contact whose e-mail is suppressed."""
        with self._read() as conn:
            row = conn.execute(sa.select(records).where(
                records.c.source == source, records.c.kind == kind,
                records.c.id == record_id)).first()
            if row is not None and kind == "leads" and suppressed_in(conn, [row.email]):
                return None
        return stored_record(row) if row else None

    def count_records(self, source: str | None = None, kind: RecordKind | None = None, *,
                      include_deleted: bool = False, changed_since_run: int | None = None) -> int:
        """How many records ``iter_records`` gives for the same filters (so leads/contacts
        whose e-mail is suppressed are not counted)."""
        query = self._filter(sa.select(sa.func.count()).select_from(records), source, kind,
                             include_deleted, changed_since_run)
        leads_by_email = self._filter(
            sa.select(records.c.email, sa.func.count()).where(records.c.email.is_not(None))
            .group_by(records.c.email), source, "leads", include_deleted, changed_since_run)
        with self._read() as conn:
            total = int(conn.execute(query).scalar_one())
            if kind in (None, "leads") and total:
                total -= count_suppressed(conn, leads_by_email)
            return total

    def delete_person(self, email: str) -> int:
        """Remove every record with this e-mail (normalised), with its stage changes, alerts
        and push results (privacy requests). Returns the number of records removed."""
        wanted = normalise_email(email)
        if wanted is None:
            raise DataError("delete_person needs a non-empty e-mail address")
        with self._write() as conn:
            keys = conn.execute(sa.select(records.c.source, records.c.kind, records.c.id)
                                .where(records.c.email == wanted)).all()
            for source, kind, record_id in keys:
                delete_record_trail(conn, source, kind, record_id)
            conn.execute(records.delete().where(records.c.email == wanted))
        return len(keys)

    # -- stage changes ------------------------------------------------------------------------
    def add_stage_changes(self, changes: Iterable[StageChange]) -> int:
        """Store stage changes, ignoring ones already stored; returns how many were new."""
        items = list(changes)
        with self._write() as conn:
            return self._add_stage_changes(conn, items)

    def iter_stage_changes(self, source: str | None = None,
                           record_id: str | None = None) -> Iterator[StageChange]:
        """Stage changes ordered by source, record, then time."""
        c = stage_changes.c
        query = sa.select(stage_changes).order_by(c.source, c.record_id, c.changed_at, c.seq)
        if source is not None:
            query = query.where(c.source == source)
        if record_id is not None:
            query = query.where(c.record_id == record_id)
        with self._read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield StageChange(source=row.source, record_id=row.record_id,
                                  from_stage=row.from_stage, to_stage=row.to_stage,
                                  changed_at=row.changed_at)

    def stage_changes_mark(self) -> int:
        """The insertion position of the latest stored stage change (0: none stored yet)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(
                sa.func.max(stage_changes.c.seq), 0))).scalar_one())

    def iter_stage_changes_since(self, mark: int | None, through: int | None = None
                                 ) -> Iterator[tuple[int, StageChange]]:
        """(position, change) of the stage changes stored after ``mark`` (None: from the first)
        and up to ``through`` (None: the last), in the order they were stored. Positions only
        grow, so a reader that keeps the last one it saw gets each change once."""
        c = stage_changes.c
        query = sa.select(stage_changes).order_by(c.seq)
        if mark is not None:
            query = query.where(c.seq > mark)
        if through is not None:
            query = query.where(c.seq <= through)
        with self._read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield row.seq, StageChange(source=row.source, record_id=row.record_id,
                                           from_stage=row.from_stage, to_stage=row.to_stage,
                                           changed_at=row.changed_at)

    # -- catalog ------------------------------------------------------------------------------
    def replace_catalog(self, source: str, stages: Sequence[CatalogStage]) -> int:
        """Replace the whole stage catalog of one source; returns the number stored."""
        rows = [catalog_row(s) for s in require_models(stages, CatalogStage, source)]
        with self._write() as conn:
            conn.execute(catalog.delete().where(catalog.c.source == source))
            if rows:
                conn.execute(catalog.insert(), rows)
        return len(rows)

    def catalog(self, source: str | None = None) -> list[CatalogStage]:
        """Stages ordered by source, kind, pipeline and position."""
        c = catalog.c
        query = sa.select(catalog).order_by(c.source, c.kind, c.pipeline, c.position, c.stage)
        if source is not None:
            query = query.where(c.source == source)
        with self._read() as conn:
            return [catalog_stage(row) for row in conn.execute(query)]

    # -- watermarks ---------------------------------------------------------------------------
    def get_watermark(self, source: str, stream: str) -> Watermark | None:
        with self._read() as conn:
            row = conn.execute(sa.select(watermarks).where(
                watermarks.c.source == source, watermarks.c.stream == stream)).first()
        return Watermark(row.cursor, row.resume, row.updated_at) if row else None

    def set_watermark(self, source: str, stream: str, cursor: datetime | None,
                      resume: str | None = None) -> None:
        """Set both cursor and resume token exactly as given."""
        with self._write() as conn:
            self._save_watermark(conn, source, stream, cursor, resume, keep_cursor=False)

    def clear_watermark(self, source: str, stream: str | None = None) -> int:
        """Forget the watermark of one stream, or of every stream of a source (full re-pull)."""
        query = watermarks.delete().where(watermarks.c.source == source)
        if stream is not None:
            query = query.where(watermarks.c.stream == stream)
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    # -- key/value state ----------------------------------------------------------------------
    def get_state(self, key: str, default: Any = None) -> Any:
        with self._read() as conn:
            row = conn.execute(sa.select(state.c.value).where(state.c.key == key)).first()
        return row.value if row else default

    def set_state(self, key: str, value: Any) -> None:
        """Store any JSON-serialisable value under ``key`` (replacing the old one)."""
        ins = self._insert(state).values(key=key, value=value, updated_at=self._now())
        ins = ins.on_conflict_do_update(index_elements=["key"], set_={
            "value": ins.excluded.value, "updated_at": ins.excluded.updated_at})
        with self._write() as conn:
            conn.execute(ins)

    def save_owner_emails(self, source: str, emails: Mapping[str, str]) -> None:
        """Remember one CRM's owner id → e-mail map (owners are staff, not the people we link)."""
        saved = self.owner_emails()
        saved[source] = dict(emails)
        self.set_state(OWNERS_STATE, saved)

    def owner_emails(self) -> dict[str, dict[str, str]]:
        """Owner id → e-mail of each CRM, as the last identity refresh saved them."""
        return dict(self.get_state(OWNERS_STATE, {}) or {})

    # -- internals ----------------------------------------------------------------------------
    def _upsert(self, conn: Connection, source: str, kind: RecordKind,
                items: Sequence[FunnelLead | FunnelDeal], run_id: int) -> UpsertStats:
        rows = {row["id"]: row for row in (record_row(source, kind, item, run_id)
                                           for item in items)}  # last one of an id wins
        left_out = drop_suppressed(conn, rows) if kind == "leads" else 0
        before = existing_records(conn, source, kind, list(rows))
        writes, stats = classify(rows, before)
        if writes:
            # executemany (psycopg pipelines it): 3-4x cheaper than multi-row VALUES here.
            conn.execute(self._record_upsert(), writes)
        return replace(stats, suppressed=left_out) if left_out else stats

    @staticmethod
    def _suppressed_reader(conn: Connection, kind: str | None) -> Suppressed:
        return read_filter(conn) if kind in (None, "leads") else never_suppressed

    def _record_upsert(self) -> Any:
        ins = self._insert(records)
        same = records.c.content_hash == ins.excluded.content_hash
        columns = ("data", "funnel_stage", "content_hash", "is_deleted", "updated_at", "email",
                   "owner_id")
        update = {name: ins.excluded[name] for name in columns}
        # SET expressions see the old row: changed_run moves only when the content did.
        update["changed_run"] = sa.case((same, records.c.changed_run),
                                        else_=ins.excluded.changed_run)
        return ins.on_conflict_do_update(index_elements=["source", "kind", "id"], set_=update)

    def _add_stage_changes(self, conn: Connection, items: Sequence[StageChange]) -> int:
        rows = {change_key(c): c for c in items}
        for key in existing_changes(conn, rows):
            del rows[key]
        if rows:
            # ON CONFLICT as well: the pre-check gives the count, the index gives the guarantee.
            ins = self._insert(stage_changes).on_conflict_do_nothing(
                index_elements=["source", "record_id", "to_stage", "changed_at"])
            conn.execute(ins, [{"source": c.source, "record_id": c.record_id,
                                "from_stage": c.from_stage, "to_stage": c.to_stage,
                                "changed_at": c.changed_at} for c in rows.values()])
        return len(rows)

    def _save_watermark(self, conn: Connection, source: str, stream: str,
                        cursor: datetime | None, resume: str | None, *,
                        keep_cursor: bool) -> None:
        ins = self._insert(watermarks).values(source=source, stream=stream, cursor=cursor,
                                              resume=resume, updated_at=self._now())
        new_cursor = ins.excluded.cursor
        if keep_cursor:
            new_cursor = sa.func.coalesce(ins.excluded.cursor, watermarks.c.cursor)
        conn.execute(ins.on_conflict_do_update(index_elements=["source", "stream"], set_={
            "cursor": new_cursor, "resume": ins.excluded.resume,
            "updated_at": ins.excluded.updated_at}))

    @staticmethod
    def _filter(query: Any, source: str | None, kind: str | None, include_deleted: bool,
                changed_since_run: int | None) -> Any:
        if source is not None:
            query = query.where(records.c.source == source)
        if kind is not None:
            query = query.where(records.c.kind == kind)
        if not include_deleted:
            query = query.where(records.c.is_deleted.is_(False))
        if changed_since_run is not None:
            query = query.where(records.c.changed_run > changed_since_run)
        return query


def owner_directory(store: object) -> dict[str, dict[str, str]]:
    """Owner e-mails per CRM saved by the last sync; {} for a store-like object that keeps no
    key/value state (a report fed from elsewhere)."""
    owner_emails = getattr(store, "owner_emails", None)
    return owner_emails() if callable(owner_emails) else {}


__all__ = ["Store", "owner_directory"]
