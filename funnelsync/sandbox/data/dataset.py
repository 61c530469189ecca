"""The sandbox's records of both CRMs, in memory: what the request handlers read and change.

Salesforce rows live in ``sf`` (object name -> id -> row, as the REST API returns them) and
HubSpot records in ``hs`` (object type -> id -> record with string properties); ``counters``
hands out the next id per prefix or object type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from funnelsync.sandbox.common import sf_datetime, sf_id
from funnelsync.sandbox.hubspot.schema import PIPELINES
from funnelsync.sandbox.salesforce.schema import STAGE_INFO


class SfTables(dict):
    """Object name -> {id: row}. OpportunityHistory (5-6 rows per deal) is built on first use:
    most runs never read it, and building it would double the start-up time of big datasets."""

    def __init__(self) -> None:
        super().__init__()
        self.history_plan: list[tuple[dict, list[str], list[int]]] = []

    def __missing__(self, key: str) -> dict[str, dict]:
        if key != "OpportunityHistory":
            raise KeyError(key)
        rows: dict[str, dict] = {}
        for opp, path, times in self.history_plan:
            for stage, at in zip(path, times, strict=True):
                hid = sf_id("008", len(rows) + 1)
                rows[hid] = history_row(hid, opp, stage, at)
        self.history_plan = []
        self["OpportunityHistory"] = rows
        return rows


@dataclass
class Dataset:
    """Every record of both CRMs, relative to ``now_ms`` (the anchor day)."""

    now_ms: int
    sf: SfTables = field(default_factory=SfTables)  # object -> id -> row
    hs: dict[str, dict[str, dict]] = field(default_factory=dict)  # object -> id -> record
    hs_owners: list[dict] = field(default_factory=list)
    hs_assoc: dict[str, set[str]] = field(default_factory=dict)  # task id -> deal ids
    hs_contact_assoc: dict[str, set[str]] = field(default_factory=dict)  # task -> contact ids
    counters: dict[str, int] = field(default_factory=dict)  # next id number per prefix/object
    hs_pipelines: tuple = PIPELINES  # deal pipelines shaped as PIPELINES; a scenario changes them


def history_row(hid: str, opp: dict, stage: str, at: int) -> dict:
    """The OpportunityHistory row recording that ``opp`` entered ``stage`` at ``at`` (ms)."""
    _, prob, _, _, forecast = STAGE_INFO[stage]
    stamp = sf_datetime(at)
    return {
        "Id": hid, "IsDeleted": opp["IsDeleted"], "OpportunityId": opp["Id"],
        "StageName": stage, "Amount": opp["Amount"], "CloseDate": opp["CloseDate"],
        "Probability": float(prob), "ForecastCategory": forecast,
        "CurrencyIsoCode": opp["CurrencyIsoCode"], "CreatedById": opp["OwnerId"],
        "CreatedDate": stamp, "SystemModstamp": stamp,
    }
