"""The forecast's pure parts: chance by stage and age, the interval, periods, backtest scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from funnelsync.reports.backtest import backtest_dates, score
from funnelsync.reports.forecast import (
    MIN_SAMPLE,
    History,
    Terminal,
    Timeline,
    close_date_prior,
    forecast_deals,
    period_bounds,
    sum_quantiles,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
TERM = Terminal("purchase", "lost")


def deal(i: int, outcome: str, after_days: float, group: str = "salesforce/-") -> Timeline:
    """Entered decision at T0 + i hours; won or lost ``after_days`` later (or still open)."""
    start = T0 + timedelta(hours=i)
    path = [("decision", start)]
    if outcome != "open":
        path.append((outcome, start + timedelta(days=after_days)))
    return Timeline(f"d{i}", group, tuple(path), 100.0)


# Ten deals won 10 days into decision, ten lost after 40 days, ten never closed.
HISTORY = ([deal(i, "purchase", 10) for i in range(10)]
           + [deal(10 + i, "lost", 40) for i in range(10)]
           + [deal(20 + i, "open", 0) for i in range(10)])


def test_chance_by_stage_and_age() -> None:
    history = History.at(HISTORY, AS_OF, TERM)
    young = history.estimate("decision", "salesforce/-", 0, (0, 30))
    old = history.estimate("decision", "salesforce/-", 20, (0, 30))
    assert (young.probability, young.sample_size, young.won, young.basis) == \
        (10 / 30, 30, 10, "pipeline")
    # After 20 days in decision the won ones have left: the old deals close less often.
    assert (old.probability, old.sample_size, old.won) == (0.0, 20, 0)


def test_small_samples_fall_back_and_say_so() -> None:
    history = History.at(HISTORY[:12], AS_OF, TERM)
    found = history.estimate("decision", "hubspot/default", 0, (0, 30))
    assert found.basis == "stage"
    assert MIN_SAMPLE == 10
    few = History.at(HISTORY[:5], AS_OF, TERM).estimate("decision", "salesforce/-", 0, (0, 30))
    assert (few.basis, few.sample_size) == ("pooled", 5)


def test_interval_of_a_small_hand_case() -> None:
    # Totals 0, 100, 200, 300 each with probability 1/4.
    assert sum_quantiles([100.0, 200.0], [0.5, 0.5]) == [0.0, 100.0, 300.0]
    # One sure deal and one 10% chance: 1000 nine times in ten, else 1500.
    assert sum_quantiles([1000.0, 500.0], [1.0, 0.1]) == [1000.0, 1000.0, 1000.0]
    assert sum_quantiles([1000.0, 500.0], [1.0, 0.1], qs=(0.95,)) == [1500.0]


def test_monte_carlo_is_seeded() -> None:
    amounts, probs = [100.0] * 40, [0.25] * 40
    assert sum_quantiles(amounts, probs) == sum_quantiles(amounts, probs)
    p10, p50, p90 = sum_quantiles(amounts, probs)
    assert p10 < p50 == 1000.0 < p90


def test_periods_start_at_the_moment_and_follow_the_calendar() -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    months = period_bounds(at, "month", 3)
    assert [(p.label, p.start.date().isoformat(), p.end.date().isoformat()) for p in months] == \
        [("2026-11", "2026-11-23", "2026-12-01"), ("2026-12", "2026-12-01", "2027-01-01"),
         ("2027-01", "2027-01-01", "2027-02-01")]
    assert [p.label for p in period_bounds(at, "quarter", 2)] == ["2026-Q4", "2027-Q1"]
    assert [d.date().isoformat() for d in backtest_dates(
        datetime(2026, 8, 15, tzinfo=UTC), at, "month")] == ["2026-09-01", "2026-10-01"]


def test_close_date_ahead_takes_half_the_weight() -> None:
    periods = period_bounds(AS_OF, "month", 2)
    assert close_date_prior([0.2, 0.2], AS_OF, periods, datetime(2026, 7, 5).date()) == \
        [0.1, 0.1 + 0.2]
    assert close_date_prior([0.2, 0.2], AS_OF, periods, datetime(2026, 5, 5).date()) == \
        [0.2, 0.2]


def test_forecast_deals_uses_only_what_was_known_then() -> None:
    late = Timeline("late", "salesforce/-", (("decision", AS_OF + timedelta(days=1)),), 50.0)
    deals = forecast_deals([*HISTORY, late], AS_OF, period_bounds(AS_OF, "month", 1), TERM)
    assert len(deals) == 10 and "late" not in {d.timeline.key for d in deals}
    # Nobody was still in decision after 150 days with a month left to see: the pooled rate.
    first = deals[0].estimates[0]
    assert (first.basis, first.sample_size, first.won) == ("pooled", 30, 10)


def test_backtest_scores() -> None:
    points = [{"forecast_p50": 120.0, "p10": 80.0, "p90": 150.0, "actual": 100.0, "naive": 200.0},
              {"forecast_p50": 90.0, "p10": 95.0, "p90": 130.0, "actual": 50.0, "naive": 25.0}]
    assert score(points) == {"mape": 0.5, "bias": 0.4, "coverage": 0.5, "naive_mape": 0.75}
