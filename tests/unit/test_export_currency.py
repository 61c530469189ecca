"""Deals exported with their original amount and currency and the amount in the report
currency: a EUR opportunity at the dated rate of its close date, a HubSpot deal at HubSpot's own
amount_in_home_currency, a deal whose currency has no rate left empty and counted."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.mapping.currency import RATES_STATE_KEY, hubspot_rates, salesforce_rates
from funnelsync.mapping.schema import FunnelDeal
from funnelsync.reports.currency import rates_from_state
from funnelsync.reports.money import deal_converter
from funnelsync.store import Store

CONFIG = """
[salesforce]
username = "u@example.com"
password = "p"
security_token = "t"
[hubspot]
access_token = "pat-x"
[state]
url = "sqlite:///{db}"
{report}"""
# Salesforce: corporate USD; EUR at 0.92 per USD from 2026-04-01 to 2026-10-01 (dated), 0.9 now.
SF_RATES = salesforce_rates(
    [{"IsoCode": "USD", "ConversionRate": 1.0, "IsCorporate": True, "IsActive": True},
     {"IsoCode": "EUR", "ConversionRate": 0.9, "IsCorporate": False, "IsActive": True}],
    [{"IsoCode": "EUR", "ConversionRate": 0.95, "StartDate": "0001-01-01",
      "NextStartDate": "2026-04-01"},
     {"IsoCode": "EUR", "ConversionRate": 0.92, "StartDate": "2026-04-01",
      "NextStartDate": "2026-10-01"},
     {"IsoCode": "EUR", "ConversionRate": 0.9, "StartDate": "2026-10-01",
      "NextStartDate": "9999-12-31"}])
# HubSpot: company currency USD; one GBP buys 1.25 USD.
HS_RATES = hubspot_rates({"currencyCode": "USD"},
                         [{"fromCurrencyCode": "GBP", "toCurrencyCode": "USD",
                           "conversionRate": 1.25, "effectiveAt": "2025-01-01T00:00:00Z"}])
CREATED = datetime(2026, 1, 5, tzinfo=UTC)


def deal(source: str, sid: str, amount: str, currency: str | None, close: date,
         home: str | None = None) -> FunnelDeal:
    return FunnelDeal(source=source, source_id=sid, amount=Decimal(amount), currency=currency,
                      home_amount=Decimal(home) if home else None, close_date=close,
                      stage="s", created_at=CREATED)


DEALS = [
    deal("salesforce", "006E", "1000", "EUR", date(2026, 5, 15)),  # dated rate 0.92
    deal("salesforce", "006U", "500", None, date(2026, 5, 15)),  # the org's corporate currency
    deal("salesforce", "006J", "100000", "JPY", date(2026, 5, 15)),  # no rate for JPY
    deal("hubspot", "9001", "100", "GBP", date(2026, 5, 15), home="126.40"),
]


def store_with_deals(tmp_path: Path, report: str = "") -> str:
    db = (tmp_path / "state.db").as_posix()
    (tmp_path / "c.toml").write_text(CONFIG.format(db=db, report=report))
    with Store.open(f"sqlite:///{db}") as store:
        run_id = store.start_run(None, now=CREATED)
        for source in ("salesforce", "hubspot"):
            store.upsert_records(source, "deals", [d for d in DEALS if d.source == source],
                                 run_id)
        store.set_state(RATES_STATE_KEY.format(source="salesforce"), SF_RATES)
        store.set_state(RATES_STATE_KEY.format(source="hubspot"), HS_RATES)
    return str(tmp_path / "c.toml")


def export(config: str, fmt: str) -> tuple[str, str]:
    result = CliRunner().invoke(main, ["export", "-c", config, "--object", "deals",
                                       "--format", fmt, "-o", "-"])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def money(rows: list[dict]) -> dict[str, tuple]:
    return {r["source_id"]: (r["amount"], r["currency"], r["amount_converted"] or None,
                             r["converted_currency"] or None) for r in rows}


def test_hubspots_own_conversion_wins_when_its_company_currency_is_the_report_currency() -> None:
    rates = {"salesforce": rates_from_state(SF_RATES), "hubspot": rates_from_state(HS_RATES)}
    gbp = DEALS[3]
    assert deal_converter(rates, "USD")(gbp) == Decimal("126.40")  # HubSpot's figure
    assert deal_converter(rates, "GBP")(gbp) == Decimal("100")
    assert deal_converter(rates, "EUR")(gbp) is None  # HubSpot has no EUR rate


def test_export_shows_original_and_converted_amounts(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = store_with_deals(tmp_path)
    out, err = export(config, "jsonl")
    assert money([json.loads(line) for line in out.splitlines()]) == {
        "006E": ("1000", "EUR", "1086.96", "USD"),  # 1000 / 0.92 at 2026-05-15
        "006U": ("500", None, "500", "USD"),
        "006J": ("100000", "JPY", None, None),
        "9001": ("100", "GBP", "126.40", "USD"),
    }
    assert err == ("exported 4 deals to stdout\n"
                   "1 deals have no exchange rate to USD: amount_converted left empty\n")
    text, _ = export(config, "csv")
    assert money(list(csv.DictReader(io.StringIO(text)))) == {
        "006E": ("1000", "EUR", "1086.96", "USD"), "006U": ("500", "", "500", "USD"),
        "006J": ("100000", "JPY", None, None), "9001": ("100", "GBP", "126.40", "USD")}


def test_parquet_carries_the_converted_amount_as_a_decimal(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    config = store_with_deals(tmp_path, '[report]\ncurrency = "EUR"\n')
    result = CliRunner().invoke(main, ["export", "-c", config, "--object", "deals",
                                       "--format", "parquet", "-o", "d.parquet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.endswith("2 deals have no exchange rate to EUR: amount_converted left "
                                  "empty\n")
    table = pq.read_table(tmp_path / "d.parquet").to_pylist()
    assert {r["source_id"]: (r["amount_converted"], r["converted_currency"]) for r in table} == {
        "006E": (Decimal("1000.000000000"), "EUR"),
        "006U": (Decimal("460.000000000"), "EUR"),  # 500 USD × 0.92 on 2026-05-15
        "006J": (None, None), "9001": (None, None)}  # HubSpot knows no EUR rate
