"""The hot path's shortcuts decide exactly as the general code does: stage decisions kept by
``StageRules`` equal those a fresh one makes, the v3 shortcut of ``has_v1_values`` answers as
the full scan, and ``check_flags`` warns as before when the flags agree with the stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelsync.config.models import AppConfig, FunnelConfig, FunnelStage
from funnelsync.mapping.hubspot.stages import check_flags
from funnelsync.mapping.hubspot.v1 import has_v1_values
from funnelsync.mapping.parse import RecordReader
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.rules import StageDecision, StageRules
from funnelsync.rules import stage as stage_rules

CONFIGS = [AppConfig(), AppConfig(funnel=FunnelConfig(stages=[FunnelStage(id="new"),
                                                             FunnelStage(id="won")],
                                                     lost_stage="gone"))]
STAGES = st.sampled_from([None, "awareness", "interest", "consideration", "intent",
                          "evaluation", "purchase", "lost", "new", "won", "gone", "other"])
RAW = st.one_of(st.none(), st.sampled_from(["Open", "Closed Won", "Nurturing"]), st.text())
LEADS = st.builds(lambda stage, status, converted: FunnelLead(
    source="salesforce", source_id="00Q1", funnel_stage=stage, status=status,
    extra={"is_converted": converted}), STAGES, RAW, st.sampled_from([True, False, None, 1]))
DEALS = st.builds(lambda stage, raw, won, closed: FunnelDeal(
    source="hubspot", source_id="9", funnel_stage=stage, stage=raw, is_won=won,
    is_closed=closed), STAGES, RAW, st.booleans(), st.booleans())
SCORES = st.one_of(st.integers(-5, 105), st.sampled_from([40.0, 69.5, 70.0, 0.0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LEADS, SCORES, DEALS), min_size=1, max_size=30))
def test_kept_stage_decisions_are_those_a_fresh_rule_set_makes(
        records: list[tuple[FunnelLead, int | float, FunnelDeal]]) -> None:
    for config in CONFIGS:
        kept = StageRules(config)
        for lead, score, deal in records * 2:  # the second time from what was kept
            assert kept.lead(lead, score) == StageRules(config).lead(lead, score)
            assert kept.deal(deal) == StageRules(config).deal(deal)


def test_a_score_is_explained_as_it_was_given() -> None:
    rules = StageRules(AppConfig())
    lead = FunnelLead(source="salesforce", source_id="00Q1", funnel_stage="awareness",
                      status="Open")
    assert rules.lead(lead, 40).reason == "score 40 >= MQL threshold 40 (status 'Open' maps " \
                                          "to awareness)"
    assert rules.lead(lead, 40.0).reason == "score 40.0 >= MQL threshold 40 (status 'Open' " \
                                            "maps to awareness)"


def test_kept_decisions_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage_rules, "_DECISIONS_KEPT", 3)
    rules = StageRules(AppConfig())
    deals = [FunnelDeal(source="hubspot", source_id="9", stage=f"s{n}") for n in range(7)]
    decisions = [rules.deal(deal) for deal in deals]
    assert decisions[6] == StageDecision("consideration", "open deal, stage 's6' is unmapped; "
                                                          "an open deal is at least "
                                                          "consideration")
    assert len(rules._deals) == 1  # noqa: SLF001 - the bound is the point


class Values(dict[str, Any]):
    """A Mapping that is not a plain dict, as a caller may pass."""


class Text(str):
    __slots__ = ()


def _full_scan(properties: Mapping[str, Any]) -> bool:
    return any(isinstance(v, Mapping) and "value" in v for v in properties.values())


VALUES = st.one_of(st.none(), st.text(max_size=5), st.builds(Text, st.text(max_size=3)),
                   st.integers(), st.booleans(), st.floats(allow_nan=False),
                   st.lists(st.text(max_size=2), max_size=2),
                   st.dictionaries(st.sampled_from(["value", "timestamp"]), st.text(max_size=3),
                                   max_size=2),
                   st.builds(Values, st.dictionaries(st.sampled_from(["value", "versions"]),
                                                     st.none(), max_size=2)))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=12))
def test_the_v3_shortcut_answers_as_the_full_scan(properties: dict[str, Any]) -> None:
    assert has_v1_values(properties) is _full_scan(properties)
    assert has_v1_values(Values(properties)) is _full_scan(properties)


def test_v3_and_v1_values_are_told_apart() -> None:
    assert has_v1_values({"dealname": "Acme", "amount": None}) is False
    assert has_v1_values({"dealname": {"value": "Acme", "timestamp": 1}}) is True
    assert has_v1_values({"dealname": "Acme", "amount": {"versions": []}}) is False


@pytest.mark.parametrize("by_stage", [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize("closed", [None, True, False])
@pytest.mark.parametrize("won", [None, True, False])
def test_flags_are_checked_as_before(by_stage: tuple[bool, bool], closed: bool | None,
                                     won: bool | None) -> None:
    r = RecordReader("hubspot", "deal", "9", {})
    check_flags(r, "s1", by_stage, {"hs_is_closed": closed, "hs_is_closed_won": won})
    wrong = [f"{name} {str(value).lower()}" for name, value, expected
             in (("hs_is_closed", closed, by_stage[0]), ("hs_is_closed_won", won, by_stage[1]))
             if value is not None and value != expected]
    state = ("closed won" if by_stage[1] else "closed lost") if by_stage[0] else "open"
    verb = "contradicts" if len(wrong) == 1 else "contradict"
    assert r.warnings == ([f"hubspot deal 9: {' and '.join(wrong)} {verb} stage 's1', which is "
                           f"{state}; using the stage's flags"] if wrong else [])
