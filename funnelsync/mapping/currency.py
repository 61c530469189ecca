"""CRM currency settings → one shape of rates, kept in the store's key/value state.

The shape: ``{"corporate": code, "current": {code: rate}, "dated": {code: [[start, next
start or None, rate]]}}`` where a rate is how many units of ``code`` buy one unit of the
corporate currency (Salesforce's CurrencyType.ConversionRate). HubSpot states the inverse (one
unit of the currency in the company currency) and dates each rate by ``effectiveAt``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

RATES_STATE_KEY = "currency_rates:{source}"


def hubspot_rates(company: dict[str, Any], rates: list[dict[str, Any]]) -> dict[str, Any]:
    """The account's company currency and exchange rates in the stored shape."""
    corporate = str(company.get("currencyCode") or "USD")
    by_code: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in rates:
        if row.get("toCurrencyCode", corporate) != corporate or not row.get("conversionRate"):
            continue
        by_code[str(row["fromCurrencyCode"])].append(
            (str(row.get("effectiveAt") or "")[:10], Decimal(str(row["conversionRate"]))))
    current, dated = {}, {}
    for code, items in by_code.items():
        items.sort()
        inverse = [(day, str(Decimal(1) / rate)) for day, rate in items]
        current[code] = inverse[-1][1]
        dated[code] = [[day, nxt[0] if nxt else None, rate] for (day, rate), nxt
                       in zip(inverse, [*inverse[1:], None], strict=True) if day]
    return {"corporate": corporate, "current": current, "dated": dated}


def salesforce_rates(currency_types: list[dict[str, Any]],
                     dated_rates: list[dict[str, Any]]) -> dict[str, Any]:
    """CurrencyType and DatedConversionRate rows in the stored shape (active currencies)."""
    corporate = next((str(r["IsoCode"]) for r in currency_types if r.get("IsCorporate")), "USD")
    current = {str(r["IsoCode"]): str(r["ConversionRate"]) for r in currency_types
               if r.get("IsActive", True) and r.get("ConversionRate")}
    dated: dict[str, list[list[Any]]] = defaultdict(list)
    for r in sorted(dated_rates, key=lambda r: (r["IsoCode"], r["StartDate"])):
        dated[str(r["IsoCode"])].append([r["StartDate"], r.get("NextStartDate"),
                                         str(r["ConversionRate"])])
    return {"corporate": corporate, "current": current, "dated": dict(dated)}


__all__ = ["RATES_STATE_KEY", "hubspot_rates", "salesforce_rates"]
