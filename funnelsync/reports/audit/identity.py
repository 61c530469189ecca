"""Audit findings about people present in both CRMs: identity_stage_conflict and
identity_owner_conflict. Evidence names record keys, stages and owner e-mails, never
the person's own e-mail or name."""

from __future__ import annotations

from collections.abc import Iterable

from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.reports.audit.common import Finding
from funnelsync.rules.people import Conflict, conflicts, link_leads

_STAGE_FIX = ("align the person's stage in both CRMs (or correct a wrong link with a never-link "
              "line in identity.overrides_file); identity.writeback_furthest_stage = true "
              "writes the furthest stage to the other CRM's funnel-stage field")
_OWNER_FIX = ("give the person one owner in both CRMs, or hand over explicitly; set "
              "identity.owner_conflicts = \"off\" when different owners are intended")


EXAMPLES = 20  # people named in a finding's evidence; the rest are counted


def identity_findings(leads: Iterable[FunnelLead], config: AppConfig,
                      directory: dict[str, dict[str, str]] | None = None) -> list[Finding]:
    """Stage and owner disagreements between the CRMs: one finding per kind, counting the
    people affected, with the widest disagreements first among the examples."""
    if not config.identity.enabled or len(config.sources()) < 2:
        return []
    linking = link_leads(leads, config.identity)
    found = conflicts(linking.people(), config, directory)
    stage = sorted((c for c in found if c.kind == "stage"), key=lambda c: -(c.distance or 0))
    owner = [c for c in found if c.kind != "stage"]
    findings = []
    if stage:
        findings.append(_stage_finding(stage, config))
    if owner:
        findings.append(_owner_finding(owner))
    return findings


def _example(conflict: Conflict) -> dict[str, object]:
    example: dict[str, object] = {"person_id": conflict.person_id, "records": conflict.keys}
    if conflict.kind == "stage":
        example.update(stages=conflict.values, distance=conflict.distance)
    else:
        example["owners"] = conflict.values
    return example


def _stage_finding(stage: list[Conflict], config: AppConfig) -> Finding:
    widest = stage[0]
    evidence = {"people": len(stage), "distance": widest.distance,
                "examples": [_example(c) for c in stage[:EXAMPLES]]}
    return Finding("identity_stage_conflict", "warning", "both", "",
                   f"{len(stage)} people are at least {config.identity.conflict_distance} "
                   f"funnel stages apart between the CRMs (widest: {widest.distance}, "
                   f"{_spread(widest)})", evidence, _STAGE_FIX)


def _owner_finding(owner: list[Conflict]) -> Finding:
    evidence = {"people": len(owner), "examples": [_example(c) for c in owner[:EXAMPLES]]}
    return Finding("identity_owner_conflict", "info", "both", "",
                   f"{len(owner)} people have different owners in the two CRMs "
                   f"(e.g. {_spread(owner[0])})", evidence, _OWNER_FIX)


def _spread(conflict: Conflict) -> str:
    return "; ".join(f"{source}: {', '.join(v)}" for source, v in conflict.values.items())


__all__ = ["identity_findings"]
