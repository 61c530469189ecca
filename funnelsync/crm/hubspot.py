"""HubSpot, declared: contacts and deals, last-modified cursors, the lifecyclestage vocabulary,
deal stages per pipeline, stage history carried inside each deal."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from funnelsync.config.models import AppConfig, WritebackConfig
from funnelsync.connectors.base import Connector, Kind
from funnelsync.crm.spec import CrmSpec, StageVocabulary, no_history
from funnelsync.mapping import hubspot as hs_map
from funnelsync.mapping.currency import hubspot_rates
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot.catalog import HubSpotCatalog
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.result import MapResult
from funnelsync.mapping.schema import CatalogStage, StageChange


def load_catalog(connector: Connector,
                 config: AppConfig) -> tuple[list[CatalogStage], HubSpotCatalog]:
    """Deal pipelines → catalog stages; the connector then also asks for each stage's
    entry-time property with deals."""
    stages = hs_map.map_pipelines(connector.stage_catalog())
    catalog = HubSpotCatalog.from_stages(stages)
    set_properties = getattr(connector, "set_properties", None)
    if set_properties is not None:
        set_properties("deals", hs_map.deal_properties(config.writeback, catalog))
    return stages, catalog


def map_deal(raw: dict[str, Any], maps: StageMaps, writeback: WritebackConfig,
             catalog: HubSpotCatalog | None) -> MapResult:
    return hs_map.map_deal(raw, maps, catalog, writeback)


def stage_changes_in(kind: Kind, raw: dict[str, Any]) -> list[StageChange]:
    """A deal's stage-entry times as stage changes."""
    return hs_map.stage_changes_from_deal(raw) if kind == "deals" else []


def clear_first(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """lifecyclestage is blanked before a contact is moved back to an earlier one."""
    return hs_map.clear_first(fields) if kind == "leads" else {}


def read_owners(connector: Connector) -> list[CrmOwner]:
    """Owners, archived ones included."""
    return hs_map.map_owners(connector.owners())  # type: ignore[attr-defined]


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
    return HubSpotConnector(config.hubspot, config.limits, properties=properties, **options)


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
    load_catalog=load_catalog,
    map_lead=hs_map.map_contact,
    map_deal=map_deal,
    stage_changes_in=stage_changes_in,
    history=no_history,
    read_owners=read_owners,
    read_rates=read_rates,
    writeback_fields=hs_map.writeback_fields,
    clear_first=clear_first,
    connect=connect,
)

__all__ = ["HUBSPOT"]
