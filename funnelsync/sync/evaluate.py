"""Evaluate stored records: desired write-back values, diffed against the live CRM values.

Which records: those whose content changed since the last run that pushed its results, plus
those whose last write failed (retried). Untouched records are not re-evaluated, so a run with
no CRM change writes nothing; ``everything=True`` re-evaluates all (e.g. after a config change).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funnelsync.config import AppConfig
from funnelsync.connectors.base import Kind
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.sync.compute_stage import funnel_stage_for_deal, funnel_stage_for_lead
from funnelsync.sync.diff import FieldDiff, allowed_keys, diff_record, live_values
from funnelsync.sync.score import Scorer
from funnelsync.sync.store import Store
from funnelsync.sync.store_models import StoredRecord

EVALUATED_THROUGH = "evaluated_through_run"


@dataclass(frozen=True)
class Desired:
    """What one record should carry in the CRM, and why."""

    values: dict[str, Any]
    explain: dict[str, str]


class Evaluator:
    """Desired values per record; pure apart from the scorer's caches."""

    def __init__(self, config: AppConfig, now: datetime) -> None:
        self.config = config
        self.now = now
        self.scorer = Scorer(config.scoring)

    def desired(self, record: FunnelLead | FunnelDeal) -> Desired:
        if isinstance(record, FunnelLead):
            score = self.scorer.score(record, self.now)
            stage = funnel_stage_for_lead(record, score, self.config)
            why = ", ".join(f"{r} {p:+d}" for r, p in score.breakdown)
            return Desired({"stage": stage.stage, "score": score.value},
                           {"stage": stage.reason, "score": why})
        decision = funnel_stage_for_deal(record, self.config)
        return Desired({"stage": decision.stage}, {"stage": decision.reason})

    def diff(self, stored: StoredRecord) -> FieldDiff | None:
        record = stored.to_model()
        want = self.desired(record)
        # An unknown desired value (unmapped stage) never clears what the CRM holds.
        values = {k: v for k, v in want.values.items() if v is not None}
        allowed = allowed_keys(self.config.writeback, stored.source, stored.kind[:-1])
        return diff_record(stored.source, stored.kind, stored.id, values,
                           live_values(record.extra), is_deleted=stored.is_deleted,
                           allowed=allowed, score_tolerance=self.config.writeback.score_tolerance,
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
