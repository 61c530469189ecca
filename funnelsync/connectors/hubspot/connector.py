"""HubSpot connector: contacts (``leads``) and deals through hubspot-api-client.

Reading
    * Full load (``since=None``): the list endpoints, 100 a page, ``after`` paging, only the
      needed properties; then the same list with ``archived=true``, yielded as deletions (the raw
      dicts keep ``"archived": true``). Lists are unordered: ``Page.cursor`` is None.
    * Incremental (``since`` given, or a stored key as ``resume``): search on the modification
      property (contacts: ``lastmodifieddate``, deals: ``hs_lastmodifieddate``) for the records
      after the key (modification time, ``hs_object_id``) - ``>= since`` when no id is known -,
      ascending, 200 a page, keyset-paged so the 10,000-result cap is never reached (see
      :mod:`funnelsync.connectors.hubspot.search`). ``Page.cursor`` and ``Page.last_id`` are
      the key after the page.
      Then deletions: search cannot see archived records, so the archived list is read too and
      only records with ``archivedAt >= since - 10 min`` are yielded (``since``: the key's
      time). Cost: ceil(archived / 100) calls per kind and run, where "archived" is what
      HubSpot still keeps (about 90 days).
      ``archived_on_incremental=False`` skips this: the sync job's connector does, and reads
      deletions apart only when they can have happened, with the two calls below.
    * :meth:`newest`: one search call, no filter, newest first, one result: the count of live
      records (``total``) and the newest one's key. :meth:`iter_archived`: the whole archived
      list as deletions (see :mod:`funnelsync.sync.deletions` for when it is read).
    * ``Page.resume`` continues after the page: ``live:<after>``, ``archived:<after>``,
      ``search:...`` or ``end`` (nothing left); a stored ``key:...`` (:class:`AfterKey`)
      starts an incremental pull after that key.
Stage history
    Deals carry ``hs_v2_date_entered_<stageId>`` for every stage they entered; the connector
    requests it for every stage of the catalog, and :meth:`stage_changes_of` turns one deal into
    ``{"dealId", "pipeline", "stageId", "enteredAt"}`` rows. A sync job derives these from the
    deal pages it already has; :meth:`iter_stage_changes` (which reads the deals again) is there
    for callers that want stage changes alone.
Writing
    Batch update (100 a call; 207 rows mapped from ``errors[].context.ids``). Tasks (create,
    find, read, update, complete) live in :mod:`funnelsync.connectors.hubspot.tasks`; a create
    is not repeated after an ambiguous failure, only after 429 or a refused connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from funnelsync.config.models import HubSpotConfig, LimitsConfig
from funnelsync.connectors.base import (
    Kind,
    Newest,
    Page,
    RecordUpdate,
    RowResult,
    Usage,
    flatten_pages,
)
from funnelsync.connectors.http import RetryPolicy
from funnelsync.connectors.hubspot.erase import HubSpotErase
from funnelsync.connectors.hubspot.search import (
    SearchState,
    Step,
    advance,
    from_epoch_ms,
    newest_body,
    parse_stamp,
    search_body,
    stamp_of,
    to_epoch_ms,
)
from funnelsync.connectors.hubspot.tasks import HubSpotTasks
from funnelsync.connectors.hubspot.transport import RAW, HubSpotTransport
from funnelsync.connectors.hubspot.writes import (
    batch_results,
    chunk_updates,
    create_classify,
    failed_rows,
    property_definition,
    update_body,
)
from funnelsync.connectors.paging import (
    AfterKey,
    AfterPage,
    Finished,
    ListResume,
    after_pages,
    decode_hubspot_resume,
    follow,
)
from funnelsync.errors import RemoteError

OBJECTS: dict[str, str] = {"leads": "contacts", "deals": "deals"}
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
LIST_LIMIT = 100
STAGE_PREFIX = "hs_v2_date_entered_"
ARCHIVE_LOOKBACK = timedelta(minutes=10)
LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                    "opportunity", "customer", "evangelist", "other")
DEFAULT_PROPERTIES: dict[str, list[str]] = {
    "leads": ["email", "firstname", "lastname", "company", "jobtitle", "industry",
              "numemployees", "country", "hs_analytics_source", "lifecyclestage",
              "hs_lead_status", "hs_email_open", "hs_email_click", "num_conversion_events",
              "hs_analytics_num_page_views", "hubspot_owner_id", "notes_last_updated",
              "funnel_stage", "funnel_score", *(STAGE_PREFIX + s for s in LIFECYCLE_STAGES)],
    "deals": ["dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate",
              "hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability",
              "hubspot_owner_id", "notes_last_updated", "funnel_stage"],
}


def stage_changes_of(deal: dict[str, Any],
                     stage_pipeline: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Stage-entry rows of one raw deal, oldest first (none for an archived deal)."""
    if deal.get("archived"):
        return []
    props = deal.get("properties") or {}
    rows = [{"dealId": str(deal["id"]),
             "pipeline": (stage_pipeline or {}).get(key[len(STAGE_PREFIX):], props.get("pipeline")),
             "stageId": key[len(STAGE_PREFIX):], "enteredAt": value}
            for key, value in props.items() if key.startswith(STAGE_PREFIX) and value]
    return sorted(rows, key=lambda r: parse_stamp(r["enteredAt"]))


