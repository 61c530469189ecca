"""The org's currencies, read only where they exist: a single-currency org (no
``Opportunity.CurrencyIsoCode`` in its describe) costs nothing beyond the describe the deal pull
reads anyway; DatedConversionRate is queried only when the org lists it (advanced currency
management)."""

from __future__ import annotations

from typing import Any

import responses
from salesforce_fixtures import (
    API,
    LIMIT,
    add_describe,
    add_query,
    add_soap_login,
    connector,
    field,
)

from funnelsync.crm import crm_spec

OPPORTUNITY = [field("Id", "id"), field("Amount", "currency"), field("CloseDate", "date")]
MULTI = [*OPPORTUNITY, field("CurrencyIsoCode", "picklist")]
TYPES_SOQL = "SELECT IsoCode, ConversionRate, IsCorporate, IsActive FROM CurrencyType"
DATED_SOQL = ("SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM DatedConversionRate "
              "ORDER BY IsoCode, StartDate")


def row(sobject: str, **values: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject, "url": f"/services/data/v59.0/sobjects/{sobject}/x"},
            **values}


CURRENCY_TYPES = [
    row("CurrencyType", IsoCode="EUR", ConversionRate=0.92, IsCorporate=True, IsActive=True),
    row("CurrencyType", IsoCode="USD", ConversionRate=1.087, IsCorporate=False, IsActive=True),
    row("CurrencyType", IsoCode="CHF", ConversionRate=0.95, IsCorporate=False, IsActive=False),
]
DATED = [
    row("DatedConversionRate", IsoCode="USD", ConversionRate=1.1, StartDate="0001-01-01",
        NextStartDate="2026-07-01"),
    row("DatedConversionRate", IsoCode="USD", ConversionRate=1.087, StartDate="2026-07-01",
        NextStartDate="9999-12-31"),
]


def add_objects(rsps: responses.RequestsMock, *names: str) -> None:
    rsps.add(responses.GET, f"{API}/sobjects", headers=LIMIT, json={
        "encoding": "UTF-8", "maxBatchSize": 200,
        "sobjects": [{"name": n, "queryable": True} for n in names]})


def add_rows(rsps: responses.RequestsMock, soql: str, rows: list[dict[str, Any]]) -> None:
    add_query(rsps, soql, {"totalSize": len(rows), "done": True, "records": rows},
              endpoint="query", batch=False)


def test_a_single_currency_org_has_no_rates_and_costs_no_further_call() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Opportunity", OPPORTUNITY)
        sf = connector()
        assert crm_spec("salesforce").read_rates(sf) is None
        assert sf.fields_for("Opportunity") == ["Id", "Amount", "CloseDate"]
    assert sf.usage.by_kind == {"login": 1, "describe": 1}  # the describe deals need anyway


def test_without_advanced_currency_management_only_currency_types_are_read() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Opportunity", MULTI)
        add_rows(rsps, TYPES_SOQL, CURRENCY_TYPES)
        add_objects(rsps, "Opportunity", "CurrencyType")
        rates = crm_spec("salesforce").read_rates(sf := connector())
    assert rates == {"corporate": "EUR", "current": {"EUR": "0.92", "USD": "1.087"},
                     "dated": {}}
    assert sf.usage.by_kind == {"login": 1, "describe": 2, "query": 1}


def test_with_advanced_currency_management_dated_rates_are_read_too() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Opportunity", MULTI)
        add_rows(rsps, TYPES_SOQL, CURRENCY_TYPES)
        add_objects(rsps, "Opportunity", "CurrencyType", "DatedConversionRate")
        add_rows(rsps, DATED_SOQL, DATED)
        rates = crm_spec("salesforce").read_rates(sf := connector())
    assert rates is not None and rates["corporate"] == "EUR"
    assert rates["dated"] == {"USD": [["0001-01-01", "2026-07-01", "1.1"],
                                      ["2026-07-01", "9999-12-31", "1.087"]]}
    assert sf.usage.by_kind == {"login": 1, "describe": 2, "query": 2}
