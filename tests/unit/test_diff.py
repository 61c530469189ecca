"""Diff of desired write-back values against live CRM values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from funnelsync.config.models import HubSpotWriteback, SalesforceWriteback, WritebackConfig
from funnelsync.rules.diff import (
    DiffInput,
    FieldDiff,
    allowed_keys,
    diff_all,
    diff_record,
    live_values,
    values_equal,
)

BOTH = {"stage", "score"}


def diff(desired: dict[str, Any], live: dict[str, Any], *, allowed: set[str] = BOTH,
         tolerance: float = 1.0, deleted: bool = False) -> FieldDiff | None:
    return diff_record("salesforce", "lead", "00Q1", desired, live, is_deleted=deleted,
                       allowed=allowed, score_tolerance=tolerance)


def test_equal_values_give_no_diff() -> None:
    assert diff({"stage": "interest", "score": 45}, {"stage": "interest", "score": 45.0}) is None


def test_changed_stage_only() -> None:
    assert diff({"stage": "interest", "score": 45}, {"stage": "awareness", "score": 45}) == (
        FieldDiff("salesforce", "lead", "00Q1", {"stage": ("awareness", "interest")},
                  ["stage: 'awareness' -> 'interest'"]))


def test_score_tolerance_boundary() -> None:
    assert diff({"score": 72}, {"score": 71.0}) is None
    assert diff({"score": 72.3}, {"score": 71.3}) is None  # float noise at the boundary
    assert diff({"score": 72}, {"score": 70.9}) == FieldDiff(
        "salesforce", "lead", "00Q1", {"score": (70.9, 72)}, ["score: 70.9 -> 72"])
    assert diff({"score": 72}, {"score": 71}, tolerance=0.0) is not None


def test_missing_live_score_is_a_change() -> None:
    assert diff({"score": 0}, {}) == FieldDiff(
        "salesforce", "lead", "00Q1", {"score": (None, 0)}, ["score: None -> 0"])


def test_none_and_empty_string_are_equal() -> None:
    assert diff({"stage": ""}, {"stage": None}) is None
    assert diff({"stage": None}, {}) is None


def test_desired_none_clears_a_live_value() -> None:
    assert diff({"stage": None}, {"stage": "interest"}) == FieldDiff(
        "salesforce", "lead", "00Q1", {"stage": ("interest", None)}, ["stage: 'interest' -> None"])


def test_strings_compare_exactly() -> None:
    assert diff({"stage": "interest"}, {"stage": "Interest"}) is not None
    assert not values_equal("owner_id", "0042", "42")
    assert not values_equal("stage", "interest ", "interest")


def test_numbers_compare_numerically() -> None:
    assert diff({"score": 72}, {"score": "72"}, tolerance=0.0) is None  # HubSpot returns strings
    assert values_equal("status", 5, 5.0)
    assert values_equal("status", Decimal("5.00"), 5)
    assert not values_equal("status", 5, 5.5, 1.0)  # tolerance is for the score only
    assert not values_equal("score", "abc", 5)


def test_deleted_record_gets_nothing() -> None:
    assert diff({"stage": "interest"}, {"stage": "awareness"}, deleted=True) is None


def test_keys_not_allowed_are_ignored() -> None:
    assert diff({"stage": "interest", "score": 50}, {"stage": "awareness", "score": 10},
                allowed={"stage"}) == FieldDiff(
        "salesforce", "lead", "00Q1", {"stage": ("awareness", "interest")},
        ["stage: 'awareness' -> 'interest'"])
    assert diff({"owner_id": "005B"}, {"owner_id": "005A"}) is None
    assert diff({"stage": "interest"}, {"stage": "awareness"}, allowed=set()) is None


def test_explain_is_appended_to_the_reason() -> None:
    found = diff_record("hubspot", "lead", "501", {"stage": "interest"}, {"stage": None},
                        is_deleted=False, allowed=BOTH, score_tolerance=1.0,
                        explain={"stage": "score 45 >= MQL threshold 40"})
    assert found is not None
    assert found.reasons == ["stage: None -> 'interest' (score 45 >= MQL threshold 40)"]


def test_allowed_keys_from_config() -> None:
    default = WritebackConfig()
    assert allowed_keys(default, "salesforce", "lead") == {"stage", "score"}
    assert allowed_keys(default, "salesforce", "deal") == {"stage"}
    assert allowed_keys(default, "hubspot", "lead") == {"stage", "score"}
    no_score = WritebackConfig(salesforce=SalesforceWriteback(score_field=""),
                               hubspot=HubSpotWriteback(stage_property=""))
    assert allowed_keys(no_score, "salesforce", "lead") == {"stage"}
    assert allowed_keys(no_score, "hubspot", "lead") == {"score"}
    assert allowed_keys(no_score, "hubspot", "deal") == set()
    assert allowed_keys(WritebackConfig(enabled=False), "salesforce", "lead") == set()
    assert allowed_keys(default, "pipedrive", "lead") == set()


def test_diff_all_streams_only_changes() -> None:
    items = [
        DiffInput("hubspot", "lead", "1", {"stage": "interest", "score": 45},
                  {"stage": "interest", "score": "44.5"}),
        DiffInput("hubspot", "deal", "2", {"stage": "intent", "score": 90}, {"stage": "intent"}),
        DiffInput("salesforce", "deal", "3", {"stage": "decision"}, {"stage": "intent"}),
        DiffInput("salesforce", "deal", "4", {"stage": "decision"}, {"stage": "intent"},
                  is_deleted=True),
        DiffInput("salesforce", "lead", "5", {"score": 12}, {"score": 40},
                  explain={"score": "idle"}),
    ]
    assert list(diff_all(iter(items), WritebackConfig())) == [
        FieldDiff("salesforce", "deal", "3", {"stage": ("intent", "decision")},
                  ["stage: 'intent' -> 'decision'"]),
        FieldDiff("salesforce", "lead", "5", {"score": (40, 12)}, ["score: 40 -> 12 (idle)"]),
    ]


def test_live_values_read_defensively() -> None:
    assert live_values({"live": {"stage": "interest", "score": 40.0}}) == {
        "stage": "interest", "score": 40.0}
    assert live_values({}) == {}
    assert live_values({"live": "broken"}) == {}


def test_win_probability_within_its_tolerance_is_not_written() -> None:
    from funnelsync.rules.diff import PROBABILITY_KEY, allowed_keys

    wb = WritebackConfig.model_validate({"salesforce": {"probability_field": "Win_P__c"}})
    assert allowed_keys(wb, "salesforce", "deal") == {"stage", PROBABILITY_KEY}
    assert allowed_keys(wb, "salesforce", "lead") == {"stage", "score"}
    assert allowed_keys(WritebackConfig(), "salesforce", "deal") == {"stage"}
    deal = {"allowed": frozenset({PROBABILITY_KEY}), "is_deleted": False, "score_tolerance": 0.0,
            "probability_tolerance": wb.probability_tolerance}
    assert diff_record("salesforce", "deals", "006", {PROBABILITY_KEY: 41},
                       {PROBABILITY_KEY: 40.0}, **deal) is None
    assert diff_record("salesforce", "deals", "006", {PROBABILITY_KEY: 42},
                       {PROBABILITY_KEY: "40"}, **deal).changes == {PROBABILITY_KEY: ("40", 42)}
    assert diff_record("salesforce", "deals", "006", {PROBABILITY_KEY: 42},
                       {PROBABILITY_KEY: None}, **deal).changes == {PROBABILITY_KEY: (None, 42)}
