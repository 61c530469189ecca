"""Paging for both CRMs: one follower of next-page tokens, typed resume tokens, ``batched``.

Every paged read is the same small state machine: call with a token (None for the first page),
read the next token from the answer, stop when there is none. :func:`follow` runs it and
refuses a next token equal to the one just sent: such an answer would send the same request
again, forever. The two wire dialects sit on top of it:

* :func:`soql_pages` - a Salesforce query, then ``nextRecordsUrl`` until ``done``;
* :func:`after_pages` - a HubSpot list, then ``paging.next.after`` until it is absent.

Callers get one page at a time with the token of the page after it, so they can store a page
and the position past it together (a crash re-reads at most one page).

Incremental pulls are ordered by (modification time, id) on both CRMs, so the position past a
page is a key: :class:`AfterKey`. The next pull asks only for records after that key (later
time, or the same time and a greater id), so records sharing the boundary time are never read
twice, however many there are.

Resume tokens are frozen dataclasses; ``encode()`` gives the string the state store keeps and
``decode_*`` reads it back:

================================  =========================================
``SoqlResume(url)``               the ``nextRecordsUrl`` itself
``BulkResume(job_id, locator)``   ``bulk2:<job id>:<locator>``
``ListResume(archived, after)``   ``live:<after>`` / ``archived:<after>``
``Finished()``                    ``end``
``AfterKey(stamp, id)``           ``key:<ISO stamp>:<id>`` (both CRMs)
HubSpot search ``SearchState``    ``search:<mode>:...`` (see hubspot/search.py)
================================  =========================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from funnelsync.connectors.hubspot.search import SearchState, is_search_token
from funnelsync.errors import RemoteError

T = TypeVar("T")
R = TypeVar("R")

BULK_PREFIX = "bulk2:"
KEY_PREFIX = "key:"
FINISHED_TOKEN = "end"
_SHOWN_TOKEN = 80  # characters of a repeated token quoted in the error


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of ``size`` items, the last one shorter when items run out."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def follow(step: Callable[[T], tuple[R, T | None]], call: str,
           start: T) -> Iterator[tuple[R, T | None]]:
    """``(page, next token)`` pairs: ``step(start)``, then ``step(next token)`` until None.

    The next call is made only when the caller asks for the next pair. A next token equal to
    the token just sent raises :class:`RemoteError` naming ``call``.
    """
    token = start
    while True:
        page, following = step(token)
        if following is not None and following == token:
            raise _repeated(call, following)
        yield page, following
        if following is None:
            return
        token = following


def _repeated(call: str, token: object) -> RemoteError:
    encode = None if isinstance(token, str) else getattr(token, "encode", None)
    shown = encode() if encode else str(token)
    if len(shown) > _SHOWN_TOKEN:
        shown = shown[:_SHOWN_TOKEN] + "..."
    return RemoteError(f"{call} named the page just read as the next one ({shown!r}); "
                       "stopping instead of reading it again forever",
                       code="PAGING_LOOP",
                       hint="run again later; if it happens again, the CRM's paging for this "
                            "call is broken")


# -- ordered pulls (both CRMs) -------------------------------------------------------------


@dataclass(frozen=True)
class AfterKey:
    """An ordered pull goes on after the record whose key is (``stamp``, ``id``): with records
    modified later than ``stamp``, or at ``stamp`` with an id greater than ``id``. An empty
    ``id`` means no record at ``stamp`` has been read yet (a closed start: ``>= stamp``)."""

    stamp: datetime
    id: str = ""

    def encode(self) -> str:
        stamp = self.stamp if self.stamp.tzinfo else self.stamp.replace(tzinfo=UTC)
        return f"{KEY_PREFIX}{stamp.astimezone(UTC).isoformat()}:{self.id}"

    @classmethod
    def decode(cls, token: str | None) -> AfterKey | None:
        """The key a stored token names; None for no token or a token of another kind."""
        if not token or not token.startswith(KEY_PREFIX):
            return None
        stamp, _, record_id = token.removeprefix(KEY_PREFIX).rpartition(":")
        try:
            return cls(datetime.fromisoformat(stamp), record_id)
        except ValueError:
            return None


# -- Salesforce ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SoqlResume:
    """A SOQL query continues at its ``nextRecordsUrl``."""

    url: str

    def encode(self) -> str:
        return self.url


@dataclass(frozen=True)
class BulkResume:
    """A Bulk 2.0 query job's results continue at ``locator`` (None: at the first row)."""

    job_id: str
    locator: str | None = None

    def encode(self) -> str:
        return f"{BULK_PREFIX}{self.job_id}:{self.locator or ''}"


