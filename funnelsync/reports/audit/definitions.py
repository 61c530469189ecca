"""The stage-definition linter, pure: catalogs, maps, funnel config, deals, history and a clock.

Check ids (stable): unmapped_stage, missing_stage, probability_order, closed_flag_conflict
(definition checks, here) and probability_calibration, stage_unused, stage_skipped,
backward_moves, cross_crm_mismatch, max_days_vs_p90 (history checks, ``audit.history``).
The CLI exits 0 when ``has_errors`` is false, 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funnelsync.config.models import FunnelConfig
from funnelsync.config.toml_text import toml_key
from funnelsync.crm import CRM_NAMES
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, StageChange
from funnelsync.reports.audit.common import (
    AuditOptions,
    Finding,
    Group,
    group_catalog,
    mapped,
    mapping_section,
    sort_findings,
    suggest_stage,
    where_defined,
)
from funnelsync.reports.audit.history import history_findings
from funnelsync.reports.history import StageResolver, build_journeys, vocabulary

__all__ = ["AuditOptions", "AuditResult", "Finding", "has_errors", "run_audit"]

_BUILTIN_MAPS = StageMaps()  # the built-in maps, without the config's overrides


@dataclass
class AuditResult:
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings]}

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error: the CLI then exits 1."""
    return any(f.severity == "error" for f in findings)


def run_audit(catalog: Iterable[CatalogStage], maps: StageMaps, funnel: FunnelConfig,
              deals: Iterable[FunnelDeal], changes: Iterable[StageChange], now: datetime,
              options: AuditOptions | None = None) -> AuditResult:
    """Every check over the catalogs (both CRMs) and the stored deals and stage history."""
    opts = options or AuditOptions()
    resolver = StageResolver(funnel, maps)
    groups = group_catalog(catalog)
    journeys = build_journeys(deals, (), changes, resolver)
    findings = [*definition_findings(groups, resolver),
                *history_findings(groups, resolver, journeys, now, opts)]
    return AuditResult(sort_findings(findings))


def definition_findings(groups: dict[Group, list[CatalogStage]],
                        resolver: StageResolver) -> list[Finding]:
    """Checks that need only the catalogs and the maps."""
    out: list[Finding] = []
    for stages in groups.values():
        for stage in stages:
            out += check_unmapped(stage, stages, resolver)
            out += check_closed_flags(stage, stages, resolver)
        out += check_probability_order(stages, resolver)
    out += check_missing(groups, resolver)
    return out


def _evidence(stage: CatalogStage) -> dict[str, Any]:
    return {"label": stage.label, "kind": stage.kind, "pipeline": stage.pipeline,
            "order": stage.order, "probability": stage.probability,
            "is_closed": stage.is_closed, "is_won": stage.is_won}


def check_unmapped(stage: CatalogStage, siblings: list[CatalogStage],
                   resolver: StageResolver) -> list[Finding]:
    """unmapped_stage: an active CRM stage the maps do not place in the funnel."""
    if not stage.active or mapped(stage, resolver) is not None:
        return []
    suggestion = suggest_stage(stage, siblings, resolver)
    section = mapping_section(stage.source, stage.kind, stage.pipeline)
    return [Finding(
        "unmapped_stage", "error", stage.source, stage.stage,
        f"active {stage.source} {stage.kind} stage {stage.label!r} has no funnel stage; its "
        f"records are left out of the funnel", _evidence(stage),
        f'add {toml_key(stage.stage)} = "{suggestion}" under [{section}]')]


