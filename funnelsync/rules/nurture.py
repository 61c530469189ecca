"""Nurture re-entry (pure): a lost lead showing new interest goes back into the funnel.

A lead is lost when its funnel stage is the lost stage (Salesforce "Closed - Not Converted" by
default; on HubSpot whatever lifecycle value [mapping] sends to ``lost``). funnelsync notes when
it first saw the lead lost (``lost_since``). Once the lead has been lost and without sales
activity for ``quiet_days``, a score at or above ``reentry_score`` revives it: the configured
Salesforce Lead.Status or HubSpot lifecyclestage is written back (HubSpot's is cleared first,
see mapping.hubspot.clear_first) and the owner gets a ``nurture_reentry`` task.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from funnelsync.config.operations import NurtureConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.sla import LeadTimer

REENTRY = "nurture_reentry"
STATUS_KEY = "status"


def track_lost(timer: LeadTimer | None, lead: FunnelLead, lost: bool,
               now: datetime) -> LeadTimer | None:
    """Remember since when a lead is lost; forget it once it is not."""
    if lost:
        if timer is not None and timer.lost_since is not None:
            return timer
        # first seen lost: its last change is the best guess of when it was closed
        since = min(lead.updated_at or now, now)
        return replace(timer or LeadTimer(lead.source_id), lost_since=since)
    if timer is not None and timer.lost_since is not None:
        timer = replace(timer, lost_since=None)
    return None if timer is None or (timer.mql_at is None and timer.lost_since is None) \
        else timer


def should_reenter(lead: FunnelLead, stage: str | None, score: float,
                   lost_since: datetime | None, config: NurtureConfig, lost_stage: str,
                   now: datetime) -> bool:
    """Lost, quiet for ``quiet_days`` (since lost and since its last activity), and scoring at
    least ``reentry_score`` again."""
    if stage != lost_stage or lost_since is None or score < config.reentry_score:
        return False
    quiet_from = max(lost_since, lead.last_activity_at or lost_since)
    return now - quiet_from >= timedelta(days=config.quiet_days)


__all__ = ["REENTRY", "STATUS_KEY", "should_reenter", "track_lost"]
