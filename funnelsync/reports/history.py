"""Per-record stage journeys: the shared ground of the metrics and the audit.

A journey is one lead or deal with its stage path in time order, both as raw CRM values and as
funnel stages. Stage changes may carry raw CRM values (StageName, HubSpot stage ids, Lead.Status,
lifecyclestage) or funnel stage ids already; both are understood.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from funnelsync.config.models import FunnelConfig
from funnelsync.crm import StageVocabulary, crm_spec
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import FunnelDeal, FunnelLead, StageChange
from funnelsync.reports.stats import as_utc_datetime

Kind = Literal["lead", "deal"]
Outcome = Literal["won", "lost", "open"]
Entry = tuple[str, datetime | None]  # (stage, entered at; None when unknown)


def vocabulary(source: str, kind: str) -> StageVocabulary:
    """The stage vocabulary of one CRM object (``kind`` "lead" or "deal")."""
    return crm_spec(source).stages["lead" if kind == "lead" else "deal"]


def record_key(source: str, kind: str, record_id: str) -> str:
    """The key a people mapping uses for one record, e.g. ``salesforce:lead:00Q...``."""
    return f"{source}:{kind}:{record_id}"


class StageResolver:
    """Maps raw CRM stage values to funnel stages and funnel stages to their order."""

    def __init__(self, funnel: FunnelConfig, maps: StageMaps) -> None:
        self.funnel = funnel
        self.maps = maps
        self.stage_ids = funnel.stage_ids()
        self.lost = funnel.lost_stage
        self.won = self.stage_ids[-1]  # the last stage of the order is the won/closed stage
        self._order = {sid: i for i, sid in enumerate(self.stage_ids)}

    def table(self, source: str, kind: str, pipeline: str | None = None) -> dict[str, str]:
        """The raw value → funnel stage map of one CRM object (and pipeline, where the CRM's
        stages are per pipeline)."""
        return vocabulary(source, kind).table(self.maps, pipeline)

    def resolve(self, source: str, kind: str, raw: str | None,
                pipeline: str | None = None) -> str | None:
        """Funnel stage of a raw value; a value that already is a funnel stage id passes."""
        if raw is None:
            return None
        mapped = self.table(source, kind, pipeline).get(raw)
        if mapped is not None:
            return mapped
        return raw if raw in self._order or raw == self.lost else None

    def order(self, stage: str | None) -> int | None:
        """0-based position in the funnel; None for lost, unknown or None."""
        return self._order.get(stage) if stage is not None else None

    def label(self, stage: str) -> str:
        for s in self.funnel.stages:
            if s.id == stage:
                return s.label or s.id
        return stage

    def stage_range(self, source: str, kind: str) -> tuple[int, int] | None:
        """Lowest and highest funnel order the maps of one CRM object can produce."""
        tables = vocabulary(source, kind).tables(self.maps).values()  # every pipeline's
        targets = {t for table in tables for t in table.values()}
        orders = [o for o in (self.order(t) for t in targets) if o is not None]
        return (min(orders), max(orders)) if orders else None


@dataclass(frozen=True)
class Journey:
    """One record's path through the stages, with what the metrics need about it."""

    key: str
    source: str
    kind: Kind
    record_id: str
    pipeline: str | None
    created_at: datetime | None
    raw_path: tuple[Entry, ...]
    funnel_path: tuple[Entry, ...]
    current: str | None
    furthest: int | None
    outcome: Outcome
    closed_at: datetime | None
    amount: Decimal | None
    probability: float | None

    def entered(self, stage: str) -> datetime | None:
        """When the record first entered a funnel stage (None if never or unknown)."""
        return next((t for s, t in self.funnel_path if s == stage), None)


def group_changes(changes: Iterable[StageChange]) -> dict[tuple[str, str], list[StageChange]]:
    """Stage changes per (source, record id), each list in time order."""
    grouped: dict[tuple[str, str], list[StageChange]] = defaultdict(list)
    for change in changes:
        grouped[(change.source, change.record_id)].append(change)
    for items in grouped.values():
        items.sort(key=lambda c: c.changed_at)
    return grouped


def build_raw_path(changes: list[StageChange], current: str | None,
                   created_at: datetime | None,
                   current_since: datetime | None) -> tuple[Entry, ...]:
    """Raw stages in time order: the first change's from-stage (entered at creation), every
    change's to-stage, and the current stage when the history does not end there."""
    path: list[Entry] = []
    if changes and changes[0].from_stage and changes[0].from_stage != changes[0].to_stage:
        path.append((changes[0].from_stage, created_at))
    for change in changes:
        if not path or path[-1][0] != change.to_stage:
            path.append((change.to_stage, change.changed_at))
    if current and (not path or path[-1][0] != current):
        path.append((current, current_since if path else current_since or created_at))
    return tuple(path)


