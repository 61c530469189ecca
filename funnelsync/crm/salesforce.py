"""Salesforce, declared: Lead and Opportunity, SystemModstamp cursors, Lead.Status and
StageName vocabularies, OpportunityHistory as the stage-history stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any

from funnelsync.config.models import AppConfig, WritebackConfig
from funnelsync.connectors.base import Connector, Page
from funnelsync.crm.spec import CrmSpec, Mapper, StageVocabulary, no_stage_changes, nothing_to_clear
from funnelsync.mapping import salesforce as sf_map
from funnelsync.mapping.currency import salesforce_rates
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, StageChange


def use_catalog(connector: Connector, config: AppConfig,
                raw: list[dict[str, Any]]) -> tuple[list[CatalogStage], None]:
    """OpportunityStage and LeadStatus rows → catalog stages; deals need nothing from them."""
    opportunity = [r for r in raw if _sobject(r) == "OpportunityStage"]
    lead = [r for r in raw if _sobject(r) == "LeadStatus"]
    return sf_map.map_catalog(opportunity, lead), None


def _sobject(raw: dict[str, Any]) -> str:
    attributes = raw.get("attributes") or {}
    return str(attributes.get("type", ""))


def deal_mapper(maps: StageMaps, writeback: WritebackConfig, context: None) -> Mapper:
    """The opportunity mapper of a run (the stage catalog teaches it nothing)."""
    return sf_map.opportunity_mapper(maps, writeback)


def history(connector: Connector, since: datetime | None, resume: str | None
            ) -> Iterator[tuple[Page, list[StageChange]]]:
    """OpportunityHistory pages since ``since`` (or from ``resume``), each with its rows
    mapped."""
    for page in connector.iter_stage_change_pages(since, resume):
        yield page, [sf_map.map_history(raw) for raw in page.records]


def read_owners(connector: Connector, since: datetime | None) -> list[dict[str, Any]]:
    """Users and queues, raw; with ``since``, those whose SystemModstamp is at or after it."""
    users = connector.users  # type: ignore[attr-defined]
    return users(since) if since is not None else users()  # type: ignore[no-any-return]


def read_rates(connector: Connector) -> dict[str, Any] | None:
    """The org's corporate currency and rates (CurrencyType, DatedConversionRate); None for a
    single-currency org."""
    found = connector.org_currencies()  # type: ignore[attr-defined]
    if found is None:
        return None
    return salesforce_rates(found["currency_types"], found["dated_rates"])


def connect(config: AppConfig, **options: Any) -> Connector:
    """The Salesforce connector for ``config.salesforce``; of ``options`` it takes ``retry``."""
    from funnelsync.connectors.salesforce.connector import SalesforceConnector

    assert config.salesforce is not None
    wb = config.writeback
    fields = {"Lead": sf_map.lead_fields(wb),
              "Opportunity": sf_map.opportunity_fields(
                  wb, optional=sf_map.OPTIONAL_OPPORTUNITY_FIELDS)}
    retry = {k: v for k, v in options.items() if k == "retry"}
    return SalesforceConnector(config.salesforce, config.limits, fields=fields, **retry)


SALESFORCE = CrmSpec(
    name="salesforce",
    label="Salesforce",
    objects={"leads": "Lead", "deals": "Opportunity"},
    cursor_fields={"leads": "SystemModstamp", "deals": "SystemModstamp"},
    id_field="Id",
    deleted_flag="IsDeleted",
    stages={
        "lead": StageVocabulary("Status", "mapping.salesforce.lead_status",
                                "Salesforce Setup → Lead Status picklist",
                                lambda maps: {None: maps.lead_status}),
        "deal": StageVocabulary("StageName", "mapping.salesforce.opportunity_stage",
                                "Salesforce Setup → Opportunity Stages",
                                lambda maps: {None: maps.opportunity_stage}),
    },
    nurture_reentry=attrgetter("salesforce_status"),
    use_catalog=use_catalog,
    lead_mapper=sf_map.lead_mapper,
    deal_mapper=deal_mapper,
    stage_changes_in=no_stage_changes,
    history=history,
    read_owners=read_owners,
    map_owners=sf_map.map_owners,
    read_rates=read_rates,
    writeback_fields=sf_map.writeback_fields,
    clear_first=nothing_to_clear,
    connect=connect,
    owners_since=True,
)

__all__ = ["SALESFORCE"]
