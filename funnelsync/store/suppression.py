"""The suppression list of the state store: people who were forgotten stay forgotten.

One row per forgotten e-mail address, holding HMAC-SHA256 of the normalised address (trimmed,
lower-cased) under a random key made once per store (the ``meta`` row ``suppression_key``), so
the list names nobody: it cannot be read back into addresses, nor matched against a table of
hashed addresses made elsewhere. Only a guessed address can be tested, by whoever can read the
whole database (key included) — someone who could read the records anyway.

The store applies the list on both sides: a lead or contact whose address is suppressed is not
written (``upsert_records``/``write_page`` count it as ``suppressed``) and, should one have
slipped in (written by an older version, or by hand), is not returned by ``iter_records`` or
``get_record``, which feed the reports, exports, identity and the sync's own steps, nor counted
by ``count_records``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from funnelsync.store.connection import StoreBase, chunked
from funnelsync.store.schema import SUPPRESSION_KEY, meta, normalise_email, suppressions

Suppressed = Callable[[str | None], bool]  # normalised e-mail → suppressed?


def suppression_hash(key: bytes, email: str | None) -> str | None:
    """The keyed hash of one address (normalised first); None for an empty address."""
    normal = normalise_email(email)
    if normal is None:
        return None
    return hmac.new(key, normal.encode("utf-8"), hashlib.sha256).hexdigest()


def never_suppressed(email: str | None) -> bool:
    """The test of an empty list."""
    return False


class SuppressionMixin(StoreBase):
    """suppressions table: the keyed hashes of forgotten people's addresses."""

    def suppress(self, emails: Iterable[str]) -> int:
        """Add these addresses to the suppression list; returns how many were new."""
        with self._write() as conn:
            key = _key(conn)
            hashes = {h for h in (suppression_hash(key, e) for e in emails) if h}
            known = _known(conn, hashes)
            rows = [{"hash": h, "created_at": self._now()} for h in sorted(hashes - known)]
            if rows:
                conn.execute(suppressions.insert(), rows)
        return len(rows)

    def suppression_count(self) -> int:
        """How many addresses the suppression list holds (the list itself is never shown)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(suppressions))
                       .scalar_one())

    def is_suppressed(self, email: str | None) -> bool:
        """Whether this address (normalised first) is on the suppression list."""
        return self.suppressed_filter()(email)

    def suppressed_filter(self) -> Suppressed:
        """A test for addresses against the whole list as it stands now (read once)."""
        with self._read() as conn:
            return read_filter(conn)


def _key(conn: Connection) -> bytes:
    value = conn.execute(sa.select(meta.c.value).where(meta.c.key == SUPPRESSION_KEY)).scalar_one()
    return bytes.fromhex(value)


def _known(conn: Connection, hashes: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(sorted(hashes), 1000):
        found.update(conn.execute(sa.select(suppressions.c.hash)
                                  .where(suppressions.c.hash.in_(chunk))).scalars())
    return found


def read_filter(conn: Connection) -> Suppressed:
    """The list read in ``conn``: one set of hashes, or a test that is always False when the
    list is empty (so reads of a store that never forgot anybody hash nothing)."""
    hashes = set(conn.execute(sa.select(suppressions.c.hash)).scalars())
    if not hashes:
        return never_suppressed
    key = _key(conn)

    def suppressed(email: str | None) -> bool:
        return email is not None and suppression_hash(key, email) in hashes

    return suppressed


def suppressed_in(conn: Connection, emails: Iterable[str | None]) -> set[str]:
    """The normalised addresses among ``emails`` that are suppressed (one query by hash)."""
    if conn.execute(sa.select(suppressions.c.hash).limit(1)).first() is None:
        return set()  # nobody was ever forgotten: nothing to hash
    key = _key(conn)
    by_hash = {suppression_hash(key, normal) or "": normal
               for normal in {normalise_email(e) for e in emails} if normal is not None}
    return {by_hash[h] for h in _known(conn, set(by_hash))}


def count_suppressed(conn: Connection, by_email: Any) -> int:
    """The rows counted by ``by_email`` (a query of (e-mail, row count) pairs) whose address is
    suppressed; the query is not even run when nobody was ever forgotten."""
    suppressed = read_filter(conn)
    if suppressed is never_suppressed:
        return 0
    return sum(int(rows) for email, rows in conn.execute(by_email) if suppressed(email))


def drop_suppressed(conn: Connection, rows: dict[str, dict[str, Any]]) -> int:
    """Take the lead rows whose (normalised) ``email`` is suppressed out of ``rows``; returns
    how many were taken out."""
    gone = suppressed_in(conn, (row["email"] for row in rows.values()))
    dropped = [rid for rid, row in rows.items() if row["email"] in gone]
    for rid in dropped:
        del rows[rid]
    return len(dropped)


__all__ = ["Suppressed", "SuppressionMixin", "count_suppressed", "drop_suppressed",
           "never_suppressed", "read_filter", "suppressed_in", "suppression_hash"]
