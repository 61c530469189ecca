"""Funnel stage decisions for leads and deals."""

from __future__ import annotations

from typing import Any

from funnelsync.config.models import AppConfig, FunnelConfig, FunnelStage
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.rules import Score, StageDecision, funnel_stage_for_deal, funnel_stage_for_lead

CONFIG = AppConfig()


def lead(stage: str | None, status: str | None = "Open - Not Contacted",
         **extra: Any) -> FunnelLead:
    return FunnelLead(source="salesforce", source_id="00Q1", status=status, funnel_stage=stage,
                      extra=extra)


def deal(stage: str | None, raw: str = "Needs Analysis", **fields: Any) -> FunnelDeal:
    return FunnelDeal(source="salesforce", source_id="006A", stage=raw, funnel_stage=stage,
                      **fields)


def test_lead_below_mql_keeps_mapped_stage() -> None:
    assert funnel_stage_for_lead(lead("awareness"), Score(39, []), CONFIG) == StageDecision(
        "awareness", "status 'Open - Not Contacted' maps to awareness")


def test_lead_at_mql_threshold_is_interest() -> None:
    assert funnel_stage_for_lead(lead("awareness"), 40, CONFIG) == StageDecision(
        "interest",
        "score 40 >= MQL threshold 40 (status 'Open - Not Contacted' maps to awareness)")


def test_lead_just_below_sql_threshold_is_interest() -> None:
    assert funnel_stage_for_lead(lead("awareness"), 69, CONFIG).stage == "interest"


def test_lead_at_sql_threshold_is_consideration() -> None:
    assert funnel_stage_for_lead(lead("interest", "Working - Contacted"), 70,
                                 CONFIG) == StageDecision(
        "consideration",
        "score 70 >= SQL threshold 70 (status 'Working - Contacted' maps to interest)")


def test_score_never_moves_a_lead_backward() -> None:
    assert funnel_stage_for_lead(lead("intent", "Custom"), 75, CONFIG) == StageDecision(
        "intent", "status 'Custom' maps to intent")
    assert funnel_stage_for_lead(lead("interest"), 45, CONFIG).reason == (
        "status 'Open - Not Contacted' maps to interest")


def test_lost_lead_stays_lost_whatever_the_score() -> None:
    assert funnel_stage_for_lead(lead("lost", "Closed - Not Converted"), 95,
                                 CONFIG) == StageDecision(
        "lost", "status 'Closed - Not Converted' maps to lost; score never revives a lost lead")


def test_converted_lead_is_not_moved_by_score() -> None:
    assert funnel_stage_for_lead(lead("consideration", "Closed - Converted", is_converted=True),
                                 95, CONFIG) == StageDecision(
        "consideration",
        "status 'Closed - Converted' maps to consideration; converted, score not applied")


def test_converted_lead_is_at_least_consideration() -> None:
    assert funnel_stage_for_lead(lead(None, "Converted Custom", is_converted=True), 10,
                                 CONFIG) == StageDecision(
        "consideration", "converted to an opportunity (status 'Converted Custom' is unmapped)")


def test_unmapped_lead_stays_unmapped_below_mql() -> None:
    assert funnel_stage_for_lead(lead(None, "other"), 12, CONFIG) == StageDecision(
        None, "status 'other' is unmapped; score 12 below MQL threshold 40")


def test_unmapped_lead_lifted_by_score() -> None:
    assert funnel_stage_for_lead(lead(None, "other"), 45, CONFIG) == StageDecision(
        "interest", "score 45 >= MQL threshold 40 (status 'other' is unmapped)")


def test_funnel_without_rule_target_skips_the_rule() -> None:
    funnel = FunnelConfig(stages=[FunnelStage(id="new"), FunnelStage(id="working"),
                                  FunnelStage(id="won")])
    config = AppConfig(funnel=funnel)
    assert funnel_stage_for_lead(lead("new"), 90, config).stage == "new"
    assert funnel_stage_for_deal(deal(None, is_closed=False), config).stage is None


def test_open_deal_keeps_mapped_stage() -> None:
    assert funnel_stage_for_deal(deal("intent"), CONFIG) == StageDecision(
        "intent", "stage 'Needs Analysis' maps to intent")


def test_open_unmapped_deal_is_consideration() -> None:
    assert funnel_stage_for_deal(deal(None, "Custom Stage"), CONFIG) == StageDecision(
        "consideration", "open deal, stage 'Custom Stage' is unmapped; an open deal is at "
                         "least consideration")


def test_open_deal_mapped_early_is_lifted() -> None:
    assert funnel_stage_for_deal(deal("awareness", "Intro"), CONFIG).stage == "consideration"


def test_closed_won_is_purchase() -> None:
    assert funnel_stage_for_deal(deal("purchase", "Closed Won", is_closed=True, is_won=True),
                                 CONFIG) == StageDecision("purchase", "closed won")


def test_won_flag_wins_over_contradictory_map() -> None:
    assert funnel_stage_for_deal(deal("decision", "Signed", is_closed=True, is_won=True),
                                 CONFIG) == StageDecision(
        "purchase", "closed won; flags win over stage 'Signed' maps to decision")


def test_closed_lost_is_lost() -> None:
    assert funnel_stage_for_deal(deal("lost", "Closed Lost", is_closed=True),
                                 CONFIG) == StageDecision("lost", "closed lost")
    assert funnel_stage_for_deal(deal("intent", "Dead", is_closed=True),
                                 CONFIG) == StageDecision(
        "lost", "closed lost; flags win over stage 'Dead' maps to intent")


def test_open_flags_win_over_closed_map() -> None:
    assert funnel_stage_for_deal(deal("purchase", "Closed Won"), CONFIG) == StageDecision(
        "consideration", "open per its flags although stage 'Closed Won' maps to purchase; an "
                         "open deal is at least consideration")
    assert funnel_stage_for_deal(deal("lost", "Closed Lost"), CONFIG).stage == "consideration"
