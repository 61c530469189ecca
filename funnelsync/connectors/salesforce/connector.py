"""Salesforce connector (simple-salesforce): complete, incremental, quota-frugal pulls.

- Auth: every mode of SalesforceConfig (salesforce_auth); http:// overrides via the transport.
- Reads: ``queryAll`` (deletes arrive as ``IsDeleted = true``), ordered by ``SystemModstamp, Id``
  and keyed by that pair: an incremental pull asks for the rows after the last key it stored
  (``SystemModstamp > t OR (SystemModstamp = t AND Id > 'id')``), so rows sharing the boundary
  time are not read again; ``batchSize=2000``, fields = wanted ∩ describe. Queries too long for a
  URL keep Id/cursor/relationship fields in the query and fetch the other fields per page by
  Id through ``POST composite/sobjects/X`` (the body has no length limit). Full loads above
  ``bulk_threshold`` rows go through Bulk API 2.0 (``queryAll`` job, CSV → REST-shaped dicts).
- Expired sessions: simple-salesforce logs in again by itself in login modes and repeats the
  same request; when that is not enough the retry policy logs in once more and repeats the
  same page. A bare session id cannot be renewed: AuthError saying what to configure.
- Folding: ``prefetch(plan)`` reads a run's first requests (metadata due, each stream's first
  page) ahead as Composite subrequests; every read call takes the answer read for it first
  (see ``connectors.salesforce.prefetch``).
- Every HTTP call (logins and describes too) is counted in ``usage.by_kind``; the run stops
  with RateLimited before it spends more than ``limits.salesforce_quota_share`` of the daily
  quota left at its start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from funnelsync.config.models import LimitsConfig, SalesforceConfig
from funnelsync.connectors.base import Kind, Page, Usage
from funnelsync.connectors.http import Action, Failure, RetryPolicy, classify
from funnelsync.connectors.paging import (
    BULK_PREFIX,
    AfterKey,
    BulkResume,
    SoqlPage,
    SoqlResume,
    batched,
    decode_salesforce_resume,
    follow,
    soql_pages,
)
from funnelsync.connectors.salesforce.auth import client_kwargs, host_rewrite, secrets_of
from funnelsync.connectors.salesforce.composite import (
    Answer,
    Key,
    describe_read,
    global_describe_read,
    more_read,
    query_read,
)
from funnelsync.connectors.salesforce.currencies import read_currencies
from funnelsync.connectors.salesforce.erase import SalesforceErase
from funnelsync.connectors.salesforce.locator import RestartBudget, restarting_pages
from funnelsync.connectors.salesforce.prefetch import (
    HISTORY,
    HISTORY_CURSOR,
    STREAM_OBJECTS,
    SalesforcePrefetch,
    http_date,
    owner_queries,
)
from funnelsync.connectors.salesforce.query import (
    CATALOG_QUERIES,
    CURSOR_FIELD,
    DEFAULT_FIELDS,
    OBJECTS,
    available_fields,
    build_select,
    csv_records,
    describe_summary,
    field_types,
    last_id,
    page_cursor,
    parse_sf_datetime,
    split_for_url,
)
from funnelsync.connectors.salesforce.transport import (
    QuotaBudget,
    Scrubber,
    failure_of,
    login_rejection,
    make_session,
)
from funnelsync.connectors.salesforce.write import SalesforceWrites
from funnelsync.errors import AuthError, RemoteError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIEVE_MAX_IDS = 2000
NOT_MODIFIED = 304


class SalesforceConnector(SalesforceWrites, SalesforceErase, SalesforcePrefetch):
    """The Connector protocol for Salesforce: kinds ``leads`` → Lead, ``deals`` → Opportunity."""

    source = "salesforce"

    def __init__(self, config: SalesforceConfig, limits: LimitsConfig | None = None, *,
                 session: requests.Session | None = None, retry: RetryPolicy | None = None,
                 fields: Mapping[str, list[str]] | None = None, bulk_poll_seconds: float = 2.0,
                 bulk_page_size: int = 10_000, lock_retries: int = 3) -> None:
        self.config = config
        self.limits = limits or LimitsConfig()
        self.usage = Usage()
        self.retry = retry or RetryPolicy.from_limits(self.limits)
        self.wanted = {**DEFAULT_FIELDS, **(fields or {})}
        self.bulk_poll_seconds = bulk_poll_seconds
        self.bulk_page_size = bulk_page_size
        self.lock_retries = lock_retries
        self.scrub = Scrubber()
        self.scrub.add(*secrets_of(config))
        self.budget = QuotaBudget(self.limits.salesforce_quota_share, self.usage)
        self.session, self.transport = make_session(host_rewrite(config), self.usage,
                                                    self.budget, session)
        self._client: Salesforce | None = None
        self._describes: dict[str, dict[str, Any]] = {}
        self._prefetched: dict[Key, Answer] = {}  # read ahead (``prefetch``), given out once
        self._restarts = RestartBudget()  # queries asked again after a gone locator

    def __repr__(self) -> str:
        return f"SalesforceConnector(mode={self.config.auth_mode()!r}, usage={self.usage})"

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], describe: str,
              decide: Callable[[int | None, str | None, BaseException | None], Action]
              = classify) -> T:
        return self.retry.call(fn, describe=f"Salesforce {describe}", classify=decide,
                               failure_of=self._failure_of, on_reauth=self._reauth,
                               on_retry=self._count_retry)

    def _failure_of(self, exc: BaseException) -> Failure | None:
        return failure_of(exc, self.scrub, self.transport.last_login_status)

    def _count_retry(self, failure: Failure, attempt: int, wait: float) -> None:
        self.usage.retries += 1

    def _sf(self) -> Salesforce:
        if self._client is None:
            self._client = self._login()
        return self._client

    def _login(self) -> Salesforce:
        mode = self.config.auth_mode()
        kwargs = client_kwargs(self.config)
        try:
            client = self.retry.call(lambda: Salesforce(session=self.session, **kwargs),
                                     describe=f"Salesforce login ({mode})",
                                     on_retry=self._count_retry, failure_of=self._failure_of)
        except SalesforceAuthenticationFailed as exc:
            code, message = login_rejection(exc)
            raise AuthError(f"Salesforce login ({mode}) was rejected: {code}: "
                            f"{self.scrub(message)}",
                            hint="check the salesforce credentials in the configuration "
                                 "(and the security token / connected app)") from None
        self.scrub.add(client.session_id)
        return client

    def _reauth(self) -> None:
        if self.config.auth_mode() == "session":
            raise AuthError("the Salesforce session expired and a bare session_id cannot be "
                            "renewed",
                            hint="configure credentials that can log in again: username + "
                                 "password + security_token, consumer_key + consumer_secret, "
                                 "or a JWT privatekey_file")
        log.info("Salesforce session expired; logging in again")
        self._client = self._login()

    def _describe(self, sobject: str) -> dict[str, Any]:
        if sobject not in self._describes:
            read = describe_read(sobject)
            self._describes[sobject] = self._call(
                self._served(read.key, lambda: self._sf().restful(read.path)),
                f"describe {sobject}") or {}
        return self._describes[sobject]

    def describe_changed(self, sobject: str, since: datetime) -> dict[str, Any] | None:
        """The describe of ``sobject`` if its metadata changed after ``since``, else None: one
        conditional call (``If-Modified-Since``; Salesforce answers ``304 Not Modified``)."""
        read = describe_read(sobject, http_date(since))
        served = self._served(read.key, lambda: self._sf().restful(read.path,
                                                                   headers=read.headers))

        def fetch() -> dict[str, Any] | None:
            try:
                return served() or {}
            except SalesforceError as exc:  # simple-salesforce raises on any status >= 300
                if exc.status == NOT_MODIFIED:
                    return None
                raise

        found = self._call(fetch, f"describe {sobject} if modified")
        if found is not None:
            self._describes[sobject] = found
        return found

    def use_describe(self, sobject: str, describe: Mapping[str, Any]) -> None:
        """Take ``describe`` (e.g. kept from an earlier run) as the describe of ``sobject``."""
        self._describes[sobject] = dict(describe)

    def described(self) -> dict[str, dict[str, Any]]:
        """Every describe this connector has read or been given, reduced to what its reads use
        (see ``describe_summary``)."""
        return {name: describe_summary(d) for name, d in self._describes.items()}

    def fields_for(self, sobject: str) -> list[str]:
        """The wanted fields of ``sobject`` that this org has (describe is read once)."""
        return available_fields(self.wanted.get(sobject, ["Id"]), self._describe(sobject))

    def _query(self, soql: str, what: str) -> dict[str, Any]:
        read = query_read(soql, deleted=True, batch=True)
        return self._call(self._served(read.key, lambda: self._sf().query(
            soql, include_deleted=True, headers=read.headers)), f"query {what}")

    def _query_plain(self, soql: str, what: str) -> dict[str, Any]:
        """``query`` without deleted rows and without the batch-size hint."""
        key = query_read(soql, deleted=False, batch=False).key
        return self._call(self._served(key, lambda: self._sf().query(soql)), f"query {what}")

    def _query_more(self, url: str, what: str) -> dict[str, Any]:
        read = more_read(url)
        return self._call(self._served(read.key, lambda: self._sf().query_more(
            url, identifier_is_url=True, headers=read.headers)), f"query {what} (page {url})")

    def _soql_pages(self, what: str, first: Callable[[], dict[str, Any]],
                    resume: SoqlResume | None = None) -> Iterator[SoqlPage]:
        """Pages of one query: ``first()`` (or the page at ``resume``), then its next pages."""
        return soql_pages(first, lambda url: self._query_more(url, what),
                          f"Salesforce query {what}", resume)

    # -- reads -------------------------------------------------------------------------------

    def iter_pages(self, kind: Kind, since: datetime | None = None,
                   resume: str | None = None) -> Iterator[Page]:
        """Pages of raw records of ``kind``, deletions included (``IsDeleted``): those after
        ``resume`` (a ``Page.resume`` or a stored :class:`AfterKey`), else those modified at or
        after ``since``, else all."""
        sobject = OBJECTS[kind]
        fields = self.fields_for(sobject)
        position = decode_salesforce_resume(resume)
        start = position if isinstance(position, AfterKey) else _closed_start(since)
        if isinstance(position, BulkResume):
            yield from self._bulk_pages(sobject, fields, position)
        elif isinstance(position, SoqlResume):
            yield from self._rest_pages(sobject, start, position)
        else:
            # The first REST page says how many rows there are: a large full load switches to
            # Bulk 2.0 (that page is the only call spent, as a COUNT() would be); otherwise the
            # pull simply goes on from it.
            first = self._query(self.first_soql(sobject, start), sobject)
            if start is None and int(first.get("totalSize") or 0) > self.config.bulk_threshold:
                yield from self._bulk_pages(sobject, fields, None)
            else:
                yield from self._rest_pages(sobject, start, None, first)

    def iter_records(self, kind: Kind, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(kind, since):
            yield from page.records

    def _rest_pages(self, sobject: str, start: AfterKey | None, resume: SoqlResume | None,
                    first: dict[str, Any] | None = None) -> Iterator[Page]:
        """A keyset query's pages from ``start`` (or its page at ``resume``; ``first``: its first
        answer, already read), asked again after the last page handed over whenever its next
        page's locator is gone (see ``connectors.salesforce.locator``)."""
        answer = first

        def pages_from(start: AfterKey | None, resume: SoqlResume | None) -> Iterator[Page]:
            nonlocal answer
            read, answer = answer, None  # the first answer belongs to the first query only
            return self._key_pages(sobject, start, resume, read)

        return restarting_pages(pages_from, start, resume,
                                partial(self._restarts.spend, _stream_of(sobject)))

    def _key_pages(self, sobject: str, start: AfterKey | None, resume: SoqlResume | None,
                   first: dict[str, Any] | None) -> Iterator[Page]:
        """One keyset query's pages, each with the key (cursor, Id) of its last row."""
        history = sobject == HISTORY
        fields = self.fields_for(sobject)
        overflow = [] if history else split_for_url(fields, sobject, start)[1]
        cursor = HISTORY_CURSOR if history else CURSOR_FIELD
        soql = self.first_soql(sobject, start)

        def query() -> dict[str, Any]:
            return first or self._query(soql, sobject)

        for page in self._soql_pages(sobject, query, resume):
            self._add_overflow(sobject, page.records, overflow)
            self._count_records(page.records)
            yield Page(page.records, cursor=page_cursor(page.records, cursor),
                       resume=page.resume, last_id=last_id(page.records))

    def _count_records(self, records: list[dict[str, Any]]) -> None:
        self.usage.records += len(records)
        self.usage.received += len(records)

    def _add_overflow(self, sobject: str, records: list[dict[str, Any]],
                      overflow: list[str]) -> None:
        """Fill the fields that did not fit in the query URL, by Id, via sObject Collections."""
        if not overflow:
            return
        live = [r["Id"] for r in records if not r.get("IsDeleted")]
        found: dict[str, dict[str, Any]] = {}
        for ids in batched(live, RETRIEVE_MAX_IDS):
            rows = self._call(lambda ids=ids: self._sf().restful(
                f"composite/sobjects/{sobject}", method="POST",
                json={"ids": ids, "fields": overflow}), f"retrieve {sobject} by id") or []
            found.update({row["Id"]: row for row in rows if row})
        for record in records:
            extra = found.get(record["Id"], {})
            record.update({name: extra.get(name) for name in overflow})

    # -- Bulk API 2.0 --------------------------------------------------------------------------

    def _bulk(self, sobject: str) -> _Bulk2Client:
        sf = self._sf()
        return _Bulk2Client(sobject, sf.bulk2_url, dict(sf.headers), sf.session)

    def _bulk_pages(self, sobject: str, fields: list[str],
                    resume: BulkResume | None) -> Iterator[Page]:
        """Full load through a Bulk 2.0 ``queryAll`` job. Its rows are unordered, so pages carry
        no cursor except the last, which carries the highest SystemModstamp of the whole load."""
        start = resume or BulkResume(self._start_bulk(sobject, build_select(fields, sobject,
                                                                            None)))
        types = field_types(self._describe(sobject))
        highest: datetime | None = None
        call = f"Salesforce Bulk 2.0 results {start.job_id}"
        for text, following in follow(partial(self._bulk_results, sobject), call, start):
            records = list(csv_records(text, sobject, types, self.config.api_version))
            highest = max(filter(None, [highest, page_cursor(records)]), default=None)
            self._count_records(records)
            yield Page(records, cursor=None if following else highest,
                       resume=following.encode() if following else None)

    def _bulk_results(self, sobject: str, position: BulkResume) -> tuple[str, BulkResume | None]:
        """One page of a job's CSV results, and the position of the next (None: the last)."""
        result = self._call(lambda: self._bulk(sobject).get_query_results(
            position.job_id, position.locator or "", max_records=self.bulk_page_size),
            f"Bulk 2.0 results {position.job_id}")
        locator = result["locator"]
        return result["records"], BulkResume(position.job_id, locator) if locator else None

    def _start_bulk(self, sobject: str, soql: str) -> str:
        # pages of a bulk load are unordered anyway (see _bulk_pages); sorting millions of
        # rows server-side would only slow the job down
        soql = soql.split(" ORDER BY ")[0]
        job = self._call(lambda: self._bulk(sobject).create_job(Operation.query_all, soql),
                         f"Bulk 2.0 job for {sobject}")
        job_id = str(job["id"])
        self._wait_for_job(sobject, job_id)
        return job_id

    def _wait_for_job(self, sobject: str, job_id: str) -> None:
        """Poll with the policy's (injectable) sleep; a failed job is an error, never a
        silently empty result."""
        delay = self.bulk_poll_seconds
        while True:
            info = self._call(lambda: self._bulk(sobject).get_job(job_id, True),
                              f"Bulk 2.0 job {job_id} status")
            state = info.get("state")
            if state == "JobComplete":
                return
            if state in ("Failed", "Aborted"):
                raise RemoteError(f"Salesforce Bulk 2.0 job {job_id} for {sobject} ended "
                                  f"{state}: {info.get('errorMessage') or 'no message'}",
                                  code=f"BULK_{str(state).upper()}",
                                  hint="run again; a full load of this size needs Bulk API "
                                       "permission for the integration user")
            self.retry.sleep(delay)
            delay = min(delay * 1.5, 30.0)

    # -- stage history and catalog ---------------------------------------------------------

    def iter_stage_changes(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """OpportunityHistory rows (stage changes) created at or after ``since``."""
        for page in self.iter_stage_change_pages(since):
            yield from page.records

    def iter_stage_change_pages(self, since: datetime | None = None,
                                resume: str | None = None) -> Iterator[Page]:
        """OpportunityHistory rows a page at a time, ordered and keyed by (CreatedDate, Id):
        those after ``resume`` (a stored :class:`AfterKey`), else those created at or after
        ``since``, else all. History rows never change once written, so CreatedDate is their
        modification time."""
        position = decode_salesforce_resume(resume)
        start = position if isinstance(position, AfterKey) else _closed_start(since)
        more = position if isinstance(position, SoqlResume) else None
        return self._rest_pages(HISTORY, start, more)

    def stage_catalog(self) -> list[dict[str, Any]]:
        """OpportunityStage and LeadStatus rows, raw (each has ``attributes.type``)."""
        return self._query_rows(CATALOG_QUERIES)

    def users(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every User (active or not, with its manager) and every lead queue, raw; with
        ``since``, only those whose ``SystemModstamp`` is at or after it."""
        return self._query_rows(owner_queries(since))

    def _query_rows(self, queries: Sequence[str]) -> list[dict[str, Any]]:
        """Every row of a few small queries (catalogs, users), following pagination."""
        rows: list[dict[str, Any]] = []
        for soql in queries:
            name = soql.split(" FROM ")[1].split()[0]
            for page in self._soql_pages(name, partial(self._query_plain, soql, name)):
                rows += page.records
        return rows

    def org_currencies(self) -> dict[str, list[dict[str, Any]]] | None:
        """CurrencyType rows and (advanced currency management) DatedConversionRate rows, raw;
        None for a single-currency org (see ``connectors.salesforce.currencies``)."""
        return read_currencies(self._describe("Opportunity"), self._global_describe,
                               self._query_rows)

    def _global_describe(self) -> dict[str, Any]:
        return self._call(self._served(global_describe_read().key, lambda: self._sf().describe()),
                          "list objects") or {}

    # -- org metadata (funnelsync doctor) ---------------------------------------------------

    def api_versions(self) -> list[str]:
        """REST API versions the org serves (``GET /services/data/``), e.g. ``["59.0"]``."""
        def fetch() -> Any:
            sf = self._sf()
            root = sf.base_url.split("/services/data/")[0]
            return sf._call_salesforce("GET", f"{root}/services/data/").json()

        return [str(v.get("version")) for v in self._call(fetch, "list API versions") or []]

    def org_limits(self) -> dict[str, Any]:
        """``GET limits``: ``{"DailyApiRequests": {"Max": ..., "Remaining": ...}, ...}``."""
        return self._call(lambda: self._sf().limits(), "read org limits") or {}

    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe of one object (read once per connector, unless given by
        ``use_describe``)."""
        return self._describe(sobject)

    def close(self) -> None:
        self.session.close()


def _stream_of(sobject: str) -> str:
    """How errors name the stream reading ``sobject``: ``deals (Opportunity)``."""
    names = {obj: stream for stream, obj in STREAM_OBJECTS.items()}
    return f"{names.get(sobject, sobject)} ({sobject})"


def _closed_start(since: datetime | None) -> AfterKey | None:
    """Every row modified at or after ``since`` (None: every row)."""
    return AfterKey(since) if since is not None else None


__all__ = ["BULK_PREFIX", "SalesforceConnector", "parse_sf_datetime"]
