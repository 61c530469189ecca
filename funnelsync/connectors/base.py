"""The connector contract both CRMs implement.

Connectors talk HTTP and nothing else. They yield raw records exactly as the CRM returns them
(plain dicts) and take back field changes keyed by CRM field names. They know nothing of funnels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

Kind = Literal["leads", "deals"]
KINDS: tuple[Kind, ...] = ("leads", "deals")


@dataclass(frozen=True)
class Page:
    """One page of raw records as one CRM call returned it.

    ``cursor`` is the highest modification time in the page when the pull is ordered by it
    (incremental pulls); None for unordered full loads. ``resume`` is an opaque token that,
    given back to ``iter_pages``, continues after this page (so a crash re-reads one page): the
    stored text of one of the typed resume tokens in :mod:`funnelsync.connectors.paging`.

    Ordered pulls go by (modification time, id): ``last_id`` is the id of the last record at
    ``cursor`` the page completes, so ``AfterKey(cursor, last_id)`` is where the next pull
    starts; an empty ``last_id`` means no record at ``cursor`` is complete yet.
    """

    records: list[dict[str, Any]]
    cursor: datetime | None = None
    resume: str | None = None
    last_id: str | None = None


@dataclass(frozen=True)
class Newest:
    """What one look at an object found: how many live records the CRM counts (``total``) and
    the key (modification time, id) of the most recently modified one (None: there is none)."""

    total: int
    stamp: datetime | None = None
    id: str | None = None


@dataclass(frozen=True)
class ReadPlan:
    """What a run is about to read first, for a connector that can fold reads into few calls.

    ``describes_since``: ask the object descriptions the connector was given whether they
    changed since then (None: those given are trusted; the connector describes the objects it
    was not given). ``catalog``, ``owners``, ``rates``: those are due (``owners_since``: only
    owners changed since then). ``starts``: each stream's start, ``(since, resume)`` as given to
    ``iter_pages`` / ``iter_stage_change_pages`` (streams ``leads``, ``deals``,
    ``stage_changes``), so their first pages can be folded in too.
    """

    describes_since: datetime | None = None
    catalog: bool = False
    owners: bool = False
    owners_since: datetime | None = None
    rates: bool = False
    starts: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordUpdate:
    """New values for one CRM record, keyed by CRM field/property names."""

    kind: Kind
    record_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task for a deal's owner (or, with ``target="lead"``, on a lead/contact:
    ``deal_id`` then holds the lead's id)."""

    deal_id: str
    subject: str
    body: str
    due: date
    owner_id: str | None = None
    priority: Literal["High", "Normal", "Low"] = "High"
    target: Literal["deal", "lead"] = "deal"


TaskState = Literal["open", "closed", "deleted"]


@dataclass(frozen=True)
class TaskUpdate:
    """New content for an existing task; None leaves a field as it is. ``complete=True`` moves
    the task to the CRM's completed status (Salesforce: a closed ``TaskStatus``; HubSpot:
    ``COMPLETED``)."""

    task_id: str
    subject: str | None = None
    body: str | None = None
    due: date | None = None
    complete: bool = False


@dataclass(frozen=True)
class TaskInfo:
    """A task as the CRM holds it now: ``open``, ``closed`` (in any closed status) or
    ``deleted`` (gone, or in the recycle bin)."""

    task_id: str
    state: TaskState
    subject: str = ""
    body: str = ""


@dataclass(frozen=True)
class RowResult:
    """The outcome of one row of a batched write, in the order the rows were given."""

    record_id: str
    ok: bool
    error_code: str | None = None
    message: str | None = None
    created_id: str | None = None


@dataclass(frozen=True)
class ErasableRecord:
    """A record of a person in a CRM, found by e-mail to be erased: the CRM's object name
    (``Lead``, ``Contact``, ``contacts``), its id, and the address it was found by."""

    object: str
    record_id: str
    email: str


@dataclass
class Usage:
    """What a connector spent: calls, records, retries, and the quota it saw.

    ``records`` counts the records the connector yielded; ``received`` those the CRM sent,
    including those the connector dropped (search-page boundary records a later page reads
    again, archived records older than the deletion lookback).
    """

    api_calls: int = 0
    records: int = 0
    received: int = 0
    retries: int = 0
    quota_used: int | None = None
    quota_max: int | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    def count_call(self, kind: str = "other") -> None:
        self.api_calls += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


@runtime_checkable
class Connector(Protocol):
    """What the sync job needs from a CRM."""

    source: str
    usage: Usage

    def iter_pages(self, kind: Kind, since: datetime | None = None,
                   resume: str | None = None) -> Iterator[Page]: ...

    def iter_records(self, kind: Kind, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        ...

    def iter_stage_changes(self, since: datetime | None = None) -> Iterator[dict[str, Any]]: ...

    def iter_stage_change_pages(self, since: datetime | None = None,
                                resume: str | None = None) -> Iterator[Page]:
        """Stage-change rows a page at a time, ordered like ``iter_pages``."""
        ...

    def stage_catalog(self) -> list[dict[str, Any]]: ...

    def push_updates(self, changes: Sequence[RecordUpdate]) -> list[RowResult]: ...

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> list[RowResult]: ...

    def find_tasks(self, deal_ids: Sequence[str],
                   target: Literal["deal", "lead"] = "deal") -> list[dict[str, Any]]:
        """Open tasks on these deals (or leads) as ``{"id", "deal_id", "subject", "owner_id"}``
        dicts (``deal_id`` holds the lead's id for leads)."""
        ...

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[RowResult]:
        """Change or complete existing tasks; one result per update, in order, ``record_id``
        the task id."""
        ...

    def read_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskInfo]:
        """The current state of each task id; ids the CRM no longer returns are ``deleted``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PersonEraser(Protocol):
    """What a privacy erasure needs from a CRM: find a person's records by e-mail, erase one."""

    def find_person_records(self, emails: Sequence[str]) -> list[ErasableRecord]: ...

    def erase_person_record(self, record: ErasableRecord) -> bool:
        """Erase one record; False when it was gone already."""
        ...


def flatten_pages(pages: Iterator[Page]) -> Iterator[dict[str, Any]]:
    """Records of successive pages, one at a time."""
    for page in pages:
        yield from page.records
