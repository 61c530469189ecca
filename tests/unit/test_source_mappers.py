"""A Source maps the records of a run with mappers bound to the config once: the write-back
names are looked up when a mapper is bound, not for every record, and the deal mapper is bound
again only when a newly read stage catalog teaches it something (HubSpot's pipelines).

A fake HubSpot connector stands in for the metadata side (the stage catalog); records are raw
v3 objects as the API returns them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from funnelsync.config.models import AppConfig, HubSpotWriteback, WritebackConfig
from funnelsync.crm.source import Source
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping.funnel import StageMaps


class CountingWriteback(WritebackConfig):
    """The write-back config, noting every lookup of a CRM's names."""

    lookups: ClassVar[list[str]] = []

    def for_crm(self, name: str) -> Any:
        self.lookups.append(name)
        return super().for_crm(name)


class FakeHubSpot:
    """The metadata side of the HubSpot connector: one pipeline with one closed-won stage."""

    source = "hubspot"

    def __init__(self) -> None:
        self.given: list[list[dict[str, Any]]] = []

    def stage_catalog(self) -> list[dict[str, Any]]:
        return [{"id": "default", "label": "Sales", "stages": [
            {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4,
             "metadata": {"isClosed": "true", "probability": "1.0"}}]}]

    def use_catalog(self, pipelines: list[dict[str, Any]]) -> None:
        self.given.append(pipelines)


CONTACT = {"id": "501", "properties": {"email": "m@x.example", "lifecyclestage": "lead",
                                       "stage_x": "interest", "score_x": "40"}}
DEAL = {"id": "9001", "properties": {"dealname": "Acme", "pipeline": "default",
                                     "dealstage": "contractsent", "stage_x": "intent"}}


def _source() -> Source:
    CountingWriteback.lookups.clear()
    writeback = CountingWriteback(hubspot=HubSpotWriteback(stage_property="stage_x",
                                                           score_property="score_x"))
    config = AppConfig(writeback=writeback)
    return Source("hubspot", FakeHubSpot(), config, StageMaps(config))  # type: ignore[arg-type]


def test_records_are_mapped_with_the_write_back_names_looked_up_once() -> None:
    source = _source()
    leads = [source.map_record("leads", {**CONTACT, "id": str(n)}).record for n in range(3)]
    deals = [source.map_record("deals", {**DEAL, "id": str(n)}).record for n in range(3)]

    assert [lead.extra["live"] for lead in leads] == [{"stage": "interest", "score": 40.0}] * 3
    assert [deal.extra["live"] for deal in deals] == [{"stage": "intent", "score": None}] * 3
    assert CountingWriteback.lookups == ["hubspot", "hubspot"]
    assert source.mapper("leads") is source.mapper("leads")


def test_the_deal_mapper_is_bound_again_to_a_newly_read_catalog() -> None:
    source = _source()
    before = source.map_record("deals", DEAL).record
    source.load_catalog()
    after = source.map_record("deals", DEAL).record
    again = source.map_record("deals", DEAL).record

    assert (before.stage_label, before.is_closed, before.is_won) == (None, False, False)
    assert (after.stage_label, after.is_closed, after.is_won) == ("Contract Sent", True, True)
    assert again == after
    assert CountingWriteback.lookups == ["hubspot", "hubspot"]


def test_a_source_maps_as_the_unbound_mappers_do() -> None:
    source = _source()
    config = source.config
    source.load_catalog()
    catalog = hs.HubSpotCatalog.from_pipelines(FakeHubSpot().stage_catalog())

    assert source.map_record("leads", CONTACT) == hs.map_contact(
        CONTACT, StageMaps(config), config.writeback)
    assert source.map_record("deals", DEAL) == hs.map_deal(
        DEAL, StageMaps(config), catalog, config.writeback)
