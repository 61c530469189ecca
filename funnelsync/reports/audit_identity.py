"""Audit findings about people present in both CRMs: identity_stage_conflict and
identity_owner_conflict (issue 9). Evidence names record keys, stages and owner e-mails, never
the person's own e-mail or name."""

from __future__ import annotations

from collections.abc import Iterable

from funnelsync.config import AppConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.reports.audit_common import Finding
from funnelsync.sync.identity_service import lead_identity, link
from funnelsync.sync.identity_views import Conflict, conflicts

_STAGE_FIX = ("align the person's stage in both CRMs (or correct a wrong link with a never-link "
              "line in identity.overrides_file); identity.writeback_furthest_stage = true "
              "writes the furthest stage to the other CRM's funnel-stage field")
_OWNER_FIX = ("give the person one owner in both CRMs, or hand over explicitly; set "
              "identity.owner_conflicts = \"off\" when different owners are intended")


def identity_findings(leads: Iterable[FunnelLead], config: AppConfig,
                      directory: dict[str, dict[str, str]] | None = None) -> list[Finding]:
    """Stage and owner disagreements between the CRMs, one finding per person and kind."""
    if not config.identity.enabled or len(config.sources()) < 2:
        return []
    linking = link((lead_identity(x) for x in leads if not x.is_deleted), config)
    return [_finding(c, config) for c in conflicts(linking.people(), config, directory)]


def _finding(conflict: Conflict, config: AppConfig) -> Finding:
    evidence = {"person_id": conflict.person_id, "records": conflict.keys,
                **({"stages": conflict.values, "distance": conflict.distance}
                   if conflict.kind == "stage" else {"owners": conflict.values})}
    if conflict.kind == "stage":
        return Finding("identity_stage_conflict", "warning", "both", "",
                       f"person {conflict.person_id} is {conflict.distance} stages apart "
                       f"between the CRMs ({_spread(conflict)}); threshold "
                       f"identity.conflict_distance = {config.identity.conflict_distance}",
                       evidence, _STAGE_FIX)
    return Finding("identity_owner_conflict", "info", "both", "",
                   f"person {conflict.person_id} has different owners in the CRMs "
                   f"({_spread(conflict)})",
                   evidence, _OWNER_FIX)


def _spread(conflict: Conflict) -> str:
    return "; ".join(f"{source}: {', '.join(v)}" for source, v in conflict.values.items())


__all__ = ["identity_findings"]
