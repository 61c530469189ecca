"""SLA timers: business hours across time zones and weekends, touches, breaches, baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from funnelsync.config.operations import SlaConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.sla import (
    ESCALATION,
    FIRST_TOUCH,
    LeadTimer,
    breaches,
    is_mql,
    observe,
    sla_elapsed,
)

STAGES = ["awareness", "interest", "consideration", "intent", "decision", "purchase"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def lead(**values: Any) -> FunnelLead:
    return FunnelLead(source="salesforce", source_id="00Q1", **values)


BERLIN = SlaConfig(first_touch_hours=4, escalate_hours=8, business_hours="09:00-17:00",
                   timezone="Europe/Berlin", count_weekends=False)


def test_wall_clock_by_default() -> None:
    cfg = SlaConfig()
    assert sla_elapsed(at("2026-11-20T16:00:00+00:00"), at("2026-11-23T10:30:00+00:00"),
                       cfg) == timedelta(hours=66, minutes=30)
    assert sla_elapsed(at("2026-11-23T10:00:00+00:00"), at("2026-11-23T09:00:00+00:00"),
                       cfg) == timedelta(0)


def test_business_hours_skip_nights_and_the_weekend_in_the_sla_time_zone() -> None:
    # Friday 15:00 Berlin (14:00 UTC) → Monday 10:00 Berlin: 2 h Friday + 1 h Monday
    start, end = at("2026-11-20T15:00:00+01:00"), at("2026-11-23T10:00:00+01:00")
    assert sla_elapsed(start, end, BERLIN) == timedelta(hours=3)
    # the same instants seen from New York: the window is still Berlin's 09-17
    assert sla_elapsed(at("2026-11-20T09:00:00-05:00"), at("2026-11-23T04:00:00-05:00"),
                       BERLIN) == timedelta(hours=3)
    # MQL on Saturday night: the clock starts Monday 09:00
    assert sla_elapsed(at("2026-11-21T22:00:00+01:00"), at("2026-11-23T13:30:00+01:00"),
                       BERLIN) == timedelta(hours=4, minutes=30)
    weekends = BERLIN.model_copy(update={"count_weekends": True})
    assert sla_elapsed(start, end, weekends) == timedelta(hours=19)


def test_business_hours_across_a_dst_change() -> None:
    # Berlin leaves summer time on Sunday 2026-10-25; 09-17 local is 07-15 UTC before, 08-16 after
    cfg = BERLIN.model_copy(update={"count_weekends": True})
    assert sla_elapsed(at("2026-10-24T14:00:00+00:00"), at("2026-10-25T09:00:00+00:00"),
                       cfg) == timedelta(hours=2)


def test_is_mql() -> None:
    assert is_mql("interest", STAGES) is True
    assert is_mql("decision", STAGES) is True
    assert is_mql("awareness", STAGES) is False
    assert is_mql("lost", STAGES) is False
    assert is_mql(None, STAGES) is False


def test_timer_starts_then_breaches_once_per_reason_then_clears_on_touch() -> None:
    start = at("2026-11-23T09:30:00+01:00")  # Monday
    timer = observe(None, lead(status="Open", owner_id="005A"), True, start,
                    first_pass=False, alert_existing=False)
    assert timer == LeadTimer("00Q1", mql_at=start, mql_status="Open", owner_id="005A")
    assert breaches(timer, at("2026-11-23T13:29:00+01:00"), BERLIN) == []
    assert breaches(timer, at("2026-11-23T13:30:00+01:00"), BERLIN) == [FIRST_TOUCH]
    assert breaches(timer, at("2026-11-24T09:30:00+01:00"), BERLIN) == [FIRST_TOUCH,
                                                                        ESCALATION]
    later = at("2026-11-24T11:00:00+01:00")
    touched = observe(timer, lead(status="Open", owner_id="005A",
                                  last_activity_at=at("2026-11-24T00:00:00+00:00")),
                      True, later, first_pass=False, alert_existing=False)
    assert touched is not None
    assert (touched.touched_at, touched.touch_kind) == (at("2026-11-24T00:00:00+00:00"),
                                                        "activity")
    assert breaches(touched, later, BERLIN) == []


def test_status_change_is_a_touch_and_old_activity_is_not() -> None:
    old = at("2026-11-01T00:00:00+00:00")
    start = at("2026-11-23T09:00:00+00:00")
    timer = observe(None, lead(status="Open", last_activity_at=old), True, start,
                    first_pass=False, alert_existing=False)
    same = observe(timer, lead(status="Open", last_activity_at=old), True,
                   start + timedelta(hours=1), first_pass=False, alert_existing=False)
    assert same == timer
    moved = observe(timer, lead(status="Working", last_activity_at=old,
                                updated_at=start + timedelta(hours=2)), True,
                    start + timedelta(hours=5), first_pass=False, alert_existing=False)
    assert moved is not None
    assert (moved.touched_at, moved.touch_kind) == (start + timedelta(hours=2), "status")


def test_baseline_timers_never_alert_and_withdrawn_mqls_drop() -> None:
    now = at("2026-11-23T09:00:00+00:00")
    base = observe(None, lead(status="Open"), True, now, first_pass=True, alert_existing=False)
    assert base is not None and base.baseline is True
    assert breaches(base, now + timedelta(days=9), SlaConfig()) == []
    alerting = observe(None, lead(status="Open"), True, now, first_pass=True,
                       alert_existing=True)
    assert alerting is not None and alerting.baseline is False
    assert observe(alerting, lead(status="Open"), False, now, first_pass=False,
                   alert_existing=False) is None
    assert observe(None, lead(status="Open"), False, now, first_pass=False,
                   alert_existing=False) is None
