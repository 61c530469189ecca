"""Funnel report money in one currency: converted deals, dated rates, deals without a rate."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import funnel_fixture as fx

from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelDeal
from funnelsync.reports.currency import DatedRate, Rates
from funnelsync.reports.metrics import build_report
from funnelsync.reports.render import render_report

USD_ORG = Rates("USD", {"EUR": Decimal("0.8")},
                {"EUR": [DatedRate(date(2026, 1, 1), date(2026, 2, 1), Decimal("0.5"))]})


def _open(sid: str, amount: int, currency: str | None, close: date | None = None) -> FunnelDeal:
    return FunnelDeal(source="salesforce", source_id=sid, stage="Prospecting",
                      amount=Decimal(amount), currency=currency, probability=50,
                      close_date=close, created_at=fx.day(0))


def _report(deals, **kwargs):
    return build_report(deals, [], [], AppConfig(), fx.NOW, **kwargs).view("combined")


def test_eur_and_usd_add_up_in_the_report_currency():
    view = _report([_open("A", 1000, "EUR"), _open("B", 500, "USD")],
                   rates={"salesforce": USD_ORG}, currency="USD")
    assert (view.pipeline_total.count, view.pipeline_total.amount,
            view.pipeline_total.weighted_amount) == (2, 1750.0, 875.0)  # 1000 / 0.8 + 500


def test_dated_rate_of_the_close_date():
    view = _report([_open("A", 1000, "EUR", date(2026, 1, 15)), _open("B", 500, "USD")],
                   rates={"salesforce": USD_ORG}, currency="USD")
    assert view.pipeline_total.amount == 2500.0  # 1000 / 0.5 + 500


def test_a_deal_without_rate_is_left_out_of_money_and_counted():
    deals = [_open("A", 1000, "EUR"), _open("B", 500, "USD"), _open("C", 9999, "GBP")]
    report = build_report(deals, [], [], AppConfig(), fx.NOW, rates={"salesforce": USD_ORG},
                          currency="USD")
    total = report.view("combined").pipeline_total
    assert (total.count, total.amount) == (3, 1750.0)
    assert (report.currency, report.unconverted_deals) == ("USD", 1)
    assert report.currencies == ["EUR", "GBP", "USD"]
    data = json.loads(render_report(report, "json"))
    assert (data["currency"], data["unconverted_deals"]) == ("USD", 1)


def test_without_rates_only_the_report_currency_adds_up():
    report = build_report([_open("A", 1000, "EUR"), _open("B", 500, "USD")], [], [],
                          AppConfig(), fx.NOW, currency="USD")
    assert report.view("combined").pipeline_total.amount == 500.0
    assert report.unconverted_deals == 1


def test_single_currency_keeps_its_amounts():
    report = build_report([_open("A", 1000, "EUR"), _open("B", 500, None)], [], [],
                          AppConfig(), fx.NOW)
    assert report.currency == "EUR"  # the deals' one currency, no rates needed
    assert (report.view("combined").pipeline_total.amount, report.unconverted_deals) == (
        1500.0, 0)


def test_table_and_html_name_the_report_currency():
    deals = [_open("A", 1000, "EUR"), _open("B", 500, "USD"), _open("C", 9999, "GBP")]
    report = build_report(deals, [], [], AppConfig(), fx.NOW, rates={"salesforce": USD_ORG},
                          currency="USD")
    assert "combined: open pipeline now (USD)" in render_report(report, "table", width=200)
    assert ("amounts in USD · deals in EUR, GBP, USD · 1 deals without an exchange rate left "
            "out of amounts") in render_report(report, "html")
    assert report.view("combined").notes[-1] == (
        "1 deals left out of money totals: no exchange rate from their currency to USD")


def test_open_pipeline_per_original_currency_shows_held_and_converted_amounts():
    deals = [_open("A", 1000, "EUR", date(2026, 1, 15)), _open("B", 500, None),
             _open("C", 9999, "GBP"), _open("D", 300, "EUR")]
    report = build_report(deals, [], [], AppConfig(), fx.NOW, rates={"salesforce": USD_ORG},
                          currency="USD")
    # EUR: 1000 at the dated 0.5 of 2026-01-15 → 2000, 300 at the current 0.8 → 375.
    assert [(r.currency, r.deals, r.amount, r.converted, r.unconverted)
            for r in report.open_by_currency] == [("EUR", 2, 1300.0, 2375.0, 0),
                                                  ("GBP", 1, 9999.0, 0.0, 1),
                                                  ("USD", 1, 500.0, 500.0, 0)]
    assert json.loads(render_report(report, "json"))["open_by_currency"][1] == {
        "currency": "GBP", "deals": 1, "amount": 9999.0, "converted": 0.0, "unconverted": 1}
    table = render_report(report, "table", width=200)
    assert "open pipeline by original currency" in table
    assert [line.split("│")[1:-1] for line in table.splitlines() if "GBP" in line][-1] == [
        " GBP      ", "     1 ", " 9,999.00 ", "     0.00 ", "            1 "]
