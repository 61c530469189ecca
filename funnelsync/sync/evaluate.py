"""Evaluate stored records: desired write-back values, diffed against the live CRM values.

Which records: those whose content changed since the last run that pushed its results, plus
those whose last write failed (retried). Untouched records are not re-evaluated, so a run with
no CRM change writes nothing; ``everything=True`` re-evaluates all (e.g. after a config change).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Kind
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.reports.history import record_key
from funnelsync.rules.diff import (
    PROBABILITY_KEY,
    FieldDiff,
    allowed_keys,
    diff_record,
    live_values,
)
from funnelsync.rules.score import Scorer
from funnelsync.rules.stage import StageRules
from funnelsync.store import Store, StoredRecord

if TYPE_CHECKING:
    from funnelsync.sync.identity.writeback import FurthestStagePlan

EVALUATED_THROUGH = "evaluated_through_run"


class LeadDecisions(Protocol):
    """A CRM's lead decisions beyond stage and score (routing's owner, nurture's status)."""

    def decide(self, lead: FunnelLead, stage: str | None,
               score: float) -> tuple[dict[str, Any], dict[str, str]]: ...

    def allowed_keys(self) -> frozenset[str]: ...

    def live_values(self, lead: FunnelLead) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Desired:
    """What one record should carry in the CRM, and why."""

    values: dict[str, Any]
    explain: dict[str, str]


class Explain(dict[str, str]):
    """Why each desired value is what it is. The score's line is joined from its breakdown
    only when read (most records need no explanation: nothing of theirs changes)."""

    def __init__(self, reasons: dict[str, str], breakdown: list[tuple[str, int]]) -> None:
        super().__init__(reasons)
        self._breakdown = breakdown

    def __missing__(self, key: str) -> str:
        if key != "score":
            raise KeyError(key)
        self["score"] = ", ".join(f"{r} {p:+d}" for r, p in self._breakdown)
        return self["score"]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default


class Evaluator:
    """Desired values per record; pure apart from the scorer's caches."""

    def __init__(self, config: AppConfig, now: datetime,
                 ops: Mapping[str, LeadDecisions] | None = None) -> None:
        self.config = config
        self.now = now
        self.scorer = Scorer(config.scoring)
        self.rules = StageRules(config)
        self.ops = dict(ops or {})  # per CRM: routing and nurture decisions
        self.identity: FurthestStagePlan | None = None  # furthest-stage write-back (opt-in)
        # record key → (win probability in whole percent, why); opt-in, see sync.probability
        self.probabilities: Mapping[str, tuple[int, str]] = {}

    def desired(self, record: FunnelLead | FunnelDeal) -> Desired:
        if isinstance(record, FunnelLead):
            score = self.scorer.score(record, self.now)
            stage = self.rules.lead(record, score)
            values = {"stage": stage.stage, "score": score.value}
            explain = Explain({"stage": stage.reason}, score.breakdown)
            ops = self.ops.get(record.source)
            if ops is not None:
                more, more_why = ops.decide(record, stage.stage, score.value)
                values.update(more)
                explain.update(more_why)
            if self.identity is not None:
                self.identity.apply(record, values, explain)
            return Desired(values, explain)
        decision = self.rules.deal(record)
        values: dict[str, Any] = {"stage": decision.stage}
        why = {"stage": decision.reason}
        chance = self.probabilities.get(record_key(record.source, "deal", record.source_id))
        if chance is not None:
            values[PROBABILITY_KEY], why[PROBABILITY_KEY] = chance
        return Desired(values, why)

    def diff(self, stored: StoredRecord) -> FieldDiff | None:
        record = stored.to_model()
        want = self.desired(record)
        # An unknown desired value (unmapped stage) never clears what the CRM holds.
        values = {k: v for k, v in want.values.items() if v is not None}
        allowed = allowed_keys(self.config.writeback, stored.source, stored.kind[:-1])
        live = live_values(record.extra)
        ops = self.ops.get(stored.source)
        if ops is not None and isinstance(record, FunnelLead):
            allowed |= ops.allowed_keys()
            live.update(ops.live_values(record))
        return diff_record(stored.source, stored.kind, stored.id, values,
                           live, is_deleted=stored.is_deleted,
                           allowed=allowed, score_tolerance=self.config.writeback.score_tolerance,
                           probability_tolerance=self.config.writeback.probability_tolerance,
                           explain=want.explain)


def candidates(store: Store, source: str, kind: Kind, *, everything: bool = False
               ) -> Iterator[StoredRecord]:
    """Records to evaluate this run, each once."""
    since = None if everything else store.get_state(EVALUATED_THROUGH)
    seen: set[str] = set()
    for stored in store.iter_records(source, kind, changed_since_run=since):
        seen.add(stored.id)
        yield stored
    for failed in store.failed_writes(source):
        if failed.kind == kind and failed.record_id not in seen:
            stored_again = store.get_record(source, kind, failed.record_id)
            if stored_again is not None and not stored_again.is_deleted:
                seen.add(failed.record_id)
                yield stored_again


def diffs_for(store: Store, evaluator: Evaluator, source: str, kind: Kind, *,
              everything: bool = False) -> Iterator[FieldDiff]:
    """Changed write-back values of one CRM's records of one kind."""
    for stored in candidates(store, source, kind, everything=everything):
        found = evaluator.diff(stored)
        if found is not None:
            yield found
    if evaluator.identity is not None:  # linked records whose own data did not change
        yield from evaluator.identity.pending_diffs(store, evaluator, source, kind)
