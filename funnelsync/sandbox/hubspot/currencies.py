"""The account's currencies as HubSpot's settings API shows them (multi-currency accounts):
``GET /settings/v3/currencies/company-currency`` and ``GET /settings/v3/currencies/exchange-rates``
(each rate converts one unit of ``fromCurrencyCode`` into the company currency from
``effectiveAt`` on)."""

from __future__ import annotations

import re

from funnelsync.sandbox.common import Request, Response, json_response
from funnelsync.sandbox.hubspot.schema import COMPANY_CURRENCY, EXCHANGE_RATES
from funnelsync.sandbox.state import SandboxState


def company_currency(state: SandboxState, req: Request, m: re.Match) -> Response:
    return json_response(200, {"currencyCode": COMPANY_CURRENCY, "currencyName": "US Dollar",
                                "createdAt": "2024-01-02T00:00:00Z",
                                "updatedAt": "2024-01-02T00:00:00Z"})


def exchange_rates(state: SandboxState, req: Request, m: re.Match) -> Response:
    results = [{"id": str(1000 + i), "fromCurrencyCode": code, "toCurrencyCode": COMPANY_CURRENCY,
                "conversionRate": rate, "effectiveAt": at, "visibleInUI": True,
                "createdAt": at, "updatedAt": at}
               for i, (code, rate, at) in enumerate(EXCHANGE_RATES)]
    return json_response(200, {"results": results})
