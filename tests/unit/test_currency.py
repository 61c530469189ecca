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


def test_hubspot_rates_are_inverted_and_dated_by_effective_at() -> None:
    from funnelsync.mapping.currency import hubspot_rates

    rows = [{"fromCurrencyCode": "EUR", "toCurrencyCode": "USD", "conversionRate": 1.25,
             "effectiveAt": "2026-07-01T00:00:00Z"},
            {"fromCurrencyCode": "EUR", "toCurrencyCode": "USD", "conversionRate": 1.0,
             "effectiveAt": "2026-01-01T00:00:00Z"}]
    rates = rates_from_state(hubspot_rates({"currencyCode": "USD"}, rows))
    assert rates.current == {"EUR": Decimal("0.8")}
    assert convert(Decimal("100"), "EUR", "USD", rates, date(2026, 3, 1)) == Decimal("100.00")
    assert convert(Decimal("100"), "EUR", "USD", rates, date(2026, 8, 1)) == Decimal("125.00")


def test_salesforce_currency_type_and_dated_conversion_rate() -> None:
    from funnelsync.mapping.currency import salesforce_rates

    types = [{"IsoCode": "EUR", "ConversionRate": 0.9, "IsCorporate": True, "IsActive": True},
             {"IsoCode": "USD", "ConversionRate": 1.1, "IsCorporate": False, "IsActive": True}]
    dated = [{"IsoCode": "USD", "ConversionRate": 1.2, "StartDate": "2026-01-01",
              "NextStartDate": "2026-04-01"}]
    rates = rates_from_state(salesforce_rates(types, dated))
    assert rates.corporate == "EUR"
    assert convert(Decimal("120"), "USD", "EUR", rates, date(2026, 2, 1)) == Decimal("100.00")
    assert convert(Decimal("110"), "USD", "EUR", rates, date(2026, 5, 1)) == Decimal("100.00")
