"""The marketing → sales SLA (pure): MQL timers, first touches and breaches.

A lead's timer starts the first time funnelsync sees it as an MQL (computed funnel stage at or
past ``interest``, which includes score ≥ MQL threshold). It stops at the first sales touch:
  - an activity newer than the one the lead had when the timer started (Salesforce
    LastActivityDate, HubSpot notes_last_updated; both move when a task is completed, so a
    completed task counts as a touch too), or
  - a status change away from the status the lead had when it became MQL.
Time is counted in SLA hours: all hours, or only ``business_hours`` on counted days in
``sla.timezone`` (weekends excluded unless ``count_weekends``), so a lead that turns MQL on a
Friday evening is not late on Monday morning.
Past ``first_touch_hours`` untouched the breach ``sla_first_touch`` holds; past
``escalate_hours`` also ``sla_escalation``. A touched timer holds no breach, so its alerts clear.
Timers of leads that were already MQL when funnelsync first met them are ``baseline``: their
start time is unknown, so they never alert (unless ``alert_existing``) and are kept out of the
compliance figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from funnelsync.config.operations import SlaConfig
from funnelsync.mapping.schema import FunnelLead

FIRST_TOUCH = "sla_first_touch"
ESCALATION = "sla_escalation"
_MAX_DAYS = 3660  # a timer older than ten years is counted as that long


@dataclass(frozen=True)
class LeadTimer:
    """What funnelsync remembers about one lead between runs (table ``lead_timers``)."""

    lead_id: str
    mql_at: datetime | None = None
    mql_status: str | None = None
    activity_at_mql: datetime | None = None
    owner_id: str | None = None
    lead_source: str | None = None
    touched_at: datetime | None = None
    touch_kind: str | None = None
    baseline: bool = False
    lost_since: datetime | None = None


def _window(day: date, config: SlaConfig, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The counted part of one local day, in UTC; None for a day that does not count."""
    if not config.count_weekends and day.weekday() >= 5:
        return None
    if config.business_hours is None:
        start, end = time(0, 0), None
    else:
        first, last = config.business_hours.strip().split("-")
        start = time.fromisoformat(first)
        end = None if last == "24:00" else time.fromisoformat(last)
    begin = datetime.combine(day, start, zone)
    finish = (datetime.combine(day, end, zone) if end is not None
              else datetime.combine(day + timedelta(days=1), time(0, 0), zone))
    return begin.astimezone(UTC), finish.astimezone(UTC)


def sla_elapsed(start: datetime, end: datetime, config: SlaConfig) -> timedelta:
    """SLA time between two instants: all of it, or only business hours on counted days."""
    if end <= start:
        return timedelta(0)
    if config.business_hours is None and config.count_weekends:
        return end - start
    zone = ZoneInfo(config.timezone)
    day = start.astimezone(zone).date()
    last = min(end.astimezone(zone).date(), day + timedelta(days=_MAX_DAYS))
    total = timedelta(0)
    while day <= last:
        window = _window(day, config, zone)
        if window is not None:
            lo, hi = max(start, window[0]), min(end, window[1])
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def is_mql(stage: str | None, stage_ids: list[str], mql_stage: str = "interest") -> bool:
    """At or past the MQL stage of the funnel (lost and unknown stages are not)."""
    if stage not in stage_ids or mql_stage not in stage_ids:
        return False
    return stage_ids.index(stage) >= stage_ids.index(mql_stage)


def observe(timer: LeadTimer | None, lead: FunnelLead, mql: bool, now: datetime, *,
            first_pass: bool, alert_existing: bool) -> LeadTimer | None:
    """The timer after seeing ``lead`` now. None: no timer (never MQL, or MQL withdrawn
    before any touch, e.g. its score decayed)."""
    if timer is None or timer.mql_at is None:
        if not mql:
            return timer  # may still carry nurture's lost_since
        base = timer or LeadTimer(lead.source_id)
        return replace(base, mql_at=now, mql_status=lead.status,
                       activity_at_mql=lead.last_activity_at, owner_id=lead.owner_id,
                       lead_source=lead.lead_source, baseline=first_pass and not alert_existing)
    timer = replace(timer, owner_id=lead.owner_id, lead_source=lead.lead_source)
    if timer.touched_at is not None:
        return timer
    touch = first_touch(timer, lead, now)
    if touch is not None:
        return replace(timer, touched_at=touch[0], touch_kind=touch[1])
    return timer if mql else _without_mql(timer)


def _without_mql(timer: LeadTimer) -> LeadTimer | None:
    if timer.lost_since is None:
        return None
    return LeadTimer(timer.lead_id, lost_since=timer.lost_since)


def first_touch(timer: LeadTimer, lead: FunnelLead,
                now: datetime) -> tuple[datetime, str] | None:
    """(when, how) the lead was first touched since its timer started, if it was."""
    assert timer.mql_at is not None
    activity = lead.last_activity_at
    if activity is not None and (timer.activity_at_mql is None or activity > timer.activity_at_mql):
        # Salesforce gives a date only (midnight UTC): never before the timer started
        return min(max(activity, timer.mql_at), now), "activity"
    if lead.status != timer.mql_status:
        changed = min(lead.updated_at or now, now)
        return max(changed, timer.mql_at), "status"
    return None


def breaches(timer: LeadTimer, now: datetime, config: SlaConfig) -> list[str]:
    """The SLA reasons that hold for an untouched, alerting timer now."""
    if timer.mql_at is None or timer.touched_at is not None or timer.baseline:
        return []
    spent = sla_elapsed(timer.mql_at, now, config)
    found = []
    if spent >= timedelta(hours=config.first_touch_hours):
        found.append(FIRST_TOUCH)
    if spent >= timedelta(hours=config.escalate_hours):
        found.append(ESCALATION)
    return found


__all__ = ["ESCALATION", "FIRST_TOUCH", "LeadTimer", "breaches", "first_touch", "hours",
           "is_mql", "observe", "sla_elapsed"]
