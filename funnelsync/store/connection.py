"""Transactions over the store's engine, shared by the parts of the state store."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

from funnelsync.clock import Clock, utc_now
from funnelsync.config.secrets import mask_secrets
from funnelsync.errors import ConfigError, RemoteError

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's write lock from its start (SQLite)."""
    with engine.connect() as conn:
        conn.execution_options(funnelsync_write=True)
        with conn.begin():
            yield conn


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT, which offers ON CONFLICT on both SQLite and PostgreSQL."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


OWNER_ONLY = 0o600  # the state holds names and e-mails


def parse_state_url(url: str) -> sa.URL:
    """The SQLAlchemy URL of ``state.url``; a ConfigError (without the URL's password) when it
    cannot be parsed."""
    try:
        return make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(f"state.url is not a database URL: {mask_secrets(url)}",
                          hint="use sqlite:///path/file.db or "
                               "postgresql+psycopg://user@host/db") from None


def create_private_sqlite_file(url: sa.URL) -> None:
    """Create a SQLite database file readable and writable by its owner only, before SQLite
    opens it: SQLite gives its -wal and -shm files the mode of the database file. An existing
    file keeps the mode its owner gave it."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or \
            database.startswith("file:") or "uri" in url.query:
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, OWNER_ONLY))
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(f"state.url: cannot create the SQLite database {path}: "
                          f"{exc.strerror}", hint="point state.url at a writable folder") from None


@contextmanager
def opening_errors(url: str) -> Iterator[None]:
    """Driver errors while a store opens, as one line without the URL's password: a SQLite
    file that cannot be used is a ConfigError, a database server that does not answer (or
    refuses) a RemoteError."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        reason = mask_secrets(str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip()
                              else type(exc.orig).__name__)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            raise ConfigError(f"state.url: cannot open the SQLite database "
                              f"{parsed.database}: {reason}",
                              hint="point state.url at a SQLite file funnelsync may write") \
                from None
        raise RemoteError(f"the state store {mask_secrets(url)} cannot be used: {reason}",
                          hint="check that the database server runs and accepts this user") \
            from None


class StoreBase:
    """Owns the engine and the clock; hands out read and write transactions.

    The parts of ``Store`` (runs, alerts, people, timers) are mixins of this class.
    """

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _now(self, now: datetime | None = None) -> datetime:
        return now if now is not None else self._clock()

    def _read(self) -> AbstractContextManager[Connection]:
        return read_transaction(self._engine)

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def _iter_filtered(self, table: sa.Table, order: sa.Column[Any], source: str | None,
                       record_id: str | None, statuses: Sequence[str] | None
                       ) -> Iterator[sa.Row[Any]]:
        """Rows of ``table`` by ``order``, filtered by source, record and status, streamed."""
        query = sa.select(table).order_by(order)
        if source is not None:
            query = query.where(table.c.source == source)
        if record_id is not None:
            query = query.where(table.c.record_id == record_id)
        if statuses is not None:
            query = query.where(table.c.status.in_(list(statuses)))
        with self._read() as conn:
            yield from conn.execution_options(yield_per=1000).execute(query)

    def _insert(self, table: sa.Table) -> Any:
        return dialect_insert(self.dialect, table)