SalesforceResume = SoqlResume | BulkResume | AfterKey


def decode_salesforce_resume(token: str | None) -> SalesforceResume | None:
    """The position a stored Salesforce token names; None for no token."""
    if not token:
        return None
    if token.startswith(KEY_PREFIX):
        return AfterKey.decode(token)  # unreadable: start from ``since``
    if token.startswith(BULK_PREFIX):
        job_id, _, locator = token.removeprefix(BULK_PREFIX).partition(":")
        return BulkResume(job_id, locator or None)
    return SoqlResume(token)


@dataclass(frozen=True)
class SoqlPage:
    """The records of one query answer, and where the query goes on (None: it is done)."""

    records: list[dict[str, Any]]
    next: SoqlResume | None

    @property
    def resume(self) -> str | None:
        return self.next.encode() if self.next else None


def next_records(result: Mapping[str, Any]) -> SoqlResume | None:
    """Where a query answer says the query goes on; None once ``done``."""
    url = None if result.get("done", True) else result.get("nextRecordsUrl")
    return SoqlResume(url) if url else None


def soql_pages(first: Callable[[], Mapping[str, Any]], more: Callable[[str], Mapping[str, Any]],
               call: str, resume: SoqlResume | None = None) -> Iterator[SoqlPage]:
    """Pages of one query: ``first()`` (or ``more(resume.url)``), then ``more(nextRecordsUrl)``
    until an answer is ``done``."""
    def step(position: SoqlResume | None) -> tuple[Mapping[str, Any], SoqlResume | None]:
        result = more(position.url) if position else first()
        return result, next_records(result)

    for result, following in follow(step, call, resume):
        yield SoqlPage(result["records"], following)


# -- HubSpot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListResume:
    """A HubSpot list read (live records, or archived ones) continues after ``after``
    (None: at its first page)."""

    archived: bool
    after: str | None = None

    @property
    def phase(self) -> str:
        return "archived" if self.archived else "live"

    def encode(self) -> str:
        return f"{self.phase}:{self.after or ''}"


@dataclass(frozen=True)
class Finished:
    """Nothing is left to read."""

    def encode(self) -> str:
        return FINISHED_TOKEN


HubSpotResume = SearchState | ListResume | Finished | AfterKey


def decode_hubspot_resume(token: str | None) -> HubSpotResume | None:
    """The position a stored HubSpot token names; None for no token. A token that names no
    position (``end``, or text this connector does not write) reads as :class:`Finished`."""
    if not token:
        return None
    if is_search_token(token):
        return SearchState.decode(token)
    if token.startswith(KEY_PREFIX):
        return AfterKey.decode(token)  # unreadable: start from ``since``
    phase, _, after = token.partition(":")
    if phase in ("live", "archived"):
        return ListResume(archived=phase == "archived", after=after or None)
    return Finished()


@dataclass(frozen=True)
class AfterPage:
    """The ``results`` of one list answer, and the ``after`` of the next page (None: last)."""

    results: list[dict[str, Any]]
    after: str | None


def next_after(body: Mapping[str, Any]) -> str | None:
    """``paging.next.after`` of a list answer; None on the last page."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def after_pages(fetch: Callable[[str | None], Mapping[str, Any]], call: str,
                after: str | None = None) -> Iterator[AfterPage]:
    """Pages of one list: ``fetch(after)``, then ``fetch(paging.next.after)`` until absent."""
    def step(position: str | None) -> tuple[Mapping[str, Any], str | None]:
        body = fetch(position)
        return body, next_after(body)

    for body, following in follow(step, call, after):
        yield AfterPage(body.get("results") or [], following)


__all__ = ["BULK_PREFIX", "KEY_PREFIX", "AfterKey", "AfterPage", "BulkResume", "Finished",
           "HubSpotResume", "ListResume", "SalesforceResume", "SoqlPage", "SoqlResume",
           "after_pages", "batched", "decode_hubspot_resume", "decode_salesforce_resume",
           "follow", "next_after", "next_records", "soql_pages"]
