"""What the audit checks share: the finding type, thresholds, and how to name a fix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from funnelsync.config.toml_text import toml_key
from funnelsync.mapping.schema import CatalogStage
from funnelsync.reports.history import StageResolver, vocabulary

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
Group = tuple[str, str, str | None]  # (source, kind, pipeline)


@dataclass
class Finding:
    """One audit result. ``check`` ids are stable; ``fix`` says exactly what to change."""

    check: str
    severity: Severity
    source: str
    stage: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditOptions:
    """Thresholds of the checks."""

    unused_days: int = 90
    skip_share: float = 0.30
    backward_share: float = 0.10
    min_moves: int = 5  # deals passing / exits needed before skips or backward moves count
    calibration_min_n: int = 10
    probability_gap: float = 25.0
    time_ratio: float = 2.0
    time_min_n: int = 5
    max_days_high: float = 1.5
    max_days_low: float = 0.5
    max_days_min_n: int = 10


def mapping_section(source: str, kind: str, pipeline: str | None) -> str:
    """The config table holding the map of one CRM object (and pipeline)."""
    stages = vocabulary(source, kind)
    if stages.default_pipeline is None:
        return stages.section
    return f"{stages.section}.{toml_key(pipeline or stages.default_pipeline)}"


def where_defined(source: str, kind: str, pipeline: str | None) -> str:
    """Where an admin edits the stage in the CRM."""
    return vocabulary(source, kind).where(pipeline)


def group_of(stage: CatalogStage) -> Group:
    return (stage.source, stage.kind, stage.pipeline if stage.kind == "deal" else None)


def group_catalog(catalog: Iterable[CatalogStage]) -> dict[Group, list[CatalogStage]]:
    """Catalog stages per (source, kind, pipeline), in the CRM's order."""
    groups: dict[Group, list[CatalogStage]] = defaultdict(list)
    for stage in catalog:
        groups[group_of(stage)].append(stage)
    for stages in groups.values():
        stages.sort(key=lambda s: s.order)
    return dict(groups)


def mapped(stage: CatalogStage, resolver: StageResolver) -> str | None:
    """The funnel stage the effective maps give a catalog stage (no pass-through)."""
    return resolver.table(stage.source, stage.kind, stage.pipeline).get(stage.stage)


def suggest_stage(stage: CatalogStage, siblings: list[CatalogStage],
                  resolver: StageResolver) -> str:
    """A funnel stage for a catalog stage: its closed flags, else its mapped neighbour."""
    if stage.is_won:
        return resolver.won
    if stage.is_closed:
        return resolver.lost
    before = [s for s in siblings if s.order <= stage.order and s is not stage]
    after = [s for s in siblings if s.order > stage.order]
    for candidate in [*reversed(before), *after]:
        target = mapped(candidate, resolver)
        if target is not None and resolver.order(target) is not None \
                and target != resolver.won and not candidate.is_closed:
            return target
    return _by_position(stage, siblings, resolver)


def _by_position(stage: CatalogStage, siblings: list[CatalogStage],
                 resolver: StageResolver) -> str:
    """No mapped neighbour (e.g. a whole custom pipeline): spread the open stages of the
    pipeline evenly over the funnel stages open deals occupy (consideration → decision)."""
    ids = resolver.stage_ids
    if stage.kind != "deal" or len(ids) < 3:
        return ids[0]
    start = resolver.order("consideration")
    targets = ids[start if start is not None else 1:-1] or ids[:1]
    open_stages = sorted((s for s in [*siblings, stage] if not s.is_closed),
                         key=lambda s: s.order)
    ordered = list(dict.fromkeys(s.stage for s in open_stages))
    position = ordered.index(stage.stage) if stage.stage in ordered else 0
    return targets[min(len(targets) - 1, position * len(targets) // max(1, len(ordered)))]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by check, source and stage, so output is stable."""
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.check, f.source,
                                           f.stage))
