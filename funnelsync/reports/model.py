"""The FunnelReport structure: plain dataclasses that serialise to JSON as they are.

Durations are days (floats, 2 decimals), rates are shares 0..1 (4 decimals), money is a float
(2 decimals) in the one report currency (``currency``); ``currencies`` lists the deals'
original currencies and ``unconverted_deals`` counts deals left out of money totals (no rate);
``open_by_currency`` shows the open pipeline per original currency, as the CRMs hold it and
converted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StageConversion:
    """Records that reached a stage, and how many of them reached the next one."""

    stage: str
    label: str
    reached: int
    advanced: int | None  # reached the next stage; None on the last row
    rate: float | None  # advanced / reached


@dataclass
class DropOff:
    from_stage: str
    to_stage: str
    reached: int
    advanced: int
    dropped: int
    rate: float  # conversion rate of the step; the biggest drop-off has the lowest rate


@dataclass
class FunnelSection:
    """One population's funnel: leads/contacts (or people) or deals."""

    units: str  # "records" or "people"
    total: int
    rows: list[StageConversion] = field(default_factory=list)
    biggest_drop_off: DropOff | None = None
    furthest_by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class Distribution:
    n: int
    median_days: float | None
    p90_days: float | None


@dataclass
class StageTime:
    stage: str
    label: str
    n: int
    median_days: float | None
    p90_days: float | None


@dataclass
class WinRate:
    won: int
    closed: int
    rate: float | None


@dataclass
class PipelineRow:
    stage: str
    label: str
    count: int
    amount: float
    weighted_amount: float


@dataclass
class Velocity:
    """Sales velocity = open deals × win rate × average deal value ÷ cycle length (days)."""

    open_deals: int
    win_rate: float | None
    avg_deal_value: float | None
    cycle_days: float | None
    value_per_day: float | None


@dataclass
class Cohort:
    """Deals created in one month, and how far they got."""

    month: str
    created: int
    reached: dict[str, int]
    won: int
    lost: int
    open: int


@dataclass
class FunnelView:
    """Every figure for one CRM, or for both combined."""

    name: str
    sources: list[str]
    lead_funnel: FunnelSection
    deal_funnel: FunnelSection
    time_in_stage: list[StageTime]
    sales_cycle: Distribution
    win_rate: WinRate
    avg_deal_value: float | None
    pipeline: list[PipelineRow]
    pipeline_total: PipelineRow
    velocity: Velocity
    mql_to_sql: Distribution
    cohorts: list[Cohort] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class MergeInfo:
    """How the combined view counted people."""

    people_mapping: bool
    records: int
    people: int
    merged_records: int
    note: str


@dataclass
class CurrencyAmount:
    """Open deals of one original currency: their amounts as held, and in the report currency
    (``unconverted`` of them have no rate and are in ``amount`` only)."""

    currency: str
    deals: int
    amount: float
    converted: float
    unconverted: int


@dataclass
class FunnelReport:
    generated_at: str
    since: str | None
    by: str | None
    stages: list[dict[str, str]]
    currencies: list[str]
    currency: str
    unconverted_deals: int
    merge: MergeInfo
    views: list[FunnelView]
    sla: dict[str, Any] | None = None  # SLA attainment, when [sla] is configured
    open_by_currency: list[CurrencyAmount] = field(default_factory=list)

    def view(self, name: str) -> FunnelView:
        """The view of one CRM (``salesforce``, ``hubspot``) or ``combined``."""
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.sla is None:
            del data["sla"]  # only configs with [sla] have the section
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
