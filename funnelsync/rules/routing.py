"""Lead routing (pure): ordered rules → an owner or a team; teams share round-robin.

- A rule matches when every condition it gives holds (country or region, industry, company size,
  lead source, funnel stage, score range); conditions it leaves out match anything.
- Which leads a rule may touch: unowned or queue-owned leads always; leads of a real owner only
  when the rule says ``reassign = true`` (or ``only_unowned = false``). The first rule that
  matches and may touch the lead decides. A lead that already belongs to an active target of
  that rule is left alone, so a re-run never moves it again.
- A team picks by smooth weighted round-robin (nginx's algorithm: every eligible member gains its
  weight, the richest wins and pays the eligible total). With equal weights this is a plain
  rotation, so per-team counts differ by at most one. Inactive members, members this CRM does
  not know and members at their daily cap are skipped; a rule with nobody available passes the
  lead on to the next rule.
- The round-robin position, the daily counts and per-rule match statistics live in a JSON state
  that comes in and goes out (the job keeps it in the store; a dry run throws it away).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from funnelsync.config.operations import RoutingConfig, RoutingRule, RoutingTeam
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.schema import FunnelLead

OWNER_KEY = "owner_id"


@dataclass(frozen=True)
class Assignment:
    """The owner a lead should have, and the rule that says so."""

    owner_id: str
    rule: str
    reason: str


class OwnerDirectory:
    """One CRM's owners, looked up by id or e-mail (case-insensitive)."""

    def __init__(self, owners: Iterable[CrmOwner]) -> None:
        self.by_id: dict[str, CrmOwner] = {}
        self.by_email: dict[str, CrmOwner] = {}
        for owner in owners:
            self.by_id[owner.id] = owner
            if owner.email and not owner.is_queue:
                self.by_email.setdefault(owner.email.lower(), owner)

    def resolve(self, ref: str) -> CrmOwner | None:
        """An owner by id, else by e-mail; None when this CRM has no such owner."""
        return self.by_id.get(ref) or self.by_email.get(ref.strip().lower())

    def is_active(self, owner_id: str) -> bool:
        owner = self.by_id.get(owner_id)
        return owner is not None and owner.active and not owner.is_queue

    def has_real_owner(self, lead: FunnelLead) -> bool:
        """Owned by a person (not unowned, not a queue). An id this CRM did not list counts
        as a person: funnelsync never takes a lead from someone it cannot see."""
        if not lead.owner_id:
            return False
        owner = self.by_id.get(lead.owner_id)
        return owner is None or not owner.is_queue

    def manager_of(self, owner_id: str | None) -> str | None:
        owner = self.by_id.get(owner_id or "")
        manager = owner.manager_id if owner else None
        return manager if manager and self.is_active(manager) else None


def _norm(value: str | None) -> str:
    return (value or "").strip().lower()


def _in(value: str | None, allowed: list[str]) -> bool:
    return not allowed or _norm(value) in {_norm(a) for a in allowed}


def rule_matches(rule: RoutingRule, lead: FunnelLead, stage: str | None, score: float,
                 regions: dict[str, list[str]]) -> bool:
    """Whether every condition the rule gives holds for this lead."""
    countries = list(rule.countries) + [c for r in rule.regions for c in regions.get(r, [])]
    if (rule.countries or rule.regions) and not _in(lead.country, countries):
        return False
    if not _in(lead.industry, rule.industries) or not _in(lead.lead_source, rule.lead_sources):
        return False
    if rule.stages and stage not in rule.stages:
        return False
    if rule.employees_min is not None or rule.employees_max is not None:
        size = lead.employees
        if size is None or size < (rule.employees_min or 0):
            return False
        if rule.employees_max is not None and size > rule.employees_max:
            return False
    if rule.score_min is not None and score < rule.score_min:
        return False
    return rule.score_max is None or score <= rule.score_max


class Router:
    """Routes one CRM's leads. ``state`` is copied in; read the new one from ``state``."""

    def __init__(self, config: RoutingConfig, directory: OwnerDirectory,
                 state: dict[str, Any] | None, now: datetime) -> None:
        self.config = config
        self.directory = directory
        self.now = now
        self.state: dict[str, Any] = copy.deepcopy(state) if state else {}
        self.state.setdefault("teams", {})
        self.state.setdefault("rules", {})
        self.day = now.astimezone(ZoneInfo(config.timezone)).date().isoformat()
        self.teams = {t.name: t for t in config.teams}

    def route(self, lead: FunnelLead, stage: str | None, score: float) -> Assignment | None:
        """The owner this lead should get, or None to leave its owner alone."""
        if lead.extra.get("is_converted"):
            return None  # a converted Salesforce lead cannot be updated any more
        owned = self.directory.has_real_owner(lead)
        for rule in self.config.rules:
            if owned and self.config.only_unowned and not rule.reassign:
                continue
            if not rule_matches(rule, lead, stage, score, self.config.regions):
                continue
            self._count_match(rule)
            if owned and lead.owner_id in self._targets(rule):
                return None  # already with an active owner this rule assigns to
            picked = self._pick(rule)
            if picked is not None:
                how = "owner" if rule.owner else f"team {rule.team} round-robin"
                return Assignment(picked, rule.name, f"rule {rule.name} ({how})")
        return None

    def _targets(self, rule: RoutingRule) -> set[str]:
        refs = [rule.owner] if rule.owner else list(self.teams[rule.team or ""].members)
        found = (self.directory.resolve(r) for r in refs if r)
        return {o.id for o in found if o is not None and self.directory.is_active(o.id)}

    def _pick(self, rule: RoutingRule) -> str | None:
        if rule.owner:
            owner = self.directory.resolve(rule.owner)
            if owner is None or not self.directory.is_active(owner.id):
                return None
            return owner.id
        return self._pick_from_team(self.teams[rule.team or ""])

    def _pick_from_team(self, team: RoutingTeam) -> str | None:
        slot = self._team_state(team.name)
        today = slot["today"]
        weights = self._eligible(team, today)
        if not weights:
            return None
        current = slot["current"]
        total = sum(weights.values())
        for owner_id, weight in weights.items():
            current[owner_id] = current.get(owner_id, 0) + weight
        best = max(weights, key=lambda o: current[o])  # ties: first in members order
        current[best] -= total
        today[best] = today.get(best, 0) + 1
        slot["assigned"][best] = slot["assigned"].get(best, 0) + 1
        return best

    def _eligible(self, team: RoutingTeam, today: dict[str, int]) -> dict[str, int]:
        """Active members this CRM knows and that are under the cap → weight, in order."""
        out: dict[str, int] = {}
        for ref in team.members:
            owner = self.directory.resolve(ref)
            if owner is None or not self.directory.is_active(owner.id) or owner.id in out:
                continue
            if team.daily_cap is not None and today.get(owner.id, 0) >= team.daily_cap:
                continue
            out[owner.id] = team.weights.get(ref, 1)
        return out

    def _team_state(self, name: str) -> dict[str, Any]:
        slot = self.state["teams"].setdefault(name, {})
        slot.setdefault("current", {})
        slot.setdefault("assigned", {})
        if slot.get("day") != self.day:
            slot["day"], slot["today"] = self.day, {}
        return slot

    def _count_match(self, rule: RoutingRule) -> None:
        stats = self.state["rules"].setdefault(rule.name, {"matched": 0})
        stats["matched"] += 1
        stats["last_matched"] = self.now.isoformat()


__all__ = ["OWNER_KEY", "Assignment", "OwnerDirectory", "Router", "rule_matches"]
