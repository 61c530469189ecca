"""A run's first reads folded into Composite requests (see ``connectors.salesforce.composite``).

Before a pull, the job says what it is about to read (``ReadPlan``): the metadata that is due
and where each stream starts. The connector builds the very requests its own calls would make
and sends them as composite subrequests, in two rounds:

1. every read whose request is known now: describes (plain, or ``If-Modified-Since`` for those
   given from the cache), the list of objects, the stage catalogs, users and queues, the
   currency tables when the Opportunity describe is known to carry a currency, and the first
   page of each stream whose describe is known;
2. what the first round's describes decide: the currency tables, and the first pages of the
   streams whose fields came with those describes.

Each round is packed into composites of at most 25 subrequests and 5 queries; a composite of
one subrequest is not sent (the call itself costs the same). Nothing read ahead changes what
the pull does: each call looks for an answer under its own key first, and a request built
differently (a describe that changed the fields) simply finds none and goes to Salesforce.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any, TypeVar

from funnelsync.connectors.base import ReadPlan
from funnelsync.connectors.paging import AfterKey, SoqlResume, decode_salesforce_resume
from funnelsync.connectors.salesforce.composite import (
    Answer,
    Key,
    Read,
    answers_of,
    describe_read,
    global_describe_read,
    more_read,
    packed,
    query_read,
    request_body,
)
from funnelsync.connectors.salesforce.currencies import (
    CURRENCY_TYPES_SOQL,
    DATED_RATES_SOQL,
    has_dated_rates,
    is_multi_currency,
)
from funnelsync.connectors.salesforce.query import (
    CATALOG_QUERIES,
    OBJECTS,
    build_select,
    soql_instant,
    split_for_url,
)

T = TypeVar("T")
HISTORY = "OpportunityHistory"
HISTORY_CURSOR = "CreatedDate"
OPPORTUNITY = "Opportunity"
OWNER_QUERIES = ("SELECT Id, Name, Email, IsActive, ManagerId FROM User",
                 "SELECT Id, Name FROM Group WHERE Type = 'Queue'")
STREAM_OBJECTS = {**OBJECTS, "stage_changes": HISTORY}


def http_date(since: datetime) -> str:
    """``since`` as an HTTP date (``If-Modified-Since``)."""
    return format_datetime(since, usegmt=True)


def owner_queries(since: datetime | None) -> tuple[str, str]:
    """The user and queue queries; with ``since``, only rows changed at or after it."""
    if since is None:
        return OWNER_QUERIES
    changed = f"SystemModstamp >= {soql_instant(since)}"
    users, queues = OWNER_QUERIES
    return f"{users} WHERE {changed}", f"{queues} AND {changed}"


class SalesforcePrefetch:
    """The connector's side of folding: reads ahead, and answers handed to the calls."""

    _describes: dict[str, dict[str, Any]]
    _prefetched: dict[Key, Answer]
    _call: Callable[..., Any]
    _sf: Callable[[], Any]
    fields_for: Callable[[str], list[str]]
    _describe: Callable[[str], dict[str, Any]]

    def _served(self, key: Key, single: Callable[[], T]) -> Callable[[], T]:
        """One call's attempts: the answer read ahead for ``key`` first (its error raised as the
        single call raises it), the single call on any later attempt or when none was read."""
        answer = self._prefetched.pop(key, None)

        def attempt() -> T:
            nonlocal answer
            if answer is None:
                return single()
            found, answer = answer, None
            return found.value()  # type: ignore[no-any-return]

        return attempt

    def prefetch(self, plan: ReadPlan) -> None:
        """Read ahead what ``plan`` names, folded into as few Composite calls as Salesforce
        allows (see the module docstring)."""
        known = set(self._describes)
        rates_now = OPPORTUNITY in known  # whether the org has currencies is known already
        first = [*self._describe_reads(plan), *self._metadata_reads(plan),
                 *(self._rate_reads(plan) if rates_now else []),
                 *self._page_reads(plan, known)]
        self._fold(first)
        second = [*([] if rates_now else self._rate_reads(plan)),
                  *self._page_reads(plan, set(STREAM_OBJECTS.values()) - known)]
        self._fold(second)

    def _fold(self, reads: list[Read]) -> None:
        for chunk in packed(reads):
            if len(chunk) < 2:
                continue  # one subrequest: the call itself costs the same
            version = self._sf().sf_version
            answers = self._call(lambda chunk=chunk, version=version: answers_of(
                chunk, self._sf().restful("composite", method="POST",
                                          json=request_body(chunk, version)), version),
                f"composite read ({len(chunk)} subrequests)")
            self._prefetched.update(answers)

    def _describe_reads(self, plan: ReadPlan) -> list[Read]:
        reads = []
        for sobject in STREAM_OBJECTS.values():
            if sobject not in self._describes:
                reads.append(describe_read(sobject))
            elif plan.describes_since is not None:
                reads.append(describe_read(sobject, http_date(plan.describes_since)))
        return reads

    def _metadata_reads(self, plan: ReadPlan) -> list[Read]:
        reads = [query_read(q, deleted=False, batch=False) for q in CATALOG_QUERIES
                 if plan.catalog]
        if plan.owners:
            reads += [query_read(q, deleted=False, batch=False)
                      for q in owner_queries(plan.owners_since)]
        if plan.rates:
            reads.append(global_describe_read())
        return reads

    def _rate_reads(self, plan: ReadPlan) -> list[Read]:
        """CurrencyType and DatedConversionRate when the org has a currency on opportunities.
        Before the list of objects is read, DatedConversionRate is asked for in any case (an
        org without it answers that subrequest with an error, and the answer is not used)."""
        if not plan.rates or not is_multi_currency(self._describe(OPPORTUNITY)):
            return []
        reads = [query_read(CURRENCY_TYPES_SOQL, deleted=False, batch=False)]
        listed = self._prefetched.get(("sobjects",))
        if listed is None or listed.status != 200 or has_dated_rates(listed.body or {}):
            reads.append(query_read(DATED_RATES_SOQL, deleted=False, batch=False))
        return reads

    def _page_reads(self, plan: ReadPlan, objects: set[str]) -> list[Read]:
        """The first request of each stream reading one of ``objects``."""
        reads = []
        for stream, (since, resume) in plan.starts.items():
            sobject = STREAM_OBJECTS.get(stream)
            if sobject in objects:
                read = self._first_page_read(sobject, since, resume)  # type: ignore[arg-type]
                reads += [read] if read is not None else []
        return reads

    def _first_page_read(self, sobject: str, since: datetime | None,
                         resume: str | None) -> Read | None:
        position = decode_salesforce_resume(resume)
        if isinstance(position, SoqlResume):
            return more_read(position.url)
        if position is not None and not isinstance(position, AfterKey):
            return None  # a Bulk 2.0 job's results: not a REST read
        start = position if isinstance(position, AfterKey) else (
            AfterKey(since) if since is not None else None)
        return query_read(self.first_soql(sobject, start), deleted=True, batch=True)

    def first_soql(self, sobject: str, start: AfterKey | None) -> str:
        """The query of a stream's first page (its fields as the describe allows)."""
        fields = self.fields_for(sobject)
        if sobject == HISTORY:
            return build_select(fields, HISTORY, start, cursor=HISTORY_CURSOR)
        return build_select(split_for_url(fields, sobject, start)[0], sobject, start)


__all__ = ["OWNER_QUERIES", "SalesforcePrefetch", "http_date", "owner_queries"]
