"""Lead score: fit tables, engagement with half-life decay and cap, BANT, idle penalty, clamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from funnelsync.config.models import ScoringConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules import CLAMP_REASON, Score, Scorer, score_lead

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SCORER = Scorer(ScoringConfig())


def lead(**fields: Any) -> FunnelLead:
    fields.setdefault("last_activity_at", NOW)
    return FunnelLead(source="salesforce", source_id="00Q1", **fields)


def score(**fields: Any) -> Score:
    result = SCORER.score(lead(**fields), NOW)
    assert sum(points for _, points in result.breakdown) == result.value
    return result


def test_title_keyword_as_written() -> None:
    assert score(title="VP of Sales").breakdown == [("title: VP", 15)]


def test_title_best_match_wins() -> None:
    assert score(title="Head of IT and Director").breakdown == [("title: Director", 12)]
    assert score(title="Vice President, Finance").breakdown == [("title: Vice President", 15)]
    assert score(title="chief executive officer").breakdown == [("title: chief", 20)]


def test_title_matches_whole_words_only() -> None:
    assert score(title="Headhunter").breakdown == []
    assert score(title="SVP Marketing").breakdown == []


def test_industry_and_country_case_insensitive() -> None:
    scorer = Scorer(ScoringConfig(country_points={"Germany": 5}))
    result = scorer.score(lead(industry=" Software ", country="GERMANY"), NOW)
    assert result.breakdown == [("industry: software", 10), ("country: germany", 5)]
    assert result.value == 15


def test_unknown_industry_scores_nothing() -> None:
    assert score(industry="Retail", country="France").breakdown == []


def test_employee_bands_at_boundaries() -> None:
    assert score(employees=0).breakdown == []
    assert score(employees=1).breakdown == [("employees: 1+", 2)]
    assert score(employees=199).breakdown == [("employees: 50+", 6)]
    assert score(employees=200).breakdown == [("employees: 200+", 10)]
    assert score(employees=25_000).breakdown == [("employees: 1000+", 15)]
    assert score(employees=None).breakdown == []


def test_engagement_without_age_is_not_decayed() -> None:
    result = score(extra={"email_clicks": 4, "email_opens": 3})
    assert result.breakdown == [("email opens: 3", 3), ("email clicks: 4", 12)]
    assert result.value == 15


def test_decay_at_exactly_one_half_life_halves_the_points() -> None:
    result = score(last_activity_at=NOW - timedelta(days=30), extra={"email_clicks": 4})
    assert result.breakdown == [("email clicks: 4 (decayed)", 6)]


def test_decay_at_two_half_lives_quarters_the_points() -> None:
    result = score(last_activity_at=NOW - timedelta(days=60), extra={"meetings": 2})
    assert result.breakdown == [("meetings: 2 (decayed)", 5), ("no activity 60d", -10),
                                ("clamped to 0..100", 5)]
    assert result.value == 0


def test_decay_uses_created_at_when_no_activity_date() -> None:
    result = SCORER.score(FunnelLead(source="hubspot", source_id="1",
                                     created_at=NOW - timedelta(days=30),
                                     extra={"form_submissions": 1}), NOW)
    assert result.breakdown == [("form submissions: 1 (decayed)", 4)]


def test_updated_at_never_counts_as_activity() -> None:
    # Our own write-back bumps updated_at; it must not reset decay or the idle penalty.
    result = SCORER.score(FunnelLead(source="hubspot", source_id="1",
                                     created_at=NOW - timedelta(days=90), updated_at=NOW,
                                     extra={"form_submissions": 1}), NOW)
    assert result.breakdown == [("form submissions: 1 (decayed)", 1), ("no activity 90d", -10),
                                ("clamped to 0..100", 9)]


def test_decay_across_time_zones_uses_elapsed_time() -> None:
    pacific = timezone(timedelta(hours=-8))
    # 2024-05-02 04:00-08:00 is 2024-05-02 12:00 UTC: exactly 30 days before NOW.
    result = score(last_activity_at=datetime(2024, 5, 2, 4, 0, tzinfo=pacific),
                   extra={"email_clicks": 4})
    assert result.breakdown == [("email clicks: 4 (decayed)", 6)]


def test_no_timestamps_means_no_decay_and_no_idle_penalty() -> None:
    result = SCORER.score(FunnelLead(source="hubspot", source_id="1",
                                     extra={"email_clicks": 2}), NOW)
    assert result.breakdown == [("email clicks: 2", 6)]


def test_half_point_rounds_up() -> None:
    assert score(extra={"page_views": 1}).breakdown == [("page views: 1", 1)]


def test_engagement_cap_line_keeps_the_sum() -> None:
    result = score(extra={"meetings": 5})
    assert result.breakdown == [("meetings: 5", 50), ("engagement cap 40", -10)]
    assert result.value == 40


def test_engagement_reads_extra_defensively() -> None:
    extra = {"email_opens": None, "email_clicks": "3", "meetings": True, "page_views": -2,
             "form_submissions": float("nan")}
    assert score(extra=extra).breakdown == []
    assert score(extra={}).breakdown == []


def test_custom_behaviour_key_reads_plural_extra() -> None:
    scorer = Scorer(ScoringConfig(engagement_points={"demo_request": 12.0}))
    result = scorer.score(lead(extra={"demo_requests": 1}), NOW)
    assert result.breakdown == [("demo requests: 1", 12)]


def test_bant_points_per_present_field() -> None:
    bant = {"budget": "100k", "authority": None, "need": "", "timeline": "Q3"}
    assert score(extra={"bant": bant}).breakdown == [("BANT: budget", 5), ("BANT: timeline", 5)]


def test_bant_not_a_dict_scores_nothing() -> None:
    assert score(extra={"bant": "budget"}).breakdown == []


def test_idle_penalty_boundary() -> None:
    just_before = NOW - timedelta(days=60) + timedelta(seconds=1)
    assert score(title="VP", last_activity_at=just_before).breakdown == [("title: VP", 15)]
    at_limit = score(title="VP", last_activity_at=NOW - timedelta(days=60))
    assert at_limit.breakdown == [("title: VP", 15), ("no activity 60d", -10)]
    assert at_limit.value == 5
    later = score(title="VP", last_activity_at=NOW - timedelta(days=75, hours=5))
    assert later.breakdown == [("title: VP", 15), ("no activity 75d", -10)]


def test_clamp_high() -> None:
    result = score(title="Chief Revenue Officer", industry="software", employees=1000,
                   extra={"meetings": 4, "bant": dict.fromkeys(
                       ("budget", "authority", "need", "timeline"), "yes")})
    assert result.breakdown == [
        ("title: Chief", 20), ("industry: software", 10), ("employees: 1000+", 15),
        ("meetings: 4", 40), ("BANT: budget", 5), ("BANT: authority", 5), ("BANT: need", 5),
        ("BANT: timeline", 5), (CLAMP_REASON, -5)]
    assert result.value == 100


def test_clamp_low() -> None:
    result = score(last_activity_at=NOW - timedelta(days=90))
    assert result.breakdown == [("no activity 90d", -10), ("clamped to 0..100", 10)]
    assert result.value == 0


def test_worked_example() -> None:
    result = score(title="VP Sales", industry="Software", employees=250,
                   last_activity_at=NOW - timedelta(days=30),
                   extra={"email_clicks": 4, "bant": {"budget": "yes"}, "rating": "Hot"})
    assert result == Score(46, [("title: VP", 15), ("industry: software", 10),
                                ("employees: 200+", 10), ("email clicks: 4 (decayed)", 6),
                                ("BANT: budget", 5)])


def test_score_lead_matches_scorer() -> None:
    one = lead(title="Director", extra={"email_opens": 2})
    assert score_lead(one, ScoringConfig(), NOW) == SCORER.score(one, NOW)
    assert score_lead(one, ScoringConfig(), NOW).value == 14


def test_title_cache_returns_the_same_answer() -> None:
    scorer = Scorer(ScoringConfig())
    first = scorer.score(lead(title="Marketing Manager"), NOW)
    second = scorer.score(lead(title="Marketing Manager"), NOW)
    assert first == second == Score(6, [("title: Manager", 6)])
