"""Amounts are bounded at mapping time: one that reports could not round, sum or weight
(1e26, 1e308) is a data warning for its record and the value is dropped; every report format
still renders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import funnel_fixture as fx
import pytest

from funnelsync.config.models import AppConfig
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping import salesforce as sf
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.parse import parse_amount
from funnelsync.reports.metrics import build_report
from funnelsync.reports.render import FORMATS, render_report

OPPORTUNITY = {"attributes": {"type": "Opportunity"}, "Id": "006A", "Name": "Acme",
               "StageName": "Prospecting", "IsClosed": False, "IsWon": False,
               "CreatedDate": "2026-09-02T14:05:11.000+0000",
               "LastModifiedDate": "2026-11-20T08:00:00.000+0000"}
HS_DEAL = {"id": "9001", "properties": {"dealstage": "contractsent", "pipeline": "default",
                                        "createdate": "2026-10-01T12:00:00.000Z"}}


@pytest.mark.parametrize(("value", "expected"), [
    ("9999999999999999.99", Decimal("9999999999999999.99")),
    (-48000.5, Decimal("-48000.5")),
    ("1E-400", Decimal("1E-400")),
])
def test_amounts_below_10_to_the_16_parse(value: Any, expected: Decimal) -> None:
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", ["1e26", 1e308, "10000000000000000", -1e16])
def test_larger_amounts_are_out_of_range(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^is out of range \(an amount must be smaller than "
                                         r"10\^16\)$"):
        parse_amount(value)


@pytest.mark.parametrize(("amount", "shown"), [("1e26", "'1e26'"), (1e308, "1e+308")])
def test_a_salesforce_amount_out_of_range_is_a_warning_and_dropped(amount: Any,
                                                                   shown: str) -> None:
    result = sf.map_opportunity({**OPPORTUNITY, "Amount": amount}, StageMaps())
    assert (result.record.amount, result.warnings) == (None, [
        f"salesforce opportunity 006A: Amount {shown} is out of range (an amount must be "
        "smaller than 10^16); using null"])


def test_a_hubspot_amount_out_of_range_is_a_warning_and_dropped() -> None:
    raw = {**HS_DEAL, "properties": {**HS_DEAL["properties"], "amount": "1e308"}}
    result = hs.map_deal(raw, StageMaps())
    assert result.record.amount is None
    assert ("hubspot deal 9001: amount '1e308' is out of range (an amount must be smaller "
            "than 10^16); using null") in result.warnings


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_renders_with_the_hostile_amounts_mapped(fmt: str) -> None:
    mapped = [sf.map_opportunity({**OPPORTUNITY, "Id": f"006{i}", "Amount": amount},
                                 StageMaps()).record
              for i, amount in enumerate(["1e26", 1e308, "9999999999999999.99"])]
    report = build_report([*fx.deals(), *mapped], fx.leads(),
                          fx.deal_changes() + fx.lead_changes(), AppConfig(), fx.NOW,
                          catalog=fx.catalog())
    assert [d.amount for d in mapped] == [None, None, Decimal("9999999999999999.99")]
    assert render_report(report, fmt)
