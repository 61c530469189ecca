"""Bookings from deals not created yet: arrival rate × conversion × share won in the period ×
average won amount, on a hand case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from funnelsync.reports.backtest import backtest_point
from funnelsync.reports.forecast import Terminal, Timeline, period_bounds
from funnelsync.reports.new_pipeline import (
    expected_by_period,
    explain_inputs,
    flow_inputs,
    share_in_period,
)

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
TERM = Terminal("purchase", "lost")


def deal(key: str, created_days_ago: float, outcome: str, cycle: float = 20,
         amount: float = 100.0) -> Timeline:
    """Created ``created_days_ago`` before AS_OF; won or lost ``cycle`` days later, or open."""
    created = AS_OF - timedelta(days=created_days_ago)
    path = [("consideration", created)]
    if outcome != "open":
        path.append((outcome, created + timedelta(days=cycle)))
    return Timeline(key, "salesforce/-", tuple(path), amount, created=created)


# Ten old deals all won 20 days after creation; twenty recent ones (60 days old): five won
# after 20 days, fifteen lost. Cycle times: fifteen wins, all of 20 days.
HAND = ([deal(f"old{i}", 200, "purchase") for i in range(10)]
        + [deal(f"new{i}", 60, "purchase") for i in range(5)]
        + [deal(f"lost{i}", 60, "lost") for i in range(15)])


def test_inputs_of_the_hand_case() -> None:
    inputs = flow_inputs(HAND, AS_OF, TERM)
    assert explain_inputs(inputs) == {
        "arrival_rate_per_day": round(20 / 90, 4), "arrival_window_days": 90, "arrivals": 20,
        "conversion_rate": 0.5, "conversion_sample": 30, "conversion_won": 15,
        "conversion_exposure": 30.0, "cycle_days_median": 20.0, "cycle_sample": 15,
        "average_won_amount": 100.0, "fallback": False, "notes": []}


def test_expected_per_period_of_the_hand_case() -> None:
    inputs = flow_inputs(HAND, AS_OF, TERM)
    june, july = period_bounds(AS_OF, "month", 2)
    # Created evenly over June's 30 days, won 20 days later: the first 10 days' wins land in
    # June. July: of 61 days' creations, those from day 10 to day 41 win in July.
    assert share_in_period(inputs, AS_OF, june) == pytest.approx(10 / 30)
    assert share_in_period(inputs, AS_OF, july) == pytest.approx(31 / 61)
    assert expected_by_period(inputs, AS_OF, [june, july]) == [
        {"period": "2026-06", "deals_created": 6.67, "share_won_in_period": 0.3333,
         "expected": 111.11},
        {"period": "2026-07", "deals_created": 13.56, "share_won_in_period": 0.5082,
         "expected": 344.44}]


def test_young_deals_count_by_their_exposure_not_as_losses() -> None:
    # Ten more deals created 10 days ago, none closed yet: wins come after 20 days, so they
    # add nothing to the exposure and the conversion stays 15 of 30.
    young = [deal(f"young{i}", 10, "open") for i in range(10)]
    inputs = flow_inputs(HAND + young, AS_OF, TERM)
    assert (inputs.created, inputs.exposure, inputs.conversion) == (40, 30.0, 0.5)
    assert inputs.arrivals == 30


def test_small_samples_fall_back_and_say_so() -> None:
    few = [deal(f"old{i}", 200, "purchase") for i in range(6)] + [deal("n", 30, "lost")]
    inputs = flow_inputs(few, AS_OF, TERM)
    shown = explain_inputs(inputs)
    assert (shown["arrival_window_days"], shown["arrivals"], shown["fallback"]) == (365, 7, True)
    assert shown["notes"] == [
        "only 1 deals created in the last 90 days (fewer than 10): arrival rate over 365 days",
        "only 7 deals created in the last 365 days (fewer than 10): conversion over all "
        "history",
        "only 6 won deals to learn cycle times from (fewer than 10): no new-pipeline estimate"]
    assert [p["expected"] for p in expected_by_period(
        inputs, AS_OF, period_bounds(AS_OF, "month", 2))] == [0.0, 0.0]


def test_only_what_was_known_at_the_moment_counts() -> None:
    # A deal created before AS_OF but won after it is open at AS_OF; one created after it
    # does not exist yet.
    later = [deal("pending", 5, "purchase", cycle=30, amount=1000.0),
             deal("future", -3, "purchase", cycle=1, amount=1000.0)]
    assert explain_inputs(flow_inputs(HAND + later, AS_OF, TERM)) == {
        **explain_inputs(flow_inputs(HAND, AS_OF, TERM)),
        "arrivals": 21, "arrival_rate_per_day": round(21 / 90, 4), "conversion_sample": 31}


def test_backtest_scores_the_new_pipeline_with_deals_created_after_the_date() -> None:
    # Created on 2026-06-05, won 20 days later: June's new-pipeline actual. The "pending"
    # deal was open on AS_OF and counts for the open deals, not here (but it was one more
    # arrival: 21 in 90 days instead of 20, so 111.11 × 21 / 20 expected).
    created = deal("june", -4, "purchase", amount=300.0)
    pending = deal("pending", 5, "purchase", cycle=10, amount=1000.0)
    point = backtest_point([*HAND, created, pending], AS_OF, "month", TERM)
    assert (point["new_pipeline_expected"], point["new_pipeline_actual"]) == (116.67, 300.0)
    assert point["actual"] == 1000.0
