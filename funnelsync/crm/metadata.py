"""A CRM's metadata as last read: object descriptions, stage catalogs, owners.

Metadata changes rarely, so a run reads it from a key/value state (the state store) and asks the
CRM again only when it can have changed: when the cached value is older than the time-to-live,
when the run is told to (``refresh``: ``--refresh-metadata``, ``--full``), or when pulled
records name a stage or an owner the cached value does not list. Values the CRM still did not
list after such a read are remembered as ``absent``, so they do not cause another read before
the next one the time-to-live calls for.

Time is the run's ``now`` (the job's clock). A value read again conditionally (a describe
answered ``304 Not Modified``) or incrementally (owners changed since) asks from the time of the
last read minus ``LOOKBACK``, so a clock that differs a little from the CRM's loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

DEFAULT_TTL = timedelta(hours=24)
LOOKBACK = timedelta(minutes=10)
KEY_PREFIX = "metadata"


class KeyValueState(Protocol):
    """Where cached values are kept (``Store`` has these two methods)."""

    def get_state(self, key: str, default: Any = None) -> Any: ...

    def set_state(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Cached:
    """One cached value: what was read, when, and what records named that it did not list."""

    value: Any
    read_at: datetime
    absent: tuple[str, ...] = ()

    @property
    def changed_since(self) -> datetime:
        """The time to ask "changed since?" from, to see every change after this read."""
        return self.read_at - LOOKBACK

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "read_at": self.read_at.isoformat(),
                "absent": list(self.absent)}

    @classmethod
    def from_json(cls, data: Any) -> Cached | None:
        """The stored form back; None for anything else (a value from another version)."""
        if not isinstance(data, dict) or "value" not in data or "read_at" not in data:
            return None
        try:
            read_at = datetime.fromisoformat(str(data["read_at"]))
        except ValueError:
            return None
        return cls(data["value"], read_at, tuple(str(a) for a in data.get("absent") or ()))


@dataclass(frozen=True)
class MetadataCache:
    """Metadata of every CRM of one run, kept in ``state``; without a state nothing is kept and
    every read goes to the CRM."""

    state: KeyValueState | None = None
    now: datetime | None = None
    ttl: timedelta = DEFAULT_TTL
    refresh: bool = False  # read everything again, whatever the cache holds

    def __post_init__(self) -> None:
        if self.state is not None and self.now is None:
            raise ValueError("a metadata cache with a state needs the run's time (now)")

    def get(self, source: str, name: str) -> Cached | None:
        """The cached value of ``name`` for ``source``, fresh or not; None when none is kept."""
        if self.state is None:
            return None
        return Cached.from_json(self.state.get_state(_key(source, name)))

    def fresh(self, cached: Cached | None) -> bool:
        """Whether ``cached`` may be used without asking the CRM."""
        if cached is None or self.refresh or self.now is None:
            return False
        return self.now - cached.read_at < self.ttl

    def put(self, source: str, name: str, value: Any, absent: Iterable[str] = (),
            read_at: datetime | None = None) -> Cached:
        """Keep ``value`` as read now (or at ``read_at``); returns what is kept."""
        cached = Cached(value, read_at or self.now or datetime.min, tuple(sorted(set(absent))))
        if self.state is not None:
            self.state.set_state(_key(source, name), cached.to_json())
        return cached


def merge_rows(old: list[dict[str, Any]], new: list[dict[str, Any]],
               key: str) -> list[dict[str, Any]]:
    """``old`` with ``new`` rows replacing those of the same ``key`` and the others appended."""
    by_key = {row.get(key): row for row in old}
    by_key.update({row.get(key): row for row in new})
    return list(by_key.values())


def _key(source: str, name: str) -> str:
    return f"{KEY_PREFIX}.{source}.{name}"


__all__ = ["DEFAULT_TTL", "LOOKBACK", "Cached", "KeyValueState", "MetadataCache", "merge_rows"]
