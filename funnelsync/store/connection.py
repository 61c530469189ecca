"""Connection handling shared by the parts of the state store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


class StoreBase:
    """Owns the engine; hands out read and write transactions."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _now(self, now: datetime | None = None) -> datetime:
        return now if now is not None else self._clock()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the database's write lock from its start (SQLite)."""
        with self._engine.connect() as conn:
            conn.execution_options(funnelsync_write=True)
            with conn.begin():
                yield conn

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which offers ON CONFLICT on both SQLite and PostgreSQL."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
