"""A deal's amount in the report currency: the stored rates of each CRM and the converter.

A deal without a currency is in its org's corporate currency (a single-currency org has no
currency field); it converts at its close date's rates where dated rates exist. When the CRM
converted the amount itself into its company currency (HubSpot's amount_in_home_currency) and
that is the report currency, the CRM's figure is taken as it is; otherwise the rates decide. A
deal whose currency has no rate converts to None: it is left out of money totals, never added
as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from funnelsync.mapping.currency import RATES_STATE_KEY
from funnelsync.mapping.schema import FunnelDeal
from funnelsync.reports.currency import (
    DEFAULT_CURRENCY,
    Rates,
    convert,
    rates_from_state,
    report_currency,
)
from funnelsync.reports.model import CurrencyAmount

Converter = Callable[[FunnelDeal], Decimal | None]


def stored_rates(store: Any, sources: Sequence[str]) -> dict[str, Rates]:
    """Each CRM's rates as pulled into the store's key/value state (absent: none pulled)."""
    found = {}
    for source in sources:
        data = store.get_state(RATES_STATE_KEY.format(source=source))
        if data:
            found[source] = rates_from_state(data)
    return found


def chosen_currency(configured: str | None, rates: dict[str, Rates],
                    sources: Sequence[str]) -> str | None:
    """The report currency: the setting, else the corporate currency of the pulled rates
    (Salesforce's first), else None (the deals' own currency decides)."""
    ordered = [rates[s] for s in ("salesforce", *sources) if s in rates]
    return report_currency(configured, ordered) if configured or ordered else None


def original_currency(deal: FunnelDeal, rates: Mapping[str, Rates], currency: str) -> str:
    """The currency a deal's amount is in: its own, else its org's corporate currency, else
    ``currency`` (the report's)."""
    org = rates.get(deal.source)
    return deal.currency or (org.corporate if org else currency)


def deal_converter(rates: dict[str, Rates], currency: str) -> Converter:
    """Amount of a deal in ``currency`` at its close date's rates (None: no rate, no amount)."""

    def to_report(deal: FunnelDeal) -> Decimal | None:
        org = rates.get(deal.source)
        code = original_currency(deal, rates, currency)
        if deal.amount is None:
            return None
        if deal.home_amount is not None and org is not None and org.corporate == currency:
            return deal.home_amount
        if org is None:
            return deal.amount if code == currency else None
        return convert(deal.amount, code, currency, org, deal.close_date)

    return to_report


@dataclass
class DealMoney:
    """Deal amounts converted into ``currency`` one deal at a time (``converted``), counting the
    deals with an amount and no rate (``unconverted``)."""

    currency: str
    convert: Converter
    unconverted: int = 0

    def converted(self, deal: FunnelDeal) -> Decimal | None:
        value = self.convert(deal)
        if value is None and deal.amount is not None:
            self.unconverted += 1
        return value


def deal_money(store: Any, sources: Sequence[str], configured: str | None) -> DealMoney:
    """Conversion into the report currency from the rates in ``store`` (USD when neither the
    setting nor the rates name one)."""
    rates = stored_rates(store, sources)
    currency = chosen_currency(configured, rates, sources) or DEFAULT_CURRENCY
    return DealMoney(currency, deal_converter(rates, currency))


def open_by_currency(original: Sequence[FunnelDeal], converted: Sequence[FunnelDeal],
                     rates: Mapping[str, Rates], currency: str) -> list[CurrencyAmount]:
    """Open deals with an amount per original currency: ``original`` as the CRMs hold them,
    ``converted`` the same deals in the same order with amounts in ``currency`` (None: no
    rate)."""
    found: dict[str, list[Any]] = {}
    for deal, in_report in zip(original, converted, strict=True):
        if deal.is_closed or deal.is_deleted or deal.amount is None:
            continue
        entry = found.setdefault(original_currency(deal, rates, currency),
                                 [0, Decimal(0), Decimal(0), 0])
        entry[0] += 1
        entry[1] += deal.amount
        entry[2] += in_report.amount or Decimal(0)
        entry[3] += in_report.amount is None
    return [CurrencyAmount(code, n, round(float(held), 2), round(float(conv), 2), missing)
            for code, (n, held, conv, missing) in sorted(found.items())]


def deals_currency(deals: Iterable[FunnelDeal]) -> str:
    """The currency the deals share when no rates and no setting name one: their single
    currency code, else the default."""
    codes = {d.currency for d in deals if d.currency}
    return codes.pop() if len(codes) == 1 else DEFAULT_CURRENCY


__all__ = ["Converter", "DealMoney", "chosen_currency", "deal_converter", "deal_money",
           "deals_currency", "open_by_currency", "original_currency", "stored_rates"]
