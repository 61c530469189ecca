"""Reads folded into Salesforce's Composite resource: many GETs for one API call.

``POST /services/data/vXX.X/composite`` with ``{"allOrNone": false, "compositeRequest":
[{"method": "GET", "url": ..., "referenceId": ..., "httpHeaders": {...}}]}`` answers HTTP 200
with ``{"compositeResponse": [{"body": ..., "httpHeaders": {...}, "httpStatusCode": 200,
"referenceId": ...}]}``, one result per subrequest in order; a failed subrequest carries its
status and the usual error list (``[{"errorCode": ..., "message": ...}]``) as its body.
At most 25 subrequests, of which at most 5 query operations (query, queryAll and their next
pages); ``packed`` keeps to both.

Why Composite and not Composite Batch (``/composite/batch``): Salesforce counts a whole
composite request as one call against the org's API limits, whereas each batch subrequest
counts on its own, so a batch saves round trips but no quota. And a composite subrequest takes
``httpHeaders``, so a describe folded into it still asks ``If-Modified-Since`` (answered 304
when nothing changed); a batch subrequest has only a method, a URL, a body and binary parts.
Folding conditional describes into the composite that carries the run's first pages costs
nothing, where sending them apart costs one call each even when answered 304.

An answer is kept under the key of the call it stands for (``Read.key``) and given to that call
once, as its own answer: a failed subrequest raises the exception simple-salesforce raises for
that status (so it takes the same row of the retry table as the single call would), and a
successful one is checked like a single answer of its kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from funnelsync.connectors.decode import require
from funnelsync.connectors.salesforce.transport import check_shape

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
BATCH_HEADERS = {"Sforce-Query-Options": "batchSize=2000"}
Key = tuple[str, ...]

# simple-salesforce's exception for each status (simple_salesforce.util.exception_handler)
_ERRORS = {300: SalesforceMoreThanOneRecord, 400: SalesforceMalformedRequest,
           401: SalesforceExpiredSession, 403: SalesforceRefusedRequest,
           404: SalesforceResourceNotFound}


@dataclass(frozen=True)
class Read:
    """One GET as a composite subrequest: the key of the connector call it stands for, its
    path (under ``/services/data/vXX.X/``, or a whole ``nextRecordsUrl``) and headers."""

    key: Key
    path: str
    kind: str  # "query" or "describe": how its answer is checked
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_query(self) -> bool:
        return self.kind == "query"

    def url(self, version: str) -> str:
        if self.path.startswith("/services/"):
            return self.path
        return f"/services/data/v{version}/{self.path}"


@dataclass(frozen=True)
class Answer:
    """A subrequest's result, as the single call would have received it."""

    url: str
    kind: str
    status: int
    body: Any

    def value(self) -> Any:
        """The body; for a status of 300 or more, the exception the single call raises."""
        if self.status >= 300:
            error = _ERRORS.get(self.status, SalesforceGeneralError)
            raise error(self.url, self.status, self.kind, self.body)
        check_shape(self.kind, urlsplit(self.url).path, self.body, self.status)
        return self.body


def query_read(soql: str, *, deleted: bool, batch: bool) -> Read:
    """``query`` (or ``queryAll`` with ``deleted``) of ``soql``, keyed like the single call."""
    endpoint = "queryAll" if deleted else "query"
    return Read((endpoint, soql), f"{endpoint}/?{urlencode({'q': soql})}", "query",
                BATCH_HEADERS if batch else {})


def more_read(url: str) -> Read:
    """The next page of a query, at its ``nextRecordsUrl``."""
    return Read(("more", url), url, "query", BATCH_HEADERS)


def describe_read(sobject: str, if_modified_since: str | None = None) -> Read:
    """An object's describe; with an HTTP date, asked ``If-Modified-Since`` (304: unchanged)."""
    if if_modified_since is None:
        return Read(("describe", sobject), f"sobjects/{sobject}/describe", "describe")
    return Read(("describe", sobject, if_modified_since), f"sobjects/{sobject}/describe",
                "describe", {"If-Modified-Since": if_modified_since})


def global_describe_read() -> Read:
    """The list of the org's objects (``GET sobjects``)."""
    return Read(("sobjects",), "sobjects", "describe")


def packed(reads: Iterable[Read]) -> Iterator[list[Read]]:
    """``reads`` (each key once, in order) in composites of at most 25 subrequests and at most
    5 query operations each."""
    chunk: list[Read] = []
    seen: set[Key] = set()
    for read in reads:
        if read.key in seen:
            continue
        seen.add(read.key)
        queries = sum(r.is_query for r in chunk) + read.is_query
        if len(chunk) == MAX_SUBREQUESTS or queries > MAX_QUERIES:
            yield chunk
            chunk = []
        chunk.append(read)
    if chunk:
        yield chunk


def request_body(reads: Sequence[Read], version: str) -> dict[str, Any]:
    """The composite request for ``reads`` (reference ids ``r0``, ``r1``, ... in order)."""
    subrequests = []
    for n, read in enumerate(reads):
        sub: dict[str, Any] = {"method": "GET", "url": read.url(version), "referenceId": f"r{n}"}
        if read.headers:
            sub["httpHeaders"] = dict(read.headers)
        subrequests.append(sub)
    return {"allOrNone": False, "compositeRequest": subrequests}


def answers_of(reads: Sequence[Read], data: Any, version: str) -> dict[Key, Answer]:
    """Each read's answer in a composite response, by the read's key."""
    results = data.get("compositeResponse") if isinstance(data, dict) else None
    by_ref = {r.get("referenceId"): r for r in results or [] if isinstance(r, dict)}
    require(all(f"r{n}" in by_ref for n in range(len(reads))),
            "a composite answer needs one result per subrequest", 200)
    answers = {}
    for n, read in enumerate(reads):
        result = by_ref[f"r{n}"]
        status = result.get("httpStatusCode")
        require(isinstance(status, int), "a composite result needs an httpStatusCode", 200)
        answers[read.key] = Answer(read.url(version), read.kind, status, result.get("body"))
    return answers


__all__ = ["MAX_QUERIES", "MAX_SUBREQUESTS", "Answer", "Read", "answers_of", "describe_read",
           "global_describe_read", "more_read", "packed", "query_read", "request_body"]
