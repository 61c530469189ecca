"""Tables of the state store, the engine set-up per dialect, and the schema upgrade path.

Schema versions (the ``meta`` row ``schema_version``):

- 1: meta, records (without ``email``/``owner_id``), stage_changes, catalog, watermarks, runs,
  run_lock.
- 2: records gain ``email`` (normalised, indexed) and ``owner_id``, backfilled from the stored
  JSON; new tables push_results, alerts, state.
- 3: one follow-up task per record (new table follow_ups) instead of one task per alert;
  alerts gain ``folded_at``: when the task an earlier version made for that one alert was
  folded into its record's follow-up (the sync does that in the CRM on its first run).
- 4: runs gain ``kind`` (``sync``, or ``forget`` for a privacy deletion; older runs are
  ``sync``); new table suppressions (keyed hashes of forgotten people's e-mail addresses) and
  the ``meta`` row ``suppression_key`` (the random key of those hashes, made once per store).

A table that is new and optional (people, people_changes, lead_timers) needs no version bump:
opening the store creates every table of ``metadata`` that is missing.

A fresh database is created at the current version directly. An older one is upgraded step by
step on open, inside one transaction that also serialises concurrent openers (``BEGIN
IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL). Upgrade steps are frozen once released:
add a new step rather than editing an old one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, make_url

from funnelsync.errors import ConfigError

SCHEMA_VERSION = 4
SUPPRESSION_KEY = "suppression_key"  # the meta row holding the key of suppression hashes
_PG_ADVISORY_KEY = 0x46554E4E  # "FUNN": serialises schema upgrades of concurrent openers


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both dialects (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the state store needs aware UTC times")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: one fixed format without offset keeps order right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None,
                             dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
# Byte order on PostgreSQL too, so ids sort the same on both dialects whatever the locale.
ID = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

records = sa.Table(
    "records", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("funnel_stage", sa.String(64)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("is_deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("first_seen_run", sa.Integer),
    sa.Column("changed_run", sa.Integer),
    sa.Column("email", sa.String(320)),
    sa.Column("owner_id", ID),
    sa.Index("ix_records_changed", "source", "kind", "changed_run"),
    sa.Index("ix_records_email", "email"),
)

stage_changes = sa.Table(
    "stage_changes", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("record_id", ID, nullable=False),
    sa.Column("from_stage", sa.String(255)),
    sa.Column("to_stage", sa.String(255), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "record_id", "to_stage", "changed_at",
                        name="uq_stage_changes"),
)

catalog = sa.Table(
    "catalog", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("pipeline", ID, primary_key=True),  # "" stands for no pipeline (Salesforce)
    sa.Column("stage", sa.String(255), primary_key=True),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("probability", sa.Float),
    sa.Column("is_closed", sa.Boolean, nullable=False),
    sa.Column("is_won", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

watermarks = sa.Table(
    "watermarks", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("stream", sa.String(32), primary_key=True),
    sa.Column("cursor", UTCDateTime),
    sa.Column("resume", sa.Text),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("holder", sa.String(255)),
    sa.Column("counts", JSONType, nullable=False),
    sa.Column("errors", JSONType, nullable=False),
    sa.Column("timings", JSONType, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, default="sync", server_default="sync"),
    sa.Index("ix_runs_status", "status"),
    sqlite_autoincrement=True,  # run ids never reused: "changed since run N" relies on order
)

run_lock = sa.Table(
    "run_lock", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(255)),
    sa.Column("run_id", sa.Integer),
    sa.Column("acquired_at", UTCDateTime),
    sa.Column("refreshed_at", UTCDateTime),
    sa.Column("expires_at", UTCDateTime),
)

push_results = sa.Table(
    "push_results", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("record_id", ID, nullable=False),
    sa.Column("fields", JSONType, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error_code", sa.String(128)),
    sa.Column("message", sa.Text),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_push_results_record", "source", "kind", "record_id", "seq"),
    sqlite_autoincrement=True,  # "latest result" is the highest seq
)

_UNRESOLVED = sa.text("status <> 'resolved'")
alerts = sa.Table(
    "alerts", metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("record_id", ID, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("evidence", JSONType, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("folded_at", UTCDateTime),
    sa.Index("uq_alerts_unresolved", "source", "record_id", "reason", unique=True,
             sqlite_where=_UNRESOLVED, postgresql_where=_UNRESOLVED),
    sa.Index("ix_alerts_status", "status"),
)

_LIVE = sa.text("status <> 'closed'")
follow_ups = sa.Table(
    "follow_ups", metadata,
    sa.Column("follow_up_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("record_id", ID, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("owner_id", ID),
    sa.Column("reasons", JSONType, nullable=False),
    sa.Column("acknowledged", JSONType, nullable=False),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("snoozed_until", UTCDateTime),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("task_created_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("note", sa.Text),
    sa.Index("uq_follow_ups_live", "source", "record_id", "kind", unique=True,
             sqlite_where=_LIVE, postgresql_where=_LIVE),
    sa.Index("ix_follow_ups_created", "source", "kind", "task_created_at"),
    sqlite_autoincrement=True,
)

state = sa.Table(
    "state", metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", JSONType),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Which person each lead/contact belongs to, by which rule, since when: ``first_seen`` is the
# first identity refresh that saw the record in this person, ``last_seen`` the latest one.
people = sa.Table(
    "people", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("record_id", ID, primary_key=True),
    sa.Column("person_id", sa.String(32), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Index("ix_people_person", "person_id"),
)

# Which people changed when: every refresh of the people table that adds, moves or drops a link
# gives the people concerned the next ``seq`` (a person whose links are all gone keeps a row, so
# readers learn of the removal). Readers that remember the highest seq they saw get exactly the
# people changed since.
people_changes = sa.Table(
    "people_changes", metadata,
    sa.Column("person_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Index("ix_people_changes_seq", "seq"),
)

# One row per forgotten e-mail address: HMAC-SHA256 (key: the meta row ``suppression_key``) of
# the normalised address, never the address. Pulls do not store, and reads do not return, a
# lead or contact whose address hashes to a row here.
suppressions = sa.Table(
    "suppressions", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# SLA timers and nurture's lost-since mark, one row per lead.
lead_timers = sa.Table(
    "lead_timers", metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("lead_id", ID, primary_key=True),
    sa.Column("mql_at", UTCDateTime),
    sa.Column("mql_status", sa.String(255)),
    sa.Column("activity_at_mql", UTCDateTime),
    sa.Column("owner_id", ID),
    sa.Column("lead_source", sa.String(255)),
    sa.Column("touched_at", UTCDateTime),
    sa.Column("touch_kind", sa.String(16)),
    sa.Column("baseline", sa.Boolean, nullable=False, default=False),
    sa.Column("lost_since", UTCDateTime),
)

ALERT_UNRESOLVED_WHERE = _UNRESOLVED


def create_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine for a SQLite file or PostgreSQL (psycopg 3) URL; other URLs are a ConfigError."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() in ("psycopg2", "") and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we ship
        # No server-side prepared statements: their generic plans turn the batch look-ups
        # (id IN (1000 parameters)) into sequential scans, 20x slower on 20,000 records.
        return sa.create_engine(parsed, pool_pre_ping=True,
                                connect_args={"prepare_threshold": None})
    raise ConfigError(f"state.url uses unsupported database {parsed.get_backend_name()!r}",
                      hint="use sqlite:///path/file.db or postgresql+psycopg://user@host/db")


def _sqlite_engine(url: sa.URL, busy_timeout_ms: int) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's implicit transactions skip DDL and
        # cannot take the write lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against app crashes
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock at BEGIN, so two racing writers queue on busy_timeout instead
        # of failing with "database is locked" when a read transaction tries to upgrade.
        immediate = conn.get_execution_options().get("funnelsync_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def ensure_schema(conn: Connection) -> int:
    """Create or upgrade the schema inside the caller's write transaction; returns old version."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_ADVISORY_KEY)))
    found = _read_version(conn)
    if found > SCHEMA_VERSION:
        raise ConfigError(
            f"the state store has schema version {found}, newer than this funnelsync "
            f"understands ({SCHEMA_VERSION})", hint="upgrade funnelsync, or point state.url "
            "at another database")
    for version in range(found, SCHEMA_VERSION) if found else ():
        _UPGRADES[version](conn)
    metadata.create_all(conn, checkfirst=True)
    _write_version(conn, found)
    _ensure_lock_row(conn)
    _ensure_suppression_key(conn)
    return found


