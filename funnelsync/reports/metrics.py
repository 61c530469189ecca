"""Funnel metrics, pure: records, stage changes, catalog, config and a clock in; a FunnelReport out.

Definitions (FUNNEL_MODEL.md, made exact):
- A record *reached* stage k when its furthest stage (from the stage history and the current
  stage) is at or after k, so the funnel never widens; a lost record keeps the stage it left
  from, and every record counts at least at its object's first stage.
- Conversion of stage k = records that reached k+1 / records that reached k. The biggest
  drop-off is the step with the lowest conversion (the earliest on a tie).
- Leads/contacts and deals are two populations (the ``lead_funnel`` and the ``deal_funnel``):
  a converted lead and the deal made from it are not the same record, and adding them up
  would count the hand-over twice.
- Time in stage counts completed stays only (entering a funnel stage → entering the next one).
- Sales cycle: created → won (the history's entry into the won stage, else the close date).
- Money is in one currency: each deal's amount converted at its close date's rates (see
  ``reports.money``); a deal whose currency has no rate counts everywhere but in money totals,
  and ``unconverted_deals`` says how many.
- Win rate = won / closed deals; average deal value = mean amount of won deals.
- Pipeline: open deals per current stage now; weighted by the deal's probability, else the
  catalog probability of its stage, else 0.
- Sales velocity = open deals × win rate × average deal value ÷ median sales cycle (per day).
- The combined view counts each person once, at the furthest stage in either CRM, when a people
  mapping (record key → person id, see ``record_key``) is given; otherwise it adds the CRMs up
  and says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from funnelsync.config.models import AppConfig
from funnelsync.crm import CRM_NAMES
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.reports.currency import Rates
from funnelsync.reports.history import Journey, StageResolver, build_journeys, stage_stints
from funnelsync.reports.model import (
    Cohort,
    Distribution,
    DropOff,
    FunnelReport,
    FunnelSection,
    FunnelView,
    MergeInfo,
    PipelineRow,
    StageConversion,
    StageTime,
    Velocity,
    WinRate,
)
from funnelsync.reports.money import deal_converter, deals_currency, open_by_currency
from funnelsync.reports.stats import (
    as_utc_datetime,
    days_between,
    median,
    quantile,
    round_or_none,
)

Unit = tuple[int | None, str]  # (furthest funnel order, source holding it)


def build_report(deals: Iterable[FunnelDeal], leads: Iterable[FunnelLead],
                 changes: Iterable[StageChange], config: AppConfig, now: datetime, *,
                 catalog: Iterable[CatalogStage] = (), maps: StageMaps | None = None,
                 since: date | datetime | None = None, by: str | None = None,
                 people: Mapping[str, str] | None = None,
                 mql_stage: str = "interest", sql_stage: str = "consideration",
                 rates: Mapping[str, Rates] | None = None,
                 currency: str | None = None) -> FunnelReport:
    """Every report figure per CRM and combined. ``since`` keeps records created on or after
    it; ``by="month"`` adds monthly deal cohorts; ``people`` maps record keys to person ids;
    amounts are in ``currency`` (default: the deals' one currency) at each CRM's ``rates``."""
    resolver = StageResolver(config.funnel, maps or StageMaps(config))
    start = as_utc_datetime(since) if since is not None else None
    kept = [d for d in deals if _kept(d.created_at, start)]
    currency = currency or deals_currency(kept)
    deal_list, unconverted = in_currency(kept, dict(rates or {}), currency)
    lead_list = [lead for lead in leads if _kept(lead.created_at, start)]
    journeys = build_journeys(deal_list, lead_list, changes, resolver)
    ctx = _Context(resolver, _probabilities(catalog), by, mql_stage, sql_stage)
    present = [s for s in CRM_NAMES if any(j.source == s for j in journeys)]
    views = [build_view(s, [s], [j for j in journeys if j.source == s], ctx) for s in present]
    combined = build_view("combined", present, journeys, ctx, people=people)
    merge = merge_info(journeys, people)
    combined.notes.append(merge.note)
    if unconverted:
        combined.notes.append(f"{unconverted} deals left out of money totals: no exchange "
                              f"rate from their currency to {currency}")
    return FunnelReport(
        generated_at=now.astimezone(UTC).isoformat(), since=start.date().isoformat()
        if start else None, by=by,
        stages=[{"id": s.id, "label": s.label or s.id} for s in config.funnel.stages],
        currencies=sorted({d.currency for d in kept if d.currency}), currency=currency,
        unconverted_deals=unconverted, merge=merge, views=[*views, combined],
        open_by_currency=open_by_currency(kept, deal_list, dict(rates or {}), currency))


def in_currency(deals: list[FunnelDeal], rates: dict[str, Rates],
                currency: str) -> tuple[list[FunnelDeal], int]:
    """The deals with their amounts in ``currency``, and how many had no rate for it (their
    amount becomes None, so no money total adds it)."""
    to_report = deal_converter(rates, currency)
    out, unconverted = [], 0
    for deal in deals:
        if deal.amount is None:
            out.append(deal)
            continue
        amount = to_report(deal)
        unconverted += amount is None
        out.append(deal.model_copy(update={"amount": amount, "currency": currency
                                           if amount is not None else deal.currency}))
    return out, unconverted


class _Context:
    def __init__(self, resolver: StageResolver, probabilities: dict[tuple, float],
                 by: str | None, mql_stage: str, sql_stage: str) -> None:
        self.resolver = resolver
        self.probabilities = probabilities
        self.by = by
        self.mql_stage = mql_stage
        self.sql_stage = sql_stage


def _kept(created_at: datetime | None, start: datetime | None) -> bool:
    return start is None or (created_at is not None and created_at >= start)


def _probabilities(catalog: Iterable[CatalogStage]) -> dict[tuple, float]:
    return {(c.source, c.pipeline, c.stage): c.probability for c in catalog
            if c.kind == "deal" and c.probability is not None}


def build_view(name: str, sources: list[str], journeys: list[Journey], ctx: _Context, *,
               people: Mapping[str, str] | None = None) -> FunnelView:
    """All figures over one set of journeys."""
    res = ctx.resolver
    deals = [j for j in journeys if j.kind == "deal"]
    leads = [j for j in journeys if j.kind == "lead"]
    lead_units = person_units(journeys, people) if people is not None else _units(leads)
    lead_span = _span(res, sources, "lead", lead_units)
    win = win_rate(deals)
    avg = average_deal_value(deals)
    cycle = sales_cycle(deals)
    pipeline = pipeline_rows(deals, res, ctx.probabilities, _span(res, sources, "deal", []))
    view = FunnelView(
        name=name, sources=list(sources),
        lead_funnel=funnel_section(lead_units, lead_span, res,
                                   "people" if people is not None else "records"),
        deal_funnel=funnel_section(_units(deals), _span(res, sources, "deal", _units(deals)),
                                   res, "records"),
        time_in_stage=time_in_stage(journeys, res), sales_cycle=cycle, win_rate=win,
        avg_deal_value=avg, pipeline=pipeline, pipeline_total=_total(pipeline),
        velocity=velocity(deals, win, avg, cycle),
        mql_to_sql=stage_to_stage(leads, ctx.mql_stage, ctx.sql_stage),
        cohorts=monthly_cohorts(deals, res, _span(res, sources, "deal", _units(deals)))
        if ctx.by == "month" else [])
    return view


def _units(journeys: list[Journey]) -> list[Unit]:
    return [(j.furthest, j.source) for j in journeys]


def person_units(journeys: list[Journey], people: Mapping[str, str]) -> list[Unit]:
    """One unit per person (furthest stage over the person's records, and the CRM holding it);
    leads outside the mapping count on their own; deals count only when mapped to a person."""
    best: dict[str, Unit] = {}
    alone: list[Unit] = []
    for j in journeys:
        person = people.get(j.key)
        if person is None:
            if j.kind == "lead":
                alone.append((j.furthest, j.source))
            continue
        held = best.get(person)
        if held is None or _ord(j.furthest) > _ord(held[0]):
            best[person] = (j.furthest, j.source)
    return [*best.values(), *alone]


def _ord(order: int | None) -> int:
    return -1 if order is None else order


def merge_info(journeys: list[Journey], people: Mapping[str, str] | None) -> MergeInfo:
    """How many lead records the combined people funnel merged."""
    leads = sum(1 for j in journeys if j.kind == "lead")
    if people is None:
        return MergeInfo(False, leads, leads, 0,
                         "records were not merged: no people mapping was given, so a person "
                         "present in both CRMs counts once per CRM")
    mapped = [j for j in journeys if j.key in people]
    records = leads + sum(1 for j in mapped if j.kind == "deal")
    persons = len({people[j.key] for j in mapped}) + sum(
        1 for j in journeys if j.kind == "lead" and j.key not in people)
    return MergeInfo(True, records, persons, records - persons,
                     f"each person counts once at the furthest stage: {records} records are "
                     f"{persons} people ({records - persons} merged)")


def _span(res: StageResolver, sources: list[str], kind: str,
          units: list[Unit]) -> tuple[int, int] | None:
    """Stage orders a population covers: what its maps can produce, widened by what it did."""
    ends = [r for r in (res.stage_range(s, kind) for s in sources) if r is not None]
    seen = [u[0] for u in units if u[0] is not None]
    lows = [e[0] for e in ends] or seen
    highs = [e[1] for e in ends] + seen
    return (min(lows), max(highs)) if lows and highs else None


def funnel_section(units: list[Unit], span: tuple[int, int] | None, res: StageResolver,
                   unit_name: str) -> FunnelSection:
    """Conversion rows over the span and the biggest drop-off."""
    section = FunnelSection(units=unit_name, total=len(units))
    for _, source in units:
        section.furthest_by_source[source] = section.furthest_by_source.get(source, 0) + 1
    if span is None:
        return section
    reached = [sum(1 for f, _ in units if f is not None and f >= k)
               for k in range(span[0], span[1] + 1)]
    for i, k in enumerate(range(span[0], span[1] + 1)):
        stage = res.stage_ids[k]
        advanced = reached[i + 1] if i + 1 < len(reached) else None
        rate = _rate(advanced, reached[i]) if advanced is not None else None
        section.rows.append(StageConversion(stage, res.label(stage), reached[i], advanced, rate))
    section.biggest_drop_off = biggest_drop_off(section.rows)
    return section


def _rate(part: int | None, whole: int) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def biggest_drop_off(rows: list[StageConversion]) -> DropOff | None:
    """The step with the lowest conversion; the earliest wins a tie."""
    steps = [(r, nxt) for r, nxt in zip(rows, rows[1:], strict=False) if r.rate is not None]
    if not steps:
        return None
    row, nxt = min(steps, key=lambda s: s[0].rate or 0.0)
    advanced = row.advanced or 0
    return DropOff(row.stage, nxt.stage, row.reached, advanced, row.reached - advanced,
                   row.rate or 0.0)


def distribution(values: list[float]) -> Distribution:
    return Distribution(len(values), round_or_none(median(values)),
                        round_or_none(quantile(values, 0.9)))


def time_in_stage(journeys: list[Journey], res: StageResolver) -> list[StageTime]:
    """Median and p90 of completed stays, per funnel stage in funnel order."""
    stays: dict[str, list[float]] = defaultdict(list)
    for j in journeys:
        for stage, days in stage_stints(j, res):
            stays[stage].append(days)
    out = []
    for stage in res.stage_ids:
        if stage in stays:
            d = distribution(stays[stage])
            out.append(StageTime(stage, res.label(stage), d.n, d.median_days, d.p90_days))
    return out


def sales_cycle(deals: list[Journey]) -> Distribution:
    """Days from creation to won."""
    return distribution([days_between(j.created_at, j.closed_at) for j in deals
                         if j.outcome == "won" and j.created_at and j.closed_at])


def win_rate(deals: list[Journey]) -> WinRate:
    won = sum(1 for j in deals if j.outcome == "won")
    closed = won + sum(1 for j in deals if j.outcome == "lost")
    return WinRate(won, closed, _rate(won, closed))


def average_deal_value(deals: list[Journey]) -> float | None:
    amounts = [j.amount for j in deals if j.outcome == "won" and j.amount is not None]
    return _money(sum(amounts, Decimal(0)) / len(amounts)) if amounts else None


def _money(value: Decimal | float) -> float:
    return float(round(Decimal(value), 2))


def pipeline_rows(deals: list[Journey], res: StageResolver, probabilities: dict[tuple, float],
                  span: tuple[int, int] | None) -> list[PipelineRow]:
    """Open deals per current stage: count, amount and probability-weighted amount."""
    stages = [s for s in res.stage_ids if s != res.won]
    if span is not None:
        stages = [s for s in stages if span[0] <= (res.order(s) or 0) <= span[1]]
    sums: dict[str, list[Decimal]] = {s: [Decimal(0), Decimal(0), Decimal(0)] for s in stages}
    for j in deals:
        if j.outcome != "open" or j.current is None:
            continue
        row = sums.setdefault(j.current, [Decimal(0), Decimal(0), Decimal(0)])
        amount = j.amount or Decimal(0)
        row[0] += 1
        row[1] += amount
        row[2] += amount * Decimal(str(_probability(j, probabilities))) / 100
    ordered = sorted(sums, key=lambda s: (res.order(s) is None, res.order(s) or 0))
    return [PipelineRow(s, res.label(s), int(sums[s][0]), _money(sums[s][1]),
                        _money(sums[s][2])) for s in ordered]


def _probability(j: Journey, probabilities: dict[tuple, float]) -> float:
    if j.probability is not None:
        return j.probability
    raw = j.raw_path[-1][0] if j.raw_path else None
    return probabilities.get((j.source, j.pipeline, raw),
                             probabilities.get((j.source, None, raw), 0.0))


def _total(rows: list[PipelineRow]) -> PipelineRow:
    return PipelineRow("total", "Total", sum(r.count for r in rows),
                       _money(sum(r.amount for r in rows)),
                       _money(sum(r.weighted_amount for r in rows)))


def velocity(deals: list[Journey], win: WinRate, avg: float | None,
             cycle: Distribution) -> Velocity:
    open_deals = sum(1 for j in deals if j.outcome == "open")
    per_day = None
    if win.rate is not None and avg is not None and cycle.median_days:
        per_day = _money(open_deals * win.rate * avg / cycle.median_days)
    return Velocity(open_deals, win.rate, avg, cycle.median_days, per_day)


def stage_to_stage(journeys: list[Journey], first: str, second: str) -> Distribution:
    """Days from first entering one stage to first entering a later one (e.g. MQL → SQL)."""
    values = []
    for j in journeys:
        a, b = j.entered(first), j.entered(second)
        if a is not None and b is not None and b >= a:
            values.append(days_between(a, b))
    return distribution(values)


def monthly_cohorts(deals: list[Journey], res: StageResolver,
                    span: tuple[int, int] | None) -> list[Cohort]:
    """Deals by month of creation (UTC): how many reached each stage, won, lost, still open."""
    months: dict[str, list[Journey]] = defaultdict(list)
    for j in deals:
        if j.created_at is not None:
            months[j.created_at.astimezone(UTC).strftime("%Y-%m")].append(j)
    stages = res.stage_ids[span[0]:span[1] + 1] if span else []
    return [Cohort(month, len(items),
                   {s: sum(1 for j in items if _ord(j.furthest) >= _ord(res.order(s)))
                    for s in stages},
                   *(sum(1 for j in items if j.outcome == o) for o in ("won", "lost", "open")))
            for month, items in sorted(months.items())]
