"""Stale-deal rules, each with its evidence; time in stage across time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from funnelsync.config.models import AlertsConfig, AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import FunnelDeal, StageChange
from funnelsync.rules import StaleReason, stage_entry, stale_reasons

CONFIG = AppConfig()
QUIET = AppConfig(alerts=AlertsConfig(idle_days=10_000, close_date_passed=False))
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
PACIFIC = timezone(timedelta(hours=-8))
TOKYO = timezone(timedelta(hours=9))
stage_of = StageMaps().opportunity_stage.get


def deal(**fields: Any) -> FunnelDeal:
    base: dict[str, Any] = {
        "source": "salesforce", "source_id": "006A", "stage": "Negotiation/Review",
        "funnel_stage": "decision", "last_activity_at": NOW, "stage_entered_at": NOW}
    return FunnelDeal(**{**base, **fields})


def change(from_stage: str | None, to_stage: str, at: datetime,
           record_id: str = "006A") -> StageChange:
    return StageChange(source="salesforce", record_id=record_id, from_stage=from_stage,
                       to_stage=to_stage, changed_at=at)


def reasons(one: FunnelDeal, changes: list[StageChange] | None = None,
            config: AppConfig = CONFIG, now: datetime = NOW) -> list[StaleReason]:
    return stale_reasons(one, changes or [], config, now, stage_of=stage_of)


def test_fresh_open_deal_has_no_reasons() -> None:
    assert reasons(deal()) == []


def test_stage_overdue_from_stage_entered_at() -> None:
    one = deal(stage_entered_at=NOW - timedelta(days=31))
    assert reasons(one) == [StaleReason(
        "stage_overdue", "In Negotiation/Review for 31 days (max 14)",
        {"stage": "Negotiation/Review", "funnel_stage": "decision", "days": 31, "max_days": 14,
         "entered_at": "2024-02-18T12:00:00+00:00", "entered_at_source": "stage_entered_at"})]


def test_stage_overdue_boundary() -> None:
    assert reasons(deal(stage_entered_at=NOW - timedelta(days=15) + timedelta(seconds=1))) == []
    fired = reasons(deal(stage_entered_at=NOW - timedelta(days=15)))
    assert [(r.code, r.evidence["days"]) for r in fired] == [("stage_overdue", 15)]


def test_stage_label_is_preferred_in_message() -> None:
    one = deal(stage="appointmentscheduled", stage_label="Appointment Scheduled",
               funnel_stage="consideration", stage_entered_at=NOW - timedelta(days=20))
    assert reasons(one)[0].message == "In Appointment Scheduled for 20 days (max 14)"


def test_time_in_stage_across_time_zones() -> None:
    # Entered 2024-03-01 23:30 in UTC-8 = 2024-03-02 07:30 UTC. Local calendar dates would
    # say 16 days by 2024-03-17 in UTC; the elapsed time is what counts.
    entered = datetime(2024, 3, 1, 23, 30, tzinfo=PACIFIC)
    one = deal(stage_entered_at=entered)
    not_yet = datetime(2024, 3, 17, 7, 29, tzinfo=UTC)
    assert reasons(one, now=not_yet, config=QUIET) == []
    same_instant_in_tokyo = datetime(2024, 3, 17, 16, 30, tzinfo=TOKYO)
    assert reasons(one, now=same_instant_in_tokyo, config=QUIET) == [StaleReason(
        "stage_overdue", "In Negotiation/Review for 15 days (max 14)",
        {"stage": "Negotiation/Review", "funnel_stage": "decision", "days": 15, "max_days": 14,
         "entered_at": "2024-03-02T07:30:00+00:00", "entered_at_source": "stage_entered_at"})]


def test_stage_entry_from_latest_history_change() -> None:
    history = [
        change("Prospecting", "Negotiation/Review", NOW - timedelta(days=40)),
        change("Negotiation/Review", "Proposal/Price Quote", NOW - timedelta(days=30)),
        change("Proposal/Price Quote", "Negotiation/Review", NOW - timedelta(days=16)),
        change("Prospecting", "Negotiation/Review", NOW - timedelta(days=2), record_id="006B"),
    ]
    one = deal(stage_entered_at=None)
    assert stage_entry(one, history[:3]) == (NOW - timedelta(days=16), "stage_history")
    overdue = [r for r in reasons(one, history) if r.code == "stage_overdue"]
    assert overdue == [StaleReason(
        "stage_overdue", "In Negotiation/Review for 16 days (max 14)",
        {"stage": "Negotiation/Review", "funnel_stage": "decision", "days": 16, "max_days": 14,
         "entered_at": "2024-03-04T12:00:00+00:00", "entered_at_source": "stage_history"})]


def test_stage_entry_falls_back_to_created_at() -> None:
    one = deal(stage_entered_at=None, created_at=datetime(2024, 2, 1, 9, 0, tzinfo=UTC))
    assert reasons(one) == [StaleReason(
        "stage_overdue", "In Negotiation/Review for 48 days (max 14)",
        {"stage": "Negotiation/Review", "funnel_stage": "decision", "days": 48, "max_days": 14,
         "entered_at": "2024-02-01T09:00:00+00:00", "entered_at_source": "created_at"})]


def test_no_entry_time_means_no_stage_overdue() -> None:
    assert reasons(deal(stage_entered_at=None)) == []


def test_stage_overdue_toggle() -> None:
    config = AppConfig(alerts=AlertsConfig(stage_overdue=False))
    assert reasons(deal(stage_entered_at=NOW - timedelta(days=60)), config=config) == []


def test_idle_at_boundary_with_evidence() -> None:
    assert reasons(deal(last_activity_at=NOW - timedelta(days=14) + timedelta(minutes=1))) == []
    assert reasons(deal(last_activity_at=NOW - timedelta(days=14))) == [StaleReason(
        "idle", "No activity for 14 days (limit 14)",
        {"days": 14, "idle_days": 14, "last_activity_at": "2024-03-06T12:00:00+00:00",
         "activity_source": "last_activity_at"})]


def test_idle_falls_back_to_created_at_never_updated_at() -> None:
    one = deal(last_activity_at=None, updated_at=NOW,
               created_at=datetime(2024, 3, 1, 4, 0, tzinfo=PACIFIC))
    assert reasons(one) == [StaleReason(
        "idle", "No activity for 19 days (limit 14)",
        {"days": 19, "idle_days": 14, "last_activity_at": "2024-03-01T12:00:00+00:00",
         "activity_source": "created_at"})]


def test_close_date_passed() -> None:
    assert reasons(deal(close_date=date(2024, 3, 20))) == []
    assert reasons(deal(close_date=date(2024, 3, 15))) == [StaleReason(
        "close_date_passed", "Close date 2024-03-15 passed 5 days ago, deal still open",
        {"close_date": "2024-03-15", "today": "2024-03-20", "days": 5})]


def test_close_date_uses_todays_utc_date() -> None:
    evening_in_pacific = datetime(2024, 3, 10, 23, 30, tzinfo=PACIFIC)  # 03-11 07:30 UTC
    assert [r.evidence for r in reasons(deal(close_date=date(2024, 3, 10)),
                                        now=evening_in_pacific)] == [
        {"close_date": "2024-03-10", "today": "2024-03-11", "days": 1}]


def test_close_date_toggle() -> None:
    config = AppConfig(alerts=AlertsConfig(close_date_passed=False))
    assert reasons(deal(close_date=date(2024, 1, 1)), config=config) == []


def test_moved_backward_and_the_skip_before_it() -> None:
    history = [
        change(None, "Qualification", NOW - timedelta(days=9)),
        change("Qualification", "Proposal/Price Quote", NOW - timedelta(days=6)),
        change("Proposal/Price Quote", "Needs Analysis", NOW - timedelta(days=3)),
    ]
    one = deal(stage="Needs Analysis", funnel_stage="intent")
    assert reasons(one, history) == [
        StaleReason("moved_backward",
                    "Moved back from Proposal/Price Quote (decision) to Needs Analysis (intent) "
                    "on 2024-03-17",
                    {"from_stage": "Proposal/Price Quote", "to_stage": "Needs Analysis",
                     "from_funnel_stage": "decision", "to_funnel_stage": "intent",
                     "changed_at": "2024-03-17T12:00:00+00:00"}),
        StaleReason("skipped_stages",
                    "Jumped from Qualification (consideration) to Proposal/Price Quote "
                    "(decision), skipping intent",
                    {"from_stage": "Qualification", "to_stage": "Proposal/Price Quote",
                     "from_funnel_stage": "consideration", "to_funnel_stage": "decision",
                     "changed_at": "2024-03-14T12:00:00+00:00", "skipped": ["intent"]}),
    ]


def test_missing_from_stage_uses_previous_change() -> None:
    history = [
        change(None, "Proposal/Price Quote", NOW - timedelta(days=5)),
        change(None, "Prospecting", NOW - timedelta(days=1)),  # unordered input is sorted
    ][::-1]
    codes = [r.code for r in reasons(deal(stage="Prospecting", funnel_stage="consideration"),
                                     history)]
    assert codes == ["moved_backward"]


def test_forward_move_without_skip_and_same_stage_moves_are_fine() -> None:
    history = [
        change("Prospecting", "Qualification", NOW - timedelta(days=5)),  # both consideration
        change("Qualification", "Needs Analysis", NOW - timedelta(days=2)),
    ]
    assert reasons(deal(stage="Needs Analysis", funnel_stage="intent"), history) == []


def test_moves_to_unmapped_or_lost_stages_are_ignored() -> None:
    history = [
        change("Negotiation/Review", "On Hold", NOW - timedelta(days=4)),  # unmapped
        change("On Hold", "Prospecting", NOW - timedelta(days=2)),
    ]
    assert reasons(deal(stage="Prospecting", funnel_stage="consideration"), history) == []


def test_history_toggles() -> None:
    config = AppConfig(alerts=AlertsConfig(moved_backward=False, skipped_stages=False))
    history = [change("Prospecting", "Negotiation/Review", NOW - timedelta(days=2)),
               change("Negotiation/Review", "Prospecting", NOW - timedelta(days=1))]
    assert reasons(deal(stage="Prospecting"), history, config=config) == []
    assert [r.code for r in reasons(deal(stage="Prospecting"), history)] == [
        "moved_backward", "skipped_stages"]


def test_hubspot_pipeline_bound_stage_of() -> None:
    maps = StageMaps()
    one = FunnelDeal(source="hubspot", source_id="9", pipeline="default", stage="contractsent",
                     funnel_stage="decision", stage_entered_at=NOW, last_activity_at=NOW)
    history = [StageChange(source="hubspot", record_id="9", from_stage="appointmentscheduled",
                           to_stage="contractsent", changed_at=NOW - timedelta(hours=3))]
    found = stale_reasons(one, history, CONFIG, NOW,
                          stage_of=lambda s: maps.hubspot_deal_stage(one.pipeline, s))
    assert [(r.code, r.evidence["skipped"]) for r in found] == [("skipped_stages", ["intent"])]


def test_closed_won_deleted_deals_are_never_stale() -> None:
    old = {"stage_entered_at": NOW - timedelta(days=90), "close_date": date(2024, 1, 1),
           "last_activity_at": NOW - timedelta(days=90)}
    assert len(reasons(deal(**old))) == 3
    assert reasons(deal(is_closed=True, **old)) == []
    assert reasons(deal(is_closed=True, is_won=True, **old)) == []
    assert reasons(deal(is_deleted=True, **old)) == []
