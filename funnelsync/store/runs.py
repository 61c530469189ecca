"""Runs and the run lock of the state store.

The lock is one row (id 1). Taking it is a read-then-write inside a write transaction that
holds the row: ``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite. Two
processes racing therefore serialise, and the second sees the first one's holder. A lock whose
``expires_at`` has passed (its holder stopped refreshing it) is taken over, and runs that
holder left ``running`` are marked ``crashed``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.errors import LockHeld
from funnelsync.store.connection import StoreBase
from funnelsync.store.models import RUN_STATUSES, LockInfo, RunInfo, RunStatus
from funnelsync.store.schema import run_lock, runs


def default_holder() -> str:
    """``host:pid:token`` — names this process and tells two stores in one process apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "?"


def _lock_held(lock: LockInfo) -> LockHeld:
    run = f"run {lock.run_id}" if lock.run_id is not None else "no run started yet"
    return LockHeld(
        f"another funnelsync run holds the state-store lock: {lock.holder} ({run}), "
        f"since {_iso(lock.acquired_at)}",
        holder=lock.holder)


class RunsMixin(StoreBase):
    """runs table and run lock."""

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, holder: str | None, *, dry_run: bool = False,
                  now: datetime | None = None, kind: str = "sync") -> int:
        """Record a new run as ``running``; returns its id (increasing, never reused).
        ``kind``: ``sync`` (pulls and write-back) or ``forget`` (a privacy deletion).

        Take the lock first with the same ``holder`` (dry runs too: they write the store): a
        ``running`` run whose holder does not hold a live lock is taken for dead and marked
        ``crashed`` by the next ``Store.open`` or ``acquire_lock``.
        """
        with self._write() as conn:
            result = conn.execute(runs.insert().values(
                started_at=self._now(now), status="running", dry_run=dry_run, holder=holder,
                counts={}, errors=[], timings={}, kind=kind))
            run_id = int(result.inserted_primary_key[0])
            if holder is not None:
                conn.execute(run_lock.update().where(run_lock.c.id == 1,
                                                     run_lock.c.holder == holder)
                             .values(run_id=run_id))
        return run_id

    def finish_run(self, run_id: int, status: RunStatus, *, counts: dict[str, Any] | None = None,
                   errors: Sequence[Any] | None = None, timings: dict[str, Any] | None = None,
                   now: datetime | None = None) -> None:
        """Close a run with its outcome; counts/errors/timings must be JSON-serialisable."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"finish_run: status must be ok/partial/failed/crashed, "
                             f"not {status!r}")
        values: dict[str, Any] = {"status": status, "finished_at": self._now(now)}
        for key, value in (("counts", counts), ("errors", errors), ("timings", timings)):
            if value is not None:
                values[key] = list(value) if key == "errors" else dict(value)
        with self._write() as conn:
            done = conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))
            if done.rowcount != 1:
                raise ValueError(f"finish_run: no run {run_id} in the state store")

    def get_run(self, run_id: int) -> RunInfo | None:
        with self._read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        return _run_info(row) if row else None

    def list_runs(self, limit: int = 20) -> list[RunInfo]:
        """The newest runs first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.run_id.desc()).limit(limit))
            return [_run_info(row) for row in rows]

    def iter_runs(self, after: int | None = None, through: int | None = None
                  ) -> Iterator[RunInfo]:
        """Runs with ids after ``after`` and up to ``through`` (None: no bound), oldest first."""
        query = sa.select(runs).order_by(runs.c.run_id)
        if after is not None:
            query = query.where(runs.c.run_id > after)
        if through is not None:
            query = query.where(runs.c.run_id <= through)
        with self._read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield _run_info(row)

    def last_run(self, statuses: Sequence[RunStatus] = ("ok", "partial")) -> RunInfo | None:
        """The newest run with one of these statuses (e.g. the last one that completed)."""
        with self._read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.status.in_(list(statuses)))
                               .order_by(runs.c.run_id.desc()).limit(1)).first()
        return _run_info(row) if row else None

    def recover_crashed_runs(self, now: datetime | None = None) -> list[int]:
        """Mark ``running`` runs whose holder no longer holds a live lock as ``crashed``."""
        with self._write() as conn:
            lock = _read_lock(conn, for_update=True)
            alive = lock.holder if lock.holder and lock.expires_at and \
                lock.expires_at > self._now(now) else None
            return _mark_crashed(conn, alive, self._now(now))

    # -- lock ---------------------------------------------------------------------------------
    def acquire_lock(self, holder: str, now: datetime, ttl_seconds: float) -> LockInfo:
        """Take the run lock, or raise LockHeld naming its live holder.

        A free or expired lock is taken (runs its dead holder left running become
        ``crashed``); the same holder acquiring again just refreshes it.
        """
        with self._write() as conn:
            current = _read_lock(conn, for_update=True)
            mine = current.holder == holder
            if current.holder is not None and not mine and current.expires_at is not None \
                    and current.expires_at > now:
                raise _lock_held(current)
            lock = LockInfo(holder=holder, run_id=current.run_id if mine else None,
                            acquired_at=current.acquired_at if mine else now,
                            refreshed_at=now, expires_at=now + timedelta(seconds=ttl_seconds))
            _write_lock(conn, lock)
            _mark_crashed(conn, holder, now)
        return lock

    def refresh_lock(self, holder: str, now: datetime, ttl_seconds: float) -> LockInfo:
        """Extend our lock; LockHeld if another run has taken it over meanwhile."""
        with self._write() as conn:
            current = _read_lock(conn, for_update=True)
            if current.holder != holder:
                raise _lock_held(current) if current.holder else LockHeld(
                    "the run lock was released while this run still worked", holder=None)
            lock = LockInfo(holder, current.run_id, current.acquired_at, now,
                            now + timedelta(seconds=ttl_seconds))
            _write_lock(conn, lock)
        return lock

    def release_lock(self, holder: str) -> bool:
        """Free the lock if this holder has it; False if it did not (taken over or free)."""
        with self._write() as conn:
            done = conn.execute(run_lock.update().where(
                run_lock.c.id == 1, run_lock.c.holder == holder).values(
                holder=None, run_id=None, acquired_at=None, refreshed_at=None, expires_at=None))
            return done.rowcount == 1

    def lock_info(self) -> LockInfo:
        with self._read() as conn:
            return _read_lock(conn, for_update=False)


