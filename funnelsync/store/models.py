"""Plain value types the state store returns and accepts (no SQLAlchemy in their interface)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from funnelsync.mapping.schema import FunnelDeal, FunnelLead

RecordKind = Literal["leads", "deals"]
RunStatus = Literal["running", "ok", "partial", "failed", "crashed"]
AlertStatus = Literal["open", "pending", "resolved"]
FollowUpStatus = Literal["waiting", "pending", "open", "dismissed", "closed"]
RUN_STATUSES: frozenset[str] = frozenset({"running", "ok", "partial", "failed", "crashed"})

# The CRM's modification time changes on every touch, including our own write-back, without
# any change to what the funnel cares about; leaving it out of the hash keeps such records
# "unchanged" so the next run does not re-evaluate them.
VOLATILE_FIELDS: frozenset[str] = frozenset({"updated_at"})


def content_hash(data: dict[str, Any]) -> str:
    """sha256 of the normalised record without volatile fields, in canonical JSON."""
    stable = {k: v for k, v in data.items() if k not in VOLATILE_FIELDS}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UpsertStats:
    """What one batch did. inserted + updated + unchanged = distinct ids in the batch;
    ``deleted`` counts those (new or updated) that arrived deleted and were not deleted before;
    ``suppressed`` the leads/contacts left out because their e-mail is on the suppression list.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    suppressed: int = 0

    def __add__(self, other: UpsertStats) -> UpsertStats:
        return UpsertStats(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged, self.deleted + other.deleted,
                           self.suppressed + other.suppressed)


@dataclass(frozen=True)
class StoredRecord:
    """One row of ``records``; ``data`` is the normalised record as JSON."""

    source: str
    kind: RecordKind
    id: str
    data: dict[str, Any]
    funnel_stage: str | None
    content_hash: str
    is_deleted: bool
    updated_at: datetime | None
    first_seen_run: int | None
    changed_run: int | None
    email: str | None
    owner_id: str | None

    def to_model(self) -> FunnelLead | FunnelDeal:
        """The record as the schema type it was stored from."""
        model = FunnelLead if self.kind == "leads" else FunnelDeal
        return model.model_validate(self.data)


@dataclass(frozen=True)
class Watermark:
    """Where the next incremental pull of one (source, stream) starts."""

    cursor: datetime | None
    resume: str | None
    updated_at: datetime


@dataclass(frozen=True)
class RunInfo:
    """One row of ``runs``."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    dry_run: bool
    holder: str | None
    counts: dict[str, Any]
    errors: list[Any]
    timings: dict[str, Any]
    kind: str = "sync"  # or "forget": a privacy deletion (counts only, never an address)


@dataclass(frozen=True)
class LockInfo:
    """The run lock as it stands: ``holder`` None means free."""

    holder: str | None
    run_id: int | None
    acquired_at: datetime | None
    refreshed_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class PushRow:
    """The outcome of writing ``fields`` to one CRM record."""

    kind: RecordKind
    record_id: str
    fields: dict[str, Any]
    ok: bool
    error_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class PushResult:
    """A stored push outcome (``PushRow`` plus where and when)."""

    run_id: int
    source: str
    kind: RecordKind
    record_id: str
    fields: dict[str, Any]
    ok: bool
    error_code: str | None
    message: str | None
    at: datetime


@dataclass(frozen=True)
class Alert:
    """One (record, reason) alert; unique among alerts that are not resolved."""

    alert_id: int
    source: str
    record_id: str
    reason: str
    status: AlertStatus
    task_id: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    """The follow-up task of one record and kind (``deal``, ``lead``, ``escalation``).

    At most one per (source, record_id, kind) is not ``closed``. ``reasons`` are the reason
    lines as last written to the task (as wanted, while ``waiting``); ``acknowledged`` the
    reason keys of a task the rep completed or deleted (status ``dismissed``).
    """

    follow_up_id: int
    source: str
    record_id: str
    kind: str
    status: FollowUpStatus
    task_id: str | None = None
    owner_id: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    priority: float = 0.0
    snoozed_until: datetime | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    task_created_at: datetime | None = None
    closed_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class StoredLink:
    """One row of ``people``: ``key`` is the record key, e.g. ``salesforce:lead:00Q...``."""

    key: str
    person_id: str
    rule: str
    confidence: float
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class RefreshStats:
    """What one refresh of the people table did, and how many people and records it holds."""

    people: int
    records: int
    new: int
    changed: int
    removed: int
