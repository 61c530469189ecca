"""The shape of a CRM declaration: what funnelsync must know about one CRM, as data.

A ``CrmSpec`` names the CRM's objects, cursor and deletion fields, where its stage values come
from and which config tables map them, its nurture re-entry value, the mapping functions that
turn its raw records into the funnel schema, how its owners are read, and the factory of its
connector. Code outside
crm/, connectors/, mapping/ and sandbox/ looks a CRM up by name and reads its declaration
instead of branching on the name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from funnelsync.config.models import AppConfig, CrmWriteback, WritebackConfig
from funnelsync.config.operations import NurtureConfig
from funnelsync.connectors.base import Connector, Kind, Page
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.result import MapResult
from funnelsync.mapping.schema import CatalogStage, StageChange

RecordKind = Literal["lead", "deal"]  # the singular kinds of catalog stages and reports
Raw = dict[str, Any]
# What reading the stage catalog teaches the deal mapper (HubSpot: the pipelines); None if nothing
CatalogContext = Any
Mapper = Callable[[Raw], MapResult]  # one raw record → its schema record
HistoryPages = Callable[[Connector, datetime | None, str | None],
                        Iterator[tuple[Page, list[StageChange]]]]


@dataclass(frozen=True)
class StageVocabulary:
    """The raw stage values of one CRM object: the field that holds them, the config table that
    maps them to funnel stages, and where an admin edits them in the CRM."""

    value_field: str  # e.g. Lead.Status or HubSpot's lifecyclestage
    section: str  # the config table, e.g. "mapping.salesforce.lead_status"
    setup: str  # where the values are edited; "{pipeline!r}" stands for the pipeline
    tables: Callable[[StageMaps], Mapping[str | None, dict[str, str]]]  # pipeline → value map
    default_pipeline: str | None = None  # set when every pipeline has its own values

    def table(self, maps: StageMaps, pipeline: str | None = None) -> dict[str, str]:
        """Raw value → funnel stage, within ``pipeline`` when the values are per pipeline."""
        key = (pipeline or self.default_pipeline) if self.default_pipeline else None
        return self.tables(maps).get(key, {})

    def pipelines(self, maps: StageMaps) -> list[str | None]:
        """Every pipeline the maps know, sorted; [None] when the values are not per pipeline."""
        if not self.default_pipeline:
            return [None]
        return sorted(p for p in self.tables(maps) if p is not None)

    def where(self, pipeline: str | None = None) -> str:
        """Where an admin edits these values in the CRM."""
        return self.setup.format(pipeline=pipeline or self.default_pipeline)


@dataclass(frozen=True)
class CrmSpec:
    """One CRM, declared once."""

    name: str  # the config section, Source name and record ``source``
    label: str  # for people: "Salesforce"
    objects: Mapping[Kind, str]  # kind → the CRM's object name
    cursor_fields: Mapping[Kind, str]  # kind → the field incremental pulls compare
    id_field: str  # the id key of a raw record
    deleted_flag: str  # the raw key that is true for a deleted / archived record
    stages: Mapping[RecordKind, StageVocabulary]
    nurture_reentry: Callable[[NurtureConfig], str | None]  # the lead status a revived lead gets
    # mapping: raw records ↔ the funnel schema
    # the stage catalog's raw rows (``Connector.stage_catalog()``, read now or kept) → its stages
    # and what the deal mapper needs; a connector whose reads follow the catalog is given it
    use_catalog: Callable[[Connector, AppConfig, list[Raw]],
                          tuple[list[CatalogStage], CatalogContext]]
    # the record mappers, bound to a run's stage maps and write-back names (and the catalog)
    lead_mapper: Callable[[StageMaps, WritebackConfig], Mapper]
    deal_mapper: Callable[[StageMaps, WritebackConfig, CatalogContext], Mapper]
    stage_changes_in: Callable[[Kind, Raw], list[StageChange]]  # carried inside a record
    history: HistoryPages  # a separate stage-history stream, page by page
    # owners, raw: every one, or with a time those changed at or after it (see owners_since)
    read_owners: Callable[[Connector, datetime | None], list[Raw]]
    map_owners: Callable[[list[Raw]], list[CrmOwner]]
    writeback_fields: Callable[..., dict[str, Any]]  # mapping.<crm>.writeback_fields
    clear_first: Callable[[Kind, dict[str, Any]], dict[str, Any]]
    connect: Callable[..., Connector]  # (config, **options) → the real connector
    owners_since: bool = False  # read_owners honours its time (else it returns every owner)
    # a pull asks for fields named after catalog entries (HubSpot: each stage's entry time), so
    # a page read before the catalog changed is read again
    catalog_in_reads: bool = False
    read_rates: Callable[[Connector], dict[str, Any] | None] = lambda connector: None
    # the org's currencies in mapping.currency's stored shape; None: single currency

    def writeback(self, config: WritebackConfig) -> CrmWriteback:
        """This CRM's write-back names in ``config``."""
        names = config.for_crm(self.name)
        assert names is not None, f"[writeback.{self.name}] is missing from WritebackConfig"
        return names

    def writeback_targets(self, config: WritebackConfig) -> dict[str, list[str]]:
        """Object → the write-back fields funnelsync writes there (stage everywhere, score on
        leads, win probability on deals); a name configured as "" is left out."""
        names = self.writeback(config)
        wanted = {self.objects["leads"]: [names.stage_name, names.score_name],
                  self.objects["deals"]: [names.stage_name, names.probability_name]}
        return {obj: [n for n in fields if n] for obj, fields in wanted.items()}


def no_stage_changes(kind: Kind, raw: Raw) -> list[StageChange]:
    """For a CRM whose records carry no stage history."""
    return []


def no_history(connector: Connector, since: datetime | None, resume: str | None
               ) -> Iterator[tuple[Page, list[StageChange]]]:
    """For a CRM without a separate stage-history stream."""
    return iter(())


def nothing_to_clear(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """For a CRM that takes every write-back value in one update."""
    return {}


__all__ = ["CatalogContext", "CrmSpec", "RecordKind", "StageVocabulary", "no_history",
           "no_stage_changes", "nothing_to_clear"]
