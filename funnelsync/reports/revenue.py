"""From stored deals to the forecast and backtest documents, in one report currency.

Deals become timelines: funnel stages with entry times (closing appended at the close date when
the history lacks it), the amount converted at the close date, and the CRM's stage probability
along the raw stages. A deal whose currency has no rate is left out and listed, never added.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, StageChange
from funnelsync.reports.backtest import run_backtest
from funnelsync.reports.currency import report_currency
from funnelsync.reports.forecast import (
    DealForecast,
    Period,
    Terminal,
    Timeline,
    forecast_deals,
    period_bounds,
    sum_quantiles,
)
from funnelsync.reports.history import StageResolver, build_journeys
from funnelsync.reports.money import Converter, deal_converter, stored_rates
from funnelsync.reports.new_pipeline import expected_by_period, explain_inputs, flow_inputs
from funnelsync.reports.source import ReportStore, load_inputs
from funnelsync.reports.stats import as_utc_datetime


def _closing(deal: FunnelDeal) -> datetime | None:
    if deal.close_date is not None:
        return as_utc_datetime(deal.close_date)
    return deal.updated_at


def build_timelines(deals: Sequence[FunnelDeal], changes: Sequence[StageChange],
                    catalog: Sequence[CatalogStage], resolver: StageResolver,
                    convert: Converter) -> tuple[list[Timeline], list[dict[str, Any]]]:
    """Timelines of the deals with an amount in the report currency, and the deals left out."""
    probability = {(c.source, c.pipeline, c.stage): c.probability for c in catalog
                   if c.kind == "deal"}
    by_id = {(d.source, d.source_id): d for d in deals}
    timelines, excluded = [], []
    for j in build_journeys(deals, [], changes, resolver):
        deal = by_id[(j.source, j.record_id)]
        amount = convert(deal) if deal.amount is not None else Decimal(0)
        if amount is None:
            excluded.append({"deal": j.key, "currency": deal.currency,
                             "reason": "no exchange rate for this currency"})
            continue
        path = [(s, t) for s, t in j.funnel_path if t is not None]
        end = resolver.won if j.outcome == "won" else resolver.lost
        closed_at = j.closed_at or _closing(deal)
        if j.outcome != "open" and (not path or path[-1][0] != end) and closed_at:
            path.append((end, max(closed_at, path[-1][1]) if path else closed_at))
        crm = tuple((t, probability.get((j.source, j.pipeline, raw), deal.probability))
                    for raw, t in j.raw_path if t is not None)
        timelines.append(Timeline(j.key, f"{j.source}/{j.pipeline or '-'}", tuple(path),
                                  float(amount), deal.close_date, crm, deal.name,
                                  (deal.currency, _float(deal.amount)), j.created_at))
    return timelines, excluded


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _explain(d: DealForecast) -> dict[str, Any]:
    e = d.estimates[0]
    where = {"pipeline": f"in {d.timeline.group}", "stage": "in every pipeline",
             "age": "in every stage and pipeline (too few in this stage)",
             "pooled": "pooled over every stage and age (too few of this age)"}[e.basis]
    return {"deal": d.timeline.key, "name": d.timeline.name, "stage": d.stage,
            "pipeline": d.timeline.group, "age_days": round(d.age_days, 1),
            "amount": round(d.timeline.amount, 2),
            "original_currency": d.timeline.original[0],
            "original_amount": d.timeline.original[1],
            "close_date": d.timeline.close_date.isoformat() if d.timeline.close_date else None,
            "win_probability": round(sum(d.by_period), 4),
            "by_period": [round(p, 4) for p in d.by_period],
            "basis": e.basis, "sample_size": e.sample_size, "won": e.won,
            "fallback": e.basis in ("age", "pooled"),
            "why": f"{e.won} of {e.sample_size} deals {where} that were in {d.stage} after "
                   f"{d.age_days:.0f} days were won within the first period's distance"}


def build_forecast(timelines: Sequence[Timeline], as_of: datetime, kind: str, count: int,
                   terminal: Terminal, currency: str) -> dict[str, Any]:
    """The forecast document: per period expected bookings and P10/P50/P90 of the open deals
    and the expected bookings of deals not created yet; per deal and for the new pipeline,
    why."""
    periods = period_bounds(as_of, kind, count)
    deals = forecast_deals(timelines, as_of, periods, terminal)
    flow = flow_inputs(timelines, as_of, terminal)
    fresh = expected_by_period(flow, as_of, periods)
    rows = []
    for i, p in enumerate(periods):
        probs = [d.by_period[i] for d in deals]
        amounts = [d.timeline.amount for d in deals]
        p10, p50, p90 = sum_quantiles(amounts, probs)
        rows.append({"period": p.label,
                     "expected": round(sum(a * q for a, q in zip(amounts, probs, strict=True)),
                                       2),
                     "p10": round(p10, 2), "p50": round(p50, 2), "p90": round(p90, 2),
                     "open_deals": sum(q > 0 for q in probs),
                     "new_pipeline_expected": fresh[i]["expected"]})
    return {"currency": currency, "as_of": as_of.date().isoformat(), "periods": rows,
            "deals": [_explain(d) for d in deals],
            "new_pipeline": {"inputs": explain_inputs(flow), "periods": fresh}}


BACKTEST_PERIODS = 6  # default look-back of a backtest, in periods


def backtest_start(as_of: datetime, kind: str) -> date:
    """The default first backtest date: BACKTEST_PERIODS periods before ``as_of``."""
    return (as_of - timedelta(days=BACKTEST_PERIODS * (92 if kind == "quarter" else 31))).date()


def build_backtest(timelines: Sequence[Timeline], start: date, as_of: datetime, kind: str,
                   terminal: Terminal, currency: str) -> dict[str, Any]:
    """The backtest document from ``start`` to ``as_of``."""
    return run_backtest(timelines, as_utc_datetime(start), as_of, kind, terminal, currency)


def revenue_inputs(store: ReportStore, config: AppConfig) -> tuple[list[Timeline],
                                                                  list[dict[str, Any]], str,
                                                                  Terminal]:
    """Timelines of the stored deals in the report currency, the deals left out, that
    currency, and the funnel's won and lost stages."""
    data = load_inputs(store, config.sources())
    rates = stored_rates(store, config.sources())
    ordered = [rates[s] for s in ("salesforce", *config.sources()) if s in rates]
    currency = report_currency(config.report.currency, ordered)
    resolver = StageResolver(config.funnel, StageMaps(config))
    timelines, excluded = build_timelines(data.deals, data.changes, data.catalog, resolver,
                                          deal_converter(rates, currency))
    return timelines, excluded, currency, Terminal(resolver.won, resolver.lost)


