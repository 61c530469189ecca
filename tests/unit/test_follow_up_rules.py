"""Follow-up decisions without I/O: reason lines and keys, priority, the caps, the task text,
snooze dates and why a deal's follow-up was resolved."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from funnelsync.mapping.schema import FunnelDeal
from funnelsync.rules.follow_ups import (
    ReasonLine,
    Wanted,
    closing_body,
    deal_priority,
    deal_resolution,
    reason_key,
    snooze_until,
    stale_lines,
    task_body,
    task_subject,
    urgency,
    within_caps,
)
from funnelsync.rules.stale import StaleReason, reason_phrase

OVERDUE = StaleReason("stage_overdue", "In Proposal/Price Quote for 41 days (max 21)",
                      {"stage": "Proposal/Price Quote", "days": 41, "max_days": 21})
IDLE = StaleReason("idle", "No activity for 30 days (limit 14)", {"days": 30, "idle_days": 14})
LATE = StaleReason("close_date_passed", "Close date 2026-11-11 passed 12 days ago, deal still "
                   "open", {"close_date": "2026-11-11", "today": "2026-11-23", "days": 12})


def deal(**fields: Any) -> FunnelDeal:
    return FunnelDeal(**{"source": "salesforce", "source_id": "006A", "name": "Acme",
                         "stage": "Proposal/Price Quote", **fields})


def want(record: str, owner: str | None, priority: float, capped: bool = True) -> Wanted:
    return Wanted(record, "deal", "deal", "Stale deal: x", (), owner, priority=priority,
                  capped=capped)


def test_reasons_become_lines_with_short_phrases_and_stable_keys() -> None:
    assert [(line.key, line.text) for line in stale_lines([OVERDUE, IDLE, LATE])] == [
        ("stage_overdue:Proposal/Price Quote", "in Proposal/Price Quote for 41 days (max 21)"),
        ("idle", "no activity for 30 days (limit 14)"),
        ("close_date_passed:2026-11-11", "close date passed 12 days ago (2026-11-11)")]
    assert reason_phrase(StaleReason("close_date_passed", "", {"close_date": "2026-11-22",
                                                                "days": 1})) == \
        "close date passed 1 day ago (2026-11-22)"
    assert reason_key("moved_backward", {"changed_at": "2026-11-01T00:00:00+00:00"}) == \
        "moved_backward:2026-11-01T00:00:00+00:00"


def test_priority_is_amount_times_how_far_past_the_limits() -> None:
    assert urgency([OVERDUE, IDLE, LATE]) == round(41 / 21 + 30 / 14 + 1 + 12 / 30, 4)
    assert deal_priority(deal(amount=Decimal("10000")), [IDLE]) == 10000 * round(30 / 14, 4)
    no_amount = deal_priority(deal(), [IDLE])
    assert 0 < no_amount < deal_priority(deal(amount=Decimal("1")), [IDLE])


def test_caps_keep_the_most_valuable_per_owner_and_per_run() -> None:
    items = [want("a", "o1", 5), want("b", "o1", 9), want("c", "o1", 7), want("d", "o2", 1),
             want("lead", "o1", 0, capped=False)]
    chosen, waiting = within_caps(items, {"o1": 1}, per_owner=2, per_run=None)
    assert [w.record_id for w in chosen] == ["b", "d", "lead"]
    assert [w.record_id for w in waiting] == ["c", "a"]
    chosen, waiting = within_caps(items, {}, per_owner=None, per_run=2)
    assert [w.record_id for w in chosen] == ["b", "c", "lead"]
    assert [w.record_id for w in waiting] == ["a", "d"]


def test_subject_lists_the_reasons_and_always_keeps_the_marker() -> None:
    lines = stale_lines([OVERDUE, IDLE])
    assert task_subject("Stale deal: Acme", lines, "[fs:0123456789]") == (
        "Stale deal: Acme: in Proposal/Price Quote for 41 days (max 21); no activity for 30 "
        "days (limit 14) [fs:0123456789]")
    long = task_subject("Stale deal: " + "A" * 300, lines, "[fs:0123456789]")
    assert len(long) == 255 and long.endswith("… [fs:0123456789]")


def test_body_and_closing_text() -> None:
    lines = stale_lines([OVERDUE, LATE])
    body = task_body(lines, date(2026, 11, 23), "deal")
    assert body.startswith("Follow up on this deal (as of 2026-11-23):\n"
                           "- in Proposal/Price Quote for 41 days (max 21)\n"
                           "- close date passed 12 days ago (2026-11-11)\n\n")
    assert snooze_until(body, "snooze:") is None  # the hint names no date
    assert closing_body(lines, "the deal was won (Closed Won)", date(2026, 11, 24)) == (
        "Completed by funnelsync on 2026-11-24: the deal was won (Closed Won).\n\n"
        "It was about:\n- in Proposal/Price Quote for 41 days (max 21)\n"
        "- close date passed 12 days ago (2026-11-11)")


def test_snooze_reads_the_last_valid_date_after_the_tag() -> None:
    text = "Call back. SNOOZE: 2026-12-01\nsnooze:2026-12-15 snooze: 2026-02-31"
    assert snooze_until(text, "snooze:") == date(2026, 12, 15)
    assert snooze_until(text, "") is None
    assert snooze_until("snooze: soon", "snooze:") is None


def test_resolution_says_what_changed() -> None:
    previous = stale_lines([OVERDUE, IDLE, LATE])
    moved = deal(stage="Negotiation/Review", stage_label="Negotiation/Review",
                 last_activity_at=datetime(2026, 11, 22, 15, tzinfo=UTC),
                 close_date=date(2026, 12, 20))
    assert deal_resolution(previous, moved) == ("moved to Negotiation/Review; activity on "
                                                "2026-11-22; close date moved to 2026-12-20")
    assert deal_resolution(previous, deal(is_closed=True, is_won=True,
                                          stage_label="Closed Won")) == \
        "the deal was won (Closed Won)"
    assert deal_resolution(previous, deal(is_closed=True, stage="Closed Lost")) == \
        "the deal was closed (Closed Lost)"
    assert deal_resolution(previous, None) == "the deal was deleted"
    assert deal_resolution([ReasonLine("idle", "idle", "")], deal()) == "activity logged"
