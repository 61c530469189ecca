"""HubSpot, declared: contacts and deals, last-modified cursors, the lifecyclestage vocabulary,
deal stages per pipeline, stage history carried inside each deal."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from funnelsync.config.models import AppConfig, WritebackConfig
from funnelsync.connectors.base import Connector, Kind
from funnelsync.crm.spec import CrmSpec, Mapper, StageVocabulary, no_history
from funnelsync.mapping import hubspot as hs_map
from funnelsync.mapping.currency import hubspot_rates
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot.catalog import HubSpotCatalog
from funnelsync.mapping.schema import CatalogStage, StageChange


def use_catalog(connector: Connector, config: AppConfig,
                raw: list[dict[str, Any]]) -> tuple[list[CatalogStage], HubSpotCatalog]:
    """Deal pipelines → catalog stages; the connector is given them, so that it asks for each
    stage's entry-time property with deals."""
    stages = hs_map.map_pipelines(raw)
    connector.use_catalog(raw)  # type: ignore[attr-defined]
    return stages, HubSpotCatalog.from_stages(stages)


def deal_mapper(maps: StageMaps, writeback: WritebackConfig,
                catalog: HubSpotCatalog | None) -> Mapper:
    """The deal mapper of a run, bound to the pipelines catalog read in it."""
    return hs_map.deal_mapper(maps, catalog, writeback)


def stage_changes_in(kind: Kind, raw: dict[str, Any]) -> list[StageChange]:
    """A deal's stage-entry times as stage changes."""
    return hs_map.stage_changes_from_deal(raw) if kind == "deals" else []


def clear_first(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """lifecyclestage is blanked before a contact is moved back to an earlier one."""
    return hs_map.clear_first(fields) if kind == "leads" else {}


def read_owners(connector: Connector, since: datetime | None) -> list[dict[str, Any]]:
    """Every owner, archived ones included, raw (HubSpot cannot list only those changed)."""
    return connector.owners()  # type: ignore[attr-defined, no-any-return]


def read_rates(connector: Connector) -> dict[str, Any] | None:
    """The account's company currency and exchange rates (settings API)."""
    found = connector.account_currencies()  # type: ignore[attr-defined]
    return hubspot_rates(found["company"], found["rates"])


def connect(config: AppConfig, **options: Any) -> Connector:
    """The HubSpot connector for ``config.hubspot``; ``options`` go to it (``retry``,
    ``clock``, ``sleep``)."""
    from funnelsync.connectors.hubspot.connector import HubSpotConnector

    assert config.hubspot is not None
    wb = config.writeback
    properties = {"contacts": hs_map.contact_properties(wb),
                  "deals": hs_map.deal_properties(wb)}
    # a sync reads deletions apart (funnelsync.sync.deletions), only when they can have happened
    return HubSpotConnector(config.hubspot, config.limits, properties=properties,
                            archived_on_incremental=False, **options)


HUBSPOT = CrmSpec(
    name="hubspot",
    label="HubSpot",
    objects={"leads": "contacts", "deals": "deals"},
    cursor_fields={"leads": "lastmodifieddate", "deals": "hs_lastmodifieddate"},
    id_field="id",
    deleted_flag="archived",
    stages={
        "lead": StageVocabulary("lifecyclestage", "mapping.hubspot.lifecycle_stage",
                                "HubSpot lifecycle stage settings",
                                lambda maps: {None: maps.lifecycle_stage}),
        "deal": StageVocabulary("dealstage", "mapping.hubspot.deal_stages",
                                "HubSpot deal pipeline {pipeline!r} settings",
                                lambda maps: maps.deal_stages, default_pipeline="default"),
    },
    nurture_reentry=attrgetter("hubspot_lifecycle"),
    use_catalog=use_catalog,
    lead_mapper=hs_map.contact_mapper,
    deal_mapper=deal_mapper,
    stage_changes_in=stage_changes_in,
    history=no_history,
    read_owners=read_owners,
    map_owners=hs_map.map_owners,
    read_rates=read_rates,
    writeback_fields=hs_map.writeback_fields,
    clear_first=clear_first,
    connect=connect,
    catalog_in_reads=True,
)

__all__ = ["HUBSPOT"]
