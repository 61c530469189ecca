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


def test_new_pipeline_comes_from_the_lead_flow_and_says_how(config_path: Path) -> None:
    doc = forecast(config_path, "--periods", "3", "--json")
    # Deals take a median 67.5 days from creation to won: none created from today wins this
    # month, more of them each month after.
    assert [p["new_pipeline_expected"] for p in doc["periods"]] == [0.0, 66157.8, 437164.31]
    inputs = doc["new_pipeline"]["inputs"]
    assert (inputs["arrivals"], inputs["arrival_window_days"], inputs["conversion_rate"],
            inputs["cycle_days_median"], inputs["cycle_sample"], inputs["fallback"]) == \
        (163, 90, 0.1961, 67.5, 204, False)
    assert [p["deals_created"] for p in doc["new_pipeline"]["periods"]] == \
        [14.49, 70.63, 126.78]


def test_the_accounts_exchange_rates_are_pulled_and_stored(config_path: Path) -> None:
    from funnelsync.store import Store

    with Store.open(load_config(str(config_path)).state.url) as store:
        rates = store.get_state("currency_rates:hubspot")
        org = store.get_state("currency_rates:salesforce")  # CurrencyType, DatedConversionRate
    assert (org["corporate"], org["current"]["EUR"]) == ("USD", "0.9")
    assert org["dated"]["EUR"][1] == ["2026-04-01", "2026-10-01", "0.92"]
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
    # Salesforce opportunities in EUR and GBP count at their close date's dated rate.
    assert (doc["mape"], doc["bias"], doc["naive_mape"]) == (0.5302, 0.1972, 3.4838)
    # Deals created and won within the same month are rare here: the new pipeline's actual is
    # 0 in eight of ten months, its MAPE over the other two.
    assert sum(p["new_pipeline_actual"] > 0 for p in doc["points"]) == 2
    assert doc["new_pipeline_mape"] == 0.8031


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


def test_funnel_report_html_shows_forecast_and_backtest_in_chromium(config_path: Path,
                                                                     tmp_path: Path) -> None:
    from test_report_browser import colours, decode_png, rgb, run_chromium

    from funnelsync.reports.forecast_html import ACTUAL_FILL, BAND_FILL, FORECAST_FILL

    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "-c", str(config_path), "--as-of", AS_OF,
                                       "--format", "html", "-o", str(page)])
    assert result.exit_code == 0, result.output
    dom = run_chromium(["--dump-dom", page.as_uri()], tmp_path / "profile").stdout
    assert '<svg id="funnel-chart"' in dom
    forecast_chart = dom.split('<svg id="forecast-chart"')[1].split("</svg>")[0]
    backtest_chart = dom.split('<svg id="backtest-chart"')[1].split("</svg>")[0]
    # Three coming months; the default backtest from 2026-05-21: June to October.
    assert forecast_chart.count('class="forecast-bar"') == 3
    assert (backtest_chart.count('class="backtest-band"'),
            backtest_chart.count('class="backtest-actual"'),
            backtest_chart.count('class="backtest-naive"')) == (5, 5, 5)
    assert "MAPE 0.4908 · bias 0.2613 · P10-P90 coverage 0.8 · naive MAPE 3.8171" in dom
    png = tmp_path / "report.png"
    shot = run_chromium([f"--screenshot={png}", "--window-size=1200,1800", page.as_uri()],
                        tmp_path / "profile")
    assert png.exists(), shot.stderr[-2000:]
    width, _, rows = decode_png(png.read_bytes())
    seen = colours(rows, len(rows[0]) // width)
    for fill in (FORECAST_FILL, BAND_FILL, ACTUAL_FILL):
        assert seen.get(rgb(fill), 0) > 20, fill