def to_funnel_path(raw_path: tuple[Entry, ...],
                   resolve: Callable[[str], str | None]) -> tuple[Entry, ...]:
    """Funnel stages in time order; unmapped raw values are dropped, repeats collapsed."""
    path: list[Entry] = []
    for raw, at in raw_path:
        stage = resolve(raw)
        if stage is not None and (not path or path[-1][0] != stage):
            path.append((stage, at))
    return tuple(path)



def _furthest(path: tuple[Entry, ...], resolver: StageResolver, floor: int | None) -> int | None:
    """Furthest funnel order reached; lost keeps the stage it left from. Every record counts
    at least at its object's first stage (a deal created lost still entered the pipeline)."""
    orders = [o for o in (resolver.order(s) for s, _ in path) if o is not None]
    if floor is not None:
        orders.append(floor)
    return max(orders) if orders else None


def deal_outcome(deal: FunnelDeal, current: str | None, resolver: StageResolver) -> Outcome:
    if deal.is_won or current == resolver.won:
        return "won"
    if deal.is_closed or current == resolver.lost:
        return "lost"
    return "open"


def deal_journey(deal: FunnelDeal, changes: list[StageChange],
                 resolver: StageResolver) -> Journey:
    """The journey of one opportunity/deal."""
    raw = build_raw_path(changes, deal.stage, deal.created_at, deal.stage_entered_at)
    fpath = to_funnel_path(raw, lambda v: resolver.resolve(deal.source, "deal", v, deal.pipeline))
    current = deal.funnel_stage or resolver.resolve(deal.source, "deal", deal.stage,
                                                    deal.pipeline)
    outcome = deal_outcome(deal, current, resolver)
    closed_at = _won_at(fpath, deal, resolver) if outcome == "won" else None
    span = resolver.stage_range(deal.source, "deal")
    furthest = _furthest(fpath, resolver, span[0] if span else None)
    if outcome == "won":
        furthest = resolver.order(resolver.won)
    return Journey(record_key(deal.source, "deal", deal.source_id), deal.source, "deal",
                   deal.source_id, deal.pipeline, deal.created_at, raw, fpath, current,
                   furthest, outcome, closed_at, deal.amount, deal.probability)


def _won_at(fpath: tuple[Entry, ...], deal: FunnelDeal,
            resolver: StageResolver) -> datetime | None:
    entered = next((t for s, t in fpath if s == resolver.won), None)
    if entered is not None:
        return entered
    return as_utc_datetime(deal.close_date) if deal.close_date else None


def lead_journey(lead: FunnelLead, changes: list[StageChange],
                 resolver: StageResolver) -> Journey:
    """The journey of one lead/contact."""
    raw = build_raw_path(changes, lead.status, lead.created_at, None)
    fpath = to_funnel_path(raw, lambda v: resolver.resolve(lead.source, "lead", v))
    current = lead.funnel_stage or resolver.resolve(lead.source, "lead", lead.status)
    outcome: Outcome = ("won" if current == resolver.won
                        else "lost" if current == resolver.lost else "open")
    span = resolver.stage_range(lead.source, "lead")
    return Journey(record_key(lead.source, "lead", lead.source_id), lead.source, "lead",
                   lead.source_id, None, lead.created_at, raw, fpath, current,
                   _furthest(fpath, resolver, span[0] if span else None), outcome, None,
                   None, None)


def build_journeys(deals: Iterable[FunnelDeal], leads: Iterable[FunnelLead],
                   changes: Iterable[StageChange], resolver: StageResolver) -> list[Journey]:
    """Journeys of every non-deleted deal and lead. A change belongs to the deal with its
    (source, record id) when there is one, else to the lead."""
    grouped = group_changes(changes)
    out = [deal_journey(d, grouped.get((d.source, d.source_id), []), resolver)
           for d in deals if not d.is_deleted]
    deal_ids = {(j.source, j.record_id) for j in out}
    out += [lead_journey(lead, _lead_changes(grouped, lead, deal_ids), resolver)
            for lead in leads if not lead.is_deleted]
    return out


def _lead_changes(grouped: dict[tuple[str, str], list[StageChange]], lead: FunnelLead,
                  deal_ids: set[tuple[str, str]]) -> list[StageChange]:
    key = (lead.source, lead.source_id)
    # HubSpot ids are unique per object type only; a lead sharing a deal's id gets no history
    # rather than the deal's.
    return [] if key in deal_ids else grouped.get(key, [])


def stage_stints(journey: Journey, resolver: StageResolver) -> list[tuple[str, float]]:
    """Completed stays in funnel stages: (stage, days) from entering to the next stage.

    The stay still under way is left out (its end is unknown); terminal stages have none.
    """
    out: list[tuple[str, float]] = []
    path = journey.funnel_path
    for (stage, start), (_, end) in zip(path, path[1:], strict=False):
        if start is None or end is None or stage in (resolver.won, resolver.lost):
            continue
        out.append((stage, (end - start).total_seconds() / 86_400.0))
    return out
