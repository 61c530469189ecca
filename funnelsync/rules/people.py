"""What people mean for the funnel, pure: furthest stage, disagreements, counts, timelines.

Stage positions: funnel stages by their order; ``lost`` sits one step *before* the first stage
(out of the funnel), so "SQL in HubSpot, Closed - Not Converted in Salesforce" is 3 apart and a
conflict at the default ``conflict_distance`` of 2, while "subscriber in one, lost in the other"
(1 apart) is not. Unknown (unmapped) stages take no part.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from funnelsync.config.identity import IdentityConfig
from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.linking import IdentityRecord, Linking, Person, PersonRecord, link_records

Directory = Mapping[str, Mapping[str, str]]  # source → owner id → owner e-mail


def lead_identity(lead: FunnelLead) -> IdentityRecord:
    """What linking reads of a lead or contact."""
    return IdentityRecord(lead.source, "leads", lead.source_id, lead.email, lead.first_name,
                          lead.last_name, lead.funnel_stage, lead.owner_id, lead.owner_name,
                          lead.created_at, lead.updated_at)


def link_leads(leads: Iterable[FunnelLead], config: IdentityConfig) -> Linking:
    """Link the leads that are not deleted, with the configured rules and overrides."""
    return link_records((lead_identity(x) for x in leads if not x.is_deleted), config)


def people_for_leads(leads: Iterable[FunnelLead], config: IdentityConfig) -> dict[str, str] | None:
    """Record key → person id (each person counted once in reports); None when linking is
    off (``identity.enabled`` is false)."""
    return link_leads(leads, config).mapping() if config.enabled else None



class StagePositions:
    """Funnel stage → position; lost is -1; unknown stages are None."""

    def __init__(self, stage_ids: list[str], lost: str) -> None:
        self.stage_ids = stage_ids
        self.lost = lost
        self._order = {s: i for i, s in enumerate(stage_ids)}

    @classmethod
    def of(cls, config: AppConfig) -> StagePositions:
        return cls(config.funnel.stage_ids(), config.funnel.lost_stage)

    def position(self, stage: str | None) -> int | None:
        if stage == self.lost:
            return -1
        return self._order.get(stage) if stage is not None else None


@dataclass(frozen=True)
class Furthest:
    stage: str | None
    source: str | None  # the CRM that holds it


def furthest(person: Person, positions: StagePositions) -> Furthest:
    """The furthest stage over the person's records (lost only when nothing else is known)."""
    best: PersonRecord | None = None
    best_pos: int | None = None
    for rec in person.records:
        pos = positions.position(rec.stage)
        if pos is not None and (best_pos is None or pos > best_pos):
            best, best_pos = rec, pos
    return Furthest(best.stage, best.source) if best else Furthest(None, None)


@dataclass(frozen=True)
class Conflict:
    """One disagreement about one person between the CRMs."""

    kind: str  # "stage" or "owner"
    person_id: str
    distance: int | None
    values: dict[str, list[str]]  # source → stages or owners
    keys: list[str]


def stage_conflict(person: Person, positions: StagePositions,
                   distance: int) -> Conflict | None:
    """The person's stages in two CRMs are ``distance`` or more positions apart."""
    by_source: dict[str, list[int]] = {}
    for rec in person.records:
        pos = positions.position(rec.stage)
        if pos is not None:
            by_source.setdefault(rec.source, []).append(pos)
    if len(by_source) < 2:
        return None
    gap = max(max(a) - min(b) for s, a in by_source.items()
              for t, b in by_source.items() if s != t)
    if gap < distance:
        return None
    return Conflict("stage", person.person_id, gap, _values(person, lambda r: r.stage),
                    [r.key for r in person.records])


def owner_conflict(person: Person, directory: Directory, mode: str) -> Conflict | None:
    """Owners differ: compared by owner e-mail when every CRM's is known; by owner name when
    ``mode == "name"`` and an e-mail is missing; never across raw ids (they are per CRM)."""
    if mode == "off" or not person.linked:
        return None
    emails = _owner_values(person, lambda r: directory.get(r.source, {}).get(r.owner_id or ""))
    if emails is not None:
        values = emails
    elif mode == "name":
        values = _owner_values(person, lambda r: r.owner_name)
    else:
        values = None
    if values is None or _overlap(values):
        return None
    return Conflict("owner", person.person_id, None,
                    {s: sorted(v) for s, v in values.items()}, [r.key for r in person.records])


def _owner_values(person: Person, value: Callable[[PersonRecord], str | None]
                  ) -> dict[str, set[str]] | None:
    """Owners per CRM (lower-cased), or None when a CRM's owned records lack the value."""
    out: dict[str, set[str]] = {}
    for rec in person.records:
        if rec.owner_id is None:
            continue
        found = value(rec)
        if not found:
            return None
        out.setdefault(rec.source, set()).add(found.strip().lower())
    return out if len(out) > 1 else None


def _overlap(values: dict[str, set[str]]) -> bool:
    sets = list(values.values())
    return bool(set.intersection(*sets))


def _values(person: Person, value: Callable[[PersonRecord], str | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rec in person.records:
        out.setdefault(rec.source, []).append(value(rec) or "?")
    return {s: sorted(v) for s, v in sorted(out.items())}


def conflicts(people: Iterable[Person], config: AppConfig,
              directory: Directory | None = None) -> list[Conflict]:
    """Stage and owner disagreements of every person present in more than one CRM."""
    positions = StagePositions.of(config)
    ident = config.identity
    out: list[Conflict] = []
    for person in people:
        if not person.linked:
            continue
        found = [stage_conflict(person, positions, ident.conflict_distance),
                 owner_conflict(person, directory or {}, ident.owner_conflicts)]
        out += [c for c in found if c is not None]
    return out


def summary(people: Iterable[Person], found: Iterable[Conflict]) -> dict[str, Any]:
    """``{"people", "linked", "by_rule", "conflicts"}``: linked = people in both CRMs, each
    counted under the weakest rule holding it together; conflicts = people with any."""
    total = linked = 0
    by_rule: Counter[str] = Counter()
    for person in people:
        total += 1
        if person.linked:
            linked += 1
            by_rule[person.rule] += 1
    return {"people": total, "linked": linked, "by_rule": dict(sorted(by_rule.items())),
            "conflicts": len({c.person_id for c in found})}


@dataclass(frozen=True)
class TimelineEntry:
    """One stage change of one of the person's records."""

    at: datetime
    source: str
    record_id: str
    from_stage: str | None
    to_stage: str
    funnel_stage: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.astimezone(UTC).isoformat(), "source": self.source,
                "record_id": self.record_id, "from": self.from_stage, "to": self.to_stage,
                "funnel_stage": self.funnel_stage}


def merge_timeline(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """All entries in time order (instants, so offsets never reorder them); naive times are
    refused because their instant is unknown."""
    items = list(entries)
    for entry in items:
        if entry.at.tzinfo is None or entry.at.utcoffset() is None:
            raise ValueError(f"naive time {entry.at!r} in a timeline: times must be aware")
    return sorted(items, key=lambda e: (e.at, e.source, e.record_id))


__all__ = [
    "lead_identity",
    "link_leads",
    "people_for_leads",
    "Conflict",
    "Furthest",
    "StagePositions",
    "TimelineEntry",
    "conflicts",
    "furthest",
    "merge_timeline",
    "owner_conflict",
    "stage_conflict",
    "summary",
]
