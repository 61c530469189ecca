"""A CRM as one sync run sees it: its connector, its declaration and what the run learns.

The rest of sync/ talks to a ``Source`` and never branches on the CRM's name: every difference
between the CRMs (field lists, catalog shape, where stage history comes from) is read from the
CRM's declaration (``CrmSpec``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, Kind, Newest, Page, ReadPlan
from funnelsync.crm import crm_spec
from funnelsync.crm.metadata import Cached, MetadataCache, merge_rows
from funnelsync.crm.spec import CatalogContext, CrmSpec, Mapper
from funnelsync.errors import FunnelsyncError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.result import MapResult
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange

ConnectorFactory = Callable[[str, AppConfig], Connector]
log = logging.getLogger(__name__)


@dataclass
class Source:
    """A CRM as the sync job sees it: pull raw, map to the schema, write back.

    Its metadata (stage catalog, owners, object descriptions) comes from ``cache`` while that
    can be trusted and from the CRM otherwise (see :mod:`funnelsync.crm.metadata`).
    """

    name: str
    connector: Connector
    config: AppConfig
    maps: StageMaps
    catalog_context: CatalogContext = field(default=None)
    cache: MetadataCache = field(default_factory=MetadataCache)
    spec: CrmSpec = field(init=False, repr=False)
    _owners: list[CrmOwner] | None = field(default=None, repr=False)
    _catalog: Cached | None = field(default=None, repr=False)
    _catalog_read: bool = field(default=False, repr=False)  # read from the CRM in this run
    _known_stages: set[str] = field(default_factory=set, repr=False)
    _seen_owners: set[str] = field(default_factory=set, repr=False)
    _describes: Cached | None = field(default=None, repr=False)
    _owners_ahead: bool = field(default=False, repr=False)  # owners were read ahead
    # kind → (the catalog context it was bound with, the record mapper)
    _mappers: dict[Kind, tuple[CatalogContext, Mapper]] = field(default_factory=dict,
                                                                repr=False)

    def __post_init__(self) -> None:
        self.spec = crm_spec(self.name)

    # -- the stage catalog -----------------------------------------------------------------

    def load_catalog(self) -> list[CatalogStage]:
        """The CRM's stage catalog, kept or read, and what the deal mapper needs from it."""
        cached = self.cache.get(self.name, CATALOG)
        if cached is None or not self.cache.fresh(cached):
            return self._read_catalog(set(), cached)
        self._catalog = cached
        return self._use_catalog(cached.value)

    def reload_catalog(self, records: Sequence[FunnelLead | FunnelDeal]
                       ) -> list[CatalogStage] | None:
        """Read the catalog again when ``records`` carry a stage value it does not list; the
        new catalog, or None when it was not read (every value known or known to be absent, or
        the catalog already read from the CRM in this run)."""
        unknown = self._unknown_stages(records)
        if not unknown or self._catalog_read:
            return None
        return self._read_catalog(unknown, self._catalog)

    def _read_catalog(self, unknown: set[str], before: Cached | None) -> list[CatalogStage]:
        rows = self.connector.stage_catalog()
        self._catalog_read = True
        stages = self._use_catalog(rows)
        absent = (unknown | set(before.absent if before else ())) - self._known_stages
        self._catalog = self.cache.put(self.name, CATALOG, rows, absent)
        return stages

    def _use_catalog(self, rows: list[dict[str, Any]]) -> list[CatalogStage]:
        stages, self.catalog_context = self.spec.use_catalog(self.connector, self.config, rows)
        self._known_stages = {_stage_key(s.kind, s.stage) for s in stages}
        return stages

    def _unknown_stages(self, records: Sequence[FunnelLead | FunnelDeal]) -> set[str]:
        """Stage values of live records missing from the catalog, among the kinds it lists."""
        if self._catalog is None:
            return set()
        kinds = {key.split(":", 1)[0] for key in self._known_stages}
        found = set()
        for record in records:
            kind, value = _stage_of(record)
            if value and kind in kinds and not record.is_deleted:
                found.add(_stage_key(kind, value))
        return found - self._known_stages - set(self._catalog.absent)

    # -- reading ahead -----------------------------------------------------------------------

    def prefetch(self, starts: dict[str, tuple[datetime | None, str | None]],
                 rates: bool) -> None:
        """Tell a connector that can fold reads (Salesforce's Composite resource) what this run
        reads first: the metadata that is due by the cache (``rates``: whether the currency
        rates are) and each stream's start. The descriptions kept from earlier runs are given
        to it first (unless told to refresh), so that its first pages can be built from them."""
        if not isinstance(self.connector, FoldsReads):
            return
        describes = self.cache.get(self.name, DESCRIBES)
        since = None
        if describes is not None and not self.cache.refresh:
            for sobject, describe in describes.value.items():
                self.connector.use_describe(sobject, describe)
            since = None if self.cache.fresh(describes) else describes.changed_since
        owners = self.cache.get(self.name, OWNERS)
        owners_since = (owners.changed_since if owners is not None and not self.cache.refresh
                        and self.spec.owners_since else None)
        self._owners_ahead = not self.cache.fresh(owners)
        self.connector.prefetch(ReadPlan(
            describes_since=since, catalog=not self.cache.fresh(self.cache.get(self.name,
                                                                               CATALOG)),
            owners=self._owners_ahead, owners_since=owners_since, rates=rates, starts=starts))

    def keep_read_ahead(self) -> None:
        """Keep the owners read ahead, whether or not this run asks for them: they came with
        the run's first reads at no extra call, and kept they are not due again until the
        time-to-live passes. An owner list that cannot be read is left to whoever asks."""
        if not self._owners_ahead:
            return
        self._owners_ahead = False
        try:
            self.owners()
        except FunnelsyncError as exc:
            log.info("owners read ahead were not kept: %s", exc)

    # -- object descriptions -----------------------------------------------------------------

    def load_describes(self) -> None:
        """Give the connector the object descriptions kept from earlier runs: as kept while
        fresh, else after asking the CRM whether each changed (one conditional call each).
        Without any kept (or told to refresh), the connector describes what it needs."""
        if not isinstance(self.connector, DescribesObjects):
            return
        cached = self.cache.get(self.name, DESCRIBES)
        if cached is None or self.cache.refresh:
            return
        fresh = self.cache.fresh(cached)
        for sobject, describe in cached.value.items():
            if fresh or self.connector.describe_changed(sobject, cached.changed_since) is None:
                self.connector.use_describe(sobject, describe)
        self._describes = cached if fresh else self.cache.put(self.name, DESCRIBES,
                                                              self.connector.described())

    def keep_describes(self) -> None:
        """Keep what the connector described in this run, with the descriptions kept before."""
        if not isinstance(self.connector, DescribesObjects):
            return
        described, kept = self.connector.described(), self._describes
        if kept is not None and described == kept.value:
            return
        self._describes = self.cache.put(self.name, DESCRIBES, described,
                                         read_at=kept.read_at if kept else None)

    # -- records -----------------------------------------------------------------------------

    def map_record(self, kind: Kind, raw: dict[str, Any]) -> MapResult:
        """Raw CRM record → schema record (raises DataError when it cannot be mapped)."""
        return self.mapper(kind)(raw)

    def mapper(self, kind: Kind) -> Mapper:
        """The record mapper of ``kind``, bound to the config once per run (and again only
        when a newly read stage catalog teaches the deal mapper something)."""
        bound = self._mappers.get(kind)
        if bound is None or bound[0] is not self.catalog_context:
            bound = (self.catalog_context, self._bind(kind))
            self._mappers[kind] = bound
        return bound[1]

    def _bind(self, kind: Kind) -> Mapper:
        wb = self.config.writeback
        if kind == "leads":
            return self.spec.lead_mapper(self.maps, wb)
        return self.spec.deal_mapper(self.maps, wb, self.catalog_context)

    def stage_changes_in(self, kind: Kind, raw: dict[str, Any]) -> list[StageChange]:
        """Stage changes carried inside a record (HubSpot deals' stage-entry times)."""
        return self.spec.stage_changes_in(kind, raw)

    def history_pages(self, since: datetime | None, resume: str | None = None
                      ) -> Iterator[tuple[Page, list[StageChange]]]:
        """Pages of a separate history stream (Salesforce OpportunityHistory), each with its
        stage changes; ``since`` and ``resume`` as in ``Connector.iter_pages``."""
        return self.spec.history(self.connector, since, resume)

    @property
    def reads_deletions_apart(self) -> bool:
        """Whether an increment's search misses deletions, so that they are read apart: true
        for a connector that can count live records and list the deleted ones."""
        return isinstance(self.connector, CountsLive)

    def newest(self, kind: Kind) -> Newest | None:
        """One look at ``kind``: the CRM's count of live records and its newest record's key;
        None where the connector cannot look (its increment sees deletions itself)."""
        return self.connector.newest(kind) if isinstance(self.connector, CountsLive) else None

    def deleted_pages(self, kind: Kind) -> Iterator[Page]:
        """Every deleted ``kind`` record the CRM still lists, as raw pages."""
        if not isinstance(self.connector, CountsLive):
            return iter(())
        return self.connector.iter_archived(kind)

    def stage_of(self, deal: FunnelDeal) -> Callable[[str], str | None]:
        """CRM stage value → funnel stage, within the deal's pipeline where stages have one."""
        return self.spec.stages["deal"].table(self.maps, deal.pipeline).get

    def writeback_fields(self, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
        """Normalised write-back values → CRM field/property names and formats."""
        return self.spec.writeback_fields(kind, values.get("stage"), values.get("score"),
                                          self.config.writeback, owner_id=values.get("owner_id"),
                                          status=values.get("status"),
                                          probability=values.get("win_probability"))

    def clear_first(self, kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields to blank in an update before ``fields`` (HubSpot's lifecyclestage)."""
        return self.spec.clear_first(kind, fields)

    # -- owners ------------------------------------------------------------------------------

    def note_owners(self, records: Sequence[FunnelLead | FunnelDeal]) -> None:
        """Remember the owners pulled records name: one the kept list lacks makes ``owners``
        read them again."""
        self._seen_owners.update(r.owner_id for r in records if r.owner_id and not r.is_deleted)

    def owners(self) -> list[CrmOwner]:
        """Everyone who can own records in this CRM (active or not; queues included).

        Kept from an earlier run while fresh and listing every owner the pulled records name;
        else read (only those changed since, where the CRM can tell). Once per Source (one run):
        routing, SLA, identity and alerts all ask.
        """
        if self._owners is None:
            self._owners = self._load_owners()
        return self._owners

    def _load_owners(self) -> list[CrmOwner]:
        cached = self.cache.get(self.name, OWNERS)
        if cached is not None and self.cache.fresh(cached):
            owners = self.spec.map_owners(cached.value)
            if not self._seen_owners - {o.id for o in owners} - set(cached.absent):
                return owners
        rows = self._read_owner_rows(cached)
        owners = self.spec.map_owners(rows)
        seen = self._seen_owners | set(cached.absent if cached else ())
        self.cache.put(self.name, OWNERS, rows, seen - {o.id for o in owners})
        return owners

    def _read_owner_rows(self, cached: Cached | None) -> list[dict[str, Any]]:
        if cached is None or self.cache.refresh or not self.spec.owners_since:
            return self.spec.read_owners(self.connector, None)
        changed = self.spec.read_owners(self.connector, cached.changed_since)
        return merge_rows(cached.value, changed, self.spec.id_field)

    def inactive_owner_ids(self) -> set[str]:
        """Owners that cannot be given new work (deactivated users, archived owners)."""
        return {o.id for o in self.owners() if not o.active}


CATALOG, OWNERS, DESCRIBES = "catalog", "owners", "describes"  # names in the metadata cache


@runtime_checkable
class DescribesObjects(Protocol):
    """A connector that reads object descriptions (Salesforce describes) to build its reads."""

    def describe_changed(self, sobject: str, since: datetime) -> dict[str, Any] | None: ...

    def use_describe(self, sobject: str, describe: Mapping[str, Any]) -> None: ...

    def described(self) -> dict[str, dict[str, Any]]: ...


@runtime_checkable
class FoldsReads(DescribesObjects, Protocol):
    """A connector that can read ahead, folding many reads into few calls."""

    def prefetch(self, plan: ReadPlan) -> None: ...


@runtime_checkable
class CountsLive(Protocol):
    """A connector whose increments cannot see deletions (HubSpot search): it counts live
    records and lists the deleted ones apart."""

    def newest(self, kind: Kind) -> Newest: ...

    def iter_archived(self, kind: Kind) -> Iterator[Page]: ...


def _stage_of(record: FunnelLead | FunnelDeal) -> tuple[str, str | None]:
    """The catalog kind and raw stage value of a record (a lead's status, a deal's stage)."""
    if isinstance(record, FunnelDeal):
        return "deal", record.stage
    return "lead", record.status


def _stage_key(kind: str, value: str | None) -> str:
    return f"{kind}:{value}"


def default_connector(name: str, config: AppConfig, **options: Any) -> Connector:
    """Build the real connector for a CRM from its config section.

    ``options`` go to the connector (e.g. ``retry=RetryPolicy(...)``; HubSpot also takes
    ``clock`` and ``sleep``), so tests and embedders can inject waiting and time.
    """
    return crm_spec(name).connect(config, **options)


def open_sources(config: AppConfig, only: list[str] | None = None,
                 factory: ConnectorFactory = default_connector,
                 cache: MetadataCache | None = None) -> list[Source]:
    """A Source for every configured CRM (or just those in ``only``); their metadata kept in
    ``cache`` (none kept without one)."""
    names = [n for n in config.sources() if not only or n in only]
    maps = StageMaps(config)
    return [Source(n, factory(n, config), config, maps, cache=cache or MetadataCache())
            for n in names]
