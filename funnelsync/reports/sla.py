"""SLA compliance (pure): share of MQLs touched in time, median and p90 time to first touch,
overall, per owner and per lead source.

A timer is *met* when its lead was touched within ``first_touch_hours`` SLA hours, *missed* when
it was touched later or is still untouched past the limit, and *open* while untouched and
within it. The share met counts decided timers only (met / (met + missed)). Times to first
touch are SLA hours (business hours when configured). Baseline timers (MQL before tracking
began) have no known start and are counted apart, never in the figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from funnelsync.config.operations import SlaConfig
from funnelsync.reports.stats import median, quantile
from funnelsync.rules.sla import LeadTimer, hours, sla_elapsed

UNKNOWN = "(none)"


def timer_outcome(timer: LeadTimer, config: SlaConfig, now: datetime) -> tuple[str, float]:
    """("met" | "missed" | "open", SLA hours until the touch or until now)."""
    assert timer.mql_at is not None
    end = timer.touched_at or now
    spent = sla_elapsed(timer.mql_at, end, config)
    limit = timedelta(hours=config.first_touch_hours)
    if timer.touched_at is not None:
        return ("met" if spent <= limit else "missed"), hours(spent)
    return ("missed" if spent >= limit else "open"), hours(spent)


def _figures(items: list[tuple[str, float, bool]]) -> dict[str, Any]:
    met = sum(1 for outcome, _, _ in items if outcome == "met")
    missed = sum(1 for outcome, _, _ in items if outcome == "missed")
    touched = [spent for _, spent, was_touched in items if was_touched]
    p50, p90 = median(touched), quantile(touched, 0.9)
    return {"mqls": len(items), "met": met, "missed": missed,
            "open": len(items) - met - missed,
            "share_met": round(met / (met + missed), 4) if met + missed else None,
            "median_hours": None if p50 is None else round(p50, 2),
            "p90_hours": None if p90 is None else round(p90, 2)}


def sla_compliance(timers: Iterable[tuple[str, LeadTimer]], config: SlaConfig,
                   now: datetime) -> dict[str, Any]:
    """Figures overall, per CRM, per owner and per lead source, plus the baseline count."""
    overall: list[tuple[str, float, bool]] = []
    groups: dict[str, dict[str, list[tuple[str, float, bool]]]] = {
        "by_source": defaultdict(list), "by_owner": defaultdict(list),
        "by_lead_source": defaultdict(list)}
    baseline = 0
    for crm, timer in timers:
        if timer.mql_at is None:
            continue
        if timer.baseline:
            baseline += 1
            continue
        outcome, spent = timer_outcome(timer, config, now)
        item = (outcome, spent, timer.touched_at is not None)
        overall.append(item)
        groups["by_source"][crm].append(item)
        groups["by_owner"][f"{crm}:{timer.owner_id or UNKNOWN}"].append(item)
        groups["by_lead_source"][timer.lead_source or UNKNOWN].append(item)
    out: dict[str, Any] = {"first_touch_hours": config.first_touch_hours,
                           "business_hours": config.business_hours,
                           "timezone": config.timezone, "baseline": baseline,
                           "overall": _figures(overall)}
    for name, grouped in groups.items():
        out[name] = {key: _figures(items) for key, items in sorted(grouped.items())}
    return out


def sla_from_store(store: Any, config: SlaConfig, now: datetime) -> dict[str, Any]:
    """``sla_compliance`` over the timers a state store holds."""
    return sla_compliance(store.iter_timer_rows(), config, now)


def sla_html(section: dict[str, Any], table: Any, esc: Any) -> str:
    """An HTML section: overall figures, then per owner and per lead source tables."""
    headers = ["", "MQLs", "met", "missed", "open", "share met", "median h", "p90 h"]

    def rows(grouped: dict[str, dict[str, Any]]) -> list[list[Any]]:
        return [[key, f["mqls"], f["met"], f["missed"], f["open"],
                 "–" if f["share_met"] is None else f"{f['share_met']:.0%}",
                 f["median_hours"], f["p90_hours"]] for key, f in grouped.items()]

    parts = [f'<section id="sla"><h2>MQL → first touch SLA '
             f"({esc(section['first_touch_hours'])} h)</h2>",
             table(headers, rows({"all": section["overall"]})),
             "<h3>Per owner</h3>", table(headers, rows(section["by_owner"])),
             "<h3>Per lead source</h3>", table(headers, rows(section["by_lead_source"])),
             f'<p class="note">{esc(section["baseline"])} lead(s) were MQL before tracking '
             "began and are not counted.</p></section>"]
    return "".join(parts)


__all__ = ["sla_compliance", "sla_from_store", "sla_html", "timer_outcome"]