def _read_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("meta"):
        return 0
    value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else 0


def _write_version(conn: Connection, found: int) -> None:
    if found == SCHEMA_VERSION:
        return
    if found:
        conn.execute(meta.update().where(meta.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))
    else:
        conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))


def _ensure_lock_row(conn: Connection) -> None:
    if conn.execute(sa.select(run_lock.c.id).where(run_lock.c.id == 1)).first() is None:
        conn.execute(run_lock.insert().values(id=1))


def _ensure_suppression_key(conn: Connection) -> None:
    """A random 256-bit key for the suppression hashes, made once; never shown anywhere."""
    query = sa.select(meta.c.value).where(meta.c.key == SUPPRESSION_KEY)
    if conn.execute(query).scalar() is None:
        conn.execute(meta.insert().values(key=SUPPRESSION_KEY, value=secrets.token_hex(32)))


def _upgrade_1_to_2(conn: Connection) -> None:
    """Add records.email/owner_id and fill them from the stored normalised JSON."""
    conn.exec_driver_sql("ALTER TABLE records ADD COLUMN email VARCHAR(320)")
    conn.exec_driver_sql("ALTER TABLE records ADD COLUMN owner_id VARCHAR(255)")
    conn.exec_driver_sql("CREATE INDEX ix_records_email ON records (email)")
    key = sa.tuple_(records.c.source, records.c.kind, records.c.id)
    last: tuple[str, str, str] | None = None
    while True:  # keyset pages: memory stays flat however many records there are
        query = sa.select(records.c.source, records.c.kind, records.c.id, records.c.data)
        if last is not None:
            query = query.where(key > sa.tuple_(*last))
        rows = conn.execute(query.order_by(*key.clauses).limit(1000)).all()
        if not rows:
            return
        conn.execute(records.update().where(
            records.c.source == sa.bindparam("s"), records.c.kind == sa.bindparam("k"),
            records.c.id == sa.bindparam("i")), [_email_owner(r) for r in rows])
        last = (rows[-1].source, rows[-1].kind, rows[-1].id)


