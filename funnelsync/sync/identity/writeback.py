"""Optional write-back of a person's furthest funnel stage to their records in the other CRM.

Off by default (``identity.writeback_furthest_stage``). It changes only the *desired* funnel
stage of a lead/contact, so the normal diff-and-push decides whether anything is written (never
when the CRM already holds it). A record whose own stage is ``lost`` keeps it: that is a
decision taken in that CRM, and the audit reports the disagreement instead.

Records of a person whose furthest stage moved are usually unchanged themselves, so the normal
"changed since the last run" selection would skip them; ``pending_diffs`` evaluates those whose
stored funnel-stage field differs from the target and were not evaluated already.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.rules.diff import FieldDiff, live_values
from funnelsync.rules.linking import Linking
from funnelsync.rules.people import StagePositions, furthest
from funnelsync.store import Store
from funnelsync.sync.identity.service import compute_identity


@dataclass(frozen=True)
class Target:
    stage: str
    reason: str


class FurthestStagePlan:
    """Desired-stage overrides per (source, lead id), and which of them were evaluated."""

    def __init__(self, targets: dict[tuple[str, str], Target], positions: StagePositions) -> None:
        self.targets = targets
        self.positions = positions
        self.visited: set[tuple[str, str]] = set()

    @classmethod
    def from_linking(cls, linking: Linking, config: AppConfig) -> FurthestStagePlan:
        positions = StagePositions.of(config)
        targets: dict[tuple[str, str], Target] = {}
        for person in linking.people():
            if not person.linked:
                continue
            top = furthest(person, positions)
            top_pos = positions.position(top.stage)
            if top.stage is None or top_pos is None or top_pos < 0:
                continue
            for rec in person.records:
                pos = positions.position(rec.stage)
                if rec.source != top.source and pos is not None and 0 <= pos < top_pos:
                    source, _, record_id = rec.key.split(":", 2)
                    targets[(source, record_id)] = Target(
                        top.stage, f"furthest stage of {person.person_id}: {top.stage} in "
                                   f"{top.source}")
        return cls(targets, positions)

    def apply(self, record: FunnelLead | FunnelDeal, values: dict[str, Any],
              explain: dict[str, str]) -> None:
        """Raise the desired stage of a lead to its person's furthest stage (never lower)."""
        if not isinstance(record, FunnelLead):
            return
        key = (record.source, record.source_id)
        self.visited.add(key)
        target = self.targets.get(key)
        own = self.positions.position(values.get("stage"))
        if target is None or own is None or own < 0:
            return
        if own < (self.positions.position(target.stage) or 0):
            values["stage"] = target.stage
            explain["stage"] = target.reason

    def pending_diffs(self, store: Store, evaluator: Any, source: str,
                      kind: str) -> Iterator[FieldDiff]:
        """Diffs of target records not evaluated yet whose CRM field lacks the target."""
        if kind != "leads":
            return
        for (src, record_id), target in sorted(self.targets.items()):
            if src != source or (src, record_id) in self.visited:
                continue
            stored = store.get_record(source, "leads", record_id)
            if stored is None or stored.is_deleted:
                continue
            if live_values(stored.data.get("extra") or {}).get("stage") == target.stage:
                continue
            found = evaluator.diff(stored)
            if found is not None:
                yield found


def furthest_stage_plan(store: Store, config: AppConfig) -> FurthestStagePlan | None:
    """The plan for this run, or None when the write-back is off (the default)."""
    ident = config.identity
    if not (ident.enabled and ident.writeback_furthest_stage):
        return None
    return FurthestStagePlan.from_linking(compute_identity(store, config), config)


__all__ = ["FurthestStagePlan", "Target", "furthest_stage_plan"]
