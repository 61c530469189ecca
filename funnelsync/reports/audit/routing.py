"""Audit of the operating rules (pure): routing rules and teams, and the SLA.

Checks (``check`` ids are stable):
- ``routing_rule_unused``: a rule that matched no lead in the last ``unused_days`` (per CRM,
  from the routing state the sync keeps).
- ``routing_rule_shadowed``: every lead a rule could match is matched by an earlier rule first.
- ``routing_team_inactive_owner``: a team member who is inactive, or unknown, in a CRM.
- ``routing_unbalanced``: a team's assignments per weight differ by more than
  ``unbalanced_share`` between its busiest and quietest active member (and by more than 2).
- ``sla_missed_often``: an owner or lead source whose share of MQLs touched in time is below
  ``sla_min_share`` (with at least ``sla_min_mqls`` decided MQLs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.config.operations import RoutingConfig, RoutingRule
from funnelsync.mapping.owners import CrmOwner
from funnelsync.reports.audit.common import Finding
from funnelsync.rules.routing import OwnerDirectory


@dataclass(frozen=True)
class OpsAuditOptions:
    unused_days: int = 30
    unbalanced_share: float = 0.25
    sla_min_share: float = 0.8
    sla_min_mqls: int = 5


def _lower(values: list[str]) -> set[str]:
    return {v.strip().lower() for v in values}


def _countries(rule: RoutingRule, regions: Mapping[str, list[str]]) -> set[str] | None:
    if not rule.countries and not rule.regions:
        return None  # any country
    return _lower(rule.countries + [c for r in rule.regions for c in regions.get(r, [])])


def _covers(wide: set[str] | None, narrow: set[str] | None) -> bool:
    """Whether the condition ``wide`` admits every value ``narrow`` admits (None: anything)."""
    return wide is None or (narrow is not None and narrow <= wide)


def _range_covers(lo_w: float | None, hi_w: float | None, lo_n: float | None,
                  hi_n: float | None) -> bool:
    low_ok = lo_w is None or (lo_n is not None and lo_n >= lo_w)
    high_ok = hi_w is None or (hi_n is not None and hi_n <= hi_w)
    return low_ok and high_ok


def _as_set(values: list[str]) -> set[str] | None:
    return _lower(values) if values else None


def shadows(earlier: RoutingRule, later: RoutingRule, regions: Mapping[str, list[str]]) -> bool:
    """Whether ``earlier`` matches every lead ``later`` could match (and touches as many)."""
    if later.reassign and not earlier.reassign:
        return False  # later also moves owned leads, earlier does not
    return (_covers(_countries(earlier, regions), _countries(later, regions))
            and _covers(_as_set(earlier.industries), _as_set(later.industries))
            and _covers(_as_set(earlier.lead_sources), _as_set(later.lead_sources))
            and _covers(set(earlier.stages) or None, set(later.stages) or None)
            and _range_covers(earlier.employees_min, earlier.employees_max,
                              later.employees_min, later.employees_max)
            and _range_covers(earlier.score_min, earlier.score_max,
                              later.score_min, later.score_max))


def routing_findings(config: RoutingConfig, states: Mapping[str, dict[str, Any] | None],
                     directories: Mapping[str, OwnerDirectory], now: datetime,
                     options: OpsAuditOptions | None = None) -> list[Finding]:
    """Every routing check, for each CRM in ``directories``."""
    opts = options or OpsAuditOptions()
    found = _shadowed(config)
    for source, directory in directories.items():
        state = states.get(source) or {}
        found += _unused(config, source, state, now, opts)
        found += _inactive_members(config, source, directory)
        found += _unbalanced(config, source, state, directory, opts)
    return found


def _shadowed(config: RoutingConfig) -> list[Finding]:
    out = []
    for i, rule in enumerate(config.rules):
        earlier = next((e for e in config.rules[:i] if shadows(e, rule, config.regions)), None)
        if earlier is not None:
            out.append(Finding(
                "routing_rule_shadowed", "warning", "config", rule.name,
                f"routing rule {rule.name!r} never applies: rule {earlier.name!r} before it "
                "matches every lead it could match", {"shadowed_by": earlier.name},
                f"move rule {rule.name!r} above {earlier.name!r} or narrow {earlier.name!r}"))
    return out


def _unused(config: RoutingConfig, source: str, state: dict[str, Any], now: datetime,
            opts: OpsAuditOptions) -> list[Finding]:
    out = []
    cutoff = now - timedelta(days=opts.unused_days)
    for rule in config.rules:
        last = (state.get("rules") or {}).get(rule.name, {}).get("last_matched")
        if last is None or datetime.fromisoformat(last) < cutoff:
            out.append(Finding(
                "routing_rule_unused", "info", source, rule.name,
                f"routing rule {rule.name!r} matched no {source} lead in {opts.unused_days} "
                "days", {"last_matched": last},
                "check its conditions against the values the CRM really holds, or remove it"))
    return out


def _inactive_members(config: RoutingConfig, source: str,
                      directory: OwnerDirectory) -> list[Finding]:
    out = []
    for team in config.teams:
        for ref in team.members:
            owner = directory.resolve(ref)
            if owner is not None and directory.is_active(owner.id):
                continue
            what = "unknown" if owner is None else "inactive"
            out.append(Finding(
                "routing_team_inactive_owner", "warning", source, team.name,
                f"team {team.name!r} member {ref} is {what} in {source}; leads skip them",
                {"member": ref, "state": what},
                f"remove {ref} from team {team.name!r} or reactivate the user"))
    return out


def _unbalanced(config: RoutingConfig, source: str, state: dict[str, Any],
                directory: OwnerDirectory, opts: OpsAuditOptions) -> list[Finding]:
    out = []
    for team in config.teams:
        assigned = ((state.get("teams") or {}).get(team.name) or {}).get("assigned") or {}
        per_weight = {}
        for ref in team.members:
            owner = directory.resolve(ref)
            if owner is not None and directory.is_active(owner.id):
                per_weight[owner.id] = assigned.get(owner.id, 0) / team.weights.get(ref, 1)
        if len(per_weight) < 2 or not any(per_weight.values()):
            continue
        high, low = max(per_weight.values()), min(per_weight.values())
        if high - low > 2 and (high - low) > opts.unbalanced_share * high:
            out.append(Finding(
                "routing_unbalanced", "warning", source, team.name,
                f"team {team.name!r} is unbalanced in {source}: {high:g} vs {low:g} leads per "
                "weight", {"assigned": assigned},
                "check daily caps and members who were inactive for a while"))
    return out


def sla_findings(section: Mapping[str, Any],
                 options: OpsAuditOptions | None = None) -> list[Finding]:
    """Owners and lead sources whose MQLs miss the first-touch target most often."""
    opts = options or OpsAuditOptions()
    out = []
    for group, label in (("by_owner", "owner"), ("by_lead_source", "lead source")):
        ranked = sorted(section.get(group, {}).items(),
                        key=lambda kv: (kv[1]["share_met"] if kv[1]["share_met"] is not None
                                        else 1.0, kv[0]))
        for key, figures in ranked:
            decided = figures["met"] + figures["missed"]
            share = figures["share_met"]
            if decided >= opts.sla_min_mqls and share is not None and share < opts.sla_min_share:
                out.append(Finding(
                    "sla_missed_often", "warning", "sla", key,
                    f"{label} {key}: {share:.0%} of {decided} MQLs touched within "
                    f"{section.get('first_touch_hours')} h", dict(figures),
                    "look at this owner's workload or this source's lead quality"))
    return out


def ops_findings_from_store(store: Any, config: AppConfig, now: datetime) -> list[Finding]:
    """Routing and SLA checks over what the sync keeps in the store (owners as last seen)."""
    found: list[Finding] = []
    if config.routing is not None and hasattr(store, "get_state"):
        states = {s: store.get_state(f"routing.{s}") for s in config.sources()}
        directories = {s: OwnerDirectory(CrmOwner(**o) for o in store.get_state(f"owners.{s}"))
                       for s in config.sources() if store.get_state(f"owners.{s}") is not None}
        found += routing_findings(config.routing, states, directories, now)
    if config.sla is not None and hasattr(store, "get_state"):
        from funnelsync.reports.sla import sla_from_store

        found += sla_findings(sla_from_store(store, config.sla, now))
    return found


__all__ = ["OpsAuditOptions", "ops_findings_from_store", "routing_findings", "shadows",
           "sla_findings"]