def forecast_and_backtest(store: ReportStore, config: AppConfig, as_of: datetime,
                          kind: str = "month", count: int = 3
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The forecast of the coming periods and the default backtest, as the funnel report
    shows them."""
    timelines, _, currency, terminal = revenue_inputs(store, config)
    return (build_forecast(timelines, as_of, kind, count, terminal, currency),
            build_backtest(timelines, backtest_start(as_of, kind), as_of, kind, terminal,
                           currency))


PROBABILITY_HORIZON_DAYS = 180  # the written win probability: won within this many days


def win_probabilities(store: ReportStore, config: AppConfig, as_of: datetime
                      ) -> dict[str, tuple[float, str]]:
    """Per open deal (by record key): its chance of being won within PROBABILITY_HORIZON_DAYS,
    in percent, from the stage history alone, and why."""
    timelines, _, _, terminal = revenue_inputs(store, config)
    horizon = Period("horizon", as_of, as_of + timedelta(days=PROBABILITY_HORIZON_DAYS))
    out = {}
    for d in forecast_deals(timelines, as_of, [horizon], terminal, use_close_date=False):
        e = d.estimates[0]
        out[d.timeline.key] = (100 * d.by_period[0],
                               f"{e.won} of {e.sample_size} deals in {d.stage} after "
                               f"{d.age_days:.0f} days ({e.basis}) were won within "
                               f"{PROBABILITY_HORIZON_DAYS} days")
    return out


__all__ = ["BACKTEST_PERIODS", "PROBABILITY_HORIZON_DAYS", "backtest_start", "build_backtest",
           "build_forecast", "build_timelines", "deal_converter", "forecast_and_backtest",
           "revenue_inputs", "stored_rates", "win_probabilities"]
