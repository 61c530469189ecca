"""Transactions over the store's engine, shared by the parts of the state store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from funnelsync.clock import Clock, utc_now

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

    def _insert(self, table: sa.Table) -> Any:
        return dialect_insert(self.dialect, table)
