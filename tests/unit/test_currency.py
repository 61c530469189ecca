"""Conversion to one currency with an org's current and dated rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from funnelsync.reports.currency import (
    DatedRate,
    Rates,
    convert,
    rates_from_state,
    rates_to_state,
    report_currency,
)

# Corporate USD; 1 USD buys 0.9 EUR today, 0.8 EUR in the first half of 2026 (dated rates).
RATES = Rates("USD", {"EUR": Decimal("0.9"), "GBP": Decimal("0.75")},
              {"EUR": [DatedRate(date(2026, 1, 1), date(2026, 7, 1), Decimal("0.8")),
                       DatedRate(date(2026, 7, 1), None, Decimal("0.9"))]})


def test_dated_rate_applies_from_start_to_next_start() -> None:
    assert convert(Decimal("800"), "EUR", "USD", RATES, date(2026, 3, 15)) == Decimal("1000.00")
    assert convert(Decimal("900"), "EUR", "USD", RATES, date(2026, 7, 1)) == Decimal("1000.00")


def test_current_rate_without_a_dated_one_and_cross_rates() -> None:
    assert convert(Decimal("900"), "EUR", "USD", RATES, date(2025, 12, 31)) == Decimal("1000.00")
    assert convert(Decimal("750"), "GBP", "EUR", RATES, None) == Decimal("900.00")
    assert convert(Decimal("5"), "USD", "USD", RATES) == Decimal("5")


def test_an_amount_without_a_rate_is_not_converted() -> None:
    assert convert(Decimal("10"), "JPY", "USD", RATES) is None


def test_rates_round_trip_through_the_store_state() -> None:
    assert rates_from_state(rates_to_state(RATES)) == RATES


def test_report_currency_setting_then_corporate_then_usd() -> None:
    assert report_currency("EUR", [RATES]) == "EUR"
    assert report_currency(None, [Rates("GBP")]) == "GBP"
    assert report_currency(None, []) == "USD"
