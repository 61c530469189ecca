"""The org's currencies: CurrencyType and, with advanced currency management, DatedConversionRate.

Only a multi-currency org has them: its Opportunity describe lists ``CurrencyIsoCode`` (that
describe is read for the deal pull anyway, so a single-currency org costs no call at all).
DatedConversionRate exists only when advanced currency management is on; the list of the org's
objects (``GET sobjects``) says whether it does, so no query is sent that the org would reject.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

CURRENCY_FIELD = "CurrencyIsoCode"
DATED_RATES = "DatedConversionRate"
CURRENCY_TYPES_SOQL = "SELECT IsoCode, ConversionRate, IsCorporate, IsActive FROM CurrencyType"
DATED_RATES_SOQL = ("SELECT IsoCode, ConversionRate, StartDate, NextStartDate "
                    "FROM DatedConversionRate ORDER BY IsoCode, StartDate")

Rows = list[dict[str, Any]]


def is_multi_currency(opportunity_describe: Mapping[str, Any]) -> bool:
    """Whether the org's opportunities carry a currency (multi-currency orgs only)."""
    return any(f.get("name") == CURRENCY_FIELD for f in opportunity_describe.get("fields") or [])


def has_dated_rates(global_describe: Mapping[str, Any]) -> bool:
    """Whether the org lists DatedConversionRate (advanced currency management is on)."""
    return any(o.get("name") == DATED_RATES and o.get("queryable", True)
               for o in global_describe.get("sobjects") or [])


def read_currencies(opportunity_describe: Mapping[str, Any],
                    global_describe: Callable[[], Mapping[str, Any]],
                    query_rows: Callable[[Sequence[str]], Rows]) -> dict[str, Rows] | None:
    """``{"currency_types": rows, "dated_rates": rows}`` raw, or None for a single-currency
    org."""
    if not is_multi_currency(opportunity_describe):
        return None
    types = query_rows((CURRENCY_TYPES_SOQL,))
    dated = query_rows((DATED_RATES_SOQL,)) if has_dated_rates(global_describe()) else []
    return {"currency_types": types, "dated_rates": dated}


__all__ = ["CURRENCY_TYPES_SOQL", "DATED_RATES_SOQL", "has_dated_rates", "is_multi_currency",
           "read_currencies"]
