"""The state store: what funnelsync knows between runs, in SQLite (default) or PostgreSQL.

``Store`` is the one entry point; the value types are what its methods take and return.
"""

from funnelsync.store.api import Store, owner_directory
from funnelsync.store.models import (
    VOLATILE_FIELDS,
    Alert,
    AlertStatus,
    FollowUp,
    FollowUpStatus,
    LockInfo,
    PushResult,
    PushRow,
    RecordKind,
    RefreshStats,
    RunInfo,
    RunStatus,
    StoredLink,
    StoredRecord,
    UpsertStats,
    Watermark,
    content_hash,
)
from funnelsync.store.runs import default_holder

__all__ = [
    "VOLATILE_FIELDS",
    "Alert",
    "AlertStatus",
    "FollowUp",
    "FollowUpStatus",
    "LockInfo",
    "PushResult",
    "PushRow",
    "RecordKind",
    "RefreshStats",
    "RunInfo",
    "RunStatus",
    "Store",
    "StoredLink",
    "StoredRecord",
    "UpsertStats",
    "Watermark",
    "content_hash",
    "default_holder",
    "owner_directory",
]
