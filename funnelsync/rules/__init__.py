"""Pure decisions: lead score, funnel stage, stale deals, the diff, routing, SLA, nurture, linking.

No I/O and no clock: every function that depends on time takes ``now`` (timezone-aware). The
score, stage and staleness names most callers need are importable from the package itself.
"""

from __future__ import annotations

from funnelsync.rules.score import CLAMP_REASON, Score, Scorer, score_lead
from funnelsync.rules.stage import (
    StageDecision,
    StageRules,
    funnel_stage_for_deal,
    funnel_stage_for_lead,
)
from funnelsync.rules.stale import StageOf, StaleReason, stage_entry, stale_reasons

__all__ = [
    "CLAMP_REASON",
    "Score",
    "Scorer",
    "StageDecision",
    "StageOf",
    "StageRules",
    "StaleReason",
    "funnel_stage_for_deal",
    "funnel_stage_for_lead",
    "score_lead",
    "stage_entry",
    "stale_reasons",
]
