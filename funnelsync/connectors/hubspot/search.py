"""Incremental reads through HubSpot search, complete despite the 10,000-result cap.

Search pages hold at most 200 records and stop at 10,000 results (``after + limit`` past it is a
400). Order among equal sort values is not guaranteed, and the result set moves while we read
(a record modified mid-pull jumps to the end, shifting every later offset by one). Offset paging
(``after=200, 400, ...``) therefore loses records at page boundaries even below the cap.

So every page is a fresh query anchored on the last timestamp seen ("keyset" paging, which is
re-anchoring before every page and so always far below the cap):

* **main** - ``modified >= T`` (``> T`` once T is known complete), sorted ascending, 200 a
  page, ``after`` always 0. Ids already yielded at T are dropped. Cost: the already-seen records
  at T are re-read, typically one per page (0.5%).
* **split** - when a full page carries one single timestamp T, more than a page of records
  share it and ``>= T`` cannot get past them. Then T is walked by id: ``modified == T AND
  hs_object_id > last_id`` sorted by ``hs_object_id`` (ids are unique, so this order is total).
  When that runs dry, main resumes with ``modified > T``. This finishes even when more than
  10,000 records share one timestamp.

The state after each page is an opaque resume token (:meth:`SearchState.encode`), so a pull
killed half-way re-reads at most one page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

SEARCH_LIMIT = 200
SEARCH_CAP = 10_000  # HubSpot answers 400 once after + limit exceeds this
ID_PROPERTY = "hs_object_id"
_TOKEN_PREFIX = "search"


@dataclass(frozen=True)
class SearchState:
    """Where an incremental search stands: mode, anchor timestamp (epoch ms), and so on."""

    mode: Literal["main", "split"]
    ts: int
    strict: bool = False
    last_id: int = 0
    seen: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        seen = ",".join(sorted(self.seen, key=_id_key))
        return f"{_TOKEN_PREFIX}:{self.mode}:{self.ts}:{int(self.strict)}:{self.last_id}:{seen}"

    @classmethod
    def decode(cls, token: str) -> SearchState:
        prefix, mode, ts, strict, last_id, seen = token.split(":", 5)
        if prefix != _TOKEN_PREFIX or mode not in ("main", "split"):
            raise ValueError(f"not a search resume token: {token[:40]!r}")
        return cls(mode=mode, ts=int(ts), strict=strict == "1",  # type: ignore[arg-type]
                   last_id=int(last_id), seen=frozenset(s for s in seen.split(",") if s))

    @classmethod
    def start(cls, since: datetime) -> SearchState:
        return cls(mode="main", ts=to_epoch_ms(since))


def is_search_token(token: str | None) -> bool:
    return bool(token) and token.startswith(_TOKEN_PREFIX + ":")  # type: ignore[union-attr]


def search_body(state: SearchState, modified: str, properties: list[str]) -> dict[str, Any]:
    """The search request for the next page in ``state``."""
    if state.mode == "main":
        filters = [{"propertyName": modified, "operator": "GT" if state.strict else "GTE",
                    "value": str(state.ts)}]
        sort = modified
    else:
        filters = [{"propertyName": modified, "operator": "EQ", "value": str(state.ts)},
                   {"propertyName": ID_PROPERTY, "operator": "GT", "value": str(state.last_id)}]
        sort = ID_PROPERTY
    return {"filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": properties, "limit": SEARCH_LIMIT, "after": "0"}


def advance(state: SearchState, results: list[dict[str, Any]],
            modified: str) -> tuple[list[dict[str, Any]], SearchState | None]:
    """The records of this page not yielded before, and the next state (None when done)."""
    if state.mode == "split":
        return _advance_split(state, results)
    fresh = [r for r in results if not (stamp_of(r, modified) == state.ts
                                        and str(r["id"]) in state.seen)]
    if len(results) < SEARCH_LIMIT:
        return fresh, None
    stamps = [stamp_of(r, modified) for r in results]
    top = max(stamps)
    carried = state.seen if top == state.ts else frozenset()
    at_top = frozenset(str(r["id"]) for r, s in zip(results, stamps, strict=True) if s == top)
    if min(stamps) == top:
        return fresh, SearchState(mode="split", ts=top, seen=carried | at_top)
    return fresh, SearchState(mode="main", ts=top, seen=carried | at_top)


Step = tuple[list[dict[str, Any]], "SearchState | None"]


def _advance_split(state: SearchState, results: list[dict[str, Any]]) -> Step:
    fresh = [r for r in results if str(r["id"]) not in state.seen]
    if len(results) < SEARCH_LIMIT:
        return fresh, SearchState(mode="main", ts=state.ts, strict=True)
    last_id = max(_id_key(str(r["id"])) for r in results)
    return fresh, replace(state, last_id=last_id)


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
