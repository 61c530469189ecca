"""Amounts in one currency: the org's rates, dated rates, and conversion at a date.

Rates follow Salesforce's convention: ``rate[code]`` units of ``code`` buy one unit of the
corporate currency (CurrencyType.ConversionRate); a dated rate applies from its start date
(inclusive) to its next start date (exclusive), as DatedConversionRate does. Amounts of
different currencies are never added: an amount whose currency has no rate converts to None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class DatedRate:
    """One rate valid from ``start`` (inclusive) to ``end`` (exclusive; None: open-ended)."""

    start: date
    end: date | None
    rate: Decimal


@dataclass(frozen=True)
class Rates:
    """An org's currencies: the corporate one, current rates and dated rates per code."""

    corporate: str
    current: dict[str, Decimal] = field(default_factory=dict)
    dated: dict[str, list[DatedRate]] = field(default_factory=dict)

    def rate(self, code: str, on: date | None = None) -> Decimal | None:
        """Units of ``code`` per corporate unit on a day (dated rate first), None if unknown."""
        if code == self.corporate:
            return Decimal(1)
        if on is not None:
            for dated in self.dated.get(code, []):
                if dated.start <= on and (dated.end is None or on < dated.end):
                    return dated.rate
        return self.current.get(code)


def convert(amount: Decimal, currency: str, target: str, rates: Rates,
            on: date | None = None) -> Decimal | None:
    """``amount`` in ``currency`` expressed in ``target`` at the rates of day ``on``
    (2 decimals); None when either currency has no rate."""
    if currency == target:
        return amount
    source_rate, target_rate = rates.rate(currency, on), rates.rate(target, on)
    if not source_rate or not target_rate:
        return None
    return (amount / source_rate * target_rate).quantize(Decimal("0.01"))


def rates_to_state(rates: Rates) -> dict[str, Any]:
    """The JSON form kept in the store's key/value state."""
    return {"corporate": rates.corporate,
            "current": {k: str(v) for k, v in rates.current.items()},
            "dated": {k: [[d.start.isoformat(), d.end.isoformat() if d.end else None, str(d.rate)]
                          for d in v] for k, v in rates.dated.items()}}


def rates_from_state(data: dict[str, Any]) -> Rates:
    """The inverse of ``rates_to_state``."""
    dated = {k: [DatedRate(date.fromisoformat(s), date.fromisoformat(e) if e else None,
                           Decimal(r)) for s, e, r in v] for k, v in data.get("dated", {}).items()}
    return Rates(data["corporate"], {k: Decimal(v) for k, v in data.get("current", {}).items()},
                 dated)


def report_currency(configured: str | None, org_rates: list[Rates]) -> str:
    """The one currency of every total: the setting, else the first org's corporate
    currency, else USD."""
    if configured:
        return configured
    return org_rates[0].corporate if org_rates else DEFAULT_CURRENCY


__all__ = ["DEFAULT_CURRENCY", "DatedRate", "Rates", "convert", "rates_from_state",
           "rates_to_state", "report_currency"]
