"""Audit checks that compare the stage definitions with what deals actually did."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from itertools import combinations

from funnelsync.crm import CRMS, CrmSpec
from funnelsync.mapping.schema import CatalogStage
from funnelsync.reports.audit.common import AuditOptions, Finding, Group, mapped, where_defined
from funnelsync.reports.history import Journey, StageResolver, stage_stints
from funnelsync.reports.stats import median, quantile, round_or_none, wilson_interval


def history_findings(groups: dict[Group, list[CatalogStage]], resolver: StageResolver,
                     journeys: list[Journey], now: datetime,
                     opts: AuditOptions) -> list[Finding]:
    """The history checks over every deal catalog group (source, pipeline)."""
    by_group: dict[Group, list[Journey]] = defaultdict(list)
    for j in journeys:
        by_group[(j.source, "deal", j.pipeline)].append(j)
    out: list[Finding] = []
    for group, stages in groups.items():
        if group[1] != "deal":
            continue
        mine = by_group.get(group, [])
        out += check_calibration(stages, mine, opts)
        if journeys:  # an empty store says nothing about use
            out += check_unused(stages, mine, now, opts)
        out += check_skipped(stages, mine, opts)
        out += check_backward(stages, mine, opts)
    out += check_cross_crm(groups, resolver, journeys, opts)
    out += check_max_days(resolver, journeys, opts)
    return out


def _visited(journey: Journey) -> set[str]:
    return {raw for raw, _ in journey.raw_path}


def check_calibration(stages: list[CatalogStage], journeys: list[Journey],
                      opts: AuditOptions) -> list[Finding]:
    """probability_calibration: stage probability vs the win rate of closed deals that
    reached the stage, with a Wilson 95% interval."""
    out: list[Finding] = []
    closed = [j for j in journeys if j.outcome != "open"]
    for stage in stages:
        if stage.is_closed or stage.probability is None or not stage.active:
            continue
        reached = [j for j in closed if stage.stage in _visited(j)]
        n, won = len(reached), sum(1 for j in reached if j.outcome == "won")
        interval = wilson_interval(won, n)
        if n < opts.calibration_min_n or interval is None:
            continue
        low, high = interval
        if low <= stage.probability / 100 <= high:
            continue
        out.append(_calibration_finding(stage, n, won, low, high))
    return out


def _calibration_finding(stage: CatalogStage, n: int, won: int, low: float,
                         high: float) -> Finding:
    observed = won / n
    where = where_defined(stage.source, stage.kind, stage.pipeline)
    return Finding(
        "probability_calibration", "warning", stage.source, stage.stage,
        f"{stage.label!r} says {stage.probability:g}% but {won} of {n} closed deals that "
        f"reached it were won ({observed:.0%}, 95% interval {low:.0%}–{high:.0%})",
        {"label": stage.label, "pipeline": stage.pipeline, "probability": stage.probability,
         "closed_deals": n, "won": won, "observed_win_rate": round(observed, 4),
         "ci95": [round(low, 4), round(high, 4)]},
        f"set the probability of {stage.label!r} to about {round(observed * 100)}% in {where}")


def check_unused(stages: list[CatalogStage], journeys: list[Journey], now: datetime,
                 opts: AuditOptions) -> list[Finding]:
    """stage_unused: an active stage no deal entered in the last N days."""
    out: list[Finding] = []
    for stage in stages:
        if not stage.active:
            continue
        times = [t for j in journeys for raw, t in j.raw_path if raw == stage.stage and t]
        last = max(times) if times else None
        if last is not None and (now - last).days <= opts.unused_days:
            continue
        where = where_defined(stage.source, stage.kind, stage.pipeline)
        out.append(Finding(
            "stage_unused", "info", stage.source, stage.stage,
            f"no deal entered {stage.label!r} in the last {opts.unused_days} days",
            {"label": stage.label, "pipeline": stage.pipeline, "days": opts.unused_days,
             "last_entered": last.isoformat() if last else None},
            f"if {stage.label!r} is retired, deactivate it in {where}; otherwise nothing "
            f"to change"))
    return out


def _orders(stages: list[CatalogStage]) -> dict[str, int]:
    return {s.stage: s.order for s in stages}


def _passed(path: list[str], orders: dict[str, int], lost: set[str],
            candidates: list[CatalogStage]) -> set[str]:
    """Candidate stages a path went past: from a lower stage to a higher, non-lost one."""
    passed: set[str] = set()
    low: int | None = None
    for raw in path:
        if low is not None and raw not in lost:
            passed |= {c.stage for c in candidates if low < c.order < orders[raw]}
        low = orders[raw] if low is None else min(low, orders[raw])
    return passed


def check_skipped(stages: list[CatalogStage], journeys: list[Journey],
                  opts: AuditOptions) -> list[Finding]:
    """stage_skipped: a stage many of the deals that went past it never entered."""
    orders = _orders(stages)
    lost = {s.stage for s in stages if s.is_closed and not s.is_won}
    candidates = [s for s in stages if s.active and not s.is_closed]
    passed: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    for j in journeys:
        path = [raw for raw, _ in j.raw_path if raw in orders]
        for stage in _passed(path, orders, lost, candidates):
            passed[stage] += 1
            skipped[stage] += stage not in path
    out: list[Finding] = []
    for stage in candidates:
        n, k = passed[stage.stage], skipped[stage.stage]
        if n >= opts.min_moves and k / n >= opts.skip_share:
            out.append(_skip_finding(stage, n, k))
    return out


def _skip_finding(stage: CatalogStage, n: int, k: int) -> Finding:
    where = where_defined(stage.source, stage.kind, stage.pipeline)
    return Finding(
        "stage_skipped", "warning", stage.source, stage.stage,
        f"{k} of {n} deals that went past {stage.label!r} skipped it ({k / n:.0%})",
        {"label": stage.label, "pipeline": stage.pipeline, "passed": n, "skipped": k,
         "share": round(k / n, 4)},
        f"merge {stage.label!r} into a neighbouring stage in {where}, or make it required "
        f"(e.g. a validation rule) if deals must go through it")


def check_backward(stages: list[CatalogStage], journeys: list[Journey],
                   opts: AuditOptions) -> list[Finding]:
    """backward_moves: a stage whose exits often go back to an earlier stage."""
    orders = _orders(stages)
    closed = {s.stage for s in stages if s.is_closed}
    exits: dict[str, int] = defaultdict(int)
    back: dict[str, int] = defaultdict(int)
    for j in journeys:
        path = [raw for raw, _ in j.raw_path if raw in orders]
        for a, b in zip(path, path[1:], strict=False):
            exits[a] += 1
            back[a] += b not in closed and orders[b] < orders[a]
    out: list[Finding] = []
    for stage in stages:
        n, k = exits[stage.stage], back[stage.stage]
        if n >= opts.min_moves and k / n >= opts.backward_share:
            out.append(Finding(
                "backward_moves", "warning", stage.source, stage.stage,
                f"{k} of {n} moves out of {stage.label!r} go back to an earlier stage",
                {"label": stage.label, "pipeline": stage.pipeline, "exits": n,
                 "backward": k, "share": round(k / n, 4)},
                f"tighten the entry criterion of {stage.label!r} (deals enter it too early) "
                f"or split it into the stages deals go back to"))
    return out


def _mean_probability(stages: list[CatalogStage]) -> float | None:
    probs = [s.probability for s in stages if s.probability is not None]
    return sum(probs) / len(probs) if probs else None


def _median_stay(journeys: list[Journey], resolver: StageResolver, source: str,
                 stage: str) -> tuple[int, float | None]:
    stays = [d for j in journeys if j.source == source
             for s, d in stage_stints(j, resolver) if s == stage]
    return len(stays), median(stays)


def check_cross_crm(groups: dict[Group, list[CatalogStage]], resolver: StageResolver,
                    journeys: list[Journey], opts: AuditOptions) -> list[Finding]:
    """cross_crm_mismatch: stages of two CRMs on one funnel stage that disagree."""
    per: dict[tuple[str, str], list[CatalogStage]] = defaultdict(list)
    for (source, kind, _), stages in groups.items():
        for s in stages:
            target = mapped(s, resolver)
            if kind == "deal" and s.active and not s.is_closed and target:
                per[(source, target)].append(s)
    out: list[Finding] = []
    for a, b in combinations(CRMS.values(), 2):
        for stage in resolver.stage_ids:
            stages_a, stages_b = per.get((a.name, stage), []), per.get((b.name, stage), [])
            if stages_a and stages_b:
                out += _probability_gap(stage, (a, stages_a), (b, stages_b), opts)
                out += _time_gap(stage, (a, b), resolver, journeys, opts)
    return out


def _probability_gap(stage: str, side_a: tuple[CrmSpec, list[CatalogStage]],
                     side_b: tuple[CrmSpec, list[CatalogStage]],
                     opts: AuditOptions) -> list[Finding]:
    (a, stages_a), (b, stages_b) = side_a, side_b
    pa, pb = _mean_probability(stages_a), _mean_probability(stages_b)
    if pa is None or pb is None or abs(pa - pb) <= opts.probability_gap:
        return []
    return [Finding(
        "cross_crm_mismatch", "warning", "combined", stage,
        f"funnel stage {stage!r}: {a.label} stages average {round(pa, 2):g}% but {b.label} "
        f"stages average {round(pb, 2):g}%",
        {f"{a.name}_stages": [s.stage for s in stages_a],
         f"{b.name}_stages": [s.stage for s in stages_b],
         f"{a.name}_probability": round(pa, 2), f"{b.name}_probability": round(pb, 2)},
        f"align the probabilities of {[s.label for s in stages_a]} ({a.label}) and "
        f"{[s.label for s in stages_b]} ({b.label}), or map them to different funnel stages")]


def _time_gap(stage: str, pair: tuple[CrmSpec, CrmSpec], resolver: StageResolver,
              journeys: list[Journey], opts: AuditOptions) -> list[Finding]:
    a, b = pair
    n_a, m_a = _median_stay(journeys, resolver, a.name, stage)
    n_b, m_b = _median_stay(journeys, resolver, b.name, stage)
    if min(n_a, n_b) < opts.time_min_n or m_a is None or m_b is None:
        return []
    low, high = sorted((m_a, m_b))
    if high <= opts.time_ratio * low:
        return []
    return [Finding(
        "cross_crm_mismatch", "info", "combined", stage,
        f"funnel stage {stage!r}: deals stay a median {m_a:.1f} days in {a.label} but "
        f"{m_b:.1f} days in {b.label}",
        {f"{a.name}_median_days": round(m_a, 2), f"{b.name}_median_days": round(m_b, 2),
         f"{a.name}_n": n_a, f"{b.name}_n": n_b},
        f"check that the stages mapped to {stage!r} mean the same in both CRMs; if they do "
        f"not, map them to different funnel stages")]


def check_max_days(resolver: StageResolver, journeys: list[Journey],
                   opts: AuditOptions) -> list[Finding]:
    """max_days_vs_p90: a stage's max_days far from the observed p90 time in stage."""
    stays: dict[str, list[float]] = defaultdict(list)
    for j in journeys:
        for stage, days in stage_stints(j, resolver):
            stays[stage].append(days)
    out: list[Finding] = []
    for fs in resolver.funnel.stages:
        values = stays.get(fs.id, [])
        p90 = quantile(values, 0.9)
        if fs.max_days is None or p90 is None or len(values) < opts.max_days_min_n:
            continue
        if opts.max_days_low * fs.max_days <= p90 <= opts.max_days_high * fs.max_days:
            continue
        side = "above" if p90 > fs.max_days else "below"
        out.append(Finding(
            "max_days_vs_p90", "warning", "combined", fs.id,
            f"max_days of {fs.id!r} is {fs.max_days} but 90% of stays end within "
            f"{p90:.1f} days ({side} the configured limit)",
            {"max_days": fs.max_days, "p90_days": round_or_none(p90), "n": len(values)},
            f"set max_days = {max(1, math.ceil(p90))} for id = {fs.id!r} under "
            f"[[funnel.stages]]"))
    return out
