"""The write-back rules both CRMs share (mapping.writeback): fields read, payloads built."""

from __future__ import annotations

import pytest

from funnelsync.config.models import WritebackConfig
from funnelsync.mapping.parse import RecordReader
from funnelsync.mapping.writeback import WritebackTarget, live_values, with_writeback

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


def test_with_writeback_adds_the_crms_configured_names_once() -> None:
    wb = WritebackConfig.model_validate({"hubspot": {"score_property": ""}})
    assert with_writeback(("Id", "Funnel_Stage__c"), wb, "salesforce", with_score=True) == [
        "Id", "Funnel_Stage__c", "Funnel_Score__c"]
    assert with_writeback(("id",), wb, "hubspot", with_score=True) == ["id", "funnel_stage"]
    assert with_writeback(("id",), wb, "hubspot", with_score=False) == ["id", "funnel_stage"]
    assert with_writeback(("id",), None, "hubspot", with_score=True) == ["id"]


def test_live_values_read_the_crms_configured_fields() -> None:
    reader = RecordReader("hubspot", "contact", "1", {"funnel_stage": "interest",
                                                      "funnel_score": "41.5"})
    assert live_values(reader, WritebackConfig(), with_score=True) == {
        "live": {"stage": "interest", "score": 41.5}}
    assert live_values(reader, WritebackConfig(), with_score=False) == {
        "live": {"stage": "interest", "score": None}}
    assert live_values(reader, None, with_score=True) == {}


def test_win_probability_goes_to_deals_only_in_whole_percent() -> None:
    from funnelsync.mapping import hubspot, salesforce

    wb = WritebackConfig.model_validate({
        "salesforce": {"probability_field": "Win_Probability__c"},
        "hubspot": {"probability_property": "funnel_win_probability"}})
    assert salesforce.writeback_fields("deals", "decision", None, wb, probability=37.6) == {
        "Funnel_Stage__c": "decision", "Win_Probability__c": 38}
    assert hubspot.writeback_fields("deals", None, None, wb, probability=37.4) == {
        "funnel_win_probability": "37"}
    assert salesforce.writeback_fields("leads", None, None, wb, probability=37.6) == {}
    # Off by default: no name, nothing written, nothing read.
    assert salesforce.writeback_fields("deals", None, None, WritebackConfig(),
                                       probability=37.6) == {}
    assert with_writeback(("Id",), wb, "salesforce", with_score=False) == [
        "Id", "Funnel_Stage__c", "Win_Probability__c"]
    assert with_writeback(("Id",), WritebackConfig(), "salesforce", with_score=False) == [
        "Id", "Funnel_Stage__c"]
