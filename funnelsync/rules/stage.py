"""Funnel stage decisions for leads and deals: the mapped stage refined by rules.

Rules (FUNNEL_MODEL.md, "Default stages"):

- Leads: a lost lead stays lost and a converted lead keeps its stage (at least consideration,
  "opportunity created") - score alone never moves them. Otherwise score >= SQL threshold
  lifts the lead to at least consideration (the model equates consideration with SQL and the
  config defines ``sql_threshold`` as "the score that makes a lead an SQL"), and score >= MQL
  threshold lifts it to at least interest (interest's exit criterion). Rules only lift; a
  lead mapped further down the funnel keeps its stage. An unmapped lead (None) stays None
  unless a rule applies.
- Deals: the CRM's closed/won flags win over a contradictory stage map: won -> the last funnel
  stage (purchase), closed and not won -> the lost stage, open -> at least consideration
  (an open opportunity exists), even when its stage maps to purchase or lost.

The rule targets are the stage ids ``interest`` and ``consideration``; a config whose funnel
has no such id simply does not apply that rule.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.rules.score import Score

MQL_STAGE = "interest"
SQL_STAGE = "consideration"
OPEN_DEAL_STAGE = "consideration"
CONVERTED_STAGE = "consideration"
# A decision depends only on a few values that repeat across records (stage, status, flags,
# score), so each is made once and looked up after; bounded so memory stays flat.
_DECISIONS_KEPT = 10_000


class StageDecision(NamedTuple):
    """The funnel stage to write back (None: no stage) and why, in words."""

    stage: str | None
    reason: str


class StageRules:
    """The stage rules with the funnel order precomputed, and every decision kept once made;
    build once per run for loops."""

    def __init__(self, config: AppConfig) -> None:
        ids = config.funnel.stage_ids()
        self._order = {stage: i for i, stage in enumerate(ids)}
        self._lost = config.funnel.lost_stage
        self._won = ids[-1]  # the terminal stage, purchase by default
        self._mql = config.scoring.mql_threshold
        self._sql = config.scoring.sql_threshold
        self._leads: dict[tuple[Any, ...], StageDecision] = {}
        self._deals: dict[tuple[Any, ...], StageDecision] = {}

    def is_below(self, stage: str | None, target: str) -> bool:
        """True when ``target`` is a funnel stage and ``stage`` is unmapped or earlier."""
        target_order = self._order.get(target)
        if target_order is None:
            return False
        if stage is None:
            return True
        order = self._order.get(stage)
        return order is not None and order < target_order

    def lead(self, lead: FunnelLead, score: Score | int) -> StageDecision:
        """The funnel stage of a lead from its mapped stage and its score."""
        value = score.value if isinstance(score, Score) else score
        # The value's type too: a score of 40.0 is explained as "40.0", 40 as "40".
        key = (lead.funnel_stage, lead.status, lead.extra.get("is_converted") is True, value,
               value.__class__)
        found = self._leads.get(key)
        if found is None:
            found = _kept(self._leads, key, self._decide_lead(*key[:4]))
        return found

    def _decide_lead(self, mapped: str | None, raw: str | None, converted: bool,
                     value: Any) -> StageDecision:
        status = _mapped_text(raw, mapped)
        if mapped == self._lost:
            return StageDecision(mapped, f"status {status}; score never revives a lost lead")
        if converted:
            return self._converted_lead(mapped, status)
        if value >= self._sql and self.is_below(mapped, SQL_STAGE):
            return StageDecision(SQL_STAGE, f"score {value} >= SQL threshold {self._sql} "
                                            f"(status {status})")
        if value >= self._mql and self.is_below(mapped, MQL_STAGE):
            return StageDecision(MQL_STAGE, f"score {value} >= MQL threshold {self._mql} "
                                            f"(status {status})")
        if mapped is None:
            return StageDecision(None, f"status {status}; score {value} below MQL threshold "
                                       f"{self._mql}")
        return StageDecision(mapped, f"status {status}")

    def _converted_lead(self, mapped: str | None, status: str) -> StageDecision:
        if self.is_below(mapped, CONVERTED_STAGE):
            return StageDecision(CONVERTED_STAGE,
                                 f"converted to an opportunity (status {status})")
        return StageDecision(mapped, f"status {status}; converted, score not applied")

    def deal(self, deal: FunnelDeal) -> StageDecision:
        """The funnel stage of a deal from its mapped stage and its closed/won flags."""
        key = (deal.funnel_stage, deal.stage, bool(deal.is_won), bool(deal.is_closed))
        found = self._deals.get(key)
        if found is None:
            found = _kept(self._deals, key, self._decide_deal(*key))
        return found

    def _decide_deal(self, mapped: str | None, raw: str | None, won: bool,
                     closed: bool) -> StageDecision:
        stage = _mapped_text(raw, mapped)
        if won:
            note = "" if mapped == self._won else f"; flags win over stage {stage}"
            return StageDecision(self._won, f"closed won{note}")
        if closed:
            note = "" if mapped == self._lost else f"; flags win over stage {stage}"
            return StageDecision(self._lost, f"closed lost{note}")
        if mapped == self._lost or mapped == self._won:
            return self._open_deal(None, f"open per its flags although stage {stage}")
        if self.is_below(mapped, OPEN_DEAL_STAGE):
            return self._open_deal(mapped, f"open deal, stage {stage}")
        return StageDecision(mapped, f"stage {stage}")

    def _open_deal(self, mapped: str | None, why: str) -> StageDecision:
        if OPEN_DEAL_STAGE not in self._order:
            return StageDecision(mapped, why)
        return StageDecision(OPEN_DEAL_STAGE,
                             f"{why}; an open deal is at least {OPEN_DEAL_STAGE}")


def _kept(decisions: dict[tuple[Any, ...], StageDecision], key: tuple[Any, ...],
          decision: StageDecision) -> StageDecision:
    if len(decisions) >= _DECISIONS_KEPT:
        decisions.clear()
    decisions[key] = decision
    return decision


def _mapped_text(raw: str | None, stage: str | None) -> str:
    return f"{raw!r} maps to {stage}" if stage is not None else f"{raw!r} is unmapped"


def funnel_stage_for_lead(lead: FunnelLead, score: Score | int,
                          config: AppConfig) -> StageDecision:
    """The funnel stage of a lead; in loops use ``StageRules(config).lead`` instead."""
    return StageRules(config).lead(lead, score)


def funnel_stage_for_deal(deal: FunnelDeal, config: AppConfig) -> StageDecision:
    """The funnel stage of a deal; in loops use ``StageRules(config).deal`` instead."""
    return StageRules(config).deal(deal)


__all__ = ["StageDecision", "StageRules", "funnel_stage_for_deal", "funnel_stage_for_lead"]