def _email_owner(row: sa.Row[Any]) -> dict[str, Any]:
    return {"s": row.source, "k": row.kind, "i": row.id,
            "email": normalise_email(row.data.get("email")), "owner_id": row.data.get("owner_id")}


def _upgrade_2_to_3(conn: Connection) -> None:
    """Add alerts.folded_at (follow_ups is a new table: ``create_all`` makes it)."""
    if not sa.inspect(conn).has_table("alerts"):
        return  # coming from version 1: create_all makes alerts with the column
    kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.exec_driver_sql(f"ALTER TABLE alerts ADD COLUMN folded_at {kind}")


def _upgrade_3_to_4(conn: Connection) -> None:
    """Add runs.kind, ``sync`` for every earlier run (suppressions is a new table and the key
    is made by ``ensure_schema``)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("runs") or "kind" in {c["name"] for c in
                                                     inspector.get_columns("runs")}:
        return  # create_all makes runs with the column; a column already there stays
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'sync'")


_UPGRADES: dict[int, Callable[[Connection], None]] = {1: _upgrade_1_to_2, 2: _upgrade_2_to_3,
                                                      3: _upgrade_3_to_4}


def normalise_email(email: str | None) -> str | None:
    """Trimmed, lower-cased e-mail; None for empty values."""
    if email is None:
        return None
    email = email.strip().lower()
    return email or None
