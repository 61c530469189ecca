"""The common funnel schema both CRMs are normalised into (frozen pydantic models)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["salesforce", "hubspot"]


class _Frozen(BaseModel):
    # Attribute docstrings are the fields' descriptions (JSON Schema, warehouse columns).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


def _require_utc(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must be timezone-aware (UTC)")
    return value


class FunnelLead(_Frozen):
    """A person at the top of the funnel: Salesforce Lead or HubSpot contact."""

    source: Source
    """CRM the record comes from: salesforce or hubspot."""
    source_id: str = Field(..., min_length=1)
    """The record's id in its CRM (Lead Id, HubSpot contact id)."""
    email: str | None = None
    """E-mail address as the CRM holds it."""
    first_name: str | None = None
    """First name."""
    last_name: str | None = None
    """Last name."""
    company: str | None = None
    """Company name."""
    title: str | None = None
    """Job title."""
    industry: str | None = None
    """Industry."""
    employees: int | None = None
    """Company size (number of employees)."""
    country: str | None = None
    """Country."""
    lead_source: str | None = None
    """Where the lead came from, as the CRM records it."""
    owner_id: str | None = None
    """Owner's user id in the CRM."""
    owner_name: str | None = None
    """Owner's name."""
    status: str | None = Field(None, description="Raw CRM value (Lead.Status, lifecyclestage).")
    funnel_stage: str | None = None
    """Funnel stage id the raw status maps to (awareness ... purchase, lost)."""
    created_at: datetime | None = None
    """When the record was created in the CRM (UTC)."""
    updated_at: datetime | None = None
    """When the CRM last modified the record (UTC)."""
    last_activity_at: datetime | None = None
    """Last sales or marketing activity on the record (UTC)."""
    is_deleted: bool = False
    """Deleted (Salesforce) or archived (HubSpot) in the CRM."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Further CRM values the funnel uses (engagement, BANT), as JSON."""

    _utc = field_validator("created_at", "updated_at", "last_activity_at")(_require_utc)


class FunnelDeal(_Frozen):
    """An opportunity (Salesforce) or deal (HubSpot) in the pipeline part of the funnel."""

    source: Source
    """CRM the record comes from: salesforce or hubspot."""
    source_id: str = Field(..., min_length=1)
    """The record's id in its CRM (Opportunity Id, HubSpot deal id)."""
    name: str | None = None
    """Deal name."""
    amount: Decimal | None = None
    """Deal amount, a decimal in `currency`."""
    currency: str | None = None
    """ISO currency code of the amount."""
    home_amount: Decimal | None = None
    """The amount in the CRM account's company currency, as the CRM converted it (HubSpot's
    amount_in_home_currency); none where the CRM gives none."""
    pipeline: str | None = None
    """Pipeline id (HubSpot); none for Salesforce."""
    stage: str | None = Field(None, description="Raw CRM stage name (Salesforce) or id (HubSpot).")
    stage_label: str | None = None
    """Stage name as the CRM shows it."""
    funnel_stage: str | None = None
    """Funnel stage id the CRM stage maps to (awareness ... purchase, lost)."""
    probability: float | None = Field(None, ge=0, le=100)
    """Win probability in percent (0-100)."""
    is_closed: bool = False
    """The deal is closed (won or lost)."""
    is_won: bool = False
    """The deal is closed and won."""
    close_date: date | None = None
    """Expected or actual close date."""
    owner_id: str | None = None
    """Owner's user id in the CRM."""
    owner_name: str | None = None
    """Owner's name."""
    account_id: str | None = None
    """Account (company) id."""
    account_name: str | None = None
    """Account (company) name."""
    created_at: datetime | None = None
    """When the record was created in the CRM (UTC)."""
    updated_at: datetime | None = None
    """When the CRM last modified the record (UTC)."""
    last_activity_at: datetime | None = None
    """Last sales activity on the deal (UTC)."""
    stage_entered_at: datetime | None = None
    """When the deal entered its current stage (UTC)."""
    is_deleted: bool = False
    """Deleted (Salesforce) or archived (HubSpot) in the CRM."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Further CRM values the funnel uses, as JSON."""

    _utc = field_validator("created_at", "updated_at", "last_activity_at",
                           "stage_entered_at")(_require_utc)


class StageChange(_Frozen):
    """One move of a record from one stage to another."""

    source: Source
    """CRM the change comes from: salesforce or hubspot."""
    record_id: str = Field(..., min_length=1)
    """Id of the lead or deal that moved, in its CRM."""
    from_stage: str | None = None
    """Raw CRM stage before the move (none for the first one)."""
    to_stage: str
    """Raw CRM stage after the move."""
    changed_at: datetime
    """When the move happened (UTC)."""

    _utc = field_validator("changed_at")(_require_utc)


class CatalogStage(_Frozen):
    """One stage as the CRM defines it (OpportunityStage, LeadStatus, HubSpot pipeline stage)."""

    source: Source
    pipeline: str | None = None
    stage: str
    label: str
    order: int = 0
    probability: float | None = Field(None, ge=0, le=100)
    is_closed: bool = False
    is_won: bool = False
    active: bool = True
    kind: Literal["deal", "lead"] = "deal"


__all__ = ["CatalogStage", "FunnelDeal", "FunnelLead", "Source", "StageChange"]
