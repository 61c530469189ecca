"""The forecast end to end: both CRMs in the sandbox (fake clock), pulled through the real
clients, then `funnelsync forecast --json` and `forecast --backtest --json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.clock import SANDBOX_START, FakeClock
from syncsupport import config_text, no_wait_factory

from funnelsync.cli.main import main
from funnelsync.config.loading import load_config
from funnelsync.sandbox import Sandbox
from funnelsync.sync.job import SyncJob

AS_OF = "2026-11-23"  # the sandbox clock's day


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("forecast")
    clock = FakeClock(SANDBOX_START)
    with Sandbox(seed=7, leads=0, deals=600, clock=clock) as sb:
        path = tmp / "forecast.toml"
        path.write_text(config_text(sb, f"sqlite:///{(tmp / 'state.db').as_posix()}"))
        run = SyncJob(load_config(str(path)), connector_factory=no_wait_factory(clock),
                      clock=clock.utc).pull()
    assert run.errors == []
    return path


def forecast(path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["forecast", "-c", str(path), "--as-of", AS_OF, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_forecast_per_period_with_each_deal_explained(config_path: Path) -> None:
    doc = forecast(config_path, "--periods", "3", "--json")
    assert (doc["currency"], doc["as_of"]) == ("USD", AS_OF)
    assert [p["period"] for p in doc["periods"]] == ["2026-11", "2026-12", "2027-01"]
    for p in doc["periods"]:
        assert list(p) == ["period", "expected", "p10", "p50", "p90", "open_deals",
                           "new_pipeline_expected"]
        assert p["p10"] <= p["p50"] <= p["p90"]
    deal = doc["deals"][0]
    assert {"deal", "stage", "pipeline", "age_days", "sample_size", "basis", "fallback",
            "win_probability", "by_period", "why"} <= set(deal)
    assert len(deal["by_period"]) == 3
    # HubSpot deals in EUR and GBP convert with the account's rates: none left out.
    assert doc["excluded"] == []
    euro = next(d for d in doc["deals"] if d["original_currency"] == "EUR")
    assert euro["amount"] != euro["original_amount"]


def test_the_accounts_exchange_rates_are_pulled_and_stored(config_path: Path) -> None:
    from funnelsync.store import Store

    with Store.open(load_config(str(config_path)).state.url) as store:
        rates = store.get_state("currency_rates:hubspot")
        assert store.get_state("currency_rates:salesforce") is None  # a single-currency org
    assert rates["corporate"] == "USD"
    assert [d[:2] for d in rates["dated"]["EUR"]] == [["2025-01-01", "2026-07-01"],
                                                      ["2026-07-01", None]]
    assert round(1 / float(rates["current"]["GBP"]), 6) == 1.27


def test_backtest_reports_coverage_and_beats_the_naive_forecast(config_path: Path) -> None:
    doc = forecast(config_path, "--backtest", "--from", "2026-01-01", "--json")
    assert [p["period"] for p in doc["points"]] == [f"2026-{m:02d}" for m in range(1, 11)]
    assert list(doc["points"][0])[:7] == ["as_of", "period", "forecast_p50", "p10", "p90",
                                          "actual", "naive"]
    print({k: doc[k] for k in ("mape", "bias", "coverage", "naive_mape")})
    assert doc["coverage"] == 0.6
    assert doc["mape"] < doc["naive_mape"]
    assert (doc["mape"], doc["bias"], doc["naive_mape"]) == (0.5366, 0.1979, 3.507)


def test_forecast_csv_and_table(config_path: Path) -> None:
    result = CliRunner().invoke(main, ["forecast", "-c", str(config_path), "--as-of", AS_OF,
                                       "--format", "csv", "--period", "quarter",
                                       "--periods", "2"])
    assert result.stdout.splitlines()[0] == \
        "period,expected,p10,p50,p90,open_deals,new_pipeline_expected"
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == \
        ["2026-Q4", "2027-Q1"]
    table = CliRunner().invoke(main, ["forecast", "-c", str(config_path), "--as-of", AS_OF])
    assert table.stdout.splitlines()[0] == "amounts in USD"


def test_html_shows_both_charts_in_chromium(config_path: Path, tmp_path: Path) -> None:
    from test_report_browser import colours, decode_png, rgb, run_chromium

    from funnelsync.reports.forecast_html import ACTUAL_FILL, BAND_FILL, FORECAST_FILL, NAIVE_FILL

    page = tmp_path / "forecast.html"
    result = CliRunner().invoke(main, ["forecast", "-c", str(config_path), "--as-of", AS_OF,
                                       "--from", "2026-01-01", "--format", "html",
                                       "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text().count("<svg") == 2
    png = tmp_path / "forecast.png"
    shot = run_chromium([f"--screenshot={png}", "--window-size=900,800", page.as_uri()],
                        tmp_path / "profile")
    assert png.exists(), shot.stderr[-2000:]
    width, _, rows = decode_png(png.read_bytes())
    seen = colours(rows, len(rows[0]) // width)
    for fill in (FORECAST_FILL, BAND_FILL, ACTUAL_FILL, NAIVE_FILL):
        assert seen.get(rgb(fill), 0) > 0, fill
