"""A CRM user who can own records (Salesforce User or Queue, HubSpot owner), CRM-neutral."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrmOwner:
    """One possible owner. A queue holds records but is nobody's real owner."""

    id: str
    email: str | None = None
    name: str | None = None
    active: bool = True
    manager_id: str | None = None
    is_queue: bool = False


__all__ = ["CrmOwner"]
