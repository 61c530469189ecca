"""Incremental reads through HubSpot search, keyed by (modification time, ``hs_object_id``).

Search pages hold at most 200 records and stop at 10,000 results (``after + limit`` past it is a
400). Order among equal sort values is not guaranteed, and the result set moves while we read
(a record modified mid-pull jumps to the end, shifting every later offset by one). Offset paging
(``after=200, 400, ...``) therefore loses records at page boundaries even below the cap.

So every page is a fresh query (``after`` always 0, far below the cap) for the records after a
key (T, I): modified after T, or at T with an id above I. Filter groups are ORed, so that is
two groups, ``modified > T`` and ``modified == T AND hs_object_id > I`` (one, ``modified >= T``,
while I is 0: nothing at T read yet). Search takes one sort, so two modes walk the key order:

* **main** - sorted by modification time, 200 a page. A page that is not full completes the
  pull; the key moves to its last time and the highest id there. A full page is complete below
  its last time T only (ties at T come in any order): its records at T are left for the next
  page, which starts at (T, 0) - the one place a record is received twice, typically one per
  page.
* **split** - when a full page carries one single time T, more than a page of records share it:
  T is walked by id, ``modified == T AND hs_object_id > I`` sorted by ``hs_object_id`` (ids are
  unique, so this order is total), the key moving to each page's highest id. When that runs dry,
  main resumes after (T, I). This finishes even when more than 10,000 records share one time.

The key after every page is ``Page.cursor`` + ``Page.last_id``: a pull that stores it starts the
next run exactly after the last record it stored, whatever the number of records sharing that
time. The state after each page is also an opaque resume token (:meth:`SearchState.encode`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

SEARCH_LIMIT = 200
SEARCH_CAP = 10_000  # HubSpot answers 400 once after + limit exceeds this
ID_PROPERTY = "hs_object_id"
_TOKEN_PREFIX = "search"


@dataclass(frozen=True)
class SearchState:
    """Where an incremental search stands: the key (``ts`` epoch ms, ``last_id``; 0: no record
    at ``ts`` read yet) and the mode of the next query."""

    mode: Literal["main", "split"]
    ts: int
    last_id: int = 0

    def encode(self) -> str:
        return f"{_TOKEN_PREFIX}:{self.mode}:{self.ts}:{self.last_id}"

    @classmethod
    def decode(cls, token: str) -> SearchState:
        prefix, mode, ts, last_id = token.split(":")
        if prefix != _TOKEN_PREFIX or mode not in ("main", "split"):
            raise ValueError(f"not a search resume token: {token[:40]!r}")
        return cls(mode=mode, ts=int(ts), last_id=int(last_id))  # type: ignore[arg-type]

    @classmethod
    def start(cls, since: datetime, last_id: str = "") -> SearchState:
        """The records after the key (``since``, ``last_id``); at or after ``since`` when
        ``last_id`` is empty."""
        return cls(mode="main", ts=to_epoch_ms(since), last_id=_id_key(last_id))


def is_search_token(token: str | None) -> bool:
    return bool(token) and token.startswith(_TOKEN_PREFIX + ":")  # type: ignore[union-attr]


def newest_body(modified: str) -> dict[str, Any]:
    """The probe: every live record (no filter), newest modification first, one result. Its
    answer's ``total`` is the number of live records; its one result the newest of them."""
    return {"sorts": [{"propertyName": modified, "direction": "DESCENDING"}],
            "properties": [modified, ID_PROPERTY], "limit": 1, "after": "0"}


def search_body(state: SearchState, modified: str, properties: list[str]) -> dict[str, Any]:
    """The search request for the next page in ``state``."""
    at_ts = {"propertyName": modified, "operator": "EQ", "value": str(state.ts)}
    after_id = {"propertyName": ID_PROPERTY, "operator": "GT", "value": str(state.last_id)}
    if state.mode == "split":
        groups, sort = [[at_ts, after_id]], ID_PROPERTY
    elif state.last_id:
        later = {"propertyName": modified, "operator": "GT", "value": str(state.ts)}
        groups, sort = [[later], [at_ts, after_id]], modified
    else:
        groups, sort = [[{"propertyName": modified, "operator": "GTE", "value": str(state.ts)}]], \
            modified
    return {"filterGroups": [{"filters": filters} for filters in groups],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": properties, "limit": SEARCH_LIMIT, "after": "0"}


@dataclass(frozen=True)
class Step:
    """What one search page gives: the records complete after it, the key (``ts``,
    ``last_id``) they bring the pull to, and the next state (None: the search is done)."""

    records: list[dict[str, Any]]
    ts: int
    last_id: int
    following: SearchState | None


def advance(state: SearchState, results: list[dict[str, Any]], modified: str) -> Step:
    """The records of this page the pull takes, its key, and what to ask next."""
    if state.mode == "split":
        return _advance_split(state, results)
    stamps = [stamp_of(r, modified) for r in results]
    top = max(stamps, default=state.ts)
    if len(results) < SEARCH_LIMIT:
        at_top = [_id_key(str(r["id"])) for r, s in zip(results, stamps, strict=True) if s == top]
        last = max(at_top) if top != state.ts else max([state.last_id, *at_top])
        return Step(results, top, last, None)
    if min(stamps) == top:
        last = state.last_id if top == state.ts else 0
        return Step([], state.ts, state.last_id, SearchState(mode="split", ts=top, last_id=last))
    below = [r for r, s in zip(results, stamps, strict=True) if s < top]
    return Step(below, top, 0, SearchState(mode="main", ts=top))


def _advance_split(state: SearchState, results: list[dict[str, Any]]) -> Step:
    last = max([state.last_id, *(_id_key(str(r["id"])) for r in results)])
    following = SearchState(mode="split" if len(results) >= SEARCH_LIMIT else "main",
                            ts=state.ts, last_id=last)
    return Step(results, state.ts, last, following)


def stamp_of(record: dict[str, Any], modified: str) -> int:
    """A record's modification time in epoch ms (its property, else ``updatedAt``)."""
    value = (record.get("properties") or {}).get(modified) or record.get("updatedAt")
    return parse_stamp(value) if value else 0


def parse_stamp(value: str | int) -> int:
    """Epoch ms from HubSpot's ISO 8601 text or an epoch-ms number/string."""
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(round(parsed.timestamp() * 1000))


def to_epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(round(moment.timestamp() * 1000))


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _id_key(value: str) -> int:
    return int(value) if value.isdigit() else 0