def _read_lock(conn: Connection, *, for_update: bool) -> LockInfo:
    query = sa.select(run_lock).where(run_lock.c.id == 1)
    row = conn.execute(query.with_for_update() if for_update else query).one()
    return LockInfo(row.holder, row.run_id, row.acquired_at, row.refreshed_at, row.expires_at)


def _write_lock(conn: Connection, lock: LockInfo) -> None:
    conn.execute(run_lock.update().where(run_lock.c.id == 1).values(
        holder=lock.holder, run_id=lock.run_id, acquired_at=lock.acquired_at,
        refreshed_at=lock.refreshed_at, expires_at=lock.expires_at))


def _mark_crashed(conn: Connection, alive_holder: str | None, now: datetime) -> list[int]:
    query = sa.select(runs.c.run_id).where(runs.c.status == "running")
    if alive_holder is not None:
        query = query.where(sa.or_(runs.c.holder.is_(None), runs.c.holder != alive_holder))
    ids = [int(r) for r in conn.execute(query.order_by(runs.c.run_id)).scalars()]
    if ids:
        conn.execute(runs.update().where(runs.c.run_id.in_(ids)).values(
            status="crashed", finished_at=now))
    return ids


def _run_info(row: sa.Row[Any]) -> RunInfo:
    return RunInfo(run_id=row.run_id, started_at=row.started_at, finished_at=row.finished_at,
                   status=row.status, dry_run=row.dry_run, holder=row.holder,
                   counts=row.counts, errors=row.errors, timings=row.timings, kind=row.kind)
