"""A CRM as one sync run sees it: its connector, its declaration and what the run learns.

The rest of sync/ talks to a ``Source`` and never branches on the CRM's name: every difference
between the CRMs (field lists, catalog shape, where stage history comes from) is read from the
CRM's declaration (``CrmSpec``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, Kind, Page
from funnelsync.crm import crm_spec
from funnelsync.crm.spec import CatalogContext, CrmSpec
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.result import MapResult
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, StageChange

ConnectorFactory = Callable[[str, AppConfig], Connector]


@dataclass
class Source:
    """A CRM as the sync job sees it: pull raw, map to the schema, write back."""

    name: str
    connector: Connector
    config: AppConfig
    maps: StageMaps
    catalog_context: CatalogContext = field(default=None)
    spec: CrmSpec = field(init=False, repr=False)
    _owners: list[CrmOwner] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.spec = crm_spec(self.name)

    def load_catalog(self) -> list[CatalogStage]:
        """Read the CRM's stage catalog and keep what the deal mapper needs from it."""
        stages, self.catalog_context = self.spec.load_catalog(self.connector, self.config)
        return stages

    def map_record(self, kind: Kind, raw: dict[str, Any]) -> MapResult:
        """Raw CRM record → schema record (raises DataError when it cannot be mapped)."""
        wb = self.config.writeback
        if kind == "leads":
            return self.spec.map_lead(raw, self.maps, wb)
        return self.spec.map_deal(raw, self.maps, wb, self.catalog_context)

    def stage_changes_in(self, kind: Kind, raw: dict[str, Any]) -> list[StageChange]:
        """Stage changes carried inside a record (HubSpot deals' stage-entry times)."""
        return self.spec.stage_changes_in(kind, raw)

    def history_pages(self, since: datetime | None, resume: str | None = None
                      ) -> Iterator[tuple[Page, list[StageChange]]]:
        """Pages of a separate history stream (Salesforce OpportunityHistory), each with its
        stage changes; ``since`` and ``resume`` as in ``Connector.iter_pages``."""
        return self.spec.history(self.connector, since, resume)

    def stage_of(self, deal: FunnelDeal) -> Callable[[str], str | None]:
        """CRM stage value → funnel stage, within the deal's pipeline where stages have one."""
        return self.spec.stages["deal"].table(self.maps, deal.pipeline).get

    def writeback_fields(self, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
        """Normalised write-back values → CRM field/property names and formats."""
        return self.spec.writeback_fields(kind, values.get("stage"), values.get("score"),
                                          self.config.writeback, owner_id=values.get("owner_id"),
                                          status=values.get("status"))

    def clear_first(self, kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields to blank in an update before ``fields`` (HubSpot's lifecyclestage)."""
        return self.spec.clear_first(kind, fields)

    def owners(self) -> list[CrmOwner]:
        """Everyone who can own records in this CRM (active or not; queues included).

        Read once per Source (one run) and kept: routing, SLA, identity and alerts all ask.
        """
        if self._owners is None:
            self._owners = self.spec.read_owners(self.connector)
        return self._owners

    def inactive_owner_ids(self) -> set[str]:
        """Owners that cannot be given new work (deactivated users, archived owners)."""
        return {o.id for o in self.owners() if not o.active}


def default_connector(name: str, config: AppConfig, **options: Any) -> Connector:
    """Build the real connector for a CRM from its config section.

    ``options`` go to the connector (e.g. ``retry=RetryPolicy(...)``; HubSpot also takes
    ``clock`` and ``sleep``), so tests and embedders can inject waiting and time.
    """
    return crm_spec(name).connect(config, **options)


def open_sources(config: AppConfig, only: list[str] | None = None,
                 factory: ConnectorFactory = default_connector) -> list[Source]:
    """A Source for every configured CRM (or just those in ``only``)."""
    names = [n for n in config.sources() if not only or n in only]
    maps = StageMaps(config)
    return [Source(n, factory(n, config), config, maps) for n in names]