def check_closed_flags(stage: CatalogStage, siblings: list[CatalogStage],
                       resolver: StageResolver) -> list[Finding]:
    """closed_flag_conflict: IsClosed/IsWon of a deal stage contradict its funnel stage."""
    target = mapped(stage, resolver)
    if stage.kind != "deal" or target is None:
        return []
    if stage.is_won:
        expected = resolver.won
    elif stage.is_closed:
        expected = resolver.lost
    elif target in (resolver.won, resolver.lost):
        expected = suggest_stage(stage, siblings, resolver)
    else:
        return []
    if target == expected:
        return []
    flags = "closed won" if stage.is_won else "closed lost" if stage.is_closed else "open"
    section = mapping_section(stage.source, stage.kind, stage.pipeline)
    return [Finding(
        "closed_flag_conflict", "error", stage.source, stage.stage,
        f"{stage.label!r} is {flags} in {stage.source} but mapped to {target!r}",
        {**_evidence(stage), "mapped_to": target},
        f'set {toml_key(stage.stage)} = "{expected}" under [{section}]')]


def check_probability_order(stages: list[CatalogStage],
                            resolver: StageResolver) -> list[Finding]:
    """probability_order: probabilities must not fall along the funnel order."""
    ranked = [(resolver.order(mapped(s, resolver)), s) for s in stages
              if s.kind == "deal" and s.active and not s.is_closed and s.probability is not None]
    ranked = sorted(((o, s) for o, s in ranked if o is not None),
                    key=lambda p: (p[0], p[1].order))
    out: list[Finding] = []
    top: CatalogStage | None = None
    for _, stage in ranked:
        prob = stage.probability or 0.0
        if top is not None and prob < (top.probability or 0.0):
            out.append(_order_finding(stage, top))
        elif top is None or prob > (top.probability or 0.0):
            top = stage
    return out


def _order_finding(stage: CatalogStage, top: CatalogStage) -> Finding:
    where = where_defined(stage.source, stage.kind, stage.pipeline)
    return Finding(
        "probability_order", "warning", stage.source, stage.stage,
        f"{stage.label!r} ({stage.probability:g}%) comes after {top.label!r} "
        f"({top.probability:g}%) in the funnel but has a lower probability",
        {**_evidence(stage), "earlier_stage": top.stage,
         "earlier_probability": top.probability},
        f"raise the probability of {stage.label!r} to at least {top.probability:g}% in "
        f"{where}, or map it to an earlier funnel stage")


def _map_groups(groups: dict[Group, list[CatalogStage]],
                resolver: StageResolver) -> list[Group]:
    """Maps worth checking: those whose CRM object has a catalog at all (one per pipeline
    where the object's stages are per pipeline)."""
    present = {(src, kind) for src, kind, _ in groups}
    return [(source, kind, pipeline) for source in CRM_NAMES for kind in ("deal", "lead")
            if (source, kind) in present
            for pipeline in vocabulary(source, kind).pipelines(resolver.maps)]


def check_missing(groups: dict[Group, list[CatalogStage]],
                  resolver: StageResolver) -> list[Finding]:
    """missing_stage: a configured value the CRM catalog no longer has. Built-in defaults
    an org does not use are not findings: a renamed stage shows up as unmapped_stage."""
    out: list[Finding] = []
    for source, kind, pipeline in _map_groups(groups, resolver):
        known = [s.stage for s in groups.get((source, kind, pipeline), [])]
        builtin = _builtin(source, kind, pipeline)
        for value, target in resolver.table(source, kind, pipeline).items():
            if value not in known and builtin.get(value) != target:
                out.append(_missing_finding(source, kind, pipeline, value, target, known))
    return out


def _builtin(source: str, kind: str, pipeline: str | None) -> dict[str, str]:
    return vocabulary(source, kind).table(_BUILTIN_MAPS, pipeline)


def _missing_finding(source: str, kind: str, pipeline: str | None, value: str, target: str,
                     known: list[str]) -> Finding:
    section = mapping_section(source, kind, pipeline)
    where = f"pipeline {pipeline!r}" if pipeline else f"{source} {kind} catalog"
    listed = ", ".join(repr(k) for k in known[:10]) or "none"
    return Finding(
        "missing_stage", "warning", source, value,
        f"{value!r} is mapped to {target!r} but the {where} has no such stage",
        {"kind": kind, "pipeline": pipeline, "mapped_to": target,
         "catalog_stages": known[:10]},
        f"remove {toml_key(value)} from [{section}] or correct it to one of: {listed}")
