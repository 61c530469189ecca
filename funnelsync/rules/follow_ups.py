"""Follow-up tasks decided without I/O: what a task says, when reasons count as changed or new,
which deals get a task first, and when a snooze holds.

A follow-up lists every reason that holds for one record as a :class:`ReasonLine`: its
``code``, a ``key`` (two reasons with the same key are the same reason: being overdue in
another stage, or a close date that passed again after it was moved, is a new reason), the
``text`` the rep reads and the evidence. A task is rewritten only when the set of keys changes,
so growing day counts alone never touch it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from funnelsync.mapping.schema import FunnelDeal
from funnelsync.rules.stale import StaleReason, reason_phrase

SUBJECT_MAX = 255
_KEYED_BY = {"stage_overdue": "stage", "close_date_passed": "close_date",
             "moved_backward": "changed_at", "skipped_stages": "changed_at"}
_CLOSE_DATE_MONTH = 30  # a close date a month in the past weighs like a limit passed twice


@dataclass(frozen=True)
class ReasonLine:
    """One reason as a follow-up task lists it."""

    code: str
    key: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "key": self.key, "text": self.text,
                "evidence": self.evidence}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReasonLine:
        return cls(str(data.get("code")), str(data.get("key") or data.get("code")),
                   str(data.get("text") or ""), dict(data.get("evidence") or {}))


@dataclass(frozen=True)
class Wanted:
    """A follow-up that should exist now: the record, who should act, and why.

    ``capped`` follow-ups count against the per-owner and per-run limits on new tasks;
    ``priority`` orders them (highest first).
    """

    record_id: str
    kind: str
    target: Literal["deal", "lead"]
    title: str
    lines: tuple[ReasonLine, ...]
    owner_id: str | None
    owner_name: str | None = None
    priority: float = 0.0
    capped: bool = False

    @property
    def keys(self) -> frozenset[str]:
        return keys_of(self.lines)


def keys_of(lines: Sequence[ReasonLine]) -> frozenset[str]:
    return frozenset(line.key for line in lines)


def reason_key(code: str, evidence: Mapping[str, Any]) -> str:
    """What makes a stale reason the same reason over time (see the module docstring)."""
    part = _KEYED_BY.get(code)
    return f"{code}:{evidence.get(part)}" if part else code


def stale_lines(reasons: Sequence[StaleReason]) -> tuple[ReasonLine, ...]:
    return tuple(ReasonLine(r.code, reason_key(r.code, r.evidence), reason_phrase(r),
                            r.evidence) for r in reasons)


def urgency(reasons: Sequence[StaleReason]) -> float:
    """How far past its limits a deal is: the sum over its reasons of time over limit
    (2.0 = twice the limit); a passed close date counts 1 plus a month's lateness as 1 more,
    a stage move 1."""
    total = 0.0
    for reason in reasons:
        ev = reason.evidence
        if reason.code == "stage_overdue":
            total += ev["days"] / max(ev["max_days"], 1)
        elif reason.code == "idle":
            total += ev["days"] / max(ev["idle_days"], 1)
        elif reason.code == "close_date_passed":
            total += 1 + ev["days"] / _CLOSE_DATE_MONTH
        else:
            total += 1.0
    return round(total, 4)


def deal_priority(deal: FunnelDeal, reasons: Sequence[StaleReason]) -> float:
    """Amount × how far past its limits (a deal without an amount counts its urgency alone,
    below every deal with one)."""
    weight = urgency(reasons)
    amount = float(deal.amount or 0)
    return amount * weight if amount > 0 else weight / 1000


def within_caps(candidates: Sequence[Wanted], created: Mapping[str | None, int],
                per_owner: int | None, per_run: int | None) -> tuple[list[Wanted], list[Wanted]]:
    """(create now, wait), highest priority first. ``created`` counts each owner's tasks of
    the last 24 hours; uncapped candidates are always created."""
    used = dict(created)
    chosen: list[Wanted] = []
    waiting: list[Wanted] = []
    made = 0
    for item in sorted(candidates, key=lambda w: (-w.priority, w.record_id, w.kind)):
        if not item.capped:
            chosen.append(item)
            continue
        if (per_owner is not None and used.get(item.owner_id, 0) >= per_owner) or \
                (per_run is not None and made >= per_run):
            waiting.append(item)
            continue
        used[item.owner_id] = used.get(item.owner_id, 0) + 1
        made += 1
        chosen.append(item)
    return chosen, waiting


def task_subject(title: str, lines: Sequence[ReasonLine], marker: str) -> str:
    """``title: reason; reason [marker]``, cut to 255 characters, the marker always kept."""
    text = f"{title}: {'; '.join(line.text for line in lines)}"
    room = SUBJECT_MAX - len(marker) - 1
    if len(text) > room:
        text = text[:room - 1].rstrip() + "…"
    return f"{text} {marker}"


def task_body(lines: Sequence[ReasonLine], today: date, noun: str) -> str:
    """Every reason on its own line, then what funnelsync does with the task."""
    reasons = "\n".join(f"- {line.text}" for line in lines)
    return (f"Follow up on this {noun} (as of {today.isoformat()}):\n{reasons}\n\n"
            f"funnelsync keeps one task per {noun}: it updates this task when the reasons "
            "change and completes it when none is left. Completing or deleting it yourself "
            "silences these reasons; a new reason opens a new task. To silence this "
            f"{noun} until a date, write \"snooze: YYYY-MM-DD\" in this task.")


def closing_body(lines: Sequence[ReasonLine], note: str, today: date) -> str:
    """The description of a task funnelsync completes: why, then what it was about."""
    reasons = "\n".join(f"- {line.text}" for line in lines)
    head = f"Completed by funnelsync on {today.isoformat()}: {note}."
    return f"{head}\n\nIt was about:\n{reasons}" if reasons else head


def snooze_until(text: str, tag: str | None) -> date | None:
    """The last date written after ``tag`` (``snooze: 2026-12-31``) in a task's text."""
    if not tag:
        return None
    found = re.findall(re.escape(tag) + r"\s*(\d{4}-\d{2}-\d{2})", text, flags=re.IGNORECASE)
    for value in reversed(found):
        try:
            return date.fromisoformat(value)
        except ValueError:
            continue
    return None


def deal_resolution(previous: Sequence[ReasonLine], deal: FunnelDeal | None) -> str:
    """Why a deal no longer needs its follow-up, in a few words."""
    if deal is None or deal.is_deleted:
        return "the deal was deleted"
    label = deal.stage_label or deal.stage or "a closed stage"
    if deal.is_won:
        return f"the deal was won ({label})"
    if deal.is_closed:
        return f"the deal was closed ({label})"
    parts = dict.fromkeys(_cleared(line, deal) for line in previous)
    return "; ".join(parts) or "its reasons no longer hold"


def _cleared(line: ReasonLine, deal: FunnelDeal) -> str:
    if line.code == "stage_overdue":
        if deal.stage != line.evidence.get("stage"):
            return f"moved to {deal.stage_label or deal.stage}"
        return "back within the stage's time limit"
    if line.code == "idle":
        when = deal.last_activity_at
        return f"activity on {when.date().isoformat()}" if when else "activity logged"
    if line.code == "close_date_passed":
        return (f"close date moved to {deal.close_date.isoformat()}" if deal.close_date
                else "close date cleared")
    return "its stage history no longer flags it"


__all__ = ["ReasonLine", "Wanted", "closing_body", "deal_priority", "deal_resolution", "keys_of",
           "reason_key", "snooze_until", "stale_lines", "task_body", "task_subject", "urgency",
           "within_caps"]
