"""Stale-deal rules (FUNNEL_MODEL.md "Stale-deal alerts"), pure, clock passed in as ``now``.

Only open (not closed, not won), non-deleted deals are checked. All arithmetic is on aware
datetimes converted to UTC; "days" are whole elapsed 24-hour periods (floor), so a deal that
entered its stage at 23:30-08:00 has been there one day exactly 24 hours later, whatever the
calendar dates in either zone say.

- ``stage_overdue``: whole days in the current stage > that funnel stage's ``max_days``.
  Entry time: ``deal.stage_entered_at``, else the latest StageChange into ``deal.stage``, else
  ``created_at`` (evidence ``entered_at_source`` says which).
- ``idle``: whole days since ``last_activity_at`` (else ``created_at``; never ``updated_at``,
  which funnelsync's own write-back bumps) >= ``idle_days``.
- ``close_date_passed``: ``close_date`` before today's date in UTC.
- ``moved_backward``: the latest stage change went to an earlier funnel stage than it left.
- ``skipped_stages``: the latest forward move jumped over at least one funnel stage.

History rules map CRM stage values to funnel stages with ``stage_of`` (for HubSpot bind the
deal's pipeline). Moves to or from stages outside the ordered funnel (lost, unmapped) are
neither backward nor forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from funnelsync.config.models import AppConfig, FunnelConfig
from funnelsync.mapping.schema import FunnelDeal, StageChange
from funnelsync.rules.stage import funnel_stage_for_deal

StageOf = Callable[[str], str | None]
_DAY = 86_400


@dataclass(frozen=True)
class StaleReason:
    """One rule that fired for a deal: a stable code, a human message and the evidence."""

    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Move:
    from_raw: str
    to_raw: str
    from_order: int
    to_order: int
    changed_at: datetime


def _days_between(start: datetime, now: datetime) -> int:
    return int((now - start).total_seconds() // _DAY)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def stale_reasons(deal: FunnelDeal, changes: Sequence[StageChange], config: AppConfig,
                  now: datetime, *, stage_of: StageOf) -> list[StaleReason]:
    """Every stale rule that fires for ``deal`` at ``now``, in a fixed order."""
    if deal.is_closed or deal.is_won or deal.is_deleted:
        return []
    alerts, history = config.alerts, _own_changes(deal, changes)
    found = [
        _stage_overdue(deal, history, config, now) if alerts.stage_overdue else None,
        _idle(deal, alerts.idle_days, now),
        _close_date_passed(deal, now) if alerts.close_date_passed else None,
    ]
    moves = _moves(history, config.funnel, stage_of)
    if alerts.moved_backward:
        found.append(_moved_backward(moves, config.funnel))
    if alerts.skipped_stages:
        found.append(_skipped_stages(moves, config.funnel))
    return [reason for reason in found if reason is not None]


def _own_changes(deal: FunnelDeal, changes: Sequence[StageChange]) -> list[StageChange]:
    # Defensive: a caller passing another record's history must not raise alerts here.
    own = [c for c in changes if c.record_id == deal.source_id and c.source == deal.source]
    return sorted(own, key=lambda c: c.changed_at)


def stage_entry(deal: FunnelDeal,
                history: Sequence[StageChange]) -> tuple[datetime, str] | None:
    """When the deal entered its current CRM stage, and where that time came from."""
    if deal.stage_entered_at is not None:
        return deal.stage_entered_at, "stage_entered_at"
    into = [c.changed_at for c in history if c.to_stage == deal.stage]
    if into:
        return max(into), "stage_history"
    if deal.created_at is not None:
        return deal.created_at, "created_at"
    return None


def _stage_overdue(deal: FunnelDeal, history: Sequence[StageChange], config: AppConfig,
                   now: datetime) -> StaleReason | None:
    stage_id = funnel_stage_for_deal(deal, config).stage
    max_days = next((s.max_days for s in config.funnel.stages if s.id == stage_id), None)
    entry = stage_entry(deal, history)
    if max_days is None or entry is None:
        return None
    entered_at, source = entry
    days = _days_between(entered_at, now)
    if days <= max_days:
        return None
    label = deal.stage_label or deal.stage or stage_id
    return StaleReason("stage_overdue", f"In {label} for {days} days (max {max_days})", {
        "stage": deal.stage, "funnel_stage": stage_id, "days": days, "max_days": max_days,
        "entered_at": _iso(entered_at), "entered_at_source": source})


def _idle(deal: FunnelDeal, idle_days: int, now: datetime) -> StaleReason | None:
    if deal.last_activity_at is not None:
        last, source = deal.last_activity_at, "last_activity_at"
    elif deal.created_at is not None:
        # Not updated_at: our own write-back bumps it and would hide real inactivity.
        last, source = deal.created_at, "created_at"
    else:
        return None
    days = _days_between(last, now)
    if days < idle_days:
        return None
    return StaleReason("idle", f"No activity for {days} days (limit {idle_days})", {
        "days": days, "idle_days": idle_days, "last_activity_at": _iso(last),
        "activity_source": source})


def _close_date_passed(deal: FunnelDeal, now: datetime) -> StaleReason | None:
    today = now.astimezone(UTC).date()
    if deal.close_date is None or deal.close_date >= today:
        return None
    days = (today - deal.close_date).days
    return StaleReason(
        "close_date_passed",
        f"Close date {deal.close_date.isoformat()} passed {days} days ago, deal still open",
        {"close_date": deal.close_date.isoformat(), "today": today.isoformat(), "days": days})


def _moves(history: Sequence[StageChange], funnel: FunnelConfig,
           stage_of: StageOf) -> list[_Move]:
    """Moves between ordered funnel stages; a missing from_stage is the previous to_stage."""
    moves: list[_Move] = []
    previous: str | None = None
    for change in history:
        origin = change.from_stage if change.from_stage is not None else previous
        previous = change.to_stage
        if origin is None:
            continue
        from_order = funnel.order_of(stage_of(origin))
        to_order = funnel.order_of(stage_of(change.to_stage))
        if from_order is not None and to_order is not None:
            moves.append(_Move(origin, change.to_stage, from_order, to_order, change.changed_at))
    return moves


def _move_evidence(move: _Move, funnel: FunnelConfig) -> dict[str, Any]:
    ids = funnel.stage_ids()
    return {"from_stage": move.from_raw, "to_stage": move.to_raw,
            "from_funnel_stage": ids[move.from_order], "to_funnel_stage": ids[move.to_order],
            "changed_at": _iso(move.changed_at)}


def _moved_backward(moves: Sequence[_Move], funnel: FunnelConfig) -> StaleReason | None:
    last = moves[-1] if moves else None
    if last is None or last.to_order >= last.from_order:
        return None
    evidence = _move_evidence(last, funnel)
    return StaleReason("moved_backward", (
        f"Moved back from {last.from_raw} ({evidence['from_funnel_stage']}) to {last.to_raw} "
        f"({evidence['to_funnel_stage']}) on {evidence['changed_at'][:10]}"), evidence)


def _skipped_stages(moves: Sequence[_Move], funnel: FunnelConfig) -> StaleReason | None:
    forward = [m for m in moves if m.to_order > m.from_order]
    last = forward[-1] if forward else None
    if last is None or last.to_order - last.from_order < 2:
        return None
    skipped = funnel.stage_ids()[last.from_order + 1:last.to_order]
    evidence = {**_move_evidence(last, funnel), "skipped": skipped}
    return StaleReason("skipped_stages", (
        f"Jumped from {last.from_raw} ({evidence['from_funnel_stage']}) to {last.to_raw} "
        f"({evidence['to_funnel_stage']}), skipping {', '.join(skipped)}"), evidence)


def reason_phrase(reason: StaleReason) -> str:
    """The reason as one clause of a list ("in Proposal for 41 days (max 21)", "no activity for
    30 days (limit 14)", "close date passed 12 days ago (2026-11-11)")."""
    if reason.code == "close_date_passed":
        days = reason.evidence["days"]
        return (f"close date passed {days} day{'' if days == 1 else 's'} ago "
                f"({reason.evidence['close_date']})")
    return reason.message[:1].lower() + reason.message[1:]


__all__ = ["StaleReason", "StageOf", "reason_phrase", "stage_entry", "stale_reasons"]
