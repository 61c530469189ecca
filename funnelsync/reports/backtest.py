"""How good the forecast was: rebuild the pipeline at past dates, forecast the next period
with only what was known then, and compare with what was won.

The calibrated forecast is the one of ``forecast_deals`` without close dates (their history is
not stored, and today's close date of a won deal is its win date). The naive one is amount × the
CRM's stage probability at that date, spread in time like the wins of the same sample. "Actual"
is what the deals open at that date went on to win within the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from funnelsync.reports.forecast import (
    Terminal,
    Timeline,
    forecast_deals,
    period_bounds,
    sum_quantiles,
)
from funnelsync.reports.new_pipeline import created_at, expected_by_period, flow_inputs


def won_within(timelines: Sequence[Timeline], keys: set[str], start: datetime,
               end: datetime, terminal: Terminal) -> float:
    """Amount won in [start, end) by the deals named in ``keys``."""
    total = 0.0
    for t in timelines:
        last = t.path[-1] if t.path else None
        if t.key in keys and last and last[0] == terminal.won and start <= last[1] < end:
            total += t.amount
    return total


def backtest_point(timelines: Sequence[Timeline], as_of: datetime, kind: str,
                   terminal: Terminal) -> dict[str, Any]:
    """One as-of date: the next period's forecast (P10/P50/P90), the naive one and the actual."""
    period = period_bounds(as_of, kind, 1)[0]
    deals = forecast_deals(timelines, as_of, [period], terminal, use_close_date=False)
    amounts = [d.timeline.amount for d in deals]
    p10, p50, p90 = sum_quantiles(amounts, [d.by_period[0] for d in deals])
    naive = 0.0
    for d in deals:
        est = d.estimates[0]
        share = est.won / est.won_ever if est.won_ever else 0.0  # wins falling in the window
        crm = d.timeline.crm_probability_at(as_of) or 0.0
        naive += d.timeline.amount * crm / 100 * share
    actual = won_within(timelines, {d.timeline.key for d in deals}, period.start, period.end,
                        terminal)
    fresh = expected_by_period(flow_inputs(timelines, as_of, terminal), as_of, [period])[0]
    later = {t.key for t in timelines if (c := created_at(t)) is not None and c >= as_of}
    return {"as_of": as_of.date().isoformat(), "period": period.label,
            "forecast_p50": round(p50, 2), "p10": round(p10, 2), "p90": round(p90, 2),
            "actual": round(actual, 2), "naive": round(naive, 2), "open_deals": len(deals),
            "new_pipeline_expected": fresh["expected"],
            "new_pipeline_actual": round(won_within(timelines, later, period.start, period.end,
                                                    terminal), 2)}


def backtest_dates(start: datetime, end: datetime, kind: str) -> list[datetime]:
    """Starts of every whole calendar period that begins at or after ``start`` and ends by
    ``end``."""
    step = 3 if kind == "quarter" else 1
    month = (start.month - 1) // step * step + 1
    at = datetime(start.year, month, 1, tzinfo=start.tzinfo)
    if at < start:
        at = period_bounds(at, kind, 1)[0].end
    out = []
    while (period := period_bounds(at, kind, 1)[0]).end <= end:
        out.append(at)
        at = period.end
    return out


def _mape(points: Sequence[dict[str, Any]], key: str, actual: str = "actual") -> float | None:
    scored = [p for p in points if p.get(actual, 0) > 0]
    if not scored:
        return None
    return round(sum(abs(p[key] - p[actual]) / p[actual] for p in scored) / len(scored), 4)


def score(points: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """MAPE and bias of P50, P10-P90 coverage, and the naive MAPE, over the points (MAPE and
    bias only where something was won); the new pipeline's MAPE where its points have one."""
    scored = [p for p in points if p["actual"] > 0]
    if not points:
        return {"mape": None, "bias": None, "coverage": None, "naive_mape": None}

    actual = sum(p["actual"] for p in scored)
    bias = round(sum(p["forecast_p50"] - p["actual"] for p in scored) / actual, 4) \
        if actual else None
    coverage = sum(p["p10"] <= p["actual"] <= p["p90"] for p in points) / len(points)
    out = {"mape": _mape(points, "forecast_p50"), "bias": bias, "coverage": round(coverage, 4),
           "naive_mape": _mape(points, "naive")}
    if any("new_pipeline_actual" in p for p in points):
        out["new_pipeline_mape"] = _mape(points, "new_pipeline_expected", "new_pipeline_actual")
    return out


def run_backtest(timelines: Sequence[Timeline], start: datetime, end: datetime, kind: str,
                 terminal: Terminal, currency: str) -> dict[str, Any]:
    """The backtest document: points and their scores."""
    points = [backtest_point(timelines, at, kind, terminal)
              for at in backtest_dates(start, end, kind)]
    return {"currency": currency, "points": points, **score(points)}


__all__ = ["backtest_dates", "backtest_point", "run_backtest", "score", "won_within"]
