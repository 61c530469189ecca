"""The write-back rules both CRMs' payloads share (mapping.writeback.WritebackTarget)."""

from __future__ import annotations

import pytest

from funnelsync.mapping.writeback import WritebackTarget

TARGET = WritebackTarget("Stage__c", "Score__c", owner="Owner", status="State",
                         score_value=lambda s: f"{s:.0f}", owner_value=lambda o: o.upper())


def test_lead_gets_every_value_in_order_with_its_formats() -> None:
    fields = TARGET.fields("leads", "interest", 71.6, owner_id="abc", status="open")
    assert list(fields.items()) == [("Stage__c", "interest"), ("Score__c", "72"),
                                    ("Owner", "ABC"), ("State", "open")]


def test_deal_gets_only_the_stage_and_none_leaves_a_field_alone() -> None:
    assert TARGET.fields("deals", "decision", 50.0, owner_id="abc", status="open") == {
        "Stage__c": "decision"}
    assert TARGET.fields("leads", None, None) == {}


def test_a_name_configured_empty_is_never_written() -> None:
    skip = WritebackTarget("", "", owner="Owner", status="State", score_value=float)
    assert skip.fields("leads", "interest", 10.0) == {}


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be 'leads' or 'deals', not 'tasks'"):
        TARGET.fields("tasks", "x", None)  # type: ignore[arg-type]
