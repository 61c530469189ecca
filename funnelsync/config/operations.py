"""Config models of the funnel's operating rules: [routing], [sla] and [nurture].

Owners are referenced by CRM owner id or by e-mail; both are resolved against the owner list
each CRM returns (Salesforce User, HubSpot owners), never typed in as names.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from funnelsync.config.base import StrictModel
from funnelsync.config.urls import check_http_url

MAX_SLA_HOURS = 8760  # a year
MAX_QUIET_DAYS = 3650  # ten years
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                         "Europe/Berlin)") from None
    return value


class RoutingTeam(StrictModel):
    """Owners that share leads round-robin (optionally weighted)."""

    name: str = Field(..., min_length=1, description="Team name that rules refer to.")
    members: list[str] = Field(..., min_length=1,
                               description="Owner ids or e-mails, resolved per CRM.")
    weights: dict[str, int] = Field(
        default_factory=dict, description="Member (as written in members) → weight; default 1.")
    daily_cap: int | None = Field(None, gt=0, description="Most leads one owner gets a day.")

    @model_validator(mode="after")
    def _check_weights(self) -> RoutingTeam:
        unknown = sorted(set(self.weights) - set(self.members))
        if unknown:
            raise ValueError(f"weights name non-members: {', '.join(unknown)}")
        if any(w <= 0 for w in self.weights.values()):
            raise ValueError("weights must be positive")
        return self


class RoutingRule(StrictModel):
    """One rule: every given condition must hold; empty conditions match anything."""

    name: str = Field(..., min_length=1, description="Shown as the reason of an assignment.")
    countries: list[str] = Field(default_factory=list, description="Lead country, any case.")
    regions: list[str] = Field(default_factory=list,
                               description="Region names from [routing.regions].")
    industries: list[str] = Field(default_factory=list, description="Industry, any case.")
    employees_min: int | None = Field(None, ge=0, description="Company size at least this.")
    employees_max: int | None = Field(None, ge=0, description="Company size at most this.")
    lead_sources: list[str] = Field(default_factory=list, description="Lead source, any case.")
    stages: list[str] = Field(default_factory=list, description="Funnel stage ids.")
    score_min: float | None = Field(None, ge=0, le=100, description="Score at least this.")
    score_max: float | None = Field(None, ge=0, le=100, description="Score at most this.")
    owner: str | None = Field(None, description="Assign to this owner (id or e-mail) ...")
    team: str | None = Field(None, description="... or round-robin within this team.")
    reassign: bool = Field(False, description="Also move leads owned by a real owner.")

    @model_validator(mode="after")
    def _check_target(self) -> RoutingRule:
        if (self.owner is None) == (self.team is None):
            raise ValueError("give exactly one of owner or team")
        return self


class RoutingConfig(StrictModel):
    """Lead routing: ordered rules, first match wins (a rule with nobody available passes)."""

    enabled: bool = Field(True, description="Route leads (write back their owner).")
    only_unowned: bool = Field(True, description="Route only unowned or queue-owned leads "
                                                 "(rules with reassign = true excepted).")
    timezone: str = Field("UTC", description="Day boundary of daily caps.")
    regions: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Region name → countries.")
    teams: list[RoutingTeam] = Field(default_factory=list)
    rules: list[RoutingRule] = Field(default_factory=list)

    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _check_refs(self) -> RoutingConfig:
        teams = [t.name for t in self.teams]
        if len(set(teams)) != len(teams):
            raise ValueError("team names must be unique")
        for rule in self.rules:
            if rule.team is not None and rule.team not in teams:
                raise ValueError(f"rule {rule.name!r} names unknown team {rule.team!r}")
            missing = [r for r in rule.regions if r not in self.regions]
            if missing:
                raise ValueError(f"rule {rule.name!r} names unknown region(s) "
                                 f"{', '.join(missing)}")
        return self


class SlaConfig(StrictModel):
    """The marketing → sales SLA: time from MQL to the first sales touch."""

    enabled: bool = Field(True, description="Track SLA timers and alert on breaches.")
    first_touch_hours: float = Field(24.0, gt=0, le=MAX_SLA_HOURS,
                                     description="The owner gets a task after this "
                                                 "(at most 8760, a year).")
    escalate_hours: float = Field(48.0, gt=0, le=MAX_SLA_HOURS,
                                  description="Escalation after this (at most 8760).")
    business_hours: str | None = Field(None, description='Counted hours, e.g. "09:00-17:00"; '
                                                         "all hours when absent.")
    timezone: str = Field("UTC", description="Time zone of business_hours and weekends.")
    count_weekends: bool = Field(True, description="Saturday and Sunday count as SLA time.")
    escalate_to_manager: bool = Field(True, description="Escalate to the owner's manager "
                                                        "(Salesforce User.ManagerId).")
    escalation_owner: str | None = Field(None, description="Owner id or e-mail escalations go "
                                                           "to when there is no manager.")
    escalation_webhook: str | None = Field(None, description="POST escalations here too.")
    alert_existing: bool = Field(False, description="Also alert on leads that were already "
                                                    "MQL when funnelsync first saw them.")

    _zone = field_validator("timezone")(_check_zone)
    _webhook = field_validator("escalation_webhook")(check_http_url)

    @field_validator("business_hours")
    @classmethod
    def _check_hours(cls, value: str | None) -> str | None:
        if value is not None:
            match = _HOURS.fullmatch(value.strip())
            if not match or match.group(1, 2) >= match.group(3, 4):
                raise ValueError('must look like "09:00-17:00" (start before end)')
        return value

    @model_validator(mode="after")
    def _check_order(self) -> SlaConfig:
        if self.escalate_hours < self.first_touch_hours:
            raise ValueError("escalate_hours must not be below first_touch_hours")
        return self


class NurtureConfig(StrictModel):
    """Lost or not-converted leads with new interest re-enter the funnel."""

    enabled: bool = Field(True, description="Detect re-entry and write it back.")
    reentry_score: float = Field(50.0, ge=0, le=100, description="Score that revives a lead.")
    quiet_days: int = Field(30, ge=0, le=MAX_QUIET_DAYS,
                            description="Days a lead must have been lost first (at most "
                                        "3650).")
    salesforce_status: str | None = Field("Open - Not Contacted",
                                          description="Lead.Status written on re-entry.")
    hubspot_lifecycle: str | None = Field("lead", description="lifecyclestage written on "
                                                              "re-entry (cleared first).")
    create_task: bool = Field(True, description="Give the owner a task on re-entry.")


__all__ = ["NurtureConfig", "RoutingConfig", "RoutingRule", "RoutingTeam", "SlaConfig"]
