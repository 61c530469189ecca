"""The common funnel schema both CRMs are normalised into (frozen pydantic models)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["salesforce", "hubspot"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _require_utc(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must be timezone-aware (UTC)")
    return value


class FunnelLead(_Frozen):
    """A person at the top of the funnel: Salesforce Lead or HubSpot contact."""

    source: Source
    source_id: str = Field(..., min_length=1)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None
    lead_source: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    status: str | None = Field(None, description="Raw CRM value (Lead.Status, lifecyclestage).")
    funnel_stage: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_activity_at: datetime | None = None
    is_deleted: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    _utc = field_validator("created_at", "updated_at", "last_activity_at")(_require_utc)


class FunnelDeal(_Frozen):
    """An opportunity (Salesforce) or deal (HubSpot) in the pipeline part of the funnel."""

    source: Source
    source_id: str = Field(..., min_length=1)
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    pipeline: str | None = None
    stage: str | None = Field(None, description="Raw CRM stage name (Salesforce) or id (HubSpot).")
    stage_label: str | None = None
    funnel_stage: str | None = None
    probability: float | None = Field(None, ge=0, le=100)
    is_closed: bool = False
    is_won: bool = False
    close_date: date | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_activity_at: datetime | None = None
    stage_entered_at: datetime | None = None
    is_deleted: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    _utc = field_validator("created_at", "updated_at", "last_activity_at",
                           "stage_entered_at")(_require_utc)


class StageChange(_Frozen):
    """One move of a record from one stage to another."""

    source: Source
    record_id: str = Field(..., min_length=1)
    from_stage: str | None = None
    to_stage: str
    changed_at: datetime

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
