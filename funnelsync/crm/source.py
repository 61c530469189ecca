"""One object per CRM that pairs its connector with its mapping functions.

The rest of sync/ talks to a ``Source`` and never branches on the CRM's name: the Salesforce and
HubSpot differences (field lists, catalog shape, where stage history comes from) live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, Kind, Page
from funnelsync.mapping import hubspot as hs_map
from funnelsync.mapping import salesforce as sf_map
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot_catalog import HubSpotCatalog
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
    hubspot_catalog: HubSpotCatalog | None = field(default=None)
    _owners: list[CrmOwner] | None = field(default=None, repr=False)

    def load_catalog(self) -> list[CatalogStage]:
        """Read the CRM's stage catalog; HubSpot also learns which stage-entry
        properties to request with deals."""
        raw = self.connector.stage_catalog()
        if self.name == "salesforce":
            opp = [r for r in raw if _sobject(r) == "OpportunityStage"]
            lead = [r for r in raw if _sobject(r) == "LeadStatus"]
            return sf_map.map_catalog(opp, lead)
        stages = hs_map.map_pipelines(raw)
        self.hubspot_catalog = HubSpotCatalog.from_stages(stages)
        set_properties = getattr(self.connector, "set_properties", None)
        if set_properties is not None:
            set_properties("deals", hs_map.deal_properties(self.config.writeback,
                                                           self.hubspot_catalog))
        return stages

    def map_record(self, kind: Kind, raw: dict[str, Any]) -> MapResult:
        """Raw CRM record → schema record (raises DataError when it cannot be mapped)."""
        wb = self.config.writeback
        if self.name == "salesforce":
            if kind == "leads":
                return sf_map.map_lead(raw, self.maps, wb)
            return sf_map.map_opportunity(raw, self.maps, wb)
        if kind == "leads":
            return hs_map.map_contact(raw, self.maps, wb)
        return hs_map.map_deal(raw, self.maps, self.hubspot_catalog, wb)

    def stage_changes_in(self, kind: Kind, raw: dict[str, Any]) -> list[StageChange]:
        """Stage changes carried inside a record (HubSpot deals' stage-entry times)."""
        if self.name == "hubspot" and kind == "deals":
            return hs_map.stage_changes_from_deal(raw)
        return []

    def history_pages(self, since: datetime | None, resume: str | None = None
                      ) -> Iterator[tuple[Page, list[StageChange]]]:
        """Pages of a separate history stream (Salesforce OpportunityHistory), each with its
        stage changes; ``since`` and ``resume`` as in ``Connector.iter_pages``."""
        if self.name != "salesforce":
            return
        for page in self.connector.iter_stage_change_pages(since, resume):
            yield page, [sf_map.map_history(raw) for raw in page.records]

    def stage_of(self, deal: FunnelDeal) -> Callable[[str], str | None]:
        """CRM stage value → funnel stage, within the deal's pipeline for HubSpot."""
        if self.name == "salesforce":
            return self.maps.opportunity_stage.get
        pipeline = deal.pipeline
        return lambda stage: self.maps.hubspot_deal_stage(pipeline, stage)

    def writeback_fields(self, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
        """Normalised write-back values → CRM field/property names and formats."""
        module = sf_map if self.name == "salesforce" else hs_map
        return module.writeback_fields(kind, values.get("stage"), values.get("score"),
                                       self.config.writeback, owner_id=values.get("owner_id"),
                                       status=values.get("status"))

    def clear_first(self, kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields to blank in an update before ``fields`` (HubSpot's lifecyclestage)."""
        return hs_map.clear_first(fields) if self.name == "hubspot" and kind == "leads" else {}

    def owners(self) -> list[CrmOwner]:
        """Everyone who can own records in this CRM (active or not; queues included).

        Read once per Source (one run) and kept: routing, SLA, identity and alerts all ask.
        """
        if self._owners is None:
            if self.name == "salesforce":
                raw = self.connector.users()  # type: ignore[attr-defined]
                self._owners = sf_map.map_owners(raw)
            else:
                self._owners = hs_map.map_owners(self.connector.owners())  # type: ignore[attr-defined]
        return self._owners

    def inactive_owner_ids(self) -> set[str]:
        """Owners that cannot be given new work (deactivated users, archived owners)."""
        return {o.id for o in self.owners() if not o.active}


def _sobject(raw: dict[str, Any]) -> str:
    attributes = raw.get("attributes") or {}
    return str(attributes.get("type", ""))


def default_connector(name: str, config: AppConfig, **options: Any) -> Connector:
    """Build the real connector for a CRM from its config section.

    ``options`` go to the connector (e.g. ``retry=RetryPolicy(...)``; HubSpot also takes
    ``clock`` and ``sleep``), so tests and embedders can inject waiting and time.
    """
    wb = config.writeback
    if name == "salesforce":
        from funnelsync.connectors.salesforce.connector import SalesforceConnector

        assert config.salesforce is not None
        fields = {"Lead": sf_map.lead_fields(wb),
                  "Opportunity": sf_map.opportunity_fields(
                      wb, optional=sf_map.OPTIONAL_OPPORTUNITY_FIELDS)}
        sf_options = {k: v for k, v in options.items() if k == "retry"}
        return SalesforceConnector(config.salesforce, config.limits, fields=fields,
                                   **sf_options)
    from funnelsync.connectors.hubspot.connector import HubSpotConnector

    assert config.hubspot is not None
    properties = {"contacts": hs_map.contact_properties(wb),
                  "deals": hs_map.deal_properties(wb)}
    return HubSpotConnector(config.hubspot, config.limits, properties=properties, **options)


def open_sources(config: AppConfig, only: list[str] | None = None,
                 factory: ConnectorFactory = default_connector) -> list[Source]:
    """A Source for every configured CRM (or just those in ``only``)."""
    names = [n for n in config.sources() if not only or n in only]
    maps = StageMaps(config)
    return [Source(n, factory(n, config), config, maps) for n in names]