class HubSpotConnector(HubSpotTasks, HubSpotErase):
    """The :class:`~funnelsync.connectors.base.Connector` for HubSpot (see module docstring)."""

    source = "hubspot"

    def __init__(self, config: HubSpotConfig, limits: LimitsConfig, *,
                 properties: dict[str, list[str]] | None = None,
                 retry: RetryPolicy | None = None, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 archived_on_incremental: bool = True) -> None:
        self.config = config
        self.usage = Usage()
        self._http = HubSpotTransport(config, limits, usage=self.usage, retry=retry,
                                      clock=clock, sleep=sleep)
        self._wanted = {k: list(v) for k, v in (properties or {}).items()}
        self._props: dict[str, list[str]] = {}
        self._catalog: list[dict[str, Any]] | None = None
        self.archived_on_incremental = archived_on_incremental

    def __repr__(self) -> str:
        return f"HubSpotConnector(host={self.config.host!r}, mode={self._http.auth.mode!r})"

    @property
    def limiter(self) -> Any:
        return self._http.limiter

    # ---- reading -------------------------------------------------------------------------

    def iter_pages(self, kind: Kind, since: datetime | None = None,
                   resume: str | None = None) -> Iterator[Page]:
        """Pages of raw records; ``resume`` (a ``Page.resume``, or a stored key) continues
        after that page."""
        object_type = OBJECTS[kind]
        props = self.properties_for(kind)
        position = decode_hubspot_resume(resume)
        if isinstance(position, AfterKey):
            since, position = position.stamp, SearchState.start(position.stamp, position.id)
        position = position or (
            SearchState.start(since) if since is not None else ListResume(archived=False))
        if isinstance(position, SearchState):
            yield from self._search_pages(object_type, props, position)
            if not self.archived_on_incremental:
                return
            position = ListResume(archived=True)
        elif isinstance(position, ListResume) and not position.archived:
            yield from self._list_pages(object_type, props, position)
            position = ListResume(archived=True)
        if isinstance(position, ListResume):
            floor = to_epoch_ms(since - ARCHIVE_LOOKBACK) if since is not None else None
            yield from self._list_pages(object_type, props, position, floor=floor)

    def iter_records(self, kind: Kind, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        return flatten_pages(self.iter_pages(kind, since))

    def _list_pages(self, object_type: str, props: list[str], start: ListResume,
                    floor: int | None = None) -> Iterator[Page]:
        """One list (live or archived) from ``start``; archived records come as deletions,
        only those archived since ``floor`` when it is given."""
        api = self._http.api(f"{object_type}.basic")
        archived = start.archived
        for page in self._after_pages("list", f"list HubSpot {object_type} ({start.phase})",
                                      api.get_page, start.after, properties=[",".join(props)],
                                      archived=str(archived).lower()):
            records = _mark_archived(page.results, floor) if archived else page.results
            following = (ListResume(archived, page.after) if page.after
                         else Finished() if archived else ListResume(archived=True))
            self.usage.received += len(page.results)
            self.usage.records += len(records)
            yield Page(records=records, cursor=None, resume=following.encode())

    def _after_pages(self, kind: str, describe: str, method: Callable[..., Any],
                     after: str | None = None, **params: Any) -> Iterator[AfterPage]:
        """Pages of one list call, ``LIST_LIMIT`` a page, from ``after`` on."""
        def fetch(position: str | None) -> dict[str, Any]:
            return self._http.call(kind, describe, partial(
                method, limit=LIST_LIMIT, after=position, **params, **RAW))[1]

        return after_pages(fetch, describe, after)

    def _search_pages(self, object_type: str, props: list[str],
                      start: SearchState) -> Iterator[Page]:
        step = partial(self._search_step, object_type, props)
        for page, state in follow(step, f"search HubSpot {object_type}", start):
            if not page.records:
                continue  # nothing complete yet (a full page on one time), or nothing new
            following = state or (ListResume(archived=True) if self.archived_on_incremental
                                  else Finished())
            self.usage.records += len(page.records)
            yield replace(page, resume=following.encode())

    def _search_step(self, object_type: str, props: list[str],
                     state: SearchState) -> tuple[Page, SearchState | None]:
        """One search call: the records it completes, the key after them (``cursor``,
        ``last_id``) and the next state."""
        modified = MODIFIED[object_type]
        api = self._http.api(f"{object_type}.search")
        fetch = partial(api.do_search, search_body(state, modified, props), **RAW)
        results = self._http.call("search", f"search HubSpot {object_type}", fetch)[1].get(
            "results") or []
        self.usage.received += len(results)
        step: Step = advance(state, results, modified)
        page = Page(step.records, from_epoch_ms(step.ts), last_id=str(step.last_id or ""))
        return page, step.following

    def newest(self, kind: Kind) -> Newest:
        """One search call, no filter, newest first, one result: how many live ``kind``
        records HubSpot counts and the key of the most recently modified one. Search is
        eventually consistent: both may lag the CRM by its indexing delay."""
        object_type = OBJECTS[kind]
        modified = MODIFIED[object_type]
        api = self._http.api(f"{object_type}.search")
        _, body = self._http.call("probe", f"count HubSpot {object_type}",
                                  partial(api.do_search, newest_body(modified), **RAW))
        results = body.get("results") or []
        self.usage.received += len(results)
        if not results:
            return Newest(total=body["total"])
        top = results[0]
        return Newest(body["total"], from_epoch_ms(stamp_of(top, modified)), str(top["id"]))

    def iter_archived(self, kind: Kind) -> Iterator[Page]:
        """Every archived ``kind`` record HubSpot keeps, as deletions, 100 a page (the list is
        unordered and cannot be asked for only the recent ones)."""
        return self._list_pages(OBJECTS[kind], self.properties_for(kind),
                                ListResume(archived=True))

    def properties_for(self, kind: Kind) -> list[str]:
        """The properties requested for ``kind``: the wanted ones plus what the pull needs."""
        if kind not in self._props:
            object_type = OBJECTS[kind]
            needed = [MODIFIED[object_type], "hs_object_id", "createdate"]
            if kind == "deals":
                needed += ["dealstage", "pipeline", *self.stage_entry_properties()]
            wanted = self._wanted.get(kind) or DEFAULT_PROPERTIES[kind]
            self._props[kind] = list(dict.fromkeys([*wanted, *needed]))
        return list(self._props[kind])

    # ---- catalog and stage history ---------------------------------------------------------

    def stage_catalog(self) -> list[dict[str, Any]]:
        """Deal pipelines as ``GET /crm/v3/pipelines/deals`` returns them (``results``),
        only those in ``config.pipelines`` when given. Each call reads them; deal reads then
        use what was read last (see ``use_catalog``)."""
        api = self._http.api("pipelines")
        _, body = self._http.call("pipelines", "read HubSpot deal pipelines",
                                  partial(api.get_all, "deals", **RAW))
        wanted = self.config.pipelines
        pipelines = [p for p in body.get("results") or []
                     if wanted is None or str(p.get("id")) in wanted]
        self.use_catalog(pipelines)
        return list(pipelines)

    def use_catalog(self, pipelines: list[dict[str, Any]]) -> None:
        """Take ``pipelines`` (as ``stage_catalog`` returns them, e.g. kept from an earlier
        run) as the catalog deal reads use: each stage's entry-time property is asked for."""
        self._catalog = list(pipelines)
        self._props.pop("deals", None)

    def _pipelines(self) -> list[dict[str, Any]]:
        """The catalog deal reads use: the one given or read last, else read now."""
        if self._catalog is None:
            self.stage_catalog()
        return list(self._catalog or [])

    def account_currencies(self) -> dict[str, Any]:
        """The account's company currency and exchange rates as the settings API returns
        them: ``{"company": GET .../company-currency, "rates": GET .../exchange-rates
        results}``."""
        client = self._http.api("pipelines").api_client
        out: dict[str, Any] = {}
        for key, path in (("company", "/settings/v3/currencies/company-currency"),
                          ("rates", "/settings/v3/currencies/exchange-rates")):
            _, body = self._http.call("settings", "read HubSpot account currencies", partial(
                client.call_api, path, "GET", {}, [], {"Accept": "application/json"},
                auth_settings=["oauth2"], **RAW))
            out[key] = body if key == "company" else body.get("results") or []
        return out

    def stage_entry_properties(self) -> list[str]:
        return [STAGE_PREFIX + str(s["id"]) for p in self._pipelines()
                for s in p.get("stages") or []]

    def stage_changes_of(self, deal: dict[str, Any]) -> list[dict[str, Any]]:
        """Stage-entry rows of one raw deal, each stage attributed to its own pipeline."""
        owner = {str(s["id"]): str(p["id"]) for p in self._pipelines()
                 for s in p.get("stages") or []}
        return stage_changes_of(deal, owner)

    def iter_stage_changes(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Stage-entry rows of every deal modified since ``since`` (reads the deals)."""
        return flatten_pages(self.iter_stage_change_pages(since))

    def iter_stage_change_pages(self, since: datetime | None = None,
                                resume: str | None = None) -> Iterator[Page]:
        """Stage-entry rows of the deals of each deal page, with that page's position."""
        for page in self.iter_pages("deals", since, resume):
            rows = [row for deal in page.records for row in self.stage_changes_of(deal)]
            yield replace(page, records=rows)

    # ---- writing ---------------------------------------------------------------------------

    def push_updates(self, changes: Sequence[RecordUpdate]) -> list[RowResult]:
        """Batch updates, 100 a call; one result per change, in order."""
        out: list[RowResult | None] = [None] * len(changes)
        for kind in OBJECTS:
            indexes = [i for i, c in enumerate(changes) if c.kind == kind]
            subset = [changes[i] for i in indexes]
            for chunk in chunk_updates(subset):
                rows = self._update_batch(OBJECTS[kind], [subset[i] for i in chunk])
                for pos, row in zip(chunk, rows, strict=True):
                    out[indexes[pos]] = row
        return [r for r in out if r is not None]

    def _update_batch(self, object_type: str, batch: list[RecordUpdate]) -> list[RowResult]:
        api = self._http.api(f"{object_type}.batch")
        ids = [c.record_id for c in batch]
        try:
            status, body = self._http.call(
                "batch_update", f"batch update of {len(batch)} HubSpot {object_type}",
                partial(api.update, update_body(batch), **RAW))
        except RemoteError as err:
            if err.retryable or err.status != 400:
                raise
            return failed_rows(err, ids, object_type)
        return batch_results(status, body, ids)

    # ---- account metadata ------------------------------------------------------------------

    def owners(self) -> list[dict[str, Any]]:
        """Every owner, active and archived, as ``GET /crm/v3/owners`` returns them."""
        api = self._http.api("owners")
        owners: list[dict[str, Any]] = []
        for archived in ("false", "true"):
            for page in self._after_pages("owners", "list HubSpot owners", api.get_page,
                                          archived=archived):
                for owner in page.results:
                    owner.setdefault("archived", archived == "true")
                    owners.append(owner)
        return owners

    def property_names(self, object_type: str) -> set[str]:
        """Names of every property of ``contacts``/``deals`` (``leads`` means contacts)."""
        object_type = OBJECTS.get(object_type, object_type)
        api = self._http.api("properties")
        _, body = self._http.call("properties", f"list HubSpot {object_type} properties",
                                  partial(api.get_all, object_type, **RAW))
        return {str(p.get("name")) for p in body.get("results") or []}

    def ensure_properties(self, object_type: str, names: Sequence[str]) -> list[str]:
        """Create the missing custom properties among ``names``; returns those created."""
        object_type = OBJECTS.get(object_type, object_type)
        api = self._http.api("properties")
        _, body = self._http.call("properties", f"list HubSpot {object_type} properties",
                                  partial(api.get_all, object_type, **RAW))
        existing = {p.get("name") for p in body.get("results") or []}
        created = []
        for name in names:
            if name in existing:
                continue
            self._http.call("properties", f"create HubSpot {object_type} property {name}",
                            partial(api.create, object_type,
                                    property_definition(object_type, name), **RAW),
                            classify=create_classify)
            created.append(name)
        return created

    def close(self) -> None:
        self._http.close()


def _mark_archived(records: list[dict[str, Any]], floor: int | None) -> list[dict[str, Any]]:
    """Archived records flagged as deletions; with ``floor``, only those archived since then."""
    kept = []
    for record in records:
        record["archived"] = True
        when = record.get("archivedAt")
        if floor is None or not when or parse_stamp(when) >= floor:
            kept.append(record)
    return kept
